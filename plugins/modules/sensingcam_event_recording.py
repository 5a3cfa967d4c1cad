#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_event_recording
short_description: Set the pre/post-trigger buffer and trigger source of a SICK sensingCam's event recording
version_added: 0.1.0
description:
  - Sets the event recording of a SICK sensingCam (SEC100 family), the clip the camera keeps around a trigger.
  - Values are checked against the profile's C(event_recording.allowed) before anything is sent.
  - Only the options you set are compared; the variable is written whole, with the other fields as read.
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
  pre_trigger_seconds:
    description:
      - Seconds kept before the trigger.
    type: int
  post_trigger_seconds:
    description:
      - Seconds recorded after the trigger.
    type: int
  duration_seconds:
    description:
      - Longest clip, in seconds.
    type: int
  trigger_source:
    description:
      - What triggers a recording; one of the profile's C(event_recording.allowed.trigger_source)
        (V(software), V(digital_input), V(mqtt) for SEC100 fw 2.x).
    type: str
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Keep 5 s before and 10 s after a PLC anomaly
  sensingcam.ming.sensingcam_event_recording:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    pre_trigger_seconds: 5
    post_trigger_seconds: 10
    duration_seconds: 30
    trigger_source: software
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description: Event-recording settings as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {pre_trigger_seconds: 5, post_trigger_seconds: 10, duration_seconds: 30, trigger_source: software}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [pre_trigger_seconds]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import (  # noqa: E402
    StructuredSettingsModule,
    check_allowed,
)


class SensingCamEventRecording(StructuredSettingsModule):
    argument_spec = dict(
        pre_trigger_seconds=dict(type='int'),
        post_trigger_seconds=dict(type='int'),
        duration_seconds=dict(type='int'),
        trigger_source=dict(type='str'),
    )
    settings = ('pre_trigger_seconds', 'post_trigger_seconds', 'duration_seconds', 'trigger_source')

    def entry_keys(self):
        return ('event_recording',)

    def validate(self, wanted):
        problems = check_allowed(self.profile.entry('event_recording', 'allowed', default={}), wanted)
        if problems:
            self.fail('Not allowed by the device profile %s (event_recording.allowed): %s.'
                      % (self.profile.path, '; '.join(problems)))


def main():
    SensingCamEventRecording().run()


if __name__ == '__main__':
    main()
