"""influxdb_bucket against the InfluxDB 2 API double (tools/influxdb2_double; a double because InfluxDB 2.x cannot run
on this machine): create, idempotent re-run without a write request, change, check and diff mode, delete, bad
input refused before any request, API errors mapped (401, 422) without the token.

Mutations tried (each made a test here fail, then was restored):
- ``retention_seconds`` without the 1 h minimum check: ``test_retention_below_one_hour_fails_before_any_request``.
- ``InfluxDBModule.expected_errors`` without DurationError: ``test_bad_duration_text_fails_naming_the_option``
  (the module raised instead of failing).
- ``rule`` sending the wanted retention without the current shard group duration (InfluxDB would derive a new
  one): ``test_change_retention_keeps_the_shard_group_duration``.
- ``read`` not defaulting a missing description to '': ``test_idempotent_rerun_sends_no_write`` (a re-run with
  ``description: ''`` changed).
- ``status_error`` naming the object twice (``context`` added although ``what`` names it):
  ``test_bucket_gone_before_the_delete_is_404_named``.
- the 401 hint without the permission sentences ("a valid, active API token." only):
  ``test_token_without_the_permission_is_401_named``.
- ``status_error`` without its 409 branch (the generic "answered HTTP 409"): ``test_conflict_409_maps_to_kind_
  conflict_with_influxdbs_words``.
- ``status_error`` without its 401 branch (the generic HTTP message, no option named): ``test_wrong_token_is_401_
  named``.
"""

import io
from urllib.error import HTTPError

import pytest

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import InfluxDBClient, InfluxDBError
from ansible_collections.sensingcam.ming.plugins.modules import influxdb_bucket

TOKEN = "operator-token-for-the-bucket-tests-0123456789"


@pytest.fixture
def server(influxdb2_double):
    influxdb2_double.onboard(token=TOKEN, retention_seconds=0)
    return influxdb2_double


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": TOKEN, "org": "ming", "name": "machine_events_1h",
            "retries": 0}
    base.update(extra)
    return base


def bucket_named(server, name):
    return next((b for b in server.state.buckets.values() if b["name"] == name), None)


def test_create_then_idempotent_rerun_sends_no_write(run_module, server):
    failed, result = run_module(influxdb_bucket.main, args(server, retention="730d", description="hourly"))
    assert not failed, result
    assert result["changed"] is True
    assert result["bucket"]["retention"] == "730d"
    assert result["bucket"]["description"] == "hourly"
    created = bucket_named(server, "machine_events_1h")
    assert created["everySeconds"] == 730 * 86400
    before = len(server.writes())
    failed, result = run_module(influxdb_bucket.main, args(server, retention="104w2d", description="hourly"))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_idempotent_rerun_sends_no_write(run_module, server):
    """A bucket without a description (InfluxDB omits the field) equals description: ''."""
    assert not run_module(influxdb_bucket.main, args(server, retention="30d"))[0]
    before = len(server.writes())
    failed, result = run_module(influxdb_bucket.main, args(server, retention="30d", description=""))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_change_retention_keeps_the_shard_group_duration(run_module, server):
    assert not run_module(influxdb_bucket.main, args(server, retention="30d", shard_group_duration="2d"))[0]
    failed, result = run_module(influxdb_bucket.main, args(server, retention="60d"), diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"]["retention"] == "30d"
    assert result["diff"]["after"]["retention"] == "60d"
    stored = bucket_named(server, "machine_events_1h")
    assert stored["everySeconds"] == 60 * 86400
    assert stored["shardGroupDurationSeconds"] == 2 * 86400
    assert result["bucket"]["shard_group_duration"] == "2d"
    patch = [body for method, _path, _query, body in server.writes() if method == "PATCH"][-1]
    assert patch["retentionRules"] == [{"type": "expire", "everySeconds": 60 * 86400,
                                        "shardGroupDurationSeconds": 2 * 86400}]


def test_unset_options_are_not_compared(run_module, server):
    assert not run_module(influxdb_bucket.main, args(server, retention="30d", shard_group_duration="1d"))[0]
    before = len(server.writes())
    failed, result = run_module(influxdb_bucket.main, args(server))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_check_mode_predicts_and_writes_nothing(run_module, server):
    failed, result = run_module(influxdb_bucket.main, args(server, retention="infinite"), check_mode=True, diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["retention"] == "infinite"
    assert server.writes() == []
    assert bucket_named(server, "machine_events_1h") is None


def test_delete_then_absent_is_unchanged(run_module, server):
    assert not run_module(influxdb_bucket.main, args(server, retention="30d"))[0]
    failed, result = run_module(influxdb_bucket.main, args(server, state="absent"), check_mode=True)
    assert not failed and result["changed"] is True and bucket_named(server, "machine_events_1h") is not None
    failed, result = run_module(influxdb_bucket.main, args(server, state="absent"))
    assert not failed and result["changed"] is True, result
    assert bucket_named(server, "machine_events_1h") is None
    before = len(server.writes())
    failed, result = run_module(influxdb_bucket.main, args(server, state="absent"))
    assert not failed and result["changed"] is False
    assert len(server.writes()) == before


@pytest.mark.parametrize("retention", ["30m", "59m59s", "1s"])
def test_retention_below_one_hour_fails_before_any_request(run_module, server, retention):
    failed, result = run_module(influxdb_bucket.main, args(server, retention=retention))
    assert failed
    assert f"retention='{retention}'" in result["msg"] and "1h" in result["msg"]
    assert server.requests == []


@pytest.mark.parametrize("retention, seconds", [("1h", 3600), ("0", 0), ("infinite", 0)])
def test_one_hour_and_infinite_are_accepted(run_module, server, retention, seconds):
    failed, result = run_module(influxdb_bucket.main, args(server, retention=retention))
    assert not failed, result
    assert bucket_named(server, "machine_events_1h")["everySeconds"] == seconds


def test_bad_duration_text_fails_naming_the_option(run_module, server):
    failed, result = run_module(influxdb_bucket.main, args(server, retention="2y"))
    assert failed and "retention='2y'" in result["msg"], result
    failed, result = run_module(influxdb_bucket.main, args(server, shard_group_duration="often"))
    assert failed and "shard_group_duration='often'" in result["msg"], result
    failed, result = run_module(influxdb_bucket.main, args(server, shard_group_duration="0"))
    assert failed and "shard_group_duration='0'" in result["msg"], result
    assert server.requests == []


def test_wrong_token_is_401_named(run_module, server):
    wrong = "not-the-operator-token-but-a-long-one"
    failed, result = run_module(influxdb_bucket.main, args(server, token=wrong, retention="30d"))
    assert failed
    assert "HTTP 401" in result["msg"] and "`token`" in result["msg"]
    assert wrong not in str(result) and TOKEN not in str(result)


def test_unknown_org_names_the_option(run_module, server):
    failed, result = run_module(influxdb_bucket.main, args(server, org="Ming", retention="30d"))
    assert failed
    assert "organization 'Ming'" in result["msg"] and "`org`" in result["msg"]
    assert server.writes() == []


def test_conflict_on_create_names_the_bucket_and_status(run_module, server, monkeypatch):
    """A bucket created by someone else between the read and the create: the double's 422 conflict is reported
    with the bucket, the status and InfluxDB's message."""
    org_id = next(iter(server.state.orgs))
    real_read = influxdb_bucket.InfluxDBBucket.read

    def read_then_race(self):
        current = real_read(self)
        if current is None and bucket_named(server, "machine_events_1h") is None:
            server.state.add_bucket(org_id, "machine_events_1h", 0)
        return current

    monkeypatch.setattr(influxdb_bucket.InfluxDBBucket, "read", read_then_race)
    failed, result = run_module(influxdb_bucket.main, args(server, retention="30d"))
    assert failed
    assert "bucket 'machine_events_1h'" in result["msg"] and "HTTP 422" in result["msg"]
    assert "already exists" in result["msg"]
    assert TOKEN not in str(result)


def test_token_without_the_permission_is_401_named(run_module, server):
    """The double, like InfluxDB, answers 401 (not 403) to a token that lacks the permission."""
    org_id = next(iter(server.state.orgs))
    user_id = next(iter(server.state.users))
    reader = "a-read-only-token-for-the-bucket-tests"
    server.state.add_authorization(org_id, user_id, [
        {"action": "read", "resource": {"type": "orgs", "orgID": org_id}},
        {"action": "read", "resource": {"type": "buckets", "orgID": org_id}}], token=reader)
    failed, result = run_module(influxdb_bucket.main, args(server, token=reader, retention="30d"))
    assert failed
    assert "HTTP 401" in result["msg"] and "`token`" in result["msg"] and "permission" in result["msg"]
    assert "create the bucket 'machine_events_1h'" in result["msg"] and "is unauthorized" in result["msg"]
    assert reader not in str(result)
    assert bucket_named(server, "machine_events_1h") is None


def test_bucket_gone_before_the_delete_is_404_named(run_module, server, monkeypatch):
    """Deleted by someone else between the read and the delete: the double's 404 names the bucket."""
    assert not run_module(influxdb_bucket.main, args(server, retention="30d"))[0]
    real_read = influxdb_bucket.InfluxDBBucket.read

    def read_then_vanish(self):
        current = real_read(self)
        server.state.buckets.pop(current["id"], None)
        return current

    monkeypatch.setattr(influxdb_bucket.InfluxDBBucket, "read", read_then_vanish)
    failed, result = run_module(influxdb_bucket.main, args(server, state="absent"))
    assert failed
    assert "HTTP 404" in result["msg"] and "delete the bucket 'machine_events_1h'" in result["msg"]
    assert result["msg"].count("machine_events_1h") == 1


def test_conflict_409_maps_to_kind_conflict_with_influxdbs_words():
    """Client level, no double: the OpenAPI document answers conflicts as 422 with code ``conflict`` (the double does
    that); a proxy or another 2.x build may send 409. Either is reported with the object, the status and InfluxDB's
    code and message, and the token scrubbed even when InfluxDB echoes it."""
    def opener(url, **kwargs):
        body = b'{"code": "conflict", "message": "bucket with name machine_events already exists (token %s)"}' \
            % TOKEN.encode()
        raise HTTPError(url, 409, "Conflict", {}, io.BytesIO(body))

    client = InfluxDBClient("127.0.0.1", token=TOKEN, retries=0, opener=opener)
    with pytest.raises(InfluxDBError) as caught:
        client.call("POST", "/api/v2/buckets", "create the bucket 'machine_events'", obj="bucket 'machine_events'",
                    body={"name": "machine_events"})
    message = str(caught.value)
    assert caught.value.kind == "conflict" and caught.value.status_code == 409
    assert caught.value.influx_code == "conflict"
    assert "HTTP 409" in message and "bucket 'machine_events'" in message and "already exists" in message
    assert TOKEN not in message and "********" in message
