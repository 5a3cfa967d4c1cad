"""The InfluxDB 1.x modules against the real InfluxDB 1.6.7 server (Debian's ``influxdb``, /usr/bin/influxd).

Every test here runs against the real server, never a double: one server per module (auth enabled, admin user
created by the fixture), each test with its own database and user names; the first-admin and TLS tests start a
fresh HTTPS server of their own. The modules run in-process; the ``recorder`` fixture wraps ``_api.open_url`` (the
real transport) and records every InfluxQL statement, so "no write on the second run" is asserted on what was sent.

For each module: check mode, apply, idempotent re-run (changed=False and no CREATE/ALTER/DROP/GRANT/REVOKE/SET
sent), change, delete; bad input refused before any request; errors naming the object, never the password.

Mutations tried (each made the named test fail, then was restored):
- influxdb_v1.influxql_tokens: ``<>`` no longer read as ``!=`` -> test_cq_equivalent_spelling_is_no_change (the
  server shows ``!=``, so re-running the ``<>`` query became a change).
- influxdb_v1.qualify_measurements returns the tokens unchanged -> test_cq_equivalent_spelling_is_no_change.
- influxdb_v1.influxql_tokens: durations kept as text (``60m`` != ``1h``) -> test_cq_equivalent_spelling_is_no_change.
- influxdb_retention_policy: the 1 h minimum check removed -> test_rp_bad_input_before_any_request.
- influxdb_retention_policy: default=false check removed -> test_rp_default_false_on_the_default_policy_fails.
- influxdb_retention_policy: CREATE DATABASE not sent for a missing database -> test_rp_lifecycle.
- influxdb_continuous_query: INTO/GROUP BY time() check removed -> test_cq_bad_input_before_any_request.
- influxdb_continuous_query: update sends CREATE only (no DROP) -> test_cq_lifecycle (InfluxDB: already exists).
- influxdb_user: password compared as always equal -> test_user_lifecycle (changed password not a change).
- influxdb_user: grants not in the list not revoked -> test_user_lifecycle.
- influxdb_user: first-admin state not handled (no_admin error re-raised) -> test_first_admin_over_tls.
- influxdb_user: non-admin first user check removed -> test_first_admin_over_tls (message naming the fix).
- InfluxQLClient.query: ``u=<login_user>`` added to the URL -> the recorder's URL assertion (test_rp_lifecycle).
- InfluxQLClient.status_error: the 401 hint no longer names login_user ->
  test_errors_name_the_object_not_the_password.
- quote_string: ``'`` not escaped -> test_user_lifecycle (its password has a quote: InfluxDB's parse error).
"""

import json

import pytest
from influxdb_v1_server import ADMIN_AUTH, connection

from ansible_collections.sensingcam.ming.plugins.modules import influxdb_continuous_query as cq_module
from ansible_collections.sensingcam.ming.plugins.modules import influxdb_retention_policy as rp_module
from ansible_collections.sensingcam.ming.plugins.modules import influxdb_user as user_module

pytestmark = pytest.mark.slow


def policies(server, database):
    return {row["name"]: row for row in server.rows(f'SHOW RETENTION POLICIES ON "{database}"', ADMIN_AUTH)}


def continuous_queries(server, database):
    return {row["name"]: row["query"] for row in server.rows("SHOW CONTINUOUS QUERIES", ADMIN_AUTH)
            if row["_series"] == database}


def assert_no_secret(result, *secrets):
    text = json.dumps(result)
    for secret in secrets:
        assert secret not in text, "a secret is in the module's output"


# --------------------------------------------------------------------------------------------------------------
# influxdb_retention_policy
# --------------------------------------------------------------------------------------------------------------

def test_rp_lifecycle(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: check mode, create (with the database), re-run, change, delete."""
    args = connection(influxdb, database="rp_life", name="machine_events", duration="30d", shard_duration="1d",
                      default=True)

    failed, result = run_module(rp_module, args, check_mode=True, diff=True)
    assert not failed and result["changed"] and result["database_created"]
    assert result["diff"] == {"before": {}, "after": {"database": "rp_life", "name": "machine_events",
                                                      "duration": "30d", "replication": 1, "shard_duration": "1d",
                                                      "default": True}}
    assert recorder.writes() == []
    assert "rp_life" not in [row["name"] for row in influxdb.rows("SHOW DATABASES", ADMIN_AUTH)]

    failed, result = run_module(rp_module, args)
    assert not failed and result["changed"] and result["database_created"], result
    row = policies(influxdb, "rp_life")["machine_events"]
    assert (row["duration"], row["shardGroupDuration"], row["replicaN"], row["default"]) == \
        ("720h0m0s", "24h0m0s", 1, True)

    recorder.clear()
    failed, result = run_module(rp_module, args, diff=True)
    assert not failed and not result["changed"] and not result["database_created"]
    assert recorder.writes() == [] and recorder.statements(), recorder.requests
    assert result["retention_policy"]["duration"] == "30d"

    # The same duration in other words is no change either.
    failed, result = run_module(rp_module, dict(args, duration="720h", shard_duration="24h"))
    assert not failed and not result["changed"] and recorder.writes() == []

    failed, result = run_module(rp_module, dict(args, duration="104w"), diff=True)
    assert not failed and result["changed"]
    assert (result["diff"]["before"]["duration"], result["diff"]["after"]["duration"]) == ("30d", "104w")
    assert recorder.writes() == ['ALTER RETENTION POLICY "machine_events" ON "rp_life" DURATION 104w']
    assert policies(influxdb, "rp_life")["machine_events"]["duration"] == "17472h0m0s"

    failed, result = run_module(rp_module, dict(args, duration="INF"))
    assert not failed and result["changed"] and result["retention_policy"]["duration"] == "infinite"
    assert policies(influxdb, "rp_life")["machine_events"]["duration"] == "0s"

    recorder.clear()
    failed, result = run_module(rp_module, dict(args, state="absent"), check_mode=True)
    assert not failed and result["changed"] and recorder.writes() == []
    failed, result = run_module(rp_module, dict(args, state="absent"))
    assert not failed and result["changed"] and "machine_events" not in policies(influxdb, "rp_life")
    failed, result = run_module(rp_module, dict(args, state="absent"))
    assert not failed and not result["changed"]


def test_rp_second_policy_and_default_moves(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: default=true on another policy takes the default over."""
    base = connection(influxdb, database="rp_default")
    assert not run_module(rp_module, dict(base, name="raw", duration="30d", default=True))[0]
    failed, result = run_module(rp_module, dict(base, name="hourly", duration="730d"))
    assert not failed and result["changed"] and result["retention_policy"]["default"] is False
    assert policies(influxdb, "rp_default")["hourly"]["duration"] == "17520h0m0s"
    failed, result = run_module(rp_module, dict(base, name="hourly", default=True))
    assert not failed and result["changed"]
    found = policies(influxdb, "rp_default")
    assert found["hourly"]["default"] is True and found["raw"]["default"] is False


def test_rp_default_false_on_the_default_policy_fails(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: InfluxQL cannot take the default away; the message names the fix."""
    base = connection(influxdb, database="rp_nodefault", name="raw", duration="30d")
    assert not run_module(rp_module, dict(base, default=True))[0]
    recorder.clear()
    failed, result = run_module(rp_module, dict(base, default=False), check_mode=True)
    assert failed and "default=false" in result["msg"] and "default: true on the policy" in result["msg"]
    assert "retention policy 'raw' on database 'rp_nodefault'" in result["msg"]
    assert recorder.writes() == []


@pytest.mark.parametrize("extra, words", [
    ({"duration": "30m"}, ["duration='30m'", "at least 1 hour"]),
    ({"duration": "59m59s"}, ["duration='59m59s'", "at least 1 hour"]),
    ({"duration": "30"}, ["duration='30'", "no unit"]),
    ({"duration": "1y"}, ["duration='1y'", "730d"]),
    ({"duration": "30d", "shard_duration": "10m"}, ["shard_duration='10m'", "at least 1 hour"]),
    ({"duration": "30d", "shard_duration": "0"}, ["shard_duration='0'", "at least 1 hour"]),
    ({"duration": "30d", "replication": 0}, ["replication=0"]),
])
def test_rp_bad_input_before_any_request(influxdb, run_module, recorder, extra, words):
    """Refused before any request to the real InfluxDB 1.6.7; the message names the option and the value."""
    failed, result = run_module(rp_module, connection(influxdb, database="rp_bad", name="raw", **extra))
    assert failed
    for word in words:
        assert word in result["msg"], result["msg"]
    assert recorder.requests == []


def test_rp_create_without_duration_fails(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: a new policy needs a duration; nothing is created."""
    failed, result = run_module(rp_module, connection(influxdb, database="rp_noduration", name="raw"))
    assert failed and "duration is required" in result["msg"] and recorder.writes() == []


# --------------------------------------------------------------------------------------------------------------
# influxdb_continuous_query
# --------------------------------------------------------------------------------------------------------------

CQ_QUERY = ('SELECT count("correlation") AS "events", count("clip_url") AS "clips" '
            'INTO "{db}"."machine_events_1h"."machine_events_1h" FROM "{db}"."machine_events"."machine_events" '
            'GROUP BY time(1h), "line", "station", "event", "severity"')


def data_model(server, run_module, database):
    base = connection(server, database=database)
    assert not run_module(rp_module, dict(base, name="machine_events", duration="30d", default=True))[0]
    assert not run_module(rp_module, dict(base, name="machine_events_1h", duration="730d"))[0]


def test_cq_lifecycle(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: check mode, create, re-run, change (drop + create), delete."""
    data_model(influxdb, run_module, "cq_life")
    args = connection(influxdb, database="cq_life", name="machine_events_1h", query=CQ_QUERY.format(db="cq_life"))
    recorder.clear()

    failed, result = run_module(cq_module, args, check_mode=True, diff=True)
    assert not failed and result["changed"] and recorder.writes() == []
    assert continuous_queries(influxdb, "cq_life") == {}

    failed, result = run_module(cq_module, args)
    assert not failed and result["changed"] and not result["warnings"], result
    stored = continuous_queries(influxdb, "cq_life")["machine_events_1h"]
    assert stored == ("CREATE CONTINUOUS QUERY machine_events_1h ON cq_life BEGIN SELECT count(correlation) AS events, "
                      "count(clip_url) AS clips INTO cq_life.machine_events_1h.machine_events_1h FROM "
                      "cq_life.machine_events.machine_events GROUP BY time(1h), line, station, event, severity END")

    recorder.clear()
    failed, result = run_module(cq_module, args)
    assert not failed and not result["changed"] and recorder.writes() == []

    failed, result = run_module(cq_module, dict(args, resample_every="30m", resample_for="2h"), diff=True)
    assert not failed and result["changed"]
    assert recorder.writes() == [
        'DROP CONTINUOUS QUERY "machine_events_1h" ON "cq_life"',
        'CREATE CONTINUOUS QUERY "machine_events_1h" ON "cq_life" RESAMPLE EVERY 30m FOR 2h BEGIN '
        + CQ_QUERY.format(db="cq_life") + " END"]
    assert [len(statements) for _m, _p, statements, _a in recorder.requests if "DROP" in " ".join(statements)] == \
        [2], "drop and create go in one request"
    assert result["diff"]["before"]["resample_every"] == "" and result["diff"]["after"]["resample_every"] == "30m"
    assert "RESAMPLE EVERY 30m FOR 2h" in continuous_queries(influxdb, "cq_life")["machine_events_1h"]

    recorder.clear()
    changed_query = CQ_QUERY.format(db="cq_life").replace('"line", ', "")
    failed, result = run_module(cq_module, dict(args, query=changed_query, resample_every="30m",
                                                resample_for="2h"), diff=True)
    assert not failed and result["changed"]
    assert "line" in result["diff"]["before"]["query"] and '"line"' not in result["diff"]["after"]["query"]
    assert ", line," not in continuous_queries(influxdb, "cq_life")["machine_events_1h"]

    recorder.clear()
    failed, result = run_module(cq_module, dict(args, state="absent"))
    assert not failed and result["changed"]
    assert recorder.writes() == ['DROP CONTINUOUS QUERY "machine_events_1h" ON "cq_life"']
    assert continuous_queries(influxdb, "cq_life") == {}
    failed, result = run_module(cq_module, dict(args, state="absent"))
    assert not failed and not result["changed"]


@pytest.mark.parametrize("spelling", [
    # unquoted, lower-case keywords, the measurement without database and policy (the default policy is used)
    "select count(correlation) as events, count(clip_url) as clips into machine_events_1h.machine_events_1h "
    "from machine_events group by time(60m), line, station, event, severity",
    # database..measurement, minutes, extra white space and a trailing semicolon
    'SELECT  count("correlation") AS "events",count("clip_url") AS "clips"\n INTO '
    '"machine_events_1h"."machine_events_1h"\n FROM "{db}".."machine_events"  GROUP BY time(3600s),'
    '"line","station","event","severity" ;',
])
def test_cq_equivalent_spelling_is_no_change(influxdb, run_module, recorder, spelling):
    """Against the real InfluxDB 1.6.7: the server's rewritten text and an equivalent declared text compare equal."""
    database = f"cq_same_{len(spelling)}"
    data_model(influxdb, run_module, database)
    args = connection(influxdb, database=database, name="cq", query=CQ_QUERY.format(db=database))
    assert run_module(cq_module, args)[1]["changed"]
    recorder.clear()
    failed, result = run_module(cq_module, dict(args, query=spelling.format(db=database)))
    assert not failed and not result["changed"] and recorder.writes() == [], result
    # ... and a real difference (another WHERE operator) is one, <> being InfluxQL's other spelling of !=.
    where = CQ_QUERY.format(db=database).replace("GROUP BY", "WHERE \"line\" <> 'L9' GROUP BY")
    assert run_module(cq_module, dict(args, query=where))[1]["changed"]
    assert not run_module(cq_module, dict(args, query=where))[1]["changed"]  # the server shows != for <>
    assert not run_module(cq_module, dict(args, query=where.replace("<>", "!=")))[1]["changed"]
    assert run_module(cq_module, dict(args, query=where.replace("<>", "=")))[1]["changed"]


@pytest.mark.parametrize("query, words", [
    ('SELECT count("x") FROM "m" GROUP BY time(1h)', ["no INTO"]),
    ('SELECT count("x") INTO "y" FROM "m"', ["no GROUP BY time(<interval>)"]),
    ('CREATE CONTINUOUS QUERY "a" ON "b" BEGIN SELECT count("x") INTO "y" FROM "m" GROUP BY time(1h) END',
     ["without CREATE CONTINUOUS QUERY"]),
    ('SELECT count("x) INTO "y" FROM "m" GROUP BY time(1h)', ["cannot be read", "unterminated"]),
])
def test_cq_bad_input_before_any_request(influxdb, run_module, recorder, query, words):
    """Refused before any request to the real InfluxDB 1.6.7, naming the continuous query."""
    failed, result = run_module(cq_module, connection(influxdb, database="cq_bad", name="cq", query=query))
    assert failed and "continuous query 'cq' on database 'cq_bad'" in result["msg"]
    for word in words:
        assert word in result["msg"], result["msg"]
    assert recorder.requests == []


def test_cq_bad_resample_before_any_request(influxdb, run_module, recorder):
    """Refused before any request to the real InfluxDB 1.6.7."""
    failed, result = run_module(cq_module, connection(influxdb, database="cq_bad", name="cq",
                                                      query=CQ_QUERY.format(db="cq_bad"), resample_for="2 hours"))
    assert failed and "resample_for='2 hours'" in result["msg"] and recorder.requests == []


def test_cq_server_error_names_the_object(influxdb, run_module, recorder):
    """The real InfluxDB 1.6.7 refuses a continuous query on a missing database; the message names it."""
    failed, result = run_module(cq_module, connection(influxdb, database="cq_nodb", name="cq",
                                                      query='SELECT count("x") INTO "y" FROM "m" GROUP BY time(1h)'))
    assert failed, result
    assert "continuous query 'cq' on database 'cq_nodb'" in result["msg"]
    assert "database not found: cq_nodb" in result["msg"]


# --------------------------------------------------------------------------------------------------------------
# influxdb_user
# --------------------------------------------------------------------------------------------------------------

def test_user_lifecycle(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: create with grants, re-run, password/grants/admin changes, delete."""
    data_model(influxdb, run_module, "user_life")
    data_model(influxdb, run_module, "user_life2")
    password = "n'r-\\-pw1"  # a quote and a backslash: the string quoting is exercised
    args = connection(influxdb, name="nodered_life", password=password,
                      grants=[{"database": "user_life", "privilege": "WRITE"}])
    recorder.clear()
    failed, result = run_module(user_module, args, check_mode=True, diff=True)
    assert not failed and result["changed"] and recorder.writes() == []
    assert result["diff"]["after"]["password"] == "******** (changed)"
    assert_no_secret(result, password)

    failed, result = run_module(user_module, args, diff=True)
    assert not failed and result["changed"]
    assert result["user"] == {"name": "nodered_life", "admin": False, "password": "******** (changed)",
                              "grants": [{"database": "user_life", "privilege": "WRITE"}]}
    assert_no_secret(result, password)
    assert influxdb.query("SHOW DATABASES", ("nodered_life", password))[0] == 200

    recorder.clear()
    failed, result = run_module(user_module, args, diff=True)
    assert not failed and not result["changed"] and recorder.writes() == []
    assert result["user"]["password"] == "********"

    # A changed password is a change: SET PASSWORD, and the new one logs in.
    failed, result = run_module(user_module, dict(args, password="second-pw"), diff=True)
    assert not failed and result["changed"]
    assert recorder.writes() == ["SET PASSWORD FOR \"nodered_life\" = 'second-pw'"]
    assert result["diff"]["before"]["password"] == "********"
    assert result["diff"]["after"]["password"] == "******** (changed)"
    assert influxdb.query("SHOW DATABASES", ("nodered_life", "second-pw"))[0] == 200
    assert influxdb.query("SHOW DATABASES", ("nodered_life", password))[0] == 401

    # update_password=on_create leaves an existing password alone.
    recorder.clear()
    failed, result = run_module(user_module, dict(args, password="third-pw", update_password="on_create"))
    assert not failed and not result["changed"] and recorder.writes() == []

    # grants is the full list: user_life moves to READ, user_life2 gets ALL.
    recorder.clear()
    grants = [{"database": "user_life2", "privilege": "ALL"}, {"database": "user_life", "privilege": "READ"}]
    failed, result = run_module(user_module, dict(args, password="second-pw", grants=grants), diff=True)
    assert not failed and result["changed"]
    assert result["user"]["grants"] == [{"database": "user_life", "privilege": "READ"},
                                        {"database": "user_life2", "privilege": "ALL"}]
    shown = {row["database"]: row["privilege"] for row in influxdb.rows('SHOW GRANTS FOR "nodered_life"', ADMIN_AUTH)}
    assert shown == {"user_life": "READ", "user_life2": "ALL PRIVILEGES"}

    # Leaving a database out revokes it; [] revokes everything.
    failed, result = run_module(user_module, dict(args, password="second-pw",
                                                  grants=[{"database": "user_life2", "privilege": "ALL"}]))
    assert not failed and result["changed"]
    assert 'REVOKE ALL PRIVILEGES ON "user_life" FROM "nodered_life"' in recorder.writes()
    assert result["user"]["grants"] == [{"database": "user_life2", "privilege": "ALL"}]
    failed, result = run_module(user_module, dict(args, password="second-pw", grants=[]))
    assert not failed and result["changed"] and result["user"]["grants"] == []

    # Grants not given: left as they are.
    recorder.clear()
    failed, result = run_module(user_module, dict(args, password="second-pw", grants=None))
    assert not failed and not result["changed"] and recorder.writes() == []

    failed, result = run_module(user_module, dict(args, password="second-pw", grants=None, admin=True))
    assert not failed and result["changed"] and result["user"]["admin"] is True
    failed, result = run_module(user_module, dict(args, password="second-pw", grants=None, admin=False))
    assert not failed and result["changed"] and result["user"]["admin"] is False

    failed, result = run_module(user_module, dict(args, state="absent"))
    assert not failed and result["changed"]
    assert "nodered_life" not in [row["user"] for row in influxdb.rows("SHOW USERS", ADMIN_AUTH)]
    failed, result = run_module(user_module, dict(args, state="absent"))
    assert not failed and not result["changed"]


def test_user_bad_input_before_any_request(influxdb, run_module, recorder):
    """Refused before any request to the real InfluxDB 1.6.7."""
    grants = [{"database": "a", "privilege": "READ"}, {"database": "a", "privilege": "WRITE"}]
    failed, result = run_module(user_module, connection(influxdb, name="u", password="x", grants=grants))
    assert failed and "database 'a' twice" in result["msg"] and recorder.requests == []
    failed, result = run_module(user_module, connection(influxdb, name="u", password="",))
    assert failed and "password" in result["msg"] and recorder.requests == []
    failed, result = run_module(user_module, connection(influxdb, name="u", grants=[{"database": "a",
                                                                                     "privilege": "OWNER"}]))
    assert failed and "OWNER" in result["msg"] and recorder.requests == []


def test_user_create_needs_a_password_and_an_existing_database(influxdb, run_module, recorder):
    """Against the real InfluxDB 1.6.7: no password -> refused before any write; a grant on a missing database ->
    InfluxDB's error, naming the user and the database."""
    failed, result = run_module(user_module, connection(influxdb, name="nopw"))
    assert failed and "password is required" in result["msg"] and recorder.writes() == []
    failed, result = run_module(user_module, connection(influxdb, name="grant_nodb", password="pw-gn",
                                                        grants=[{"database": "no_such_db", "privilege": "READ"}]))
    assert failed and "user 'grant_nodb'" in result["msg"] and "database not found: no_such_db" in result["msg"]


def test_errors_name_the_object_not_the_password(influxdb, run_module, recorder):
    """The real InfluxDB 1.6.7 refuses a wrong admin password (HTTP 401): the message names login_user, not the
    password; a non-admin login gets HTTP 403 naming the object."""
    wrong = "wrong-admin-password-123"
    failed, result = run_module(rp_module, connection(influxdb, database="err_db", name="raw", duration="30d",
                                                      login_password=wrong))
    assert failed and "HTTP 401" in result["msg"] and "login_user ('admin')" in result["msg"]
    assert_no_secret(result, wrong)

    data_model(influxdb, run_module, "err_db2")
    assert not run_module(user_module, connection(influxdb, name="reader_err", password="reader-pw-1",
                                                  grants=[{"database": "err_db2", "privilege": "READ"}]))[0]
    failed, result = run_module(rp_module, connection(influxdb, database="err_db2", name="raw2", duration="30d",
                                                      login_user="reader_err", login_password="reader-pw-1"))
    assert failed and "HTTP 403" in result["msg"]
    assert "retention policy 'raw2' on database 'err_db2'" in result["msg"]
    assert_no_secret(result, "reader-pw-1")


def test_first_admin_over_tls(fresh_tls_influxdb, run_module, recorder):
    """Against a fresh real InfluxDB 1.6.7 over HTTPS (auth enabled, no user yet): the first admin user is created
    without credentials, the certificate checked against ca_path; a non-admin first user is refused naming the fix."""
    server = fresh_tls_influxdb
    tls = dict(host="127.0.0.1", port=server.port, use_tls=True, ca_path=str(server.ca_pem), retries=0)

    failed, result = run_module(user_module, dict(tls, name="operator", password="op-pw-1"))
    assert failed and "first user must be an admin" in result["msg"] and "admin: true" in result["msg"]
    assert recorder.writes() == []

    args = dict(tls, name="root", password="root-pw-1", admin=True)
    failed, result = run_module(user_module, args, check_mode=True)
    assert not failed and result["changed"] and recorder.writes() == []

    failed, result = run_module(user_module, args)
    assert not failed and result["changed"] and result["user"]["admin"] is True, result
    assert [row["user"] for row in server.rows("SHOW USERS", ("root", "root-pw-1"))] == ["root"]

    recorder.clear()
    failed, result = run_module(user_module, dict(args, login_user="root", login_password="root-pw-1"))
    assert not failed and not result["changed"] and recorder.writes() == []

    # Without ca_path the self-made CA is unknown: a TLS error naming ca_path.
    failed, result = run_module(user_module, dict(args, ca_path=None, login_user="root", login_password="root-pw-1"))
    assert failed and "ca_path" in result["msg"] and "TLS" in result["msg"]
