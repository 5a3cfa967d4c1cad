# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Read InfluxDB task Flux in playbooks: the buckets a script uses and its ``option task`` record.

Documentation: the sidecar files ``influxdb_flux_buckets.yml`` and ``influxdb_flux_task_options.yml``. The reading
itself (strings, regexes and comments skipped; the limits) is ``module_utils/influxdb_flux.py``, shared with the
influxdb_task module.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_flux import (
    FluxError,
    flux_buckets,
    split_task_options,
)


def _script(flux, name):
    if flux is None:
        return ''
    if not isinstance(flux, str):
        raise AnsibleFilterError('%s must be a Flux script (text), not %s.' % (name, type(flux).__name__))
    return flux


def influxdb_flux_buckets(flux, name='flux', allow_dynamic=False):
    """Sorted names of the buckets in from(bucket: "x"), to(bucket: "x") and wideTo(bucket: "x")."""
    try:
        return flux_buckets(_script(flux, name), allow_dynamic=bool(allow_dynamic), option=name)
    except FluxError as exc:
        raise AnsibleFilterError(str(exc)) from None


def influxdb_flux_task_options(flux, name='flux'):
    """The keys of the script's ``option task = {...}`` record; {} when it has none."""
    try:
        return split_task_options(_script(flux, name), option=name)[0] or {}
    except FluxError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    """InfluxDB Flux filters."""

    def filters(self):
        return {
            'influxdb_flux_buckets': influxdb_flux_buckets,
            'influxdb_flux_task_options': influxdb_flux_task_options,
        }
