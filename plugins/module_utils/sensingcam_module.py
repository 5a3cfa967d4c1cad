# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ansible side of the sensingcam modules, on ``_api.ApiModule``.

``SensingCamModule`` adds the camera's connection options, loads the device profile and builds the
``SensingCamClient``; settings modules get the read -> compare -> write -> re-read -> diff cycle from ApiModule
and report ``settings`` and ``changed_settings``. ``StructuredSettingsModule`` is the shape of the settings kept
in one JSON-object variable (stream profiles, event recording).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback, missing_required_lib

from ansible_collections.sensingcam.ming.plugins.module_utils import _api
from ansible_collections.sensingcam.ming.plugins.module_utils._api import ApiError, ApiModule
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamClient, SensingCamError
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import (
    HAS_YAML,
    PROFILE_ENV_VAR,
    YAML_IMPORT_ERROR,
    DeviceProfile,
    ProfileError,
)


def connection_argument_spec():
    """Connection options shared by every sensingcam module (documented in doc_fragments/sensingcam.py)."""
    spec = _api.connection_argument_spec()
    spec.update(
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        profile=dict(type='path', fallback=(env_fallback, [PROFILE_ENV_VAR])),
    )
    return spec


def check_allowed(allowed, wanted):
    """Messages for every wanted value outside the profile's ``allowed`` (lists: choices; dicts: min/max)."""
    problems = []
    for option, value in sorted(wanted.items()):
        rule = (allowed or {}).get(option)
        if value is None or rule is None:
            continue
        if isinstance(rule, list):
            if value not in rule:
                problems.append('%s=%r is not one of %s' % (option, value, ', '.join(str(r) for r in rule)))
        elif isinstance(rule, dict):
            low, high = rule.get('min'), rule.get('max')
            if low is not None and value < low:
                problems.append('%s=%r is below the minimum %s' % (option, value, low))
            if high is not None and value > high:
                problems.append('%s=%r is above the maximum %s' % (option, value, high))
    return problems


class SensingCamModule(ApiModule):
    """Base class of every sensingcam module.

    Settings modules set ``settings`` (the option names they manage) and implement ``read()`` -> {option: current
    value}, ``update(changes, current)`` and, when needed, ``validate(wanted)`` and ``check_change(changes,
    current)``; ApiModule's ``execute()`` does the rest. Modules with logic of their own override ``execute()``
    and use ``self.client``, ``self.profile``, ``self.exit`` and ``self.fail``.
    """

    settings = ()
    service = 'camera'
    result_key = 'settings'
    changed_key = 'changed_settings'
    expected_errors = (ApiError, ProfileError)

    @property
    def options(self):
        return self.settings

    @classmethod
    def connection_spec(cls):
        return connection_argument_spec()

    def setup(self):
        if not HAS_YAML:
            self.module.fail_json(msg=missing_required_lib('PyYAML'), exception=YAML_IMPORT_ERROR)
        if not self.params.get('profile'):
            self.fail('No device profile given: set the `profile` option (or the %s environment variable) to the '
                      'profile YAML of your camera firmware line, for example profiles/sensingcam/sec100-fw2.yml '
                      'in the collection.' % PROFILE_ENV_VAR)
        try:
            self.profile = DeviceProfile.load(self.params['profile'])
        except ProfileError as exc:
            self.fail(str(exc))

    def make_client(self, options=None):
        """A SensingCamClient for ``options`` (default: this module's own connection options)."""
        options = self.params if options is None else options
        try:
            return SensingCamClient(
                options['host'], self.profile, port=options.get('port'), use_tls=options.get('use_tls') or False,
                validate_certs=options.get('validate_certs', True) is not False, ca_path=options.get('ca_path'),
                username=options.get('username'), password=options.get('password'),
                timeout=options.get('timeout') or 10, retries=options.get('retries', 2))
        except SensingCamError as exc:
            self.fail(exc.message)

    def variable(self, *keys):
        try:
            return self.profile.variable(*keys)
        except ProfileError as exc:
            self.fail(str(exc))

    def require_writable(self, *keys):
        try:
            writable = self.profile.writable(*keys)
        except ProfileError as exc:
            self.fail(str(exc))
        if not writable:
            self.fail('The device profile %s marks `%s` as read-only, so it cannot be changed.'
                      % (self.profile.path, '.'.join(keys)))


class StructuredSettingsModule(SensingCamModule):
    """Settings kept in one device variable holding a JSON object (stream profiles, event recording).

    The profile entry at ``entry_keys()`` has ``name``, ``access`` and ``fields`` (our option -> device field).
    A write sends the whole object as read, with only the changed fields replaced.
    """

    def entry_keys(self):
        raise NotImplementedError

    def fields(self):
        keys = self.entry_keys()
        fields = self.profile.entry(*keys).get('fields') or {}
        missing = [option for option in self.settings if option not in fields]
        if missing:
            self.fail('The device profile %s entry `%s.fields` has no device field for: %s.'
                      % (self.profile.path, '.'.join(keys), ', '.join(missing)))
        return fields

    def read(self):
        keys = self.entry_keys()
        name = self.variable(*keys)
        value = self.client.read(name)
        if not isinstance(value, dict):
            message = ("The camera reports '%s' as %s, not as an object with fields; check `%s` in the device "
                       'profile %s.')
            raise SensingCamError(message % (name, type(value).__name__, '.'.join(keys), self.profile.path),
                                  'protocol')
        self.device_value = value
        return dict((option, value.get(field)) for option, field in self.fields().items()
                    if option in self.settings)

    def check_change(self, changes, current):
        self.require_writable(*self.entry_keys())

    def update(self, changes, current):
        fields = self.fields()
        new = dict(self.device_value)
        for option, value in changes.items():
            new[fields[option]] = value
        self.client.write(self.variable(*self.entry_keys()), new)
