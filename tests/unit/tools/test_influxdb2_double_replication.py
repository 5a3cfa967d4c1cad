"""Contract tests of the InfluxDB 2 API double's remote connections and replications (tools/influxdb2_double/
replication.py). Against the double, a double of the published API, not InfluxDB (InfluxDB 2.x cannot run on this
machine): each test names the operation of influxdata/openapi (``src/oss/paths/remotes*.yml``,
``replications*.yml``, commit ad26a17) whose required fields, defaults, statuses and Error bodies it checks; what the
document leaves open is "inferred" (README.md). Two doubles (edge, central) show the forwarding queue: points written
to a replicated edge bucket arrive at central, are held while central is down (connection refused) and arrive after
it returns, within the byte bound.

Mutations tried (each made the named test fail, then was restored):
- ``remote_json`` returning the token -> test_remote_token_is_write_only
- ``_check_limits`` without the 33554430 minimum -> test_post_replication_required_fields_defaults_and_minimum
- ``post_replication`` without its defaults -> test_post_replication_required_fields_defaults_and_minimum
- ``get_replications`` ignoring ``name`` -> test_lists_need_org_id_and_filter_by_name
- ``settle`` popping an entry on a failed send -> test_points_are_held_while_central_is_down_then_arrive
- ``enqueue`` without the byte bound -> test_a_full_queue_takes_no_more_points
- ``Handler.route`` requiring a body for validate -> test_validate_reports_an_unreachable_remote_as_400
"""

import json
import time
import urllib.error
import urllib.request
from urllib.parse import urlencode

import pytest

OPERATOR = "operator-token-for-the-replication-double-0123"
CENTRAL = "operator-token-of-the-central-double-4567890"


def call(double, method, path, body=None, token=OPERATOR, query=None, raw=None):
    url = double.url + path + (("?" + urlencode(query)) if query else "")
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method, headers={"Authorization": f"Token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local double)
            content = answer.read()
            return answer.status, json.loads(content) if content else None
    except urllib.error.HTTPError as error:
        content = error.read()
        return error.code, json.loads(content) if content else None


def wait_for(predicate, seconds=10.0):
    """Bounded poll: True as soon as predicate() holds, False after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


@pytest.fixture
def pair(influxdb2_double_factory):
    """(edge, central): both onboarded; the edge has a remote to central and a replication of machine_events."""
    edge, central = influxdb2_double_factory(), influxdb2_double_factory()
    edge.onboard(token=OPERATOR)
    central.onboard(token=CENTRAL)
    edge.org = next(iter(edge.state.orgs))
    central.org = next(iter(central.state.orgs))
    status, remote = call(edge, "POST", "/api/v2/remotes", {
        "name": "central", "orgID": edge.org, "remoteURL": central.url, "remoteAPIToken": CENTRAL,
        "remoteOrgID": central.org, "allowInsecureTLS": False})
    assert status == 201, remote
    bucket = next(b["id"] for b in edge.state.buckets.values() if b["name"] == "machine_events")
    status, replication = call(edge, "POST", "/api/v2/replications", {
        "name": "raw", "orgID": edge.org, "remoteID": remote["id"], "localBucketID": bucket,
        "remoteBucketName": "machine_events", "maxQueueSizeBytes": 33554430, "maxAgeSeconds": 0})
    assert status == 201, replication
    edge.replication_id = replication["id"]
    return edge, central


def central_points(central):
    bucket = next(b["id"] for b in central.state.buckets.values() if b["name"] == "machine_events")
    return central.state.points[bucket]


def write(edge, lines):
    status, body = call(edge, "POST", "/api/v2/write", query={"org": "ming", "bucket": "machine_events"},
                        raw="\n".join(lines).encode())
    assert status == 204, body


def test_remote_token_is_write_only(pair):
    """PostRemoteConnection 201 RemoteConnection / GetRemoteConnectionByID: the schema has no token field."""
    edge, _central = pair
    remote_id = next(iter(edge.state.remotes))
    status, listed = call(edge, "GET", "/api/v2/remotes", query={"orgID": edge.org})
    assert status == 200 and CENTRAL not in json.dumps(listed)
    status, one = call(edge, "GET", f"/api/v2/remotes/{remote_id}")
    assert status == 200 and "remoteAPIToken" not in one and CENTRAL not in json.dumps(one)
    assert set(one) >= {"id", "name", "orgID", "remoteURL", "allowInsecureTLS"}


def test_post_remote_required_fields(influxdb2_double):
    influxdb2_double.onboard(token=OPERATOR)
    org = next(iter(influxdb2_double.state.orgs))
    full = {"name": "c", "orgID": org, "remoteURL": "https://c.example:8086", "remoteAPIToken": "t",
            "allowInsecureTLS": False}
    for missing in ("name", "orgID", "remoteURL", "remoteAPIToken", "allowInsecureTLS"):
        body = {k: v for k, v in full.items() if k != missing}
        status, error = call(influxdb2_double, "POST", "/api/v2/remotes", body)
        assert status == 400 and error["code"] == "invalid" and missing in error["message"], (missing, error)
    status, error = call(influxdb2_double, "POST", "/api/v2/remotes", dict(full, remoteURL="c.example"))
    assert status == 400
    assert call(influxdb2_double, "POST", "/api/v2/remotes", full)[0] == 201
    status, error = call(influxdb2_double, "POST", "/api/v2/remotes", full)
    assert status == 422 and error["code"] == "conflict"  # inferred
    assert influxdb2_double.state.remotes and len(influxdb2_double.state.remotes) == 1


def test_post_replication_required_fields_defaults_and_minimum(pair):
    edge, _central = pair
    remote_id = next(iter(edge.state.remotes))
    bucket = next(b["id"] for b in edge.state.buckets.values() if b["name"] == "machine_events")
    full = {"name": "r2", "orgID": edge.org, "remoteID": remote_id, "localBucketID": bucket,
            "remoteBucketName": "machine_events"}
    for missing in ("name", "orgID", "remoteID", "localBucketID"):
        status, error = call(edge, "POST", "/api/v2/replications", {k: v for k, v in full.items() if k != missing})
        assert status == 400 and missing in error["message"], (missing, error)
    status, error = call(edge, "POST", "/api/v2/replications", dict(full, remoteBucketName=None))
    assert status == 400
    status, error = call(edge, "POST", "/api/v2/replications", dict(full, maxQueueSizeBytes=33554429))
    assert status == 400 and "33554430" in error["message"]
    status, error = call(edge, "POST", "/api/v2/replications", dict(full, maxAgeSeconds=-1))
    assert status == 400
    status, nothing = call(edge, "POST", "/api/v2/replications", full, query={"validate": "true"})
    assert status == 204 and nothing is None and len(edge.state.replications) == 1
    status, created = call(edge, "POST", "/api/v2/replications", full)
    assert status == 201
    assert created["maxQueueSizeBytes"] == 67108860 and created["maxAgeSeconds"] == 604800
    assert created["dropNonRetryableData"] is False and created["currentQueueSizeBytes"] == 0
    status, error = call(edge, "PATCH", f"/api/v2/replications/{created['id']}", {"maxQueueSizeBytes": 1})
    assert status == 400
    status, patched = call(edge, "PATCH", f"/api/v2/replications/{created['id']}", {"maxAgeSeconds": 60})
    assert status == 200 and patched["maxAgeSeconds"] == 60 and patched["localBucketID"] == bucket
    assert call(edge, "DELETE", f"/api/v2/replications/{created['id']}")[0] == 204
    assert call(edge, "GET", f"/api/v2/replications/{created['id']}")[0] == 404


def test_lists_need_org_id_and_filter_by_name(pair):
    edge, _central = pair
    assert call(edge, "GET", "/api/v2/replications")[0] == 400
    assert call(edge, "GET", "/api/v2/remotes")[0] == 400
    status, found = call(edge, "GET", "/api/v2/replications", query={"orgID": edge.org, "name": "raw"})
    assert status == 200 and [r["name"] for r in found["replications"]] == ["raw"]
    status, found = call(edge, "GET", "/api/v2/replications", query={"orgID": edge.org, "name": "other"})
    assert status == 200 and found["replications"] == []
    status, found = call(edge, "GET", "/api/v2/remotes", query={"orgID": edge.org, "name": "other"})
    assert status == 200 and found["remotes"] == []


def test_points_written_at_the_edge_arrive_at_central(pair):
    edge, central = pair
    write(edge, [f"machine_events,plant=north event_id=\"e{i}\" {i}" for i in range(5)])
    assert wait_for(lambda: len(central_points(central)) == 5), central_points(central)
    assert central_points(central)[0].startswith("machine_events,plant=north")


def test_points_are_held_while_central_is_down_then_arrive(pair, influxdb2_double_factory):
    """Central stopped (its port refuses connections): the edge keeps accepting writes, the queue holds them and
    reports its bytes; the same central (its state) back on the same port: the queue drains, nothing lost."""
    from influxdb2_double import InfluxDB2Double

    edge, central = pair
    port, state = central.port, central.state
    central.stop()
    write(edge, [f"machine_events,plant=north event_id=\"held{i}\" {i}" for i in range(20)])
    assert wait_for(lambda: edge.state.replications[edge.replication_id].get("latestErrorMessage"))
    status, seen = call(edge, "GET", f"/api/v2/replications/{edge.replication_id}")
    assert status == 200 and seen["currentQueueSizeBytes"] > 0 and seen["remainingBytesToBeSynced"] > 0
    back = InfluxDB2Double("127.0.0.1", port, state=state).start()
    try:
        assert wait_for(lambda: len(central_points(back)) == 20), central_points(back)
        assert wait_for(lambda: edge.state.replication_json(
            edge.state.replications[edge.replication_id])["currentQueueSizeBytes"] == 0)
        assert edge.state.replications[edge.replication_id]["latestResponseCode"] == 204
    finally:
        back.stop()


def test_a_full_queue_takes_no_more_points(pair):
    edge, central = pair
    central.stop()
    line = "machine_events,plant=north payload=\"" + "x" * 1000 + "\" 1"
    for _write in range(40):  # 40 writes of ~1 MB against the 32 MiB bound
        write(edge, [line] * 1000)
    queued = edge.state.replication_json(edge.state.replications[edge.replication_id])["currentQueueSizeBytes"]
    assert 0 < queued <= 33554430
    assert edge.state.replication_dropped[edge.replication_id] > 0


def test_validate_reports_an_unreachable_remote_as_400(pair):
    edge, central = pair
    assert call(edge, "POST", f"/api/v2/replications/{edge.replication_id}/validate")[0] == 204
    central.stop()
    status, error = call(edge, "POST", f"/api/v2/replications/{edge.replication_id}/validate")
    assert status == 400 and "failed validation" in error["message"]
