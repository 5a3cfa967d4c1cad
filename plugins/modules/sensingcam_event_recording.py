#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_event_recording
short_description: Set the event recording and its hardware and TCP/IP triggers on a SICK sensingCam
version_added: 0.1.0
description:
  - Sets the event recording of a SICK sensingCam SEC100, the clip the camera keeps around a trigger, and the two
    trigger inputs it has besides the REST call C(EventTriggerEvent) (always available), namely the digital input and
    the TCP/IP trigger. Each setting is one device variable (device profile C(variables.event_recording) and
    C(variables.triggers)).
  - Every value you set is checked against the device profile before anything is sent; an error names the option
    and what the camera accepts.
  - Only the options you set are read and compared; each differing one is written with its own login.
  - The camera has no clip duration and no trigger-source selector (each source is switched on its own, and MQTT is
    none of them; MQTT events reach the camera through Node-RED and C(EventTriggerEvent)), so the former
    C(duration_seconds) and C(trigger_source) options are gone.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.settings_module
options:
  enabled:
    description:
      - Whether the camera records a clip on a trigger (C(EventEnableRecording)). With it off, C(EventTriggerEvent)
        answers "mode not enabled".
    type: bool
  pre_trigger_seconds:
    description:
      - Seconds kept before the trigger (C(EventTimeBeforeTrigger)), within the profile's range.
    type: int
  post_trigger_seconds:
    description:
      - Seconds recorded after the trigger (C(EventTimeAfterTrigger)), within the profile's range.
    type: int
  naming:
    description:
      - How the camera names its clips (C(EventNaming)), as the camera's web page shows it.
    type: str
  hardware_trigger:
    description:
      - The digital input as trigger. Only the suboptions you set are compared.
    type: dict
    suboptions:
      enabled:
        description: Whether the digital input triggers a recording (C(EventEnableHardwareTrigger)).
        type: bool
      active_level:
        description: Which level of the input triggers (C(HardwareTriggerActiveLevel)).
        type: str
        choices: [low, high]
      delay_ms:
        description:
          - How long the input must be active before it triggers (C(HardwareTriggerTonDelay)); the unit
            (milliseconds) is assumed.
        type: int
  tcpip_trigger:
    description:
      - The TCP/IP trigger. Only the suboptions you set are compared.
    type: dict
    suboptions:
      enabled:
        description: Whether a connection to O(tcpip_trigger.port) triggers a recording (C(SetTcpIpTriggerEnabled)).
        type: bool
      port:
        description: TCP port of the trigger (C(TcpIpTriggerPort)).
        type: int
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Keep 5 s before and 15 s after a PLC anomaly (the PLC triggers through Node-RED)
  sensingcam.ming.sensingcam_event_recording:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    enabled: true
    pre_trigger_seconds: 5
    post_trigger_seconds: 15
  delegate_to: localhost

- name: Let the light barrier on the digital input trigger too
  sensingcam.ming.sensingcam_event_recording:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    hardware_trigger:
      enabled: true
      active_level: high
      delay_ms: 20
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description:
    - The options you set, as the camera reports them after the run (as they would be, in check mode); trigger
      settings nested as in the options.
  returned: always
  type: dict
  sample: {enabled: true, pre_trigger_seconds: 5, hardware_trigger: {enabled: true, active_level: high}}
changed_settings:
  description: Names of the options that differed and were (or would be) written; trigger settings dotted.
  returned: always
  type: list
  elements: str
  sample: [hardware_trigger.active_level, pre_trigger_seconds]
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import FieldSettingsModule  # noqa: E402

RECORDING = ('enabled', 'pre_trigger_seconds', 'post_trigger_seconds', 'naming')
# Suboption -> the device profile's key under variables.triggers.
TRIGGERS = {
    'hardware_trigger': {'enabled': 'hardware_enabled', 'active_level': 'hardware_active_level',
                         'delay_ms': 'hardware_delay_ms'},
    'tcpip_trigger': {'enabled': 'tcpip_enabled', 'port': 'tcpip_port'},
}
TRIGGER_SETTINGS = tuple('%s.%s' % (option, sub) for option in sorted(TRIGGERS) for sub in sorted(TRIGGERS[option]))


class SensingCamEventRecording(FieldSettingsModule):
    argument_spec = dict(
        enabled=dict(type='bool'),
        pre_trigger_seconds=dict(type='int'),
        post_trigger_seconds=dict(type='int'),
        naming=dict(type='str'),
        hardware_trigger=dict(type='dict', options=dict(
            enabled=dict(type='bool'),
            active_level=dict(type='str', choices=['low', 'high']),
            delay_ms=dict(type='int'),
        )),
        tcpip_trigger=dict(type='dict', options=dict(
            enabled=dict(type='bool'),
            port=dict(type='int'),
        )),
    )
    # The trigger suboptions are flattened to dotted names: one module option spans several device variables.
    settings = RECORDING + TRIGGER_SETTINGS

    def option_fields(self):
        fields = dict((option, self.profile.field('event_recording', option)) for option in RECORDING)
        for option, subs in TRIGGERS.items():
            for sub, key in subs.items():
                fields['%s.%s' % (option, sub)] = self.profile.field('triggers', key)
        return fields

    def wanted(self):
        wanted = dict((option, self.params[option]) for option in RECORDING if self.params.get(option) is not None)
        for option in TRIGGERS:
            for sub, value in (self.params.get(option) or {}).items():
                if value is not None:
                    wanted['%s.%s' % (option, sub)] = value
        return wanted

    def exit(self, **kwargs):
        """Output with the trigger settings nested again, as the options take them (dotted in changed_settings)."""
        if isinstance(self.result.get(self.result_key), dict):
            self.result[self.result_key] = nest(self.result[self.result_key])
        if isinstance(self.result.get('diff'), dict):
            self.result['diff'] = dict((side, nest(state)) for side, state in self.result['diff'].items())
        super(SensingCamEventRecording, self).exit(**kwargs)


def nest(flat):
    """{'hardware_trigger.enabled': x, 'enabled': y} -> {'hardware_trigger': {'enabled': x}, 'enabled': y}."""
    nested = {}
    for key, value in flat.items():
        option, dot, sub = key.partition('.')
        if dot and option in TRIGGERS:
            nested.setdefault(option, {})[sub] = value
        else:
            nested[key] = value
    return nested


def main():
    SensingCamEventRecording().run()


if __name__ == '__main__':
    main()
