#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_task
short_description: Create, change, pause or delete an InfluxDB 2.x task (downsampling Flux on a schedule)
version_added: 0.3.0
description:
  - Keeps one task of an InfluxDB OSS 2.x organization as declared (C(/api/v2/tasks)), that is its schedule
    (O(every) or O(cron), O(offset)), its Flux script, its status and description.
  - InfluxDB reads a task's name and schedule from the C(option task = {...}) statement at the top of its Flux.
    This module writes that statement itself from O(name), O(every) or O(cron) and O(offset), followed by a blank
    line and O(flux). A O(flux) that already holds an C(option task) statement is refused.
  - The task is found by O(name) in O(org). Two tasks of that name fail the run, naming both IDs; delete one.
  - "Idempotent on the script's meaning as text: the C(option task) record InfluxDB holds is read key by key
    (name, every, cron, offset; any other key is a difference), and the rest of the script is compared after
    normalising it: line endings, trailing white space and blank lines do not count; indentation, comments and
    string literals do. Then O(status) and, when set, O(description)."
  - A change is sent as one C(PATCH) carrying only the changed fields among C(flux), C(status) and
    C(description), never C(every) or C(offset) on their own (InfluxDB would rewrite the script). Every C(PATCH)
    cancels the task's scheduled runs, so an unchanged task is never patched.
  - Every input check (schedule, durations, an empty O(flux), an C(option task) statement in O(flux)) runs before
    any request.
  - When the task's last run failed, the module warns with InfluxDB's C(lastRunError).
  - "Authenticate (O(token)) with a dedicated task token that you keep. A task runs with the authorization of
    the token that created it: deleting that token, or creating the task with a read-only token, makes every run
    of the task fail. The token must be able to read O(org), read and write its tasks, read the buckets the
    Flux reads and write the buckets it writes; do not create tasks with a short-lived or personal token."
extends_documentation_fragment:
  - sensingcam.ming.influxdb
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff is text, the task's status and description followed by its whole Flux script, so a changed
        line of Flux shows as a changed line.
  idempotent:
    support: full
    details:
      - A second run with the same options sends no write request (see the description for what is compared).
options:
  name:
    description:
      - Name of the task, unique in O(org); written as C(name) of the C(option task) record.
    type: str
    required: true
  every:
    description:
      - How often the task runs, a Flux duration literal such as V(1h), V(15m) or V(1h30m) (units y, mo, w, d, h,
        m, s, ms, us, ns; larger units first). Exactly one of O(every) and O(cron) is required for O(state=present).
    type: str
  cron:
    description:
      - When the task runs, as a cron expression such as V(5 * * * *) (InfluxDB evaluates it in the server's
        system time). Exactly one of O(every) and O(cron) is required for O(state=present).
    type: str
  offset:
    description:
      - Delay after the scheduled time before the task runs, a Flux duration literal such as V(5m), to give late
        data time to arrive. The time range the script sees is not shifted.
    type: str
  flux:
    description:
      - The Flux script the task runs, B(without) the C(option task) statement (the module writes it).
      - Required for O(state=present).
    type: str
  status:
    description:
      - V(inactive) keeps the task but stops its scheduled runs (and manual runs).
    type: str
    choices: [active, inactive]
    default: active
  description:
    description:
      - Free text shown in InfluxDB's UI. When not set, an existing task keeps its description.
    type: str
  state:
    description:
      - V(absent) deletes the task, its runs and logs.
    type: str
    choices: [present, absent]
    default: present
notes:
  - Changing O(name) creates a new task; delete the old one with O(state=absent).
  - Check that the buckets in O(flux) exist with the P(sensingcam.ming.influxdb_flux_buckets#filter) filter.
seealso:
  - module: sensingcam.ming.influxdb_bucket
  - module: sensingcam.ming.influxdb_token
  - name: InfluxDB task options
    description: name, every, cron and offset of a task.
    link: https://docs.influxdata.com/influxdb/v2/process-data/task-options/
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Hourly counts per line, station, event and severity, 5 minutes after the hour
  sensingcam.ming.influxdb_task:
    host: influxdb.plant.example
    use_tls: true
    token: "{{ lookup('ansible.builtin.file', 'secrets/influxdb-task-token') }}"
    org: ming
    name: machine_events_1h
    every: 1h
    offset: 5m
    description: Downsample machine_events into machine_events_1h
    flux: |
      from(bucket: "machine_events")
        |> range(start: -task.every)
        |> filter(fn: (r) => r._measurement == "machine_events")
        |> group(columns: ["line", "station", "event", "severity"])
        |> aggregateWindow(every: 1h, fn: count, createEmpty: false)
        |> to(bucket: "machine_events_1h")
  delegate_to: localhost

- name: Pause the task
  sensingcam.ming.influxdb_task:
    host: influxdb.plant.example
    use_tls: true
    token: "{{ lookup('ansible.builtin.file', 'secrets/influxdb-task-token') }}"
    org: ming
    name: machine_events_1h
    every: 1h
    offset: 5m
    flux: "{{ lookup('ansible.builtin.file', 'flux/machine_events_1h.flux') }}"
    status: inactive
  delegate_to: localhost
'''

RETURN = r'''
task:
  description: The task after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The task ID (absent for a task that check mode would create).
      type: str
    name:
      description: The task name.
      type: str
    every:
      description: The interval of the C(option task) record, when the task has one.
      type: str
      sample: 1h
    cron:
      description: The cron expression of the C(option task) record, when the task has one.
      type: str
    offset:
      description: The offset of the C(option task) record, when the task has one.
      type: str
      sample: 5m
    status:
      description: V(active) or V(inactive).
      type: str
    description:
      description: The description.
      type: str
    flux:
      description: The whole script as InfluxDB holds it, the C(option task) statement included.
      type: str
  sample:
    id: 0a1b2c3d4e5f6071
    name: machine_events_1h
    every: 1h
    offset: 5m
    status: active
    description: Downsample machine_events into machine_events_1h
    flux: "option task = {name: \"machine_events_1h\", every: 1h, offset: 5m}\n\nfrom(bucket: \"machine_events\") ..."
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import InfluxDBModule, quoted  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_flux import (  # noqa: E402
    FluxError,
    duration_is_zero,
    normalize_flux,
    split_task_options,
    task_script,
    validate_flux_duration,
)

SCHEDULE_EXAMPLE = 'for example every: 1h, or cron: "5 * * * *"'


def script_parts(flux):
    """``(options, normalised rest)`` of a whole task script; options {} when it has no option statement."""
    try:
        options, rest = split_task_options(flux)
    except FluxError:
        return None, normalize_flux(flux)
    return options or {}, normalize_flux(rest)


def same_script(wanted, current):
    """Whether two whole task scripts mean the same: same option record key by key, same normalised rest."""
    wanted_options, wanted_rest = script_parts(wanted)
    current_options, current_rest = script_parts(current or '')
    if wanted_options is None or current_options is None:
        return normalize_flux(wanted) == normalize_flux(current)
    return wanted_options == current_options and wanted_rest == current_rest


class InfluxDBTask(InfluxDBModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        every=dict(type='str'),
        cron=dict(type='str'),
        offset=dict(type='str'),
        flux=dict(type='str'),
        status=dict(type='str', choices=['active', 'inactive'], default='active'),
        description=dict(type='str'),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    options = ('flux', 'status', 'description')
    result_key = 'task'
    _warned = False

    @property
    def obj(self):
        return quoted('task', self.params['name'])

    def run(self):
        """As the base, but every API error names the task, also one from the organization lookup."""
        try:
            self.execute()
        except self.expected_errors as exc:
            message = str(exc)
            if self.obj not in message:
                message = 'Cannot manage the %s: %s' % (self.obj, message)
            self.fail(message)

    # -- input ------------------------------------------------------------------------------------------------
    def wanted(self):
        """status, description and the whole script, built from the options once they are checked."""
        params = self.params
        if not params['name'].strip():
            self.fail('name is empty; give the task a name, for example machine_events_1h.')
        if params['state'] == 'absent':
            return {}
        wanted = super(InfluxDBTask, self).wanted()
        try:
            schedule = self.schedule()
            body = params.get('flux')
            if body is None or not normalize_flux(body):
                self.fail("flux is empty for task '%s'; give the Flux script the task runs (without the option "
                          'task statement), for example from(bucket: "machine_events") |> range(start: '
                          '-task.every) |> ... |> to(bucket: "machine_events_1h").' % params['name'])
            options = split_task_options(body)[0]
        except FluxError as exc:
            self.fail(str(exc))
        if options is not None:
            self.fail("flux of task '%s' holds an `option task = {...}` statement; remove it: the module writes "
                      'that statement from the options name, every or cron, and offset.' % params['name'])
        wanted['flux'] = task_script(body, params['name'], **schedule)
        return wanted

    def schedule(self):
        """every/cron/offset as they go into the option statement; fails on a missing or bad schedule."""
        every, cron, offset = (self.params.get(key) for key in ('every', 'cron', 'offset'))
        name = self.params['name']
        if every is None and cron is None:
            self.fail("Task '%s' has no schedule: set exactly one of every and cron (%s)." % (name, SCHEDULE_EXAMPLE))
        if every is not None and cron is not None:
            self.fail("Task '%s' sets both every (%s) and cron (%s); InfluxDB takes exactly one: keep one of them."
                      % (name, every, cron))
        schedule = {}
        if every is not None:
            schedule['every'] = validate_flux_duration(every, 'every')
            if duration_is_zero(schedule['every']):
                self.fail("every='%s' for task '%s' would never run; give an interval such as 1h." % (every, name))
        if cron is not None:
            fields = cron.split()
            if not (cron.strip().startswith('@') or 5 <= len(fields) <= 7):
                self.fail("cron='%s' for task '%s' is not a cron expression; write five fields (minute hour "
                          'day-of-month month day-of-week) such as "5 * * * *", or @hourly.' % (cron, name))
            schedule['cron'] = ' '.join(fields)
        if offset is not None:
            schedule['offset'] = validate_flux_duration(offset, 'offset')
        return schedule

    # -- API --------------------------------------------------------------------------------------------------
    def read(self):
        name = self.params['name']
        tasks = self.client.get_list('/api/v2/tasks', 'tasks', 'list the tasks of the organization',
                                     query={'orgID': self.org_id(), 'name': name}, obj=self.obj)
        tasks = [task for task in tasks if task.get('name') == name]
        if len(tasks) > 1:
            ids = ', '.join(str(task.get('id')) for task in tasks)
            self.fail("InfluxDB at %s has %d tasks named '%s' in organization '%s' (IDs %s); the module cannot tell "
                      'which one to change or delete: delete all but one (InfluxDB UI, or influx task delete --id '
                      '<ID>), then run again.' % (self.client.base_url, len(tasks), name, self.params['org'], ids))
        if not tasks:
            return None
        task = tasks[0]  # the default (system) listing holds the whole script
        if task.get('lastRunStatus') == 'failed' and not self._warned:
            self._warned = True
            self.warn("The last run of task '%s' (ID %s) failed: %s. If every run fails, check the token the task "
                      'was created with: it must still exist and may write the target bucket.'
                      % (name, task.get('id'), task.get('lastRunError') or 'InfluxDB gave no reason'))
        return self.state_of(task)

    def state_of(self, task):
        flux = task.get('flux') or ''
        options = script_parts(flux)[0] or {}
        state = {'id': task.get('id'), 'name': task.get('name'), 'status': task.get('status'),
                 'description': task.get('description') or '', 'flux': flux}
        for key in ('every', 'cron', 'offset'):
            value = options.get(key, task.get(key))
            if value:
                state[key] = value
        return state

    def same(self, option, wanted, current):
        if option == 'flux':
            return same_script(wanted, current)
        return super(InfluxDBTask, self).same(option, wanted, current)

    def create(self, wanted):
        body = {'orgID': self.org_id(), 'flux': wanted['flux'], 'status': wanted['status']}
        if 'description' in wanted:
            body['description'] = wanted['description']
        created = self.client.call('POST', '/api/v2/tasks', 'create a task', obj=self.obj, body=body)
        self._created_id = created.get('id') if isinstance(created, dict) else None

    def update(self, changes, current):
        body = dict((key, changes[key]) for key in ('flux', 'status', 'description') if key in changes)
        self.client.call('PATCH', '/api/v2/tasks/%s' % current['id'], 'change a task', obj=self.obj,
                         body=body)

    def delete(self, current):
        self.client.call('DELETE', '/api/v2/tasks/%s' % current['id'], 'delete a task', obj=self.obj)

    _created_id = None

    def reread(self, changes):
        after = self.read()
        if after is None and self._created_id:
            self.fail("InfluxDB created the %s (ID %s) but the token in `token` cannot read it back, so the next run "
                      'would not find it and would create another one. Give the task token read permission on the '
                      'tasks of organization %s.' % (self.obj, self._created_id, self.params['org']))
        mismatch = sorted(k for k in changes if not self.same(k, changes[k], (after or {}).get(k)))
        if mismatch:
            self.warn(self.mismatch_warning % (self.service, ', '.join(mismatch)))
        return after

    # -- output -----------------------------------------------------------------------------------------------
    def predict(self, before, wanted):
        after = super(InfluxDBTask, self).predict(before, wanted)
        after['name'] = self.params['name']
        after.setdefault('description', '')
        if 'flux' in wanted:
            for key in ('every', 'cron', 'offset'):
                after.pop(key, None)
            after.update(self.schedule())
        return after

    def exit(self, **kwargs):
        diff = self.result.get('diff')
        if isinstance(diff, dict) and isinstance(diff.get('before'), dict):
            self.result['diff'] = {
                'before': self.diff_text(diff['before']), 'after': self.diff_text(diff['after']),
                'before_header': '%s (InfluxDB)' % self.obj, 'after_header': '%s (declared)' % self.obj}
        super(InfluxDBTask, self).exit(**kwargs)

    @staticmethod
    def diff_text(state):
        """A task as diff text: status and description, a blank line, then the whole script."""
        if not state:
            return ''
        flux = state.get('flux') or ''
        ending = '' if flux.endswith('\n') else '\n'
        return 'status: %s\ndescription: %s\n\n%s%s' % (state.get('status'), state.get('description', ''), flux, ending)


def main():
    InfluxDBTask().run()


if __name__ == '__main__':
    main()
