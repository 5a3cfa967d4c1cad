#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_bucket
short_description: Create, change or delete an InfluxDB 2.x bucket (retention in human units)
version_added: 0.3.0
description:
  - Keeps one bucket of an InfluxDB OSS 2.x organization as declared (its retention period, shard group duration
    and description) through C(/api/v2/buckets).
  - Durations are written in human units such as V(30d), V(104w) or V(1h30m) and shown that way in the result.
  - Only the options you set are compared; a differing bucket is changed in place (C(PATCH)), keeping its data.
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
  name:
    description:
      - Name of the bucket, unique in O(org).
    type: str
    required: true
  retention:
    description:
      - How long InfluxDB keeps data in the bucket, for example V(30d), V(730d), V(104w), V(1h30m).
      - V(0) or V(infinite) keeps data forever. Anything else must be at least V(1h) (InfluxDB's minimum); a shorter
        value fails before any request.
      - When not set, a new bucket keeps data forever and an existing one keeps its retention.
    type: str
  shard_group_duration:
    description:
      - Time span each shard group covers, for example V(1d) or V(7d). When not set, InfluxDB derives it from the
        retention (new bucket) or keeps it (existing bucket).
    type: str
  description:
    description:
      - Free text shown in InfluxDB's UI.
    type: str
  state:
    description:
      - V(absent) deletes the bucket and all its data.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: sensingcam.ming.influxdb_setup
  - module: sensingcam.ming.influxdb_dbrp
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Hourly aggregates kept for two years
  sensingcam.ming.influxdb_bucket:
    host: influxdb.plant.example
    use_tls: true
    token: "{{ influxdb_operator_token }}"
    org: ming
    name: machine_events_1h
    retention: 730d
    description: Hourly counts per line, station, event and severity
  delegate_to: localhost
'''

RETURN = r'''
bucket:
  description: The bucket after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The bucket ID (absent for a bucket that check mode would create).
      type: str
    name:
      description: The bucket name.
      type: str
    retention:
      description: The retention period in human units (V(infinite) for none).
      type: str
      sample: 30d
    shard_group_duration:
      description: The shard group duration in human units, when InfluxDB reports one.
      type: str
      sample: 1d
    description:
      description: The description.
      type: str
  sample: {id: 0a1b2c3d4e5f6071, name: machine_events, retention: 30d, shard_group_duration: 1d, description: ''}
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import (  # noqa: E402
    InfluxDBModule,
    quoted,
    retention_seconds,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import (  # noqa: E402
    format_duration,
    parse_duration,
)

DURATIONS = ('retention', 'shard_group_duration')


class InfluxDBBucket(InfluxDBModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        retention=dict(type='str'),
        shard_group_duration=dict(type='str'),
        description=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    options = ('retention', 'shard_group_duration', 'description')
    result_key = 'bucket'

    @property
    def obj(self):
        return quoted('bucket', self.params['name'])

    def wanted(self):
        """The options set, durations in seconds (checked before any request)."""
        wanted = super(InfluxDBBucket, self).wanted()
        if 'retention' in wanted:
            wanted['retention'] = retention_seconds(wanted['retention'], 'retention')
        if 'shard_group_duration' in wanted:
            seconds = parse_duration(wanted['shard_group_duration'], 'shard_group_duration')
            if seconds == 0:
                self.fail("shard_group_duration='%s': a shard group must cover some time, for example 1d; leave "
                          'the option out to let InfluxDB choose.' % self.params['shard_group_duration'])
            wanted['shard_group_duration'] = seconds
        return wanted

    def read(self):
        bucket = self.client.bucket(self.params['name'], self.org_id())
        if bucket is None:
            return None
        rules = [r for r in bucket.get('retentionRules') or [] if isinstance(r, dict)]
        rule = next((r for r in rules if r.get('type', 'expire') == 'expire'), {})
        return {
            'id': bucket.get('id'),
            'name': bucket.get('name'),
            'retention': int(rule.get('everySeconds') or 0),
            'shard_group_duration': rule.get('shardGroupDurationSeconds'),
            'description': bucket.get('description') or '',
        }

    def rule(self, wanted, current=None):
        current = current or {}
        rule = {'type': 'expire', 'everySeconds': wanted.get('retention', current.get('retention') or 0)}
        shard = wanted.get('shard_group_duration', current.get('shard_group_duration'))
        if shard:
            rule['shardGroupDurationSeconds'] = shard
        return rule

    def create(self, wanted):
        body = {'orgID': self.org_id(), 'name': self.params['name']}
        if 'description' in wanted:
            body['description'] = wanted['description']
        if 'retention' in wanted or 'shard_group_duration' in wanted:
            body['retentionRules'] = [self.rule(wanted)]
        self.client.call('POST', '/api/v2/buckets', 'create the %s' % self.obj, obj=self.obj, body=body)

    def update(self, changes, current):
        body = {}
        if 'description' in changes:
            body['description'] = changes['description']
        if 'retention' in changes or 'shard_group_duration' in changes:
            body['retentionRules'] = [self.rule(changes, current)]
        self.client.call('PATCH', '/api/v2/buckets/%s' % current['id'], 'change the %s' % self.obj, obj=self.obj,
                         body=body)

    def delete(self, current):
        self.client.call('DELETE', '/api/v2/buckets/%s' % current['id'], 'delete the %s' % self.obj, obj=self.obj)

    def predict(self, before, wanted):
        after = super(InfluxDBBucket, self).predict(before, wanted)
        after.setdefault('name', self.params['name'])
        after.setdefault('retention', 0)
        after.setdefault('description', '')
        return after

    def shown(self, state, changes=()):
        shown = super(InfluxDBBucket, self).shown(state, changes)
        if shown is None:
            return None
        for option in DURATIONS:
            if shown.get(option) is not None:
                shown[option] = format_duration(shown[option])
        if shown.get('shard_group_duration') is None:
            shown.pop('shard_group_duration', None)
        return shown


def main():
    InfluxDBBucket().run()


if __name__ == '__main__':
    main()
