"""Verify the lab's data host as the roll-out left it: the real InfluxDB 1.6.7 (Debian's package in the lab image
ming/influxdb:lab) on the local Docker engine, in the scenario's Compose project, published on 127.0.0.1:18086
(hosts.yml). Every request goes over HTTPS with the lab CA and with the users the influxdb role created; no double.

What these tests would catch (the same mutations were tried on the role in tests/integration/data/test_influxdb_role.py,
not repeated here): authentication off (the anonymous query answers 200), the Node-RED user able to read, the Grafana
user able to write, a plain-HTTP listener (the plain request gets 204 instead of Go's TLS 400), the raw policy not
the DEFAULT one (Node-RED's write without rp= lands elsewhere and Grafana counts nothing).
"""

import base64
import json
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest
from scenario import SECRETS

testinfra_hosts = ["localhost"]
CONTAINER = "ming-molecule-influxdb"
PORT = 18086
LAB_CA = SECRETS / "mosquitto-ca" / "ca.crt"
CONFIG_DIR = "/opt/ming-molecule/influxdb/config"


def password(user):
    return (SECRETS / f"influxdb-{user}").read_text().strip()


def request(path, user=None, params=None, data=None):
    """An HTTPS request with the lab CA; credentials only in the Basic header. Returns (status, body)."""
    url = f"https://127.0.0.1:{PORT}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
    headers = {}
    if user:
        pair = f"{user}:{password(user)}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    body = data.encode() if isinstance(data, str) else data
    req = urllib.request.Request(url, data=body, headers=headers, method="POST" if body is not None else "GET")
    context = ssl.create_default_context(cafile=str(LAB_CA))
    try:
        with urllib.request.urlopen(req, context=context, timeout=20) as answer:  # noqa: S310 (https only)
            status, text = answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text) if text else None
    except ValueError:
        return status, text


def query(statement, user="admin"):
    status, body = request("/query", user, {"db": "ming"}, urllib.parse.urlencode({"q": statement}))
    return status, body


def first_result(body):
    return body["results"][0] if isinstance(body, dict) and body.get("results") else {"error": str(body)}


def test_influxdb_container_is_healthy_non_root_and_on_loopback_only(host):
    state = json.loads(host.check_output(f"docker inspect --format '{{{{json .}}}}' {CONTAINER}"))
    assert state["State"]["Running"] is True and state["State"]["Health"]["Status"] == "healthy"
    assert state["Config"]["User"] not in ("", "0", "root", "0:0")
    assert state["HostConfig"]["CapDrop"] == ["ALL"] and "no-new-privileges:true" in state["HostConfig"]["SecurityOpt"]
    assert host.check_output(f"docker port {CONTAINER} 8086").strip() == f"127.0.0.1:{PORT}"


def test_influxdb_key_is_readable_by_influxdb_only(host):
    keys = [line for line in host.check_output(f"find {CONFIG_DIR} -name '*.key'").split() if line]
    assert keys, f"no private key under {CONFIG_DIR}"
    for key in keys:
        info = host.file(key)
        assert (info.uid, info.mode) == (1000, 0o600), key


def test_influxdb_answers_https_with_the_lab_ca_only():
    assert request("/ping")[0] == 204
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"https://127.0.0.1:{PORT}/ping", context=ssl.create_default_context(), timeout=10)
    with socket.create_connection(("127.0.0.1", PORT), timeout=10) as raw:
        raw.sendall(b"GET /ping HTTP/1.0\r\n\r\n")
        # Go's TLS server answers a plain request with 400 "Client sent an HTTP request to an HTTPS server"; a plain
        # listener would answer the ping with 204.
        assert raw.recv(64).startswith(b"HTTP/1.0 400 Bad Request")


def test_influxdb_refuses_anonymous_queries():
    status, body = query("SHOW DATABASES", user=None)
    assert status == 401, body


def test_the_data_model_exists():
    status, body = query("SHOW RETENTION POLICIES ON ming")
    assert status == 200, body
    rows = {row[0]: row for row in first_result(body)["series"][0]["values"]}
    assert rows["machine_events"][1] == "720h0m0s" and rows["machine_events"][4] is True
    assert rows["machine_events_1h"][1] == "17520h0m0s" and rows["machine_events_1h"][4] is False
    status, body = query("SHOW CONTINUOUS QUERIES")
    names = [row[0] for entry in first_result(body)["series"] if entry["name"] == "ming"
             for row in entry.get("values", [])]
    assert names == ["machine_events_1h"]


def test_nodered_writes_into_the_raw_policy_but_cannot_read():
    line = f'machine_events,line=molecule,station=st1,event=stop,severity=low correlation="timeout" {int(time.time())}'
    status, body = request("/write", "nodered", {"db": "ming", "precision": "s"}, line)
    assert status == 204, body
    status, body = query('SELECT count("correlation") FROM "machine_events" WHERE "line" = \'molecule\'', "nodered")
    assert "authoriz" in str(first_result(body).get("error", "")) or status in (401, 403), body
    status, body = query('SELECT count("correlation") FROM "ming"."machine_events"."machine_events" '
                         "WHERE \"line\" = 'molecule'", "grafana")
    assert status == 200 and first_result(body)["series"][0]["values"][0][1] >= 1, body


def test_grafana_reads_but_cannot_write():
    line = f'machine_events,line=molecule,station=st2,event=stop,severity=low correlation="timeout" {int(time.time())}'
    status, body = request("/write", "grafana", {"db": "ming", "precision": "s"}, line)
    assert status == 403, body
