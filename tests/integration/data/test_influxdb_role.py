"""The influxdb role with influxdb_api_version 1, rolled out with ansible-playbook on this machine's Docker engine,
against the REAL InfluxDB 1.6.7 of the lab image (ming/influxdb:lab, Debian's package) in a throwaway Compose
project of its own (project name, base directory, CA directory and port of this module).

The tests run in file order and share one server, as a plant's lives through its roll-outs: check mode on a fresh
host changes nothing -> the first run -> a second run and check mode change nothing -> HTTPS only, TLS 1.2 at least,
authentication on -> the retention policies and the continuous query exist (SHOW ...) -> points written by the
Node-RED user at known past times, rolled up by the continuous query's own statement over that past window (the
backfill a CQ does for its interval), give the expected hourly series with exact counts and rate -> the Node-RED
user can write but not read, the Grafana user read but not write. Every run is ``--diff -vvv`` with
``ANSIBLE_INJECT_INVOCATION=1``; the whole output of every run is scanned for every password.

Mutations tried (roles/influxdb, each restored):
- grants: every client given READ (``'READ' if item.access == 'read' else 'WRITE'`` -> ``'READ'``) ->
  test_the_nodered_user_can_write_but_not_read (its write refused), the backfill and the Grafana test failed
- influxdb.conf ``auth-enabled = false`` -> test_https_only_with_authentication failed (an anonymous query
  answered), and the Node-RED/Grafana tests (no privilege enforced)
- the CQ's ``count("clip_url")`` replaced by ``count("correlation")`` -> test_the_hourly_rollup_backfills_exact_counts
  failed (clips 3 instead of 2)
- the clients' user task looping over influxdb_clients (with passwords) instead of __influxdb_clients_public ->
  test_no_secret_in_any_output failed (and the module fixture's scan)
"""

import datetime
import json
import re
import ssl
import subprocess
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from influxdb_role_run import ROLLOUT, RoleRun
from mosquitto_broker import containers_of, free_port, remove_compose_project, require

PROJECT = f"ifxrole-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-influxdb"
IMAGE = "ming/influxdb:lab"
PASSWORDS = {name: f"pw-{uuid.uuid4().hex}" for name in ("admin", "nodered", "grafana")}


@pytest.fixture(scope="module")
def role(tmp_path_factory):
    ready = subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0
    require(ready, f"needs the Docker engine (scripts/docker-engine.sh) and {IMAGE} "
                   "(scripts/build-lab-images.sh influxdb)")
    directory = tmp_path_factory.mktemp("influxdb-role")
    port = free_port()
    variables = {
        "ming_base_dir": str(directory / "base"), "ming_compose_project": PROJECT,
        "influxdb_api_version": 1, "influxdb_image": IMAGE, "influxdb_listen_addresses": ["127.0.0.1"],
        "influxdb_port": port, "influxdb_api_host": "127.0.0.1",
        "influxdb_tls_managed_ca_dir": str(directory / "ca"), "influxdb_tls_managed_ca_allow_unencrypted_key": True,
        "influxdb_tls_san": ["localhost", "127.0.0.1"],
        "influxdb_admin_password": PASSWORDS["admin"],
        "influxdb_clients": [
            {"name": "nodered", "access": "write", "buckets": ["machine_events"], "password": PASSWORDS["nodered"]},
            {"name": "grafana", "access": "read", "buckets": ["machine_events", "machine_events_1h"],
             "password": PASSWORDS["grafana"]}],
    }
    subject = RoleRun(directory, ROLLOUT, variables, PASSWORDS)
    subject.port = port
    subject.directory_base = directory
    yield subject
    remove_compose_project(PROJECT, services=("influxdb",))
    leaked = subject.leaked()
    assert leaked == [], f"secrets {leaked} appeared in a roll-out's output"


def tls_context(role):
    context = ssl.create_default_context(cafile=str(role.directory_base / "ca" / "ca.crt"))
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def request(role, path, params=None, data=None, auth=None, context=None):
    """An HTTPS request to the server under test; returns (status, parsed JSON body or text)."""
    query = dict(params or {})
    if auth:
        query.update(u=auth[0], p=PASSWORDS[auth[0]] if auth[1] is None else auth[1])
    url = f"https://127.0.0.1:{role.port}{path}?{urllib.parse.urlencode(query)}"
    body = data.encode() if isinstance(data, str) else data
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=body, method="POST" if body else "GET"),
                                    context=context or tls_context(role), timeout=20) as answer:
            text = answer.read().decode()
            status = answer.status
    except urllib.error.HTTPError as error:
        text, status = error.read().decode(), error.code
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def influxql(role, statement, user="admin", database="ming"):
    status, body = request(role, "/query", {"q": statement, "db": database},
                           data=urllib.parse.urlencode({"q": statement}), auth=(user, None))
    return status, body


def series(body):
    result = body["results"][0]
    assert "error" not in result, result
    return result.get("series", [])


def test_check_mode_on_a_fresh_host_changes_nothing(role):
    result = role.run(check=True)
    assert result.changed > 0
    assert containers_of(PROJECT) == []
    assert not (role.directory_base / "base" / "influxdb").exists()
    assert not (role.directory_base / "ca" / "ca.key").exists()


def test_the_first_run_starts_a_healthy_server(role):
    result = role.run()
    assert result.changed > 0
    state = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", CONTAINER], capture_output=True,
                           text=True, check=True)
    assert json.loads(state.stdout)["Health"]["Status"] == "healthy"
    recorded = role.run(tags="influxdb_data")
    layer = recorded.task_result("Record the data layer for the other roles (influxdb_data_layer)")
    facts = layer["ansible_facts"]["influxdb_data_layer"]
    assert facts["url"] == f"https://127.0.0.1:{role.port}"
    assert facts["database"] == "ming" and facts["buckets"] == ["machine_events", "machine_events_1h"]
    assert facts["credentials"]["nodered"] == {"kind": "user", "access": "write", "user": "nodered",
                                               "password_variable": "influxdb_clients (nodered).password"}


def test_a_second_run_and_check_mode_change_nothing(role):
    again = role.run()
    assert again.changed == 0, again.changed_tasks()
    checked = role.run(check=True)
    assert checked.changed == 0, checked.changed_tasks()


def test_https_only_with_authentication(role):
    status, body = influxql(role, "SHOW DATABASES")
    assert status == 200 and ["ming"] in series(body)[0]["values"]
    anonymous = request(role, "/query", {"q": "SHOW DATABASES"})
    assert anonymous[0] == 401, anonymous
    wrong = request(role, "/query", {"q": "SHOW DATABASES"}, auth=("admin", "not-the-password"))
    assert wrong[0] == 401, wrong
    old_tls = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    old_tls.load_verify_locations(str(role.directory_base / "ca" / "ca.crt"))
    old_tls.minimum_version = ssl.TLSVersion.TLSv1
    old_tls.maximum_version = ssl.TLSVersion.TLSv1_1
    old_tls.set_ciphers("DEFAULT:@SECLEVEL=0")
    with pytest.raises((ssl.SSLError, urllib.error.URLError, ConnectionError)):
        request(role, "/ping", context=old_tls)
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{role.port}/ping", timeout=10).read()


def test_the_retention_policies_and_the_continuous_query_exist(role):
    status, body = influxql(role, "SHOW RETENTION POLICIES ON ming")
    assert status == 200
    policies = {row[0]: row for row in series(body)[0]["values"]}
    columns = series(body)[0]["columns"]
    duration, default = columns.index("duration"), columns.index("default")
    assert policies["machine_events"][duration] == "720h0m0s" and policies["machine_events"][default] is True
    assert policies["machine_events_1h"][duration] == "17520h0m0s" and policies["machine_events_1h"][default] is False
    status, body = influxql(role, "SHOW CONTINUOUS QUERIES")
    queries = {row[0]: row[1] for entry in series(body) if entry["name"] == "ming" for row in entry.get("values", [])}
    assert list(queries) == ["machine_events_1h"]
    cq = queries["machine_events_1h"]
    assert "INTO ming.machine_events_1h.machine_events FROM ming.machine_events.machine_events" in cq
    assert "GROUP BY time(1h), line, station, event, severity" in cq


def past_hour(hours):
    """The start (epoch seconds) of the hour ``hours`` hours ago: inside the 30-day policy, outside the CQ's reach."""
    return (int(datetime.datetime.now(datetime.UTC).timestamp()) // 3600 - hours) * 3600


def write_points(role, user, lines):
    return request(role, "/write", {"db": "ming", "rp": "machine_events", "precision": "s"}, data="\n".join(lines),
                   auth=(user, None))


def test_the_hourly_rollup_backfills_exact_counts(role):
    hour = past_hour(5)
    tags = "line=line1,station=st10,event=fault,severity=high"
    lines = [
        f'machine_events,{tags} correlation="matched",clip_url="https://nvr/clip/1" {hour + 60}',
        f'machine_events,{tags} correlation="timeout",error="no clip" {hour + 600}',
        f'machine_events,{tags} correlation="matched",clip_url="https://nvr/clip/2" {hour + 1800}',
        f'machine_events,line=line2,station=st20,event=anomaly,severity=low correlation="matched",'
        f'clip_url="https://nvr/clip/3" {hour + 3600 + 5}',
    ]
    status, body = write_points(role, "nodered", lines)
    assert status == 204, body
    # The continuous query's own statement, run over the past window (a CQ only covers its latest interval).
    status, body = influxql(role, "SHOW CONTINUOUS QUERIES")
    cq = next(row[1] for entry in series(body) if entry["name"] == "ming" for row in entry["values"])
    select = re.search(r"BEGIN (SELECT .*) END$", cq).group(1)
    window = f" WHERE time >= {hour}s AND time < {hour + 7200}s GROUP BY "
    status, body = influxql(role, select.replace(" GROUP BY ", window, 1))
    assert status == 200 and series(body)[0]["values"][0][1] == 2, body
    status, body = influxql(role, 'SELECT "events", "clips", "correlation_rate" FROM '
                                  '"ming"."machine_events_1h"."machine_events" GROUP BY *')
    rollup = {(entry["tags"]["line"], entry["tags"]["station"], entry["tags"]["event"], entry["tags"]["severity"]):
              entry["values"] for entry in series(body)}
    first = datetime.datetime.fromtimestamp(hour, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    second = datetime.datetime.fromtimestamp(hour + 3600, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert rollup[("line1", "st10", "fault", "high")] == [[first, 3, 2, pytest.approx(2 / 3)]]
    assert rollup[("line2", "st20", "anomaly", "low")] == [[second, 1, 1, 1.0]]


def test_the_nodered_user_can_write_but_not_read(role):
    hour = past_hour(2)
    status, body = write_points(role, "nodered", [f'machine_events,line=line9,station=st1,event=e,severity=s '
                                                  f'correlation="timeout" {hour}'])
    assert status == 204, body
    status, body = influxql(role, 'SELECT * FROM "machine_events"', user="nodered")
    assert status == 403 or "error" in (body["results"][0] if isinstance(body, dict) and "results" in body
                                        else {"error": body}), body


def test_the_grafana_user_can_read_but_not_write(role):
    status, body = influxql(role, 'SELECT count("correlation") FROM "ming"."machine_events"."machine_events"',
                            user="grafana")
    assert status == 200 and series(body)[0]["values"][0][1] >= 4, body
    hour = past_hour(2)
    status, body = write_points(role, "grafana", [f'machine_events,line=line9,station=st1,event=e,severity=s '
                                                  f'correlation="timeout" {hour}'])
    assert status == 403, body


def test_no_secret_in_any_output(role):
    assert role.leaked() == []
    assert len(role.outputs) >= 5
