# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client of the InfluxDB 1.x HTTP API (InfluxQL over ``/query``) and the base of the 1.x modules.

On the transport of ``_api``. Behaviour checked against Debian's InfluxDB 1.6.7 (tests/integration/data):

- Statements go to ``POST /query`` as form data ``q=`` (``db=`` when a statement needs a database); reads are
  retried like GETs, statements that change something are sent once. Credentials travel in the
  ``Authorization: Basic`` header, never as ``u=``/``p=`` in the URL (URLs end up in logs).
- Errors come as ``{"error": "..."}`` (HTTP 400 parse errors, 401 bad credentials, 403 not allowed) or, with HTTP
  200, per statement in ``results[i].error`` ("database not found: x", "retention policy already exists"). Our
  message names the object ("retention policy 'machine_events' on database 'ming'"), the status and InfluxDB's
  words; never the password (every secret is scrubbed, and statements are never quoted in messages).
- With ``auth-enabled`` and no user yet, every statement but ``CREATE USER ... WITH ALL PRIVILEGES`` is refused
  with HTTP 403 "create admin user first or disable authentication": kind ``no_admin`` here.
- Identifiers are always sent double-quoted (``\\`` and ``"`` escaped), strings and passwords single-quoted
  (``\\`` and ``'`` escaped).
- ``SHOW RETENTION POLICIES`` reports Go durations (``720h0m0s``): ``go_duration_seconds`` reads them.
- ``SHOW CONTINUOUS QUERIES`` reports the statement as the server rewrote it (keywords upper case, function names
  lower case, identifiers quoted only when needed, durations and floats reformatted: ``60m`` -> ``1h``, ``2.5`` ->
  ``2.500``, ``<>`` -> ``!=``, every ``INTO``/``FROM`` measurement qualified with the database and the retention
  policy that was the default when it was created). ``statement_tokens`` reads both that text and ours into the
  same token list, so the two compare equal exactly when they mean the same statement.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import re
from urllib.parse import urlencode

from ansible.module_utils.common.text.converters import to_bytes, to_text

from ansible_collections.sensingcam.ming.plugins.module_utils._api import (
    API_MESSAGE_LIMIT,
    ApiClient,
    ApiError,
    ApiModule,
    connection_argument_spec,
)

DEFAULT_PORT = 8086
# The shortest retention InfluxDB 1.x accepts for a retention policy (INF = 0 = keep forever is allowed too).
MIN_RETENTION_SECONDS = 3600
NO_ADMIN_TEXT = 'create admin user first'


class InfluxQLError(ApiError):
    """An error from InfluxDB 1.x; ``influx_message`` is InfluxDB's own error text, when it sent one."""

    influx_message = None


# --------------------------------------------------------------------------------------------------------------
# InfluxQL text
# --------------------------------------------------------------------------------------------------------------

def quote_ident(name):
    """An InfluxQL identifier, always double-quoted: ``"machine_events"``, ``"a\\"b"``."""
    return '"%s"' % to_text(name).replace('\\', '\\\\').replace('"', '\\"')


def quote_string(value):
    """An InfluxQL string literal (also for passwords): ``'it\\'s'``."""
    return "'%s'" % to_text(value).replace('\\', '\\\\').replace("'", "\\'")


def describe(kind, name, database=None):
    """How messages name an object: ``retention policy 'x' on database 'ming'``."""
    text = "%s '%s'" % (kind, name)
    return "%s on database '%s'" % (text, database) if database is not None else text


_GO_DURATION = re.compile(r'(\d+(?:\.\d+)?)(ns|us|\u00b5s|ms|s|m|h)')
_GO_UNITS = {'ns': 1e-9, 'us': 1e-6, '\u00b5s': 1e-6, 'ms': 1e-3, 's': 1, 'm': 60, 'h': 3600}


def go_duration_seconds(text):
    """Whole seconds of a Go duration as InfluxDB 1.x reports it (``720h0m0s``, ``0s``, ``1h30m0s``)."""
    text = to_text(text or '').strip()
    if not text or not _GO_DURATION.sub('', text) == '':
        raise ValueError('not a duration: %r' % text)
    return int(round(sum(float(number) * _GO_UNITS[unit] for number, unit in _GO_DURATION.findall(text))))


KEYWORDS = frozenset((
    'ALL', 'ALTER', 'AND', 'ANY', 'AS', 'ASC', 'BEGIN', 'BY', 'CARDINALITY', 'CREATE',
    'CONTINUOUS', 'DATABASE', 'DATABASES', 'DEFAULT', 'DELETE', 'DESC', 'DESTINATIONS', 'DIAGNOSTICS', 'DISTINCT',
    'DROP', 'DURATION', 'END', 'EVERY', 'EXACT', 'EXPLAIN', 'FIELD', 'FOR', 'FROM', 'GRANT', 'GRANTS', 'GROUP',
    'GROUPS', 'IN', 'INF', 'INSERT', 'INTO', 'KEY', 'KEYS', 'KILL', 'LIMIT', 'MEASUREMENT', 'MEASUREMENTS', 'NAME',
    'OFFSET', 'ON', 'OR', 'ORDER', 'PASSWORD', 'POLICIES', 'POLICY', 'PRIVILEGES', 'QUERIES', 'QUERY', 'READ',
    'REPLICATION', 'RESAMPLE', 'RETENTION', 'REVOKE', 'SELECT', 'SERIES', 'SET', 'SHARD', 'SHARDS', 'SLIMIT',
    'SOFFSET', 'STATS', 'SUBSCRIPTION', 'SUBSCRIPTIONS', 'TAG', 'TO', 'USER', 'USERS', 'VALUES', 'WHERE', 'WITH',
    'WRITE', 'TRUE', 'FALSE',
))
_DURATION_UNITS = {'ns': 1, 'u': 1000, 'us': 1000, '\u00b5': 1000, '\u00b5s': 1000, 'ms': 10 ** 6, 's': 10 ** 9,
                   'm': 60 * 10 ** 9, 'h': 3600 * 10 ** 9, 'd': 86400 * 10 ** 9, 'w': 7 * 86400 * 10 ** 9}
_DURATION_PART = re.compile(r'(\d+)(ns|us|\u00b5s|\u00b5|u|ms|s|m|h|d|w)')
_DURATION = re.compile(r'(?:\d+(?:ns|us|\u00b5s|\u00b5|u|ms|s|m|h|d|w))+(?![A-Za-z0-9_])')
_NUMBER = re.compile(r'\d+(?:\.\d*)?|\.\d+')
_WORD = re.compile(r'[A-Za-z_][A-Za-z0-9_]*')
_OPERATORS = ('=~', '!~', '!=', '<>', '<=', '>=', '::', '=', '<', '>', '+', '-', '*', '/', '%', '(', ')', ',',
              '.', ';', ':', '&', '|', '^')
# After these tokens a '/' starts a regular expression; elsewhere it divides.
_REGEX_AFTER = (('op', '=~'), ('op', '!~'), ('op', '('), ('op', ','), ('op', '.'), ('kw', 'FROM'))


def _quoted_text(text, start, quote):
    """(unescaped content, index after the closing quote) of a quoted token starting at ``start``."""
    out = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == '\\' and index + 1 < len(text):
            out.append(text[index + 1])
            index += 2
            continue
        if char == quote:
            return ''.join(out), index + 1
        out.append(char)
        index += 1
    raise ValueError('unterminated %s at character %d' % (quote, start + 1))


def _regex_text(text, start):
    index = start + 1
    while index < len(text):
        if text[index] == '\\' and index + 1 < len(text):
            index += 2
            continue
        if text[index] == '/':
            return text[start + 1:index], index + 1
        index += 1
    raise ValueError('unterminated regular expression at character %d' % (start + 1))


def influxql_tokens(text):
    """InfluxQL ``text`` as comparable tokens: (kind, value) with kind kw, id, func, str, regex, num, dur, op.

    Keywords are upper-cased, function names lower-cased, identifiers unquoted (case kept), durations in
    nanoseconds (``60m`` == ``1h``), numbers as floats (``2.5`` == ``2.500``), ``<>`` as ``!=``. Raises
    ValueError on text that cannot be read.
    """
    text = to_text(text)
    tokens = []
    index = 0
    while index < len(text):
        char = text[index]
        if char.isspace():
            index += 1
            continue
        if char == '"':
            value, index = _quoted_text(text, index, '"')
            tokens.append(('id', value))
            continue
        if char == "'":
            value, index = _quoted_text(text, index, "'")
            tokens.append(('str', value))
            continue
        if char == '/' and (not tokens or tokens[-1] in _REGEX_AFTER):
            value, index = _regex_text(text, index)
            tokens.append(('regex', value))
            continue
        match = _DURATION.match(text, index)
        if match:
            tokens.append(('dur', sum(int(number) * _DURATION_UNITS[unit]
                                      for number, unit in _DURATION_PART.findall(match.group(0)))))
            index = match.end()
            continue
        match = _NUMBER.match(text, index)
        if match:
            tokens.append(('num', float(match.group(0))))
            index = match.end()
            continue
        match = _WORD.match(text, index)
        if match:
            word = match.group(0)
            index = match.end()
            rest = text[index:].lstrip()
            if word.upper() in KEYWORDS:
                tokens.append(('kw', word.upper()))
            elif rest.startswith('('):
                tokens.append(('func', word.lower()))
            else:
                tokens.append(('id', word))
            continue
        for operator in _OPERATORS:
            if text.startswith(operator, index):
                tokens.append(('op', '!=' if operator == '<>' else operator))
                index += len(operator)
                break
        else:
            raise ValueError('unexpected character %r at character %d' % (char, index + 1))
    return tokens


_NAME_KINDS = ('id', 'regex', 'kw')


def _reference(tokens, start):
    """(parts, end) of the measurement reference at ``start``: ``db.rp.m``, ``rp.m``, ``m``, ``db..m``, ``:M``."""
    parts = []
    index = start
    current = None
    while index < len(tokens):
        kind, value = tokens[index]
        if kind == 'op' and value == '.':
            parts.append(current)
            current = None
            index += 1
            continue
        if kind == 'op' and value == ':' and index + 1 < len(tokens):
            current = ('backref', tokens[index + 1][1])
            index += 2
            continue
        if current is None and kind in _NAME_KINDS and not (kind == 'kw' and parts == [] and index != start):
            current = (kind, value) if kind != 'kw' else ('id', value)
            index += 1
            continue
        break
    parts.append(current)
    return parts, index


def qualify_measurements(tokens, database, default_rp):
    """``tokens`` with every INTO/FROM measurement as one ('ref', (db, rp, measurement)) token.

    ``default_rp(database)`` gives the retention policy a reference without one uses (the server fills in the
    database's default policy when it stores a continuous query).
    """
    out = []
    index = 0
    while index < len(tokens):
        token = tokens[index]
        out.append(token)
        index += 1
        if token not in (('kw', 'INTO'), ('kw', 'FROM')):
            continue
        while index < len(tokens) and tokens[index] != ('op', '('):
            parts, end = _reference(tokens, index)
            if end == index or not parts[-1]:
                break
            if len(parts) == 1:
                parts = [('id', database), None, parts[0]]
            elif len(parts) == 2:
                parts = [('id', database)] + parts
            db = parts[0] if parts[0] else ('id', database)
            rp = parts[1] if parts[1] else ('id', default_rp(db[1]))
            out.append(('ref', (db, rp, parts[2])))
            index = end
            if index < len(tokens) and tokens[index] == ('op', ',') and token == ('kw', 'FROM'):
                out.append(tokens[index])
                index += 1
                continue
            break
    return out


def continuous_query_statement(name, database, query, resample_every=None, resample_for=None):
    """The CREATE CONTINUOUS QUERY statement; ``resample_*`` are InfluxQL duration literals or None."""
    resample = ''
    if resample_every or resample_for:
        resample = ' RESAMPLE' + (' EVERY %s' % resample_every if resample_every else '') + \
                   (' FOR %s' % resample_for if resample_for else '')
    return 'CREATE CONTINUOUS QUERY %s ON %s%s BEGIN %s END' % (quote_ident(name), quote_ident(database), resample,
                                                                query.strip().rstrip(';').strip())


def statement_tokens(statement, database, default_rp):
    """Comparable tokens of a statement: ``influxql_tokens`` with INTO/FROM measurements fully qualified."""
    return qualify_measurements(influxql_tokens(statement), database, default_rp)


# --------------------------------------------------------------------------------------------------------------
# Client
# --------------------------------------------------------------------------------------------------------------

def basic_auth(username, password):
    token = base64.b64encode(to_bytes('%s:%s' % (username, password or ''))).decode('ascii')
    return 'Basic %s' % token


class InfluxQLClient(ApiClient):
    """One InfluxDB 1.x server; ``username``/``password`` go into the Basic header of every request."""

    service = 'InfluxDB'
    error_class = InfluxQLError

    def __init__(self, host, port=None, use_tls=False, validate_certs=True, ca_path=None, timeout=10, retries=2,
                 username=None, password=None, secrets=(), default_port=DEFAULT_PORT, **kwargs):
        headers = dict(kwargs.pop('headers', None) or {})
        super(InfluxQLClient, self).__init__(
            host, port=port, use_tls=use_tls, validate_certs=validate_certs, ca_path=ca_path, timeout=timeout,
            retries=retries, headers=headers, secrets=list(secrets or ()) + ([password] if password else []),
            default_port=default_port or DEFAULT_PORT, **kwargs)
        self.username = None
        self.login(username, password)

    def login(self, username, password):
        """Send ``username``/``password`` with every further request (None: no credentials)."""
        self.username = username or None
        self.headers.pop('Authorization', None)
        if username:
            self.headers['Authorization'] = basic_auth(username, password)
            if password and password not in self.secrets:
                self.secrets.append(password)

    # -- errors -----------------------------------------------------------------------------------------------
    def influx_message(self, response):
        try:
            body = json.loads(to_text(response.content))
        except (TypeError, ValueError):
            return ''
        text = body.get('error') if isinstance(body, dict) else None
        return text[:API_MESSAGE_LIMIT] if isinstance(text, str) else ''

    def status_error(self, response, what, path, context=None):
        """``context`` names the object; the message names it, the HTTP status and InfluxDB's words."""
        code = response.status_code
        said = self.influx_message(response)
        where = 'InfluxDB at %s' % self.base_url
        subject = ' (%s)' % context if context else ''
        if code == 401:
            kind = 'auth'
            if self.username:
                hint = "Check login_user ('%s') and login_password." % self.username
            else:
                hint = 'Set login_user and login_password (the server has authentication enabled).'
            text = '%s refused the credentials (HTTP 401) while trying to %s%s. %s' % (where, what, subject, hint)
        elif code == 403 and NO_ADMIN_TEXT in said:
            kind = 'no_admin'
            text = ('%s has authentication enabled and no user yet (HTTP 403) while trying to %s%s: create the '
                    'first admin user with sensingcam.ming.influxdb_user (admin: true) before anything else.'
                    % (where, what, subject))
        elif code == 403:
            kind = 'forbidden'
            text = ("%s did not allow %s to %s%s (HTTP 403): it lacks the privilege; use an admin user in "
                    'login_user.' % (where, "user '%s'" % self.username if self.username else 'an anonymous user',
                                     what, subject))
        elif code == 400:
            kind = 'invalid'
            text = '%s rejected the statement to %s%s (HTTP 400).' % (where, what, subject)
        elif code >= 500:
            kind = 'server'
            text = ("%s failed while trying to %s%s (HTTP %d). Try again later; if it persists, check InfluxDB's "
                    'log.' % (where, what, subject, code))
        else:
            kind = 'http'
            text = '%s answered HTTP %d while trying to %s%s.' % (where, code, what, subject)
        error = self.error(text + (' InfluxDB said: %s' % said if said else ''), kind, code, path)
        error.influx_message = said or None
        return error

    def statement_error(self, message, what, obj):
        """The error for a statement InfluxDB refused inside an HTTP 200 answer (``results[i].error``)."""
        text = 'InfluxDB at %s refused to %s%s: %s' % (self.base_url, what, ' (%s)' % obj if obj else '',
                                                       to_text(message)[:API_MESSAGE_LIMIT])
        error = self.error(text, 'statement', 200, '/query')
        error.influx_message = to_text(message)
        return error

    # -- statements -------------------------------------------------------------------------------------------
    def query(self, statements, what, obj=None, database=None, write=False):
        """Send ``statements`` (text or list, joined with ';') in one POST; returns ``results`` (one per statement).

        ``write`` marks statements that change something: they are sent once, never retried. ``obj`` names the
        object in errors. A statement error raises InfluxQLError kind ``statement``.
        """
        if not isinstance(statements, (list, tuple)):
            statements = [statements]
        form = [('q', '; '.join(statements))]
        if database:
            form.append(('db', database))
        response = self.request('POST', '/query', what, data=to_bytes(urlencode(form)),
                                headers={'Content-Type': 'application/x-www-form-urlencoded'},
                                idempotent=not write, context=obj)
        body = self.json_of(response, what) or {}
        if not isinstance(body, dict) or not isinstance(body.get('results', []), list):
            raise self.error('The reply of InfluxDB at %s to %s is not an InfluxQL result.' % (self.base_url, what),
                             'protocol', path='/query')
        if body.get('error'):
            raise self.statement_error(body['error'], what, obj)
        results = body.get('results') or []
        for result in results:
            if isinstance(result, dict) and result.get('error'):
                raise self.statement_error(result['error'], what, obj)
        return results

    def execute(self, statements, what, obj=None, database=None):
        """``query`` for statements that change something."""
        return self.query(statements, what, obj=obj, database=database, write=True)

    def rows(self, statement, what, obj=None, database=None):
        """The rows of a SHOW statement as dicts (column -> value), each with ``_series`` (the series name)."""
        found = []
        for result in self.query(statement, what, obj=obj, database=database):
            for series in (result or {}).get('series') or []:
                columns = series.get('columns') or []
                for values in series.get('values') or []:
                    row = dict(zip(columns, values, strict=False))
                    row['_series'] = series.get('name')
                    found.append(row)
        return found

    def authenticates(self, username, password):
        """Whether ``username``/``password`` log in (a ``SHOW DATABASES`` with their Basic header; a read)."""
        what = "check the password of user '%s'" % username
        headers = {'Authorization': basic_auth(username, password)}
        try:
            self.request('POST', '/query', what, data=to_bytes(urlencode([('q', 'SHOW DATABASES')])),
                         headers=dict(headers, **{'Content-Type': 'application/x-www-form-urlencoded'}),
                         idempotent=True, context="user '%s'" % username)
        except InfluxQLError as exc:
            if exc.status_code == 401:
                return False
            raise
        return True

    # -- lookups ----------------------------------------------------------------------------------------------
    def databases(self):
        return [row.get('name') for row in self.rows('SHOW DATABASES', 'list the databases')]

    def retention_policies(self, database):
        """The retention policies of ``database`` as dicts; None when the database does not exist."""
        obj = "database '%s'" % database
        try:
            return self.rows('SHOW RETENTION POLICIES ON %s' % quote_ident(database),
                             'list the retention policies', obj=obj)
        except InfluxQLError as exc:
            if exc.kind == 'statement' and 'database not found' in (exc.influx_message or ''):
                return None
            raise

    def default_retention_policy(self, database):
        """Name of the default retention policy of ``database`` (None when it has none or does not exist)."""
        return next((row.get('name') for row in self.retention_policies(database) or [] if row.get('default')),
                    None)


# --------------------------------------------------------------------------------------------------------------
# Ansible side
# --------------------------------------------------------------------------------------------------------------

def influxql_connection_spec():
    """The connection options of doc fragment ``sensingcam.ming.influxdb_v1``."""
    spec = connection_argument_spec()
    spec['port'] = dict(type='int', default=DEFAULT_PORT)
    spec['login_user'] = dict(type='str')
    spec['login_password'] = dict(type='str', no_log=True)
    return spec


class InfluxQLModule(ApiModule):
    """Base of the InfluxDB 1.x modules: the connection options and an ``InfluxQLClient`` logged in as login_user."""

    client_class = InfluxQLClient
    default_port = DEFAULT_PORT
    service = 'InfluxDB'
    expected_errors = (InfluxQLError,)
    required_together = [('login_user', 'login_password')]

    @classmethod
    def connection_spec(cls):
        return influxql_connection_spec()

    def client_options(self):
        return dict(username=self.params.get('login_user'), password=self.params.get('login_password'))
