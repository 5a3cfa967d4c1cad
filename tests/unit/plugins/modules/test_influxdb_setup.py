"""influxdb_setup against the InfluxDB 2 API double (tools/influxdb2_double; a double because InfluxDB 2.x cannot run
on this machine): onboarding once with retentionPeriodSeconds and the operator token we chose, a re-run that only
reads, check and diff mode, bad input refused before any request, InfluxDB's 400 kept, no secret in the result.

Mutations tried (each made a test here fail, then was restored):
- ``execute`` posting without asking ``GET /api/v2/setup`` (``allowed = True``): ``test_rerun_on_a_set_up_server_
  changes_nothing`` (the double's 422 "onboarding has already been completed").
- ``retentionPeriodSeconds`` replaced by the deprecated ``retentionPeriodHrs``: ``test_onboards_once_with_the_
  chosen_token_and_retention``.
- the check-mode guard removed (``elif True:``): ``test_check_mode_onboards_nothing``.
- ``retention_seconds`` called after ``setup_allowed``: ``test_short_retention_fails_before_any_request``.
"""

import pytest

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_setup

TOKEN = "the-operator-token-we-chose-0123456789abcdef"
PASSWORD = "admin-password-for-tests"


def args(server, **extra):
    base = {"host": server.host, "port": server.port, "token": TOKEN, "org": "ming", "username": "admin",
            "password": PASSWORD, "bucket": "machine_events", "retention": "30d", "retries": 0}
    base.update(extra)
    return base


def test_onboards_once_with_the_chosen_token_and_retention(run_module, influxdb2_double):
    failed, result = run_module(influxdb_setup.main, args(influxdb2_double))
    assert not failed, result
    assert result["changed"] is True and result["onboarded"] is True
    org = next(iter(influxdb2_double.state.orgs.values()))
    assert result["org_id"] == org["id"] and org["name"] == "ming"
    posts = [body for method, path, _query, body in influxdb2_double.writes() if path == "/api/v2/setup"]
    assert len(posts) == 1
    assert posts[0]["retentionPeriodSeconds"] == 30 * 86400 and "retentionPeriodHrs" not in posts[0]
    bucket = next(b for b in influxdb2_double.state.buckets.values() if b["name"] == "machine_events")
    assert bucket["everySeconds"] == 30 * 86400 and result["bucket_id"] == bucket["id"]
    # the token we chose is the operator token: it authenticates
    assert influxdb2_double.state.authenticate("Token " + TOKEN)
    assert TOKEN not in str(result) and PASSWORD not in str(result)


def test_rerun_on_a_set_up_server_changes_nothing(run_module, influxdb2_double):
    assert not run_module(influxdb_setup.main, args(influxdb2_double))[0]
    before = len(influxdb2_double.writes())
    failed, result = run_module(influxdb_setup.main, args(influxdb2_double, retention="90d"), diff=True)
    assert not failed, result
    assert result["changed"] is False and result["onboarded"] is False
    assert result["org_id"] == next(iter(influxdb2_double.state.orgs))
    assert result["diff"]["before"] == result["diff"]["after"]
    assert len(influxdb2_double.writes()) == before


def test_check_mode_onboards_nothing(run_module, influxdb2_double):
    failed, result = run_module(influxdb_setup.main, args(influxdb2_double), check_mode=True, diff=True)
    assert not failed and result["changed"] is True and result["onboarded"] is True, result
    assert result["diff"]["after"]["retention"] == "30d" and result["diff"]["after"]["org"] == "ming"
    assert influxdb2_double.writes() == []
    assert not influxdb2_double.state.users


@pytest.mark.parametrize("retention", ["10m", "3599s"])
def test_short_retention_fails_before_any_request(run_module, influxdb2_double, retention):
    failed, result = run_module(influxdb_setup.main, args(influxdb2_double, retention=retention))
    assert failed and f"retention='{retention}'" in result["msg"], result
    assert influxdb2_double.requests == []


def test_infinite_retention_by_default(run_module, influxdb2_double):
    assert not run_module(influxdb_setup.main, {k: v for k, v in args(influxdb2_double).items() if k != "retention"})[0]
    bucket = next(b for b in influxdb2_double.state.buckets.values() if b["name"] == "machine_events")
    assert bucket["everySeconds"] == 0


def test_short_password_keeps_influxdbs_message(run_module, influxdb2_double):
    failed, result = run_module(influxdb_setup.main, args(influxdb2_double, password="short"))
    assert failed
    assert "HTTP 400" in result["msg"] and "8 characters" in result["msg"]
    assert "organization 'ming'" in result["msg"]
    assert TOKEN not in str(result)


def test_wrong_token_on_a_set_up_server_is_401_named(run_module, influxdb2_double):
    influxdb2_double.onboard(token=TOKEN)
    failed, result = run_module(influxdb_setup.main, args(influxdb2_double, token="some-other-token-value"))
    assert failed and "HTTP 401" in result["msg"] and "`token`" in result["msg"], result
    assert "some-other-token-value" not in str(result)
    assert influxdb2_double.writes() == []
