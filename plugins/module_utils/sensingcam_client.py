# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client of the SICK sensingCam (SEC100 family) REST API, on the generic transport of ``_api``.

Reads, writes, method calls, file download/upload, with every name taken from the device profile. Errors are
``SensingCamError`` (an ``ApiError``) worded for a plant engineer; the password is never in a message and never
on the wire (see sick_login).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.sensingcam.ming.plugins.module_utils._api import ApiClient, ApiError
from ansible_collections.sensingcam.ming.plugins.module_utils.sick_login import (
    challenge_response,
    is_ascii,
    non_ascii_password_message,
)

# Seconds of the first back-off pause; each further retry doubles it.
RETRY_BACKOFF_SECONDS = 0.5
# Uploads (firmware images) may take far longer than a variable read.
MIN_UPLOAD_TIMEOUT_SECONDS = 120


class SensingCamError(ApiError):
    """An error talking to the camera; ``str()`` is a message for a plant engineer, without secrets.

    ``kind`` is one of: auth, forbidden, not_found, timeout, unreachable, tls, server, http, device, protocol,
    config.
    """


class SensingCamClient(ApiClient):
    """One camera. Retries only after network errors (``retry_statuses`` is empty), as the camera has always done."""

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

    def status_error(self, response, what, path, context=None):
        code, reason = response.status_code, response.reason
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
            name = context or path
            key = self.profile.location_of(name)
            where = ('fix `%s` in the device profile %s' % (key, self.profile.path) if key
                     else 'check the device profile %s' % self.profile.path)
            return self.error(
                "The camera at %s does not know '%s' (HTTP 404 on %s): this firmware uses another name for it; %s."
                % (self.base_url, name, path, where), 'not_found', code, path)
        if code >= 500:
            message = ('The camera at %s failed while trying to %s (HTTP %d %s). Try again later; if it persists, '
                       "check the camera's log or power-cycle it.")
            return self.error(message % (self.base_url, what, code, reason), 'server', code, path)
        return self.error('The camera at %s answered HTTP %d %s while trying to %s.'
                          % (self.base_url, code, reason, what), 'http', code, path)

    # -- plumbing ---------------------------------------------------------------------------------------------
    def api_path(self, name):
        return '%s/%s' % (self.profile.api_prefix.rstrip('/'), name)

    def _send(self, method, path, name, what, idempotent, build=None, timeout=None):
        """One exchange; ``build`` is called again for every attempt, so a login gets a fresh challenge."""
        return self.request(method, path, what, idempotent=idempotent, build=build, timeout=timeout, context=name)

    def _json(self, response, what):
        return self.json_of(response, what, allow_empty=False)

    def _envelope_data(self, body, what):
        """Check the reply envelope's status and return its data part."""
        if not isinstance(body, dict):
            raise self.error('The reply of the camera at %s to %s is not a JSON object.' % (self.base_url, what),
                             'protocol')
        header = body.get(self.profile.header_key)
        if isinstance(header, dict) and 'status' in header:
            ok = self.profile.status_ok
            if header['status'] != ok and str(header['status']) != str(ok):
                raise self.error('The camera at %s refused to %s: status %s (%s).'
                                 % (self.base_url, what, header['status'], header.get('message', '')), 'device')
        return body.get(self.profile.data_key)

    # -- login ------------------------------------------------------------------------------------------------
    def challenge(self):
        method = self.profile.challenge_method
        what = 'get a login challenge for user %s' % self.username
        response = self._send('POST', self.api_path(method), method, what, idempotent=True,
                              build=lambda: {'body': {'data': {'user': self.username}}})
        body = self._json(response, what)
        challenge = body.get('challenge') if isinstance(body, dict) else None
        if challenge is None and isinstance(body, dict) and isinstance(body.get(self.profile.data_key), dict):
            challenge = body[self.profile.data_key].get('challenge')
        if not isinstance(challenge, dict) or not all(k in challenge for k in ('realm', 'nonce', 'opaque')):
            raise self.error('The camera at %s sent no usable login challenge (realm, nonce, opaque).'
                             % self.base_url, 'protocol')
        return challenge

    def auth_header(self, auth_name):
        """A fresh login header for one request to ``auth_name`` (one challenge each: nonces are single-use)."""
        if self.password is None:
            raise self.error("The password option is needed to log in to the camera at %s as '%s'."
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
                                  build=lambda: {'body': {'header': self.auth_header(name)}})
        else:
            response = self._send('GET', self.api_path(name), name, what, idempotent=True)
        data = self._envelope_data(self._json(response, what), what)
        if isinstance(data, dict) and name in data:
            return data[name]
        raise self.error("The reply of the camera at %s to %s holds no '%s' under '%s'; check `response:` "
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
                              build=lambda: {'body': body})
        if not response.content:
            return None
        return self._envelope_data(self._json(response, what), what)

    # -- files ------------------------------------------------------------------------------------------------
    def download(self, key):
        """Bytes of the file endpoint ``files.<key>`` (authenticated JSON POST)."""
        path, auth_name = self.profile.file_endpoint(key)
        what = 'download %s' % path
        response = self._send('POST', path, path, what, idempotent=True,
                              build=lambda: {'body': {'header': self.auth_header(auth_name)}})
        return response.content

    def upload(self, key, content, filename, timeout=None):
        """multipart/form-data upload to ``files.<key>``: part ``header`` (JSON login), then part ``file``.

        Sent exactly once, never retried: a half-sent firmware image must not be followed by another.
        """
        path, auth_name = self.profile.file_endpoint(key)
        what = 'upload %s to %s' % (filename, path)
        header = self.auth_header(auth_name)
        response = self.post_multipart(
            path, [('header', None, json.dumps(header), 'application/json'),
                   ('file', filename, content, 'application/octet-stream')],
            what, timeout=max(timeout or self.timeout, MIN_UPLOAD_TIMEOUT_SECONDS), context=path)
        if not response.content:
            return None
        try:
            body = json.loads(response.content)
        except (TypeError, ValueError):
            return None
        return self._envelope_data(body, what) if isinstance(body, dict) else body
