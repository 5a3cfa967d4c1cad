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

import os  # noqa: E402
import time  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.firmware_version import parse_version  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_firmware_archive import (  # noqa: E402
    file_sha256,
    load_firmware_archive,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402

FIRMWARE_BUSY_STATES = ('receiving', 'verifying', 'rebooting')


class FirmwareUpdateModule(SensingCamModule):
    """Upload one firmware image from the local archive, once, then wait for the camera to come back on it."""

    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    argument_spec = dict(
        version=dict(type='str', required=True),
        archive=dict(type='path', required=True),
        allow_downgrade=dict(type='bool', default=False),
        reboot_timeout=dict(type='int'),
        poll_interval=dict(type='float', default=5),
    )

    def execute(self):
        self.update()

    def read_update_state(self):
        try:
            name = self.profile.variable('firmware', 'state')
        except ProfileError:
            return None
        try:
            state = self.client.read(name)
        except SensingCamError as exc:
            if exc.kind == 'not_found':
                return None
            raise
        return None if state is None else str(state).lower()

    def update(self):
        params, profile = self.params, self.profile
        target = parse_version(params['version'])
        if target is None:
            self.fail('version %r is not a version number.' % params['version'])
        archive = load_firmware_archive(params['archive'], profile.device_family)
        entry = next((e for e in archive if e['parsed'] == target), None)
        if entry is None:
            self.fail('Firmware %s for %s is not in the archive %s (it has: %s).'
                      % (target, profile.device_family, params['archive'],
                         ', '.join(e['version'] for e in archive) or 'nothing for this device family'))
        version_name = self.variable('identity', 'firmware_version')
        current_text = self.client.read(version_name)
        current = parse_version(current_text)
        if current is None:
            self.fail('The camera reports firmware %r, which is not a version number; not updating.' % (current_text,))
        self.result.update(previous_version=str(current_text), version=str(current_text),
                           target_version=entry['version'])
        if current == target:
            self.exit(changed=False, msg='The camera already runs firmware %s.' % current_text)
        if target < current and not params['allow_downgrade']:
            self.fail('Firmware %s is older than the %s the camera runs; set allow_downgrade: true to go back.'
                      % (entry['version'], current_text))
        if not os.path.isfile(entry['path']):
            self.fail('The firmware file %s named in the manifest is missing; nothing was sent, the camera stays on %s.'
                      % (entry['path'], current_text))
        digest = file_sha256(entry['path'])
        if digest != entry['sha256']:
            self.fail('The SHA-256 of %s is %s but the manifest says %s: the file is damaged or not the one released. '
                      'Nothing was sent; the camera stays on %s.' % (entry['path'], digest, entry['sha256'],
                                                                     current_text))
        if profile.covers(entry['version']) is False:
            self.warn('Firmware %s is outside the device profile %s; use the profile of that firmware line '
                      'for this camera afterwards.' % (entry['version'], profile.path))
        verb = 'downgrade' if target < current else 'upgrade'
        if self.diff_mode:
            self.result['diff'] = {'before': {'firmware_version': str(current_text)},
                                   'after': {'firmware_version': entry['version']}}
        if self.check_mode:
            self.exit(changed=True, msg='Would %s the camera from %s to %s.' % (verb, current_text, entry['version']))
        state = self.read_update_state()
        if state in FIRMWARE_BUSY_STATES:
            self.fail('The camera reports a firmware update already in progress (%s); not starting another. '
                      'It stays on %s until that one finishes.' % (state, current_text))
        try:
            with open(entry['path'], 'rb') as image:
                self.client.upload('firmware_upload', image, os.path.basename(entry['path']))
        except SensingCamError as exc:
            self.fail('The firmware upload failed, so the camera stays on %s (no retry in this run; fix the cause and '
                      'run again): %s' % (current_text, exc.message), changed=False)
        self.wait_for_version(target, entry['version'], current_text)

    def wait_for_version(self, target, target_text, old_text):
        timeout = self.params.get('reboot_timeout')
        if timeout is None:
            timeout = int(self.profile.setting('firmware', 'reboot_timeout_seconds', default=300))
        interval = max(0.0, float(self.params['poll_interval']))
        version_name = self.variable('identity', 'firmware_version')
        self.client.retries = 0
        start = self.clock()
        went_away, last_error, last_version = False, None, None
        while True:
            self.sleep(interval)
            try:
                state = self.read_update_state()
                if state == 'failed':
                    self.fail('The camera reports that the firmware update to %s failed (FirmwareUpdateState failed); '
                              'it stays on %s.' % (target_text, old_text), changed=True)
                if state == 'rebooting':
                    went_away = True
                version = self.client.read(version_name)
            except SensingCamError as exc:
                if exc.kind not in ('timeout', 'unreachable', 'server', 'tls'):
                    raise
                went_away, last_error = True, exc.message
            else:
                last_version, last_error = version, None
                parsed = parse_version(version)
                if parsed == target and state not in FIRMWARE_BUSY_STATES:
                    self.exit(changed=True, version=str(version),
                              elapsed_seconds=round(self.clock() - start, 1),
                              msg='Updated the camera from %s to %s.' % (old_text, version))
                if went_away and state not in FIRMWARE_BUSY_STATES:
                    self.fail('The camera came back after the update but still runs %s, not %s: the update did not '
                              'take; it stays on %s.' % (version, target_text, old_text), changed=True,
                              version=str(version))
            if self.clock() - start >= timeout:
                if last_error is not None:
                    self.fail('The camera did not answer again within %s s after the firmware upload (%s). It may '
                              'still be installing; check it with sensingcam_firmware_info before doing anything '
                              'else. Until it reports %s, consider it on %s.'
                              % (timeout, last_error, target_text, old_text), changed=True)
                self.fail('After %s s the camera still reports firmware %s, not %s: the update did not take; it stays '
                          'on %s.' % (timeout, last_version, target_text, old_text), changed=True,
                          version=None if last_version is None else str(last_version))


def main():
    FirmwareUpdateModule().run()


if __name__ == '__main__':
    main()
