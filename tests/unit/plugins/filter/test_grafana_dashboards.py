"""The grafana_dashboards and grafana_alert_rules filters (plugins/filter/grafana_dashboards.py). Pure Python.

The contract of what they produce (schema names in every query, datasource uids, links, live views, rule references)
is tested in tests/unit/grafana/test_dashboards_contract.py; here: registration, the interface (file names,
provisioning document shape), settings reaching the rules, the optional pipeline names reaching the queries, the
fallback without a roll-up, HTML escaping, and every bad input as AnsibleFilterError naming what to fix.

Mutations tried (each made a test here fail, then was undone): settings.event_rate_threshold not used (10 always);
service_down_after not reaching relativeTimeRange; the window of the clip rule written as 1h always; unknown
settings accepted; clip_missing_ratio above 1 accepted; a camera name with a quote accepted; a frigate URL with a
query accepted; trigger_events ignored (stop/fault always); trigger_events not lower-cased as the pipeline does; the
roll-up required (no fallback to the raw series); api_version 3 accepted.
"""

import json
import sys
from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

# The data layer the influxdb role exports and the sample cameras (shared with the contract tests).
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "grafana"))
from grafana_contract import CAMERAS, data_layer  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.filter.grafana_dashboards import (
    FilterModule,
    grafana_alert_rules,
    grafana_dashboards,
)

FRIGATE = "https://nvr.example:8971/"
PROXY = "https://nvr.example:8443"


def boards(layer=None, cameras=None, **extra):
    cameras = CAMERAS if cameras is None else cameras
    return grafana_dashboards(layer or data_layer(1), cameras, "ds", FRIGATE, PROXY, **extra)


def rules_of(document):
    return {rule["uid"]: rule for group in document["groups"] for rule in group["rules"]}


def test_the_filters_are_registered():
    assert FilterModule().filters() == {
        "grafana_dashboards": grafana_dashboards,
        "grafana_alert_rules": grafana_alert_rules,
    }


@pytest.mark.parametrize("version", [1, 2])
def test_two_dashboard_files_that_serialise_the_same_every_time(version):
    first = boards(data_layer(version))
    assert sorted(first) == ["ming-live-lines.json", "ming-machine-events.json"]
    assert json.dumps(first, sort_keys=True) == json.dumps(boards(data_layer(version)), sort_keys=True)
    assert [board["title"] for board in first.values()] == ["Machine events", "Live lines"]


def test_the_frigate_url_loses_its_trailing_slash_in_links():
    table = next(panel for panel in boards()["ming-machine-events.json"]["panels"] if panel["type"] == "table"
                 and panel["title"].startswith("Recent"))
    urls = [link["url"] for item in table["fieldConfig"]["overrides"] for prop in item["properties"]
            if prop["id"] == "links" for link in prop["value"]]
    assert "https://nvr.example:8971/api/events/${__value.raw}/clip.mp4" in urls


def test_the_pipeline_names_reach_the_queries():
    queries = [target["query"] for board in boards(trigger_events=["JAM"], self_test_line="selftest-x").values()
               for panel in board["panels"] for target in panel.get("targets", [])]
    rate = [query for query in queries if "machine_events_1h" in query]
    assert rate and all("(\"event\" = 'jam')" in query and "'selftest-x'" in query for query in rate)


def test_without_a_roll_up_the_correlation_rate_reads_the_raw_records():
    layer = data_layer(1)
    layer["schema"]["rollup"] = {}
    queries = [target["query"] for board in boards(layer).values() for panel in board["panels"]
               for target in panel.get("targets", [])]
    assert not any("machine_events_1h" in query for query in queries)
    assert sum('AS "correlation_rate"' in query for query in queries) == 3


def test_alert_rules_take_their_settings():
    document = grafana_alert_rules(data_layer(1), "ds", {
        "service_down_after": "3h", "event_rate_threshold": 4, "event_rate_window": "15m",
        "clip_missing_ratio": 0.5, "clip_missing_window": "2h", "folder": "Plant", "interval": "2m", "org_id": 3})
    group = document["groups"][0]
    assert (group["folder"], group["interval"], group["orgId"]) == ("Plant", "2m", 3)
    rules = rules_of(document)
    down, spike, clips = rules["ming-service-down"], rules["ming-event-rate-spike"], rules["ming-clip-missing"]
    assert down["data"][0]["relativeTimeRange"] == {"from": 10800, "to": 0}
    assert "time > now() - 3h" in down["data"][0]["model"]["query"]
    assert spike["data"][0]["relativeTimeRange"]["from"] == 900
    assert "count(\"event_id\") / 15.0" in spike["data"][0]["model"]["query"]
    assert spike["data"][2]["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [4]}
    assert clips["data"][2]["model"]["conditions"][0]["evaluator"] == {"type": "gt", "params": [0.5]}
    assert "time > now() - 2h" in clips["data"][0]["model"]["query"]
    assert clips["data"][0]["relativeTimeRange"]["from"] == 7200


def test_alert_rule_defaults_and_yaml():
    document = grafana_alert_rules(data_layer(2), "ds", None)
    rules = rules_of(document)
    assert rules["ming-service-down"]["data"][0]["relativeTimeRange"]["from"] == 7200
    assert rules["ming-clip-missing"]["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [0.2]
    assert rules["ming-event-rate-spike"]["data"][2]["model"]["conditions"][0]["evaluator"]["params"] == [10]
    assert yaml.safe_load(yaml.safe_dump(document)) == document


def test_live_view_names_are_escaped_into_the_url():
    board = boards(cameras=[{"name": "cam.a_b-1", "line": "L<1>", "station": "s&1"}])["ming-live-lines.json"]
    text = next(panel for panel in board["panels"] if panel["type"] == "text")
    assert text["options"]["content"].startswith(
        '<img src="https://nvr.example:8443/api/stream.mjpeg?src=cam.a_b-1_dashboard" alt="cam.a_b-1"')
    kpi = next(panel for panel in board["panels"] if panel["type"] == "stat")
    assert "\"line\" = 'L<1>'" in kpi["targets"][0]["query"]


@pytest.mark.parametrize(("change", "message"), [
    ({"api_version": 3}, "influxdb_data_layer.api_version must be 1 or 2, not 3."),
    ({"schema": None}, "influxdb_data_layer.schema is missing or incomplete"),
    ({"database": ""}, "influxdb_data_layer.database is empty"),
])
def test_a_bad_data_layer_is_refused(change, message):
    layer = dict(data_layer(1), **change)
    with pytest.raises(AnsibleFilterError, match="^" + message.replace(".", r"\.").replace("(", r"\(")):
        boards(layer)
    with pytest.raises(AnsibleFilterError):
        grafana_alert_rules(layer, "ds")


def test_a_schema_without_the_record_contract_is_refused():
    layer = data_layer(2)
    del layer["schema"]["fields"]["self_test"]
    with pytest.raises(AnsibleFilterError, match="schema.fields has no self_test"):
        boards(layer)


@pytest.mark.parametrize(("cameras", "url", "proxy", "message"), [
    ([{"name": "cam'x", "line": "1", "station": "1"}], FRIGATE, PROXY, "is not a go2rtc stream name"),
    ([{"name": "cam", "station": "1"}], FRIGATE, PROXY, r"cameras\[0\] must be \{name, line, station\}"),
    (CAMERAS + CAMERAS[:1], FRIGATE, PROXY, "camera cam-line1-st10 is listed twice"),
    (CAMERAS, "https://nvr.example:8971/?a=1", PROXY, "frigate_public_url .* without query or fragment"),
    (CAMERAS, "nvr.example", PROXY, "frigate_public_url"),
    (CAMERAS, FRIGATE, 'https://x/"onload=', "stream_proxy_url .* must not contain quotes"),
])
def test_bad_cameras_and_urls_are_refused(cameras, url, proxy, message):
    with pytest.raises(AnsibleFilterError, match=message):
        grafana_dashboards(data_layer(1), cameras, "ds", url, proxy)


def test_an_empty_datasource_uid_is_refused():
    with pytest.raises(AnsibleFilterError, match="grafana_datasource_uid"):
        grafana_dashboards(data_layer(1), CAMERAS, "", FRIGATE, PROXY)


@pytest.mark.parametrize(("settings", "message"), [
    ({"service_down": "2h"}, "unknown setting\\(s\\) service_down"),
    ({"service_down_after": "2 hours"}, "settings.service_down_after must be a duration"),
    ({"clip_missing_ratio": 1.5}, "settings.clip_missing_ratio must be a number above 0 and at most 1"),
    ({"event_rate_threshold": 0}, "settings.event_rate_threshold must be a number above 0"),
    ({"event_rate_threshold": True}, "settings.event_rate_threshold"),
    ({"folder": ""}, "settings.folder must be a non-empty text"),
    ("2h", "settings must be a dict"),
])
def test_bad_alert_settings_are_refused(settings, message):
    with pytest.raises(AnsibleFilterError, match=message):
        grafana_alert_rules(data_layer(1), "ds", settings)


def test_a_camera_of_another_nvr_is_shown_through_that_nvrs_proxy():
    """A camera with its own stream_proxy_url (the grafana role passes the proxy of the NVR in sensingcam_nvr) is
    shown from it; the others from the default proxy; a bad per-camera URL fails naming the camera's entry.

    Mutation tried: _live_view always using the default proxy: the nvr-2 camera's image pointed at nvr.example."""
    cameras = [dict(CAMERAS[0]), dict(CAMERAS[1], stream_proxy_url="https://nvr-2.example:8443/")]
    live = boards(cameras=cameras)["ming-live-lines.json"]
    images = [panel["options"]["content"] for panel in live["panels"] if panel["type"] == "text"]
    assert any(f'src="{PROXY}/api/stream.mjpeg?src={CAMERAS[0]["name"]}_dashboard"' in image for image in images)
    assert any(f'src="https://nvr-2.example:8443/api/stream.mjpeg?src={CAMERAS[1]["name"]}_dashboard"' in image
               for image in images)
    with pytest.raises(AnsibleFilterError, match=r"cameras\[1\]\.stream_proxy_url"):
        boards(cameras=[CAMERAS[0], dict(CAMERAS[1], stream_proxy_url="ftp://x")])
