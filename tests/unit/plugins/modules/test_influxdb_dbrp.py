"""influxdb_dbrp against the InfluxDB 2 API double (tools/influxdb2_double; a double because InfluxDB 2.x cannot run
on this machine): create, idempotent re-run without a write request, change of ``default`` in place, a new bucket
replaces the mapping, check and diff mode, delete, unknown bucket and missing options, 401 without the token.

Mutations tried (each made a test here fail, then was restored):
- ``update`` PATCHing ``bucketID`` instead of replacing (the API cannot move a mapping):
  ``test_other_bucket_replaces_the_mapping``.
- ``read`` without skipping virtual mappings: ``test_virtual_mappings_are_left_alone``.
- ``delete``/``update`` without ``?orgID=`` (the double answers 400 as the OSS server does):
  ``test_default_changes_in_place``.
- the ``required_if`` for ``bucket`` removed: ``test_present_needs_a_bucket_before_any_request``.
"""

import pytest

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_dbrp

TOKEN = "operator-token-for-the-dbrp-tests-0123456789"


@pytest.fixture
def server(influxdb2_double):
    influxdb2_double.onboard(token=TOKEN)
    org_id = next(iter(influxdb2_double.state.orgs))
    influxdb2_double.state.add_bucket(org_id, "machine_events_1h", 730 * 86400)
    return influxdb2_double


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": TOKEN, "org": "ming", "database": "machine_events",
            "retention_policy": "one_hour", "bucket": "machine_events_1h", "retries": 0}
    base.update(extra)
    return base


def mappings(server):
    return sorted(server.state.dbrps.values(), key=lambda d: d["id"])


def bucket_id(server, name):
    return next(b["id"] for b in server.state.buckets.values() if b["name"] == name)


def test_create_then_idempotent_rerun_sends_no_write(run_module, server):
    failed, result = run_module(influxdb_dbrp.main, args(server, default=False))
    assert not failed and result["changed"] is True, result
    assert result["dbrp"]["bucket"] == "machine_events_1h"
    assert result["dbrp"]["bucket_id"] == bucket_id(server, "machine_events_1h")
    [mapping] = mappings(server)
    assert mapping["database"] == "machine_events" and mapping["retention_policy"] == "one_hour"
    before = len(server.writes())
    failed, result = run_module(influxdb_dbrp.main, args(server))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_default_changes_in_place(run_module, server):
    assert not run_module(influxdb_dbrp.main, args(server, retention_policy="autogen", bucket="machine_events"))[0]
    assert not run_module(influxdb_dbrp.main, args(server, default=False))[0]
    [first_id, second_id] = [m["id"] for m in mappings(server)]
    failed, result = run_module(influxdb_dbrp.main, args(server, default=True), diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"]["default"] is False and result["diff"]["after"]["default"] is True
    assert result["replaced"] is False
    assert server.state.dbrps[second_id]["default"] is True and server.state.dbrps[first_id]["default"] is False
    assert [m["id"] for m in mappings(server)] == [first_id, second_id]
    failed, result = run_module(influxdb_dbrp.main, args(server, state="absent"))
    assert not failed and result["changed"] is True
    assert [m["id"] for m in mappings(server)] == [first_id]


def test_other_bucket_replaces_the_mapping(run_module, server):
    assert not run_module(influxdb_dbrp.main, args(server))[0]
    [old] = mappings(server)
    failed, result = run_module(influxdb_dbrp.main, args(server, bucket="machine_events"), check_mode=True)
    assert not failed and result["changed"] is True and result["replaced"] is True, result
    assert mappings(server) == [old]
    failed, result = run_module(influxdb_dbrp.main, args(server, bucket="machine_events"))
    assert not failed and result["replaced"] is True, result
    [new] = mappings(server)
    assert new["bucketID"] == bucket_id(server, "machine_events") and new["id"] != old["id"]
    assert new["default"] == old["default"]
    assert result["dbrp"]["bucket"] == "machine_events"


def test_check_mode_and_delete(run_module, server):
    failed, result = run_module(influxdb_dbrp.main, args(server), check_mode=True, diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"] == {} and result["diff"]["after"]["bucket"] == "machine_events_1h"
    assert server.writes() == []
    assert not run_module(influxdb_dbrp.main, args(server))[0]
    failed, result = run_module(influxdb_dbrp.main, {k: v for k, v in args(server, state="absent").items()
                                                     if k != "bucket"})
    assert not failed and result["changed"] is True and mappings(server) == []
    before = len(server.writes())
    failed, result = run_module(influxdb_dbrp.main, args(server, state="absent"))
    assert not failed and result["changed"] is False
    assert len(server.writes()) == before


def test_virtual_mappings_are_left_alone(run_module, server):
    org_id = next(iter(server.state.orgs))
    server.state.dbrps["0a3cbb5dd52600ff"] = {
        "id": "0a3cbb5dd52600ff", "orgID": org_id, "bucketID": bucket_id(server, "machine_events_1h"),
        "database": "machine_events", "retention_policy": "one_hour", "default": True, "virtual": True}
    failed, result = run_module(influxdb_dbrp.main, args(server, state="absent"))
    assert not failed and result["changed"] is False, result
    assert "0a3cbb5dd52600ff" in server.state.dbrps


def test_unknown_bucket_names_the_option(run_module, server):
    failed, result = run_module(influxdb_dbrp.main, args(server, bucket="machine_event"))
    assert failed and "bucket 'machine_event'" in result["msg"] and "`bucket`" in result["msg"], result
    assert server.writes() == []


def test_present_needs_a_bucket_before_any_request(run_module, server):
    failed, result = run_module(influxdb_dbrp.main, {k: v for k, v in args(server).items() if k != "bucket"})
    assert failed and "bucket" in result["msg"], result
    assert server.requests == []


def test_wrong_token_is_401_named(run_module, server):
    failed, result = run_module(influxdb_dbrp.main, args(server, token="a-token-the-server-never-issued"))
    assert failed and "HTTP 401" in result["msg"] and "`token`" in result["msg"], result
    assert "a-token-the-server-never-issued" not in str(result)
