# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Generic base for the collection's modules that talk to an HTTP API. Private: the interface may change.

Knows nothing about cameras, device profiles or YAML. Three parts, from the wire up:

- ``ApiClient``: one service at ``host:port``. Requests go through ``open_url`` below, Ansible's own URL stack
  (``ansible.module_utils.urls``: its TLS context with ``validate_certs``/``ca_path``, its redirect rules) with
  timeouts; idempotent ones are retried with exponential back-off on network errors and on the HTTP codes in
  ``retry_statuses`` ("busy"). JSON in and out, raw bytes, multipart forms.
- ``ApiError``: the one error type. ``kind`` says what went wrong (auth, forbidden, not_found, busy, server,
  http, timeout, unreachable, tls, protocol, config); ``str()`` is a message naming the URL and what was being
  done, never a secret. A client words its own messages by overriding ``status_error``/``network_error``.
- ``ApiModule``: the Ansible side. Composes the argument spec, builds the client, and runs
  read -> compare only the options the user set -> write on difference -> re-read -> diff, with check mode,
  diff mode and ``state: present/absent``. A concrete module declares its options and implements
  ``read``/``create``/``update``/``delete``. See docs/developing.md, "Adding an API module".
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import http.client
import json
import re
import socket
import ssl
import threading
import time
import urllib.request
import uuid
from urllib.error import HTTPError, URLError
from urllib.parse import urlencode

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_text
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import HTTPRedirectHandler, SSLValidationError, make_context

MASK = '********'
# How many characters of an API's own error message go into ours.
API_MESSAGE_LIMIT = 200
NO_BODY = object()
NETWORK_ERRORS = (OSError, http.client.HTTPException, UrlConnectionError)


# --------------------------------------------------------------------------------------------------------------
# The wire
# --------------------------------------------------------------------------------------------------------------

_TLS_CONTEXTS = {}
_TLS_LOCK = threading.Lock()


def tls_context(validate_certs=True, ca_path=None):
    """Ansible's TLS context (``urls.make_context``) for these settings, built once per process.

    Building one reads the whole system CA store (about 0.1 s); a fleet audit makes hundreds of requests.
    """
    key = (bool(validate_certs), ca_path)
    with _TLS_LOCK:
        if key not in _TLS_CONTEXTS:
            _TLS_CONTEXTS[key] = make_context(cafile=ca_path, validate_certs=bool(validate_certs))
        return _TLS_CONTEXTS[key]


def open_url(url, data=None, headers=None, method='GET', timeout=10, validate_certs=True, ca_path=None):
    """Send one request the way ``ansible.module_utils.urls.open_url`` does; return the response.

    Same TLS context, redirect handling (``follow_redirects='urllib2'``) and proxy settings from the environment,
    and the same results: a response object, ``urllib.error.HTTPError`` for a status >= 400, ``URLError`` or
    ``OSError`` for network errors. Two differences: the TLS context is reused (``tls_context``), and the opener
    is not installed process-wide (``urls.Request.open`` calls ``install_opener``), so parallel requests with
    different TLS settings, as in the fleet audit, cannot pick up each other's opener. Tests replace this function.
    """
    if not url.startswith(('http://', 'https://')):
        raise ValueError('only http and https URLs are sent, not %s' % url.split(':', 1)[0])
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=tls_context(validate_certs, ca_path)),
                                         HTTPRedirectHandler('urllib2'))
    request = urllib.request.Request(url, data=data, headers=headers or {}, method=method)  # noqa: S310 (checked)
    return opener.open(request, timeout=timeout)


# --------------------------------------------------------------------------------------------------------------
# Small helpers
# --------------------------------------------------------------------------------------------------------------

def url_host(host):
    """``host`` as it goes into a URL: IPv6 literals in brackets."""
    return '[%s]' % host if ':' in host and not host.startswith('[') else host


def scrub(message, *secrets):
    """``message`` with every secret (of 3 characters or more) replaced by ``********``."""
    if not message:
        return message
    for secret in sorted((s for s in secrets if isinstance(s, str) and len(s) >= 3), key=len, reverse=True):
        message = message.replace(secret, MASK)
    return message


def same_value(wanted, current):
    """Compare a wanted option value with what the API reports (an API may send numbers as strings)."""
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
    if isinstance(wanted, dict) and isinstance(current, dict):
        return all(same_value(value, current.get(key)) for key, value in wanted.items())
    return wanted == current


def _quoted(value):
    """A multipart parameter value: quotes and line breaks percent-encoded, as browsers send them."""
    return value.replace('\\', '\\\\').replace('"', '%22').replace('\r', '%0D').replace('\n', '%0A')


def multipart_form(parts):
    """``(content_type, body)`` of a multipart/form-data request with ``parts`` in the given order.

    ``parts`` is a list of ``(name, filename or None, content, content_type)``; content is text, bytes or a
    readable file. The bytes are sent as they are (no transfer encoding, no line-ending changes), which
    ``ansible.module_utils.urls.prepare_multipart`` does not guarantee for binary files: it sorts the parts by
    name and rewrites LF as CRLF in content given as bytes.
    """
    boundary = uuid.uuid4().hex
    chunks = []
    for name, filename, content, content_type in parts:
        if hasattr(content, 'read'):
            content = content.read()
        disposition = 'form-data; name="%s"' % _quoted(name)
        if filename is not None:
            disposition += '; filename="%s"' % _quoted(filename)
        head = '--%s\r\nContent-Disposition: %s\r\n' % (boundary, disposition)
        if content_type:
            head += 'Content-Type: %s\r\n' % content_type
        chunks.extend([to_bytes(head + '\r\n'), to_bytes(content), b'\r\n'])
    chunks.append(to_bytes('--%s--\r\n' % boundary))
    return 'multipart/form-data; boundary=%s' % boundary, b''.join(chunks)


_ERRNO_RE = re.compile(r'\[Errno -?\d+\] ([^\'")>]+)')


def network_reason(exc):
    """A short reason for a network error: 'Connection refused', 'certificate verify failed: ...'."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ssl.SSLCertVerificationError):
        text = 'certificate verify failed'
        detail = getattr(reason, 'verify_message', None)
        return '%s: %s' % (text, detail) if detail else text
    if isinstance(reason, socket.timeout):
        return 'timed out'
    if isinstance(reason, ssl.SSLError):
        return str(getattr(reason, 'reason', None) or reason)[:API_MESSAGE_LIMIT]
    if isinstance(reason, OSError) and reason.strerror:
        return str(reason.strerror).strip().rstrip('.')
    text = str(reason)
    match = _ERRNO_RE.search(text)
    if match:
        return match.group(1).strip().rstrip('.')
    return (text or type(reason).__name__)[:API_MESSAGE_LIMIT]


def network_kind(exc):
    """tls, timeout or unreachable."""
    reason = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, ssl.SSLError) or isinstance(exc, SSLValidationError):
        return 'tls'
    if isinstance(reason, socket.timeout):
        return 'timeout'
    return 'unreachable'


# --------------------------------------------------------------------------------------------------------------
# Errors and responses
# --------------------------------------------------------------------------------------------------------------

class ApiError(Exception):
    """An error talking to an API; ``str()`` is a message for a plant engineer, without secrets.

    ``kind`` is one of: auth, forbidden, not_found, busy, server, http, timeout, unreachable, tls, protocol,
    config (or a client's own, such as device); ``status_code`` is the HTTP status when there was one.
    """

    def __init__(self, message, kind='error', status_code=None, url=None):
        super(ApiError, self).__init__(message)
        self.message = message
        self.kind = kind
        self.status_code = status_code
        self.url = url

    def __str__(self):
        return self.message


class ApiResponse:
    """What came back: ``status_code``, ``reason``, ``headers`` (case-insensitive get) and ``content`` (bytes)."""

    def __init__(self, status_code, reason='', headers=None, content=b''):
        self.status_code = status_code
        self.reason = reason or ''
        self.headers = headers if headers is not None else {}
        self.content = content or b''

    def header(self, name):
        getter = getattr(self.headers, 'get', None)
        if getter is None:
            return None
        value = getter(name)
        if value is None and isinstance(self.headers, dict):
            value = next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)
        return value


# --------------------------------------------------------------------------------------------------------------
# Transport
# --------------------------------------------------------------------------------------------------------------

class ApiClient:
    """One HTTP API at ``host:port``.

    Class attributes a client may change: ``service`` (how messages name the other end: "the API at ..."),
    ``error_class``, ``retry_statuses`` (HTTP codes meaning "busy, try again"), ``backoff`` (first pause in
    seconds, doubled on each retry), ``idempotent_methods`` (retried unless a call says otherwise) and ``sleep``
    (tests replace it). ``opener`` defaults to this file's ``open_url``, looked up at each request.
    """

    service = 'API'
    error_class = ApiError
    retry_statuses = (429, 503)
    backoff = 0.5
    max_retry_after = 30
    idempotent_methods = ('GET', 'HEAD', 'OPTIONS')
    sleep = staticmethod(time.sleep)

    def __init__(self, host, port=None, use_tls=False, validate_certs=True, ca_path=None, timeout=10, retries=2,
                 headers=None, secrets=(), default_port=None, backoff=None, sleep=None, opener=None,
                 retry_statuses=None):
        self.host = host
        self.use_tls = bool(use_tls)
        self.port = int(port) if port else int(default_port or (443 if self.use_tls else 80))
        self.validate_certs = validate_certs
        self.ca_path = ca_path
        self.timeout = timeout
        self.retries = max(0, int(retries or 0))
        self.headers = dict(headers or {})
        self.secrets = [s for s in secrets if s]
        if backoff is not None:
            self.backoff = backoff
        if sleep is not None:
            self.sleep = sleep
        if retry_statuses is not None:
            self.retry_statuses = tuple(retry_statuses)
        self.opener = opener
        self.base_url = '%s://%s:%d' % ('https' if self.use_tls else 'http', url_host(host), self.port)

    @property
    def verify(self):
        """What the certificate is checked against: the CA file, or True/False. A CA file always turns it on."""
        return self.ca_path if self.ca_path else self.validate_certs

    # -- errors -----------------------------------------------------------------------------------------------
    def error(self, message, kind='error', status_code=None, path=None):
        url = self.base_url + path if path is not None else self.base_url
        return self.error_class(scrub(message, *self.secrets), kind, status_code, url=url)

    def error_body(self, response):
        """(code, message) of a JSON error body ``{"code": ..., "message" or "error": ...}``, the message shortened;
        ('', '') for anything else."""
        try:
            body = json.loads(to_text(response.content))
        except (TypeError, ValueError):
            return '', ''
        if not isinstance(body, dict):
            return '', ''
        code = body.get('code') if isinstance(body.get('code'), str) else ''
        text = body.get('message') or body.get('error') or ''
        return code, (text[:API_MESSAGE_LIMIT] if isinstance(text, str) else '')

    def api_message(self, response):
        """The API's own explanation from a JSON error body (``message`` or ``error``), shortened; or ''."""
        return self.error_body(response)[1]

    def status_error(self, response, what, path, context=None):
        """The ApiError for an HTTP status >= 400. ``context`` is whatever the caller passed to ``request``."""
        code, reason = response.status_code, response.reason
        where = '%s at %s' % (self.service, self.base_url + path)
        if code == 401:
            kind, text = 'auth', 'The %s refused the credentials (HTTP 401) while trying to %s. Check the token, ' \
                                 'user name or password.' % (where, what)
        elif code == 403:
            kind, text = 'forbidden', 'The %s did not allow this account to %s (HTTP 403); it needs more ' \
                                      'permissions.' % (where, what)
        elif code == 404:
            kind, text = 'not_found', 'The %s does not exist (HTTP 404) while trying to %s.' % (where, what)
        elif code == 429:
            kind, text = 'busy', 'The %s is busy (HTTP 429 %s) and refused to %s. Try again later.' \
                                 % (where, reason, what)
        elif code >= 500:
            kind, text = 'server', 'The %s failed while trying to %s (HTTP %d %s). Try again later; if it ' \
                                   "persists, check the service's log." % (where, what, code, reason)
        else:
            kind, text = 'http', 'The %s answered HTTP %d %s while trying to %s.' % (where, code, reason, what)
        detail = self.api_message(response)
        if detail:
            text = '%s It said: %s' % (text, detail)
        return self.error(text, kind, code, path)

    def network_error(self, kind, reason, what, timeout, path):
        """The ApiError for a network failure of ``kind`` tls, timeout or unreachable."""
        url = self.base_url + path
        if kind == 'tls':
            text = ('TLS with the %s at %s failed while trying to %s (%s). Give the CA that signed its certificate '
                    'in ca_path.' % (self.service, url, what, reason))
        elif kind == 'timeout':
            text = ('The %s at %s did not answer within %s s while trying to %s; raise `timeout` if it is slow.'
                    % (self.service, url, timeout, what))
        else:
            text = ('Cannot reach the %s at %s to %s (%s). Check the address, the port and use_tls.'
                    % (self.service, url, what, reason))
        return self.error(text, kind, path=path)

    # -- one exchange -----------------------------------------------------------------------------------------
    def url(self, path, query=None):
        url = self.base_url + path
        if query:
            pairs = query.items() if isinstance(query, dict) else query
            url += '?' + urlencode([(k, v) for k, v in pairs if v is not None])
        return url

    def _encode(self, body, data, headers):
        headers = dict(self.headers, **(headers or {}))
        if body is not NO_BODY:
            data = to_bytes(json.dumps(body))
            headers.setdefault('Content-Type', 'application/json')
        return data, headers

    def _open(self, method, url, data, headers, timeout):
        opener = self.opener or open_url
        try:
            raw = opener(url, data=data, headers=headers, method=method, timeout=timeout,
                         validate_certs=bool(self.validate_certs or self.ca_path), ca_path=self.ca_path)
        except HTTPError as exc:  # an answer with status >= 400 is still an answer
            try:
                content = exc.read()
            except (OSError, AttributeError, http.client.HTTPException):
                content = b''
            return ApiResponse(exc.code, getattr(exc, 'reason', '') or exc.msg, exc.headers, content)
        try:
            content = raw.read()
        finally:
            raw.close()
        status = getattr(raw, 'status', None) or raw.getcode()
        return ApiResponse(status, getattr(raw, 'reason', ''), raw.headers, content)

    def _pause(self, attempt, response=None):
        pause = self.backoff * (2 ** attempt)
        retry_after = response.header('Retry-After') if response is not None else None
        if retry_after and str(retry_after).strip().isdigit():
            pause = max(pause, min(int(retry_after), self.max_retry_after))
        self.sleep(pause)

    def request(self, method, path, what, body=NO_BODY, data=None, headers=None, query=None, idempotent=None,
                timeout=None, build=None, context=None):
        """One request; returns an ApiResponse with status < 400 or raises ApiError.

        ``body`` is sent as JSON, ``data`` as raw bytes (give the Content-Type in ``headers``). ``build``, when
        given, is called before every attempt and returns a dict with any of body/data/headers (for single-use
        credentials). Idempotent requests (``idempotent_methods`` unless told otherwise) are retried up to
        ``retries`` times on network errors (not TLS errors) and on ``retry_statuses``; others are sent once.
        """
        method = method.upper()
        if idempotent is None:
            idempotent = method in self.idempotent_methods
        attempts = 1 + self.retries if idempotent else 1
        url = self.url(path, query)
        timeout = timeout or self.timeout
        for attempt in range(attempts):
            last = attempt + 1 >= attempts
            parts = {'body': body, 'data': data, 'headers': headers}
            if build is not None:
                parts.update(build())
            payload, send_headers = self._encode(parts['body'], parts['data'], parts['headers'])
            try:
                response = self._open(method, url, payload, send_headers, timeout)
            except NETWORK_ERRORS as exc:
                kind = network_kind(exc)
                if kind != 'tls' and not last:
                    self._pause(attempt)
                    continue
                raise self.network_error(kind, network_reason(exc), what, timeout, path) from exc
            except ValueError as exc:
                raise self.error('The address %s is not usable to %s: %s.' % (self.base_url, what, exc),
                                 'config', path=path) from None
            if response.status_code >= 400:
                if response.status_code in self.retry_statuses and not last:
                    self._pause(attempt, response)
                    continue
                raise self.status_error(response, what, path, context)
            return response
        raise self.error('no attempt made to %s' % what, 'config')  # pragma: no cover (attempts >= 1)

    # -- JSON helpers -----------------------------------------------------------------------------------------
    def json_of(self, response, what, allow_empty=True):
        """The decoded JSON body of ``response``; None for an empty body when ``allow_empty``."""
        if allow_empty and not response.content.strip():
            return None
        try:
            return json.loads(to_text(response.content))
        except (TypeError, ValueError):
            raise self.error('The reply of the %s at %s to %s is not JSON.' % (self.service, self.base_url, what),
                             'protocol') from None

    def get_json(self, path, what, query=None, **kwargs):
        return self.json_of(self.request('GET', path, what, query=query, **kwargs), what)

    def post_json(self, path, body, what, **kwargs):
        return self.json_of(self.request('POST', path, what, body=body, **kwargs), what)

    def put_json(self, path, body, what, **kwargs):
        return self.json_of(self.request('PUT', path, what, body=body, **kwargs), what)

    def patch_json(self, path, body, what, **kwargs):
        return self.json_of(self.request('PATCH', path, what, body=body, **kwargs), what)

    def delete(self, path, what, **kwargs):
        return self.json_of(self.request('DELETE', path, what, **kwargs), what)

    def post_multipart(self, path, parts, what, **kwargs):
        """POST a multipart/form-data body (see ``multipart_form``); never retried. Returns the ApiResponse."""
        content_type, data = multipart_form(parts)
        return self.request('POST', path, what, data=data, headers={'Content-Type': content_type},
                            idempotent=False, **kwargs)


# --------------------------------------------------------------------------------------------------------------
# Ansible side
# --------------------------------------------------------------------------------------------------------------

class TokenApiClient(ApiClient):
    """An ``ApiClient`` that authenticates with a token in ``Authorization: <authorization_scheme> <token>``.

    Class attributes: ``authorization_scheme`` (``Bearer``; InfluxDB's is ``Token``), ``default_port`` and
    ``fixed_headers`` (sent with every request, e.g. an API version). The token is one of the client's secrets
    (scrubbed from every message); ``token_option`` is the option name messages tell the user to check, ``has_token``
    whether one was given.
    """

    authorization_scheme = 'Bearer'
    default_port = None
    fixed_headers = {}

    def __init__(self, host, token=None, token_option='token', secrets=(), default_port=None, headers=None,  # noqa: S107
                 **kwargs):
        headers = dict(headers or {})
        headers.update(self.fixed_headers)
        if token:
            headers['Authorization'] = '%s %s' % (self.authorization_scheme, token)
        secrets = list(secrets or ()) + ([token] if token else [])
        super(TokenApiClient, self).__init__(host, headers=headers, secrets=secrets,
                                             default_port=default_port or self.default_port, **kwargs)
        self.token_option = token_option
        self.has_token = bool(token)


def connection_argument_spec():
    """host, port, use_tls, validate_certs, ca_path, timeout, retries: what every ApiClient needs."""
    return dict(
        host=dict(type='str', required=True),
        port=dict(type='int'),
        use_tls=dict(type='bool', default=False),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=10),
        retries=dict(type='int', default=2),
    )


class ApiModule:
    """Base class of a module that keeps one API object in the state the user asked for.

    Declare: ``argument_spec`` (the module's own options; the connection options of ``connection_spec()`` are
    added), ``options`` (the option names compared with the object), ``write_only`` (options the API never
    returns, compared with ``secret_matches``), ``result_key``, ``default_port``, ``client_class``.
    Implement: ``read()`` -> dict with option names as keys, or None when the object does not exist;
    ``create(wanted)``, ``update(changes, current)``, ``delete(current)``; optionally ``validate(wanted)``,
    ``check_change(changes, current)`` (runs in check mode too), ``client_headers()``, ``setup()``.
    ``run()`` does the rest: only options the user set are compared; nothing is written in check mode;
    ``state: absent`` deletes an existing object; ``diff`` when asked; every ``no_log`` value is scrubbed from
    messages. A module with logic of its own overrides ``execute()`` and uses ``self.client``/``fail``/``exit``.
    """

    argument_spec = {}
    options = ()
    write_only = ()
    result_key = 'object'
    changed_key = None
    service = 'API'
    default_port = None
    client_class = ApiClient
    connect = True
    supports_check_mode = True
    mutually_exclusive = None
    required_if = None
    required_one_of = None
    required_together = None
    expected_errors = (ApiError,)
    mismatch_warning = ('The %s accepted the change but reports other values for: %s. It may round or restrict '
                        'them.')

    def __init__(self):
        self.module = AnsibleModule(
            argument_spec=self.module_argument_spec(), supports_check_mode=self.supports_check_mode,
            mutually_exclusive=self.mutually_exclusive, required_if=self.required_if,
            required_one_of=self.required_one_of, required_together=self.required_together)
        self.params = self.module.params
        self.check_mode = self.module.check_mode
        self.diff_mode = self.module._diff
        self.result = {'changed': False}
        self.setup()
        self.client = None
        if self.connect and self.params.get('host'):
            self.client = self.make_client()

    @classmethod
    def connection_spec(cls):
        return connection_argument_spec()

    @classmethod
    def module_argument_spec(cls):
        spec = cls.connection_spec()
        spec.update(cls.argument_spec)
        return spec

    # -- hooks ------------------------------------------------------------------------------------------------
    def setup(self):
        """Runs after the options are parsed, before the client is built."""

    def client_headers(self):
        """Headers sent with every request (for example an Authorization token)."""
        return {}

    def client_options(self):
        """Keyword arguments for ``client_class`` beyond the connection options (for example its credentials)."""
        return {}

    def make_client(self):
        params = self.params
        options = dict(port=params.get('port'), use_tls=params.get('use_tls') or False,
                       validate_certs=params.get('validate_certs', True) is not False, ca_path=params.get('ca_path'),
                       timeout=params.get('timeout') or 10, retries=params.get('retries', 2),
                       headers=self.client_headers(), secrets=sorted(self.module.no_log_values),
                       default_port=self.default_port)
        options.update(self.client_options())
        try:
            return self.client_class(params['host'], **options)
        except ApiError as exc:
            self.fail(exc.message)

    def wanted(self):
        """The options of ``options`` the user set (None means: leave as it is)."""
        return dict((k, self.params[k]) for k in self.options if self.params.get(k) is not None)

    def validate(self, wanted):
        """Fail on values that cannot be right before anything is sent."""

    def read(self):
        raise NotImplementedError

    def create(self, wanted):
        raise NotImplementedError

    def update(self, changes, current):
        raise NotImplementedError

    def delete(self, current):
        raise NotImplementedError

    def check_change(self, changes, current):
        """Fail when a change cannot be made; runs in check mode too. ``current`` is None for a create."""

    def fingerprint(self, value):
        """What ``read()`` reports for a write-only option: here the SHA-256 of the value."""
        return hashlib.sha256(to_bytes(value)).hexdigest()

    def secret_matches(self, option, wanted, current):
        return current is not None and self.fingerprint(wanted) == current

    def same(self, option, wanted, current):
        if option in self.write_only:
            return self.secret_matches(option, wanted, current)
        return same_value(wanted, current)

    # -- the cycle --------------------------------------------------------------------------------------------
    def run(self):
        try:
            self.execute()
        except self.expected_errors as exc:
            self.fail(str(exc))

    def execute(self):
        wanted = self.wanted()
        self.validate(wanted)
        before = self.read()
        changes = {}
        if self.params.get('state') == 'absent':
            changed, after = before is not None, None
            if changed and not self.check_mode:
                self.delete(before)
        else:
            if before is None:
                changes = dict(wanted)
            else:
                changes = dict((k, v) for k, v in wanted.items() if not self.same(k, v, before.get(k)))
            changed = before is None or bool(changes)
            after = self.predict(before, wanted)
            if changed:
                self.check_change(changes, before)
            if changed and not self.check_mode:
                if before is None:
                    self.create(wanted)
                else:
                    self.update(changes, before)
                after = self.reread(changes)
        self.result['changed'] = changed
        if self.changed_key:
            self.result[self.changed_key] = sorted(changes)
        self.result[self.result_key] = self.shown(after, changes) or {}
        if self.diff_mode:
            self.result['diff'] = {'before': self.shown(before) or {}, 'after': self.shown(after, changes) or {}}
        self.exit()

    def predict(self, before, wanted):
        after = dict(before or {})
        for option, value in wanted.items():
            after[option] = self.fingerprint(value) if option in self.write_only else value
        return after

    def reread(self, changes):
        after = self.read()
        mismatch = sorted(k for k in changes if not self.same(k, changes[k], (after or {}).get(k)))
        if mismatch:
            self.warn(self.mismatch_warning % (self.service, ', '.join(mismatch)))
        return after

    def shown(self, state, changes=()):
        """``state`` as it may appear in output and diffs: write-only values masked."""
        if state is None:
            return None
        shown = dict(state)
        for option in self.write_only:
            if shown.get(option) is not None:
                shown[option] = MASK + (' (changed)' if option in changes else '')
        return shown

    # -- output -----------------------------------------------------------------------------------------------
    def scrub(self, text):
        return scrub(text, *self.module.no_log_values)

    def warn(self, message):
        self.module.warn(self.scrub(message))

    def fail(self, msg, **kwargs):
        result = dict(self.result)
        result.update(kwargs)
        result.pop('failed', None)
        result['msg'] = self.scrub(msg)
        self.module.fail_json(**result)

    def exit(self, **kwargs):
        self.result.update(kwargs)
        if isinstance(self.result.get('msg'), str):
            self.result['msg'] = self.scrub(self.result['msg'])
        self.module.exit_json(**self.result)
