#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_dbrp
short_description: Map an InfluxDB 1.x database and retention policy to an InfluxDB 2.x bucket (DBRP mapping)
version_added: 0.3.0
description:
  - Keeps one database/retention-policy (DBRP) mapping of an InfluxDB OSS 2.x organization (C(/api/v2/dbrps)).
    InfluxQL queries against 2.x (for example a Grafana InfluxQL data source) name a database and retention policy;
    the mapping says which bucket answers them.
  - A mapping is identified by O(database) and O(retention_policy). O(default) is changed in place; InfluxDB cannot
    move a mapping to another bucket, so a different O(bucket) deletes the mapping and creates it again
    (the result says C(replaced=true)).
  - InfluxDB's automatic (virtual) mappings are never changed or deleted; declaring one creates a real mapping.
extends_documentation_fragment:
  - sensingcam.ming.influxdb
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  database:
    description:
      - The InfluxDB 1.x database name InfluxQL queries use.
    type: str
    required: true
  retention_policy:
    description:
      - The InfluxDB 1.x retention policy name InfluxQL queries use, for example V(autogen).
    type: str
    required: true
  bucket:
    description:
      - Name of the bucket of O(org) the mapping points to. Required with O(state=present).
    type: str
  default:
    description:
      - Whether this retention policy is the default of O(database) (used when a query names none).
      - When not set, a new mapping is not the default and an existing one keeps its setting.
    type: bool
  state:
    description:
      - V(absent) deletes the mapping (the bucket and its data stay).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: sensingcam.ming.influxdb_bucket
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Let Grafana's InfluxQL data source read the hourly bucket as machine_events/one_hour
  sensingcam.ming.influxdb_dbrp:
    host: influxdb.plant.example
    use_tls: true
    token: "{{ influxdb_operator_token }}"
    org: ming
    database: machine_events
    retention_policy: one_hour
    bucket: machine_events_1h
    default: false
  delegate_to: localhost
'''

RETURN = r'''
dbrp:
  description: The mapping after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The mapping ID (absent for a mapping check mode would create).
      type: str
    database:
      description: The database name.
      type: str
    retention_policy:
      description: The retention policy name.
      type: str
    bucket:
      description: The bucket name.
      type: str
    bucket_id:
      description: The bucket ID.
      type: str
    default:
      description: Whether it is the default retention policy of the database.
      type: bool
  sample: {id: 0b1c, database: machine_events, retention_policy: one_hour, bucket: machine_events_1h,
           bucket_id: 0a1b, default: false}
replaced:
  description: Whether the mapping was (would be) deleted and created again because O(bucket) changed.
  returned: always
  type: bool
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import InfluxDBModule  # noqa: E402


class InfluxDBDbrp(InfluxDBModule):
    argument_spec = dict(
        database=dict(type='str', required=True),
        retention_policy=dict(type='str', required=True),
        bucket=dict(type='str'),
        default=dict(type='bool'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    required_if = [('state', 'present', ['bucket'])]
    options = ('bucket_id', 'default')
    result_key = 'dbrp'

    @property
    def obj(self):
        return "DBRP mapping '%s/%s'" % (self.params['database'], self.params['retention_policy'])

    def setup(self):
        self.result['replaced'] = False
        self._bucket_names = {}

    def wanted(self):
        wanted = {}
        if self.params['state'] == 'present':
            wanted['bucket_id'] = self.client.bucket_id(self.params['bucket'], self.org_id())
            self._bucket_names[wanted['bucket_id']] = self.params['bucket']
        if self.params.get('default') is not None:
            wanted['default'] = self.params['default']
        return wanted

    def bucket_name(self, bucket_id):
        if bucket_id not in self._bucket_names:
            buckets = self.client.get_list('/api/v2/buckets', 'buckets', 'look up the bucket of the %s' % self.obj,
                                           query={'id': bucket_id, 'orgID': self.org_id()}, obj=self.obj)
            self._bucket_names[bucket_id] = next((b.get('name') for b in buckets if b.get('id') == bucket_id), None)
        return self._bucket_names[bucket_id]

    def read(self):
        query = {'orgID': self.org_id(), 'db': self.params['database'], 'rp': self.params['retention_policy']}
        mappings = self.client.get_list('/api/v2/dbrps', 'content', 'look up the %s' % self.obj, query=query,
                                        obj=self.obj)
        mapping = next((m for m in mappings if not m.get('virtual') and m.get('database') == self.params['database']
                        and m.get('retention_policy') == self.params['retention_policy']), None)
        if mapping is None:
            return None
        return {
            'id': mapping.get('id'),
            'database': mapping.get('database'),
            'retention_policy': mapping.get('retention_policy'),
            'bucket_id': mapping.get('bucketID'),
            'bucket': self.bucket_name(mapping.get('bucketID')),
            'default': bool(mapping.get('default')),
        }

    def create(self, wanted):
        body = {'orgID': self.org_id(), 'bucketID': wanted['bucket_id'], 'database': self.params['database'],
                'retention_policy': self.params['retention_policy'], 'default': bool(wanted.get('default'))}
        self.client.call('POST', '/api/v2/dbrps', 'create the %s' % self.obj, obj=self.obj, body=body)

    def check_change(self, changes, current):
        if current is not None and 'bucket_id' in changes:
            self.result['replaced'] = True

    def update(self, changes, current):
        if 'bucket_id' in changes:
            self.delete(current)
            wanted = dict(changes)
            wanted.setdefault('default', current.get('default'))
            self.create(wanted)
            return
        self.client.call('PATCH', '/api/v2/dbrps/%s' % current['id'], 'change the %s' % self.obj, obj=self.obj,
                         query={'orgID': self.org_id()}, body={'default': changes['default']})

    def delete(self, current):
        self.client.call('DELETE', '/api/v2/dbrps/%s' % current['id'], 'delete the %s' % self.obj, obj=self.obj,
                         query={'orgID': self.org_id()})

    def predict(self, before, wanted):
        after = super(InfluxDBDbrp, self).predict(before, wanted)
        if before is None or 'bucket_id' in wanted and wanted['bucket_id'] != before.get('bucket_id'):
            after.pop('id', None)
        after.update(database=self.params['database'], retention_policy=self.params['retention_policy'])
        after.setdefault('default', False)
        if 'bucket_id' in wanted:
            after['bucket'] = self.params['bucket']
        return after


def main():
    InfluxDBDbrp().run()


if __name__ == '__main__':
    main()
