# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``influxdb_duration_seconds``: a duration text (``30d``, ``1h30m``) as seconds, the way the InfluxDB modules read it.

Documentation: the sidecar file ``influxdb_duration_seconds.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import DurationError, parse_duration


def influxdb_duration_seconds(value, option='duration'):
    try:
        return parse_duration(value, option)
    except DurationError as exc:
        raise AnsibleFilterError(str(exc)) from None


class FilterModule(object):
    """InfluxDB duration filter."""

    def filters(self):
        return {'influxdb_duration_seconds': influxdb_duration_seconds}
