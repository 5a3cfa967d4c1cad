# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Check a camera's setting variables (the sensingcam role's) against the device profile, as the modules will.

``{'sensingcam_streams': ..., ...} | sensingcam.ming.sensingcam_settings_problems(profile_path)`` gives a list of
messages, one per wrong value, each naming the variable path and what the device profile allows; empty when all is
well. The role's preflight runs it for every camera before any host of a roll-out is changed. The values are checked
with the profile's own codecs (``Field.check``), the same check the modules run before they write.

Documentation: the sidecar file ``sensingcam_settings_problems.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.validation import check_type_bool

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import DeviceProfile, ProfileError

STREAM_OPTIONS = ('resolution', 'fps', 'codec', 'bitrate_class', 'gop', 'rtsp_enabled')
# variable -> {option: profile key under variables:} (a nested mapping: a dict option with suboptions).
LAYOUT = {
    'sensingcam_location_name': ('identity', 'location_name'),
    'sensingcam_snapshot_mode': ('snapshot', 'mode'),
    'sensingcam_streams': dict(
        (stream, dict((option, ('streams', stream, option)) for option in STREAM_OPTIONS))
        for stream in ('video0', 'video1')),
    'sensingcam_event_recording': {
        'enabled': ('event_recording', 'enabled'),
        'pre_trigger_seconds': ('event_recording', 'pre_trigger_seconds'),
        'post_trigger_seconds': ('event_recording', 'post_trigger_seconds'),
        'naming': ('event_recording', 'naming'),
        'hardware_trigger': {
            'enabled': ('triggers', 'hardware_enabled'),
            'active_level': ('triggers', 'hardware_active_level'),
            'delay_ms': ('triggers', 'hardware_delay_ms'),
        },
        'tcpip_trigger': {
            'enabled': ('triggers', 'tcpip_enabled'),
            'port': ('triggers', 'tcpip_port'),
        },
    },
    'sensingcam_time_sync': dict(
        (option, ('time', option)) for option in ('role', 'ntp_server', 'update_interval_seconds', 'time_zone_index')),
    'sensingcam_offload': dict(
        [(option, ('offload', option)) for option in ('protocol', 'server', 'port', 'directory', 'username',
                                                      'password', 'passive_mode', 'fallback_mode', 'samba_enabled')]
        + [('test_connection', 'bool')]),
    'sensingcam_security': {
        'authentication_free_api': ('security', 'authentication_free_api'),
        'rtsp_authentication': ('rtsp', 'authentication'),
    },
}
# Names a former release took, with what replaced them.
RENAMED = {
    'sensingcam_streams.primary': 'video0',
    'sensingcam_streams.secondary': 'video1',
    'sensingcam_streams.video0.width': 'resolution (WIDTHxHEIGHT)',
    'sensingcam_streams.video0.height': 'resolution (WIDTHxHEIGHT)',
    'sensingcam_streams.video1.width': 'resolution (WIDTHxHEIGHT)',
    'sensingcam_streams.video1.height': 'resolution (WIDTHxHEIGHT)',
    'sensingcam_streams.video0.bitrate_kbps': 'bitrate_class',
    'sensingcam_streams.video1.bitrate_kbps': 'bitrate_class',
}
GONE = {
    'sensingcam_event_recording.duration_seconds': 'the camera has no clip duration',
    'sensingcam_event_recording.trigger_source': ('the camera has no trigger-source selector: set hardware_trigger '
                                                  'or tcpip_trigger; MQTT events come through Node-RED'),
}


def _shown(value):
    try:
        return json.dumps(value, sort_keys=True)
    except (TypeError, ValueError):
        return repr(value)


def _as_module_value(codec_type, value):
    """``value`` as the module option will take it (Ansible converts '25' to 25 and 'yes' to true), or the value
    unchanged when it cannot be one (the codec's check then says what is wrong)."""
    if codec_type in ('int', 'scaled') and isinstance(value, str) and value.strip().lstrip('-').isdigit():
        return int(value)
    if codec_type == 'bool' and isinstance(value, (str, int)) and not isinstance(value, bool):
        try:
            return check_type_bool(value)  # Ansible's own conversion, as the module option applies it
        except TypeError:
            return value
    if codec_type in ('string', 'enum', 'ipv4') and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value


class _Checker:
    def __init__(self, profile):
        self.profile = profile
        self.problems = []

    def add(self, message):
        self.problems.append(message)

    def value(self, path, keys, value):
        if value is None:
            return
        if keys == 'bool':
            if _as_module_value('bool', value) not in (True, False):
                self.add('%s: %s is not a boolean (true or false)' % (path, _shown(value)))
            return
        try:
            field = self.profile.field(*keys)
        except ProfileError as exc:
            self.add('%s: %s' % (path, exc))
            return
        problem = field.check(_as_module_value(field.codec.type, value))
        if problem:
            shown = 'the value' if field.secret else _shown(value)
            self.add('%s: %s %s (device profile variables.%s: %s)'
                     % (path, shown, problem, field.key, field.allowed()))

    def mapping(self, path, layout, given):
        if given is None:
            return
        if not isinstance(given, Mapping):
            self.add('%s is %s, not a mapping of %s' % (path, _shown(given), ', '.join(sorted(layout))))
            return
        for key in sorted(given, key=str):
            where = '%s.%s' % (path, key)
            if key not in layout:
                if where in RENAMED:
                    self.add('%s was renamed: use %s instead' % (where, RENAMED[where]))
                elif where in GONE:
                    self.add('%s is gone: %s' % (where, GONE[where]))
                else:
                    self.add('%s is not a setting; %s takes %s' % (where, path, ', '.join(sorted(layout))))
            elif isinstance(layout[key], dict):
                self.mapping(where, layout[key], given[key])
            else:
                self.value(where, layout[key], given[key])

    def offload(self, given):
        if not isinstance(given, Mapping):
            return
        if given.get('username') not in (None, '') and given.get('password') in (None, ''):
            self.add('sensingcam_offload.password is missing, but sensingcam_offload.username is set: the camera '
                     'needs both to log in to the offload server (put the password in a vault variable)')


def sensingcam_settings_problems(variables, profile):
    """Messages for every camera setting in ``variables`` (variable name -> value) the device profile refuses."""
    if not isinstance(variables, Mapping):
        raise AnsibleFilterError('sensingcam_settings_problems takes a mapping of the sensingcam_* setting variables, '
                                 'not %s' % type(variables).__name__)
    try:
        device = profile if isinstance(profile, DeviceProfile) else DeviceProfile.load(profile)
    except ProfileError as exc:
        raise AnsibleFilterError(str(exc)) from None
    checker = _Checker(device)
    for name in sorted(variables):
        if name not in LAYOUT:
            raise AnsibleFilterError('sensingcam_settings_problems does not know the variable %s; it checks %s'
                                     % (name, ', '.join(sorted(LAYOUT))))
        layout = LAYOUT[name]
        if isinstance(layout, dict):
            checker.mapping(name, layout, variables[name])
        else:
            checker.value(name, layout, variables[name])
    checker.offload(variables.get('sensingcam_offload'))
    return checker.problems


class FilterModule(object):
    def filters(self):
        return {'sensingcam_settings_problems': sensingcam_settings_problems}
