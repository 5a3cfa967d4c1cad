# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Grafana dashboards and alert rules as code, built from the data layer's schema.

Documentation: the sidecar files ``grafana_dashboards.yml`` and ``grafana_alert_rules.yml``; what each panel and
rule shows: docs/dashboards.md. Both filters read ``influxdb_data_layer`` (the influxdb role's fact, with its
``schema``) and write Flux when ``api_version`` is 2 and InfluxQL when it is 1. Every query names only the buckets
(retention policies), the measurement, the fields and the tags that ``schema`` defines; the tests extract them.

Own small builders (plain dicts), no grafana-foundation-sdk: an unpinned install of it gives Grafana 10.1 builders and
it has no InfluxDB query builder. The dashboards are the classic JSON model with ``schemaVersion`` 42: grafana/grafana's
``apps/dashboard/pkg/migration/schemaversion/README.md`` names 42 the latest and "the final version for the v1
dashboard API"; a newer backend commit adds V43, which only rewrites ``formatTime`` transformations (none here), and
Grafana migrates a lower version up when it loads the file.
"""

# The InfluxQL below is assembled from identifiers and literals that _iql_ident and _iql_text escape, never from raw
# input text: S608 (SQL built from strings) does not apply.
# ruff: noqa: S608

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import html
import re

from urllib.parse import quote, urlsplit

from ansible.errors import AnsibleFilterError

SCHEMA_VERSION = 42
MACHINE_EVENTS_UID = 'ming-machine-events'
LIVE_LINES_UID = 'ming-live-lines'
DASHBOARD_FILES = {MACHINE_EVENTS_UID: 'ming-machine-events.json', LIVE_LINES_UID: 'ming-live-lines.json'}
RULE_UIDS = {
    'service_down': 'ming-service-down',
    'event_rate': 'ming-event-rate-spike',
    'clip_missing': 'ming-clip-missing',
}
EXPRESSION_UID = '__expr__'
# The pipeline's defaults (nodered_trigger_events, the reserved self-test line of playbooks/verify.yml).
DEFAULT_TRIGGER_EVENTS = ('stop', 'fault')
DEFAULT_SELF_TEST_LINE = 'ming-selftest'
RECENT_EVENTS_LIMIT = 200
RATE_WINDOW_MINUTES = 10
RECENT_COLUMNS = ('line', 'station', 'camera', 'event', 'severity')
RECENT_FIELDS = ('correlation', 'frigate_event_id', 'clip_url', 'snapshot_url', 'error')
ALERT_DEFAULTS = {
    'org_id': 1,
    'folder': 'sensingcam.ming',
    'group': 'ming-pipeline',
    'interval': '1m',
    'service_down_after': '2h',
    'event_rate_threshold': 10,
    'event_rate_window': '10m',
    'event_rate_for': '5m',
    'clip_missing_ratio': 0.2,
    'clip_missing_window': '1h',
    'clip_missing_for': '15m',
}
_DURATION = re.compile(r'^([0-9]+)([smhd])$')
_DURATION_SECONDS = {'s': 1, 'm': 60, 'h': 3600, 'd': 86400}
_STREAM_NAME = re.compile(r'^[A-Za-z0-9][A-Za-z0-9_.-]*$')


# --- input ---------------------------------------------------------------------------------------------------------
def _fail(message):
    raise AnsibleFilterError(message)


def _layer(data_layer):
    """(api_version, database, raw, rollup) of the data layer; raw/rollup = {bucket, rp, tags, fields} or None."""
    if not isinstance(data_layer, dict):
        _fail('grafana dashboards: the data layer must be the influxdb role\'s fact influxdb_data_layer (a dict), '
              'not %s.' % type(data_layer).__name__)
    try:
        version = int(data_layer.get('api_version'))
    except (TypeError, ValueError):
        version = None
    if version not in (1, 2):
        _fail('influxdb_data_layer.api_version must be 1 or 2, not %r.' % (data_layer.get('api_version'),))
    schema = data_layer.get('schema')
    if not isinstance(schema, dict) or not schema.get('measurement') or not schema.get('fields'):
        _fail('influxdb_data_layer.schema is missing or incomplete (measurement, tags, fields, rollup): re-run the '
              'influxdb role (tag influxdb_data) so it records the schema.')
    buckets = list(data_layer.get('buckets') or [])
    raw_bucket = schema.get('bucket') or (buckets[0] if buckets else None)
    if not raw_bucket:
        _fail('influxdb_data_layer names no bucket (schema.bucket or buckets).')
    if version == 1 and not data_layer.get('database'):
        _fail('influxdb_data_layer.database is empty; InfluxQL queries need the database.')
    fields = schema['fields']
    if isinstance(fields, (list, tuple)):
        fields = dict((name, 'string') for name in fields)
    for name in ('correlation', 'event_id', 'self_test', 'clip_url'):
        if name not in fields:
            _fail('influxdb_data_layer.schema.fields has no %s: the dashboards need the record contract of '
                  'docs/pipeline.md.' % name)
    tags = list(schema.get('tags') or [])
    if 'line' not in tags or 'station' not in tags:
        _fail('influxdb_data_layer.schema.tags must hold line and station, not %r.' % (tags,))
    raw = {'bucket': raw_bucket, 'rp': schema.get('retention_policy') or raw_bucket, 'tags': tags,
           'fields': dict(fields), 'measurement': schema['measurement']}
    rollup = None
    spec = schema.get('rollup') or {}
    if spec:
        if not spec.get('bucket') or not set(('events', 'clips')) <= set(spec.get('fields') or []):
            _fail('influxdb_data_layer.schema.rollup must name its bucket and the fields events and clips, not %r.'
                  % (spec,))
        rollup = {'bucket': spec['bucket'], 'rp': spec.get('retention_policy') or spec['bucket'],
                  'tags': list(spec.get('tags') or []), 'fields': list(spec['fields']),
                  'measurement': schema['measurement']}
        for tag in ('line', 'event'):
            if tag not in rollup['tags']:
                _fail('influxdb_data_layer.schema.rollup.tags must hold %s (the correlation rate filters on it), '
                      'not %r.' % (tag, rollup['tags']))
    return version, data_layer.get('database'), raw, rollup


def _datasource(uid):
    if not isinstance(uid, str) or not uid.strip():
        _fail('grafana dashboards: the datasource uid must be a non-empty text (grafana_datasource_uid), not %r.'
              % (uid,))
    return {'type': 'influxdb', 'uid': uid}


def _url(value, name):
    if not isinstance(value, str) or not value:
        _fail('%s must be an http(s) URL, not %r.' % (name, value))
    parts = urlsplit(value)
    if parts.scheme not in ('http', 'https') or not parts.netloc or parts.query or parts.fragment:
        _fail('%s must be an http(s) URL without query or fragment, like https://nvr.example:8971, not %r.'
              % (name, value))
    if any(ch in value for ch in '"\'<> \\'):
        _fail('%s must not contain quotes, angle brackets, spaces or backslashes: %r.' % (name, value))
    return value.rstrip('/')


def _cameras(cameras):
    if cameras is None:
        cameras = []
    if not isinstance(cameras, (list, tuple)):
        _fail('grafana dashboards: cameras must be a list of {name, line, station}, not %s.' % type(cameras).__name__)
    found = []
    names = set()
    for index, camera in enumerate(cameras):
        if not isinstance(camera, dict) or not all(camera.get(key) not in (None, '') for key in ('name', 'line')):
            _fail('grafana dashboards: cameras[%d] must be {name, line, station}, not %r.' % (index, camera))
        name = str(camera['name'])
        if not _STREAM_NAME.match(name):
            _fail('grafana dashboards: camera name %r (cameras[%d]) is not a go2rtc stream name (letters, digits, '
                  '_ . -).' % (name, index))
        if name in names:
            _fail('grafana dashboards: camera %s is listed twice.' % name)
        names.add(name)
        proxy = camera.get('stream_proxy_url')
        found.append({'name': name, 'line': str(camera['line']), 'station': str(camera.get('station') or ''),
                      'stream_proxy_url': _url(proxy, 'cameras[%d].stream_proxy_url' % index) if proxy else None})
    return sorted(found, key=lambda item: (item['line'], item['station'], item['name']))


def _duration(value, name):
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = _DURATION.match(str(value).strip()) if value is not None else None
    if not match or int(match.group(1)) <= 0:
        _fail('%s must be a duration like 90s, 10m, 2h or 1d, not %r.' % (name, value))
    return int(match.group(1)) * _DURATION_SECONDS[match.group(2)]


def _number(value, name, upper=None):
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = None
    if number is None or isinstance(value, bool) or number <= 0 or (upper is not None and number > upper):
        bound = '' if upper is None else ' and at most %s' % upper
        _fail('%s must be a number above 0%s, not %r.' % (name, bound, value))
    return int(number) if number == int(number) else number


def _seconds_text(seconds):
    for unit, size in (('d', 86400), ('h', 3600), ('m', 60)):
        if seconds % size == 0:
            return '%d%s' % (seconds // size, unit)
    return '%ds' % seconds


# --- query languages -------------------------------------------------------------------------------------------------
def _iql_ident(name):
    return '"%s"' % str(name).replace('\\', '\\\\').replace('"', '\\"')


def _iql_text(value):
    return "'%s'" % str(value).replace('\\', '\\\\').replace("'", "\\'")


def _flux_text(value):
    return '"%s"' % str(value).replace('\\', '\\\\').replace('"', '\\"').replace('${', '\\${')


class _Queries(object):
    """Every query of the dashboards and rules, in the data layer's language (2: Flux, 1: InfluxQL)."""

    def __init__(self, data_layer, trigger_events, self_test_line):
        self.version, self.database, self.raw, self.rollup = _layer(data_layer)
        self.flux = self.version == 2
        self.trigger_events = list(trigger_events)
        self.self_test_line = self_test_line

    # InfluxQL ----------------------------------------------------------------------------------------------------
    def _from(self, series):
        return '%s.%s.%s' % (_iql_ident(self.database), _iql_ident(series['rp']), _iql_ident(series['measurement']))

    def _iql_where(self, *conditions):
        return ' AND '.join(condition for condition in conditions if condition)

    def _iql_line(self, line):
        return '%s = %s' % (_iql_ident('line'), _iql_text(line)) if line is not None else ''

    # Flux ----------------------------------------------------------------------------------------------------------
    def _flux_source(self, series, fields, start='v.timeRangeStart', stop='v.timeRangeStop', line=None):
        field_test = ' or '.join('r._field == %s' % _flux_text(name) for name in fields)
        lines = [
            'from(bucket: %s)' % _flux_text(series['bucket']),
            '  |> range(start: %s%s)' % (start, ', stop: %s' % stop if stop else ''),
            '  |> filter(fn: (r) => r._measurement == %s)' % _flux_text(series['measurement']),
            '  |> filter(fn: (r) => %s)' % field_test,
        ]
        if line is not None:
            lines.append('  |> filter(fn: (r) => r.line == %s)' % _flux_text(line))
        return lines

    def _flux_records(self, fields, condition, **kwargs):
        """Raw records as rows (one column per field) that pass ``condition`` (a Flux predicate on r)."""
        lines = self._flux_source(self.raw, fields, **kwargs)
        lines.append('  |> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value")')
        lines.append('  |> filter(fn: (r) => %s)' % condition)
        return lines

    # The queries ---------------------------------------------------------------------------------------------------
    def timeline(self):
        """Records per line and dashboard interval (self-test records excluded)."""
        if self.flux:
            return '\n'.join(self._flux_records(['event_id', 'self_test'], 'r.self_test == false') + [
                '  |> map(fn: (r) => ({r with _value: 1}))',
                '  |> group(columns: ["line"])',
                '  |> sort(columns: ["_time"])',
                '  |> aggregateWindow(every: v.windowPeriod, fn: sum, createEmpty: true)',
                '  |> fill(value: 0)',
            ])
        return ('SELECT count(%s) AS "events" FROM %s WHERE %s GROUP BY time($__interval), %s fill(0)'
                % (_iql_ident('event_id'), self._from(self.raw),
                   self._iql_where('"self_test" = false', '$timeFilter'), _iql_ident('line')))

    def rate(self):
        """Events per minute per line, in windows of RATE_WINDOW_MINUTES (the spike rule's measure)."""
        window = '%dm' % RATE_WINDOW_MINUTES
        if self.flux:
            return '\n'.join(self._flux_records(['event_id', 'self_test'], 'r.self_test == false') + [
                '  |> map(fn: (r) => ({r with _value: 1}))',
                '  |> group(columns: ["line"])',
                '  |> sort(columns: ["_time"])',
                '  |> aggregateWindow(every: %s, fn: sum, createEmpty: true)' % window,
                '  |> fill(value: 0)',
                '  |> map(fn: (r) => ({r with _value: float(v: r._value) / %d.0}))' % RATE_WINDOW_MINUTES,
            ])
        return ('SELECT count(%s) / %d AS "events_per_minute" FROM %s WHERE %s GROUP BY time(%s), %s fill(0)'
                % (_iql_ident('event_id'), RATE_WINDOW_MINUTES, self._from(self.raw),
                   self._iql_where('"self_test" = false', '$timeFilter'), window, _iql_ident('line')))

    def last_anomaly(self, line=None):
        """The latest trigger record (correlation is not none) per station: time, event, camera, correlation."""
        group = ['line', 'station'] if line is None else ['station']
        if self.flux:
            return '\n'.join(self._flux_records(
                ['correlation', 'self_test'], 'r.self_test == false and r.correlation != "none"', line=line) + [
                '  |> group(columns: [%s])' % ', '.join(_flux_text(name) for name in ['line', 'station']),
                '  |> sort(columns: ["_time"])',
                '  |> last(column: "_time")',
                '  |> group()',
                '  |> keep(columns: ["_time", "line", "station", "event", "camera", "correlation"])',
            ])
        return ('SELECT last(%s) AS "correlation", %s, %s FROM %s WHERE %s GROUP BY %s'
                % (_iql_ident('correlation'), _iql_ident('event'), _iql_ident('camera'), self._from(self.raw),
                   self._iql_where('"self_test" = false', '"correlation" != \'none\'', self._iql_line(line),
                                   '$timeFilter'),
                   ', '.join(_iql_ident(name) for name in group)))

    def correlation_rate(self, line=None):
        """clips / events of the trigger events per line, from the roll-up (self-test line and none excluded)."""
        if self.rollup is None:
            return self._correlation_rate_raw(line)
        events = ' or '.join('r.event == %s' % _flux_text(event) for event in self.trigger_events)
        if self.flux:
            lines = self._flux_source(self.rollup, ['events', 'clips'], line=line)
            lines += [
                '  |> filter(fn: (r) => r.line != %s and (%s))' % (_flux_text(self.self_test_line), events),
                '  |> group(columns: ["line"])',
                '  |> reduce(identity: {events: 0, clips: 0}, fn: (r, accumulator) => ({',
                '      events: accumulator.events + (if r._field == "events" then int(v: r._value) else 0),',
                '      clips: accumulator.clips + (if r._field == "clips" then int(v: r._value) else 0)}))',
                '  |> map(fn: (r) => ({line: r.line, _value: if r.events > 0 then float(v: r.clips) / '
                'float(v: r.events) else 0.0}))',
            ]
            return '\n'.join(lines)
        event_test = ' OR '.join('%s = %s' % (_iql_ident('event'), _iql_text(event)) for event in self.trigger_events)
        # 1.6.7: an hour without a clip has no clips field; fill(0) in the subquery reads it as 0 (docs/data.md).
        inner = ('SELECT sum(%s) AS "clips", sum(%s) AS "events" FROM %s WHERE %s GROUP BY time(1h), %s fill(0)'
                 % (_iql_ident('clips'), _iql_ident('events'), self._from(self.rollup),
                    self._iql_where('%s != %s' % (_iql_ident('line'), _iql_text(self.self_test_line)),
                                    '(%s)' % event_test, self._iql_line(line), '$timeFilter'),
                    _iql_ident('line')))
        return ('SELECT sum("clips") / sum("events") AS "correlation_rate" FROM (%s) WHERE "events" > 0 GROUP BY %s'
                % (inner, _iql_ident('line')))

    def _correlation_rate_raw(self, line=None):
        """Without a roll-up: the same rate from the raw records."""
        if self.flux:
            return '\n'.join(self._flux_records(
                ['correlation', 'clip_url', 'self_test'], 'r.self_test == false and r.correlation != "none"',
                line=line) + [
                '  |> group(columns: ["line"])',
                '  |> reduce(identity: {events: 0, clips: 0}, fn: (r, accumulator) => ({',
                '      events: accumulator.events + 1,',
                '      clips: accumulator.clips + (if exists r.clip_url then 1 else 0)}))',
                '  |> map(fn: (r) => ({line: r.line, _value: float(v: r.clips) / float(v: r.events)}))',
            ])
        inner = ('SELECT count(%s) AS "clips", count(%s) AS "events" FROM %s WHERE %s GROUP BY time(1h), %s fill(0)'
                 % (_iql_ident('clip_url'), _iql_ident('correlation'), self._from(self.raw),
                    self._iql_where('"self_test" = false', '"correlation" != \'none\'', self._iql_line(line),
                                    '$timeFilter'), _iql_ident('line')))
        return ('SELECT sum("clips") / sum("events") AS "correlation_rate" FROM (%s) WHERE "events" > 0 GROUP BY %s'
                % (inner, _iql_ident('line')))

    def recent_events(self):
        """The latest RECENT_EVENTS_LIMIT records (self-test excluded), newest first, with their links."""
        if self.flux:
            columns = ['_time'] + list(RECENT_COLUMNS) + list(RECENT_FIELDS)
            return '\n'.join(self._flux_records(list(RECENT_FIELDS) + ['self_test'], 'r.self_test == false') + [
                '  |> group()',
                '  |> sort(columns: ["_time"], desc: true)',
                '  |> limit(n: %d)' % RECENT_EVENTS_LIMIT,
                '  |> keep(columns: [%s])' % ', '.join(_flux_text(name) for name in columns),
            ])
        return ('SELECT %s FROM %s WHERE %s ORDER BY time DESC LIMIT %d'
                % (', '.join(_iql_ident(name) for name in RECENT_COLUMNS + RECENT_FIELDS), self._from(self.raw),
                   self._iql_where('"self_test" = false', '$timeFilter'), RECENT_EVENTS_LIMIT))

    def events_last_hour(self, line):
        if self.flux:
            return '\n'.join(self._flux_records(['event_id', 'self_test'], 'r.self_test == false', start='-1h',
                                                stop=None, line=line) + [
                '  |> group()',
                '  |> count(column: "event_id")',
                '  |> map(fn: (r) => ({_value: r.event_id}))',
            ])
        return ('SELECT count(%s) AS "events" FROM %s WHERE %s'
                % (_iql_ident('event_id'), self._from(self.raw),
                   self._iql_where('"self_test" = false', self._iql_line(line), 'time > now() - 1h')))

    # Alert rule queries: the window is the rule's relativeTimeRange, written out. No $ anywhere in provisioned rules:
    # Grafana interpolates environment variables in some of their fields (labels; not annotations or the model).
    def self_tests(self, seconds):
        if self.flux:
            return '\n'.join(self._flux_records(['event_id', 'self_test'], 'r.self_test == true') + [
                '  |> group()',
                '  |> count(column: "event_id")',
                '  |> map(fn: (r) => ({_time: v.timeRangeStop, _value: r.event_id}))',
            ])
        return ('SELECT count(%s) AS "self_tests" FROM %s WHERE %s'
                % (_iql_ident('event_id'), self._from(self.raw),
                   self._iql_where('"self_test" = true', 'time > now() - %s' % _seconds_text(seconds))))

    def events_per_minute(self, seconds):
        minutes = seconds / 60.0
        if self.flux:
            return '\n'.join(self._flux_records(['event_id', 'self_test'], 'r.self_test == false') + [
                '  |> group(columns: ["line"])',
                '  |> count(column: "event_id")',
                '  |> map(fn: (r) => ({line: r.line, _time: v.timeRangeStop, _value: float(v: r.event_id) / %r}))'
                % minutes,
            ])
        return ('SELECT count(%s) / %r AS "events_per_minute" FROM %s WHERE %s GROUP BY %s'
                % (_iql_ident('event_id'), minutes, self._from(self.raw),
                   self._iql_where('"self_test" = false', 'time > now() - %s' % _seconds_text(seconds)),
                   _iql_ident('line')))

    def clip_missing(self, seconds):
        """Share of trigger records (correlation not none, self-test excluded) without clip_url, per line."""
        if self.flux:
            return '\n'.join(self._flux_records(
                ['correlation', 'clip_url', 'self_test'], 'r.self_test == false and r.correlation != "none"') + [
                '  |> group(columns: ["line"])',
                '  |> reduce(identity: {triggers: 0, missing: 0}, fn: (r, accumulator) => ({',
                '      triggers: accumulator.triggers + 1,',
                '      missing: accumulator.missing + (if exists r.clip_url then 0 else 1)}))',
                '  |> map(fn: (r) => ({line: r.line, _time: v.timeRangeStop, '
                '_value: float(v: r.missing) / float(v: r.triggers)}))',
            ])
        # A line without any clip has no clip_url count (null in 1.6.7); fill(0) in the subquery makes it 0.
        inner = ('SELECT count(%s) AS "triggers", count(%s) AS "clips" FROM %s WHERE %s GROUP BY time(1m), %s fill(0)'
                 % (_iql_ident('correlation'), _iql_ident('clip_url'), self._from(self.raw),
                    self._iql_where('"self_test" = false', '"correlation" != \'none\'',
                                    'time > now() - %s' % _seconds_text(seconds)), _iql_ident('line')))
        return ('SELECT 1 - sum("clips") / sum("triggers") AS "clip_missing_ratio" FROM (%s) WHERE "triggers" > 0 '
                'GROUP BY %s' % (inner, _iql_ident('line')))


# --- dashboard builders ----------------------------------------------------------------------------------------------
class _Board(object):
    """One dashboard: panels with unique ids, laid out on Grafana's 24-column grid."""

    def __init__(self, uid, title, description, datasource, queries, tags):
        self.datasource = datasource
        self.queries = queries
        self.panels = []
        self.next_id = 1
        self.y = 0
        self.x = 0
        self.row_height = 0
        self.dashboard = {
            'uid': uid, 'title': title, 'description': description, 'tags': tags, 'editable': False,
            'schemaVersion': SCHEMA_VERSION, 'version': 1, 'timezone': 'browser', 'graphTooltip': 1,
            'refresh': '30s', 'time': {'from': 'now-24h', 'to': 'now'}, 'timepicker': {},
            'templating': {'list': []}, 'annotations': {'list': []}, 'links': [], 'fiscalYearStartMonth': 0,
            'liveNow': False, 'panels': self.panels,
        }

    def target(self, query, ref='A', table=False):
        target = {'refId': ref, 'datasource': dict(self.datasource), 'query': query}
        if not self.queries.flux:
            target.update({'rawQuery': True, 'resultFormat': 'table' if table else 'time_series'})
        return target

    def _place(self, width, height):
        if self.x + width > 24:
            self.x = 0
            self.y += self.row_height
            self.row_height = 0
        position = {'x': self.x, 'y': self.y, 'w': width, 'h': height}
        self.x += width
        self.row_height = max(self.row_height, height)
        return position

    def add(self, panel_type, title, width, height, targets=None, description='', options=None, field_config=None,
            **extra):
        panel = {'id': self.next_id, 'type': panel_type, 'title': title, 'description': description,
                 'gridPos': self._place(width, height), 'options': options or {},
                 'fieldConfig': field_config or {'defaults': {}, 'overrides': []}}
        self.next_id += 1
        if targets is not None:
            panel['datasource'] = dict(self.datasource)
            panel['targets'] = targets
        panel.update(extra)
        self.panels.append(panel)
        return panel

    def row(self, title):
        self.x = 0
        self.y += self.row_height
        self.row_height = 0
        panel = {'id': self.next_id, 'type': 'row', 'title': title, 'collapsed': False, 'panels': [],
                 'gridPos': {'x': 0, 'y': self.y, 'w': 24, 'h': 1}}
        self.next_id += 1
        self.y += 1
        self.panels.append(panel)


def _frigate_link(frigate_public_url, kind):
    """A data link on the frigate_event_id column: the Frigate API path the pipeline also stores."""
    suffix = 'clip.mp4' if kind == 'clip' else 'snapshot.jpg'
    return {'title': 'Frigate %s' % kind, 'url': '%s/api/events/${__value.raw}/%s' % (frigate_public_url, suffix),
            'targetBlank': True}


def _recent_events_overrides(frigate_public_url):
    def link_column(name, title):
        return {'matcher': {'id': 'byName', 'options': name},
                'properties': [{'id': 'links',
                                'value': [{'title': title, 'url': '${__value.raw}', 'targetBlank': True}]},
                               {'id': 'custom.width', 'value': 120}]}
    return [
        link_column('clip_url', 'Clip (clip_url)'),
        link_column('snapshot_url', 'Snapshot (snapshot_url)'),
        {'matcher': {'id': 'byName', 'options': 'frigate_event_id'},
         'properties': [{'id': 'links', 'value': [_frigate_link(frigate_public_url, 'clip'),
                                                  _frigate_link(frigate_public_url, 'snapshot')]}]},
    ]


def _stat(unit='none', decimals=None, max_value=None):
    defaults = {'unit': unit, 'noValue': '0' if unit != 'percentunit' else 'no trigger events'}
    if decimals is not None:
        defaults['decimals'] = decimals
    if max_value is not None:
        defaults.update({'min': 0, 'max': max_value})
    return {'defaults': defaults, 'overrides': []}


_STAT_OPTIONS = {'reduceOptions': {'calcs': ['lastNotNull'], 'fields': '', 'values': False},
                 'colorMode': 'value', 'graphMode': 'none', 'justifyMode': 'auto', 'textMode': 'value_and_name',
                 'orientation': 'auto'}
_TABLE_OPTIONS = {'showHeader': True, 'cellHeight': 'sm', 'footer': {'show': False}}


def _machine_events(queries, datasource, frigate_public_url):
    board = _Board(MACHINE_EVENTS_UID, 'Machine events',
                   'PLC events and their clips from the anomaly-to-clip pipeline (docs/dashboards.md). '
                   'Self-test records are excluded everywhere.', datasource, queries, ['sensingcam', 'ming'])
    board.add('timeseries', 'Event timeline by line', 16, 8, [board.target(queries.timeline())],
              'Records per line and interval (all PLC events, self-test excluded).',
              options={'legend': {'displayMode': 'list', 'placement': 'bottom', 'showLegend': True},
                       'tooltip': {'mode': 'multi', 'sort': 'desc'}},
              field_config={'defaults': {'unit': 'short', 'custom': {'drawStyle': 'bars', 'fillOpacity': 60,
                                                                     'stacking': {'mode': 'normal'}}},
                            'overrides': []})
    board.add('stat', 'Correlation rate (hourly roll-up)', 8, 8, [board.target(queries.correlation_rate())],
              'Share of trigger events whose clip was found, per line, from the hourly roll-up: the self-test line '
              'and non-trigger events (correlation none) are left out. The current hour appears after the roll-up.',
              options=dict(_STAT_OPTIONS), field_config=_stat('percentunit', 1, 1))
    board.add('timeseries', 'Event rate (events per minute, %d-minute windows)' % RATE_WINDOW_MINUTES, 12, 8,
              [board.target(queries.rate())], 'The measure of the event-rate spike alert.',
              options={'legend': {'displayMode': 'list', 'placement': 'bottom', 'showLegend': True},
                       'tooltip': {'mode': 'multi', 'sort': 'desc'}},
              field_config={'defaults': {'unit': 'short'}, 'overrides': []})
    board.add('table', 'Last anomaly per station', 12, 8,
              [board.target(queries.last_anomaly(), table=True)],
              'The latest trigger event (correlation not none) of each station, with its outcome.',
              options=dict(_TABLE_OPTIONS))
    board.add('table', 'Recent events (latest %d)' % RECENT_EVENTS_LIMIT, 24, 12,
              [board.target(queries.recent_events(), table=True)],
              'Every record, newest first. clip_url and snapshot_url open the clip and snapshot in Frigate; '
              'frigate_event_id links to the same Frigate API paths.',
              options=dict(_TABLE_OPTIONS),
              field_config={'defaults': {}, 'overrides': _recent_events_overrides(frigate_public_url)})
    return board.dashboard


def _live_view(stream_proxy_url, camera):
    """The Text panel's HTML: one <img> (the sanitizer keeps img src, alt and a style from its CSS allow-list)."""
    # A camera recorded by another NVR than the first has its own proxy (the grafana role passes it per camera).
    source = '%s/api/stream.mjpeg?src=%s' % (camera['stream_proxy_url'] or stream_proxy_url,
                                             quote(camera['name'] + '_dashboard', safe=''))
    return ('<img src="%s" alt="%s" style="max-width:100%%;max-height:100%%">'
            % (html.escape(source, quote=True), html.escape(camera['name'], quote=True)))


def _live_lines(queries, datasource, cameras, stream_proxy_url):
    board = _Board(LIVE_LINES_UID, 'Live lines',
                   'Each line\'s live camera views next to its KPIs (docs/dashboards.md). The views are MJPEG images '
                   'through the stream proxy: no script, no iframe.', datasource, queries, ['sensingcam', 'ming'])
    board.dashboard['time'] = {'from': 'now-24h', 'to': 'now'}
    lines = []
    for camera in cameras:
        if camera['line'] not in lines:
            lines.append(camera['line'])
    for line in lines:
        board.row('Line %s' % line)
        for camera in [item for item in cameras if item['line'] == line]:
            title = '%s (station %s)' % (camera['name'], camera['station']) if camera['station'] else camera['name']
            board.add('text', title, 6, 9, None, 'Live view of %s (go2rtc stream %s_dashboard).'
                      % (camera['name'], camera['name']),
                      options={'mode': 'html', 'content': _live_view(stream_proxy_url, camera),
                               'code': {'language': 'plaintext', 'showLineNumbers': False, 'showMiniMap': False}})
        board.add('stat', 'Line %s: events last hour' % line, 6, 3,
                  [board.target(queries.events_last_hour(line))], 'Records of this line in the last hour.',
                  options=dict(_STAT_OPTIONS), field_config=_stat('short', 0))
        board.add('stat', 'Line %s: correlation rate' % line, 6, 3,
                  [board.target(queries.correlation_rate(line))],
                  'Trigger events with a clip, from the hourly roll-up, over the dashboard range.',
                  options=dict(_STAT_OPTIONS), field_config=_stat('percentunit', 1, 1))
        board.add('table', 'Line %s: last anomaly' % line, 12, 5,
                  [board.target(queries.last_anomaly(line), table=True)],
                  'The latest trigger event of each station of this line.', options=dict(_TABLE_OPTIONS))
    return board.dashboard


def _options(trigger_events, self_test_line):
    if isinstance(trigger_events, str) or not isinstance(trigger_events, (list, tuple)) or not trigger_events:
        _fail('grafana dashboards: trigger_events must be a non-empty list (nodered_trigger_events), not %r.'
              % (trigger_events,))
    if not isinstance(self_test_line, str) or not self_test_line:
        _fail('grafana dashboards: self_test_line must be the self-test line name, not %r.' % (self_test_line,))
    # The pipeline lower-cases event names and its trigger list (ming_pipeline.js), so the tag holds lower case.
    return [str(event).lower() for event in trigger_events], self_test_line


def grafana_dashboards(data_layer, cameras, datasource_uid, frigate_public_url, stream_proxy_url,
                       trigger_events=DEFAULT_TRIGGER_EVENTS, self_test_line=DEFAULT_SELF_TEST_LINE):
    """{file name: dashboard} for "Machine events" and "Live lines"."""
    queries = _Queries(data_layer, *_options(trigger_events, self_test_line))
    datasource = _datasource(datasource_uid)
    cameras = _cameras(cameras)
    frigate = _url(frigate_public_url, 'frigate_public_url (nodered_frigate_public_url)')
    proxy = _url(stream_proxy_url, 'stream_proxy_url (frigate_stream_proxy_public_url)')
    return {
        DASHBOARD_FILES[MACHINE_EVENTS_UID]: _machine_events(queries, datasource, frigate),
        DASHBOARD_FILES[LIVE_LINES_UID]: _live_lines(queries, datasource, cameras, proxy),
    }


# --- alert rules -----------------------------------------------------------------------------------------------------
def _settings(settings):
    if settings is None:
        settings = {}
    if not isinstance(settings, dict):
        _fail('grafana alert rules: settings must be a dict, not %s.' % type(settings).__name__)
    unknown = sorted(set(settings) - set(ALERT_DEFAULTS) - set(('trigger_events', 'self_test_line')))
    if unknown:
        _fail('grafana alert rules: unknown setting(s) %s; known: %s.'
              % (', '.join(unknown), ', '.join(sorted(ALERT_DEFAULTS))))
    merged = dict(ALERT_DEFAULTS)
    merged.update(dict((key, value) for key, value in settings.items() if value is not None))
    return merged


def _query_step(ref, query, seconds, datasource, flux):
    model = {'refId': ref, 'datasource': dict(datasource), 'query': query, 'intervalMs': 1000,
             'maxDataPoints': 43200}
    if not flux:
        model.update({'rawQuery': True, 'resultFormat': 'time_series'})
    return {'refId': ref, 'relativeTimeRange': {'from': seconds, 'to': 0}, 'datasourceUid': datasource['uid'],
            'model': model}


def _expression(ref, model):
    model = dict(model, refId=ref, datasource={'type': EXPRESSION_UID, 'uid': EXPRESSION_UID})
    return {'refId': ref, 'relativeTimeRange': {'from': 0, 'to': 0}, 'datasourceUid': EXPRESSION_UID, 'model': model}


def _threshold_rule(uid, title, query_step, operator, value, for_, no_data, exec_error, severity, summary, description):
    data = [
        query_step,
        _expression('B', {'type': 'reduce', 'expression': 'A', 'reducer': 'last', 'settings': {'mode': 'dropNN'}}),
        _expression('C', {'type': 'threshold', 'expression': 'B',
                          'conditions': [{'evaluator': {'type': operator, 'params': [value]}}]}),
    ]
    return {'uid': uid, 'title': title, 'condition': 'C', 'data': data, 'noDataState': no_data,
            'execErrState': exec_error, 'for': for_, 'isPaused': False,
            'labels': {'service': 'sensingcam-ming', 'severity': severity, 'rule': uid},
            'annotations': {'summary': summary, 'description': description}}


def grafana_alert_rules(data_layer, datasource_uid, settings=None):
    """The alert-rules provisioning document: service down, event-rate spike per line, clip-missing rate."""
    settings = _settings(settings)
    trigger_events, self_test_line = _options(settings.get('trigger_events', DEFAULT_TRIGGER_EVENTS),
                                              settings.get('self_test_line', DEFAULT_SELF_TEST_LINE))
    queries = _Queries(data_layer, trigger_events, self_test_line)
    datasource = _datasource(datasource_uid)
    down = _duration(settings['service_down_after'], 'settings.service_down_after')
    rate_window = _duration(settings['event_rate_window'], 'settings.event_rate_window')
    clip_window = _duration(settings['clip_missing_window'], 'settings.clip_missing_window')
    for key in ('interval', 'event_rate_for', 'clip_missing_for'):
        _duration(settings[key], 'settings.' + key)
    threshold = _number(settings['event_rate_threshold'], 'settings.event_rate_threshold')
    ratio = _number(settings['clip_missing_ratio'], 'settings.clip_missing_ratio', upper=1)
    for key in ('folder', 'group'):
        if not isinstance(settings[key], str) or not settings[key]:
            _fail('grafana alert rules: settings.%s must be a non-empty text, not %r.' % (key, settings[key]))
    rules = [
        _threshold_rule(
            RULE_UIDS['service_down'], 'sensingcam.ming pipeline down (no self-test record)',
            _query_step('A', queries.self_tests(down), down, datasource, queries.flux), 'lt', 1, '0s',
            'Alerting', 'Alerting', 'critical',
            'No self-test record stored for %s: the pipeline stopped recording.' % _seconds_text(down),
            'playbooks/verify.yml writes a self-test record (self_test=true) and plants run it hourly. None arrived '
            'in the last %s, or InfluxDB could not be asked (no data and errors also alert): check Node-RED, '
            'the broker and InfluxDB.' % _seconds_text(down)),
        _threshold_rule(
            RULE_UIDS['event_rate'], 'sensingcam.ming event-rate spike per line',
            _query_step('A', queries.events_per_minute(rate_window), rate_window, datasource, queries.flux),
            'gt', threshold, settings['event_rate_for'], 'OK', 'Error', 'warning',
            'A line records more than %s events per minute.' % threshold,
            'Events per minute of a line over the last %s (self-test excluded) above %s; the alert carries the '
            'line label.' % (_seconds_text(rate_window), threshold)),
        _threshold_rule(
            RULE_UIDS['clip_missing'], 'sensingcam.ming clips missing',
            _query_step('A', queries.clip_missing(clip_window), clip_window, datasource, queries.flux),
            'gt', ratio, settings['clip_missing_for'], 'OK', 'Error', 'warning',
            'More than %s of a line\'s trigger events have no clip.' % ratio,
            'Share of trigger records (correlation not none, self-test excluded) without clip_url over the last %s, '
            'per line, above %s: check the camera, Frigate and its recordings.' % (_seconds_text(clip_window), ratio)),
    ]
    return {'apiVersion': 1, 'groups': [{
        'orgId': int(settings['org_id']), 'name': settings['group'], 'folder': settings['folder'],
        'interval': settings['interval'], 'rules': rules}]}


class FilterModule(object):
    """Grafana dashboards and alert rules."""

    def filters(self):
        return {
            'grafana_dashboards': grafana_dashboards,
            'grafana_alert_rules': grafana_alert_rules,
        }
