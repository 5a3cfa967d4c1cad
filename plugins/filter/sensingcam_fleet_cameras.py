# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Build the ``cameras`` list of a fleet task (one entry per camera, each with its own connection settings) from
the cameras' host variables in one pass, checking every camera's variables before any camera is contacted.

Documentation: the sidecar file ``sensingcam_fleet_cameras.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.common.validation import check_type_bool, check_type_float, check_type_int

# Module option of the fleet task -> inventory variable of the camera.
CONNECTION = (
    ('host', 'sensingcam_host'),
    ('port', 'sensingcam_port'),
    ('username', 'sensingcam_username'),
    ('password', 'sensingcam_password'),
    ('use_tls', 'sensingcam_use_tls'),
    ('validate_certs', 'sensingcam_validate_certs'),
    ('ca_path', 'sensingcam_ca_path'),
    ('timeout', 'sensingcam_timeout'),
    ('retries', 'sensingcam_retries'),
    ('profile', 'sensingcam_profile_path'),
)
# Variables a camera sets for the report only (line, station, ingest), handed back per camera under `inventory`.
REPORTED = ('sensingcam_port', 'sensingcam_line', 'sensingcam_station', 'sensingcam_ingest')
_EMPTY = (None, '')


def _fail(message):
    raise AnsibleFilterError('sensingcam_fleet_cameras: %s' % message)


def _get(variables, key):
    """The camera's value of ``key`` (templated by hostvars on access), or None when it does not set it."""
    try:
        if key not in variables:
            return None
        return variables[key]
    except (KeyError, TypeError):
        return None


def _shown(value, option):
    """' (got X)' for a value that is no secret; nothing for a no_log option."""
    return '' if option.get('no_log') else ' (got %s)' % to_text(value)


def _convert(name, key, value, option):
    """``value`` converted to the spec type of ``option``; (value, problem). A secret value is never shown."""
    kind = option.get('type', 'str')
    try:
        # Ansible's own conversions (what validate_argument_spec applies); a bool is no number here.
        if kind in ('int', 'float') and isinstance(value, bool):
            raise TypeError()
        if kind == 'int':
            value = check_type_int(value)
        elif kind == 'float':
            value = check_type_float(value)
        elif kind == 'bool':
            value = check_type_bool(value)
        elif not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise TypeError()
        else:
            value = to_text(value)
    except (TypeError, ValueError):
        if key == 'sensingcam_port':
            return None, '%s: sensingcam_port is not a TCP port (1-65535)%s' % (name, _shown(value, option))
        return None, '%s: %s must be of type %s%s' % (name, key, kind, _shown(value, option))
    choices = option.get('choices')
    if choices and value not in choices:
        allowed = ', '.join(to_text(c) for c in choices)
        return None, '%s: %s must be one of %s%s' % (name, key, allowed, _shown(value, option))
    return value, None


def sensingcam_fleet_cameras(hostvars, names, spec, defaults=None, shipped_profile=None):
    """``{'cameras': [...], 'inventory': {name: {...}}}`` for the cameras ``names``; fails listing every camera whose
    variables are wrong (by camera and variable, with the value unless the spec marks it no_log)."""
    if not isinstance(spec, Mapping):
        _fail('give the camera argument spec (the `options` of argument_specs.camera of playbooks/'
              'firmware_audit.meta.yml) as second argument')
    if isinstance(names, (str, bytes)) or not hasattr(names, '__iter__'):
        _fail('give the camera names as a list, for example ansible_play_hosts')
    defaults = defaults or {}
    problems, cameras, inventory = [], [], {}
    for name in names:
        name = to_text(name)
        try:
            variables = hostvars[name]
        except (KeyError, TypeError):
            variables = {}
        if not isinstance(variables, Mapping):
            variables = {}
        values = {}
        for key, option in spec.items():
            if key == 'name' or not isinstance(option, Mapping):
                continue
            value = _get(variables, key)
            if value in _EMPTY:
                continue
            value, problem = _convert(name, key, value, option)
            if problem:
                problems.append(problem)
                continue
            values[key] = value
        port = values.get('sensingcam_port')
        if port is not None and not 1 <= port <= 65535:
            problems.append('%s: sensingcam_port is not a TCP port (1-65535) (got %d)' % (name, port))
        password = values.get('sensingcam_password')
        if password is not None and not re.match(r'[\x00-\x7f]*\Z', password):
            problems.append('%s: sensingcam_password contains characters outside ASCII' % name)
        row = {'name': name}
        for option, key in CONNECTION:
            value = values.get(key)
            if value in _EMPTY:
                value = defaults.get(key)
            if option == 'host' and value in _EMPTY:
                value = _get(variables, 'ansible_host') or name
            if option == 'profile':
                value = shipped_profile if value in _EMPTY else os.path.realpath(to_text(value))
            row[option] = value
        cameras.append(row)
        inventory[name] = dict((key, values.get(key)) for key in REPORTED)
    if problems:
        _fail('%s. Fix these in the cameras\' host or group variables (camera passwords must be ASCII: SICK\'s own '
              'clients hash others differently); no camera was contacted.' % '; '.join(problems))
    return {'cameras': cameras, 'inventory': inventory}


class FilterModule(object):
    def filters(self):
        return {'sensingcam_fleet_cameras': sensingcam_fleet_cameras}
