"""influxdb_token (the module, without its action plugin) against the InfluxDB 2 API double (tools/influxdb2_double;
a double because InfluxDB 2.x cannot run on this machine; 2.9.1 hashes tokens, 2.7.12 does not): create with
scoped permissions, re-run without a write request when the value is stored, the hashed-token failure that names
rotate, capture of a readable value on 2.7, replacement on other permissions or rotate (the old token is only
deleted by the later ``retire_id`` run), check and diff mode, delete, bad input, 401. The store itself is tested
with the action plugin in tests/integration/data/test_influxdb_token_store.py.

Mutations tried (each made a test here fail, then was restored):
- the "value not stored" failure removed: ``test_existing_token_without_stored_value_fails_naming_rotate``.
- ``permission_key`` ignoring the resource id: ``test_other_permissions_replace_the_token``.
- ``rotate`` not forcing a change: ``test_rotate_replaces_even_with_the_same_permissions``.
- ``retire`` without the description check: ``test_retire_refuses_another_token``.
- the readable-value capture removed (2.7 fell through to the hashed failure): ``test_readable_value_on_27_is_
  captured_without_a_write``.
- the unknown-bucket check removed (``bucket = {'id': ...}`` of None): ``test_unknown_bucket_fails_naming_the_
  entry``.
"""

import pytest

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_token

TOKEN = "operator-token-for-the-token-tests-0123456789"
VALUE_KEY = influxdb_token.VALUE_KEY


def start(factory, version="2.9.1"):
    server = factory(version)
    server.onboard(token=TOKEN)
    org_id = next(iter(server.state.orgs))
    server.state.add_bucket(org_id, "machine_events_1h", 730 * 86400)
    return server


@pytest.fixture
def server(influxdb2_double_factory):
    return start(influxdb2_double_factory)


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": TOKEN, "org": "ming", "retries": 0,
            "description": "node-red write", "store_path": "/nonexistent/store",
            "permissions": [{"action": "write", "bucket": "machine_events"}]}
    base.update(extra)
    return base


def named(server, description="node-red write"):
    return [a for a in server.state.authorizations.values() if a["description"] == description]


def bucket_id(server, name):
    return next(b["id"] for b in server.state.buckets.values() if b["name"] == name)


def test_create_returns_the_value_once(run_module, server):
    failed, result = run_module(influxdb_token.main, args(server), diff=True)
    assert not failed and result["changed"] is True, result
    value = result[VALUE_KEY]
    [created] = named(server)
    assert server.state.authenticate("Token " + value)["id"] == created["id"]
    assert [(p["action"], p["resource"]["type"], p["resource"]["id"]) for p in created["permissions"]] == \
        [("write", "buckets", bucket_id(server, "machine_events"))]
    assert result["authorization"]["permissions"] == [{"action": "write", "bucket": "machine_events"}]
    assert result["authorization"]["id"] == created["id"] and result["replaced"] is False
    assert value not in str(result["diff"]) and value not in str(result["authorization"])


def test_rerun_with_stored_value_sends_no_write(run_module, server):
    assert not run_module(influxdb_token.main, args(server))[0]
    before = len(server.writes())
    failed, result = run_module(influxdb_token.main, args(server, value_stored=True))
    assert not failed and result["changed"] is False, result
    assert VALUE_KEY not in result
    assert len(server.writes()) == before


def test_existing_token_without_stored_value_fails_naming_rotate(run_module, server):
    assert not run_module(influxdb_token.main, args(server))[0]
    before = len(server.writes())
    failed, result = run_module(influxdb_token.main, args(server, value_stored=False))
    assert failed, result
    assert "hashed" in result["msg"] and "2.9" in result["msg"] and "rotate: true" in result["msg"]
    assert "/nonexistent/store" in result["msg"]
    assert len(server.writes()) == before


def test_readable_value_on_27_is_captured_without_a_write(run_module, influxdb2_double_factory):
    server = start(influxdb2_double_factory, "2.7.12")
    failed, result = run_module(influxdb_token.main, args(server))
    assert not failed, result
    first = result[VALUE_KEY]
    before = len(server.writes())
    failed, result = run_module(influxdb_token.main, args(server, value_stored=False))
    assert not failed and result["changed"] is True, result
    assert result[VALUE_KEY] == first
    assert len(server.writes()) == before


def test_other_permissions_replace_the_token(run_module, server):
    assert not run_module(influxdb_token.main, args(server))[0]
    [old] = named(server)
    wider = [{"action": "write", "bucket": "machine_events_1h"}]
    failed, result = run_module(influxdb_token.main, args(server, value_stored=True, permissions=wider),
                                check_mode=True, diff=True)
    assert not failed and result["changed"] is True and result["replaced"] is True, result
    assert result["diff"]["after"]["permissions"] == [{"action": "write", "bucket": "machine_events_1h"}]
    assert named(server) == [old] and VALUE_KEY not in result
    failed, result = run_module(influxdb_token.main, args(server, value_stored=True, permissions=wider))
    assert not failed and result["replaced"] is True and result["retire_id"] == old["id"], result
    assert len(named(server)) == 2  # the old one stays until the new value is stored
    failed, result = run_module(influxdb_token.main, args(server, retire_id=old["id"]))
    assert not failed and result["changed"] is True, result
    [new] = named(server)
    assert new["id"] != old["id"]
    assert [p["resource"]["id"] for p in new["permissions"]] == [bucket_id(server, "machine_events_1h")]
    failed, result = run_module(influxdb_token.main, args(server, retire_id=old["id"]))
    assert not failed and result["changed"] is False


def test_rotate_replaces_even_with_the_same_permissions(run_module, server):
    assert not run_module(influxdb_token.main, args(server))[0]
    [old] = named(server)
    failed, result = run_module(influxdb_token.main, args(server, value_stored=True, rotate=True))
    assert not failed and result["changed"] is True and result["replaced"] is True, result
    assert result["retire_id"] == old["id"] and result[VALUE_KEY]


def test_retire_refuses_another_token(run_module, server):
    assert not run_module(influxdb_token.main, args(server, description="grafana read",
                                                    permissions=[{"action": "read", "bucket": "machine_events"}]))[0]
    [other] = named(server, "grafana read")
    failed, result = run_module(influxdb_token.main, args(server, retire_id=other["id"]))
    assert failed and "grafana read" in result["msg"], result
    assert named(server, "grafana read") == [other]


def test_absent_deletes_and_check_mode_does_not(run_module, server):
    assert not run_module(influxdb_token.main, args(server))[0]
    failed, result = run_module(influxdb_token.main, args(server, state="absent"), check_mode=True)
    assert not failed and result["changed"] is True and len(named(server)) == 1
    failed, result = run_module(influxdb_token.main, args(server, state="absent"))
    assert not failed and result["changed"] is True and named(server) == []
    before = len(server.writes())
    failed, result = run_module(influxdb_token.main, args(server, state="absent"))
    assert not failed and result["changed"] is False and len(server.writes()) == before


def test_type_permissions(run_module, server):
    task_rights = [{"action": "read", "type": "tasks"}, {"action": "write", "type": "tasks"},
                   {"action": "read", "bucket": "machine_events"}, {"action": "write", "bucket": "machine_events_1h"}]
    failed, result = run_module(influxdb_token.main, args(server, description="task token", permissions=task_rights))
    assert not failed, result
    before = len(server.writes())
    failed, result = run_module(influxdb_token.main, args(server, description="task token", value_stored=True,
                                                          permissions=list(reversed(task_rights))))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_unknown_bucket_fails_naming_the_entry(run_module, server):
    failed, result = run_module(influxdb_token.main, args(server, permissions=[
        {"action": "read", "bucket": "machine_events"}, {"action": "read", "bucket": "machine_evnts"}]))
    assert failed and "permissions[1].bucket='machine_evnts'" in result["msg"], result
    assert server.writes() == []


@pytest.mark.parametrize("permissions, words", [
    ([{"action": "read"}], "bucket"),
    ([{"action": "read", "bucket": "machine_events", "type": "tasks"}], "mutually exclusive"),
    ([{"action": "delete", "bucket": "machine_events"}], "action"),
])
def test_bad_permissions_fail_before_any_request(run_module, server, permissions, words):
    failed, result = run_module(influxdb_token.main, args(server, permissions=permissions))
    assert failed and words in result["msg"], result
    assert server.requests == []


def test_duplicate_descriptions_fail_with_the_ids(run_module, server):
    org_id = next(iter(server.state.orgs))
    user_id = next(iter(server.state.users))
    first, _value = server.state.add_authorization(org_id, user_id, [], description="node-red write")
    second, _value = server.state.add_authorization(org_id, user_id, [], description="node-red write")
    failed, result = run_module(influxdb_token.main, args(server, value_stored=True))
    assert failed and first["id"] in result["msg"] and second["id"] in result["msg"], result
    assert server.writes() == []


def test_wrong_token_is_401_named(run_module, server):
    failed, result = run_module(influxdb_token.main, args(server, token="a-token-the-server-never-issued"))
    assert failed and "HTTP 401" in result["msg"] and "`token`" in result["msg"], result
    assert "a-token-the-server-never-issued" not in str(result)
