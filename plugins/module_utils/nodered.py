# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Client of the Node-RED admin HTTP API and the base of the ``nodered_*`` modules.

On the transport of ``_api``. Facts from the Node-RED admin API documentation (``docs/api/admin/methods``) and
the runtime of Node-RED 4.1 (``@node-red/runtime/lib/api/flows.js``, ``flows/index.js``):

- Every request carries ``Authorization: Bearer <token>`` (a static service token that ``adminAuth.tokens`` in
  settings.js accepts) and ``Node-RED-API-Version: v2``; the token is scrubbed from every message.
- ``GET /flows`` (permission ``flows.read``) answers ``{"rev": "...", "flows": [...]}`` with v2. Node-RED never
  returns credentials there.
- ``POST /flows`` (permission ``flows.write``) takes ``{"rev", "flows", "credentials"}`` and answers
  ``{"rev": "<new>"}``; a ``rev`` that is no longer the deployed one answers **409** ``version_mismatch``.
  ``Node-RED-Deployment-Type`` is ``full`` (stop everything, start everything), ``flows`` or ``nodes`` (restart
  only what changed). ``credentials`` maps node ids to the complete set of credential fields of that node; Node-RED
  keeps the stored credentials of nodes not named there.
- An error answer is ``{"code": "...", "message": "..."}``; 401 and 403 have no body.

``NodeRedModule`` adds the shared connection options (host, port 1880, use_tls, validate_certs, ca_path, timeout,
retries, token) and the client built from them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.sensingcam.ming.plugins.module_utils._api import (
    ApiError,
    ApiModule,
    TokenApiClient,
    connection_argument_spec,
)

DEFAULT_PORT = 1880
API_VERSION = 'v2'
DEPLOYMENT_TYPES = ('full', 'flows', 'nodes')


class NodeRedError(ApiError):
    """An error talking to Node-RED; ``nodered_code`` is the ``code`` of Node-RED's error body, when sent."""

    nodered_code = None


class NodeRedClient(TokenApiClient):
    """One Node-RED runtime's admin API. ``token_option`` is the module option the token came from."""

    service = 'Node-RED admin API'
    error_class = NodeRedError
    authorization_scheme = 'Bearer'
    default_port = DEFAULT_PORT
    fixed_headers = {'Node-RED-API-Version': API_VERSION}

    def status_error(self, response, what, path, context=None):
        code = response.status_code
        nodered_code, nodered_message = self.error_body(response)
        where = 'Node-RED at %s' % self.base_url
        said = ' Node-RED said: %s%s' % ('%s: ' % nodered_code if nodered_code else '', nodered_message) \
            if nodered_message or nodered_code else ''
        if code == 401:
            kind = 'auth'
            if self.has_token:
                hint = ('Check `%s`: it must be the service token that adminAuth.tokens in Node-RED\'s settings.js '
                        'accepts (the role writes both; a token of another Node-RED or a rotated one is refused).'
                        % self.token_option)
            else:
                hint = 'Set `%s` to the service token that adminAuth.tokens in settings.js accepts.' % self.token_option
            text = '%s refused the token (HTTP 401) while trying to %s. %s' % (where, what, hint)
        elif code == 403:
            kind = 'forbidden'
            text = ('%s did not allow the token in `%s` to %s (HTTP 403): the user adminAuth.tokens maps it to lacks '
                    'the permission (flows.read to read, flows.write to deploy); give that user permissions "*".'
                    % (where, self.token_option, what))
        elif code == 409:
            kind = 'conflict'
            text = ('%s refused to %s: version mismatch (HTTP 409), the flows were deployed by someone else since '
                    'they were read.' % (where, what))
        elif code == 404:
            kind = 'not_found'
            text = ('%s has no %s (HTTP 404) while trying to %s: check `host` and `port` (the admin API may be moved '
                    'by httpAdminRoot).' % (where, path, what))
        elif code == 400:
            kind = 'invalid'
            text = '%s rejected the request to %s as invalid (HTTP 400).' % (where, what)
        elif code == 429:
            kind = 'busy'
            text = '%s is busy (HTTP 429) and refused to %s. Try again later.' % (where, what)
        elif code >= 500:
            kind = 'server'
            text = ("%s failed while trying to %s (HTTP %d). Try again later; if it persists, check Node-RED's log."
                    % (where, what, code))
        else:
            kind = 'http'
            text = '%s answered HTTP %d while trying to %s.' % (where, code, what)
        error = self.error(text + said, kind, code, path)
        error.nodered_code = nodered_code or None
        return error

    # -- flows ------------------------------------------------------------------------------------------------
    def get_flows(self):
        """``(rev, flows)`` of the deployed flow configuration; ``rev`` is None when Node-RED sends none."""
        what = 'read the deployed flows'
        body = self.json_of(self.request('GET', '/flows', what), what)
        if not isinstance(body, dict) or not isinstance(body.get('flows'), list):
            raise self.error('The reply of Node-RED at %s to %s is not a v2 flow response ({"rev", "flows"}): it '
                             'needs Node-RED 0.15 or later.' % (self.base_url, what), 'protocol', path='/flows')
        rev = body.get('rev')
        return (rev if isinstance(rev, str) and rev else None), body['flows']

    def post_flows(self, rev, flows, credentials=None, deployment_type='full'):
        """Deploy ``flows`` (with ``credentials`` by node id) on top of revision ``rev``; returns the new rev.

        Sent once, never retried: a stale ``rev`` raises NodeRedError with kind ``conflict`` (HTTP 409).
        """
        what = 'deploy the flows'
        body = {'flows': flows}
        if rev:
            body['rev'] = rev
        if credentials:
            body['credentials'] = credentials
        response = self.request('POST', '/flows', what, body=body, idempotent=False,
                                headers={'Node-RED-Deployment-Type': deployment_type})
        answer = self.json_of(response, what)
        new_rev = answer.get('rev') if isinstance(answer, dict) else None
        return new_rev if isinstance(new_rev, str) and new_rev else None


def nodered_argument_spec():
    """The connection options of every nodered_* module."""
    spec = connection_argument_spec()
    spec['port'] = dict(type='int', default=DEFAULT_PORT)
    spec['token'] = dict(type='str', no_log=True, required=True)
    return spec


class NodeRedModule(ApiModule):
    """Base of the nodered_* modules: connection options and the client with the service token."""

    service = 'Node-RED'
    default_port = DEFAULT_PORT
    client_class = NodeRedClient
    token_option = 'token'  # noqa: S105 (an option name)

    @classmethod
    def connection_spec(cls):
        return nodered_argument_spec()

    def client_options(self):
        return dict(token=self.params.get(self.token_option), token_option=self.token_option)
