# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The sensingCam device profile: every device-specific name and limit, one YAML file per firmware line.

Variables, file endpoints, envelope keys, ports, RTSP paths and known issues come from profiles/sensingcam/*.yml;
a field engineer fixes a name there, not in the code.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import traceback

from ansible_collections.sensingcam.ming.plugins.module_utils._api import url_host
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
SUPPORTED_PROFILE_FORMATS = (1,)


class ProfileError(Exception):
    """The device profile is missing, unreadable or lacks an entry the module needs."""


_MISSING = object()


def load_yaml_file(path, what):
    """The parsed YAML of ``path``; a ProfileError that names ``what`` (e.g. 'device profile') and the path."""
    if not HAS_YAML:
        raise ProfileError('PyYAML is needed to read the %s %s.' % (what, path))
    try:
        with open(path, 'rb') as handle:
            return yaml.safe_load(handle)
    except (IOError, OSError) as exc:
        raise ProfileError('Cannot read the %s %s: %s.' % (what, path, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        raise ProfileError('The %s %s is not valid YAML: %s' % (what, path, exc)) from None


class DeviceProfile:
    """The device profile: every device-specific name and limit, loaded from YAML."""

    def __init__(self, data, path='<memory>'):
        self.path = path
        if not isinstance(data, dict):
            raise ProfileError('The device profile %s is not a YAML mapping.' % path)
        if data.get('profile_format') not in SUPPORTED_PROFILE_FORMATS:
            raise ProfileError('The device profile %s has profile_format %r; this collection reads format %s.'
                               % (path, data.get('profile_format'),
                                  ', '.join(str(f) for f in SUPPORTED_PROFILE_FORMATS)))
        for section in ('transport', 'auth', 'response', 'identity'):
            if not isinstance(data.get(section), dict):
                raise ProfileError('The device profile %s has no `%s:` section.' % (path, section))
        self.data = data

    @classmethod
    def load(cls, path):
        return cls(load_yaml_file(path, 'device profile'), path)

    # -- generic access ---------------------------------------------------------------------------------------
    def entry(self, *keys, **kwargs):
        """The raw profile node at ``keys`` (e.g. entry('streams', 'primary'))."""
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
        """A scalar setting; entries written as ``{value: x, status: ...}`` give x."""
        default = kwargs.get('default', _MISSING)
        node = self.entry(*keys, default=default)
        if isinstance(node, dict) and 'value' in node:
            return node['value']
        return node

    def variable(self, *keys):
        """The device variable name of the entry at ``keys`` (its ``name:`` field)."""
        node = self.entry(*keys)
        if not isinstance(node, dict) or not isinstance(node.get('name'), str):
            raise ProfileError('The device profile %s entry `%s` has no `name:`.' % (self.path, '.'.join(keys)))
        return node['name']

    def writable(self, *keys):
        return self.entry(*keys).get('access', 'read') == 'read_write'

    def file_endpoint(self, key):
        node = self.entry('files', key)
        if not isinstance(node, dict) or 'path' not in node or 'auth_name' not in node:
            raise ProfileError('The device profile %s entry `files.%s` needs `path:` and `auth_name:`.'
                               % (self.path, key))
        return node['path'], node['auth_name']

    def secret_keys(self):
        """Names in a configuration export whose values are secret, as lower-case fnmatch patterns.

        From ``files.config_export.secret_keys`` (a list, or ``{value: [...], status: ...}``) and the device name
        (``name:``) of every profile entry marked ``secret: true``. Diffs show ``********`` for them.
        """
        listed = self.setting('files', 'config_export', 'secret_keys', default=None) or []
        if isinstance(listed, str) or not isinstance(listed, list):
            raise ProfileError('The device profile %s entry `files.config_export.secret_keys` must be a list of key '
                               'names, not %r.' % (self.path, listed))
        found = set(str(key).lower() for key in listed)

        def walk(node):
            if isinstance(node, dict):
                if node.get('secret') is True and isinstance(node.get('name'), str):
                    found.add(node['name'].lower())
                for child in node.values():
                    walk(child)
            elif isinstance(node, list):
                for child in node:
                    walk(child)
        walk(self.data)
        return sorted(found)

    def location_of(self, name):
        """Dotted profile key where the device name (variable, file path or auth name) ``name`` is set."""
        def walk(node, prefix):
            if isinstance(node, dict):
                for field in ('name', 'path', 'auth_name'):
                    if node.get(field) == name and prefix:
                        return '%s.%s' % (prefix, field)
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

    @property
    def api_prefix(self):
        return '/' + str(self.setting('transport', 'api_prefix', default='/api')).strip('/')

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
    def header_key(self):
        return self.setting('response', 'header_key', default='header')

    @property
    def data_key(self):
        return self.setting('response', 'data_key', default='data')

    @property
    def status_ok(self):
        return self.setting('response', 'status_ok', default=0)

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
        """Known issues (profile ``firmware.known_issues``) that apply to ``version``: list of dicts."""
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

    def rtsp(self, host, version):
        """RTSP availability and URLs (no credentials in them) for a camera on ``version``."""
        since = self.version(self.setting('rtsp', 'available_from_version', default=None))
        current = self.version(version)
        if current is None:
            available, reason = None, 'firmware version unknown'
        elif since is not None and current < since:
            available, reason = False, 'firmware %s is below %s, which is reported to drop RTSP' % (current, since)
        else:
            available, reason = True, None
        port = int(self.setting('rtsp', 'port', default=554))
        paths = self.setting('rtsp', 'paths', default={}) or {}
        netloc = url_host(host)
        urls = {} if available is False else dict(
            (stream, 'rtsp://%s:%d%s' % (netloc, port, path)) for stream, path in sorted(paths.items()))
        return {'available': available, 'reason': reason, 'urls': urls,
                'status': self.entry('rtsp', 'paths', default={}).get('status', 'assumed')}
