"""influxdb_remote against the InfluxDB 2 API double (tools/influxdb2_double; a double of the published API, not
InfluxDB, because InfluxDB 2.x cannot run on this machine): create, idempotent re-run without a write request, the
write-only token compared by its fingerprint (a new token is sent, the same one is not), check and diff mode
without the token, delete, bad input refused before any request.

Mutations tried (each made a test here fail, then was restored):
- ``fingerprint`` without the connection's name (the same token gives the same fingerprint on every remote):
  ``test_the_fingerprint_depends_on_the_name``.
- ``write_only`` emptied (the token compared as plain text with the fingerprint):
  ``test_create_then_idempotent_rerun_sends_no_write`` (the re-run changed).
- ``update`` not re-sending the description with the new fingerprint: ``test_a_new_token_is_sent_and_fingerprinted``
  (the third run changed again).
- ``check_change`` without the create check: ``test_create_without_url_or_token_fails_naming_them`` (the double's
  400 instead of our message).
- ``validate`` without the URL check: ``test_bad_url_fails_before_any_request``.
"""

import pytest

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_remote

TOKEN = "operator-token-for-the-remote-tests-0123456789"
REMOTE_TOKEN = "central-replication-token-north-abcdefghijklmnop"


@pytest.fixture
def server(influxdb2_double):
    influxdb2_double.onboard(token=TOKEN, retention_seconds=0)
    return influxdb2_double


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": TOKEN, "org": "ming", "name": "central",
            "remote_url": "https://influxdb.central.example:8086", "remote_org_id": "0a3cbb5dd5260002",
            "remote_token": REMOTE_TOKEN, "retries": 0}
    base.update(extra)
    return base


def stored(server, name="central"):
    return next((r for r in server.state.remotes.values() if r["name"] == name), None)


def test_create_then_idempotent_rerun_sends_no_write(run_module, server):
    failed, result = run_module(influxdb_remote.main, args(server, description="central site"), diff=True)
    assert not failed and result["changed"] is True, result
    remote = stored(server)
    assert remote["_token"] == REMOTE_TOKEN and remote["allowInsecureTLS"] is False
    assert remote["remoteURL"] == "https://influxdb.central.example:8086"
    assert remote["description"].startswith("central site [token fingerprint ")
    assert result["remote"]["description"] == "central site"
    assert result["remote"]["remote_token"] == "******** (changed)"
    assert REMOTE_TOKEN not in str(result) and TOKEN not in str(result)
    before = len(server.writes())
    failed, result = run_module(influxdb_remote.main, args(server, description="central site"))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before


def test_a_new_token_is_sent_and_fingerprinted(run_module, server):
    assert not run_module(influxdb_remote.main, args(server))[0]
    rotated = "a-rotated-central-token-for-north-0123456789"
    failed, result = run_module(influxdb_remote.main, args(server, remote_token=rotated), diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["after"]["remote_token"] == "******** (changed)"
    assert stored(server)["_token"] == rotated
    patch = [body for method, _path, _query, body in server.writes() if method == "PATCH"][-1]
    assert set(patch) == {"remoteAPIToken", "description"}
    before = len(server.writes())
    failed, result = run_module(influxdb_remote.main, args(server, remote_token=rotated))
    assert not failed and result["changed"] is False, result
    assert len(server.writes()) == before
    assert rotated not in str(result)


def test_the_fingerprint_depends_on_the_name(run_module, server):
    assert not run_module(influxdb_remote.main, args(server, name="central"))[0]
    assert not run_module(influxdb_remote.main, args(server, name="central-b"))[0]
    first = influxdb_remote.split_description(stored(server, "central")["description"])[1]
    second = influxdb_remote.split_description(stored(server, "central-b")["description"])[1]
    assert first and second and first != second
    assert first not in REMOTE_TOKEN


def test_a_remote_made_elsewhere_gets_its_token_once(run_module, server):
    """No fingerprint in the description (created by hand): the token is set once, then the run settles."""
    org_id = next(iter(server.state.orgs))
    server.state.remotes["0a3cbb5dd52600ff"] = {
        "id": "0a3cbb5dd52600ff", "orgID": org_id, "name": "central", "remoteURL": "https://influxdb.central.example:8086",
        "allowInsecureTLS": False, "description": "by hand", "remoteOrgID": "0a3cbb5dd5260002", "_token": "old"}
    failed, result = run_module(influxdb_remote.main, args(server))
    assert not failed and result["changed"] is True, result
    assert stored(server)["_token"] == REMOTE_TOKEN
    assert stored(server)["description"].startswith("by hand [token fingerprint ")
    failed, result = run_module(influxdb_remote.main, args(server))
    assert not failed and result["changed"] is False, result


def test_changed_url_is_patched_in_place(run_module, server):
    assert not run_module(influxdb_remote.main, args(server))[0]
    remote_id = stored(server)["id"]
    failed, result = run_module(influxdb_remote.main, args(server, remote_url="https://central-b.example:8086"))
    assert not failed and result["changed"] is True, result
    assert stored(server)["id"] == remote_id
    assert stored(server)["remoteURL"] == "https://central-b.example:8086"
    patch = [body for method, _path, _query, body in server.writes() if method == "PATCH"][-1]
    assert patch == {"remoteURL": "https://central-b.example:8086"}


def test_check_mode_predicts_and_writes_nothing(run_module, server):
    failed, result = run_module(influxdb_remote.main, args(server), check_mode=True, diff=True)
    assert not failed and result["changed"] is True, result
    assert result["diff"]["before"] == {}
    assert result["diff"]["after"]["remote_token"] == "******** (changed)"
    assert server.writes() == [] and stored(server) is None
    assert REMOTE_TOKEN not in str(result)


def test_delete_then_absent_is_unchanged(run_module, server):
    assert not run_module(influxdb_remote.main, args(server))[0]
    failed, result = run_module(influxdb_remote.main, {"host": server.host, "port": server.port, "token": TOKEN,
                                                       "org": "ming", "name": "central", "state": "absent"})
    assert not failed and result["changed"] is True and stored(server) is None, result
    before = len(server.writes())
    failed, result = run_module(influxdb_remote.main, {"host": server.host, "port": server.port, "token": TOKEN,
                                                       "org": "ming", "name": "central", "state": "absent"})
    assert not failed and result["changed"] is False
    assert len(server.writes()) == before


def test_create_without_url_or_token_fails_naming_them(run_module, server):
    failed, result = run_module(influxdb_remote.main, args(server, remote_url=None, remote_token=None))
    assert failed
    assert "`remote_url`" in result["msg"] and "`remote_token`" in result["msg"]
    assert server.writes() == []


def test_bad_url_fails_before_any_request(run_module, server):
    failed, result = run_module(influxdb_remote.main, args(server, remote_url="influxdb.central.example:8086"))
    assert failed and "remote_url='influxdb.central.example:8086'" in result["msg"], result
    assert server.requests == []
