#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_firmware
short_description: Update the firmware of a SICK sensingCam from a local, checksummed archive
version_added: 0.1.0
description:
  - Brings a SICK sensingCam (SEC100 family) to firmware O(version) taken from a local archive.
  - Before anything is sent, the file's SHA-256 is checked against the archive's C(manifest.yml); on a mismatch
    the module fails and the camera is not touched.
  - The image is uploaded once (never retried in the same run). The module then polls the camera, at most
    O(reboot_timeout) seconds, until it answers again, and checks the version it reports.
  - It fails, saying the camera stays on its old version, when the upload breaks, when the camera reports
    C(FirmwareUpdateState=failed), or when it comes back on the old version.
  - The upload endpoint and the update-state variable are assumed names (profile C(files.firmware_upload),
    C(firmware.state)); the firmware-update procedure of the SEC100 is not publicly documented.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the current version and verifies the file's checksum, then reports what it would do.
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - A camera already on O(version) is left alone.
options:
  version:
    description:
      - Firmware version to install; must be listed in the archive's manifest for the profile's device family.
    type: str
    required: true
  archive:
    description:
      - Directory with the released firmware files and their C(manifest.yml)
        (C(firmware) list of C(version), C(file), C(sha256), C(device_family)).
    type: path
    required: true
  allow_downgrade:
    description:
      - Allow installing a version older than the one the camera runs.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds to wait after the upload for the camera to come back on the new version.
      - Defaults to the profile's C(firmware.reboot_timeout_seconds).
    type: int
  poll_interval:
    description:
      - Seconds between two checks while waiting for the camera.
    type: float
    default: 5
notes:
  - Update one camera at a time per line (C(serial=1) or a small C(serial) batch), so a bad image never takes a
    whole line down.
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Update the line 3 camera to the approved firmware
  sensingcam.ming.sensingcam_firmware:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    archive: /srv/firmware/sensingcam
    version: "2.6.1"
  delegate_to: localhost

- name: Roll back after a bad release
  sensingcam.ming.sensingcam_firmware:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    archive: /srv/firmware/sensingcam
    version: "2.6.0"
    allow_downgrade: true
    reboot_timeout: 600
  delegate_to: localhost
'''

RETURN = r'''
previous_version:
  description: Firmware version before the run.
  returned: when the camera's version could be read
  type: str
  sample: "2.5.3"
version:
  description: Firmware version the camera reports at the end (before the run, in check mode).
  returned: when the camera's version could be read
  type: str
  sample: "2.6.1"
target_version:
  description: The version from the manifest that was asked for.
  returned: when the camera's version could be read
  type: str
  sample: "2.6.1"
elapsed_seconds:
  description: Seconds from the end of the upload until the camera reported the new version.
  returned: changed and not check mode
  type: float
  sample: 74.2
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam import FirmwareUpdateModule  # noqa: E402


class SensingCamFirmware(FirmwareUpdateModule):
    argument_spec = dict(
        version=dict(type='str', required=True),
        archive=dict(type='path', required=True),
        allow_downgrade=dict(type='bool', default=False),
        reboot_timeout=dict(type='int'),
        poll_interval=dict(type='float', default=5),
    )


def main():
    SensingCamFirmware().run()


if __name__ == '__main__':
    main()
