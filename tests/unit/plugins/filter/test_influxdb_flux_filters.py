"""The influxdb_flux_buckets and influxdb_flux_task_options filters (plugins/filter/influxdb_flux.py). Pure Python.

The reading itself is tested in tests/unit/plugins/module_utils/test_influxdb_flux.py; here: registration, the
interface (sorted list, dict, {} without a statement), and every error as AnsibleFilterError naming the variable.

Mutations tried (each made a test here fail, then was undone): FluxError let through instead of
AnsibleFilterError; the ``name`` argument not passed on (messages said ``flux``); ``allow_dynamic`` not passed on;
a non-string input accepted (a list's repr scanned); the task-options filter returning None instead of {}.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.influxdb_flux import (
    FilterModule,
    influxdb_flux_buckets,
    influxdb_flux_task_options,
)

SCRIPT = ('option task = {name: "machine_events_1h", every: 1h, offset: 5m}\n\n'
          'from(bucket: "machine_events")\n  |> range(start: -task.every)\n  |> to(bucket: "machine_events_1h")\n')


def test_the_filters_are_registered():
    assert FilterModule().filters() == {
        'influxdb_flux_buckets': influxdb_flux_buckets,
        'influxdb_flux_task_options': influxdb_flux_task_options,
    }


def test_buckets_are_a_sorted_list():
    assert influxdb_flux_buckets('to(bucket: "b") |> from(bucket: "a") |> to(bucket: "b")') == ['a', 'b']
    assert influxdb_flux_buckets(SCRIPT) == ['machine_events', 'machine_events_1h']
    assert influxdb_flux_buckets(None) == []


def test_a_dynamic_bucket_fails_naming_the_variable_unless_allowed():
    with pytest.raises(AnsibleFilterError) as raised:
        influxdb_flux_buckets('from(bucket: source)', 'influxdb_tasks[0].flux')
    assert str(raised.value).startswith('influxdb_tasks[0].flux gives a bucket as bucket: source,')
    assert influxdb_flux_buckets('from(bucket: source) |> to(bucket: "x")', 'f', True) == ['x']


def test_task_options_are_a_dict():
    assert influxdb_flux_task_options(SCRIPT) == {'name': 'machine_events_1h', 'every': '1h', 'offset': '5m'}
    assert influxdb_flux_task_options('from(bucket: "a")') == {}
    assert influxdb_flux_task_options(None) == {}


def test_an_unreadable_statement_fails_naming_the_variable():
    with pytest.raises(AnsibleFilterError) as raised:
        influxdb_flux_task_options('option task = {name: "a"', 'influxdb_tasks[2].flux')
    assert str(raised.value) == 'influxdb_tasks[2].flux: the `option task = {...}` record is not closed with }.'


@pytest.mark.parametrize('flt', [influxdb_flux_buckets, influxdb_flux_task_options])
def test_a_value_that_is_no_text_fails(flt):
    with pytest.raises(AnsibleFilterError) as raised:
        flt(['from(bucket: "a")'], 'influxdb_tasks[0].flux')
    assert str(raised.value) == 'influxdb_tasks[0].flux must be a Flux script (text), not list.'
