"""influxdb_replication against the InfluxDB 2 API double (tools/influxdb2_double; a double of the published API,
not InfluxDB, because InfluxDB 2.x cannot run on this machine): create with names resolved to IDs, idempotent re-run
without a write request, a changed max age patched in place (the queue kept), check and diff mode, delete, the
32 MiB queue minimum and a negative age refused before any request, a local bucket change refused naming the option,
an unknown remote named, validation.

Mutations tried (each made a test here fail, then was restored):
- ``validate`` without the 33554430 minimum: ``test_queue_below_the_minimum_fails_before_any_request`` (the
  double's 400 after requests instead).
- ``read`` reporting the remote by ID instead of its name: ``test_create_then_idempotent_rerun_sends_no_write``.
- ``check_change`` without the local bucket branch: ``test_local_bucket_change_is_refused_naming_the_option``
  (a PATCH the API ignores, reported as changed every run).
- ``body_of`` sending ``remoteBucketID`` instead of ``remoteBucketName``:
  ``test_create_then_idempotent_rerun_sends_no_write``.
- ``same`` comparing a max age the server does not report: ``test_a_server_without_max_age_is_not_patched``.
"""

import pytest

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_replication

TOKEN = "operator-token-for-the-replication-tests-0123"
MIN = 33554430


@pytest.fixture
def server(influxdb2_double):
    influxdb2_double.onboard(token=TOKEN, retention_seconds=0)
    org_id = next(iter(influxdb2_double.state.orgs))
    influxdb2_double.state.add_bucket(org_id, "machine_events_1h", 0)
    influxdb2_double.state.remotes["0a3cbb5dd52600aa"] = {
        "id": "0a3cbb5dd52600aa", "orgID": org_id, "name": "central", "remoteURL": "http://127.0.0.1:9",
        "allowInsecureTLS": False, "description": None, "remoteOrgID": "0a3cbb5dd5260002", "_token": "t"}
    return influxdb2_double


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": TOKEN, "org": "ming",
            "name": "machine_events to central", "remote": "central", "local_bucket": "machine_events",
            "remote_bucket": "machine_events", "max_queue_size_bytes": 259200000, "max_age_seconds": 604800,
            "drop_non_retryable_data": False, "retries": 0}
    base.update(extra)
    return base


def stored(server, name="machine_events to central"):
    return next((r for r in server.state.replications.values() if r["name"] == name), None)


def bucket_id(server, name):
    return next(b["id"] for b in server.state.buckets.values() if b["name"] == name)


def test_create_then_idempotent_rerun_sends_no_write(run_module, server):
    failed, result = run_module(influxdb_replication.main, args(server), diff=True)
    assert not failed and result["changed"] is True, result
    created = stored(server)
    assert created["remoteID"] == "0a3cbb5dd52600aa"
    assert created["localBucketID"] == bucket_id(server, "machine_events")
    assert created["remoteBucketName"] == "machine_events" and created.get("remoteBucketID") is None
    assert created["maxQueueSizeBytes"] == 259200000 and created["maxAgeSeconds"] == 604800
    assert result["replication"]["remote"] == "central"
    assert result["replication"]["local_bucket"] == "machine_events"
    before = len(server.writes())
    failed, result = run_module(influxdb_replication.main, args(server))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_changed_max_age_is_patched_in_place(run_module, server):
    assert not run_module(influxdb_replication.main, args(server))[0]
    replication_id = stored(server)["id"]
    server.state.queues[replication_id].append([0.0, 10, "m v=1 1"])
    failed, result = run_module(influxdb_replication.main, args(server, max_age_seconds=3600), diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"]["max_age_seconds"] == 604800
    assert result["diff"]["after"]["max_age_seconds"] == 3600
    assert stored(server)["id"] == replication_id and stored(server)["maxAgeSeconds"] == 3600
    assert len(server.state.queues[replication_id]) == 1
    patch = [body for method, _path, _query, body in server.writes() if method == "PATCH"][-1]
    assert patch == {"maxAgeSeconds": 3600}


def test_defaults_of_the_api_on_create(run_module, server):
    failed, result = run_module(influxdb_replication.main, args(server, max_queue_size_bytes=None,
                                                                max_age_seconds=None))
    assert not failed, result
    post = [body for method, path, _query, body in server.writes() if path == "/api/v2/replications"][-1]
    assert post["maxQueueSizeBytes"] == 67108860 and post["maxAgeSeconds"] == 604800


def test_check_mode_predicts_and_writes_nothing(run_module, server):
    failed, result = run_module(influxdb_replication.main, args(server), check_mode=True, diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["max_queue_size_bytes"] == 259200000
    assert server.writes() == [] and stored(server) is None


def test_delete_then_absent_is_unchanged(run_module, server):
    assert not run_module(influxdb_replication.main, args(server))[0]
    failed, result = run_module(influxdb_replication.main, args(server, state="absent"))
    assert not failed and result["changed"] is True and stored(server) is None, result
    before = len(server.writes())
    failed, result = run_module(influxdb_replication.main, args(server, state="absent"))
    assert not failed and result["changed"] is False
    assert len(server.writes()) == before


@pytest.mark.parametrize("size", [MIN - 1, 1024, 0])
def test_queue_below_the_minimum_fails_before_any_request(run_module, server, size):
    failed, result = run_module(influxdb_replication.main, args(server, max_queue_size_bytes=size))
    assert failed and f"max_queue_size_bytes={size}" in result["msg"] and "33554430" in result["msg"], result
    assert server.requests == []


def test_the_minimum_itself_is_accepted(run_module, server):
    failed, result = run_module(influxdb_replication.main, args(server, max_queue_size_bytes=MIN))
    assert not failed, result
    assert stored(server)["maxQueueSizeBytes"] == MIN


def test_negative_max_age_fails_before_any_request(run_module, server):
    failed, result = run_module(influxdb_replication.main, args(server, max_age_seconds=-1))
    assert failed and "max_age_seconds=-1" in result["msg"], result
    assert server.requests == []


def test_local_bucket_change_is_refused_naming_the_option(run_module, server):
    assert not run_module(influxdb_replication.main, args(server))[0]
    before = len(server.writes())
    failed, result = run_module(influxdb_replication.main, args(server, local_bucket="machine_events_1h"))
    assert failed and "local_bucket='machine_events_1h'" in result["msg"] and "state: absent" in result["msg"]
    assert len(server.writes()) == before


def test_unknown_remote_is_named(run_module, server):
    failed, result = run_module(influxdb_replication.main, args(server, remote="centrl"))
    assert failed and "remote connection 'centrl'" in result["msg"] and "`remote`" in result["msg"], result
    assert server.writes() == []


def test_a_server_without_max_age_is_not_patched(run_module, server, monkeypatch):
    """A server answering the OpenAPI ``Replication`` schema to the letter (no maxAgeSeconds): not compared, warned."""
    assert not run_module(influxdb_replication.main, args(server))[0]
    real = server.state.replication_json

    def without_max_age(replication):
        view = real(replication)
        view.pop("maxAgeSeconds", None)
        return view

    monkeypatch.setattr(server.state, "replication_json", without_max_age)
    before = len(server.writes())
    failed, result = run_module(influxdb_replication.main, args(server, max_age_seconds=3600))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before
    assert any("maxAgeSeconds" in warning for warning in result["warnings"])


def test_validate_asks_the_server_and_fails_when_the_remote_is_down(run_module, server):
    """The remote URL points at a closed port: validation (POST .../validate) is a 400 naming the replication."""
    failed, result = run_module(influxdb_replication.main, args(server, validate=True))
    assert failed
    assert "validate the replication 'machine_events to central'" in result["msg"] and "HTTP 400" in result["msg"]
