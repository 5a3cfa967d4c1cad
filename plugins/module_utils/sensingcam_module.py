# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The Ansible side of the sensingcam modules, on ``_api.ApiModule``.

``SensingCamModule`` adds the camera's connection options, loads the device profile (format 2) and builds the
``SensingCamClient``; action modules override ``execute()`` and use ``self.client``, ``self.profile``,
``self.fail``, ``self.exit`` and ``self.warn``.

``FieldSettingsModule`` is the base of a module whose options are flat device variables (profile ``Field``s). A
subclass sets ``settings`` (its option names) and implements ``option_fields()`` -> {option: Field}, usually
``self.profile.group(...)`` filtered. The base then:

1. checks every option the user set with its field's codec (``Field.check``) and that the field is writable, and
   fails naming the option and the allowed values BEFORE anything is sent;
2. reads only the set options' fields, compares wire values (``Field.same``);
3. in check mode predicts the result; otherwise writes each changed field (one POST each), then runs the
   persistence step once (``profile.save_method``, if not null; not when nothing changed), re-reads and warns
   when the camera reports other values than it accepted;
4. returns ``settings`` (the set options as the camera reports them), ``changed_settings`` and, in diff mode,
   ``diff``.

Write-only secrets (``secret: true`` fields, e.g. ``offload.password``) are never read back. The module keeps a
salted PBKDF2-SHA256 hash of the last value it wrote in a small JSON file on the host the module runs on (the
controller with ``delegate_to: localhost``): ``<secret_state_dir>/secret-<host>-<port>-<variable>.json``, mode
0600, in a directory of mode 0700; ``secret_state_dir`` defaults to ``~/.cache/sensingcam.ming`` (module option
``secret_state_dir`` when the module sets ``secret_state = True``; doc fragment
``sensingcam.ming.sensingcam.secret_state``). A re-run with the same secret reports no change; a changed secret
(or no state file yet) writes once and records the new hash. The value and its hash never appear in output:
``********`` in results and diffs (``******** (changed)`` after a change). If the camera loses the value (factory
reset), delete the state file to make the next run write it again.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import binascii
import hashlib
import json
import os
import re

from ansible.module_utils.basic import env_fallback, missing_required_lib
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.sensingcam.ming.plugins.module_utils import _api
from ansible_collections.sensingcam.ming.plugins.module_utils._api import MASK, ApiError, ApiModule
from ansible_collections.sensingcam.ming.plugins.module_utils.atomic_write import write_file_atomically
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamClient, SensingCamError
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import (
    HAS_YAML,
    PROFILE_ENV_VAR,
    YAML_IMPORT_ERROR,
    DeviceProfile,
    ProfileError,
)


SECRET_STATE_DIR = '~/.cache/sensingcam.ming'  # noqa: S105 (a directory, not a secret)
SECRET_HASH_ITERATIONS = 100000
SECRET_HASH_ALGORITHM = 'pbkdf2_sha256'  # noqa: S105 (a name, not a secret)


def connection_argument_spec():
    """Connection options shared by every sensingcam module (documented in doc_fragments/sensingcam.py)."""
    spec = _api.connection_argument_spec()
    spec.update(
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        profile=dict(type='path', fallback=(env_fallback, [PROFILE_ENV_VAR])),
    )
    return spec


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

    def field(self, *keys):
        """The profile Field at ``keys`` (under ``variables:``); fails the module with the profile's message."""
        try:
            return self.profile.field(*keys)
        except ProfileError as exc:
            self.fail(str(exc))

    def variable(self, *keys):
        """The device name of the variable at ``keys``."""
        return self.field(*keys).name

    def method(self, key):
        try:
            return self.profile.method(key)
        except ProfileError as exc:
            self.fail(str(exc))


def with_allowed(problem, field):
    """``problem`` ('is above the maximum 60') followed by the allowed values, unless it already names them."""
    allowed = field.allowed()
    return problem if allowed in problem else '%s; allowed: %s' % (problem, allowed)


def _file_part(text):
    """``text`` as a safe part of a file name (IPv6 colons and anything else unusual become '_')."""
    return re.sub(r'[^A-Za-z0-9._-]', '_', str(text)).strip('.') or '_'


class SecretState:
    """Salted PBKDF2-SHA256 hashes of the write-only values a module wrote to one camera.

    One JSON file per camera variable: ``<directory>/secret-<host>-<port>-<variable>.json`` (mode 0600; the
    directory is created with mode 0700). The value itself is never stored.
    """

    def __init__(self, directory, host, port, iterations=None):
        self.directory = os.path.abspath(os.path.expanduser(directory or SECRET_STATE_DIR))
        self.host = host
        self.port = port
        self.iterations = iterations or SECRET_HASH_ITERATIONS

    def path(self, name):
        return os.path.join(self.directory, 'secret-%s-%s-%s.json'
                            % (_file_part(self.host), _file_part(self.port), _file_part(name)))

    def _digest(self, value, salt, iterations):
        return binascii.hexlify(hashlib.pbkdf2_hmac('sha256', to_bytes(value), salt, iterations)).decode('ascii')

    def record(self, name):
        """The stored record of ``name`` (dict), or None when there is none or it is unreadable."""
        try:
            with open(self.path(name), 'r') as handle:
                record = json.load(handle)
        except (IOError, OSError, ValueError):
            return None
        if not isinstance(record, dict) or record.get('algorithm') != SECRET_HASH_ALGORITHM:
            return None
        if not all(isinstance(record.get(key), str) for key in ('salt', 'hash')):
            return None
        if not isinstance(record.get('iterations'), int) or record['iterations'] < 1:
            return None
        return record

    def matches(self, name, value):
        """True when ``value`` is the value last recorded for ``name``; False when it differs or nothing is known."""
        record = self.record(name)
        if record is None:
            return False
        try:
            salt = binascii.unhexlify(record['salt'])
        except (TypeError, ValueError, binascii.Error):
            return False
        return self._digest(value, salt, record['iterations']) == record['hash']

    def prepare(self):
        """Create the directory (mode 0700) if needed; None when hashes can be written there, else the reason."""
        try:
            if not os.path.isdir(self.directory):
                os.makedirs(self.directory, 0o700)
        except OSError as exc:
            return exc.strerror or str(exc)
        if not os.access(self.directory, os.W_OK | os.X_OK):
            return 'not writable'
        return None

    def store(self, name, value):
        """Record the hash of ``value`` (just written to the camera) for ``name``; atomic, mode 0600."""
        if not os.path.isdir(self.directory):
            os.makedirs(self.directory, 0o700)
        salt = os.urandom(16)
        record = {'host': self.host, 'port': self.port, 'variable': name, 'algorithm': SECRET_HASH_ALGORITHM,
                  'iterations': self.iterations, 'salt': binascii.hexlify(salt).decode('ascii'),
                  'hash': self._digest(value, salt, self.iterations)}
        write_file_atomically(self.path(name), json.dumps(record, sort_keys=True).encode('ascii'), 0o600)


class FieldSettingsModule(SensingCamModule):
    """Settings that are flat device variables (see the module docstring for the cycle and the secret state)."""

    # True: the module has the option ``secret_state_dir`` (doc fragment sensingcam.ming.sensingcam.secret_state).
    secret_state = False
    mismatch_warning = ('The camera accepted the change but reports other values for: %s. It may round or '
                        'restrict them.')

    @classmethod
    def connection_spec(cls):
        spec = connection_argument_spec()
        if cls.secret_state:
            spec['secret_state_dir'] = dict(type='path')
        return spec

    def option_fields(self):
        """{option: Field} of this module's options; usually ``self.profile.group(...)`` filtered."""
        raise NotImplementedError

    def secret_store(self):
        return SecretState(self.params.get('secret_state_dir') or SECRET_STATE_DIR, self.client.host,
                           self.client.port)

    def shown_value(self, field, value, changed=False):
        if field.secret and value is not None:
            return MASK + (' (changed)' if changed else '')
        return value

    def invalid(self, fields, wanted):
        """Messages for every set option the camera cannot take (read-only field or a value its codec refuses)."""
        problems = []
        for option in sorted(wanted):
            field, value = fields[option], wanted[option]
            if not field.writable:
                problems.append("%s: the device profile %s marks `variables.%s` ('%s') as read-only"
                                % (option, self.profile.path, field.key, field.name))
                continue
            problem = field.check(value)
            if problem:
                problems.append('%s=%s %s' % (option, self.shown_value(field, repr(value)),
                                              with_allowed(problem, field)))
        return problems

    def read_fields(self, fields, options):
        """{option: wire value} of the non-secret ``options``."""
        return dict((option, self.client.read(fields[option].name)) for option in sorted(options)
                    if not fields[option].secret)

    def execute(self):
        try:
            fields = self.option_fields()
        except ProfileError as exc:
            self.fail(str(exc))
        missing = sorted(option for option in self.settings if option not in fields)
        if missing:
            self.fail('The device profile %s has no variable for the option(s) %s of this module; add them under '
                      '`variables:`.' % (self.profile.path, ', '.join(missing)))
        wanted = self.wanted()
        self.validate(wanted)
        problems = self.invalid(fields, wanted)
        if problems:
            self.fail('Nothing was sent to the camera at %s: %s.' % (self.client.base_url, '; '.join(problems)))
        store = self.secret_store() if any(fields[o].secret for o in wanted) else None

        before_wire = self.read_fields(fields, wanted)
        changes = {}
        for option, value in wanted.items():
            field = fields[option]
            if field.secret:
                if not store.matches(field.name, value):
                    changes[option] = value
            elif not field.same(value, before_wire[option]):
                changes[option] = value
        before = dict((o, fields[o].decode(w)) for o, w in before_wire.items())
        after = dict(before)
        after.update((o, v) for o, v in changes.items() if not fields[o].secret)

        if changes and not self.check_mode:
            if any(fields[o].secret for o in changes):
                problem = store.prepare()
                if problem:
                    self.fail('Nothing was sent to the camera at %s: the hash of the secret cannot be kept in %s (%s), '
                              'so the next run could not tell whether it changed. Set secret_state_dir to a writable '
                              'directory.' % (self.client.base_url, store.directory, problem))
            for option in sorted(changes):
                field = fields[option]
                self.client.write_field(field, changes[option])
                if field.secret:
                    try:
                        store.store(field.name, changes[option])
                    except (IOError, OSError) as exc:
                        self.fail('The camera at %s took %s, but its hash cannot be kept in %s (%s): the next run '
                                  'will write it again. Set secret_state_dir to a writable directory.'
                                  % (self.client.base_url, option, store.directory, exc.strerror or exc),
                                  changed=True)
            save = self.profile.save_method
            if save:
                self.client.call(save, what="save the settings permanently ('%s')" % save)
            after_wire = self.read_fields(fields, changes)
            mismatch = sorted(o for o in after_wire if not fields[o].same(changes[o], after_wire[o]))
            if mismatch:
                self.warn(self.mismatch_warning % ', '.join(mismatch))
            after.update((o, fields[o].decode(w)) for o, w in after_wire.items())

        def shown(state, changed):
            result = dict(state)
            for option in wanted:
                if fields[option].secret:
                    result[option] = self.shown_value(fields[option], wanted[option], changed and option in changes)
            return result

        self.before, self.after, self.changes = before, after, changes
        self.result['changed'] = bool(changes)
        self.result[self.changed_key] = sorted(changes)
        self.result[self.result_key] = shown(after, True)
        if self.diff_mode:
            self.result['diff'] = {'before': shown(before, False), 'after': shown(after, True)}
        self.exit()
