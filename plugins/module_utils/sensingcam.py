# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client and module base class for the SICK sensingCam (SEC100 family) REST API.

Every device-specific name (variables, file endpoints, envelope keys, ports) comes from a device profile, a YAML
file per firmware line (profiles/sensingcam/*.yml). A field engineer fixes a name there, not here.

Layers, from the wire up:
- ``challenge_response``/``ha1``: SICK's JSON challenge/response login (not RFC 7616 HTTP Digest).
- ``SensingCamClient``: reads, writes, method calls, file download/upload; maps HTTP and network errors to
  ``SensingCamError`` with a message a plant engineer can act on. Never puts the password in a message.
- ``SensingCamModule``: the Ansible side. Loads the profile, builds the client, and runs the
  read -> compare what the user set -> write on difference -> diff/check mode cycle for settings modules.
- ``audit_camera``/``audit_fleet``: firmware audit of one camera or of many in a thread pool, as plain functions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json
import os
import re
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

from ansible.module_utils.basic import AnsibleModule, env_fallback, missing_required_lib

try:
    import requests
except ImportError:
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

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
# Seconds of the first back-off pause; each further retry doubles it.
RETRY_BACKOFF_SECONDS = 0.5
# Uploads (firmware images) may take far longer than a variable read.
MIN_UPLOAD_TIMEOUT_SECONDS = 120


# --------------------------------------------------------------------------------------------------------------
# Versions
# --------------------------------------------------------------------------------------------------------------

_VERSION_RE = re.compile(
    r'^\s*[vV]?(?P<release>\d+(?:\.\d+)*)'
    r'(?:[-._]?(?P<pre>dev|alpha|a|beta|b|pre|rc|c)[-._]?(?P<pre_number>\d*))?'
    r'(?:\+[0-9A-Za-z.\-]*)?\s*$',
    re.IGNORECASE,
)
_PRE_RELEASE_RANK = {'dev': 0, 'alpha': 1, 'a': 1, 'beta': 2, 'b': 2, 'pre': 3, 'rc': 3, 'c': 3}


class FirmwareVersion:
    """A firmware version that compares like a version, not like a string.

    ``2.10.0 > 2.9.1``; ``2.6 == 2.6.0``; pre-releases sort before their release (``2.6.0-rc1 < 2.6.0``,
    ``dev < alpha < beta < rc``); build metadata after ``+`` is ignored. Raises ValueError on anything else.
    """

    __slots__ = ('text', '_key')

    def __init__(self, text):
        if isinstance(text, FirmwareVersion):
            self.text, self._key = text.text, text._key
            return
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise ValueError('not a version: %r' % (text,))
        match = _VERSION_RE.match(text)
        if not match:
            raise ValueError('not a version: %r' % (text,))
        release = [int(part) for part in match.group('release').split('.')]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        if match.group('pre'):
            pre = (0, _PRE_RELEASE_RANK[match.group('pre').lower()], int(match.group('pre_number') or 0))
        else:
            pre = (1, 0, 0)
        self.text = text.strip()
        self._key = (tuple(release), pre)

    def __eq__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key == other._key

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key < other._key

    def __le__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key <= other._key

    def __gt__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key > other._key

    def __ge__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key >= other._key

    def __hash__(self):
        return hash(self._key)

    def __str__(self):
        return self.text

    def __repr__(self):
        return 'FirmwareVersion(%r)' % self.text


def _as_version(value):
    if isinstance(value, FirmwareVersion):
        return value
    try:
        return FirmwareVersion(value)
    except ValueError:
        return None


def parse_version(text):
    """Return a FirmwareVersion, or None when ``text`` is not a version."""
    if text is None:
        return None
    return _as_version(text)


# --------------------------------------------------------------------------------------------------------------
# SICK challenge/response login
# --------------------------------------------------------------------------------------------------------------

def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    return hashlib.sha256(data).hexdigest()


def ha1(user, realm, password, salt=None):
    """HA1 = sha256("user:realm:password"), or sha256("user:realm:password:<salt>") when the device sent a salt.

    The salt arrives as a list of byte values; its bytes are appended as they are (latin-1: one char per byte),
    as SICK's own Lua client does with ``string.char``.
    """
    data = ('%s:%s:%s' % (user, realm, password)).encode('utf-8')
    if salt:
        data += b':' + bytes(bytearray(salt))
    return sha256_hex(data)


def challenge_response(user, realm, password, nonce, name, salt=None, method='POST'):
    """response = sha256("HA1:nonce:HA2") with HA2 = sha256("POST:<name>")."""
    ha2 = sha256_hex('%s:%s' % (method, name))
    return sha256_hex('%s:%s:%s' % (ha1(user, realm, password, salt), nonce, ha2))


# --------------------------------------------------------------------------------------------------------------
# Device profile
# --------------------------------------------------------------------------------------------------------------

class ProfileError(Exception):
    """The device profile is missing, unreadable or lacks an entry the module needs."""


_MISSING = object()


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
        if not HAS_YAML:
            raise ProfileError('PyYAML is needed to read the device profile %s.' % path)
        try:
            with open(path, 'rb') as handle:
                data = yaml.safe_load(handle)
        except (IOError, OSError) as exc:
            raise ProfileError('Cannot read the device profile %s: %s.' % (path, exc.strerror or exc)) from None
        except yaml.YAMLError as exc:
            raise ProfileError('The device profile %s is not valid YAML: %s' % (path, exc)) from None
        return cls(data, path)

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

    def covers(self, version):
        """True/False when the version is inside/outside ``applies_to``; None when unknown."""
        version = parse_version(version)
        applies = self.data.get('applies_to') or {}
        if version is None:
            return None
        low, high = parse_version(applies.get('min_version')), parse_version(applies.get('below_version'))
        if low is not None and version < low:
            return False
        return high is None or version < high

    def known_issues(self, version):
        """Known issues (profile ``firmware.known_issues``) that apply to ``version``: list of dicts."""
        version = parse_version(version)
        if version is None:
            return []
        found = []
        for issue in self.entry('firmware', 'known_issues', default=None) or []:
            if not isinstance(issue, dict):
                continue
            below, since = parse_version(issue.get('below')), parse_version(issue.get('from'))
            if below is not None and version >= below:
                continue
            if since is not None and version < since:
                continue
            found.append(dict(issue))
        return found

    def rtsp(self, host, version):
        """RTSP availability and URLs (no credentials in them) for a camera on ``version``."""
        since = parse_version(self.setting('rtsp', 'available_from_version', default=None))
        current = parse_version(version)
        if current is None:
            available, reason = None, 'firmware version unknown'
        elif since is not None and current < since:
            available, reason = False, 'firmware %s is below %s, which is reported to drop RTSP' % (current, since)
        else:
            available, reason = True, None
        port = int(self.setting('rtsp', 'port', default=554))
        paths = self.setting('rtsp', 'paths', default={}) or {}
        netloc = '[%s]' % host if ':' in host and not host.startswith('[') else host
        urls = {} if available is False else dict(
            (stream, 'rtsp://%s:%d%s' % (netloc, port, path)) for stream, path in sorted(paths.items()))
        return {'available': available, 'reason': reason, 'urls': urls,
                'status': self.entry('rtsp', 'paths', default={}).get('status', 'assumed')}


# --------------------------------------------------------------------------------------------------------------
# HTTP client
# --------------------------------------------------------------------------------------------------------------

class SensingCamError(Exception):
    """An error talking to the camera; ``str()`` is a message for a plant engineer, without secrets.

    ``kind`` is one of: auth, forbidden, not_found, timeout, unreachable, tls, server, http, device, protocol,
    config.
    """

    def __init__(self, message, kind='error', status_code=None):
        super(SensingCamError, self).__init__(message)
        self.message = message
        self.kind = kind
        self.status_code = status_code


_ERRNO_RE = re.compile(r'\[Errno -?\d+\] ([^\'")]+)')


def _network_reason(exc):
    text = str(exc)
    match = _ERRNO_RE.search(text)
    if match:
        return match.group(1).strip().rstrip('.')
    if 'Name or service not known' in text or 'getaddrinfo failed' in text:
        return 'host name not known'
    return type(exc).__name__


class SensingCamClient:
    """One camera. ``session`` is anything with requests.Session's ``request()`` (tests pass a fake)."""

    def __init__(self, host, profile, port=None, use_tls=False, validate_certs=True, ca_path=None,
                 username=None, password=None, timeout=10, retries=2, session=None,
                 backoff=RETRY_BACKOFF_SECONDS, sleep=None):
        self.host = host
        self.profile = profile
        self.use_tls = use_tls
        self.port = int(port) if port else (profile.https_port if use_tls else profile.http_port)
        self.username = username if username else profile.default_user
        self.password = password
        self.timeout = timeout
        self.retries = max(0, int(retries or 0))
        self.backoff = backoff
        self.sleep = sleep or time.sleep
        self.verify = ca_path if ca_path else validate_certs
        netloc = '[%s]' % host if ':' in host and not host.startswith('[') else host
        self.base_url = '%s://%s:%d' % ('https' if use_tls else 'http', netloc, self.port)
        if session is None:
            if not HAS_REQUESTS:
                raise SensingCamError('The Python library requests is needed to talk to the camera.', 'config')
            session = requests.Session()
        self.session = session

    # -- plumbing ---------------------------------------------------------------------------------------------
    def api_path(self, name):
        return '%s/%s' % (self.profile.api_prefix.rstrip('/'), name)

    def _send(self, method, path, name, what, idempotent, build=None, timeout=None):
        """One HTTP exchange; idempotent ones are retried with exponential back-off on network errors only.

        ``build`` returns the request keyword arguments and is called again for every attempt, so an
        authenticated request gets a fresh challenge (nonces are single-use).
        """
        attempts = 1 + self.retries if idempotent else 1
        url = self.base_url + path
        for attempt in range(attempts):
            kwargs = build() if build else {}
            try:
                response = self.session.request(method, url, timeout=timeout or self.timeout, verify=self.verify,
                                                **kwargs)
            except requests.exceptions.SSLError as exc:
                raise SensingCamError(
                    'TLS handshake with the camera at %s failed while trying to %s (%s). Give the CA that signed '
                    "the camera's certificate in ca_path, or set use_tls: false for a camera without HTTPS."
                    % (self.base_url, what, _network_reason(exc)), 'tls') from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as exc:
                if isinstance(exc, requests.exceptions.Timeout):
                    error = SensingCamError(
                        'The camera at %s did not answer within %s s while trying to %s. It may be rebooting, '
                        'overloaded, or the network drops the traffic; raise `timeout` if the link is slow.'
                        % (self.base_url, timeout or self.timeout, what), 'timeout')
                else:
                    error = SensingCamError(
                        'Cannot reach the camera at %s to %s (%s). Check the address, the port, that the camera '
                        'is powered and on this network, and use_tls.' % (self.base_url, what, _network_reason(exc)),
                        'unreachable')
                if attempt + 1 < attempts:
                    self.sleep(self.backoff * (2 ** attempt))
                    continue
                raise error from exc
            self._check_status(response, name, path, what)
            return response
        raise SensingCamError('no attempt made to %s' % what, 'config')  # pragma: no cover (attempts >= 1)

    def _check_status(self, response, name, path, what):
        code = response.status_code
        if code < 400:
            return
        if code == 401:
            raise SensingCamError(
                "The camera at %s refused the login of user '%s' (HTTP 401) while trying to %s: wrong user name "
                'or password. Check the username and password options.' % (self.base_url, self.username, what),
                'auth', code)
        if code == 403:
            message = ("User '%s' is not allowed to %s on the camera at %s (HTTP 403): its user level is too low. "
                       'Use an account with a higher level (for example the Service level).')
            raise SensingCamError(message % (self.username, what, self.base_url), 'forbidden', code)
        if code == 404:
            key = self.profile.location_of(name)
            where = ('fix `%s` in the device profile %s' % (key, self.profile.path) if key
                     else 'check the device profile %s' % self.profile.path)
            raise SensingCamError(
                "The camera at %s does not know '%s' (HTTP 404 on %s): this firmware uses another name for it; %s."
                % (self.base_url, name, path, where), 'not_found', code)
        if code >= 500:
            message = ('The camera at %s failed while trying to %s (HTTP %d %s). Try again later; if it persists, '
                       "check the camera's log or power-cycle it.")
            raise SensingCamError(message % (self.base_url, what, code, getattr(response, 'reason', '') or ''),
                                  'server', code)
        raise SensingCamError('The camera at %s answered HTTP %d %s while trying to %s.'
                              % (self.base_url, code, getattr(response, 'reason', '') or '', what), 'http', code)

    def _json(self, response, what):
        try:
            return json.loads(response.content)
        except (TypeError, ValueError):
            raise SensingCamError('The reply of the camera at %s to %s is not JSON.' % (self.base_url, what),
                                  'protocol') from None

    def _envelope_data(self, body, what):
        """Check the reply envelope's status and return its data part."""
        if not isinstance(body, dict):
            raise SensingCamError('The reply of the camera at %s to %s is not a JSON object.' % (self.base_url, what),
                                  'protocol')
        header = body.get(self.profile.header_key)
        if isinstance(header, dict) and 'status' in header:
            ok = self.profile.status_ok
            if header['status'] != ok and str(header['status']) != str(ok):
                raise SensingCamError('The camera at %s refused to %s: status %s (%s).'
                                      % (self.base_url, what, header['status'], header.get('message', '')),
                                      'device')
        return body.get(self.profile.data_key)

    # -- login ------------------------------------------------------------------------------------------------
    def challenge(self):
        method = self.profile.challenge_method
        what = 'get a login challenge for user %s' % self.username
        response = self._send('POST', self.api_path(method), method, what, idempotent=True,
                              build=lambda: {'json': {'data': {'user': self.username}}})
        body = self._json(response, what)
        challenge = body.get('challenge') if isinstance(body, dict) else None
        if challenge is None and isinstance(body, dict) and isinstance(body.get(self.profile.data_key), dict):
            challenge = body[self.profile.data_key].get('challenge')
        if not isinstance(challenge, dict) or not all(k in challenge for k in ('realm', 'nonce', 'opaque')):
            raise SensingCamError('The camera at %s sent no usable login challenge (realm, nonce, opaque).'
                                  % self.base_url, 'protocol')
        return challenge

    def auth_header(self, auth_name):
        """A fresh login header for one request to ``auth_name`` (one challenge each: nonces are single-use)."""
        if self.password is None:
            raise SensingCamError("The password option is needed to log in to the camera at %s as '%s'."
                                  % (self.base_url, self.username), 'config')
        challenge = self.challenge()
        return {
            'user': self.username,
            'response': challenge_response(self.username, challenge['realm'], self.password, challenge['nonce'],
                                           auth_name, salt=challenge.get('salt')),
            'realm': challenge['realm'],
            'opaque': challenge['opaque'],
            'nonce': challenge['nonce'],
        }

    # -- variables and methods --------------------------------------------------------------------------------
    def read(self, name):
        what = "read '%s'" % name
        if self.profile.reads_require_login:
            response = self._send('POST', self.api_path(name), name, what, idempotent=True,
                                  build=lambda: {'json': {'header': self.auth_header(name)}})
        else:
            response = self._send('GET', self.api_path(name), name, what, idempotent=True)
        data = self._envelope_data(self._json(response, what), what)
        if isinstance(data, dict) and name in data:
            return data[name]
        raise SensingCamError("The reply of the camera at %s to %s holds no '%s' under '%s'; check `response:` "
                              'in the device profile %s.' % (self.base_url, what, name, self.profile.data_key,
                                                             self.profile.path), 'protocol')

    def write(self, name, value):
        return self.call(name, {name: value}, what="change '%s'" % name)

    def call(self, name, data=None, what=None):
        """Authenticated POST /api/<name>; not retried (a write is sent at most once)."""
        what = what or "call '%s'" % name
        header = self.auth_header(name)
        body = {'header': header}
        if data is not None:
            body['data'] = data
        response = self._send('POST', self.api_path(name), name, what, idempotent=False,
                              build=lambda: {'json': body})
        if not response.content:
            return None
        return self._envelope_data(self._json(response, what), what)

    # -- files ------------------------------------------------------------------------------------------------
    def download(self, key):
        """Bytes of the file endpoint ``files.<key>`` (authenticated JSON POST)."""
        path, auth_name = self.profile.file_endpoint(key)
        what = 'download %s' % path
        response = self._send('POST', path, path, what, idempotent=True,
                              build=lambda: {'json': {'header': self.auth_header(auth_name)}})
        return response.content

    def upload(self, key, content, filename, timeout=None):
        """multipart/form-data upload to ``files.<key>``: part ``header`` (JSON login) and part ``file``.

        Sent exactly once, never retried: a half-sent firmware image must not be followed by another.
        """
        path, auth_name = self.profile.file_endpoint(key)
        what = 'upload %s to %s' % (filename, path)
        header = self.auth_header(auth_name)
        files = {
            'header': (None, json.dumps(header), 'application/json'),
            'file': (filename, content, 'application/octet-stream'),
        }
        response = self._send('POST', path, path, what, idempotent=False, build=lambda: {'files': files},
                              timeout=max(timeout or self.timeout, MIN_UPLOAD_TIMEOUT_SECONDS))
        if not response.content:
            return None
        try:
            body = json.loads(response.content)
        except (TypeError, ValueError):
            return None
        return self._envelope_data(body, what) if isinstance(body, dict) else body


# --------------------------------------------------------------------------------------------------------------
# Settings helpers shared by modules
# --------------------------------------------------------------------------------------------------------------

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


def same_value(wanted, current):
    """Compare a wanted option value with what the device reports (device may send numbers as strings)."""
    if isinstance(wanted, bool) or isinstance(current, bool):
        if isinstance(current, str):
            current = current.strip().lower() in ('1', 'true', 'yes', 'on')
        return bool(wanted) == bool(current) if current is not None else False
    if isinstance(wanted, (int, float)) and isinstance(current, str):
        try:
            return float(current) == float(wanted)
        except ValueError:
            return False
    if isinstance(wanted, list) and isinstance(current, (list, tuple)):
        return len(wanted) == len(current) and all(same_value(wanted[i], current[i]) for i in range(len(wanted)))
    return wanted == current


def _safe_path_part(text):
    return re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('._') or 'camera'


def file_sha256(path, chunk_size=1024 * 1024):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Firmware archive and audit
# --------------------------------------------------------------------------------------------------------------

def load_firmware_archive(directory, device_family=None):
    """Entries of ``<directory>/manifest.yml`` (``firmware: [{version, file, sha256, device_family}]``).

    Returns a list of dicts with ``version`` (str), ``parsed`` (FirmwareVersion), ``path`` (absolute),
    ``sha256`` and ``device_family``, restricted to ``device_family`` when given, newest first.
    Raises ProfileError with a readable message when the manifest is missing or malformed.
    """
    manifest = os.path.join(directory, 'manifest.yml')
    if not HAS_YAML:
        raise ProfileError('PyYAML is needed to read the firmware manifest %s.' % manifest)
    try:
        with open(manifest, 'rb') as handle:
            data = yaml.safe_load(handle)
    except (IOError, OSError) as exc:
        raise ProfileError('Cannot read the firmware manifest %s: %s.' % (manifest, exc.strerror or exc)) from None
    except yaml.YAMLError as exc:
        raise ProfileError('The firmware manifest %s is not valid YAML: %s' % (manifest, exc)) from None
    items = data.get('firmware') if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProfileError('The firmware manifest %s needs a `firmware:` list.' % manifest)
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not all(item.get(k) for k in ('version', 'file', 'sha256')):
            raise ProfileError('Entry %d of the firmware manifest %s needs version, file and sha256.'
                               % (index, manifest))
        parsed = parse_version(str(item['version']))
        if parsed is None:
            raise ProfileError('Entry %d of the firmware manifest %s has an unreadable version %r.'
                               % (index, manifest, item['version']))
        family = item.get('device_family')
        if device_family and family and family != device_family:
            continue
        entries.append({
            'version': str(item['version']),
            'parsed': parsed,
            'file': item['file'],
            'path': os.path.join(directory, item['file']),
            'sha256': str(item['sha256']).lower(),
            'device_family': family,
        })
    entries.sort(key=lambda e: e['parsed'], reverse=True)
    return entries


def firmware_verdict(version, minimum_version):
    """approved / below_minimum / unknown (no version or no minimum to judge by)."""
    current, minimum = parse_version(version), parse_version(minimum_version)
    if current is None or minimum is None:
        return 'unknown'
    return 'approved' if current >= minimum else 'below_minimum'


def audit_camera(camera, profile, minimum_version=None, newest_available=None, session=None):
    """Firmware audit of one camera; never raises for the camera's own faults.

    ``camera`` holds client options: host (required), name, port, use_tls, validate_certs, ca_path, username,
    password, timeout, retries. Returns ``{name, host, reachable, version, verdict, known_issues,
    update_available, error}``.
    """
    result = {'name': camera.get('name') or camera['host'], 'host': camera['host'], 'reachable': False,
              'version': None, 'verdict': 'unreachable', 'known_issues': [], 'update_available': None,
              'error': None}
    client = None
    try:
        client = SensingCamClient(
            camera['host'], profile, port=camera.get('port'), use_tls=camera.get('use_tls') or False,
            validate_certs=camera.get('validate_certs', True) is not False, ca_path=camera.get('ca_path'),
            username=camera.get('username'), password=camera.get('password'),
            timeout=camera.get('timeout') or 10, retries=camera.get('retries', 2), session=session)
        version = client.read(profile.variable('identity', 'firmware_version'))
    except SensingCamError as exc:
        result['error'] = _scrub(exc.message, camera.get('password'))
        if exc.kind not in ('timeout', 'unreachable', 'tls'):
            result['reachable'] = True
            result['verdict'] = 'unknown'
        return result
    except ProfileError as exc:
        result['error'] = str(exc)
        result['verdict'] = 'unknown'
        return result
    finally:
        if client is not None and session is None:
            client.session.close()
    result['reachable'] = True
    result['version'] = None if version is None else str(version)
    result['verdict'] = firmware_verdict(result['version'], minimum_version)
    result['known_issues'] = profile.known_issues(result['version'])
    current, newest = parse_version(result['version']), parse_version(newest_available)
    if current is not None and newest is not None:
        result['update_available'] = newest > current
    return result


def audit_fleet(cameras, profile, minimum_version=None, newest_available=None, parallel=16, session_factory=None):
    """``audit_camera`` for every camera, ``parallel`` at a time; results in the order of ``cameras``."""
    def one(camera):
        return audit_camera(camera, profile, minimum_version, newest_available,
                            session=session_factory(camera) if session_factory else None)

    workers = max(1, min(int(parallel or 1), len(cameras) or 1))
    if workers == 1:
        return [one(camera) for camera in cameras]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, cameras))


def _scrub(message, password):
    """Belt and braces: a password never reaches a message, even if some library echoed it."""
    if password and len(password) >= 3 and message:
        return message.replace(password, '********')
    return message


# --------------------------------------------------------------------------------------------------------------
# Ansible side
# --------------------------------------------------------------------------------------------------------------

def connection_argument_spec():
    """Connection options shared by every sensingcam module (documented in doc_fragments/sensingcam.py)."""
    return dict(
        host=dict(type='str', required=True),
        port=dict(type='int'),
        use_tls=dict(type='bool', default=False),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        timeout=dict(type='float', default=10),
        retries=dict(type='int', default=2),
        profile=dict(type='path', fallback=(env_fallback, [PROFILE_ENV_VAR])),
    )


class SensingCamModule:
    """Base class: a concrete module sets the class attributes and implements a few methods.

    Settings modules (config, stream, event recording) set ``settings`` (option names it manages) and implement
    ``read_settings()`` -> {option: current value} and ``write_settings(wanted, current)``; ``run()`` does the
    rest. Other modules override ``run()`` and use ``self.client``/``self.profile``/``self.exit``/``self.fail``.
    """

    argument_spec = {}
    settings = ()
    supports_check_mode = True
    mutually_exclusive = None
    required_if = None
    required_one_of = None
    required_together = None
    connect = True

    def __init__(self, session=None):
        spec = connection_argument_spec()
        spec.update(self.argument_spec)
        self.module = AnsibleModule(
            argument_spec=spec, supports_check_mode=self.supports_check_mode,
            mutually_exclusive=self.mutually_exclusive, required_if=self.required_if,
            required_one_of=self.required_one_of, required_together=self.required_together)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.result = {'changed': False}
        if not HAS_REQUESTS:
            self.module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
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
        self.client = None
        if self.connect and self.params.get('host'):
            self.client = self.make_client(self.params, session=session)

    # -- helpers ----------------------------------------------------------------------------------------------
    def make_client(self, options, session=None):
        try:
            return SensingCamClient(
                options['host'], self.profile, port=options.get('port'), use_tls=options.get('use_tls') or False,
                validate_certs=options.get('validate_certs', True) is not False, ca_path=options.get('ca_path'),
                username=options.get('username'), password=options.get('password'),
                timeout=options.get('timeout') or 10, retries=options.get('retries', 2), session=session)
        except SensingCamError as exc:
            self.fail(exc.message)

    def fail(self, msg, **kwargs):
        msg = _scrub(msg, self.params.get('password'))
        result = dict(self.result)
        result.update(kwargs)
        result.pop('failed', None)
        result['msg'] = msg
        self.module.fail_json(**result)

    def exit(self, **kwargs):
        self.result.update(kwargs)
        self.module.exit_json(**self.result)

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

    def wanted_settings(self):
        """The options of ``settings`` the user set (None means: leave as it is)."""
        return dict((k, self.params[k]) for k in self.settings if self.params.get(k) is not None)

    def validate(self, wanted):
        """Hook: fail on values the profile does not allow."""

    def read_settings(self):
        raise NotImplementedError

    def check_writable(self, differing):
        """Hook: fail when an option to change maps to a variable the profile marks read-only."""

    def write_settings(self, wanted, current):
        raise NotImplementedError

    # -- the settings cycle -----------------------------------------------------------------------------------
    def run(self):
        try:
            self.run_settings()
        except SensingCamError as exc:
            self.fail(exc.message)
        except ProfileError as exc:
            self.fail(str(exc))

    def run_settings(self):
        wanted = self.wanted_settings()
        self.validate(wanted)
        before = self.read_settings()
        differing = dict((k, v) for k, v in wanted.items() if not same_value(v, before.get(k)))
        after = dict(before)
        after.update(wanted)
        if differing:
            self.check_writable(differing)
        if differing and not self.check_mode:
            self.write_settings(differing, before)
            reread = self.read_settings()
            mismatch = sorted(k for k in differing if not same_value(differing[k], reread.get(k)))
            if mismatch:
                self.module.warn('The camera accepted the change but reports other values for: %s. It may round '
                                 'or restrict them.' % ', '.join(mismatch))
            after = reread
        self.result['changed'] = bool(differing)
        self.result['changed_settings'] = sorted(differing)
        self.result['settings'] = after
        if self.module._diff:
            self.result['diff'] = {'before': before, 'after': after}
        self.module.exit_json(**self.result)


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

    def read_settings(self):
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

    def check_writable(self, differing):
        self.require_writable(*self.entry_keys())

    def write_settings(self, wanted, current):
        fields = self.fields()
        new = dict(self.device_value)
        for option, value in wanted.items():
            new[fields[option]] = value
        self.client.write(self.variable(*self.entry_keys()), new)


class VariableSettingsModule(SensingCamModule):
    """Settings kept in one device variable each (device name, NTP, time zone).

    ``variables`` maps option -> profile keys, e.g. ``{'time_zone': ('time', 'time_zone')}``. Only the options the
    user set are read and compared.
    """

    variables = {}

    def read_settings(self):
        return dict((option, self.client.read(self.variable(*self.variables[option])))
                    for option in sorted(self.wanted_settings()))

    def check_writable(self, differing):
        for option in sorted(differing):
            self.require_writable(*self.variables[option])

    def write_settings(self, wanted, current):
        for option in sorted(wanted):
            self.client.write(self.variable(*self.variables[option]), wanted[option])


class CameraInfoModule(SensingCamModule):
    """Reads everything the profile names; a name the firmware does not know becomes a warning, not a failure."""

    STREAM_OPTIONS = ('codec', 'width', 'height', 'fps', 'bitrate_kbps', 'gop')

    def read_optional(self, *keys):
        name = self.variable(*keys)
        try:
            return self.client.read(name)
        except SensingCamError as exc:
            if exc.kind != 'not_found':
                raise
            self.module.warn(exc.message)
            self.result.setdefault('unsupported', []).append('.'.join(keys))
            return None

    def read_fields(self, keys, options):
        value = self.read_optional(*keys)
        fields = self.profile.entry(*keys).get('fields') or {}
        if not isinstance(value, dict):
            return None
        return dict((option, value.get(fields[option])) for option in options if option in fields)

    def run(self):
        try:
            self.gather(set(self.params['gather']))
        except SensingCamError as exc:
            self.fail(exc.message)
        except ProfileError as exc:
            self.fail(str(exc))

    def gather(self, subsets):
        profile, host = self.profile, self.params['host']
        self.result['unsupported'] = []
        version = self.client.read(self.variable('identity', 'firmware_version'))
        version = None if version is None else str(version)
        identity = {'firmware_version': version}
        if 'identity' in subsets:
            for key in ('serial_number', 'order_number', 'device_type', 'device_name'):
                identity[key] = self.read_optional('identity', key)
        self.result['identity'] = identity
        covers = profile.covers(version)
        self.result['profile'] = {'name': profile.name, 'path': profile.path, 'covers_firmware': covers}
        if covers is False:
            self.module.warn('The device profile %s is meant for firmware %s up to below %s, but the camera runs %s; '
                             'use the profile of that firmware line.'
                             % (profile.path, profile.data.get('applies_to', {}).get('min_version'),
                                profile.data.get('applies_to', {}).get('below_version'), version))
        if 'streams' in subsets:
            streams = [stream for stream in ('primary', 'secondary')
                       if isinstance(profile.entry('streams', stream, default=None), dict)]
            self.result['streams'] = dict(
                (stream, self.read_fields(('streams', stream), self.STREAM_OPTIONS)) for stream in streams)
        if 'time' in subsets:
            self.result['time'] = dict((key, self.read_optional('time', key))
                                       for key in ('device_time', 'ntp_enabled', 'ntp_servers', 'time_zone'))
        if 'event_recording' in subsets:
            options = sorted((profile.entry('event_recording').get('fields') or {}).keys())
            settings = self.read_fields(('event_recording',), options)
            self.result['event_recording'] = {
                'settings': settings,
                'buffer_usage': self.read_optional('event_recording', 'buffer_usage'),
            }
        if 'rtsp' in subsets:
            self.result['rtsp'] = profile.rtsp(host, version)
            ws_port = int(profile.setting('transport', 'websocket_port', default=8888))
            ws_path = profile.setting('transport', 'websocket_path', default='/ws')
            netloc = '[%s]' % host if ':' in host and not host.startswith('[') else host
            scheme = 'wss' if self.params['use_tls'] else 'ws'
            self.result['websocket_url'] = '%s://%s:%d%s' % (scheme, netloc, ws_port, ws_path)
        self.result['known_issues'] = profile.known_issues(version)
        self.module.exit_json(**self.result)


FLEET_CAMERA_OPTIONS = ('port', 'use_tls', 'validate_certs', 'ca_path', 'username', 'password', 'timeout', 'retries')


def fleet_camera_spec():
    """Suboptions of ``cameras`` in sensingcam_firmware_info: unset ones inherit the module's top-level value."""
    return dict(
        name=dict(type='str'),
        host=dict(type='str', required=True),
        port=dict(type='int'),
        use_tls=dict(type='bool'),
        validate_certs=dict(type='bool'),
        ca_path=dict(type='path'),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        timeout=dict(type='float'),
        retries=dict(type='int'),
    )


class FirmwareAuditModule(SensingCamModule):
    """Firmware audit of one camera (``host``) or of a fleet (``cameras``, ``parallel`` at a time)."""

    connect = False

    def run(self):
        params = self.params
        newest = None
        if params.get('archive'):
            try:
                archive = load_firmware_archive(params['archive'], self.profile.device_family)
            except ProfileError as exc:
                self.fail(str(exc))
            newest = archive[0]['version'] if archive else None
            self.result['newest_available'] = newest
        minimum = params.get('minimum_version')
        if minimum is not None and parse_version(minimum) is None:
            self.fail('minimum_version %r is not a version number.' % minimum)
        if params.get('cameras') is not None:
            cameras = []
            for camera in params['cameras']:
                merged = dict(camera)
                for key in FLEET_CAMERA_OPTIONS:
                    if merged.get(key) is None:
                        merged[key] = params.get(key)
                cameras.append(merged)
            results = audit_fleet(cameras, self.profile, minimum, newest, parallel=params['parallel'])
            summary = dict((verdict, 0) for verdict in ('approved', 'below_minimum', 'unknown', 'unreachable'))
            for item in results:
                summary[item['verdict']] = summary.get(item['verdict'], 0) + 1
            summary['total'] = len(results)
            self.exit(cameras=results, summary=summary)
        item = audit_camera(params, self.profile, minimum, newest)
        item.pop('host', None)
        self.exit(**item)


FIRMWARE_BUSY_STATES = ('receiving', 'verifying', 'rebooting')


class FirmwareUpdateModule(SensingCamModule):
    """Upload one firmware image from the local archive, once, then wait for the camera to come back on it."""

    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    def run(self):
        try:
            self.update()
        except SensingCamError as exc:
            self.fail(exc.message)
        except ProfileError as exc:
            self.fail(str(exc))

    def read_update_state(self):
        try:
            name = self.profile.variable('firmware', 'state')
        except ProfileError:
            return None
        try:
            state = self.client.read(name)
        except SensingCamError as exc:
            if exc.kind == 'not_found':
                return None
            raise
        return None if state is None else str(state).lower()

    def update(self):
        params, profile = self.params, self.profile
        target = parse_version(params['version'])
        if target is None:
            self.fail('version %r is not a version number.' % params['version'])
        archive = load_firmware_archive(params['archive'], profile.device_family)
        entry = next((e for e in archive if e['parsed'] == target), None)
        if entry is None:
            self.fail('Firmware %s for %s is not in the archive %s (it has: %s).'
                      % (target, profile.device_family, params['archive'],
                         ', '.join(e['version'] for e in archive) or 'nothing for this device family'))
        version_name = self.variable('identity', 'firmware_version')
        current_text = self.client.read(version_name)
        current = parse_version(current_text)
        if current is None:
            self.fail('The camera reports firmware %r, which is not a version number; not updating.' % (current_text,))
        self.result.update(previous_version=str(current_text), version=str(current_text),
                           target_version=entry['version'])
        if current == target:
            self.exit(changed=False, msg='The camera already runs firmware %s.' % current_text)
        if target < current and not params['allow_downgrade']:
            self.fail('Firmware %s is older than the %s the camera runs; set allow_downgrade: true to go back.'
                      % (entry['version'], current_text))
        if not os.path.isfile(entry['path']):
            self.fail('The firmware file %s named in the manifest is missing; nothing was sent, the camera stays on %s.'
                      % (entry['path'], current_text))
        digest = file_sha256(entry['path'])
        if digest != entry['sha256']:
            self.fail('The SHA-256 of %s is %s but the manifest says %s: the file is damaged or not the one released. '
                      'Nothing was sent; the camera stays on %s.' % (entry['path'], digest, entry['sha256'],
                                                                     current_text))
        if profile.covers(entry['version']) is False:
            self.module.warn('Firmware %s is outside the device profile %s; use the profile of that firmware line '
                             'for this camera afterwards.' % (entry['version'], profile.path))
        verb = 'downgrade' if target < current else 'upgrade'
        if self.module._diff:
            self.result['diff'] = {'before': {'firmware_version': str(current_text)},
                                   'after': {'firmware_version': entry['version']}}
        if self.check_mode:
            self.exit(changed=True, msg='Would %s the camera from %s to %s.' % (verb, current_text, entry['version']))
        state = self.read_update_state()
        if state in FIRMWARE_BUSY_STATES:
            self.fail('The camera reports a firmware update already in progress (%s); not starting another. '
                      'It stays on %s until that one finishes.' % (state, current_text))
        try:
            with open(entry['path'], 'rb') as image:
                self.client.upload('firmware_upload', image, os.path.basename(entry['path']))
        except SensingCamError as exc:
            self.fail('The firmware upload failed, so the camera stays on %s (no retry in this run; fix the cause and '
                      'run again): %s' % (current_text, exc.message), changed=False)
        self.wait_for_version(target, entry['version'], current_text)

    def wait_for_version(self, target, target_text, old_text):
        timeout = self.params.get('reboot_timeout')
        if timeout is None:
            timeout = int(self.profile.setting('firmware', 'reboot_timeout_seconds', default=300))
        interval = max(0.0, float(self.params['poll_interval']))
        version_name = self.variable('identity', 'firmware_version')
        self.client.retries = 0
        start = self.clock()
        went_away, last_error, last_version = False, None, None
        while True:
            self.sleep(interval)
            try:
                state = self.read_update_state()
                if state == 'failed':
                    self.fail('The camera reports that the firmware update to %s failed (FirmwareUpdateState failed); '
                              'it stays on %s.' % (target_text, old_text), changed=True)
                if state == 'rebooting':
                    went_away = True
                version = self.client.read(version_name)
            except SensingCamError as exc:
                if exc.kind not in ('timeout', 'unreachable', 'server', 'tls'):
                    raise
                went_away, last_error = True, exc.message
            else:
                last_version, last_error = version, None
                parsed = parse_version(version)
                if parsed == target and state not in FIRMWARE_BUSY_STATES:
                    self.exit(changed=True, version=str(version),
                              elapsed_seconds=round(self.clock() - start, 1),
                              msg='Updated the camera from %s to %s.' % (old_text, version))
                if went_away and state not in FIRMWARE_BUSY_STATES:
                    self.fail('The camera came back after the update but still runs %s, not %s: the update did not '
                              'take; it stays on %s.' % (version, target_text, old_text), changed=True,
                              version=str(version))
            if self.clock() - start >= timeout:
                if last_error is not None:
                    self.fail('The camera did not answer again within %s s after the firmware upload (%s). It may '
                              'still be installing; check it with sensingcam_firmware_info before doing anything '
                              'else. Until it reports %s, consider it on %s.'
                              % (timeout, last_error, target_text, old_text), changed=True)
                self.fail('After %s s the camera still reports firmware %s, not %s: the update did not take; it stays '
                          'on %s.' % (timeout, last_version, target_text, old_text), changed=True,
                          version=None if last_version is None else str(last_version))


def _normalized(content):
    """Bytes to compare two configuration exports by: canonical JSON when it is JSON, else the raw bytes."""
    try:
        return json.dumps(json.loads(content), sort_keys=True, separators=(',', ':')).encode('utf-8')
    except (TypeError, ValueError):
        return bytes(content)


def _as_text(content):
    try:
        return content.decode('utf-8')
    except UnicodeDecodeError:
        return '<%d bytes of binary data>' % len(content)


class ConfigBackupModule(SensingCamModule):
    """Export the camera configuration to a file (kept only when it changed) or restore one."""

    def run(self):
        try:
            if self.params['state'] == 'exported':
                self.export()
            else:
                self.restore()
        except SensingCamError as exc:
            self.fail(exc.message)
        except ProfileError as exc:
            self.fail(str(exc))
        except (IOError, OSError) as exc:
            self.fail('Cannot write or read the backup file: %s' % exc)

    def backup_name(self):
        return _safe_path_part(self.params.get('name') or self.params['host'])

    def export(self):
        dest, name = self.params['dest'], self.backup_name()
        content = self.client.download('config_export')
        latest = os.path.join(dest, '%s-latest.json' % name)
        previous = None
        if os.path.exists(latest):
            with open(latest, 'rb') as handle:
                previous = handle.read()
        self.result['latest_file'] = latest
        if previous is not None and _normalized(previous) == _normalized(content):
            self.exit(changed=False, backup_file=os.path.realpath(latest), size=len(content),
                      sha256=sha256_hex(content), msg='The configuration equals the latest backup; no new file.')
        path = os.path.join(dest, '%s-%s.json' % (name, utc_timestamp()))
        counter = 1
        while os.path.exists(path):
            path = os.path.join(dest, '%s-%s-%d.json' % (name, utc_timestamp(), counter))
            counter += 1
        if self.module._diff:
            self.result['diff'] = {'before': '' if previous is None else _as_text(previous),
                                   'after': _as_text(content), 'before_header': latest, 'after_header': path}
        if self.check_mode:
            self.exit(changed=True, backup_file=path, size=len(content), sha256=sha256_hex(content),
                      msg='Would write a new backup %s.' % path)
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o700)
        temporary = path + '.part'
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, 'wb') as handle:
            handle.write(content)
        os.rename(temporary, path)
        link = latest + '.part'
        if os.path.lexists(link):
            os.unlink(link)
        try:
            os.symlink(os.path.basename(path), link)
        except (OSError, NotImplementedError):
            with open(link, 'wb') as handle:
                handle.write(content)
        os.rename(link, latest)
        self.exit(changed=True, backup_file=path, size=len(content), sha256=sha256_hex(content),
                  msg='Wrote the backup %s.' % path)

    def restore(self):
        src = self.params['src']
        with open(src, 'rb') as handle:
            wanted = handle.read()
        current = self.client.download('config_export')
        self.result['src'] = src
        if _normalized(current) == _normalized(wanted):
            self.exit(changed=False, msg='The camera configuration already equals %s.' % src)
        if self.module._diff:
            self.result['diff'] = {'before': _as_text(current), 'after': _as_text(wanted),
                                   'before_header': 'camera %s' % self.params['host'], 'after_header': src}
        if self.check_mode:
            self.exit(changed=True, msg='Would restore the camera configuration from %s.' % src)
        self.client.upload('config_import', wanted, os.path.basename(src))
        after = self.client.download('config_export')
        if _normalized(after) != _normalized(wanted):
            self.module.warn('The camera accepted %s, but its configuration export now differs from that file; '
                             'it may have adjusted some values.' % src)
        self.exit(changed=True, msg='Restored the camera configuration from %s.' % src)


def utc_timestamp(now=None):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))
