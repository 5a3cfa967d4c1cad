# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The self-test of playbooks/verify.yml, run on the controller with the Python that runs Ansible (paho-mqtt).

Reads its settings as one JSON object on stdin (they hold the MQTT password and the InfluxDB reader's credential,
which therefore never appear in argv or the environment), publishes ONE synthetic PLC event on the reserved
self-test line and station over TLS (QoS 1), waits (bounded) for its acknowledgement on the ack topic, then reads
its record from InfluxDB. Prints one JSON object on stdout (no secret in it) and exits 0 when every hop worked,
1 when one broke (``failed_hop`` names it), 2 when the settings are wrong.

Hops reported (latencies in ms from the ack's ``hops`` epoch-ms stamps, written by ming_pipeline.js; the first
one, broker, compares the controller's clock with Node-RED's host's): broker (publish -> received), journal,
camera trigger, Frigate, clip, outbox, database (outbox -> stored), ack (stored -> ack seen here).
"""

import base64
import json
import ssl
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, UTC

try:
    import paho.mqtt.client as mqtt
except ImportError:  # pragma: no cover - the message is the fix
    print(json.dumps({"ok": False, "failed_hop": "controller",
                      "message": f"paho-mqtt is missing in the Python that runs Ansible ({sys.executable}): "
                                 "pip install paho-mqtt (scripts/bootstrap-venv.sh installs it into .venv)"}))
    sys.exit(2)

# (hop name, stamp it ends at, stamps it may start from: the first one present)
HOPS = (
    ("broker", "received", ("published",)),
    ("journal", "journaled", ("received",)),
    ("camera trigger", "camera_triggered", ("journaled",)),
    ("Frigate", "frigate_event_created", ("journaled",)),
    ("clip", "clip_ready", ("frigate_event_created",)),
    ("outbox", "outbox_written", ("clip_ready", "frigate_event_created", "camera_triggered", "journaled")),
    ("database", "stored", ("outbox_written",)),
    ("ack", "ack_seen", ("stored",)),
)


def hop_table(stamps):
    """[{hop, latency_ms}] for each hop whose end stamp is known (latency None when its start is unknown)."""
    rows = []
    for name, end, starts in HOPS:
        if stamps.get(end) is None:
            continue
        start = next((stamps[key] for key in starts if stamps.get(key) is not None), None)
        rows.append({"hop": name, "latency_ms": None if start is None else int(round(stamps[end] - start))})
    return rows


def ssl_context(ca_file):
    context = ssl.create_default_context(cafile=ca_file or None)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


class Exchange:
    """One MQTT session: subscribe to the ack topic, publish the event, collect the ack."""

    def __init__(self, settings):
        self.settings = settings
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.published = threading.Event()
        self.ack_event = threading.Event()
        self.connect_error = None
        self.ack = None
        self.ack_seen = None
        self.event_id = None

    def on_connect(self, client, userdata, flags, reason_code, properties=None):
        if reason_code != 0:
            self.connect_error = (f"the broker refused the connection: {reason_code} (the client must be in the "
                                  "broker's mosquitto_clients with this password: add it and run site.yml)")
            self.connected.set()
            return
        client.subscribe(self.settings["ack_topic"], qos=1)
        self.connected.set()

    def on_subscribe(self, client, userdata, mid, reason_codes, properties=None):
        codes = reason_codes if isinstance(reason_codes, (list, tuple)) else [reason_codes]
        if any(int(getattr(code, "value", code)) >= 0x80 for code in codes):
            self.connect_error = ("the broker refused the subscription to {} (the client's ACL must allow reading "
                                  "it: a plc client of the self-test line)".format(self.settings["ack_topic"]))
        self.subscribed.set()

    def on_publish(self, client, userdata, mid, reason_code=None, properties=None):
        self.published.set()

    def on_message(self, client, userdata, message):
        try:
            payload = json.loads(message.payload.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return
        if isinstance(payload, dict) and payload.get("event_id") == self.event_id:
            self.ack = payload
            self.ack_seen = time.time() * 1000
            self.ack_event.set()


def run_mqtt(settings, event, deadline):
    """Publish ``event`` and wait for its ack until ``deadline``; returns (exchange, published_ms, error, hop)."""
    broker = settings["mqtt"]
    exchange = Exchange({"ack_topic": broker["ack_topic"]})
    exchange.event_id = event["event_id"]
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=broker["client_id"], clean_session=True)
    client.username_pw_set(broker["user"], broker["password"])
    client.tls_set_context(ssl_context(broker.get("ca_file")))
    client.on_connect = exchange.on_connect
    client.on_subscribe = exchange.on_subscribe
    client.on_publish = exchange.on_publish
    client.on_message = exchange.on_message
    where = "{}:{}".format(broker["host"], broker["port"])
    try:
        client.connect(broker["host"], int(broker["port"]), keepalive=30)
    except (OSError, ssl.SSLError) as error:
        return exchange, None, f"could not connect to the broker at {where} over TLS: {error}", "broker"
    client.loop_start()
    try:
        step = min(30.0, max(1.0, deadline - time.time()))
        if not exchange.connected.wait(step) or exchange.connect_error:
            return exchange, None, (exchange.connect_error
                                    or f"no CONNACK from the broker at {where} within {step:.0f} s"), "broker"
        if not exchange.subscribed.wait(step) or exchange.connect_error:
            return exchange, None, exchange.connect_error or "no SUBACK for {}".format(broker["ack_topic"]), "broker"
        published = time.time() * 1000
        info = client.publish(broker["topic"], json.dumps(event), qos=1)
        if info.rc != 0 or not exchange.published.wait(step):
            return exchange, published, (f"the broker did not acknowledge (PUBACK) the event on {broker['topic']} "
                                         f"as {broker['user']} (rc {info.rc}): its ACL must let the client write "
                                         "the self-test line"), "broker"
        exchange.ack_event.wait(max(0.0, deadline - time.time()))
        return exchange, published, None, None
    finally:
        client.loop_stop()
        client.disconnect()


def query_record(influx, event_id, timeout):
    """The record of ``event_id`` as a dict of column -> value, None when there is none; raises OSError/ValueError."""
    context = ssl_context(influx.get("ca_file")) if influx["url"].startswith("https") else None
    escaped = event_id.replace("\\", "\\\\").replace("'", "\\'")
    if int(influx["api_version"]) == 2:
        quoted_id = event_id.replace('"', '\\"')
        flux = (f'from(bucket: "{influx["bucket"]}") |> range(start: -30d) '
                f'|> filter(fn: (r) => r._measurement == "{influx["measurement"]}") '
                '|> pivot(rowKey: ["_time"], columnKey: ["_field"], valueColumn: "_value") '
                f'|> filter(fn: (r) => r.event_id == "{quoted_id}")')
        request = urllib.request.Request(  # noqa: S310 - the URL is the inventory's http(s) InfluxDB URL
            influx["url"].rstrip("/") + "/api/v2/query?" + urllib.parse.urlencode({"org": influx["org"]}),
            data=json.dumps({"query": flux, "type": "flux"}).encode(),
            headers={"Authorization": "Token " + influx["token"], "Content-Type": "application/json",
                     "Accept": "application/csv"})
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
            lines = [line for line in response.read().decode().splitlines() if line.strip()]
        if len(lines) < 2:
            return None
        header = lines[0].split(",")
        return dict(zip(header, lines[1].split(","), strict=False))
    measurement = influx["measurement"]
    if influx.get("retention_policy"):
        measurement = '"{}"."{}"'.format(influx["retention_policy"], measurement)
    else:
        measurement = f'"{measurement}"'
    # InfluxQL has no bind parameters for 1.6; the id is ours (hex) and quoted with its escapes anyway.
    query = f"SELECT * FROM {measurement} WHERE \"event_id\" = '{escaped}'"  # noqa: S608
    request = urllib.request.Request(  # noqa: S310 - the URL is the inventory's http(s) InfluxDB URL
        influx["url"].rstrip("/") + "/query?" + urllib.parse.urlencode({"db": influx["database"], "q": query,
                                                                         "epoch": "ns"}),
        headers={"Authorization": "Basic " + base64.b64encode(
            ("{}:{}".format(influx["user"], influx["password"])).encode()).decode()})
    with urllib.request.urlopen(request, timeout=timeout, context=context) as response:  # noqa: S310
        answer = json.loads(response.read().decode())
    result = (answer.get("results") or [{}])[0]
    if result.get("error"):
        raise ValueError(result["error"])
    series = result.get("series") or []
    if not series:
        return None
    return dict(zip(series[0]["columns"], series[0]["values"][0], strict=False))


def read_record(influx, event_id, wait_s, poll_s=1.0):
    """Bounded poll for the record; returns (record, error text)."""
    deadline = time.time() + wait_s
    while True:
        try:
            record = query_record(influx, event_id, timeout=min(10.0, max(1.0, wait_s)))
        except urllib.error.HTTPError as error:
            who = influx.get("user") or "the token"
            return None, f"InfluxDB at {influx['url']} answered HTTP {error.code} to the query as {who}"
        except (OSError, ValueError, ssl.SSLError) as error:
            return None, f"could not query InfluxDB at {influx['url']}: {error}"
        if record is not None or time.time() >= deadline:
            return record, None
        time.sleep(poll_s)


def check_record(record, settings):
    """What is wrong with the stored record, or None."""
    expected = {"line": settings["line"], "station": settings["station"]}
    problems = [f"{key} is {record.get(key)!r}, not {value!r}"
                for key, value in expected.items() if record.get(key) != value]
    if str(record.get("self_test")).lower() != "true":
        problems.append("self_test is {!r}, not true (dashboards would count it)".format(record.get("self_test")))
    return "; ".join(problems) or None


def correlation_problem(correlation, camera, record, ack_has_hops=True):
    """(hop, text) when the correlation outcome shows a broken hop, else None. An ack without ``hops`` comes from a
    pipeline library older than the self-test camera: its self-test never triggers a camera, which is no fault."""
    error = (record or {}).get("error") or ""
    if correlation == "trigger_failed":
        hop = "Frigate" if "frigate" in error.lower() and "camera" not in error.lower() else "camera trigger"
        return hop, f"the self-test camera {camera} or Frigate failed (correlation trigger_failed): {error}"
    if correlation == "timeout":
        return "clip", ("Frigate never had the clip ready within the clip wait (correlation timeout) for camera "
                        f"{camera}")
    if camera and correlation == "none" and not ack_has_hops:
        return None
    if camera and correlation != "matched":
        return "camera trigger", (f"the self-test camera {camera} is set but the event was not correlated (correlation "
                                  f"{correlation!r}): the deployed pipeline has no self-test camera; re-run site.yml")
    if not camera and correlation != "none":
        return "camera trigger", f"correlation {correlation!r}, expected none without a self-test camera"
    return None


def main():
    try:
        settings = json.load(sys.stdin)
        for key in ("mqtt", "influxdb", "line", "station", "event", "timeout_s"):
            settings[key]  # noqa: B018 - presence check
    except (ValueError, KeyError) as error:
        print(json.dumps({"ok": False, "failed_hop": "settings", "message": f"bad settings on stdin: {error}"}))
        return 2
    camera = settings.get("camera") or ""
    now = datetime.now(UTC)
    event = {"event_id": f"ming-selftest-{uuid.uuid4().hex}", "event": settings["event"],
             "line": settings["line"], "station": settings["station"], "severity": "info",
             "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"}
    result = {"ok": False, "event_id": event["event_id"], "line": settings["line"],
              "station": settings["station"], "camera": camera or None, "topic": settings["mqtt"]["topic"],
              "ack_topic": settings["mqtt"]["ack_topic"], "hops": [], "ack": None, "record": None}
    deadline = time.time() + float(settings["timeout_s"])
    exchange, published, error, hop = run_mqtt(settings, event, deadline)
    if error:
        result.update(failed_hop=hop, message=error)
        print(json.dumps(result))
        return 1
    record_wait = float(settings.get("record_wait_s", 10))
    if exchange.ack is None:
        record, query_error = read_record(settings["influxdb"], event["event_id"], 0)
        result["record"] = record
        if query_error:
            reached = f"unknown ({query_error})"
            failed = "broker/Node-RED or database"
        elif record is not None:
            reached = ("the record is in InfluxDB, so broker, Node-RED, outbox and database worked; the ack on "
                       f"{settings['mqtt']['ack_topic']} did not arrive (Node-RED's publish of the ack or the "
                       "self-test client's read ACL)")
            failed = "ack"
        else:
            reached = ("no record in InfluxDB either: the event did not get through the broker to Node-RED, or "
                       "Node-RED could not store it (is Node-RED running and connected? its log: docker logs "
                       "<project>-nodered; an InfluxDB outage keeps it in the outbox until the database is back)")
            failed = "broker/Node-RED"
        result.update(failed_hop=failed,
                      message=f"no ack for event {event['event_id']} within {settings['timeout_s']} s. {reached}")
        print(json.dumps(result))
        return 1
    ack = exchange.ack
    result["ack"] = ack
    stamps = dict(ack.get("hops") or {})
    stamps["published"] = published
    stamps["ack_seen"] = exchange.ack_seen
    result["hops"] = hop_table(stamps)
    result["hop_lines"] = [
        f"  {row['hop']:<15} " + ("reached" if row["latency_ms"] is None else f"{row['latency_ms']} ms")
        for row in result["hops"]]
    result["total_ms"] = int(round(exchange.ack_seen - published))
    record, query_error = read_record(settings["influxdb"], event["event_id"], record_wait)
    result["record"] = record
    if query_error:
        result.update(failed_hop="database",
                      message=f"the ack came, but the record could not be read back: {query_error}")
    elif record is None:
        result.update(failed_hop="database", message="the ack came, but InfluxDB has no record with event_id {} "
                      "after {} s".format(event["event_id"], record_wait))
    elif check_record(record, settings):
        result.update(failed_hop="database", message=f"the stored record is wrong: {check_record(record, settings)}")
    else:
        problem = correlation_problem(ack.get("correlation"), camera, record, "hops" in ack)
        if problem:
            result.update(failed_hop=problem[0], message=problem[1])
        else:
            untested = (" - the deployed pipeline library does not trigger the self-test camera yet (no hops in "
                        "its ack): camera and Frigate were not tested") if camera and "hops" not in ack else ""
            result.update(ok=True, failed_hop=None,
                          message=f"every hop worked (correlation {ack.get('correlation')}){untested}")
    print(json.dumps(result))
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
