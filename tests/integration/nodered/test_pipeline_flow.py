"""The generated correlation flow end to end in real Node-RED 4.1.15 (the lab image ming/nodered:lab).

One module-scoped stack: real Mosquitto (tests/mosquitto_broker.py, plain MQTT on loopback), real InfluxDB 1.6.7
(tests/influxdb_v1_server.py, authentication on), the camera simulator (tools/camera_simulator, not real SEC100s)
and the Frigate API double (tools/frigate_double, not a real Frigate: Frigate cannot run here). Node-RED runs with
``--network host``; the flow is the filter's output deployed over the admin API (POST /flows, API v2) with the
credentials the filter returns: the broker password reaches the broker node only through
``${MING_SECRET_MQTT_PASSWORD}``, set from /config/secrets.json by settings.js as the role does.

Mutations tried (each made a test here fail, then was restored): the filter's broker password reference replaced
by an empty string (no connection: the warm-up fails); dedup off in ming_pipeline.js (a second ack for the late
copy); the dead-letter output of receive unwired; resume() returning nothing and clean session on (the SIGKILL
test loses the journaled events, resp. those published while Node-RED was down).
"""

import json
import sys
import time
import uuid
from pathlib import Path

import pytest
from influxdb_v1_server import ADMIN_AUTH, running_influxdb
from mosquitto_broker import Broker, Listener, free_port, publish_all, require_mosquitto
from nodered_server import SECRETS_PREAMBLE, minimal_settings_js, nodered_container, service_token

from ansible_collections.sensingcam.ming.plugins.filter.nodered_flow import nodered_correlation_flow
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import PasswordFile

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))
sys.path.insert(0, str(REPO / "tools" / "camera_simulator" / "src"))
from frigate_double import FrigateDouble  # noqa: E402
from sensingcam_simulator.testing import running_simulator  # noqa: E402

LIBRARY = REPO / "roles" / "nodered" / "files" / "ming_pipeline.js"
LINES = ("line1", "line2", "line3")
PLC_PASSWORD = "plc-" + uuid.uuid4().hex[:10]
NODERED_MQTT_PASSWORD = "nr-" + uuid.uuid4().hex[:10]
INFLUX_PASSWORD = "nr-influx-" + uuid.uuid4().hex[:10]
FRIGATE_PASSWORD = "frigate-" + uuid.uuid4().hex[:10]


def wait_until(check, timeout, what, stack=None):
    """Bounded poll: the value of check() once truthy; fails naming ``what`` (with Node-RED's log tail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = (
                f"; Node-RED log tail:\n{stack.node_red.logs(400)[-5000:]}\nMQTT seen: {stack.listener.messages[-6:]}"
                if stack is not None
                else ""
            )
            pytest.fail(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(0.2)


class Stack:
    pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_mosquitto()
    base = tmp_path_factory.mktemp("pipeline-flow")
    passwords = PasswordFile("")
    passwords.set_password("plc", PLC_PASSWORD)
    passwords.set_password("nodered", NODERED_MQTT_PASSWORD)
    (base / "passwd").write_text(passwords.render())
    (base / "influx").mkdir()
    cameras = [f"cam-{line}-st10" for line in LINES]
    with (
        Broker(base, base / "passwd") as broker,
        running_influxdb(base / "influx") as influx,
        running_simulator(len(LINES), time_scale=0.01) as sim,
    ):
        quoted = ADMIN_AUTH[1].replace("\\", "\\\\").replace("'", "\\'")
        status, body = influx.query(f"CREATE USER {ADMIN_AUTH[0]} WITH PASSWORD '{quoted}' WITH ALL PRIVILEGES", None)
        assert status == 200, body
        for statement in (
            "CREATE DATABASE ming",
            f"CREATE USER nodered WITH PASSWORD '{INFLUX_PASSWORD}'",
            "GRANT WRITE ON ming TO nodered",
        ):
            status, body = influx.query(statement, ADMIN_AUTH)
            assert status == 200, body
        frigate = FrigateDouble("127.0.0.1", 0, "0.18.0", cameras, 0.2, "ming-nodered", FRIGATE_PASSWORD).start()
        sim_names = sorted(sim.simulator.cameras)
        try:
            pipeline = {
                "version": 1,
                "mqtt": {
                    "broker": {
                        "host": "127.0.0.1",
                        "port": broker.port,
                        "tls": False,
                        "ca_file": None,
                        "client_id": "ming-nodered-test-" + uuid.uuid4().hex[:6],
                        "user": "nodered",
                    },
                    "subscriptions": ["factory/line/+/event"],
                    "qos": 1,
                    "ack_topic": "factory/line/{line}/event/ack",
                    "dead_letter_topic": "factory/dead_letter",
                },
                "events": ["stop", "fault"],
                "stations": [
                    {"line": line, "station": "st10", "camera": camera}
                    for line, camera in zip(LINES, cameras, strict=True)
                ],
                "cameras": {
                    camera: {
                        "url": sim.url(sim_name),
                        "user": sim.camera(sim_name).config.user,
                        "frigate_camera": camera,
                        "validate_certs": True,
                        "ca_file": None,
                        "timeout_s": 5,
                        "retries": 2,
                    }
                    for camera, sim_name in zip(cameras, sim_names, strict=True)
                },
                "frigate": {
                    "url": frigate.url,
                    "user": "ming-nodered",
                    "label": "plc_event",
                    "version": "0.18.0",
                    "duration_s": 1,
                    "pre_capture_s": 1,
                    "public_url": "https://nvr.plant.example:8971",
                    "ca_file": None,
                    "validate_certs": True,
                    "clip_wait_s": 20,
                    "clip_poll_s": 0.2,
                    "clip_settle_s": 0.5,  # the double's recordings lag 0.2 s (Frigate's: one 10 s segment)
                },
                "recording_window_s": 0.5,
                "influxdb": {
                    "api_version": 1,
                    "url": influx.url,
                    "database": "ming",
                    "retention_policy": "",
                    "org": "",
                    "bucket": "",
                    "measurement": "machine_events",
                    "user": "nodered",
                    "ca_file": None,
                },
                "outbox": {"dir": "/data/ming", "batch": 500, "backoff_min_s": 1, "backoff_max_s": 5},
                "dedup": {"ttl_s": 86400},
                "self_test": {"line": "ming-selftest", "station": "ming-selftest", "camera": None},
                "webhook": None,
            }
            secrets = {
                "mqtt_password": NODERED_MQTT_PASSWORD,
                "influxdb_password": INFLUX_PASSWORD,
                "frigate_password": FRIGATE_PASSWORD,
            }
            for camera, sim_name in zip(cameras, sim_names, strict=True):
                secrets[f"camera_password:{camera}"] = sim.camera(sim_name).config.password
            token, token_sha256 = service_token()
            port = free_port()
            settings = minimal_settings_js(
                port,
                token_sha256,
                preamble=SECRETS_PREAMBLE,
                extra='    functionGlobalContext: {ming: require("/config/ming_pipeline.js")},',
            )
            files = {
                "pipeline.json": json.dumps(pipeline),
                "secrets.json": json.dumps(secrets),
                "ming_pipeline.js": LIBRARY.read_text(),
            }
            listener = Listener(broker.port, "nodered", NODERED_MQTT_PASSWORD, topics=("factory/#",))
            with nodered_container(base, settings, files, name_hint="pipeline-flow") as node_red:
                flow = nodered_correlation_flow(pipeline)
                # The drain timer once an hour instead of every second (it still fires once at start): every ack in
                # these tests comes from the drain a record kicks at once (docs/pipeline.md).
                timers = [node for node in flow["flows"] if node.get("name") == "drain every second"]
                assert len(timers) == 1, "the flow's drain timer is named 'drain every second'"
                timers[0]["repeat"] = "3600"
                status, body = node_red.request(
                    "POST",
                    "/flows",
                    token=token,
                    body={"flows": flow["flows"], "credentials": flow["credentials"]},
                    headers={"Node-RED-API-Version": "v2"},
                )
                assert status == 200, body
                result = Stack()
                result.broker, result.influx, result.sim, result.frigate = broker, influx, sim, frigate
                result.node_red, result.listener, result.cameras, result.sim_names = (
                    node_red,
                    listener,
                    cameras,
                    sim_names,
                )
                result.secrets = secrets
                warm_up(result)
                yield result
            listener.close()
        finally:
            frigate.stop()


def warm_up(stack):
    """Deploy returns before the broker node has connected and subscribed (a first persistent session holds
    nothing yet): publish a non-trigger event until one is acknowledged (bounded)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        event_id = "warm-up-" + uuid.uuid4().hex[:8]
        publish(
            stack,
            [
                (
                    "factory/line/line1/event",
                    json.dumps({"event": "start", "station": "st10", "timestamp": int(time.time()), "id": event_id}),
                )
            ],
        )
        poll_end = time.monotonic() + 2
        while time.monotonic() < poll_end:
            if acks_for(stack, event_id):
                return
            time.sleep(0.1)
    pytest.fail(f"Node-RED never acknowledged a warm-up event; log tail:\n{stack.node_red.logs(60)}")


def publish(stack, messages):
    publish_all(stack.broker.port, "plc", PLC_PASSWORD, messages)


def acks_for(stack, event_id):
    found = []
    for topic, payload in list(stack.listener.messages):
        if topic.endswith("/event/ack"):
            body = json.loads(payload)
            if body.get("event_id") == event_id:
                found.append((topic, body))
    return found


def journal_entries(journal):
    """Events in the journal: batch files (.jsonl) hold one event a line (docs/pipeline.md)."""
    return sum(
        len([line for line in path.read_text().splitlines() if line.strip()]) for path in journal.glob("*.jsonl")
    )


def rows(stack, where):
    return stack.influx.rows(f"SELECT * FROM machine_events WHERE {where}", ADMIN_AUTH, database="ming")


def test_three_lines_one_correlated_record_each(stack):
    """PLC events on three lines: the mapped simulator camera is triggered once each, one Frigate event each, one
    record each in InfluxDB 1.6.7 at the PLC timestamp with the tags and clip fields, acked after storage with the
    ack payload of docs/pipeline.md (hops in order). The drain timer runs once an hour here, so the acks prove that a
    record kicks a drain at once. Mutation tried: the outbox node not sending to the drain node (no ack: the
    warm-up fails).
    """
    base_s = int(time.time()) - 60
    events = [
        {
            "event": "stop" if n != 1 else "FAULT",
            "line": line,
            "station": "st10",
            "severity": "high",
            "timestamp": base_s + n,
            "id": f"it-{line}-{uuid.uuid4().hex[:6]}",
        }
        for n, line in enumerate(LINES)
    ]
    publish(stack, [(f"factory/line/{e['line']}/event", json.dumps(e)) for e in events])
    for e in events:
        wait_until(lambda e=e: acks_for(stack, e["id"]), 30, f"the ack of {e['id']}", stack)
    for n, e in enumerate(events):
        found = rows(stack, f"event_id = '{e['id']}'")
        assert len(found) == 1, found
        row = found[0]
        assert row["time"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base_s + n))
        assert (row["line"], row["station"], row["camera"], row["event"], row["severity"]) == (
            e["line"],
            "st10",
            f"cam-{e['line']}-st10",
            e["event"].lower(),
            "high",
        )
        assert row["correlation"] == "matched", row["error"]
        frigate_id = row["frigate_event_id"]
        assert frigate_id in stack.frigate.events
        assert row["clip_url"] == f"https://nvr.plant.example:8971/api/events/{frigate_id}/clip.mp4"
        assert row["snapshot_url"].endswith(f"/api/events/{frigate_id}/snapshot.jpg")
        assert row["camera_clip"].endswith(".mp4")
        assert row["self_test"] is False
        topic, ack = acks_for(stack, e["id"])[0]
        assert topic == f"factory/line/{e['line']}/event/ack"
        assert {key: ack[key] for key in ("event_id", "stored", "correlation", "line", "station", "self_test")} == {
            "event_id": e["id"],
            "stored": True,
            "correlation": "matched",
            "line": e["line"],
            "station": "st10",
            "self_test": False,
        }
        assert ack["frigate_event_id"] == frigate_id
        hops = ack["hops"]
        assert set(hops) >= {"received", "journaled", "frigate_event_created", "clip_ready", "outbox_written", "stored"}
        assert hops["received"] <= hops["journaled"] <= hops["clip_ready"] <= hops["outbox_written"] <= hops["stored"]
    for name in stack.sim_names:
        assert stack.sim.camera(name).counters["events_triggered"] == 1
        assert stack.sim.camera(name).counters["logins_failed"] == 0


def test_malformed_payload_dead_lettered_with_reason(stack):
    """A payload that is not JSON reaches factory/dead_letter with its reason, topic and text."""
    marker = "garbage-" + uuid.uuid4().hex[:8]
    publish(stack, [("factory/line/line2/event", marker)])

    def dead_letter():
        for topic, payload in list(stack.listener.messages):
            if topic == "factory/dead_letter" and marker in payload:
                return json.loads(payload)
        return None

    body = wait_until(dead_letter, 30, "the dead letter", stack)
    assert body["reason"] == "payload is not JSON"
    assert (body["topic"], body["payload"]) == ("factory/line/line2/event", marker)


def test_same_event_twice_one_record(stack):
    """The same PLC event published twice back to back (a QoS 1 redelivery) and once more after its ack (a second
    broker, later) gives one record and one ack. No waiting on the clock: a marker event published after the late
    copy is acked in the same or a later drain than the copy would have been (both are non-trigger events, handled
    in arrival order)."""
    now_s = int(time.time()) - 30
    line = "factory/line/line3/event"
    twice = {
        "event": "start",
        "line": "line3",
        "station": "st10",
        "timestamp": now_s,
        "id": "dup-" + uuid.uuid4().hex[:6],
    }
    marker = {
        "event": "start",
        "line": "line3",
        "station": "st10",
        "timestamp": now_s + 1,
        "id": "next-" + uuid.uuid4().hex[:6],
    }
    publish(stack, [(line, json.dumps(twice))] * 2)
    wait_until(lambda: acks_for(stack, twice["id"]), 30, "the first ack", stack)
    publish(stack, [(line, json.dumps(twice)), (line, json.dumps(marker))])
    wait_until(lambda: acks_for(stack, marker["id"]), 30, "the marker's ack", stack)
    assert len(acks_for(stack, twice["id"])) == 1
    found = rows(stack, f"event_id = '{twice['id']}'")
    assert len(found) == 1
    assert found[0]["correlation"] == "none" and found[0]["camera"] == "cam-line3-st10"


def test_no_secret_in_flow_files(stack):
    """flows.json and flows_cred.json in /data hold no password: the broker credential is the environment
    reference."""
    data = stack.node_red.data_dir
    text = "".join(path.read_text(errors="replace") for path in data.glob("flows*.json"))
    assert text
    for value in stack.secrets.values():
        assert value not in text


def test_nodered_sigkill_mid_stream_zero_lost(stack):
    """Node-RED killed (SIGKILL) mid-stream and started again: zero records lost. Six trigger events are journaled
    and waiting for their clips (the Frigate double's fault clip_never_ready; those that joined a finished recording
    window are already stored) when Node-RED is killed; six more are
    published while it is down and wait in its persistent MQTT session (QoS 1, clean session off). After the
    restart the journal is resumed, every event has exactly one record and at least one ack (an ack may repeat when
    a kill falls between InfluxDB's 204 and the outbox clean-up). Not covered here: a kill between the MQTT node's
    PUBACK and the journal write (docs/pipeline.md)."""
    base_s = int(time.time()) - 120
    events = [
        {
            "event": "fault" if n % 2 else "stop",
            "line": LINES[n % 3],
            "station": "st10",
            "timestamp": base_s + n,
            "id": f"kill-{n}-{uuid.uuid4().hex[:6]}",
        }
        for n in range(12)
    ]
    messages = [(f"factory/line/{e['line']}/event", json.dumps(e)) for e in events]
    journal = stack.node_red.data_dir / "ming" / "journal"
    stack.frigate.set_fault("clip_never_ready")
    try:
        publish(stack, messages[:6])

        # An event for a camera whose recording window (opened by an earlier test) is still open joins that
        # finished capture and is stored at once; the others wait in the journal.
        def accounted():
            acked = sum(1 for e in events[:6] if acks_for(stack, e["id"]))
            return journal_entries(journal) + acked == 6

        wait_until(accounted, 30, "the six events journaled or stored", stack)
        stack.node_red.kill()
        journaled_at_kill = journal_entries(journal)
    finally:
        stack.frigate.clear_faults()
    publish(stack, messages[6:])
    stack.node_red.start()
    for e in events:
        wait_until(lambda e=e: acks_for(stack, e["id"]), 60, f"the ack of {e['id']} after the restart", stack)
    for e in events:
        found = rows(stack, f"event_id = '{e['id']}'")
        assert len(found) == 1, (e["id"], found)
        assert found[0]["correlation"] == "matched", found[0]
    assert journal_entries(journal) == 0
    assert journaled_at_kill >= 1  # the resume path was exercised, not only the persistent session


def test_nodered_sigkill_right_after_publish_zero_lost(stack):
    """Node-RED killed (SIGKILL) the moment the PLC's publishes are acknowledged by the broker, while the messages
    are still on their way through Node-RED: zero records lost. Mutation tried: the receive node's On Start hook
    removed (events lost). Node-RED's MQTT node would send PUBACK before the flow
    runs; the receive node's hook journals each QoS 1 message inside the MQTT client before its PUBACK, so the
    broker redelivers what was not journaled and the journal keeps what was."""
    assert "PUBACK after journal: installed" in stack.node_red.logs(400)
    base_s = int(time.time()) - 200
    events = [
        {
            "event": "start",
            "line": LINES[n % 3],
            "station": "st10",
            "timestamp": base_s + n,
            "id": f"burst-{n}-{uuid.uuid4().hex[:6]}",
        }
        for n in range(30)
    ]
    publish(stack, [(f"factory/line/{e['line']}/event", json.dumps(e)) for e in events])
    stack.node_red.kill()
    stack.node_red.start()
    for e in events:
        wait_until(lambda e=e: rows(stack, f"event_id = '{e['id']}'"), 60, f"the record of {e['id']}", stack)
    for e in events:
        assert len(rows(stack, f"event_id = '{e['id']}'")) == 1, e["id"]
    # Acks are sent after storage; one whose publish was cut by the kill is not repeated (docs/pipeline.md), so
    # the promise checked here is the record, and that no ack is ever sent for an event without one.
    acked = [e for e in events if acks_for(stack, e["id"])]
    assert all(acks_for(stack, e["id"])[0][1]["stored"] is True for e in acked)
