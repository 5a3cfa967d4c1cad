#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_config
short_description: Set the location name and snapshot mode of a SICK sensingCam
version_added: 0.1.0
description:
  - Sets the location name (C(LocationName)) and the snapshot mode (C(SnapshotMode)) of a SICK sensingCam SEC100.
  - Only the options you set are read and compared; each differing one is written with its own login. Values are
    checked against the device profile before anything is sent.
  - Time synchronisation moved to M(sensingcam.ming.sensingcam_time_sync); the old C(ntp_enabled), C(ntp_servers)
    and C(time_zone) options are gone (the camera has one NTP server, given as an IPv4 address, and a time-zone index).
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.settings_module
options:
  location_name:
    description:
      - Where the camera is (profile C(variables.identity.location_name), C(LocationName)), for example the line and
        station it watches. The camera's C(DeviceName) is read-only and not changed.
    type: str
    aliases: [device_name]
  snapshot_mode:
    description:
      - V(stream) (C(SnapshotMode) 0) streams continuously, which the WebSocket JPEG relay needs; V(snapshot)
        (1) takes single pictures on a trigger.
    type: str
    choices: [stream, snapshot]
seealso:
  - module: sensingcam.ming.sensingcam_time_sync
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Name the camera after its station and keep it streaming
  sensingcam.ming.sensingcam_config:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    location_name: line3-station2
    snapshot_mode: stream
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description: The options you set, as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {location_name: line3-station2, snapshot_mode: stream}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [location_name]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import FieldSettingsModule  # noqa: E402


class SensingCamConfig(FieldSettingsModule):
    argument_spec = dict(
        location_name=dict(type='str', aliases=['device_name']),
        snapshot_mode=dict(type='str', choices=['stream', 'snapshot']),
    )
    settings = ('location_name', 'snapshot_mode')

    def option_fields(self):
        return {
            'location_name': self.profile.field('identity', 'location_name'),
            'snapshot_mode': self.profile.field('snapshot', 'mode'),
        }


def main():
    SensingCamConfig().run()


if __name__ == '__main__':
    main()
