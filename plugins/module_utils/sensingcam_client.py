# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client of the SICK sensingCam SEC100 REST API (device profile format 2), on the transport of ``_api``.

Every name and protocol rule comes from the device profile (../shared/reference/sec100.md section 3):

- Reads: ``GET <api_prefix>/<name>`` answers ``data.<name>``, without login. HTTP ``busy_http_status`` (400) means
  busy: reads are retried every ``busy_retry_seconds``, at most ``busy_retries`` times, then kind 'busy'.
- Writes and methods: an authenticated POST ``{"header": <login>, "data": {...}}``; never retried (apart from the
  one resend after a relogin status, when the camera refused the request before acting on it).
- Login: SICK's challenge/response (sick_login). One challenge is fetched and reused while ``auth.nonce_reuse``;
  on a relogin status (4 access denied, 10 invalid challenge) the client fetches one new challenge and sends the
  request once more; a second refusal is kind 'auth'. The salt rule for ``salt: []`` is ``auth.empty_salt``.
- Envelope: HTTP 200 with ``header.status``: 0 ok; 5 not found (kind 'not_found', naming the profile key to fix);
  11 out of connections (kind 'busy'); anything else kind 'device' with the camera's ``header.message``.
- Files: download ``POST <file_download_prefix>/<file>``; upload in chunks of ``upload_chunk_bytes`` to
  ``<file_upload_prefix>/<file>?append=..&finish=..``, each body the JSON login header followed by the raw chunk.

Errors are ``SensingCamError`` (an ``ApiError``) worded for a plant engineer; the password is never in a message
and never on the wire. ASCII-only passwords are accepted (sick_login), checked before any request.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.sensingcam.ming.plugins.module_utils._api import ApiClient, ApiError
from ansible_collections.sensingcam.ming.plugins.module_utils.sick_login import (
    challenge_response,
    is_ascii,
    non_ascii_password_message,
)

# Seconds of the first back-off pause after a network error; each further retry doubles it.
RETRY_BACKOFF_SECONDS = 0.5
# Uploads (firmware images) may take far longer than a variable read.
MIN_UPLOAD_TIMEOUT_SECONDS = 120
# How much of the camera's own header.message goes into our messages.
DEVICE_MESSAGE_LIMIT = 200

KINDS = ('auth', 'forbidden', 'not_found', 'busy', 'timeout', 'unreachable', 'tls', 'server', 'http', 'device',
         'protocol', 'config')

METHOD_RESULT_HINTS = {
    'mode_not_enabled': 'the camera has the mode this method needs switched off (for example event recording or '
                        'snapshot mode); enable it first',
    'busy': 'the camera is busy with an earlier request; try again later',
    'invalid_name': 'the camera does not know the name passed to the method',
}


class SensingCamError(ApiError):
    """An error talking to the camera; ``str()`` is a message for a plant engineer, without secrets.

    ``kind`` is one of: auth, forbidden, not_found, busy, timeout, unreachable, tls, server, http, device,
    protocol, config. ``device_status`` is the envelope's header.status when the camera sent one.
    """

    device_status = None


class _Relogin(Exception):
    """The camera answered a relogin status (4/10) to an authenticated request."""

    def __init__(self, status):
        super(_Relogin, self).__init__(status)
        self.status = status


class SensingCamClient(ApiClient):
    """One camera. Network errors are retried for idempotent requests (``retries``); HTTP 400 (busy) for reads."""

    service = 'camera'
    error_class = SensingCamError
    retry_statuses = ()
    backoff = RETRY_BACKOFF_SECONDS

    def __init__(self, host, profile, port=None, use_tls=False, validate_certs=True, ca_path=None,
                 username=None, password=None, timeout=10, retries=2, backoff=RETRY_BACKOFF_SECONDS, sleep=None,
                 opener=None):
        super(SensingCamClient, self).__init__(
            host, port=port, use_tls=use_tls, validate_certs=validate_certs, ca_path=ca_path, timeout=timeout,
            retries=retries, secrets=[password] if password else (),
            default_port=profile.https_port if use_tls else profile.http_port, backoff=backoff, sleep=sleep,
            opener=opener)
        self.profile = profile
        self.username = username if username else profile.default_user
        self.password = password
        self._challenge = None
        self.challenges_fetched = 0
        if password is not None and not is_ascii(password):  # before any call; the value is never shown
            raise self.error('%s (camera at %s)' % (non_ascii_password_message('the password option'), self.base_url),
                             'config')

    # -- the camera's own wording of errors -------------------------------------------------------------------
    def network_error(self, kind, reason, what, timeout, path):
        if kind == 'tls':
            message = ('TLS handshake with the camera at %s failed while trying to %s (%s). Give the CA that signed '
                       "the camera's certificate in ca_path, or set use_tls: false for a camera without HTTPS."
                       % (self.base_url, what, reason))
        elif kind == 'timeout':
            message = ('The camera at %s did not answer within %s s while trying to %s. It may be rebooting, '
                       'overloaded, or the network drops the traffic; raise `timeout` if the link is slow.'
                       % (self.base_url, timeout, what))
        else:
            message = ('Cannot reach the camera at %s to %s (%s). Check the address, the port, that the camera '
                       'is powered and on this network, and use_tls.' % (self.base_url, what, reason))
        return self.error(message, kind, path=path)

    def _where_to_fix(self, name):
        key = self.profile.location_of(name) if name else None
        if key:
            return 'fix `%s` in the device profile %s' % (key, self.profile.path)
        return 'check the device profile %s' % self.profile.path

    def not_found_error(self, name, signal, path):
        return self.error("The camera at %s does not know '%s' (%s on %s): this firmware uses another name for it; "
                          '%s.' % (self.base_url, name, signal, path, self._where_to_fix(name)),
                          'not_found', path=path)

    def status_error(self, response, what, path, context=None):
        code, reason = response.status_code, response.reason
        if code == self.profile.busy_http_status:
            error = self.error('The camera at %s is busy (HTTP %d) and refused to %s. Try again later; the camera '
                               'handles few requests at a time.' % (self.base_url, code, what), 'busy', code, path)
            return error
        if code == 401:
            return self.error(
                "The camera at %s refused the login of user '%s' (HTTP 401) while trying to %s: wrong user name "
                'or password. Check the username and password options.' % (self.base_url, self.username, what),
                'auth', code, path)
        if code == 403:
            message = ("User '%s' is not allowed to %s on the camera at %s (HTTP 403): its user level is too low. "
                       'Use an account with a higher level (for example the Service level).')
            return self.error(message % (self.username, what, self.base_url), 'forbidden', code, path)
        if code == 404:
            error = self.not_found_error(context or path, 'HTTP 404', path)
            error.status_code = 404
            return error
        if code >= 500:
            message = ('The camera at %s failed while trying to %s (HTTP %d %s). Try again later; if it persists, '
                       "check the camera's log or power-cycle it.")
            return self.error(message % (self.base_url, what, code, reason), 'server', code, path)
        return self.error('The camera at %s answered HTTP %d %s while trying to %s.'
                          % (self.base_url, code, reason, what), 'http', code, path)

    def _status_name(self, status):
        return self.profile.statuses.get(status, 'unknown status').replace('_', ' ')

    def auth_error(self, status, what, path):
        error = self.error(
            "The camera at %s refused the login of user '%s' (status %s, %s) while trying to %s, also with a fresh "
            'challenge: wrong user name or password, or the user is not enabled. Check the username and password '
            'options.' % (self.base_url, self.username, status, self._status_name(status), what), 'auth', path=path)
        error.device_status = status
        return error

    # -- plumbing ---------------------------------------------------------------------------------------------
    def api_path(self, name):
        return '%s/%s' % (self.profile.api_prefix.rstrip('/'), name)

    def _status(self, header):
        status = header.get('status') if isinstance(header, dict) else None
        if isinstance(status, str) and status.strip().lstrip('-').isdigit():
            status = int(status)
        return status

    def _envelope(self, response, what, name, path, authenticated, require=True):
        """The decoded reply: (header status, data). Raises for a not-ok status (except relogin -> _Relogin)."""
        if not response.content.strip():
            if require:
                raise self.error('The camera at %s sent an empty reply to %s.' % (self.base_url, what), 'protocol',
                                 path=path)
            return self.profile.status_ok, None
        try:
            body = json.loads(to_text(response.content))
        except (TypeError, ValueError):
            raise self.error('The reply of the camera at %s to %s is not JSON.' % (self.base_url, what),
                             'protocol', path=path) from None
        if not isinstance(body, dict):
            raise self.error('The reply of the camera at %s to %s is not a JSON object.' % (self.base_url, what),
                             'protocol', path=path)
        header = body.get(self.profile.header_key)
        status = self._status(header)
        self._check_status(status, header, what, name, path, authenticated)
        return status, body.get(self.profile.data_key)

    def _check_status(self, status, header, what, name, path, authenticated):
        profile = self.profile
        if status is None or status == profile.status_ok:
            return
        if status in profile.relogin_statuses:
            if authenticated:
                raise _Relogin(status)
            error = self.error(
                "The camera at %s refused to %s without a login (status %s, %s). If this camera wants a login for "
                'reads, set auth.reads_require_login: true in the device profile %s.'
                % (self.base_url, what, status, self._status_name(status), profile.path), 'auth', path=path)
        elif profile.statuses.get(status) == 'not_found':
            error = self.not_found_error(name, 'status %s' % status, path)
        elif profile.statuses.get(status) == 'out_of_connections':
            error = self.error('The camera at %s is busy: out of connections (status %s) while trying to %s. Other '
                               'clients hold its connections; try again later.' % (self.base_url, status, what),
                               'busy', path=path)
        else:
            message = header.get('message') if isinstance(header, dict) else None
            message = to_text(message)[:DEVICE_MESSAGE_LIMIT] if message else 'no message'
            error = self.error('The camera at %s refused to %s: status %s (%s). The camera said: %s'
                               % (self.base_url, what, status, profile.statuses.get(status, 'unknown status'),
                                  message), 'device', path=path)
        error.device_status = status
        raise error

    def _busy_retrying(self, send, idempotent):
        """``send()``; for idempotent requests, HTTP busy answers are retried every busy_retry_seconds."""
        retries = self.profile.busy_retries if idempotent else 0
        attempt = 0
        while True:
            try:
                return send()
            except SensingCamError as exc:
                busy = exc.kind == 'busy' and exc.status_code == self.profile.busy_http_status
                if not busy or attempt >= retries:
                    if busy and retries:
                        exc.message = exc.args[0] + (' Retried %d times every %s s.'
                                                     % (retries, self.profile.busy_retry_seconds))
                        exc.args = (exc.message,)
                    raise
                attempt += 1
                self.sleep(self.profile.busy_retry_seconds)

    # -- login ------------------------------------------------------------------------------------------------
    def challenge(self):
        """A new login challenge from the camera (``POST <api_prefix>/<challenge_method>``)."""
        method = self.profile.challenge_method
        what = "get a login challenge for user '%s'" % self.username
        path = self.api_path(method)
        response = self._busy_retrying(lambda: self.request(
            'POST', path, what, body={'data': {'user': self.username}}, idempotent=True, context=method), True)
        self.challenges_fetched += 1
        try:
            body = json.loads(to_text(response.content))
        except (TypeError, ValueError):
            body = None
        challenge = body.get('challenge') if isinstance(body, dict) else None
        if challenge is None and isinstance(body, dict):
            self._check_status(self._status(body.get(self.profile.header_key)), body.get(self.profile.header_key),
                               what, method, path, False)
            data = body.get(self.profile.data_key)
            challenge = data.get('challenge') if isinstance(data, dict) else None
        if not isinstance(challenge, dict) or not all(isinstance(challenge.get(k), str)
                                                      for k in ('realm', 'nonce', 'opaque')):
            raise self.error('The camera at %s sent no usable login challenge (realm, nonce, opaque).'
                             % self.base_url, 'protocol', path=path)
        salt = challenge.get('salt')
        if salt is not None and not (isinstance(salt, list) and all(
                isinstance(b, int) and not isinstance(b, bool) and 0 <= b <= 255 for b in salt)):
            raise self.error('The camera at %s sent a login challenge whose salt is not a list of byte values.'
                             % self.base_url, 'protocol', path=path)
        return challenge

    def login_header(self, auth_name, fresh=False):
        """The login header for one request to ``auth_name`` (HA2 ``POST:<auth_name>``).

        The cached challenge is reused while the profile's ``auth.nonce_reuse`` is true; ``fresh`` (or
        ``nonce_reuse: false``) fetches a new one.
        """
        if self.password is None:
            raise self.error("The password option is needed to log in to the camera at %s as '%s'."
                             % (self.base_url, self.username), 'config')
        if fresh or self._challenge is None or not self.profile.nonce_reuse:
            self._challenge = self.challenge()
        challenge = self._challenge
        return {
            'user': self.username,
            'response': challenge_response(self.username, challenge['realm'], self.password, challenge['nonce'],
                                           auth_name, salt=challenge.get('salt'),
                                           empty_salt=self.profile.empty_salt),
            'realm': challenge['realm'],
            'opaque': challenge['opaque'],
            'nonce': challenge['nonce'],
        }

    def send(self, method, path, auth_name, body=None, what=None, idempotent=False):
        """An authenticated request of any HTTP ``method`` to any ``path`` (e.g. ``PUT <backup.path>``): ``body``
        (a dict) goes as JSON with the login header (HA2 ``POST:<auth_name>``) under ``response.header_key``; a
        relogin status gets one new challenge and one resend, a second refusal is kind 'auth'; the envelope's
        status is checked as for every call. Returns the envelope's data (None when the reply has none)."""
        what = what or '%s %s' % (method.upper(), path)

        def payload(header):
            message = dict(body or {})
            message[self.profile.header_key] = header
            return {'body': message}
        return self._authenticated(path, auth_name, what, payload, idempotent=idempotent, method=method)[1]

    def _authenticated(self, path, auth_name, what, payload, query=None, idempotent=False, timeout=None,
                       fresh=False, raw=False, method='POST'):
        """One authenticated request; ``payload(header)`` -> dict with body or data/headers. Returns the response
        and the envelope's data (``raw``: the response only, the envelope checked when the reply is one)."""
        for attempt in (0, 1):
            header = self.login_header(auth_name, fresh=fresh or attempt > 0)
            parts = payload(header)
            try:
                response = self._busy_retrying(lambda parts=parts: self.request(
                    method, path, what, query=query, idempotent=idempotent, timeout=timeout, context=auth_name,
                    **parts), idempotent)
                if raw:
                    self._raw_envelope(response, what, auth_name, path)
                    return response, None
                return response, self._envelope(response, what, auth_name, path, True, require=False)[1]
            except _Relogin as relogin:
                self._challenge = None
                if attempt:
                    raise self.auth_error(relogin.status, what, path) from None
        raise self.error('no attempt made to %s' % what, 'config')  # pragma: no cover

    def _raw_envelope(self, response, what, name, path):
        """For file transfers: a reply that is a JSON envelope is checked; anything else is the file itself."""
        content = response.content
        if content[:1] != b'{':
            return
        try:
            body = json.loads(to_text(content))
        except (TypeError, ValueError, UnicodeDecodeError):
            return
        header = body.get(self.profile.header_key) if isinstance(body, dict) else None
        envelope_keys = {self.profile.header_key, self.profile.data_key}
        if isinstance(header, dict) and 'status' in header and set(body) <= envelope_keys:
            self._check_status(self._status(header), header, what, name, path, True)

    # -- variables and methods --------------------------------------------------------------------------------
    def read(self, name):
        """The wire value of ``data.<name>`` (GET, no login unless ``auth.reads_require_login``)."""
        what = "read '%s'" % name
        path = self.api_path(name)
        if self.profile.reads_require_login:
            response, data = self._authenticated(path, name, what, lambda header: {'body': {'header': header}},
                                                 idempotent=True)
        else:
            response = self._busy_retrying(
                lambda: self.request('GET', path, what, idempotent=True, context=name), True)
            data = self._envelope(response, what, name, path, False)[1]
        if isinstance(data, dict) and name in data:
            return data[name]
        raise self.error("The reply of the camera at %s to %s holds no '%s' under '%s'; check `response:` "
                         'in the device profile %s.' % (self.base_url, what, name, self.profile.data_key,
                                                        self.profile.path), 'protocol', path=path)

    def read_field(self, field):
        """The module value of ``field`` (a profile Field), decoded by its codec."""
        return field.decode(self.read(field.name))

    def probe(self, name):
        """``(True, wire value)`` when the camera knows ``name``, ``(False, None)`` on HTTP 404 or status 5."""
        try:
            return True, self.read(name)
        except SensingCamError as exc:
            if exc.kind == 'not_found':
                return False, None
            raise

    def write(self, name, wire_value):
        """Set ``name`` to ``wire_value`` (authenticated POST); sent once."""
        return self.call(name, {name: wire_value}, what="change '%s'" % name)

    def write_field(self, field, value):
        """Check ``value`` with the field's codec, encode it and write it."""
        if not field.writable:
            raise self.error("The device profile %s marks `variables.%s` ('%s') as read-only (access: %s), so it "
                             'cannot be changed.' % (self.profile.path, field.key, field.name, field.access),
                             'config')
        problem = field.check(value)
        if problem:
            shown = '********' if field.secret else repr(value)
            allowed = field.allowed()
            if allowed not in problem:
                problem = '%s; allowed: %s' % (problem, allowed)
            raise self.error("The value %s for '%s' (%s) %s." % (shown, field.key, field.name, problem), 'config')
        return self.write(field.name, field.encode(value))

    def call(self, name, data=None, what=None):
        """Authenticated ``POST <api_prefix>/<name>`` with ``data`` (omitted when None); the reply's data dict."""
        what = what or "call '%s'" % name

        def payload(header):
            body = {'header': header}
            if data is not None:
                body['data'] = data
            return {'body': body}
        data_part = self._authenticated(self.api_path(name), name, what, payload)[1]
        return data_part if isinstance(data_part, dict) else {}

    def call_method(self, key, argument_value=None):
        """Call the profile method ``key`` (``methods.<key>``, or a dotted key such as ``backup.create_method``);
        returns the result name ('ok'). A non-zero ``data.<method_result_key>`` raises kind 'device'."""
        method = self.profile.method(key)
        data = None
        if method.argument:
            if argument_value is None:
                raise self.error("The method '%s' (%s) needs a value for its argument '%s'."
                                 % (method.name, method.key, method.argument), 'config')
            data = {method.argument: argument_value}
        what = "call '%s'" % method.name
        reply = self.call(method.name, data, what=what)
        result = reply.get(self.profile.method_result_key)
        if result is None:
            return 'ok'
        number = result
        if isinstance(result, str) and result.strip().isdigit():
            number = int(result)
        name = self.profile.method_results.get(number)
        if number == 0 or name == 'ok':
            return 'ok'
        meaning = name or 'unknown result'
        hint = METHOD_RESULT_HINTS.get(name)
        error = self.error('The camera at %s did not %s: result %s (%s)%s.'
                           % (self.base_url, what, result, meaning, '; ' + hint if hint else ''), 'device',
                           path=self.api_path(method.name))
        error.method_result = meaning
        raise error

    # -- raw paths and files ----------------------------------------------------------------------------------
    def get_raw(self, path):
        """The bytes at ``path`` (GET, e.g. the API description file), or None when the camera answers 404."""
        what = 'read %s' % path
        try:
            response = self._busy_retrying(lambda: self.request('GET', path, what, idempotent=True, context=path),
                                           True)
        except SensingCamError as exc:
            if exc.status_code == 404:
                return None
            raise
        return response.content

    def download(self, file_name):
        """The bytes of the camera file ``file_name`` (``POST <file_download_prefix>/<file_name>``, login with
        HA2 ``POST:<file_name>``)."""
        path = '%s/%s' % (self.profile.file_download_prefix.rstrip('/'), file_name)
        what = "download the file '%s'" % file_name
        response = self._authenticated(path, file_name, what, lambda header: {'body': {'header': header}},
                                       idempotent=True, raw=True)[0]
        return response.content

    def upload(self, file_name, content, progress=None, timeout=None):
        """Send ``content`` (bytes) as the camera file ``file_name`` in chunks of ``upload_chunk_bytes``.

        Each chunk: ``POST <file_upload_prefix>/<file_name>?append=..&finish=..`` with the JSON login header (a
        fresh challenge per chunk) immediately followed by the raw chunk. The first chunk has append=false, later
        ones append=true; the last has finish=true. Never retried: a half-sent image is not sent again.
        ``progress(sent_bytes, total_bytes)`` is called after each chunk. Returns the last reply's data dict.
        """
        content = to_bytes(content)
        size = self.profile.upload_chunk_bytes
        chunks = [content[offset:offset + size] for offset in range(0, len(content), size)] or [b'']
        path = '%s/%s' % (self.profile.file_upload_prefix.rstrip('/'), file_name)
        timeout = max(timeout or self.timeout, MIN_UPLOAD_TIMEOUT_SECONDS)
        sent, data = 0, None
        for index, chunk in enumerate(chunks):
            last = index == len(chunks) - 1
            query = [('append', 'false' if index == 0 else 'true'), ('finish', 'true' if last else 'false')]
            what = "upload the file '%s' (part %d of %d)" % (file_name, index + 1, len(chunks))

            def payload(header, chunk=chunk):
                return {'data': to_bytes(json.dumps({'header': header})) + chunk,
                        'headers': {'Content-Type': 'application/octet-stream'}}
            response = self._authenticated(path, file_name, what, payload, query=query, timeout=timeout,
                                           fresh=True, raw=True)[0]
            sent += len(chunk)
            if progress is not None:
                progress(sent, len(content))
            data = self._reply_data(response)
        return data if isinstance(data, dict) else {}

    def _reply_data(self, response):
        try:
            body = json.loads(to_text(response.content))
        except (TypeError, ValueError, UnicodeDecodeError):
            return None
        return body.get(self.profile.data_key) if isinstance(body, dict) else None
