#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_continuous_query
short_description: Create, replace or drop an InfluxDB 1.x continuous query (downsampling)
version_added: 0.3.0
description:
  - Keeps one continuous query of an InfluxDB 1.x database as declared, that is its C(SELECT ... INTO ... FROM ...
    GROUP BY time(...)) query and its C(RESAMPLE EVERY ... FOR ...) clause.
  - InfluxDB stores a continuous query rewritten (keywords upper case, quotes only where needed, durations such as
    C(60m) as C(1h), every C(INTO)/C(FROM) measurement qualified with the database and the retention policy that
    was the database's default). The module reads both that text and the declared query into the same tokens and
    qualifies the declared measurements the same way, so a query that means the same is not a change.
  - InfluxQL cannot alter a continuous query. A change drops and re-creates it, in one request (InfluxDB parses
    the whole request first, so a query it cannot parse leaves the old one in place); the diff shows both texts.
extends_documentation_fragment:
  - sensingcam.ming.influxdb_v1
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the query as InfluxDB stores it (before) and as declared (after).
  idempotent:
    support: full
options:
  database:
    description:
      - The database the continuous query runs in. It must exist (M(sensingcam.ming.influxdb_retention_policy)
        creates it).
    type: str
    required: true
  name:
    description:
      - Name of the continuous query, unique in O(database).
    type: str
    required: true
  query:
    description:
      - The query, without C(CREATE CONTINUOUS QUERY ... BEGIN) and C(END), for example
        C(SELECT count("correlation") AS "events" INTO "machine_events_1h"."machine_events_1h" FROM "machine_events"
        GROUP BY time(1h), "line").
      - It needs C(INTO) and C(GROUP BY time(...)). A measurement without database or retention policy means the
        continuous query's database and that database's default policy, as InfluxDB itself reads it.
      - Required with O(state=present).
    type: str
  resample_every:
    description:
      - How often the query runs (C(RESAMPLE EVERY)), for example V(30m). When not set, once per C(GROUP BY time)
        interval.
    type: str
  resample_for:
    description:
      - How far back each run recomputes (C(RESAMPLE FOR)), for example V(2h), so late points are counted. When not
        set, only the last interval.
    type: str
  state:
    description:
      - V(absent) drops the continuous query. Data it already wrote stays.
    type: str
    choices: [present, absent]
    default: present
notes:
  - A continuous query only covers new intervals. To downsample older data, run its C(SELECT ... INTO) once with a
    C(WHERE time >= ... AND time < ...) range (a backfill).
seealso:
  - module: sensingcam.ming.influxdb_retention_policy
  - name: InfluxQL continuous queries
    description: Syntax, RESAMPLE, and how the server runs them.
    link: https://docs.influxdata.com/influxdb/v1/query_language/continuous_queries/
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Hourly counts per line, station, event and severity
  sensingcam.ming.influxdb_continuous_query:
    host: influxdb.plant.example
    login_user: admin
    login_password: "{{ vault_influxdb_admin_password }}"
    database: ming
    name: machine_events_1h
    query: >-
      SELECT count("correlation") AS "events", count("clip_url") AS "clips"
      INTO "ming"."machine_events_1h"."machine_events_1h"
      FROM "ming"."machine_events"."machine_events"
      GROUP BY time(1h), "line", "station", "event", "severity"
    resample_every: 30m
    resample_for: 2h
  delegate_to: localhost
'''

RETURN = r'''
continuous_query:
  description: The continuous query after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    database:
      description: The database.
      type: str
      sample: ming
    name:
      description: The name.
      type: str
      sample: machine_events_1h
    query:
      description: The query between C(BEGIN) and C(END); as InfluxDB stores it when unchanged, as declared otherwise.
      type: str
      sample: SELECT count(correlation) AS events INTO ming.machine_events_1h.machine_events_1h FROM ...
    resample_every:
      description: C(RESAMPLE EVERY) in human units; empty when none.
      type: str
      sample: 30m
    resample_for:
      description: C(RESAMPLE FOR) in human units; empty when none.
      type: str
      sample: 2h
'''

import re  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import (  # noqa: E402
    DurationError,
    format_duration,
    influxql_duration,
    parse_duration,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_v1 import (  # noqa: E402
    InfluxQLModule,
    continuous_query_statement,
    describe,
    influxql_tokens,
    quote_ident,
    statement_tokens,
)

_BODY = re.compile(r'\sBEGIN\s(.*)\sEND\s*$', re.S | re.I)


class InfluxDBContinuousQuery(InfluxQLModule):
    argument_spec = dict(
        database=dict(type='str', required=True),
        name=dict(type='str', required=True),
        query=dict(type='str'),
        resample_every=dict(type='str'),
        resample_for=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    required_if = [('state', 'present', ('query',))]
    options = ('query', 'resample_every', 'resample_for')
    result_key = 'continuous_query'

    def setup(self):
        self.default_rps = {}
        self.stored_statement = None

    @property
    def obj(self):
        return describe('continuous query', self.params['name'], self.params['database'])

    def wanted(self):
        if self.params['state'] == 'absent':
            return {}
        wanted = {'query': self.params['query'].strip().rstrip(';').strip()}
        for option in ('resample_every', 'resample_for'):
            value = self.params.get(option)
            if value is None:
                wanted[option] = ''
                continue
            try:
                seconds = parse_duration(value, option)
            except DurationError as exc:
                self.fail(str(exc))
            if seconds == 0:
                self.fail("%s='%s': give a duration of 1s or more, for example 30m, or leave it unset."
                          % (option, value))
            wanted[option] = format_duration(seconds)
        return wanted

    def validate(self, wanted):
        if not wanted:
            return
        try:
            tokens = influxql_tokens(wanted['query'])
        except ValueError as exc:
            self.fail('query of %s cannot be read: %s.' % (self.obj, exc))
        if not tokens or tokens[0] != ('kw', 'SELECT'):
            shape = 'SELECT ... INTO ... FROM ... GROUP BY time(...)'
            self.fail('query of %s must be a %s statement, without CREATE CONTINUOUS QUERY ... BEGIN and END.'
                      % (self.obj, shape))
        for needed, text in ((('kw', 'INTO'), 'INTO <measurement>'), (('func', 'time'), 'GROUP BY time(<interval>)')):
            if needed not in tokens:
                self.fail('query of %s has no %s: a continuous query writes its results with INTO and runs once per '
                          'GROUP BY time() interval.' % (self.obj, text))

    def default_rp(self, database):
        if database not in self.default_rps:
            self.default_rps[database] = self.client.default_retention_policy(database) or ''
        return self.default_rps[database]

    def statement(self, wanted):
        return continuous_query_statement(
            self.params['name'], self.params['database'], wanted['query'],
            influxql_duration(parse_duration(wanted['resample_every'])) if wanted['resample_every'] else None,
            influxql_duration(parse_duration(wanted['resample_for'])) if wanted['resample_for'] else None)

    def read(self):
        rows = self.client.rows('SHOW CONTINUOUS QUERIES', 'list the continuous queries', obj=self.obj)
        row = next((r for r in rows if r.get('_series') == self.params['database'] and
                    r.get('name') == self.params['name']), None)
        if row is None:
            return None
        self.stored_statement = row.get('query') or ''
        body = _BODY.search(self.stored_statement)
        resample = {'resample_every': '', 'resample_for': ''}
        try:
            head = influxql_tokens(self.stored_statement[:body.start()] if body else '')
        except ValueError:
            head = []
        for index, token in enumerate(head[:-1]):
            if token in (('kw', 'EVERY'), ('kw', 'FOR')) and head[index + 1][0] == 'dur':
                key = 'resample_every' if token[1] == 'EVERY' else 'resample_for'
                resample[key] = format_duration(head[index + 1][1] // 10 ** 9)
        return dict(database=self.params['database'], name=self.params['name'],
                    query=body.group(1) if body else self.stored_statement, **resample)

    def same(self, option, wanted, current):
        if option != 'query':
            return wanted == (current or '')
        try:
            stored = statement_tokens(self.stored_statement, self.params['database'], self.default_rp)
        except ValueError:
            return False
        declared = statement_tokens(self.statement(dict(self.wanted_values, query=wanted)), self.params['database'],
                                    self.default_rp)
        # RESAMPLE is compared on its own (resample_every/resample_for): compare from BEGIN on.
        return stored[stored.index(('kw', 'BEGIN')):] == declared[declared.index(('kw', 'BEGIN')):] \
            if ('kw', 'BEGIN') in stored else False

    def execute(self):
        self.wanted_values = self.wanted()
        super(InfluxDBContinuousQuery, self).execute()

    def create(self, wanted):
        self.client.execute(self.statement(wanted), 'create the %s' % self.obj, obj=self.obj)

    def update(self, changes, current):
        self.client.execute([self.drop_statement(), self.statement(self.wanted_values)],
                            'replace the %s (drop and create)' % self.obj, obj=self.obj)

    def drop_statement(self):
        return 'DROP CONTINUOUS QUERY %s ON %s' % (quote_ident(self.params['name']),
                                                   quote_ident(self.params['database']))

    def delete(self, current):
        self.client.execute(self.drop_statement(), 'drop the %s' % self.obj, obj=self.obj)

    def predict(self, before, wanted):
        after = super(InfluxDBContinuousQuery, self).predict(before, wanted)
        after.update(database=self.params['database'], name=self.params['name'])
        if before is not None and not [k for k in wanted if not self.same(k, wanted[k], before.get(k))]:
            after['query'] = before['query']
        return after

    def reread(self, changes):
        after = self.read()
        if after is None or not all(self.same(k, changes[k], after.get(k)) for k in changes):
            self.warn('InfluxDB stores the %s differently from what was declared; the next run will replace it '
                      'again. Compare the query with what SHOW CONTINUOUS QUERIES shows.' % self.obj)
        return after


def main():
    InfluxDBContinuousQuery().run()


if __name__ == '__main__':
    main()
