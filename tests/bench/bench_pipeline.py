"""Benchmark: the anomaly-to-clip pipeline in real Node-RED, beside the raw Mosquitto rate measured in the same run.

    .venv/bin/python tests/bench/bench_pipeline.py        (also run by scripts/run-tests.sh bench)

The stack, all on loopback: real Mosquitto 2.0.11 (Debian's binary, plain MQTT, ``max_queued_messages`` as the
mosquitto role's default), real InfluxDB 1.6.7 (Debian's influxd, authentication on), real Node-RED 4.1.15 (the lab
image ming/nodered:lab, ``--network host``) running the flow that ``nodered_correlation_flow`` generates, deployed
over the admin API, with roles/nodered/files/ming_pipeline.js as the library. The cameras are the camera simulator
(tools/camera_simulator, not real SEC100s) and Frigate is the Frigate API double (tools/frigate_double, not a real
Frigate) with clip delay 0. Every message is MQTT QoS 1 and of the same size (the PLC event JSON).

Phases, in this order (each one's duration is printed):
  0. setup: broker, influxd, simulator, Frigate double, Node-RED container, deploy, a warm-up event acknowledged;
  1. raw Mosquitto: RAW_EVENTS messages of the burst's payload size published by the same publisher as in 4 (paho,
     PUBLISHER_INFLIGHT in flight) to a topic Node-RED does not read, received by ``mosquitto_sub -q 1`` (the C
     client, so the subscriber is not the limit): the natural alternative, what the broker alone moves;
  2. steady: STEADY_EVENTS non-trigger events (``start``) at STEADY_RATE/s; latency from the PLC publish to the
     record stored: ``hops.stored`` of the ack when the ack has it (then every hop of ``hops`` is printed too),
     otherwise the ack's arrival (an upper bound). This is the pipeline's own overhead: receive, journal, outbox,
     drain to InfluxDB, ack;
  3. triggered: PROBE_EVENTS trigger events (``stop``), one at a time, each on a camera of its own (a new recording
     window each): camera trigger, Frigate event, clip wait (the clip counts as ready ``clip_settle_s`` after the
     event's end). Printed as latency minus the configured Frigate event duration (``frigate.duration_s``), and
     beyond duration plus settle time: the pipeline's own overhead on a triggered event;
  4. burst: BURST_EVENTS trigger events (``stop``/``fault``) spread over BURST_CAMERAS cameras, published as fast
     as the publisher can; the recording window is longer than the bench, so each camera is triggered once and
     every other event joins its recording (one trigger per window). Drain time from the first publish to the
     last ack, events/s and the ratio to the raw rate of phase 1.
Zero loss is checked, not timed: every event of phases 2 to 4 must have its ack and exactly one record in
InfluxDB (counted there, by PLC timestamp range). The targets (>= 1,000 events/s with zero loss; p99 < 100 ms on 2
cores) are printed beside the measured figures, never asserted. The broker runs with the mosquitto role's default
``mosquitto_max_queued_messages``: a QoS 1 message beyond that many queued for Node-RED is dropped by Mosquitto,
which the bench reports as lost (with the broker's log line). ``MING_BENCH_MAX_QUEUED`` (0 = no limit) overrides it
to measure the pipeline alone; ``MING_BENCH_RAW_EVENTS``, ``MING_BENCH_BURST_EVENTS`` and ``MING_BENCH_STEADY_EVENTS``
shrink the counts for a quick look.

Bounded: fixed counts and a bounded wait per phase (under 120 s in all on 2 cores). Exits non-zero when an event is
lost (no ack, no record, a duplicate record, a dead letter), when a phase does not finish within its bound, or when
a prerequisite is missing (with the install hint). Every process and container started here is stopped, also on
failure, Ctrl-C or SIGTERM.

Mutations tried (each made the bench exit non-zero, then was restored): the InfluxDB count over a range one
event short (``last_ms - 1``: "InfluxDB holds ... records"); the wait for the burst's acks removed ("events have no
ack"); the role's default max_queued_messages (1000) against a 10,000 burst is the natural one: Mosquitto drops
what Node-RED has not taken, the bench names the loss.
"""

import contextlib
import datetime
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
for extra_path in (REPO / "tests", REPO / ".collections", REPO / "tools", REPO / "tools" / "camera_simulator" / "src"):
    sys.path.insert(0, str(extra_path))

import pytest  # noqa: E402  (nodered_server and influxdb_v1_server report a missing prerequisite with pytest.fail)
from influxdb_v1_server import ADMIN_AUTH, INSTALL_HINT, require_influxd, running_influxdb  # noqa: E402
from mosquitto_broker import MOSQUITTO_SUB, Broker, free_port, mosquitto_available  # noqa: E402
from nodered_server import minimal_settings_js, nodered_container, service_token  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.filter.nodered_flow import nodered_correlation_flow  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import PasswordFile  # noqa: E402

RAW_EVENTS = int(os.environ.get("MING_BENCH_RAW_EVENTS", "10000"))
BURST_EVENTS = int(os.environ.get("MING_BENCH_BURST_EVENTS", "10000"))
BURST_CAMERAS = 10  # 5 lines x 2 stations
STEADY_EVENTS = int(os.environ.get("MING_BENCH_STEADY_EVENTS", "1000"))
STEADY_RATE = 100.0
PROBE_EVENTS = 3
PUBLISHER_INFLIGHT = 100
DURATION_S = 1  # Frigate manual event duration (the smallest Frigate accepts as a whole second)
PRE_CAPTURE_S = 1
CLIP_SETTLE_S = 0.5  # a clip is ready this long after the Frigate event ended (the double's recordings lag 0)
RAW_WAIT_S = 20
STEADY_WAIT_S = 15  # after the last publish
PROBE_WAIT_S = 15  # each
BURST_WAIT_S = 75
TARGET_RATE = 1_000.0
TARGET_P99_MS = 100.0
LIBRARY = REPO / "roles" / "nodered" / "files" / "ming_pipeline.js"
PLC_PASSWORD = "plc-" + uuid.uuid4().hex[:12]
NODERED_MQTT_PASSWORD = "nr-" + uuid.uuid4().hex[:12]
INFLUX_PASSWORD = "nr-influx-" + uuid.uuid4().hex[:12]
FRIGATE_PASSWORD = "frigate-" + uuid.uuid4().hex[:12]
SECRETS_PREAMBLE = """const benchSecrets = JSON.parse(require("fs").readFileSync("/config/secrets.json", "utf8"));
for (const [key, value] of Object.entries(benchSecrets)) {
    process.env["MING_SECRET_" + key.toUpperCase().replace(/[^A-Z0-9]/g, "_")] = value;
}"""
DOCKER_HINT = "Docker: run scripts/docker-engine.sh (starts the engine); the image: scripts/build-lab-images.sh nodered"
MOSQUITTO_HINT = "Mosquitto 2 binaries: run scripts/install-test-deps.sh runtime"


class BenchError(Exception):
    """A wrong result or a phase that did not finish within its bound."""


def role_default(role, variable):
    return yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text())[variable]


def percentile(samples, fraction):
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(fraction * len(ordered) + 0.5)) - 1))]


def epoch_seconds(value):
    """A hop timestamp (epoch number in s, ms, us or ns, or ISO 8601 text) in seconds; None when unreadable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        for limit, scale in ((1e11, 1.0), (1e14, 1e3), (1e17, 1e6)):
            if value < limit:
                return value / scale
        return value / 1e9
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            return datetime.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    return None


def mqtt_client(username, password, client_id=None, clean_session=True):
    import paho.mqtt.client as mqtt

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"bench-{uuid.uuid4().hex[:10]}",
                         protocol=mqtt.MQTTv311, clean_session=clean_session)
    client.username_pw_set(username, password)
    return client


class Receiver:
    """A QoS 1 subscriber that keeps (arrival time, topic, payload) of every delivery."""

    def __init__(self, port, username, password, topics):
        self.arrivals = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt_client(username, password)
        self.client.on_connect = lambda client, *args: client.subscribe([(topic, 1) for topic in topics])
        self.client.on_subscribe = lambda *args: self._ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._ready.wait(10):
            self.close()
            raise BenchError(f"the subscriber of {topics} could not connect and subscribe")

    def _on_message(self, _client, _userdata, message):
        arrived = time.time()
        with self._lock:
            self.arrivals.append((arrived, message.topic, message.payload))

    def snapshot(self):
        with self._lock:
            return list(self.arrivals)

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


class Publisher:
    """The PLC: one paho connection publishing at QoS 1 with PUBLISHER_INFLIGHT messages in flight."""

    def __init__(self, port):
        self._connected = threading.Event()
        self.client = mqtt_client("plc", PLC_PASSWORD)
        self.client.max_inflight_messages_set(PUBLISHER_INFLIGHT)
        self.client.on_connect = lambda *args: self._connected.set()
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()
        if not self._connected.wait(10):
            self.close()
            raise BenchError("the PLC publisher could not connect")

    def publish(self, topic, payload):
        return self.client.publish(topic, payload, qos=1)

    def publish_all(self, messages, timeout):
        """Publish every (topic, payload) and wait (bounded) for every PUBACK; the seconds the publishing took."""
        started = time.time()
        infos = [self.publish(topic, payload) for topic, payload in messages]
        deadline = time.monotonic() + timeout
        for info in infos:
            info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            if not info.is_published():
                raise BenchError(f"the broker did not acknowledge every publish within {timeout} s")
        return time.time() - started

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def wait_for(check, timeout, what, node_red=None):
    """Bounded poll until check() is true."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = f"\nNode-RED log tail:\n{node_red.logs(40)}" if node_red is not None else ""
            raise BenchError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}{tail}")
        time.sleep(0.05)


class Bench:
    def __init__(self, workdir):
        self.workdir = Path(workdir)
        self.lines = [f"line{n}" for n in range(1, BURST_CAMERAS // 2 + 1)]
        self.burst_stations = [(line, station) for line in self.lines for station in ("st10", "st20")]
        self.probe_stations = [("probe", f"p{n}") for n in range(1, PROBE_EVENTS + 1)]
        self.phase_seconds = {}
        self.acks = {}  # event_id -> [(arrival, ack body), ...]
        self.acks_read = 0
        self.dead_letters = []
        self.role_max_queued = int(role_default("mosquitto", "mosquitto_max_queued_messages"))
        self.max_queued = int(os.environ.get("MING_BENCH_MAX_QUEUED", self.role_max_queued))

    @staticmethod
    def camera_of(line, station):
        return f"cam-{line}-{station}"

    # -- stack -------------------------------------------------------------------------------------------------
    def pipeline(self, broker, influx, sim, frigate):
        stations = self.burst_stations + self.probe_stations
        sim_names = sorted(sim.simulator.cameras)
        cameras = {}
        for (line, station), sim_name in zip(stations, sim_names, strict=True):
            cameras[self.camera_of(line, station)] = {
                "url": sim.url(sim_name), "user": sim.camera(sim_name).config.user,
                "frigate_camera": self.camera_of(line, station), "validate_certs": True, "ca_file": None,
                "timeout_s": 5, "retries": 2,
            }
        self.sim_names = dict(zip((self.camera_of(*pair) for pair in stations), sim_names, strict=True))
        return {
            "version": 1,
            "mqtt": {
                "broker": {"host": "127.0.0.1", "port": broker.port, "tls": False, "ca_file": None,
                           "client_id": "ming-nodered-bench-" + uuid.uuid4().hex[:6], "user": "nodered"},
                "subscriptions": ["factory/line/+/event"], "qos": 1,
                "ack_topic": "factory/line/{line}/event/ack", "dead_letter_topic": "factory/dead-letter/nodered",
            },
            "events": ["stop", "fault"],
            "stations": [{"line": line, "station": station, "camera": self.camera_of(line, station)}
                         for line, station in stations],
            "cameras": cameras,
            "frigate": {"url": frigate.url, "user": "ming-nodered", "label": "plc_event", "version": "0.18.0",
                        "duration_s": DURATION_S, "pre_capture_s": PRE_CAPTURE_S,
                        "public_url": "https://nvr.plant.example:8971", "ca_file": None, "validate_certs": True,
                        "clip_wait_s": 20, "clip_poll_s": 0.2, "clip_settle_s": CLIP_SETTLE_S},
            # Longer than the whole bench: every burst event for a camera joins that camera's one recording.
            "recording_window_s": 600,
            "influxdb": {"api_version": 1, "url": influx.url, "database": "ming", "retention_policy": "",
                         "org": "", "bucket": "", "measurement": "machine_events", "user": "nodered",
                         "ca_file": None},
            "outbox": {"dir": "/data/ming", "batch": 500, "backoff_min_s": 1, "backoff_max_s": 5},
            "dedup": {"ttl_s": 86400},
            "self_test": {"line": "ming-selftest", "station": "ming-selftest", "camera": None},
            "webhook": None,
        }

    def prepare_influx(self, influx):
        quoted = ADMIN_AUTH[1].replace("\\", "\\\\").replace("'", "\\'")
        statements = [(f"CREATE USER {ADMIN_AUTH[0]} WITH PASSWORD '{quoted}' WITH ALL PRIVILEGES", None)]
        statements += [(text, ADMIN_AUTH) for text in (
            "CREATE DATABASE ming", f"CREATE USER nodered WITH PASSWORD '{INFLUX_PASSWORD}'",
            "GRANT WRITE ON ming TO nodered")]
        for statement, auth in statements:
            status, body = influx.query(statement, auth)
            if status != 200:
                raise BenchError(f"InfluxDB refused {statement.split(' WITH')[0]!r}: HTTP {status} {body}")

    def run(self):
        started = time.monotonic()
        passwords = PasswordFile("")
        passwords.set_password("plc", PLC_PASSWORD)
        passwords.set_password("nodered", NODERED_MQTT_PASSWORD)
        (self.workdir / "passwd").write_text(passwords.render())
        (self.workdir / "influx").mkdir()
        from frigate_double import FrigateDouble
        from sensingcam_simulator.testing import running_simulator

        cameras = [self.camera_of(*pair) for pair in self.burst_stations + self.probe_stations]
        with contextlib.ExitStack() as stack:
            broker = stack.enter_context(Broker(self.workdir, self.workdir / "passwd",
                                                listener_lines=[f"max_queued_messages {self.max_queued}"]))
            influx = stack.enter_context(running_influxdb(self.workdir / "influx"))
            self.prepare_influx(influx)
            sim = stack.enter_context(running_simulator(len(cameras), time_scale=0.01))
            frigate = FrigateDouble("127.0.0.1", 0, "0.18.0", cameras, 0.0, "ming-nodered", FRIGATE_PASSWORD).start()
            stack.callback(frigate.stop)
            pipeline = self.pipeline(broker, influx, sim, frigate)
            secrets = {"mqtt_password": NODERED_MQTT_PASSWORD, "influxdb_password": INFLUX_PASSWORD,
                       "frigate_password": FRIGATE_PASSWORD}
            for camera, sim_name in self.sim_names.items():
                secrets[f"camera_password:{camera}"] = sim.camera(sim_name).config.password
            token, token_sha256 = service_token()
            settings = minimal_settings_js(
                free_port(), token_sha256, preamble=SECRETS_PREAMBLE,
                extra='    functionGlobalContext: {ming: require("/config/ming_pipeline.js")},')
            files = {"pipeline.json": json.dumps(pipeline), "secrets.json": json.dumps(secrets),
                     "ming_pipeline.js": LIBRARY.read_text()}
            node_red = stack.enter_context(nodered_container(self.workdir, settings, files, name_hint="bench-pipeline"))
            flow = nodered_correlation_flow(pipeline)
            status, body = node_red.request("POST", "/flows", token=token,
                                            body={"flows": flow["flows"], "credentials": flow["credentials"]},
                                            headers={"Node-RED-API-Version": "v2"})
            if status != 200:
                raise BenchError(f"deploying the flow answered HTTP {status}: {body}")
            acks = Receiver(broker.port, "nodered", NODERED_MQTT_PASSWORD, ["factory/line/+/event/ack",
                                                                            "factory/dead-letter/#"])
            stack.callback(acks.close)
            publisher = Publisher(broker.port)
            stack.callback(publisher.close)
            self.node_red, self.influx, self.frigate, self.sim, self.ack_receiver = node_red, influx, frigate, sim, acks
            self.broker = broker
            self.warm_up(publisher)
            self.phase_seconds["0 setup"] = time.monotonic() - started
            raw_rate = self.phase("1 raw Mosquitto", self.raw_mosquitto, broker, publisher)
            steady = self.phase("2 steady", self.steady, publisher)
            probes = self.phase("3 triggered", self.triggered, publisher)
            burst = self.phase("4 burst", self.burst, publisher)
        self.report(raw_rate, steady, probes, burst)
        return 0

    def phase(self, name, function, *args):
        started = time.monotonic()
        try:
            return function(*args)
        finally:
            self.phase_seconds[name] = time.monotonic() - started

    # -- events and acks -----------------------------------------------------------------------------------------
    @staticmethod
    def event(kind, line, station, timestamp_ms, event_id):
        payload = {"event": kind, "line": line, "station": station, "severity": "high", "timestamp": timestamp_ms,
                   "id": event_id}
        return f"factory/line/{line}/event", json.dumps(payload, separators=(",", ":"))

    def collect_acks(self):
        arrivals = self.ack_receiver.snapshot()
        for arrived, topic, payload in arrivals[self.acks_read:]:
            if not topic.endswith("/event/ack"):
                self.dead_letters.append(payload.decode("utf-8", "replace"))
                continue
            body = json.loads(payload)
            self.acks.setdefault(body.get("event_id"), []).append((arrived, body))
        self.acks_read = len(arrivals)

    def acked(self, ids):
        self.collect_acks()
        return sum(1 for event_id in ids if event_id in self.acks)

    def warm_up(self, publisher):
        """Deploy returns before the broker node has subscribed: publish non-trigger events until one is acked."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            event_id = "warm-up-" + uuid.uuid4().hex[:8]
            publisher.publish(*self.event("start", "line1", "st10", int(time.time() * 1000) - 5000, event_id))
            poll_end = time.monotonic() + 2
            while time.monotonic() < poll_end:
                if self.acked([event_id]):
                    return
                time.sleep(0.05)
        raise BenchError(f"Node-RED never acknowledged a warm-up event; log tail:\n{self.node_red.logs(60)}")

    def stored_at(self, event_id):
        """(seconds since the epoch the record was stored, source): hops.stored of the first ack, else its arrival."""
        arrived, body = self.acks[event_id][0]
        hops = body.get("hops")
        if isinstance(hops, dict) and epoch_seconds(hops.get("stored")) is not None:
            return epoch_seconds(hops["stored"]), "hops.stored"
        return arrived, "ack arrival"

    def records(self, first_ms, last_ms):
        """Rows in InfluxDB with a PLC timestamp in [first_ms, last_ms]: (count, distinct event ids)."""
        rows = self.influx.rows(f"SELECT event_id, correlation FROM machine_events WHERE time >= {first_ms}ms AND "
                                f"time <= {last_ms}ms", ADMIN_AUTH, database="ming")
        return len(rows), {row["event_id"] for row in rows}

    def pipeline_files(self, name):
        """Names in the pipeline's directory ``name`` (journal, outbox, ...) under Node-RED's /data."""
        directory = self.node_red.data_dir / "ming" / name
        return os.listdir(directory) if directory.is_dir() else []

    def broker_drops(self):
        """Mosquitto's log lines saying it dropped messages for a client (its queue was over max_queued_messages)."""
        return [line for line in self.broker.log().splitlines() if "being dropped" in line]

    def progress(self, ids, first_ms):
        """Where the events of a phase are: acks, records, dead letters, files in the pipeline's directories."""
        count, _stored_ids = self.records(first_ms, first_ms + len(ids) - 1)
        state = self.node_red.data_dir / "ming"
        files = ", ".join(f"{path.name} {len(list(path.iterdir()))}" for path in sorted(state.iterdir())
                          if path.is_dir()) if state.is_dir() else "no state directory"
        dropped = self.broker_drops()
        return (f"broker: {dropped[-1] if dropped else 'no drop logged'}; "
                f"{self.acked(ids)} of {len(ids)} acked, {count} records in InfluxDB, {len(self.dead_letters)} dead "
                f"letters, {len(self.ack_receiver.snapshot())} messages on the ack topics; files: {files}")

    def record_count(self, first_ms, last_ms):
        rows = self.influx.rows(f"SELECT count(event_id) FROM machine_events WHERE time >= {first_ms}ms AND "
                                f"time <= {last_ms}ms", ADMIN_AUTH, database="ming")
        return rows[0]["count"] if rows else 0

    def check_zero_loss(self, name, ids, first_ms, last_ms):
        """Every event acked as stored, one record each in InfluxDB. Returns the correlation tally of the acks."""
        missing = [event_id for event_id in ids if event_id not in self.acks]
        not_stored = [event_id for event_id in ids if event_id in self.acks
                      and self.acks[event_id][0][1].get("stored") is not True]
        count, stored_ids = self.records(first_ms, last_ms)
        problems = []
        if missing:
            problems.append(f"{len(missing)} of {len(ids)} events have no ack (e.g. {missing[:3]})")
        if not_stored:
            problems.append(f"{len(not_stored)} acks do not say stored: true")
        if count != len(ids) or stored_ids != set(ids):
            problems.append(f"InfluxDB holds {count} records ({len(stored_ids & set(ids))} of the {len(ids)} events)")
        if problems and self.broker_drops():
            problems.append(f"Mosquitto dropped messages ({self.broker_drops()[0].split(': ', 1)[-1]}) with "
                            f"max_queued_messages {self.max_queued}")
        if self.dead_letters:
            problems.append(f"{len(self.dead_letters)} dead letters, first: {self.dead_letters[0][:300]}")
        if problems:
            raise BenchError(f"{name}: events lost: " + "; ".join(problems))
        tally = {}
        for event_id in ids:
            correlation = self.acks[event_id][0][1].get("correlation")
            tally[correlation] = tally.get(correlation, 0) + 1
        return tally, count

    # -- phases --------------------------------------------------------------------------------------------------
    def raw_mosquitto(self, broker, publisher):
        """RAW_EVENTS messages of the burst's size from the same publisher to mosquitto_sub (the C client, QoS 1, so
        the subscriber is not what limits the rate): messages/s from the first publish to the last delivery."""
        # mosquitto_sub reads its options file from $XDG_CONFIG_HOME: the password stays out of argv.
        config_home = self.workdir / "xdg"
        config_home.mkdir()
        options = config_home / "mosquitto_sub"
        options.write_text(f"-u nodered\n-P {NODERED_MQTT_PASSWORD}\n")
        options.chmod(0o600)
        receiver = subprocess.Popen(
            [MOSQUITTO_SUB, "-h", "127.0.0.1", "-p", str(broker.port), "-q", "1", "-t", "bench/raw/#"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=dict(os.environ, XDG_CONFIG_HOME=str(config_home)))
        lines = []  # (arrival, line)

        def read():
            for text in receiver.stdout:
                lines.append((time.time(), text))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            # Subscribed once a marker gets through (mosquitto_sub says nothing when its SUBACK arrives).
            wait_for(lambda: publisher.publish("bench/raw/ready", "ready").wait_for_publish(1) or bool(lines),
                     10, "mosquitto_sub to subscribe")
            time.sleep(0.2)  # markers still on their way
            base_ms = int(time.time() * 1000) - 3_600_000
            messages = []
            for n in range(RAW_EVENTS):
                line, station = self.burst_stations[n % len(self.burst_stations)]
                topic, payload = self.event("stop", line, station, base_ms + n, f"rawmq-{n:05d}-{uuid.uuid4().hex[:6]}")
                messages.append((topic.replace("factory/line/", "bench/raw/", 1), payload))
            self.payload_bytes = len(messages[0][1])
            ready = len(lines)
            started = time.time()
            publisher.publish_all(messages, RAW_WAIT_S)
            wait_for(lambda: len(lines) - ready >= RAW_EVENTS, RAW_WAIT_S,
                     f"mosquitto_sub to receive {RAW_EVENTS} messages (have {len(lines) - ready}; the broker drops "
                     f"what exceeds max_queued_messages {self.max_queued})")
            received = {text for _arrived, text in lines[ready:]}
            if len(received) != RAW_EVENTS or any(b"rawmq-" not in text for text in received):
                raise BenchError(f"raw Mosquitto: {len(received)} distinct messages for {RAW_EVENTS} published")
            seconds = lines[-1][0] - started
            return RAW_EVENTS / seconds, seconds
        finally:
            receiver.kill()
            receiver.wait(5)

    def steady(self, publisher):
        base_ms = int(time.time() * 1000) - 7_200_000
        ids, published = [], {}
        started = time.monotonic()
        for n in range(STEADY_EVENTS):
            line, station = self.burst_stations[n % len(self.burst_stations)]
            event_id = f"steady-{n:05d}-{uuid.uuid4().hex[:6]}"
            ids.append(event_id)
            pause = started + n / STEADY_RATE - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            published[event_id] = time.time()
            publisher.publish(*self.event("start", line, station, base_ms + n, event_id))
        achieved = STEADY_EVENTS / (time.monotonic() - started)
        wait_for(lambda: self.acked(ids) == len(ids), STEADY_WAIT_S,
                 lambda: f"the acks of {STEADY_EVENTS} steady events ({self.progress(ids, base_ms)})", self.node_red)
        tally, _count = self.check_zero_loss("steady", ids, base_ms, base_ms + STEADY_EVENTS - 1)
        latencies, sources = [], set()
        hop_delays = {}
        for event_id in ids:
            stored, source = self.stored_at(event_id)
            sources.add(source)
            latencies.append((stored - published[event_id]) * 1000)
            hops = self.acks[event_id][0][1].get("hops")
            for hop, value in (hops.items() if isinstance(hops, dict) else ()):
                seconds = epoch_seconds(value)
                if seconds is not None:
                    hop_delays.setdefault(hop, []).append((seconds - published[event_id]) * 1000)
        return {"latencies": latencies, "source": " / ".join(sorted(sources)), "rate": achieved, "tally": tally,
                "hops": hop_delays}

    def triggered(self, publisher):
        base_ms = int(time.time() * 1000) - 5_400_000
        results = []
        ids = []
        for n, (line, station) in enumerate(self.probe_stations):
            event_id = f"probe-{n}-{uuid.uuid4().hex[:6]}"
            ids.append(event_id)
            published = time.time()
            publisher.publish(*self.event("stop", line, station, base_ms + n, event_id))
            wait_for(lambda event_id=event_id: self.acked([event_id]) == 1, PROBE_WAIT_S,
                     f"the ack of triggered event {event_id}", self.node_red)
            stored, source = self.stored_at(event_id)
            results.append(((stored - published) * 1000, self.acks[event_id][0][1].get("correlation"), source))
        tally, _count = self.check_zero_loss("triggered", ids, base_ms, base_ms + len(ids) - 1)
        if tally.get("matched") != len(ids):
            raise BenchError(f"triggered: correlations {tally}, expected every one matched")
        return results

    def burst(self, publisher):
        base_ms = int(time.time() * 1000) - 3_600_000
        messages, ids = [], []
        for n in range(BURST_EVENTS):
            line, station = self.burst_stations[n % len(self.burst_stations)]
            event_id = f"burst-{n:05d}-{uuid.uuid4().hex[:6]}"
            ids.append(event_id)
            messages.append(self.event("fault" if n % 2 else "stop", line, station, base_ms + n, event_id))
        triggers_before = {camera: self.triggered_count(camera) for camera in self.burst_cameras()}
        frigate_before = len(self.frigate.events)
        started = time.time()
        publish_seconds = publisher.publish_all(messages, BURST_WAIT_S)
        progress = {"state": None, "since": time.monotonic()}

        def done():
            """All acked; or Mosquitto dropped messages for Node-RED, nothing is in its journal or outbox, every record
            stored is acked and nothing changed for 3 s: the rest will never come."""
            acked = self.acked(ids)
            if acked == len(ids):
                return True
            if not self.broker_drops() or self.pipeline_files("journal") or self.pipeline_files("outbox"):
                return False
            state = (acked, self.record_count(base_ms, base_ms + len(ids) - 1))
            if state != progress["state"]:
                progress.update(state=state, since=time.monotonic())
            return state[0] == state[1] and time.monotonic() - progress["since"] > 3

        wait_for(done, BURST_WAIT_S - publish_seconds,
                 lambda: f"the acks of {BURST_EVENTS} burst events ({self.progress(ids, base_ms)})", self.node_red)
        tally, count = self.check_zero_loss("burst", ids, base_ms, base_ms + BURST_EVENTS - 1)
        last_ack = max(self.acks[event_id][0][0] for event_id in ids)
        triggers = {camera: self.triggered_count(camera) - triggers_before[camera] for camera in self.burst_cameras()}
        return {"seconds": last_ack - started, "publish_seconds": publish_seconds, "tally": tally, "records": count,
                "triggers": triggers, "frigate_events": len(self.frigate.events) - frigate_before}

    def burst_cameras(self):
        return [self.camera_of(*pair) for pair in self.burst_stations]

    def triggered_count(self, camera):
        return self.sim.camera(self.sim_names[camera]).counters["events_triggered"]

    # -- report --------------------------------------------------------------------------------------------------
    def report(self, raw, steady, probes, burst):
        raw_rate, raw_seconds = raw
        rate = BURST_EVENTS / burst["seconds"]
        latencies = steady["latencies"]
        p50, p99 = percentile(latencies, 0.50), percentile(latencies, 0.99)
        queue_note = (", the mosquitto role's default" if self.max_queued == self.role_max_queued else
                      f", MING_BENCH_MAX_QUEUED; the role's default is {self.role_max_queued}")
        print(f"Pipeline in real Node-RED 4.1.15 ({LIBRARY.relative_to(REPO)}), real Mosquitto 2.0.11 "
              f"(max_queued_messages {self.max_queued}{queue_note}) and InfluxDB 1.6.7 on 127.0.0.1; cameras: "
              "the camera simulator; Frigate: the Frigate API double, clip delay 0")
        print(f"every message MQTT QoS 1, {self.payload_bytes} bytes of PLC event JSON; publisher: paho, "
              f"{PUBLISHER_INFLIGHT} in flight")
        print(f"{'':<44} {'measured':>12} {'target':>14}")
        print(f"{'raw Mosquitto publish->subscribe, msg/s':<44} {raw_rate:>12,.0f} {'':>14}"
              f"  ({RAW_EVENTS:,} in {raw_seconds:.2f} s)")
        verdict = "met" if rate >= TARGET_RATE else "NOT met"
        print(f"{'(a) burst, PLC events/s to last ack':<44} {rate:>12,.0f} {'>= 1,000':>14}  {verdict}; "
              f"x{rate / raw_rate:.3f} of raw Mosquitto")
        print(f"{'    drain time, first publish to last ack':<44} {burst['seconds']:>11.2f}s {'':>14}  "
              f"(publishing took {burst['publish_seconds']:.2f} s)")
        print(f"{'    lost (no ack / no record)':<44} {0:>12} {'0':>14}  {BURST_EVENTS:,} acks, "
              f"{burst['records']:,} records in InfluxDB; correlations {burst['tally']}")
        print(f"{'    camera triggers / Frigate events':<44} {sum(burst['triggers'].values()):>12} "
              f"{BURST_CAMERAS:>14}  (one per camera: {sorted(set(burst['triggers'].values()))} each; "
              f"{burst['frigate_events']} Frigate events)")
        verdict = "met" if p99 < TARGET_P99_MS else "NOT met"
        print(f"{'(b) non-trigger, publish to stored, p50 ms':<44} {p50:>12.1f} {'':>14}  "
              f"{STEADY_EVENTS:,} events at {steady['rate']:.0f}/s, stored = {steady['source']}")
        print(f"{'    p99 ms':<44} {p99:>12.1f} {'< 100':>14}  {verdict}; max {max(latencies):.1f} ms; "
              f"correlations {steady['tally']}")
        for hop, delays in sorted(steady["hops"].items(), key=lambda item: statistics.median(item[1])):
            print(f"{'    hop ' + hop + ', p50 ms after publish':<44} {statistics.median(delays):>12.1f} "
                  f"{'':>14}  p99 {percentile(delays, 0.99):.1f}")
        for latency, correlation, source in probes:
            print(f"{'    triggered event, ms minus duration_s':<44} {latency - DURATION_S * 1000:>12.1f} {'':>14}  "
                  f"latency {latency:.1f} ms, {correlation}; duration_s {DURATION_S}, clip_settle_s {CLIP_SETTLE_S} "
                  f"(so {latency - (DURATION_S + CLIP_SETTLE_S) * 1000:.1f} ms beyond both); stored = {source}")
        print("phases: " + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in self.phase_seconds.items())
              + f"; total {sum(self.phase_seconds.values()):.1f} s")


def require_prerequisites():
    problems = []
    if not mosquitto_available():
        problems.append(MOSQUITTO_HINT)
    try:
        require_influxd()
    except pytest.fail.Exception:
        problems.append(INSTALL_HINT)
    if problems:
        raise SystemExit("missing prerequisite: " + "; ".join(problems))


def main():
    require_prerequisites()
    # SIGTERM (a CI timeout) unwinds like Ctrl-C, so every with-block stops its process or container.
    signal.signal(signal.SIGTERM, lambda *_args: sys.exit(143))
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as workdir:
        try:
            return Bench(workdir).run()
        except pytest.fail.Exception as failure:  # a prerequisite the helpers check (Docker, the image)
            print(f"missing prerequisite: {failure} ({DOCKER_HINT})", file=sys.stderr)
            return 1
        except BenchError as error:
            print(f"WRONG RESULT: {error}", file=sys.stderr)
            return 1


if __name__ == "__main__":
    sys.exit(main())
