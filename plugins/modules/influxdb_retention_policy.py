#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_retention_policy
short_description: Create, change or drop an InfluxDB 1.x retention policy (duration in human units)
version_added: 0.3.0
description:
  - Keeps one retention policy of an InfluxDB 1.x database as declared (duration, replication, shard duration,
    whether it is the database's default) with InfluxQL (C(CREATE)/C(ALTER)/C(DROP RETENTION POLICY)).
  - Creates the database first when it does not exist (C(CREATE DATABASE) leaves an existing one alone).
  - Durations are written in human units such as V(30d), V(730d) or V(1h30m); InfluxDB's own form (C(720h0m0s))
    is read back and shown in human units.
  - Only the options you set are compared (O(replication) always is); a differing policy is changed in place with
    C(ALTER RETENTION POLICY), keeping its data.
extends_documentation_fragment:
  - sensingcam.ming.influxdb_v1
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
      - The database the policy belongs to. Created when missing (not with O(state=absent)).
    type: str
    required: true
  name:
    description:
      - Name of the retention policy.
    type: str
    required: true
  duration:
    description:
      - How long InfluxDB keeps the data, for example V(30d), V(730d), V(104w), V(1h30m).
      - V(INF), V(0) or V(infinite) keeps data forever. Anything else must be at least V(1h) (InfluxDB's minimum); a
        shorter value fails before any request.
      - Required to create the policy; when not set, an existing policy keeps its duration.
    type: str
  replication:
    description:
      - How many copies of each point a cluster keeps. Open-source InfluxDB runs one node; keep V(1).
    type: int
    default: 1
  shard_duration:
    description:
      - Time span one shard group covers, for example V(1d) or V(7d); at least V(1h).
      - When not set, InfluxDB derives it from the duration (new policy) or keeps it (existing policy).
    type: str
  default:
    description:
      - V(true) makes this the default policy of the database (writes and queries without a policy use it).
      - V(false) on the policy that is the default fails, naming the fix. InfluxQL cannot take the default away;
        it can only give it to another policy (set O(default=true) there).
      - When not set, left as it is (a new policy is not the default).
    type: bool
  state:
    description:
      - V(absent) drops the policy and all its data. The database stays.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: sensingcam.ming.influxdb_continuous_query
  - module: sensingcam.ming.influxdb_user
  - name: InfluxQL database management
    description: CREATE, ALTER and DROP RETENTION POLICY.
    link: https://docs.influxdata.com/influxdb/v1/query_language/manage-database/
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Keep raw machine events 30 days, as the database's default policy
  sensingcam.ming.influxdb_retention_policy:
    host: influxdb.plant.example
    use_tls: true
    ca_path: /etc/ming/ca.pem
    login_user: admin
    login_password: "{{ vault_influxdb_admin_password }}"
    database: ming
    name: machine_events
    duration: 30d
    shard_duration: 1d
    default: true
  delegate_to: localhost

- name: Keep the hourly counts two years
  sensingcam.ming.influxdb_retention_policy:
    host: influxdb.plant.example
    login_user: admin
    login_password: "{{ vault_influxdb_admin_password }}"
    database: ming
    name: machine_events_1h
    duration: 730d
  delegate_to: localhost
'''

RETURN = r'''
retention_policy:
  description: The policy after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    database:
      description: The database.
      type: str
      sample: ming
    name:
      description: The policy's name.
      type: str
      sample: machine_events
    duration:
      description: How long data is kept, in human units; V(infinite) for forever.
      type: str
      sample: 30d
    replication:
      description: The replication factor.
      type: int
      sample: 1
    shard_duration:
      description: The shard group duration, in human units.
      type: str
      sample: 1d
    default:
      description: Whether this is the database's default policy.
      type: bool
      sample: true
database_created:
  description: Whether the database did not exist and was (or would be) created.
  returned: always
  type: bool
  sample: false
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import (  # noqa: E402
    DurationError,
    format_duration,
    influxql_duration,
    parse_duration,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_v1 import (  # noqa: E402
    MIN_RETENTION_SECONDS,
    InfluxQLModule,
    describe,
    go_duration_seconds,
    quote_ident,
)


class InfluxDBRetentionPolicy(InfluxQLModule):
    argument_spec = dict(
        database=dict(type='str', required=True),
        name=dict(type='str', required=True),
        duration=dict(type='str'),
        replication=dict(type='int', default=1),
        shard_duration=dict(type='str'),
        default=dict(type='bool'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    options = ('duration', 'replication', 'shard_duration', 'default')
    result_key = 'retention_policy'

    def setup(self):
        self.database_missing = False
        self.result['database_created'] = False

    @property
    def obj(self):
        return describe('retention policy', self.params['name'], self.params['database'])

    def seconds(self, option, minimum_text):
        value = self.params.get(option)
        try:
            seconds = parse_duration(value, option)
        except DurationError as exc:
            self.fail(str(exc))
        if option == 'shard_duration' and seconds == 0 or 0 < seconds < MIN_RETENTION_SECONDS:
            self.fail("%s='%s' is %s: %s" % (option, value, format_duration(seconds) if seconds else '0',
                                             minimum_text))
        return seconds

    def wanted(self):
        wanted = super(InfluxDBRetentionPolicy, self).wanted()
        if wanted.get('duration') is not None:
            wanted['duration'] = format_duration(self.seconds(
                'duration', 'InfluxDB keeps data at least 1 hour; give 1h or more, or INF (also 0 or infinite) to '
                            'keep data forever.'))
        if wanted.get('shard_duration') is not None:
            wanted['shard_duration'] = format_duration(self.seconds(
                'shard_duration', 'a shard group covers at least 1 hour; give 1h or more, or leave it unset for '
                                  "InfluxDB's choice."))
        return wanted

    def validate(self, wanted):
        if wanted['replication'] < 1:
            self.fail('replication=%d: give 1 or more (open-source InfluxDB keeps 1 copy).' % wanted['replication'])

    def read(self):
        policies = self.client.retention_policies(self.params['database'])
        self.database_missing = policies is None
        row = next((p for p in policies or [] if p.get('name') == self.params['name']), None)
        if row is None:
            return None
        return {
            'database': self.params['database'],
            'name': row['name'],
            'duration': format_duration(go_duration_seconds(row.get('duration'))),
            'replication': row.get('replicaN'),
            'shard_duration': format_duration(go_duration_seconds(row.get('shardGroupDuration'))),
            'default': bool(row.get('default')),
        }

    def check_change(self, changes, current):
        if current is not None and changes.get('default') is False:
            self.fail("default=false for %s, which is the database's default policy: InfluxQL cannot take the "
                      'default away. Set default: true on the policy that should be the default instead (this one '
                      'then stops being it), or leave default unset here.' % self.obj)
        if current is None and self.params['duration'] is None:
            self.fail('duration is required to create %s: give it, for example 30d (or INF to keep data forever).'
                      % self.obj)

    def clauses(self, values):
        clauses = []
        if 'duration' in values:
            clauses.append('DURATION %s' % influxql_duration(parse_duration(values['duration'], 'duration')))
        if 'replication' in values:
            clauses.append('REPLICATION %d' % values['replication'])
        if 'shard_duration' in values:
            clauses.append('SHARD DURATION %s' % influxql_duration(parse_duration(values['shard_duration'])))
        if values.get('default'):
            clauses.append('DEFAULT')
        return ' '.join(clauses)

    def target(self):
        return '%s ON %s' % (quote_ident(self.params['name']), quote_ident(self.params['database']))

    def create(self, wanted):
        statements = []
        if self.database_missing:
            statements.append('CREATE DATABASE %s' % quote_ident(self.params['database']))
            self.result['database_created'] = True
        statements.append('CREATE RETENTION POLICY %s %s' % (self.target(), self.clauses(wanted)))
        self.client.execute(statements, 'create the %s' % self.obj, obj=self.obj)

    def update(self, changes, current):
        self.client.execute('ALTER RETENTION POLICY %s %s' % (self.target(), self.clauses(changes)),
                            'change the %s' % self.obj, obj=self.obj)

    def delete(self, current):
        self.client.execute('DROP RETENTION POLICY %s' % self.target(), 'drop the %s' % self.obj, obj=self.obj)

    def predict(self, before, wanted):
        after = super(InfluxDBRetentionPolicy, self).predict(before, wanted)
        after.update(database=self.params['database'], name=self.params['name'])
        if before is None:
            after.setdefault('default', False)
            if self.database_missing:
                self.result['database_created'] = True
        return after


def main():
    InfluxDBRetentionPolicy().run()


if __name__ == '__main__':
    main()
