# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client of the InfluxDB OSS 2.x HTTP API (``/api/v2``) and the base of the ``influxdb_*`` 2.x modules.

On the transport of ``_api``. Shapes and status codes from InfluxData's OpenAPI document for OSS 2.x
(``api-docs/influxdb/v2/influxdb-oss-v2-openapi.yaml``):

- Every request carries ``Authorization: Token <token>``; the token is scrubbed from every message.
- An error answer has the ``Error`` body ``{code, message}`` (``code`` such as ``unauthorized``, ``not found``,
  ``conflict``, ``invalid``, ``unprocessable entity``). Our message names the object (``bucket 'x'``), the HTTP
  status, InfluxDB's code and message; 401 names the option that holds the token to check.
- Lists: ``GET /api/v2/orgs?org=`` -> ``{orgs}``, ``/api/v2/buckets?name=&orgID=`` -> ``{buckets}``,
  ``/api/v2/authorizations?orgID=`` -> ``{authorizations}``, ``/api/v2/dbrps?orgID=`` -> ``{content}``,
  ``/api/v2/tasks?orgID=&name=`` -> ``{tasks}``, ``/api/v2/remotes?orgID=&name=`` -> ``{remotes}``,
  ``/api/v2/replications?orgID=&name=`` -> ``{replications}`` (influxdata/openapi ``src/oss/paths``; ``orgID`` is
  required there, and neither list pages).

``InfluxDBModule`` adds the shared connection options (doc fragment ``sensingcam.ming.influxdb``: host, port 8086,
use_tls, validate_certs, ca_path, timeout, retries, token, org) and the organization lookup every module needs.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sensingcam.ming.plugins.module_utils._api import (
    ApiError,
    ApiModule,
    TokenApiClient,
    connection_argument_spec,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import (
    DurationError,
    format_duration,
    parse_duration,
)

DEFAULT_PORT = 8086
# Page size of list requests that page (buckets, tasks); the OpenAPI maximum is 100.
PAGE_LIMIT = 100
# The shortest retention InfluxDB 2.x accepts for a bucket (0 = keep forever is allowed too).
MIN_RETENTION_SECONDS = 3600


def retention_seconds(value, option='retention'):
    """Seconds of a bucket retention (``30d``; 0/``infinite`` = forever). Raises DurationError naming ``option``
    for text that is no duration and for anything shorter than 1 hour (InfluxDB refuses those)."""
    seconds = parse_duration(value, option)
    if 0 < seconds < MIN_RETENTION_SECONDS:
        raise DurationError("%s='%s' is %s, shorter than the 1 hour InfluxDB 2.x keeps data at least: give 1h or "
                            'more, or 0 (infinite) to keep data forever.' % (option, value, format_duration(seconds)))
    return seconds


class InfluxDBError(ApiError):
    """An error talking to InfluxDB 2.x; ``influx_code`` is the ``code`` of InfluxDB's Error body, when sent."""

    influx_code = None


def quoted(kind, name):
    """How messages name an object: ``bucket 'machine_events'``."""
    return "%s '%s'" % (kind, name) if name is not None else kind


class InfluxDBClient(TokenApiClient):
    """One InfluxDB 2.x server. ``token_option`` is the module option the token came from (401 messages name it)."""

    service = 'InfluxDB'
    error_class = InfluxDBError
    authorization_scheme = 'Token'
    default_port = DEFAULT_PORT

    def status_error(self, response, what, path, context=None):
        """``context`` names the object (``bucket 'x'``); the message names it, the status and InfluxDB's words."""
        code = response.status_code
        influx_code, influx_message = self.error_body(response)
        where = 'InfluxDB at %s' % self.base_url
        subject = ' (%s)' % context if context and context not in what else ''
        said = ' InfluxDB said: %s%s' % ('%s: ' % influx_code if influx_code else '', influx_message) \
            if influx_message or influx_code else ''
        if code == 401:
            kind = 'auth'
            if self.has_token:
                hint = ('Check `%s`: it must be a valid, active API token of this InfluxDB that holds the permission '
                        'for this (tokens of another instance, deleted or inactive tokens are refused, and InfluxDB '
                        'answers 401 for a missing permission too).' % self.token_option)
            else:
                hint = 'Set `%s` to an API token of this InfluxDB.' % self.token_option
            text = '%s refused the token (HTTP 401) while trying to %s%s. %s' % (where, what, subject, hint)
        elif code == 403:
            kind = 'forbidden'
            text = ('%s did not allow the token in `%s` to %s%s (HTTP 403): it lacks the permission; use a token '
                    'with it (for example the operator token).' % (where, self.token_option, what, subject))
        elif code == 404:
            kind = 'not_found'
            text = '%s: not found (HTTP 404) while trying to %s%s.' % (where, what, subject)
        elif code == 409:
            kind = 'conflict'
            text = ('%s refused to %s%s: conflict (HTTP 409), an object with that name already exists or is in '
                    'the way.' % (where, what, subject))
        elif code in (400, 422):
            kind = 'invalid'
            text = '%s rejected the request to %s%s as invalid (HTTP %d).' % (where, what, subject, code)
        elif code == 413:
            kind = 'http'
            text = '%s refused to %s%s: request too large (HTTP 413).' % (where, what, subject)
        elif code == 429:
            kind = 'busy'
            text = '%s is busy (HTTP 429) and refused to %s%s. Try again later.' % (where, what, subject)
        elif code >= 500:
            kind = 'server'
            text = ("%s failed while trying to %s%s (HTTP %d). Try again later; if it persists, check InfluxDB's "
                    'log.' % (where, what, subject, code))
        else:
            kind = 'http'
            text = '%s answered HTTP %d while trying to %s%s.' % (where, code, what, subject)
        error = self.error(text + said, kind, code, path)
        error.influx_code = influx_code or None
        return error

    # -- requests with the object named -----------------------------------------------------------------------
    def call(self, method, path, what, obj=None, body=None, query=None, allow_empty=True, **kwargs):
        """One JSON request; ``obj`` names the object in errors. Returns the decoded body (None when empty)."""
        options = dict(kwargs)
        if body is not None:
            options['body'] = body
        response = self.request(method, path, what, query=query, context=obj, **options)
        return self.json_of(response, what, allow_empty=allow_empty)

    def get_list(self, path, key, what, query=None, obj=None, paged=False):
        """The list under ``key`` of a GET answer; with ``paged``, all pages (``limit``/``offset``)."""
        query = dict(query or {})
        items = []
        offset = 0
        while True:
            if paged:
                query.update(limit=PAGE_LIMIT, offset=offset)
            body = self.call('GET', path, what, obj=obj, query=query) or {}
            page = body.get(key) if isinstance(body, dict) else None
            if page is None:
                page = []
            if not isinstance(page, list):
                raise self.error('The reply of InfluxDB at %s to %s has no list `%s`.' % (self.base_url, what, key),
                                 'protocol', path=path)
            items.extend(item for item in page if isinstance(item, dict))
            if not paged or len(page) < PAGE_LIMIT:
                return items
            offset += len(page)

    # -- setup ------------------------------------------------------------------------------------------------
    def setup_allowed(self):
        """Whether InfluxDB still accepts the initial setup (``GET /api/v2/setup`` -> ``{allowed}``)."""
        body = self.call('GET', '/api/v2/setup', 'check whether the initial setup is allowed') or {}
        return bool(body.get('allowed')) if isinstance(body, dict) else False

    # -- organizations ----------------------------------------------------------------------------------------
    def org(self, name):
        """The organization named ``name`` (dict), or None when there is none."""
        obj = quoted('organization', name)
        try:
            orgs = self.get_list('/api/v2/orgs', 'orgs', 'look up the %s' % obj, query={'org': name}, obj=obj)
        except InfluxDBError as exc:
            if exc.status_code == 404:  # OSS answers 404 for an unknown ?org= name
                return None
            raise
        return next((o for o in orgs if o.get('name') == name), None)

    def org_id(self, name, option='org'):
        """The ID of organization ``name``; an error naming ``option`` when it does not exist."""
        org = self.org(name)
        if org is None:
            raise self.error("InfluxDB at %s has no organization '%s': check `%s` (organization names are "
                             'case-sensitive), or run influxdb_setup first.' % (self.base_url, name, option),
                             'not_found', path='/api/v2/orgs')
        return org.get('id')

    # -- buckets ----------------------------------------------------------------------------------------------
    def bucket(self, name, org_id):
        """The bucket ``name`` of the organization ``org_id`` (dict), or None."""
        obj = quoted('bucket', name)
        try:
            buckets = self.get_list('/api/v2/buckets', 'buckets', 'look up the %s' % obj,
                                    query={'name': name, 'orgID': org_id}, obj=obj)
        except InfluxDBError as exc:
            if exc.status_code == 404:
                return None
            raise
        return next((b for b in buckets if b.get('name') == name), None)

    def bucket_id(self, name, org_id, option='bucket'):
        """The ID of bucket ``name``; an error naming ``option`` when the organization has no such bucket."""
        bucket = self.bucket(name, org_id)
        if bucket is None:
            raise self.error("InfluxDB at %s has no bucket '%s' in this organization: check `%s`, or create the "
                             'bucket first (influxdb_bucket).' % (self.base_url, name, option), 'not_found',
                             path='/api/v2/buckets')
        return bucket.get('id')

    def buckets(self, org_id):
        """Every bucket of the organization ``org_id``."""
        return self.get_list('/api/v2/buckets', 'buckets', 'list the buckets', query={'orgID': org_id}, paged=True)

    # -- authorizations ---------------------------------------------------------------------------------------
    def authorizations(self, org_id):
        """Every authorization of the organization ``org_id`` (``token`` is absent or hashed since 2.9)."""
        return self.get_list('/api/v2/authorizations', 'authorizations', 'list the API tokens',
                             query={'orgID': org_id})

    # -- remote connections and replications (edge data replication) -------------------------------------------
    def remotes(self, org_id, name=None):
        """The remote connections of the organization ``org_id`` (``name``: only that one). Never a token: the API
        does not return it."""
        query = {'orgID': org_id}
        if name is not None:
            query['name'] = name
        obj = quoted('remote connection', name)
        return self.get_list('/api/v2/remotes', 'remotes', 'look up the %s' % obj if name else 'list the remote '
                             'connections', query=query, obj=obj if name else None)

    def remote(self, name, org_id):
        """The remote connection ``name`` (dict), or None."""
        return next((r for r in self.remotes(org_id, name) if r.get('name') == name), None)

    def replications(self, org_id, name=None):
        """The replications of the organization ``org_id`` (``name``: only that one)."""
        query = {'orgID': org_id}
        if name is not None:
            query['name'] = name
        obj = quoted('replication', name)
        return self.get_list('/api/v2/replications', 'replications', 'look up the %s' % obj if name else
                             'list the replications', query=query, obj=obj if name else None)

    def replication(self, name, org_id):
        """The replication ``name`` (dict), or None."""
        return next((r for r in self.replications(org_id, name) if r.get('name') == name), None)


def influxdb_argument_spec():
    """The connection options of every influxdb_* 2.x module (doc fragment sensingcam.ming.influxdb)."""
    spec = connection_argument_spec()
    spec['port'] = dict(type='int', default=DEFAULT_PORT)
    spec['token'] = dict(type='str', no_log=True, required=True)
    spec['org'] = dict(type='str', required=True)
    return spec


class InfluxDBModule(ApiModule):
    """Base of the influxdb_* 2.x modules: connection options, the token header, the organization ID.

    ``token_option``: the option whose value authenticates (401 messages name it).
    """

    service = 'InfluxDB'
    default_port = DEFAULT_PORT
    client_class = InfluxDBClient
    token_option = 'token'  # noqa: S105 (an option name)
    expected_errors = (ApiError, DurationError)

    @classmethod
    def connection_spec(cls):
        return influxdb_argument_spec()

    def auth_token(self):
        """The token sent in the Authorization header (override to use another option)."""
        return self.params.get(self.token_option)

    def client_options(self):
        return dict(token=self.auth_token(), token_option=self.token_option)

    _org_id = None

    def org_id(self):
        """The ID of the organization in ``org`` (looked up once)."""
        if self._org_id is None:
            self._org_id = self.client.org_id(self.params['org'])
        return self._org_id
