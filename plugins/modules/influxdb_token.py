#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_token
short_description: Keep a scoped InfluxDB 2.x API token and its value in the collection's secret store
version_added: 0.3.0
description:
  - Keeps one API token (authorization) of an InfluxDB OSS 2.x organization, identified by its O(description),
    with exactly the permissions you declare, for example write on one bucket for Node-RED or read for Grafana.
  - Since InfluxDB 2.9 tokens are hashed; the value exists only in the answer to its creation. This module's
    action plugin captures it then and writes it to O(store_path) on the controller, so later plays read it with
    C(lookup('ansible.builtin.file', store_path)). The value is never in the result, a diff or a log.
  - A re-run with the token in InfluxDB and its value in the store reports no change. A token that exists in
    InfluxDB but whose value is not in the store fails, naming O(rotate); O(rotate=true) replaces it. InfluxDB
    before 2.9 (or with token hashing off) still shows the value; then it is stored without a change in InfluxDB.
  - InfluxDB cannot change the permissions of a token (only its description and status). Different permissions,
    or O(rotate=true), replace the token, in this order; create the new one, store its value, delete the old one.
    The result says C(replaced=true).
extends_documentation_fragment:
  - sensingcam.ming.influxdb
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Predicts the change; creates, stores and deletes nothing.
  diff_mode:
    support: full
    details:
      - Shows the description, status and permissions; never the value.
  idempotent:
    support: full
  action:
    description:
      - Indicates this has a corresponding action plugin so some parts of the options can be executed on the
        controller.
    support: full
    details:
      - The action plugin runs on the controller and writes the store there.
options:
  description:
    description:
      - What identifies the token in O(org), for example V(node-red write machine_events). Exactly one token of
        the organization may have it.
    type: str
    required: true
  permissions:
    description:
      - What the token may do. Required with O(state=present); at least one entry.
    type: list
    elements: dict
    suboptions:
      action:
        description:
          - V(read) or V(write).
        type: str
        required: true
        choices: [read, write]
      bucket:
        description:
          - Name of a bucket of O(org) the permission is on. Give this or O(permissions[].type).
        type: str
      type:
        description:
          - A resource type of O(org) the permission is on as a whole, for example V(tasks) or V(buckets) (all
            buckets). Give this or O(permissions[].bucket).
        type: str
        choices: [authorizations, buckets, dashboards, orgs, tasks, telegrafs, users, variables, secrets, labels,
                  views, documents, notificationRules, notificationEndpoints, checks, dbrp, annotations, sources,
                  scrapers, notebooks, remotes, replications]
  state:
    description:
      - V(absent) deletes the token from InfluxDB and its value from O(store_path).
    type: str
    choices: [present, absent]
    default: present
  rotate:
    description:
      - Replace the token even though it has the declared permissions; create a new one, store its value, delete
        the old one. Needed when the value is lost (not in the store).
    type: bool
    default: false
  store_path:
    description:
      - File on the controller that holds the token's value; a relative path is relative to the playbook.
        Required with O(state=present).
      - With O(store_format=plain) it is written with mode 0600 (a missing directory is created with mode 0700),
        atomically, and holds only the value.
    type: path
  store_format:
    description:
      - V(plain) writes the value as it is. V(vault) encrypts it with the play's vault secret (the one named by
        O(store_vault_id), or the first one); without a vault secret the task fails before any request.
      - C(lookup('ansible.builtin.file', store_path)) reads either.
    type: str
    choices: [plain, vault]
    default: plain
  store_vault_id:
    description:
      - Vault ID of the secret to encrypt with when O(store_format=vault).
    type: str
  value_stored:
    description:
      - Set by the action plugin, not by you; whether O(store_path) already holds a value.
    type: bool
    default: false
  retire_id:
    description:
      - Set by the action plugin, not by you; after it stored a replacement, the ID of the replaced token to delete.
    type: str
notes:
  - The token's value is only known to InfluxDB 2.9 in hashed form; the store is the only copy. Back it up with the
    rest of the collection's secrets.
seealso:
  - module: sensingcam.ming.influxdb_bucket
  - module: sensingcam.ming.influxdb_task
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Write-only token for Node-RED, kept vault-encrypted next to the inventory
  sensingcam.ming.influxdb_token:
    host: influxdb.plant.example
    use_tls: true
    token: "{{ influxdb_operator_token }}"
    org: ming
    description: node-red write machine_events
    permissions:
      - action: write
        bucket: machine_events
    store_path: "{{ inventory_dir }}/secrets/influxdb_node_red_token.vault"
    store_format: vault
  delegate_to: localhost

- name: Use it
  ansible.builtin.debug:
    msg: "{{ lookup('ansible.builtin.file', inventory_dir ~ '/secrets/influxdb_node_red_token.vault') | length }}"
'''

RETURN = r'''
authorization:
  description: The token after the run (as it would be, in check mode), without its value; empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The authorization ID (absent for one check mode would create).
      type: str
    description:
      description: The description.
      type: str
    status:
      description: V(active) or V(inactive).
      type: str
    permissions:
      description: The permissions, as O(permissions) writes them (sorted).
      type: list
      elements: dict
  sample: {id: 0c1d, description: grafana read, status: active, permissions: [{action: read, bucket: machine_events}]}
replaced:
  description: Whether the token was (would be) replaced by a new one (O(rotate), or other permissions).
  returned: always
  type: bool
stored:
  description: Whether this run wrote the value to O(store_path).
  returned: always
  type: bool
retired_id:
  description: ID of the replaced token the run deleted after the new value was stored.
  returned: when a token was replaced
  type: str
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import InfluxDBModule  # noqa: E402

RESOURCE_TYPES = ['authorizations', 'buckets', 'dashboards', 'orgs', 'tasks', 'telegrafs', 'users', 'variables',
                  'secrets', 'labels', 'views', 'documents', 'notificationRules', 'notificationEndpoints', 'checks',
                  'dbrp', 'annotations', 'sources', 'scrapers', 'notebooks', 'remotes', 'replications']
# The key of the module result that carries a new token's value to the action plugin (which removes it).
VALUE_KEY = 'new_token_value'


def permission_key(permission):
    """(action, type, id) of an InfluxDB permission; id '' for a whole type."""
    resource = permission.get('resource') if isinstance(permission.get('resource'), dict) else {}
    return permission.get('action'), resource.get('type'), resource.get('id') or ''


class InfluxDBToken(InfluxDBModule):
    argument_spec = dict(
        description=dict(type='str', required=True),
        permissions=dict(type='list', elements='dict', options=dict(
            action=dict(type='str', required=True, choices=['read', 'write']),
            bucket=dict(type='str'),
            type=dict(type='str', choices=RESOURCE_TYPES),
        ), mutually_exclusive=[('bucket', 'type')], required_one_of=[('bucket', 'type')]),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        rotate=dict(type='bool', default=False),
        store_path=dict(type='path'),
        store_format=dict(type='str', choices=['plain', 'vault'], default='plain'),
        store_vault_id=dict(type='str'),
        value_stored=dict(type='bool', default=False),
        retire_id=dict(type='str'),
    )
    required_if = [('state', 'present', ['permissions', 'store_path'])]
    result_key = 'authorization'

    @property
    def obj(self):
        return "API token '%s'" % self.params['description']

    def setup(self):
        self.result.update(replaced=False, stored=False)
        self._bucket_names = {}

    # -- permissions ------------------------------------------------------------------------------------------
    def wanted_permissions(self):
        """The declared permissions as InfluxDB writes them; unknown buckets fail naming the entry."""
        entries = self.params['permissions'] or []
        if not entries:
            self.fail('permissions is empty: give at least one entry such as {action: read, bucket: machine_events}.')
        org_id = self.org_id()
        wanted = []
        for index, entry in enumerate(entries):
            if entry.get('bucket') is not None:
                bucket = self.client.bucket(entry['bucket'], org_id)
                if bucket is None:
                    self.fail("permissions[%d].bucket='%s': organization '%s' has no such bucket. Create it first "
                              '(influxdb_bucket) or fix the name.' % (index, entry['bucket'], self.params['org']))
                self._bucket_names[bucket['id']] = entry['bucket']
                resource = {'type': 'buckets', 'id': bucket['id'], 'orgID': org_id}
            else:
                resource = {'type': entry['type'], 'orgID': org_id}
            permission = {'action': entry['action'], 'resource': resource}
            if permission_key(permission) not in [permission_key(p) for p in wanted]:
                wanted.append(permission)
        return wanted

    def shown_permissions(self, permissions):
        shown = []
        for permission in permissions:
            action, kind, resource_id = permission_key(permission)
            if kind == 'buckets' and resource_id:
                name = self._bucket_names.get(resource_id) or permission['resource'].get('name') or resource_id
                shown.append({'action': action, 'bucket': name})
            else:
                shown.append({'action': action, 'type': kind})
        return sorted(shown, key=lambda p: (p.get('bucket') or '', p.get('type') or '', p['action']))

    def shown_authorization(self, authorization, permissions=None):
        if authorization is None:
            return {}
        shown = {'description': authorization.get('description'), 'status': authorization.get('status', 'active'),
                 'permissions': self.shown_permissions(permissions if permissions is not None
                                                       else authorization.get('permissions') or [])}
        if authorization.get('id'):
            shown['id'] = authorization['id']
        return shown

    # -- the cycle --------------------------------------------------------------------------------------------
    def execute(self):
        params = self.params
        if params.get('retire_id'):
            return self.retire(params['retire_id'])
        wanted = self.wanted_permissions() if params['state'] == 'present' else None
        org_id = self.org_id()
        matches = [a for a in self.client.authorizations(org_id) if a.get('description') == params['description']]
        if len(matches) > 1:
            self.fail("%d API tokens of organization '%s' have the description '%s' (IDs %s); the module cannot tell "
                      'which one to keep. Delete the extra ones or give each a distinct description.'
                      % (len(matches), params['org'], params['description'],
                         ', '.join(str(a.get('id')) for a in matches)))
        current = matches[0] if matches else None
        before = self.shown_authorization(current)
        after = {}
        if params['state'] == 'absent':
            changed = current is not None
            if changed and not self.check_mode:
                self.delete_authorization(current['id'])
        else:
            same = current is not None and sorted(permission_key(p) for p in current.get('permissions') or []) \
                == sorted(permission_key(p) for p in wanted)
            readable = current.get('token') if current is not None else None
            if current is not None and same and not params['rotate'] and not params['value_stored'] and readable:
                # InfluxDB before 2.9 (or with hashing off) still shows the value: capture it, change nothing there
                self.result.update(changed=True, authorization=before, **{VALUE_KEY: readable})
                if self.diff_mode:
                    self.result['diff'] = {'before': before, 'after': before}
                return self.exit()
            if current is not None and same and not params['rotate'] and not params['value_stored']:
                self.fail("%s (ID %s) exists in InfluxDB, but its value is not in the store %s. Since InfluxDB 2.9 "
                          'tokens are hashed, so the value cannot be read back. Set rotate: true to replace it with '
                          'a new token whose value is stored (the old one is deleted; update its users).'
                          % (self.obj, current.get('id'), params['store_path']))
            changed = current is None or not same or params['rotate']
            after = before
            if changed:
                self.result['replaced'] = current is not None
                after = self.shown_authorization({'description': params['description'], 'status': 'active'}, wanted)
                if not self.check_mode:
                    created = self.create_authorization(org_id, wanted)
                    after = self.shown_authorization(created)
                    if current is not None:
                        self.result['retire_id'] = current['id']
        self.result['changed'] = changed
        self.result['authorization'] = after
        if self.diff_mode:
            self.result['diff'] = {'before': before, 'after': after}
        self.exit()

    def create_authorization(self, org_id, permissions):
        body = {'orgID': org_id, 'description': self.params['description'], 'status': 'active',
                'permissions': permissions}
        created = self.client.call('POST', '/api/v2/authorizations', 'create the %s' % self.obj, obj=self.obj,
                                   body=body) or {}
        value = created.get('token')
        if not value:
            self.fail('InfluxDB created the %s (ID %s) but sent no value for it; delete it and try again.'
                      % (self.obj, created.get('id')))
        self.result[VALUE_KEY] = value
        return created

    def delete_authorization(self, authorization_id):
        self.client.call('DELETE', '/api/v2/authorizations/%s' % authorization_id,
                         'delete the %s (ID %s)' % (self.obj, authorization_id), obj=self.obj)

    def retire(self, authorization_id):
        """Delete the replaced token ``authorization_id``, if it is still there and carries our description."""
        org_id = self.org_id()
        old = next((a for a in self.client.authorizations(org_id) if a.get('id') == authorization_id), None)
        if old is not None and old.get('description') != self.params['description']:
            self.fail("retire_id='%s' is the API token '%s', not '%s'; it was not deleted."
                      % (authorization_id, old.get('description'), self.params['description']))
        if old is not None and not self.check_mode:
            self.delete_authorization(authorization_id)
        self.exit(changed=old is not None, retired=old is not None)


def main():
    InfluxDBToken().run()


if __name__ == '__main__':
    main()
