"""Every InfluxQL query of the 1.x dashboards and alert rules, run against a REAL InfluxDB 1.6.7 (Debian's influxd,
tests/influxdb_v1_server.py) holding pipeline-shaped records; the numbers each panel and rule would show are asserted.

The records have the shape of roles/nodered/files/ming_pipeline.js's points (tags line, station, camera, event,
severity; fields correlation, event_id, self_test and, when known, clip_url, snapshot_url, frigate_event_id,
duration_seconds): matched records with a clip, a timeout, a trigger_failed whose Frigate clip still exists, `none`
records (non-trigger events), a line without any clip, and two self-test records (one `none`, one `timeout` from a
self-test camera). The hourly roll-up is the role's own continuous query (``__influxdb_cq_query`` rendered from
roles/influxdb/vars/main.yml) run as a backfill over the test's range. Grafana's macros are replaced as Grafana would:
``$timeFilter`` by ``time > now() - 6h``, ``$__interval`` by ``1m``. Records lie 5 to 45 minutes in the past, away
from every window edge the queries use, so no count depends on the moment the test runs.

The Flux versions cannot run here: InfluxDB 2.x does not run on this machine and the InfluxDB 2 double does not
evaluate Flux; they get the static checks of tests/unit/grafana/test_dashboards_contract.py only.

Mutations tried (each made a test here fail, then was undone): the self_test filter removed from the timeline and
from the clip-missing rule; the roll-up correlation rate without the trigger-event filter (none counted: line1 2/4);
the subquery's fill(0) removed (line3 with no clip vanished from the correlation rate and the clip-missing ratio);
the last-anomaly query without correlation != none (line1/st20 showed the start event); the event-rate rule divided
by the wrong number of minutes; the service-down query reading self_test = false.
"""

import sys
import time
from pathlib import Path

import pytest
from influxdb_v1_server import ADMIN, ADMIN_PASSWORD, ADMIN_AUTH, running_influxdb

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "unit" / "grafana"))
from grafana_contract import FRIGATE_LINK, FRIGATE_PUBLIC_URL, STREAM_PROXY_URL, data_layer, role_value  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.filter.grafana_dashboards import (  # noqa: E402
    grafana_alert_rules,
    grafana_dashboards,
)

CAMERAS = [
    {"name": "cam-line1-st10", "line": "line1", "station": "st10"},
    {"name": "cam-line1-st20", "line": "line1", "station": "st20"},
    {"name": "cam-line2-st10", "line": "line2", "station": "st10"},
    {"name": "cam-line3-st10", "line": "line3", "station": "st10"},
]
RANGE = "time > now() - 6h"


def _text(value):
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def point(minutes_ago, now, line, station, event, correlation, camera="", clip_id="", frigate_id="", self_test=False,
          severity="high"):
    """One record as the pipeline writes it (ming_pipeline.js pointOf / lineProtocol)."""
    tags = {"line": line, "station": station, "camera": camera, "event": event, "severity": severity}
    fields = {"correlation": _text(correlation), "event_id": _text(f"{line}-{station}-{minutes_ago}"),
              "self_test": "true" if self_test else "false"}
    if frigate_id or clip_id:
        fields["frigate_event_id"] = _text(frigate_id or clip_id)
        fields["duration_seconds"] = "20"
    if clip_id:
        fields["clip_url"] = _text(f"{FRIGATE_PUBLIC_URL}/api/events/{clip_id}/clip.mp4")
        fields["snapshot_url"] = _text(f"{FRIGATE_PUBLIC_URL}/api/events/{clip_id}/snapshot.jpg")
    tag_text = "".join(f",{key}={value}" for key, value in sorted(tags.items()) if value)
    field_text = ",".join(f"{key}={value}" for key, value in sorted(fields.items()))
    return f"machine_events{tag_text} {field_text} {now - minutes_ago * 60}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real InfluxDB 1.6.7 with the data model of the influxdb role (database ming, both retention policies),
    the pipeline-shaped records and the roll-up backfilled."""
    with running_influxdb(tmp_path_factory.mktemp("grafana-influxdb1")) as influxdb:
        quoted = ADMIN_PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
        status, body = influxdb.query(f"CREATE USER {ADMIN} WITH PASSWORD '{quoted}' WITH ALL PRIVILEGES", auth=None)
        assert status == 200 and "error" not in body["results"][0], body
        for statement in ("CREATE DATABASE ming",
                          "CREATE RETENTION POLICY machine_events ON ming DURATION 30d REPLICATION 1 DEFAULT",
                          "CREATE RETENTION POLICY machine_events_1h ON ming DURATION 730d REPLICATION 1"):
            status, body = influxdb.query(statement, ADMIN_AUTH)
            assert status == 200 and "error" not in body["results"][0], (statement, body)
        now = int(time.time())
        lines = [
            point(41, now, "line1", "st10", "stop", "matched", "cam-line1-st10", clip_id="1700000001.1-aaa"),
            point(36, now, "line1", "st10", "fault", "timeout", "cam-line1-st10", frigate_id="1700000002.2-bbb"),
            point(31, now, "line1", "st20", "stop", "trigger_failed", "cam-line1-st20", clip_id="1700000003.3-ccc"),
            point(26, now, "line1", "st20", "start", "none", "cam-line1-st20"),
            point(21, now, "line2", "st10", "stop", "timeout", "cam-line2-st10", frigate_id="1700000004.4-ddd"),
            point(16, now, "line2", "st10", "fault", "matched", "cam-line2-st10", clip_id="1700000005.5-eee"),
            point(11, now, "line2", "st10", "start", "none", "cam-line2-st10"),
            point(8, now, "ming-selftest", "ming-selftest", "stop", "none", self_test=True),
            point(7, now, "ming-selftest", "ming-selftest", "stop", "timeout", "cam-line1-st10",
                  frigate_id="1700000006.6-fff", self_test=True),
            point(6, now, "line3", "st10", "stop", "timeout", "cam-line3-st10", frigate_id="1700000007.7-ggg"),
        ]
        status, body = influxdb.write(lines, ADMIN_AUTH, "ming", rp="machine_events")
        assert status == 204, body
        # The role's own roll-up (the continuous query's SELECT ... INTO) over the test's range: a backfill.
        rollup = role_value("__influxdb_cq_query", item=role_value("influxdb_downsampling")[0])
        backfill = rollup.replace(" GROUP BY ", f" WHERE {RANGE} GROUP BY ", 1)
        status, body = influxdb.query(backfill, ADMIN_AUTH, "ming")
        assert status == 200 and "error" not in body["results"][0], body
        yield influxdb


def run(server, query):
    """Rows of a dashboard or rule query with Grafana's macros replaced; {tags tuple: [row, ...]}."""
    statement = query.replace("$timeFilter", RANGE).replace("$__interval", "1m")
    assert "$" not in statement, statement
    rows = server.rows(statement, ADMIN_AUTH, "ming")
    found = {}
    for row in rows:
        found.setdefault(tuple(sorted(row.pop("_tags").items())), []).append(row)
    return found


def by_line(found, column):
    return {dict(tags)["line"]: [row[column] for row in rows] for tags, rows in found.items()}


@pytest.fixture(scope="module")
def panels():
    boards = grafana_dashboards(data_layer(1), CAMERAS, "ds", FRIGATE_PUBLIC_URL, STREAM_PROXY_URL)
    return {panel["title"]: panel["targets"][0]["query"] for board in boards.values() for panel in board["panels"]
            if panel.get("targets")}


def rules(settings=None):
    document = grafana_alert_rules(data_layer(1), "ds", settings or {})
    return {rule["uid"]: rule["data"][0]["model"]["query"] for rule in document["groups"][0]["rules"]}


def test_the_timeline_and_the_rate_count_every_record_but_self_tests(server, panels):
    timeline = by_line(run(server, panels["Event timeline by line"]), "events")
    assert {line: sum(counts) for line, counts in timeline.items()} == {"line1": 4, "line2": 3, "line3": 1}
    rate = by_line(run(server, panels["Event rate (events per minute, 10-minute windows)"]), "events_per_minute")
    assert {line: round(sum(values) * 10) for line, values in rate.items()} == {"line1": 4, "line2": 3, "line3": 1}


def test_the_correlation_rate_from_the_roll_up_leaves_out_none_and_self_tests(server, panels):
    """line1: 3 trigger events (matched, timeout, trigger_failed with a clip), 2 clips; the `start` (none) record
    would make it 2/4. line3 has no clip at all: 1.6.7 wrote no clips field there, the query reads 0."""
    rate = by_line(run(server, panels["Correlation rate (hourly roll-up)"]), "correlation_rate")
    assert rate == {"line1": [pytest.approx(2 / 3)], "line2": [0.5], "line3": [0]}
    assert by_line(run(server, panels["Line line1: correlation rate"]), "correlation_rate") == {
        "line1": [pytest.approx(2 / 3)]}


def test_the_last_anomaly_is_the_latest_trigger_event_of_each_station(server, panels):
    found = run(server, panels["Last anomaly per station"])
    last = {(dict(tags)["line"], dict(tags)["station"]): (row["event"], row["correlation"], row["camera"])
            for tags, rows in found.items() for row in rows}
    assert last == {
        ("line1", "st10"): ("fault", "timeout", "cam-line1-st10"),
        ("line1", "st20"): ("stop", "trigger_failed", "cam-line1-st20"),
        ("line2", "st10"): ("fault", "matched", "cam-line2-st10"),
        ("line3", "st10"): ("stop", "timeout", "cam-line3-st10"),
    }
    line1 = run(server, panels["Line line1: last anomaly"])
    assert sorted(dict(tags)["station"] for tags in line1) == ["st10", "st20"]


def test_recent_events_carry_links_that_match_the_frigate_pattern(server, panels):
    rows = [row for found in run(server, panels["Recent events (latest 200)"]).values() for row in found]
    assert len(rows) == 8
    assert "ming-selftest" not in {row["line"] for row in rows}
    assert [row["time"] for row in rows] == sorted((row["time"] for row in rows), reverse=True)
    clips = [row for row in rows if row["clip_url"]]
    assert len(clips) == 3
    for row in clips:
        assert FRIGATE_LINK.match(row["clip_url"]) and FRIGATE_LINK.match(row["snapshot_url"])
        built = f"{FRIGATE_PUBLIC_URL}/api/events/{row['frigate_event_id']}/clip.mp4"
        assert built == row["clip_url"]


def test_the_live_line_kpis(server, panels):
    for line, expected in (("line1", 4), ("line2", 3), ("line3", 1)):
        found = run(server, panels[f"Line {line}: events last hour"])
        assert [row["events"] for rows in found.values() for row in rows] == [expected]


def test_the_service_down_rule_counts_self_tests_and_finds_nothing_when_they_stop(server):
    found = run(server, rules()["ming-service-down"])
    assert [row["self_tests"] for rows in found.values() for row in rows] == [2]
    # Five minutes without a self-test: no series at all, which the rule's noDataState (Alerting) turns into "down".
    assert run(server, rules({"service_down_after": "5m"})["ming-service-down"]) == {}


def test_the_event_rate_rule_gives_events_per_minute_per_line(server):
    rate = by_line(run(server, rules({"event_rate_window": "45m"})["ming-event-rate-spike"]), "events_per_minute")
    assert rate == {"line1": [pytest.approx(4 / 45)], "line2": [pytest.approx(3 / 45)],
                    "line3": [pytest.approx(1 / 45)]}


def test_the_clip_missing_rule_gives_the_share_of_trigger_records_without_a_clip(server):
    """Self-test and none records are left out: the self-test camera's timeout would add a line of its own."""
    ratio = by_line(run(server, rules()["ming-clip-missing"]), "clip_missing_ratio")
    assert ratio == {"line1": [pytest.approx(1 / 3)], "line2": [0.5], "line3": [1]}
