#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_time_sync
short_description: Set how a SICK sensingCam keeps its clock (NTP or PTP, server, interval, time zone)
version_added: 0.2.0
description:
  - Sets the time synchronisation of a SICK sensingCam SEC100 (the C(TSC*) variables of the device profile's
    C(variables.time)). Event clips are only as good as the camera clock, so plants set this before recording.
  - Every value you set is checked against the device profile before anything is sent; an error names the option
    and what the camera accepts.
  - Only the options you set are read and compared; each differing one is written with its own login.
  - Also returns the camera's current time (C(LSPdatetime)) as it reports it.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.settings_module
options:
  role:
    description:
      - V(ntp) makes the camera an NTP client of O(ntp_server), V(ptp) a PTP slave, V(none) keeps its own clock
        (C(TSCRole) 1, 3, 0).
    type: str
    choices: [none, ntp, ptp]
  ntp_server:
    description:
      - The one NTP server, as an IPv4 address like V(192.168.136.1) (C(TSCTCSrvAddr)). The camera takes no host name
        and no second server.
    type: str
  update_interval_seconds:
    description:
      - Seconds between two NTP synchronisations (C(TSCTCupdatetime), 1 to 3600).
    type: int
  time_zone_index:
    description:
      - The camera's time-zone index (C(TSCTCtimezone)), within the device profile's range. SICK has not published
        the table behind the index (sibling devices default to 36); read it from the camera's web page.
    type: int
seealso:
  - module: sensingcam.ming.sensingcam_config
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Synchronise the camera with the plant's NTP server every 10 minutes
  sensingcam.ming.sensingcam_time_sync:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    role: ntp
    ntp_server: 192.168.136.1
    update_interval_seconds: 600
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description: The options you set, as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {role: ntp, ntp_server: 192.168.136.1, update_interval_seconds: 600}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [ntp_server]
device_time:
  description: The camera's current time (C(LSPdatetime)), as the camera reports it, read after the settings.
  returned: success
  type: raw
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import FieldSettingsModule  # noqa: E402


class SensingCamTimeSync(FieldSettingsModule):
    argument_spec = dict(
        role=dict(type='str', choices=['none', 'ntp', 'ptp']),
        ntp_server=dict(type='str'),
        update_interval_seconds=dict(type='int'),
        time_zone_index=dict(type='int'),
    )
    settings = ('role', 'ntp_server', 'update_interval_seconds', 'time_zone_index')

    def option_fields(self):
        group = self.profile.group('time')
        return dict((option, group[option]) for option in self.settings)

    def exit(self, **kwargs):
        kwargs['device_time'] = self.client.read_field(self.profile.field('time', 'device_time'))
        super(SensingCamTimeSync, self).exit(**kwargs)


def main():
    SensingCamTimeSync().run()


if __name__ == '__main__':
    main()
