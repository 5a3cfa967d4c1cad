# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sensingCam device profile (format 2): every device-specific name, value shape and protocol rule.

One YAML file per firmware line (profiles/sensingcam/sec100-fw2.yml). A field engineer fixes a name there, not
in the code. The file is checked when it is loaded; every problem names its dotted key
(``variables.streams.video0.fps: codec 'frame_rat' is not defined under codecs:``).

- ``Codec``: how a wire value maps to a module value (string, int, bool, enum, ipv4, scaled, object).
- ``Field``: one flat device variable (``variables:`` entry, or ``firmware.state``): key, device name, access,
  level, secret, codec; ``decode``/``encode``/``check``/``allowed``/``same``.
- ``Method``: one entry of ``methods:`` (or a ``{value: <name>, argument: ...}`` setting such as
  ``backup.create_method``).
- ``DeviceProfile``: the whole file, with named properties for the transport, login and envelope rules.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re
import traceback

from ansible_collections.sensingcam.ming.plugins.module_utils._api import same_value, url_host
from ansible_collections.sensingcam.ming.plugins.module_utils.firmware_version import parse_version

try:
    import yaml
except ImportError:
    HAS_YAML = False
    YAML_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_YAML = True
    YAML_IMPORT_ERROR = None


PROFILE_ENV_VAR = 'SENSINGCAM_PROFILE'
PROFILE_FORMAT = 2
SUPPORTED_PROFILE_FORMATS = (PROFILE_FORMAT,)
RETIRED_PROFILE_FORMATS = (1,)
CURRENT_PROFILE = 'profiles/sensingcam/sec100-fw2.yml'
LEVELS = ('verified', 'observed', 'family', 'assumed', 'probed')
ACCESS = ('read', 'read_write')
EMPTY_SALT_RULES = ('separator', 'no_salt')
# Where a camera's firmware version comes from, in order: the profile key under variables, and the member of an
# object value. The first string that parses as a version wins.
VERSION_SOURCES = (('identity.firmware_version', None), ('identity.extended_firmware_version', None),
                   ('identity.device_ident', 'Version'))
REQUIRED_SECTIONS = ('transport', 'auth', 'response', 'codecs', 'variables')

_MISSING = object()


class ProfileError(Exception):
    """The device profile is missing, unreadable, invalid, or lacks an entry the module needs.

    ``errors`` lists every problem found on load (each starting with its dotted key), for the lint.
    """

    def __init__(self, message, errors=None):
        super(ProfileError, self).__init__(message)
        self.errors = list(errors or [])


def load_yaml_file(path, what):
    """The parsed YAML of ``path``; a ProfileError that names ``what`` (e.g. 'device profile') and the path."""
    if not HAS_YAML:
        raise ProfileError('PyYAML is needed to read the %s %s.' % (what, path))
    try:
        with open(path, 'rb') as handle:
            return yaml.load(handle, Loader=getattr(yaml, 'CSafeLoader', yaml.SafeLoader))  # noqa: S506 (safe)
    except (IOError, OSError) as exc:
        raise ProfileError('Cannot read the %s %s: %s.' % (what, path, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        raise ProfileError('The %s %s is not valid YAML: %s' % (what, path, exc)) from None


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _int_like(wire):
    """``wire`` as an int when it is one (or a string of one), else None."""
    if _is_int(wire):
        return wire
    if isinstance(wire, float) and wire.is_integer():
        return int(wire)
    if isinstance(wire, str) and re.match(r'^\s*-?\d+\s*$', wire):
        return int(wire)
    return None


_IPV4_RE = re.compile(r'^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$')


# ----------------------------------------------------------------------------------------------------------------
# Codecs
# ----------------------------------------------------------------------------------------------------------------

CODEC_KEYS = {
    'string': ('max_length',),
    'int': ('min', 'max', 'choices'),
    'bool': (),
    'enum': ('values',),
    'ipv4': (),
    'scaled': ('factor', 'unit', 'min', 'max'),
    'object': (),
    'list': (),
}


def codec_problems(spec, where):
    """Problems of one codec definition (a mapping with ``type``), each starting with ``where``."""
    if not isinstance(spec, dict):
        return ['%s: a codec is a mapping with `type:` (one of %s), not %r'
                % (where, ', '.join(sorted(CODEC_KEYS)), spec)]
    kind = spec.get('type')
    if kind not in CODEC_KEYS:
        return ["%s: unknown codec type %r; use one of %s" % (where, kind, ', '.join(sorted(CODEC_KEYS)))]
    problems = []
    for key in sorted(set(spec) - set(CODEC_KEYS[kind]) - {'type'}):
        problems.append("%s: codec type %s has no key '%s' (it takes: %s)"
                        % (where, kind, key, ', '.join(CODEC_KEYS[kind]) or 'no other keys'))
    if kind == 'string' and 'max_length' in spec and not (_is_int(spec['max_length']) and spec['max_length'] > 0):
        problems.append('%s: max_length must be a positive integer, not %r' % (where, spec['max_length']))
    if kind in ('int', 'scaled'):
        for key in ('min', 'max'):
            if key in spec and not (_is_int(spec[key]) if kind == 'int' else _is_number(spec[key])):
                problems.append('%s: %s must be a number, not %r' % (where, key, spec[key]))
        if _is_number(spec.get('min')) and _is_number(spec.get('max')) and spec['min'] > spec['max']:
            problems.append('%s: min %s is above max %s' % (where, spec['min'], spec['max']))
    if kind == 'int' and 'choices' in spec:
        choices = spec['choices']
        if not isinstance(choices, list) or not choices or not all(_is_int(c) for c in choices):
            problems.append('%s: choices must be a non-empty list of integers, not %r' % (where, choices))
    if kind == 'scaled':
        factor = spec.get('factor')
        if not _is_number(factor) or factor == 0:
            problems.append('%s: a scaled codec needs a non-zero number `factor:`, not %r' % (where, factor))
        if 'unit' in spec and not isinstance(spec['unit'], str):
            problems.append('%s: unit must be text, not %r' % (where, spec['unit']))
    if kind == 'enum':
        values = spec.get('values')
        if not isinstance(values, dict) or not values:
            problems.append('%s: an enum codec needs `values:`, a mapping of wire integer to name' % where)
        else:
            bad = ['%r: %r' % (k, v) for k, v in values.items() if not _is_int(k) or not isinstance(v, str) or not v]
            if bad:
                problems.append('%s: enum values must map wire integers to names (int -> str); wrong: %s'
                                % (where, ', '.join(bad)))
            names = [v for v in values.values() if isinstance(v, str)]
            duplicates = sorted(set(n for n in names if names.count(n) > 1))
            if duplicates:
                problems.append('%s: enum names must be unique; repeated: %s' % (where, ', '.join(duplicates)))
    return problems


def _number_text(number):
    return ('%g' % number) if isinstance(number, float) else str(number)


class Codec:
    """How one wire value maps to a module value. ``type`` is string, int, bool, enum, ipv4, scaled or object.

    ``decode`` never raises on device data: a wire value it cannot map comes back unchanged, so a module
    reports it. ``encode`` expects a value ``check`` accepted.
    """

    def __init__(self, spec, name=None):
        self.spec = dict(spec)
        self.type = spec['type']
        self.name = name
        self.max_length = spec.get('max_length')
        self.min = spec.get('min')
        self.max = spec.get('max')
        self.choices = list(spec['choices']) if spec.get('choices') is not None else None
        self.factor = spec.get('factor')
        self.unit = spec.get('unit')
        self.values = dict(spec.get('values') or {})
        self.codes = dict((label, code) for code, label in self.values.items())

    def __repr__(self):
        return 'Codec(%s%s)' % (self.type, ', %s' % self.name if self.name else '')

    # -- wire -> module ---------------------------------------------------------------------------------------
    def decode(self, wire):
        if wire is None:
            return None
        if self.type == 'bool':
            number = _int_like(wire)
            if isinstance(wire, bool):
                return wire
            if number in (0, 1):
                return number == 1
            return wire
        if self.type == 'int':
            number = _int_like(wire)
            return wire if number is None else number
        if self.type == 'enum':
            number = _int_like(wire)
            return self.values.get(number, wire) if number is not None else wire
        if self.type == 'ipv4':
            if isinstance(wire, (list, tuple)) and len(wire) == 4 and all(
                    _int_like(p) is not None and 0 <= _int_like(p) <= 255 for p in wire):
                return '.'.join(str(_int_like(p)) for p in wire)
            return wire
        if self.type == 'scaled':
            if not _is_number(wire):
                number = _int_like(wire)
                if number is None:
                    return wire
                wire = number
            return round(wire * self.factor, 10)
        return wire  # string, object: as they are

    # -- module -> wire ---------------------------------------------------------------------------------------
    def encode(self, value):
        if value is None:
            return None
        if self.type == 'bool':
            return 1 if value else 0
        if self.type == 'int':
            return _int_like(value) if _int_like(value) is not None else value
        if self.type == 'enum':
            return self.codes.get(value, value)
        if self.type == 'ipv4':
            match = _IPV4_RE.match(str(value).strip())
            return [int(part) for part in match.groups()] if match else value
        if self.type == 'scaled':
            return int(round(float(value) / self.factor))
        if self.type == 'string':
            return value if isinstance(value, str) else str(value)
        return value

    # -- validation -------------------------------------------------------------------------------------------
    def check(self, value):
        """None when ``value`` is a valid module value, else what is wrong ("is above the maximum 60")."""
        if self.type == 'string':
            if not isinstance(value, str):
                return 'is not text'
            if self.max_length is not None and len(value) > self.max_length:
                return 'is longer than the maximum of %d characters (%d)' % (self.max_length, len(value))
            return None
        if self.type == 'bool':
            return None if isinstance(value, bool) else 'is not a boolean (true or false)'
        if self.type == 'int':
            number = value if _is_int(value) else None
            if number is None:
                return 'is not an integer'
            if self.choices is not None and number not in self.choices:
                return 'is not one of %s' % ', '.join(str(c) for c in self.choices)
            return self._range(number)
        if self.type == 'enum':
            if value not in self.codes:
                return 'is not one of %s' % ', '.join(self._names())
            return None
        if self.type == 'ipv4':
            match = _IPV4_RE.match(value) if isinstance(value, str) else None
            if not match or any(int(part) > 255 for part in match.groups()):
                return 'is not an IPv4 address like 192.168.0.10'
            return None
        if self.type == 'scaled':
            if not _is_number(value):
                return 'is not a number'
            return self._range(value)
        if self.type == 'object':
            return None if isinstance(value, dict) else 'is not a mapping (JSON object)'
        if self.type == 'list':
            return None if isinstance(value, list) else 'is not a list (JSON array)'
        return None  # pragma: no cover (types are checked on load)

    def _range(self, number):
        if self.min is not None and number < self.min:
            return 'is below the minimum %s' % _number_text(self.min)
        if self.max is not None and number > self.max:
            return 'is above the maximum %s' % _number_text(self.max)
        return None

    def _names(self):
        return [self.values[code] for code in sorted(self.values)]

    def allowed(self):
        """The allowed module values in words, for error messages and docs."""
        if self.type == 'string':
            return 'text' + (' of at most %d characters' % self.max_length if self.max_length else '')
        if self.type == 'bool':
            return 'true or false'
        if self.type == 'enum':
            return 'one of %s' % ', '.join(self._names())
        if self.type == 'ipv4':
            return 'an IPv4 address like 192.168.0.10'
        if self.type == 'object':
            return 'a mapping (JSON object)'
        if self.type == 'list':
            return 'a list (JSON array)'
        if self.type == 'int' and self.choices is not None:
            return 'one of %s' % ', '.join(str(c) for c in self.choices)
        what = 'an integer' if self.type == 'int' else 'a number'
        if self.type == 'scaled' and self.unit:
            what += ' in %s' % self.unit
        if self.min is not None and self.max is not None:
            what += ' from %s to %s' % (_number_text(self.min), _number_text(self.max))
        elif self.min is not None:
            what += ' of at least %s' % _number_text(self.min)
        elif self.max is not None:
            what += ' of at most %s' % _number_text(self.max)
        if self.type == 'scaled':
            what += ' (steps of %s)' % _number_text(self.factor)
        return what

    def same(self, value, wire):
        """True when the module value ``value`` is what the wire value ``wire`` already holds."""
        if wire is None:
            return value is None
        if self.type in ('object', 'list'):
            return value == wire
        if self.type == 'string':
            return isinstance(wire, str) and value == wire
        return same_value(self.encode(value), wire)


# ----------------------------------------------------------------------------------------------------------------
# Fields and methods
# ----------------------------------------------------------------------------------------------------------------

FIELD_KEYS = ('name', 'access', 'level', 'codec', 'secret')


class Field:
    """One device variable: ``key`` (dotted path under ``variables:``; ``firmware.state`` for the update state),
    ``name`` (the device name), ``access``, ``writable``, ``level``, ``secret``, ``codec``."""

    def __init__(self, key, entry, codec):
        self.key = key
        self.name = entry['name']
        self.access = entry.get('access', 'read')
        self.writable = self.access == 'read_write'
        self.level = entry.get('level')
        self.secret = entry.get('secret') is True
        self.codec = codec

    def __repr__(self):
        return 'Field(%s -> %s)' % (self.key, self.name)

    def decode(self, wire):
        return self.codec.decode(wire)

    def encode(self, value):
        return self.codec.encode(value)

    def check(self, value):
        return self.codec.check(value)

    def allowed(self):
        return self.codec.allowed()

    def same(self, value, wire):
        return self.codec.same(value, wire)


class Method:
    """One method: ``key``, ``name`` (device name), ``argument`` (the one data key, or None), ``level``."""

    def __init__(self, key, name, argument=None, level=None):
        self.key = key
        self.name = name
        self.argument = argument
        self.level = level

    def __repr__(self):
        return 'Method(%s -> %s)' % (self.key, self.name)


# ----------------------------------------------------------------------------------------------------------------
# The profile
# ----------------------------------------------------------------------------------------------------------------

class DeviceProfile:
    """The device profile (format 2), loaded from YAML and checked on load."""

    def __init__(self, data, path='<memory>'):
        self.path = path
        if not isinstance(data, dict):
            raise ProfileError('The device profile %s is not a YAML mapping.' % path)
        fmt = data.get('profile_format')
        if fmt in RETIRED_PROFILE_FORMATS:
            raise ProfileError(
                'The device profile %s has profile_format %s, which was retired (structs, `status:` keys, '
                'multipart upload, HTTP 401 logins did not match the SEC100). Use a format-%d profile, '
                'for example %s in the collection.' % (path, fmt, PROFILE_FORMAT, CURRENT_PROFILE))
        if fmt not in SUPPORTED_PROFILE_FORMATS:
            raise ProfileError('The device profile %s has profile_format %r; this collection reads format %d '
                               '(for example %s).' % (path, fmt, PROFILE_FORMAT, CURRENT_PROFILE))
        self.data = data
        self.codecs = {}
        self._fields = {}
        self._where = {}
        errors = self._validate()
        if errors:
            raise ProfileError('The device profile %s is not valid: %s.' % (path, '; '.join(errors)), errors)

    @classmethod
    def load(cls, path):
        return cls(load_yaml_file(path, 'device profile'), path)

    # -- validation on load -----------------------------------------------------------------------------------
    def _validate(self):
        errors = []
        for section in REQUIRED_SECTIONS:
            if not isinstance(self.data.get(section), dict):
                errors.append('%s: the section is missing or not a mapping' % section)
        if errors:
            return errors
        errors.extend(self._check_levels(self.data, ''))
        for name, spec in sorted(self.data['codecs'].items(), key=lambda item: str(item[0])):
            problems = codec_problems(spec, 'codecs.%s' % name)
            errors.extend(problems)
            if not problems:
                self.codecs[name] = Codec(spec, name)
        self._walk_variables(self.data['variables'], 'variables', errors)
        state = self.data.get('firmware', {}).get('state') if isinstance(self.data.get('firmware'), dict) else None
        if state is not None:
            self._add_field('firmware.state', state, 'firmware.state', errors)
        seen = {}
        for key, field in self._fields.items():
            where = self._where[key]
            if field.name in seen:
                errors.append("%s: device name '%s' is already used by %s" % (where, field.name, seen[field.name]))
            else:
                seen[field.name] = where
        for key, entry in sorted((self.data.get('methods') or {}).items(), key=lambda item: str(item[0])):
            if not isinstance(entry, dict) or not isinstance(entry.get('name'), str) or not entry['name']:
                errors.append('methods.%s: a method needs `name:` (the device name)' % key)
            elif 'argument' in entry and not isinstance(entry['argument'], str):
                errors.append('methods.%s: argument must be the name of the data key, not %r'
                              % (key, entry['argument']))
        for key, supported in (('scheme', 'sick_challenge'), ('hash', 'sha256'), ('password_charset', 'ascii')):
            value = self.setting('auth', key, default=supported)
            if value != supported:
                errors.append('auth.%s: %r is not supported; this collection speaks %s' % (key, value, supported))
        for key in ('min_version', 'below_version'):
            value = (self.data.get('applies_to') or {}).get(key)
            if value is not None and parse_version(str(value)) is None:
                errors.append('applies_to.%s: %r is not a version' % (key, value))
        empty_salt = self.setting('auth', 'empty_salt', default='separator')
        if empty_salt not in EMPTY_SALT_RULES:
            errors.append('auth.empty_salt: %r is not one of %s' % (empty_salt, ', '.join(EMPTY_SALT_RULES)))
        for key in ('statuses', 'method_results'):
            value = self.setting('response', key, default={})
            if not isinstance(value, dict) or not all(_is_int(k) and isinstance(v, str) for k, v in value.items()):
                errors.append('response.%s: must map integer codes to names, not %r' % (key, value))
        relogin = self.setting('response', 'relogin_statuses', default=[])
        if not isinstance(relogin, list) or not all(_is_int(code) for code in relogin):
            errors.append('response.relogin_statuses: must be a list of integer status codes, not %r' % (relogin,))
        for key in ('busy_retry_seconds', 'busy_retries'):
            value = self.setting('response', key, default=0)
            if not _is_number(value) or value < 0:
                errors.append('response.%s: must be a number of at least 0, not %r' % (key, value))
        chunk = self.setting('transport', 'upload_chunk_bytes', default=65536)
        if not _is_int(chunk) or chunk < 1:
            errors.append('transport.upload_chunk_bytes: must be a positive integer, not %r' % (chunk,))
        for index, issue in enumerate(self.entry('firmware', 'known_issues', default=None) or []):
            where = 'firmware.known_issues[%d]' % index
            if not isinstance(issue, dict) or not issue.get('summary'):
                errors.append('%s: a known issue needs `summary:`' % where)
                continue
            for bound in ('below', 'from'):
                if issue.get(bound) is not None and parse_version(str(issue[bound])) is None:
                    errors.append('%s: %s %r is not a version' % (where, bound, issue[bound]))
        return errors

    def _check_levels(self, node, prefix):
        errors = []
        if isinstance(node, dict):
            if 'level' in node and node['level'] not in LEVELS:
                errors.append('%s: level %r is not one of %s' % (prefix or '<top>', node['level'], ', '.join(LEVELS)))
            if 'status' in node and 'level' not in node and isinstance(node.get('status'), str):
                errors.append('%s: `status:` is the retired format-1 key; write `level:` (one of %s)'
                              % (prefix or '<top>', ', '.join(LEVELS)))
            for key, child in node.items():
                if key in ('codecs', 'values') and not prefix:
                    continue
                errors.extend(self._check_levels(child, '%s.%s' % (prefix, key) if prefix else str(key)))
        elif isinstance(node, list):
            for index, child in enumerate(node):
                errors.extend(self._check_levels(child, '%s[%d]' % (prefix, index)))
        return errors

    def _walk_variables(self, node, prefix, errors):
        if not isinstance(node, dict) or not node:
            errors.append('%s: expected a variable entry (with `name:`) or a group of them, not %r' % (prefix, node))
            return
        if 'name' in node:
            self._add_field(prefix[len('variables.'):], node, prefix, errors)
            return
        for key, child in node.items():
            self._walk_variables(child, '%s.%s' % (prefix, key), errors)

    def _add_field(self, key, entry, where, errors):
        problems = []
        if not isinstance(entry.get('name'), str) or not entry['name']:
            problems.append('%s: name must be the device variable name, not %r' % (where, entry.get('name')))
        for unknown in sorted(set(entry) - set(FIELD_KEYS)):
            problems.append("%s: unknown key '%s' (a variable takes: %s)" % (where, unknown, ', '.join(FIELD_KEYS)))
        if entry.get('access', 'read') not in ACCESS:
            problems.append('%s: access %r is not one of %s' % (where, entry.get('access'), ', '.join(ACCESS)))
        if 'secret' in entry and not isinstance(entry['secret'], bool):
            problems.append('%s: secret must be true or false, not %r' % (where, entry['secret']))
        spec = entry.get('codec')
        codec = None
        if spec is None:
            problems.append('%s: no `codec:`; name one under codecs: (%s) or write one inline'
                            % (where, ', '.join(sorted(str(c) for c in self.data['codecs']))))
        elif isinstance(spec, str):
            if spec in self.codecs:
                codec = self.codecs[spec]
            elif spec not in self.data['codecs']:
                problems.append("%s: codec '%s' is not defined under codecs: (defined: %s)"
                                % (where, spec, ', '.join(sorted(str(c) for c in self.data['codecs']))))
        else:
            inline = codec_problems(spec, '%s.codec' % where)
            problems.extend(inline)
            if not inline:
                codec = Codec(spec)
        errors.extend(problems)
        if not problems and codec is not None:
            self._fields[key] = Field(key, entry, codec)
            self._where[key] = where

    # -- generic access ---------------------------------------------------------------------------------------
    def entry(self, *keys, **kwargs):
        """The raw profile node at ``keys`` (e.g. entry('transport', 'http_port'))."""
        default = kwargs.get('default', _MISSING)
        node = self.data
        for key in keys:
            if not isinstance(node, dict) or key not in node:
                if default is not _MISSING:
                    return default
                raise ProfileError('The device profile %s has no `%s` entry.' % (self.path, '.'.join(keys)))
            node = node[key]
        return node

    def setting(self, *keys, **kwargs):
        """The value of a ``{value: x, level: ...}`` entry (x); a plain entry as it is."""
        default = kwargs.get('default', _MISSING)
        node = self.entry(*keys, default=default)
        if isinstance(node, dict) and 'value' in node:
            return node['value']
        return node

    def level(self, *keys):
        """The evidence level of the entry at ``keys`` (verified, observed, family, assumed, probed) or None."""
        node = self.entry(*keys)
        return node.get('level') if isinstance(node, dict) else None

    def field(self, *keys):
        """The Field of the variable at ``keys`` under ``variables:`` (or ``'firmware', 'state'``)."""
        key = '.'.join(keys)
        if key in self._fields:
            return self._fields[key]
        raise ProfileError('The device profile %s has no variable `variables.%s` (with `name:` and `codec:`).'
                           % (self.path, key))

    def variable(self, *keys):
        """The device name of the variable at ``keys`` (``field(*keys).name``)."""
        return self.field(*keys).name

    def group(self, *keys):
        """{option: Field} for every variable directly or deeper under ``variables.<keys>``, keyed by the rest of
        the dotted key (``group('streams', 'video0')['fps']``)."""
        prefix = '.'.join(keys) + '.'
        found = dict((key[len(prefix):], field) for key, field in self._fields.items() if key.startswith(prefix))
        if not found:
            raise ProfileError('The device profile %s has no variable group `variables.%s`.'
                               % (self.path, '.'.join(keys)))
        return found

    def fields(self):
        """Every Field of the profile (variables, then firmware.state), in file order."""
        return list(self._fields.values())

    def field_by_name(self, name):
        """The Field whose device name is ``name``, or None."""
        return next((field for field in self._fields.values() if field.name == name), None)

    def method(self, *keys):
        """The Method ``methods.<key>``; a dotted key or several keys (``'backup.create_method'``) name a
        ``{value: <device name>, argument: ..., level: ...}`` setting elsewhere in the profile."""
        if len(keys) == 1 and '.' in keys[0]:
            keys = tuple(keys[0].split('.'))
        if len(keys) == 1:
            entry = self.entry('methods', keys[0], default=None)
            if not isinstance(entry, dict):
                raise ProfileError('The device profile %s has no method `methods.%s`.' % (self.path, keys[0]))
            return Method(keys[0], entry['name'], entry.get('argument'), entry.get('level'))
        entry = self.entry(*keys)
        name = entry.get('value', entry.get('name')) if isinstance(entry, dict) else entry
        if not isinstance(name, str) or not name:
            raise ProfileError('The device profile %s entry `%s` names no method.' % (self.path, '.'.join(keys)))
        argument = entry.get('argument') if isinstance(entry, dict) else None
        level = entry.get('level') if isinstance(entry, dict) else None
        return Method('.'.join(keys), name, argument, level)

    def file_name(self, key):
        """The device file name of ``files.<key>`` (``latestSnapshot``)."""
        entry = self.entry('files', key)
        name = entry.get('name') if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name:
            raise ProfileError('The device profile %s entry `files.%s` has no `name:`.' % (self.path, key))
        return name

    def secret_keys(self):
        """Lower-case fnmatch patterns of secret keys: ``backup.secret_keys`` and every ``secret: true`` field's
        device name. Diffs show ``********`` for them."""
        listed = self.setting('backup', 'secret_keys', default=None) or []
        if isinstance(listed, str) or not isinstance(listed, list):
            raise ProfileError('The device profile %s entry `backup.secret_keys` must be a list of key patterns, '
                               'not %r.' % (self.path, listed))
        found = set(str(key).lower() for key in listed)
        found.update(field.name.lower() for field in self._fields.values() if field.secret)
        return sorted(found)

    def location_of(self, name):
        """Dotted profile key where the device name ``name`` (variable, method, file, setting value) is set."""
        def walk(node, prefix):
            if isinstance(node, dict):
                for attribute in ('name', 'value'):
                    if prefix and node.get(attribute) == name:
                        return '%s.%s' % (prefix, attribute)
                for key, child in node.items():
                    found = walk(child, '%s.%s' % (prefix, key) if prefix else str(key))
                    if found:
                        return found
            return None
        return walk(self.data, '')

    # -- named settings ---------------------------------------------------------------------------------------
    @property
    def name(self):
        return self.data.get('name', os.path.basename(self.path))

    @property
    def device_family(self):
        return self.data.get('device_family')

    @property
    def http_port(self):
        return int(self.setting('transport', 'http_port', default=80))

    @property
    def https_port(self):
        return int(self.setting('transport', 'https_port', default=443))

    def _prefix(self, key, default):
        return '/' + str(self.setting('transport', key, default=default)).strip('/')

    @property
    def api_prefix(self):
        return self._prefix('api_prefix', '/api')

    @property
    def file_download_prefix(self):
        return self._prefix('file_download_prefix', '/file/download')

    @property
    def file_upload_prefix(self):
        return self._prefix('file_upload_prefix', '/file/upload')

    @property
    def upload_chunk_bytes(self):
        return int(self.setting('transport', 'upload_chunk_bytes', default=65536))

    @property
    def authentication_free_prefix(self):
        return self._prefix('authentication_free_prefix', '/authenticationFree')

    @property
    def api_description_path(self):
        return self._prefix('api_description_path', '/deviceDescription.yaml')

    @property
    def realm(self):
        return self.setting('auth', 'realm', default='SICK Sensor')

    @property
    def challenge_method(self):
        return self.setting('auth', 'challenge_method', default='getChallenge')

    @property
    def default_user(self):
        return self.setting('auth', 'default_user', default=None)

    @property
    def reads_require_login(self):
        return bool(self.setting('auth', 'reads_require_login', default=False))

    @property
    def empty_salt(self):
        """How a challenge's present but empty ``salt: []`` is hashed: 'separator' or 'no_salt'."""
        return self.setting('auth', 'empty_salt', default='separator')

    @property
    def nonce_reuse(self):
        return bool(self.setting('auth', 'nonce_reuse', default=True))

    @property
    def header_key(self):
        return self.setting('response', 'header_key', default='header')

    @property
    def data_key(self):
        return self.setting('response', 'data_key', default='data')

    @property
    def status_ok(self):
        return self.setting('response', 'status_ok', default=0)

    @property
    def statuses(self):
        return dict(self.setting('response', 'statuses', default={}) or {})

    @property
    def relogin_statuses(self):
        return tuple(self.setting('response', 'relogin_statuses', default=[]) or ())

    @property
    def busy_http_status(self):
        return int(self.setting('response', 'busy_http_status', default=400))

    @property
    def busy_retry_seconds(self):
        return float(self.setting('response', 'busy_retry_seconds', default=0.25))

    @property
    def busy_retries(self):
        return int(self.setting('response', 'busy_retries', default=20))

    @property
    def method_result_key(self):
        return self.setting('response', 'method_result_key', default='result')

    @property
    def method_results(self):
        return dict(self.setting('response', 'method_results', default={}) or {})

    @property
    def save_method(self):
        return self.setting('persistence', 'save_method', default=None)

    @property
    def reboot_timeout_seconds(self):
        return float(self.setting('persistence', 'reboot_timeout_seconds', default=300))

    @property
    def suffix_order(self):
        """How SICK's firmware letter suffixes order (``firmware.suffix_order``, lowest first), or None: then a
        suffix does not order (``2.4.2.0R == 2.4.2.0``) and the audit only reports it."""
        order = self.setting('firmware', 'suffix_order', default=None)
        if order is None or order == []:
            return None
        if not isinstance(order, list) or not all(isinstance(item, str) and len(item) <= 1 for item in order):
            raise ProfileError('The device profile %s entry `firmware.suffix_order` must be a list of single letters '
                               '(lowest first; \'\' for no suffix), got %r.' % (self.path, order))
        return tuple(order)

    def version(self, text):
        """``text`` as a FirmwareVersion under this profile's suffix order, or None when it is not one."""
        return parse_version(text, self.suffix_order)

    def firmware_version(self, read):
        """``(text, source, parsed, strings)``: the camera's firmware version from the first of VERSION_SOURCES
        whose string parses as a version.

        ``read(field)`` gives the decoded value of a profile field, or None when the camera does not know it; a
        later source is read only when the ones before it are unknown or do not parse, so a camera with a readable
        ``FirmwareVersion`` costs one read. ``source`` is the device name used (``DeviceIdent.Version`` for the
        member), None when no string parses; then ``text`` is the first string read (so a report shows it) and
        ``parsed`` None. ``strings`` holds the exact strings read, by source.
        """
        strings, first = {}, None
        for key, member in VERSION_SOURCES:
            try:
                field = self.field(*key.split('.'))
            except ProfileError:
                continue
            value = read(field)
            if member:
                value = value.get(member) if isinstance(value, dict) else None
            if value is None:
                continue
            source, text = field.name + ('.' + member if member else ''), str(value)
            strings[source] = text
            first = text if first is None else first
            parsed = self.version(text)
            if parsed is not None:
                return text, source, parsed, strings
        return first, None, None, strings

    def covers(self, version):
        """True/False when the version is inside/outside ``applies_to``; None when unknown."""
        version = self.version(version)
        applies = self.data.get('applies_to') or {}
        if version is None:
            return None
        low, high = self.version(applies.get('min_version')), self.version(applies.get('below_version'))
        if low is not None and version < low:
            return False
        return high is None or version < high

    def known_issues(self, version):
        """Known issues (``firmware.known_issues``) that apply to ``version``: dicts with summary and level."""
        version = self.version(version)
        if version is None:
            return []
        found = []
        for issue in self.entry('firmware', 'known_issues', default=None) or []:
            if not isinstance(issue, dict):
                continue
            below, since = self.version(issue.get('below')), self.version(issue.get('from'))
            if below is not None and version >= below:
                continue
            if since is not None and version < since:
                continue
            found.append(dict(issue))
        return found

    def rtsp_url(self, host, port, path):
        """``rtsp://host:port/path`` (no credentials; IPv6 hosts in brackets; exactly one slash before path)."""
        return 'rtsp://%s:%d/%s' % (url_host(str(host)), int(port), str(path or '').lstrip('/'))
