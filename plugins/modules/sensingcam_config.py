#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_config
short_description: Set the name, NTP and time zone of a SICK sensingCam
version_added: 0.1.0
description:
  - Sets the device name, NTP and time zone of a SICK sensingCam (SEC100 family).
  - Only the options you set are read and compared; each differing one is written with its own
    challenge/response login. A variable the profile marks read-only cannot be changed.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  device_name:
    description:
      - Name of the camera (profile C(identity.device_name)), for example the line and station it watches.
    type: str
  ntp_enabled:
    description:
      - Whether the camera sets its clock from NTP (profile C(time.ntp_enabled)).
    type: bool
  ntp_servers:
    description:
      - NTP servers, in order of preference (profile C(time.ntp_servers)). The order counts.
    type: list
    elements: str
  time_zone:
    description:
      - Time zone name (profile C(time.time_zone)), for example V(Europe/Berlin).
    type: str
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Name the camera and point it to the plant NTP servers
  sensingcam.ming.sensingcam_config:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    device_name: line3-station2
    ntp_enabled: true
    ntp_servers: [10.10.0.1, 10.10.0.2]
    time_zone: Europe/Berlin
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description: The options you set, as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {device_name: line3-station2, ntp_enabled: true, ntp_servers: [10.10.0.1, 10.10.0.2],
           time_zone: Europe/Berlin}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [ntp_servers]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402


class SensingCamConfig(SensingCamModule):
    """Settings kept in one device variable each; only the options the user set are read, compared and written."""

    argument_spec = dict(
        device_name=dict(type='str'),
        ntp_enabled=dict(type='bool'),
        ntp_servers=dict(type='list', elements='str'),
        time_zone=dict(type='str'),
    )
    variables = {
        'device_name': ('identity', 'device_name'),
        'ntp_enabled': ('time', 'ntp_enabled'),
        'ntp_servers': ('time', 'ntp_servers'),
        'time_zone': ('time', 'time_zone'),
    }
    settings = tuple(variables)

    def read(self):
        return dict((option, self.client.read(self.variable(*self.variables[option])))
                    for option in sorted(self.wanted()))

    def check_change(self, changes, current):
        for option in sorted(changes):
            self.require_writable(*self.variables[option])

    def update(self, changes, current):
        for option in sorted(changes):
            self.client.write(self.variable(*self.variables[option]), changes[option])


def main():
    SensingCamConfig().run()


if __name__ == '__main__':
    main()
