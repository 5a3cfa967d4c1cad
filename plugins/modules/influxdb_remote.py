#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_remote
short_description: Keep an InfluxDB 2.x remote connection (the target of edge data replication)
version_added: 0.4.0
description:
  - Keeps one remote connection of an InfluxDB OSS 2.x organization, identified by its O(name), through
    C(/api/v2/remotes) - the other InfluxDB that replications (M(sensingcam.ming.influxdb_replication)) write to.
  - Only the options you set are compared; a differing remote connection is changed in place (C(PATCH)), so the
    replications using it keep their queues.
  - B(The token is write-only.) InfluxDB never returns O(remote_token), not even hashed. To notice a changed token
    without sending it on every run, the module keeps a fingerprint at the end of the connection's description,
    C([token fingerprint <16 hex digits>]), the first 16 hex digits of a SHA-256 over the connection's name and
    the token (the token cannot be recovered from it). A re-run whose token has the same fingerprint sends no write.
    Limits - a connection created elsewhere (no fingerprint) gets its token set once; a token changed behind the
    module's back while the fingerprint stays is not noticed (the replications then report HTTP 401 in
    C(latestResponseCode)).
extends_documentation_fragment:
  - sensingcam.ming.influxdb
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The token is shown as C(********), with C((changed)) when it is set.
  idempotent:
    support: full
    details:
      - The token by its fingerprint in the description (see above).
options:
  name:
    description:
      - Name of the remote connection, unique in O(org).
    type: str
    required: true
  remote_url:
    description:
      - Base URL of the remote InfluxDB, for example V(https://influxdb.central.example:8086). Required to create.
      - An C(https) URL is checked against the CA the local InfluxDB trusts (the role's C(SSL_CERT_FILE)).
    type: str
  remote_org_id:
    description:
      - ID (not name) of the organization on the remote InfluxDB the replicated points are written to. Required to
        create (a remote OSS 2.x needs it).
    type: str
  remote_token:
    description:
      - API token of the remote InfluxDB that may write to the replicated buckets there. Required to create.
      - Write-only; compared by its fingerprint (see the description).
    type: str
  allow_insecure_tls:
    description:
      - Skip the check of the remote's certificate. Leave it off; V(true) is only for a test set-up.
    type: bool
    default: false
  description:
    description:
      - Free text shown in InfluxDB's UI (the token fingerprint is appended to it).
    type: str
  state:
    description:
      - V(absent) deletes the remote connection. Delete its replications first.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: sensingcam.ming.influxdb_replication
  - module: sensingcam.ming.influxdb_token
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: The central InfluxDB as the target of this plant's replications
  sensingcam.ming.influxdb_remote:
    host: influxdb.plant-north.example
    use_tls: true
    token: "{{ influxdb_operator_token }}"
    org: ming
    name: central
    remote_url: https://influxdb.central.example:8086
    remote_org_id: 0a3cbb5dd5260002
    remote_token: "{{ lookup('ansible.builtin.file', 'secrets/influxdb-token-replication-north') }}"
  delegate_to: localhost
'''

RETURN = r'''
remote:
  description: The remote connection after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The remote connection ID (absent for one check mode would create).
      type: str
    name:
      description: The name.
      type: str
    remote_url:
      description: The remote's base URL.
      type: str
    remote_org_id:
      description: The remote organization ID.
      type: str
    allow_insecure_tls:
      description: Whether the remote's certificate is left unchecked.
      type: bool
    description:
      description: The description without the token fingerprint.
      type: str
    remote_token:
      description: C(********) when a token fingerprint is recorded (C(******** (changed)) when set by this run).
      type: str
  sample: {id: 0a3cbb5dd5260007, name: central, remote_url: 'https://influxdb.central.example:8086',
           remote_org_id: 0a3cbb5dd5260002, allow_insecure_tls: false, description: '', remote_token: '********'}
'''

import hashlib  # noqa: E402
import re  # noqa: E402

from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import InfluxDBModule, quoted  # noqa: E402

FINGERPRINT_RE = re.compile(r'\s*\[token fingerprint ([0-9a-f]{16})\]$')
OPTION_FIELDS = (('remote_url', 'remoteURL'), ('remote_org_id', 'remoteOrgID'),
                 ('allow_insecure_tls', 'allowInsecureTLS'))


def split_description(text):
    """(the user's description, the fingerprint or None) of a stored description."""
    text = text or ''
    match = FINGERPRINT_RE.search(text)
    if match is None:
        return text, None
    return text[:match.start()], match.group(1)


class InfluxDBRemote(InfluxDBModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        remote_url=dict(type='str'),
        remote_org_id=dict(type='str'),
        remote_token=dict(type='str', no_log=True),
        allow_insecure_tls=dict(type='bool', default=False),
        description=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    options = ('remote_url', 'remote_org_id', 'remote_token', 'allow_insecure_tls', 'description')
    write_only = ('remote_token',)
    result_key = 'remote'

    @property
    def obj(self):
        return quoted('remote connection', self.params['name'])

    def fingerprint(self, value):
        """16 hex digits of a SHA-256 over the connection's name and the token."""
        digest = hashlib.sha256(to_bytes('sensingcam.ming remote token\0%s\0%s' % (self.params['name'], value)))
        return digest.hexdigest()[:16]

    def validate(self, wanted):
        url = wanted.get('remote_url')
        if url is not None and not re.match(r'^https?://[^/\s]+', url):
            self.fail("remote_url='%s' is not an http(s) URL: give the remote InfluxDB's base URL, for example "
                      'https://influxdb.central.example:8086.' % url)

    def read(self):
        remote = self.client.remote(self.params['name'], self.org_id())
        if remote is None:
            return None
        description, fingerprint = split_description(remote.get('description'))
        return {
            'id': remote.get('id'),
            'name': remote.get('name'),
            'remote_url': remote.get('remoteURL'),
            'remote_org_id': remote.get('remoteOrgID'),
            'allow_insecure_tls': bool(remote.get('allowInsecureTLS')),
            'description': description,
            'remote_token': fingerprint,
        }

    def check_change(self, changes, current):
        if current is None:
            missing = [option for option in ('remote_url', 'remote_org_id', 'remote_token') if not changes.get(option)]
            if missing:
                self.fail('Creating the %s needs %s: set %s.' % (self.obj, ', '.join(missing),
                                                                 ' and '.join('`%s`' % m for m in missing)))

    def stored_description(self, wanted, current=None):
        current = current or {}
        text = wanted.get('description', current.get('description') or '')
        fingerprint = self.fingerprint(wanted['remote_token']) if 'remote_token' in wanted \
            else current.get('remote_token')
        if fingerprint:
            text = ('%s [token fingerprint %s]' % (text, fingerprint)).lstrip()
        return text

    def create(self, wanted):
        body = {'name': self.params['name'], 'orgID': self.org_id(), 'remoteURL': wanted['remote_url'],
                'remoteAPIToken': wanted['remote_token'], 'remoteOrgID': wanted['remote_org_id'],
                'allowInsecureTLS': bool(wanted.get('allow_insecure_tls')),
                'description': self.stored_description(wanted)}
        self.client.call('POST', '/api/v2/remotes', 'create the %s' % self.obj, obj=self.obj, body=body)

    def update(self, changes, current):
        body = dict((field, changes[option]) for option, field in OPTION_FIELDS if option in changes)
        if 'remote_token' in changes:
            body['remoteAPIToken'] = changes['remote_token']
        if 'remote_token' in changes or 'description' in changes:
            body['description'] = self.stored_description(changes, current)
        self.client.call('PATCH', '/api/v2/remotes/%s' % current['id'], 'change the %s' % self.obj, obj=self.obj,
                         body=body)

    def delete(self, current):
        self.client.call('DELETE', '/api/v2/remotes/%s' % current['id'], 'delete the %s' % self.obj, obj=self.obj)

    def predict(self, before, wanted):
        after = super(InfluxDBRemote, self).predict(before, wanted)
        after.setdefault('name', self.params['name'])
        after.setdefault('description', '')
        return after


def main():
    InfluxDBRemote().run()


if __name__ == '__main__':
    main()
