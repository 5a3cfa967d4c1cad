"""The dashboards and alert rules against their contract: the data layer's schema, the datasource, the Frigate URL
pattern and the stream proxy. Pure Python, no Grafana and no InfluxDB.

Every dashboard the filter produces is loaded for both API versions (2: Flux, 1: InfluxQL) and a sample camera set;
the schema is the one the influxdb role exports, rendered from roles/influxdb/vars/main.yml (grafana_contract.py).
Flux is checked statically only: InfluxDB 2.x cannot run here and the InfluxDB 2 double (tools/influxdb2_double)
stores tasks without evaluating Flux. The InfluxQL is also run against a real InfluxDB 1.6.7 in
tests/integration/grafana_queries/.

Mutations tried (each made a test here fail, then was undone): a wrong field name in one query (event_idx), a tag
the roll-up lacks (camera) in the roll-up query, a wrong retention policy, a Flux query reading a field it did not
select before its pivot, the datasource removed from one target, a second panel with the same id, the self_test
filter removed from the timeline, the correlation != none filter removed from the last-anomaly query, the roll-up
query without the self-test line filter, the snapshot link on frigate_event_id pointing to /snapshot.png, an
iframe instead of the img, the stream name without _dashboard, a rule condition naming a missing refId, a
reduce expression naming a missing refId, the expression datasource uid changed, the service-down rule with
noDataState NoData, a $ in an alert annotation, a misspelt Flux function (aggregatewindow), an unclosed Flux
parenthesis.
"""

import html.parser
import json
import re
import urllib.parse

import pytest
from grafana_contract import (
    CAMERAS,
    DATASOURCE_UID,
    FRIGATE_LINK,
    FRIGATE_PUBLIC_URL,
    STREAM_PROXY_URL,
    all_panels,
    all_queries,
    alert_rules,
    dashboards,
    data_layer,
    flux_names,
    influxql_names,
    query_problems,
)

VERSIONS = [1, 2]
DATASOURCE = {"type": "influxdb", "uid": DATASOURCE_UID}


@pytest.mark.parametrize("version", VERSIONS)
def test_every_panel_and_target_uses_the_given_datasource(version):
    for dashboard in dashboards(version).values():
        for panel in all_panels(dashboard):
            if panel["type"] in ("row", "text"):
                assert "targets" not in panel, panel["title"]
                continue
            assert panel["datasource"] == DATASOURCE, panel["title"]
            assert panel["targets"], panel["title"]
            for target in panel["targets"]:
                assert target["datasource"] == DATASOURCE, panel["title"]


@pytest.mark.parametrize("version", VERSIONS)
def test_every_query_names_only_what_the_schema_defines(version):
    queries = all_queries(version)
    assert len(queries) >= 10
    problems = {where: query_problems(query, data_layer(version)) for where, query in queries}
    assert {where: found for where, found in problems.items() if found} == {}


def test_the_readers_catch_names_the_schema_lacks():
    """The readers themselves: each broken query is reported (so the test above can fail)."""
    v1, v2 = data_layer(1), data_layer(2)
    good = 'SELECT count("event_id") FROM "ming"."machine_events"."machine_events" WHERE "self_test" = false'
    assert query_problems(good, v1) == []
    assert query_problems(good.replace('"event_id"', '"event_idx"'), v1) == [
        "column event_idx (neither a field nor a tag of machine_events)"]
    assert query_problems(good.replace('"ming"."machine_events"."', '"ming"."raw"."'), v1) == ["retention policy raw"]
    rollup = 'SELECT sum("events") FROM "ming"."machine_events_1h"."machine_events" GROUP BY "camera"'
    assert query_problems(rollup, v1) == ["column camera (neither a field nor a tag of machine_events_1h)",
                                          "GROUP BY camera (not a tag of machine_events_1h)"]
    assert query_problems(good + " GROUP BY line", v1) == ["unquoted word line"]
    flux = ('from(bucket: "machine_events") |> range(start: -1h) |> filter(fn: (r) => r._measurement == '
            '"machine_events") |> filter(fn: (r) => r._field == "event_id") |> pivot(rowKey: ["_time"], '
            'columnKey: ["_field"], valueColumn: "_value") |> filter(fn: (r) => r.self_test == false)')
    assert query_problems(flux, v2) == [
        "column self_test (not a tag of machine_events, a builtin column, a field the query selects before its "
        "pivot, nor a name the query defines)"]
    assert query_problems(flux.replace('"event_id"', '"event_id" or r._field == "self_test"'), v2) == []
    assert query_problems(flux.replace('bucket: "machine_events"', 'bucket: "other"'), v2) == ["bucket other"]
    assert query_problems(flux.replace('r._field == "event_id"', 'r._field == "clips"'), v2)[0] == (
        "field clips (not a field of machine_events)")


@pytest.mark.parametrize("version", VERSIONS)
def test_self_test_records_are_excluded_everywhere(version):
    """Raw queries filter self_test = false (the service-down rule: true); roll-up queries drop the self-test line."""
    schema = data_layer(version)["schema"]
    for where, query in all_queries(version):
        if version == 1:
            names = influxql_names(query)
            rp = names["sources"][0][1]
            raw = rp == schema["retention_policy"]
        else:
            raw = flux_names(query)["buckets"] == [schema["bucket"]]
        if where == "rule ming-service-down":
            expected = '"self_test" = true' if version == 1 else "r.self_test == true"
        elif raw:
            expected = '"self_test" = false' if version == 1 else "r.self_test == false"
        else:
            expected = "\"line\" != 'ming-selftest'" if version == 1 else 'r.line != "ming-selftest"'
        assert expected in query, where


@pytest.mark.parametrize("version", VERSIONS)
def test_correlation_none_is_left_out_of_correlation_rate_last_anomaly_and_clips_missing(version):
    for where, query in all_queries(version):
        if "correlation rate" in where.lower():
            events = ("(\"event\" = 'stop' OR \"event\" = 'fault')" if version == 1
                      else '(r.event == "stop" or r.event == "fault")')
            assert events in query, where
        elif "last anomaly" in where.lower() or where == "rule ming-clip-missing":
            assert ("\"correlation\" != 'none'" if version == 1 else 'r.correlation != "none"') in query, where


@pytest.mark.parametrize("version", VERSIONS)
def test_the_correlation_rate_reads_the_roll_up(version):
    layer = data_layer(version)
    rate = [query for where, query in all_queries(version) if "correlation rate" in where.lower()]
    assert len(rate) == 1 + len({camera["line"] for camera in CAMERAS})
    for query in rate:
        if version == 1:
            assert influxql_names(query)["sources"][0][1] == layer["schema"]["rollup"]["retention_policy"]
        else:
            assert flux_names(query)["buckets"] == [layer["schema"]["rollup"]["bucket"]]


def _recent_events(version):
    dashboard = dashboards(version)["ming-machine-events.json"]
    return next(panel for panel in dashboard["panels"] if panel["title"].startswith("Recent events"))


def _pipeline_urls(event_id):
    """clip_url and snapshot_url as roles/nodered/files/ming_pipeline.js builds them (encodeURIComponent)."""
    quoted = urllib.parse.quote(event_id, safe="-_.!~*'()")
    base = f"{FRIGATE_PUBLIC_URL}/api/events/{quoted}"
    return f"{base}/clip.mp4", f"{base}/snapshot.jpg"


@pytest.mark.parametrize("version", VERSIONS)
def test_clip_and_snapshot_links_follow_the_frigate_url_pattern(version):
    """Both ways to the clip give the URL the pipeline stores: the stored clip_url/snapshot_url as they are, and the
    link built from frigate_event_id and the Frigate public URL."""
    overrides = {item["matcher"]["options"]: item["properties"] for item in
                 _recent_events(version)["fieldConfig"]["overrides"]}
    links = {column: next(prop["value"] for prop in props if prop["id"] == "links")
             for column, props in overrides.items()}
    event_id = "1733389200.123456-ab12cd"
    clip, snapshot = _pipeline_urls(event_id)
    for column, stored in (("clip_url", clip), ("snapshot_url", snapshot)):
        assert [link["url"].replace("${__value.raw}", stored) for link in links[column]] == [stored]
        assert FRIGATE_LINK.match(stored)
    built = [link["url"].replace("${__value.raw}", event_id) for link in links["frigate_event_id"]]
    assert built == [clip, snapshot]
    assert all(FRIGATE_LINK.match(url) for url in built)
    columns = set(re.findall(r'"(\w+)"', _recent_events(version)["targets"][0]["query"]))
    assert {"clip_url", "snapshot_url", "frigate_event_id"} <= columns


class _Tags(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


@pytest.mark.parametrize("version", VERSIONS)
def test_live_views_are_script_free_mjpeg_images_of_existing_cameras(version):
    dashboard = dashboards(version)["ming-live-lines.json"]
    texts = [panel for panel in all_panels(dashboard) if panel["type"] == "text"]
    seen = []
    pattern = re.compile(r"^" + re.escape(STREAM_PROXY_URL) + r"/api/stream\.mjpeg\?src=([A-Za-z0-9_.-]+)_dashboard$")
    for panel in texts:
        assert panel["options"]["mode"] == "html"
        content = panel["options"]["content"]
        assert not re.search(r"<\s*(script|iframe|object|embed|video)|javascript:|\bon\w+\s*=", content, re.I)
        parser = _Tags()
        parser.feed(content)
        assert [tag for tag, _attrs in parser.tags] == ["img"], content
        match = pattern.match(parser.tags[0][1]["src"])
        assert match, content
        seen.append(match.group(1))
    assert sorted(seen) == sorted(camera["name"] for camera in CAMERAS)


@pytest.mark.parametrize("version", VERSIONS)
def test_each_line_row_holds_its_cameras_and_its_kpis(version):
    dashboard = dashboards(version)["ming-live-lines.json"]
    rows, current = {}, None
    for panel in dashboard["panels"]:
        if panel["type"] == "row":
            current = panel["title"].removeprefix("Line ")
            rows[current] = []
        else:
            rows[current].append(panel)
    assert set(rows) == {"line1", "line2"}
    for line, panels in rows.items():
        cameras = sorted(camera["name"] for camera in CAMERAS if camera["line"] == line)
        assert sorted(panel["title"].split(" ")[0] for panel in panels if panel["type"] == "text") == cameras
        kpis = [panel for panel in panels if panel["type"] != "text"]
        assert [panel["title"] for panel in kpis] == [f"Line {line}: events last hour",
                                                      f"Line {line}: correlation rate", f"Line {line}: last anomaly"]
        for panel in kpis:
            query = panel["targets"][0]["query"]
            assert (f"\"line\" = '{line}'" if version == 1 else f'r.line == "{line}"') in query


@pytest.mark.parametrize("version", VERSIONS)
def test_ids_and_uids_are_unique_and_pinned(version):
    boards = dashboards(version)
    assert {name: board["uid"] for name, board in boards.items()} == {
        "ming-machine-events.json": "ming-machine-events", "ming-live-lines.json": "ming-live-lines"}
    for board in boards.values():
        ids = [panel["id"] for panel in all_panels(board)]
        assert len(ids) == len(set(ids)), board["uid"]
        assert board["schemaVersion"] == 42 and board["editable"] is False
        for panel in all_panels(board):
            position = panel["gridPos"]
            assert position["x"] >= 0 and position["x"] + position["w"] <= 24, panel["title"]
    rules = [rule for group in alert_rules(version)["groups"] for rule in group["rules"]]
    assert [rule["uid"] for rule in rules] == ["ming-service-down", "ming-event-rate-spike", "ming-clip-missing"]


@pytest.mark.parametrize("version", VERSIONS)
def test_no_provisioning_interpolation_in_dashboards(version):
    """Dashboard files are not interpolated by provisioning: only Grafana's own query macros and the data-link
    value appear, never a ${VAR}."""
    for board in dashboards(version).values():
        text = json.dumps(board)
        assert re.findall(r"\$\{[^}]*\}", text) in ([], ["${__value.raw}"] * len(re.findall(r"\$\{", text)))
        assert set(re.findall(r"\$\w+", text)) <= {"$timeFilter", "$__interval"}


@pytest.mark.parametrize("version", VERSIONS)
def test_alert_rules_reference_their_own_steps(version):
    document = alert_rules(version)
    assert document["apiVersion"] == 1
    assert "$" not in json.dumps(document), "provisioned alerting files interpolate $: no $ may appear"
    for group in document["groups"]:
        assert {"orgId", "name", "folder", "interval", "rules"} <= set(group)
        for rule in group["rules"]:
            refs = [step["refId"] for step in rule["data"]]
            assert len(refs) == len(set(refs)), rule["uid"]
            assert rule["condition"] in refs, rule["uid"]
            for step in rule["data"]:
                assert step["model"]["refId"] == step["refId"]
                assert set(step["relativeTimeRange"]) == {"from", "to"}
                if step["datasourceUid"] == "__expr__":
                    assert step["model"]["datasource"] == {"type": "__expr__", "uid": "__expr__"}
                    assert step["model"]["expression"] in refs and step["model"]["expression"] != step["refId"]
                else:
                    assert step["datasourceUid"] == DATASOURCE_UID
                    assert step["model"]["datasource"] == DATASOURCE
                    assert step["relativeTimeRange"]["from"] > 0
            assert rule["noDataState"] in ("NoData", "Alerting", "OK", "KeepLast")
            assert rule["execErrState"] in ("Error", "Alerting", "OK", "KeepLast")
            assert rule["labels"]["service"] == "sensingcam-ming"
            assert rule["labels"]["severity"] in ("critical", "warning")
    down = document["groups"][0]["rules"][0]
    assert (down["noDataState"], down["execErrState"]) == ("Alerting", "Alerting")


FLUX_FUNCTIONS = {"from", "range", "filter", "pivot", "map", "group", "sort", "aggregateWindow", "fill", "last",
                  "keep", "reduce", "count", "limit", "float", "int"}


def test_flux_is_well_formed_and_uses_known_functions_only():
    """Static only (no Flux engine here): delimiters balance outside strings, every call is a known Flux function,
    and every pipe stage starts a line with |>."""
    for where, query in all_queries(2):
        stripped = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
        stack = []
        for char in stripped:
            if char in "([{":
                stack.append(char)
            elif char in ")]}":
                assert stack and "([{"[")]}".index(char)] == stack.pop(), where
        assert not stack, where
        calls = set(re.findall(r"\b([A-Za-z_]\w*)\(", stripped))
        assert calls <= FLUX_FUNCTIONS, (where, calls - FLUX_FUNCTIONS)
        assert stripped.startswith('from(bucket: ""')
        for line in stripped.splitlines()[1:]:
            assert line.startswith("  |> ") or line.startswith("      "), (where, line)
