# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Durations as plant engineers write them (``30d``, ``1h30m``, ``104w``), for InfluxDB 1.x and 2.x alike.

Shared by the bucket, retention-policy and task modules and by the role's preflight (through the
``influxdb_duration_seconds`` filter), so every place accepts and refuses the same texts.

- ``parse_duration(value, option)``: seconds as an int. An int is taken as seconds; text is ``0``, ``infinite``
  or ``INF`` (all three mean "keep forever" and give 0), or number+unit pairs with units s, m, h, d, w, largest
  first or not (``1h30m``, ``30m1h`` both give 5400). Months and years are refused: their length varies and
  InfluxQL has no such unit; ``730d`` is two years.
- ``format_duration(seconds)``: the shortest exact text, ``infinite`` for 0.
- ``influxql_duration(seconds)``: the InfluxQL literal, ``INF`` for 0.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

UNITS = (('w', 7 * 86400), ('d', 86400), ('h', 3600), ('m', 60), ('s', 1))
_SECONDS = dict(UNITS)
_PAIR = re.compile(r'(\d+)([a-z]+)')
_WHOLE = re.compile(r'^(\d+[a-z]+)+$')
FOREVER = ('0', 'infinite', 'inf')
EXAMPLES = "e.g. 30d, 1h30m, 104w, or 0 (also 'infinite') to keep forever"


class DurationError(ValueError):
    """A duration that cannot be read; the message names the option, the value and examples."""


def parse_duration(value, option='duration'):
    """Seconds in ``value`` (int seconds or text such as ``30d``); 0 means forever. Raises DurationError."""
    if isinstance(value, bool):
        raise DurationError('%s=%r is not a duration (%s).' % (option, value, EXAMPLES))
    if isinstance(value, int):
        if value < 0:
            raise DurationError('%s=%d is negative; give a duration (%s).' % (option, value, EXAMPLES))
        return value
    if not isinstance(value, str):
        raise DurationError('%s=%r is not a duration (%s).' % (option, value, EXAMPLES))
    text = value.strip().lower()
    if text in FOREVER:
        return 0
    if text.isdigit():
        raise DurationError("%s='%s' has no unit: write %ss for seconds (%s)." % (option, value, text, EXAMPLES))
    if not _WHOLE.match(text):
        raise DurationError("%s='%s' is not a duration (%s)." % (option, value, EXAMPLES))
    seconds = 0
    for number, unit in _PAIR.findall(text):
        if unit not in _SECONDS:
            hint = ' Months and years vary in length: write days, e.g. 730d for two years.' \
                if unit in ('mo', 'y', 'yr', 'mon') else ''
            raise DurationError("%s='%s' uses the unit '%s'; the units are s, m, h, d and w (%s).%s"
                                % (option, value, unit, EXAMPLES, hint))
        seconds += int(number) * _SECONDS[unit]
    return seconds


def _pairs(seconds):
    parts = []
    rest = int(seconds)
    for unit, size in UNITS:
        if rest >= size:
            count, rest = divmod(rest, size)
            parts.append('%d%s' % (count, unit))
    return parts


def format_duration(seconds):
    """The shortest exact text for ``seconds``: ``30d``, ``1h30m``; ``infinite`` for 0.

    Weeks are used only when the duration is a whole number of weeks, so 30 days reads ``30d``, not ``4w2d``.
    """
    seconds = int(seconds)
    if seconds == 0:
        return 'infinite'
    if seconds % (7 * 86400) == 0:
        return '%dw' % (seconds // (7 * 86400))
    days, rest = divmod(seconds, 86400)
    return ''.join((['%dd' % days] if days else []) + _pairs(rest))


def influxql_duration(seconds):
    """The InfluxQL duration literal for ``seconds`` (``30d``, ``1h30m``), ``INF`` for 0."""
    return 'INF' if int(seconds) == 0 else format_duration(seconds)
