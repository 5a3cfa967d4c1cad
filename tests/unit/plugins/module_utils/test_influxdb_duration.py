"""Durations for the InfluxDB modules and the role's preflight (module_utils/influxdb_duration.py and the
``influxdb_duration_seconds`` filter). Pure functions; no server involved.

Mutations tried (each made a test here fail, then was undone): the bool check removed (``True`` read as 1 s);
the "no unit" check removed (``'30'`` read as a malformed pair instead of the hint); the unit table without
``w``; ``format_duration`` without the whole-weeks rule (``2w`` printed as ``14d``); ``influxql_duration``
printing ``infinite`` for 0; the filter letting DurationError through instead of AnsibleFilterError.
"""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.influxdb_duration import influxdb_duration_seconds
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import (
    DurationError, format_duration, influxql_duration, parse_duration)


@pytest.mark.parametrize("text, seconds", [
    ("30d", 30 * 86400), ("1h30m", 5400), ("30m1h", 5400), ("104w", 104 * 7 * 86400), ("730d", 730 * 86400),
    ("1h", 3600), (" 2H ", 7200), ("45s", 45), (0, 0), ("0", 0), ("infinite", 0), ("INF", 0), (3600, 3600),
])
def test_durations_read_as_seconds(text, seconds):
    assert parse_duration(text, "retention") == seconds


@pytest.mark.parametrize("value, words", [
    ("30", "retention='30' has no unit: write 30s for seconds"),
    ("2y", "uses the unit 'y'; the units are s, m, h, d and w"),
    ("2y", "write days, e.g. 730d for two years"),
    ("6mo", "uses the unit 'mo'"),
    ("thirty days", "retention='thirty days' is not a duration"),
    ("1.5h", "retention='1.5h' is not a duration"),
    ("-1h", "is not a duration"),
    (-5, "retention=-5 is negative"),
    (True, "retention=True is not a duration"),
    (None, "retention=None is not a duration"),
    ("", "is not a duration"),
])
def test_bad_durations_name_the_option_and_the_value(value, words):
    with pytest.raises(DurationError) as raised:
        parse_duration(value, "retention")
    assert words in str(raised.value)
    assert "30d" in str(raised.value)  # an example of what works


@pytest.mark.parametrize("seconds, text, influxql", [
    (0, "infinite", "INF"), (3600, "1h", "1h"), (5400, "1h30m", "1h30m"), (30 * 86400, "30d", "30d"),
    (730 * 86400, "730d", "730d"), (14 * 86400, "2w", "2w"), (86400 + 1, "1d1s", "1d1s"), (59, "59s", "59s"),
])
def test_formatting_is_exact_and_reads_back(seconds, text, influxql):
    assert format_duration(seconds) == text
    assert influxql_duration(seconds) == influxql
    assert parse_duration(text) == seconds


def test_the_filter_raises_a_filter_error_naming_the_variable():
    assert influxdb_duration_seconds("30d") == 2592000
    with pytest.raises(AnsibleFilterError, match="influxdb_raw_retention='1y'"):
        influxdb_duration_seconds("1y", "influxdb_raw_retention")
