#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_backup
short_description: Back up or restore the configuration of a SICK sensingCam
version_added: 0.1.0
description:
  - O(state=exported) downloads the camera's configuration (profile C(files.config_export)) and writes it to
    O(dest) as C(<name>-<UTC timestamp>.json), with C(<name>-latest.json) pointing to it (a symlink, or a copy
    where symlinks are not possible). When the download equals the latest backup, no file is written.
  - O(state=restored) compares O(src) with the camera's current export and, only when they differ, uploads it
    once (profile C(files.config_import)).
  - JSON exports are compared by content (key order and whitespace do not count); other formats byte for byte.
  - Backup files are created with mode 0600; they may hold settings a plant treats as confidential.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the latest backup against the new export, or the camera's export against O(src).
  idempotent:
    support: full
options:
  state:
    description:
      - V(exported) writes a backup; V(restored) puts O(src) back on the camera.
    type: str
    choices: [exported, restored]
    default: exported
  dest:
    description:
      - Directory for the backup files; created (mode 0700) when missing.
      - Required with O(state=exported).
    type: path
  src:
    description:
      - Backup file to restore. Required with O(state=restored).
    type: path
  name:
    description:
      - Name the backup files start with; defaults to O(host). Characters other than letters, digits, C(.), C(_)
        and C(-) become C(_).
    type: str
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Back up every camera's configuration on the controller
  sensingcam.ming.sensingcam_backup:
    host: "{{ camera_host }}"
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    name: "{{ inventory_hostname }}"
    dest: /srv/backups/cameras
  delegate_to: localhost

- name: Restore the last good configuration
  sensingcam.ming.sensingcam_backup:
    host: "{{ camera_host }}"
    password: "{{ vault_camera_password }}"
    state: restored
    src: "/srv/backups/cameras/{{ inventory_hostname }}-latest.json"
  delegate_to: localhost
'''

RETURN = r'''
backup_file:
  description:
    - The backup file written (or that would be written, in check mode); when nothing changed, the file that
      C(<name>-latest.json) points to.
  returned: O(state=exported)
  type: str
  sample: /srv/backups/cameras/line3-cam-20251127T101500Z.json
latest_file:
  description: Path of the stable C(<name>-latest.json).
  returned: O(state=exported)
  type: str
  sample: /srv/backups/cameras/line3-cam-latest.json
size:
  description: Size of the export in bytes.
  returned: O(state=exported)
  type: int
  sample: 4711
sha256:
  description: SHA-256 of the export.
  returned: O(state=exported)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
src:
  description: The file restored from.
  returned: O(state=restored)
  type: str
  sample: /srv/backups/cameras/line3-cam-latest.json
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam import ConfigBackupModule  # noqa: E402


class SensingCamBackup(ConfigBackupModule):
    argument_spec = dict(
        state=dict(type='str', choices=['exported', 'restored'], default='exported'),
        dest=dict(type='path'),
        src=dict(type='path'),
        name=dict(type='str'),
    )
    required_if = [('state', 'exported', ('dest',)), ('state', 'restored', ('src',))]


def main():
    SensingCamBackup().run()


if __name__ == '__main__':
    main()
