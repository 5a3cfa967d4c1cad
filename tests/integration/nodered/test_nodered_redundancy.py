"""Node-RED in a redundant plant: one MQTT connection per broker of the pair, events deduplicated by event id across
them, and the 1.x dual write (local and central InfluxDB), each target with its own durable outbox.

Two parts, sharing nothing:

- What the nodered role derives from a fleet inventory (two plants and a central site): one ansible-playbook run, no
  Docker, holding every case as a play (the role's preflight with ``public: true``, then the pipeline it would write),
  so the table costs one process.
- The pipeline end to end in real Node-RED 4.1.15 (the lab image ming/nodered:lab) with two real Mosquitto brokers
  (tests/mosquitto_broker.py, plain MQTT on loopback, the pair's two brokers) and two real InfluxDB 1.6.7 servers
  (tests/influxdb_v1_server.py: the edge's local one and central), one of each per module. The events are
  non-trigger events (``start``): no camera and no Frigate are involved, so neither the camera simulator nor the
  Frigate API double runs here. The flow is the filter's output deployed over the admin API with its credentials.

Mutations tried (each made a test here fail, then was restored):
- one connection only (nodered_correlation_flow building the first broker's nodes only): nothing published on
  broker B is ever stored, so the stack's warm-up through B fails and with it every test of part 2.
- a shared outbox cursor (Pipeline.drain awaiting each secondary target first and stopping while it has a backlog):
  the local ack of the first event never comes while central is down
  (test_central_down_local_at_once_central_after).
- dedup removed (isDuplicate always false): the copy from the second broker is stored and acknowledged a second
  time (test_event_on_a_on_b_and_on_both_stored_once, test_late_duplicate_from_the_other_broker_dropped).
- the site filter of the brokers removed (every host of ming_brokers): the north edge also connects to the south
  broker (test_role_derives_brokers_targets_and_plant).
- the central target added on 2.x edges too: test_role_derives_brokers_targets_and_plant.
- the preflight's credential check of the targets removed: central_password_missing passes
  (test_bad_redundancy_input_stops_the_preflight).
"""

import itertools
import json
import os
import subprocess
import time
import uuid
from pathlib import Path
from unittest import mock

import mosquitto_broker
import pytest
import yaml
from influxdb_v1_server import ADMIN_AUTH, running_influxdb
from mosquitto_broker import Broker, Listener, free_port, publish_all, require_mosquitto, venv_tool
from nodered_server import SECRETS_PREAMBLE, minimal_settings_js, nodered_container, service_token
from playbook_report import json_report

from ansible_collections.sensingcam.ming.plugins.filter.nodered_flow import nodered_correlation_flow
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import PasswordFile

REPO = Path(__file__).resolve().parents[3]
LIBRARY = REPO / "roles" / "nodered" / "files" / "ming_pipeline.js"

# --- part 1: what the role derives ------------------------------------------------------------------------------
ROLE_BASE = {
    "nodered_service_token": "t" * 40,
    "nodered_admin_users": [{"username": "admin", "password": "admin-password-123", "permissions": "*"}],
    "nodered_http_node_auth_password": "http-node-password",
    "nodered_frigate_password": "frigate-password",
    "nodered_tls_managed_ca_dir": "/nonexistent-ca",
    "nodered_tls_managed_ca_allow_unencrypted_key": True,
}
MQTT_PASSWORD = "mqtt-" + uuid.uuid4().hex[:10]
LOCAL_PASSWORD = "local-" + uuid.uuid4().hex[:10]
CENTRAL_PASSWORD = "central-" + uuid.uuid4().hex[:10]
SECRETS = (MQTT_PASSWORD, LOCAL_PASSWORD, CENTRAL_PASSWORD, "admin-password-123", "http-node-password",
           "frigate-password")


def layer(url, version=1, **extra):
    return dict({"api_version": version, "url": url, "database": "ming", "measurement": "machine_events",
                 "ca_file": "", "org": "plant" if version == 2 else "", "buckets": ["ming"] if version == 2 else [],
                 "credentials": {"nodered": {"kind": "user", "user": "nodered"}}}, **extra)


SOUTH_TOKEN = "south-token-" + uuid.uuid4().hex[:10]
FALLBACK_PASSWORD = "fallback-" + CENTRAL_PASSWORD
BAD = {
    # case (an app host of plant north with these host variables) -> (variables, words the failure names)
    "both_host_and_hosts": ({"nodered_mqtt_hosts": ["10.21.0.11"], "nodered_mqtt_host": "10.21.0.12"},
                            ["nodered_mqtt_hosts", "nodered_mqtt_host"]),
    "broker_twice": ({"nodered_mqtt_hosts": ["10.21.0.11", "10.21.0.11"]}, ["nodered_mqtt_hosts", "10.21.0.11:8883"]),
    "plant_name_bad": ({"nodered_plant": "North Plant"}, ["nodered_plant", "North Plant", "ming_plant"]),
    # the central data layer records no password for nodered-north and no fallback is set
    "central_password_missing": ({"ming_central_data": "central-data-without-password"},
                                 ["without a credential: central", "nodered_central_influxdb_password",
                                  "nodered-north"]),
    "target_names_twice": ({"nodered_influxdb_targets": [
        {"name": "local", "layer": layer("https://a.example:8086"), "user": "nodered", "password": LOCAL_PASSWORD},
        {"name": "local", "layer": layer("https://b.example:8086"), "user": "nodered", "password": LOCAL_PASSWORD}]},
        ["nodered_influxdb_targets (local, local)", "unique name"]),
}


def fleet_inventory(store):
    """Plant north (1.x, a broker pair), plant south (2.x, one broker), the central site, a single-site group. Each
    case is an app host of its own (host variables), so one play covers them all."""
    clients = [{"name": "nodered", "password": MQTT_PASSWORD}]
    local = {"ansible_connection": "local"}
    central_layer = layer("https://central-data.example:8086",
                          credentials={"nodered-north": {"kind": "user", "user": "nodered-north",
                                                         "store_path": str(store)}})
    north_apps = {"app-north": dict(local, central_expected=CENTRAL_PASSWORD),
                  "app-north-fallback": dict(local, nodered_central_influxdb_password=FALLBACK_PASSWORD,
                                             central_expected=FALLBACK_PASSWORD)}
    north_apps.update((f"case-{name}", dict(local, **overrides)) for name, (overrides, _words) in BAD.items())
    return {"all": {"children": {
        "ming_plants": {
            "vars": {"ming_site_role": "edge", "ming_central_data": "central-data"},
            "children": {
                "plant_north": {"vars": {"ming_plant": "north"}, "hosts": dict(north_apps, **{
                    "nb1": {"ming_broker_address": "10.21.0.11/24", "mosquitto_clients": clients},
                    "nb2": {"ansible_host": "10.21.0.12", "mosquitto_tls_port": 8884, "mosquitto_clients": clients},
                    "data-north": {"influxdb_data_layer": layer("https://data-north.example:8086"),
                                   "influxdb_clients": [{"name": "nodered", "password": LOCAL_PASSWORD}]},
                    "cam-north": {"sensingcam_line": "line1", "sensingcam_station": "st10"}})},
                "plant_south": {"vars": {"ming_plant": "south"}, "hosts": {
                    "sb1": {"ansible_host": "10.22.0.11", "mosquitto_clients": clients},
                    "app-south": dict(local, nodered_influxdb_token=SOUTH_TOKEN),
                    "data-south": {"influxdb_data_layer": layer("https://data-south.example:8086", version=2)},
                    "cam-south": {"sensingcam_line": "line1", "sensingcam_station": "st10"}}},
            }},
        "ming_central": {"vars": {"ming_site_role": "central", "ming_plant": "central"}, "hosts": {
            "central-data": {"influxdb_data_layer": central_layer},
            "central-data-without-password": {"influxdb_data_layer": layer("https://central-data.example:8086")}}},
        "ming_brokers": {"hosts": {"nb1": {}, "nb2": {}, "sb1": {}}},
        "ming_data": {"hosts": {"data-north": {}, "data-south": {}, "central-data": {}}},
        "ming_apps": {"hosts": dict.fromkeys([*north_apps, "app-south"], {})},
        "sensingcams": {"hosts": {"cam-north": {}, "cam-south": {}}},
        # A single-site inventory's shape (no ming_plant): its own groups, one broker and one data host.
        "single_apps": {"hosts": {"app-single": dict(local, nodered_broker_group="single_brokers",
                                                     nodered_data_group="single_data",
                                                     nodered_camera_group="single_cams")}},
        "single_cams": {"hosts": {"cam-single": {"sensingcam_line": "line1", "sensingcam_station": "st10"}}},
        "single_brokers": {"hosts": {"single-broker": {"ansible_host": "10.9.0.2", "mosquitto_clients": clients}}},
        "single_data": {"hosts": {"single-data": {
            "influxdb_data_layer": layer("https://single-data.example:8086"),
            "influxdb_clients": [{"name": "nodered", "password": LOCAL_PASSWORD}]}}},
    }}}


DERIVED = "{{ {'pipeline': __nodered_pipeline, 'secret_keys': __nodered_secrets.keys() | sort, " \
          "'central_password_ok': __nodered_secrets['influxdb_password:central'] | default('') " \
          "== central_expected | default(''), " \
          "'local_password_ok': __nodered_secrets['influxdb_password'] | default('') == local_expected} | to_json }}"


@pytest.fixture(scope="module")
def derived(tmp_path_factory):
    """{host: message} of one ansible-playbook run: one play over every app host (each a case)."""
    directory = tmp_path_factory.mktemp("nodered-redundancy-role")
    store = directory / "influxdb-password-nodered-north"
    store.write_text(CENTRAL_PASSWORD)
    store.chmod(0o600)
    play = {
        "name": "derive", "hosts": "ming_apps:single_apps", "gather_facts": False,
        "vars": dict(ROLE_BASE, local_expected=LOCAL_PASSWORD),
        "tasks": [{"block": [
            {"ansible.builtin.include_role": {"name": "sensingcam.ming.nodered", "tasks_from": "preflight",
                                              "public": True}},
            {"ansible.builtin.debug": {"msg": "PASSED " + DERIVED}},
        ], "rescue": [
            {"ansible.builtin.debug": {"msg": "FAILED: {{ ansible_failed_result | to_json }}"}},
        ]}],
    }
    (directory / "inventory.yml").write_text(yaml.safe_dump(fleet_inventory(store)))
    (directory / "derive.yml").write_text(yaml.safe_dump([play], sort_keys=False))
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    started = time.monotonic()
    done = subprocess.run([str(venv_tool("ansible-playbook")), "-i", str(directory / "inventory.yml"),
                           str(directory / "derive.yml"), "--forks", "12",
                           "-e", "ansible_python_interpreter=" + str(venv_tool("python"))],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False)
    print(f"role derivation run: {time.monotonic() - started:.1f} s")
    report = json_report(done.stdout)
    messages = {}
    for task in report["plays"][0]["tasks"]:
        for host, result in task["hosts"].items():
            message = result.get("msg", "")
            if isinstance(message, str) and message.startswith(("PASSED ", "FAILED: ")):
                messages[host] = message
    messages["_output"] = done.stdout + done.stderr
    return messages


def passed(derived, host):
    message = derived.get(host, "")
    assert message.startswith("PASSED "), message[:3000] or f"{host}: no outcome"
    return json.loads(message[len("PASSED "):])


def test_role_derives_brokers_targets_and_plant(derived):
    """The north edge (a 1.x plant with a broker pair): one broker entry per broker of its own plant (nb1 by
    ming_broker_address without the prefix, nb2 by ansible_host with its own TLS port), a client id per connection,
    the local data layer as the primary target and central (user nodered-north, its password from the store the
    central layer records) as the secondary, the plant in the pipeline. The south edge (2.x): its one broker, local
    only (replication carries its data), no central target."""
    north = passed(derived, "app-north")
    brokers = north["pipeline"]["mqtt"]["brokers"]
    assert [(b["host"], b["port"]) for b in brokers] == [("10.21.0.11", 8883), ("10.21.0.12", 8884)]
    assert [b["client_id"] for b in brokers] == ["ming-nodered-app-north-10.21.0.11",
                                                 "ming-nodered-app-north-10.21.0.12"]
    assert north["pipeline"]["plant"] == "north"
    assert north["pipeline"]["influxdb"]["name"] == "local"
    assert north["pipeline"]["influxdb"]["url"] == "https://data-north.example:8086"
    assert [(t["name"], t["url"], t["user"], t["database"]) for t in north["pipeline"]["influxdb_secondary"]] == [
        ("central", "https://central-data.example:8086", "nodered-north", "ming")]
    assert north["central_password_ok"] is True and north["local_password_ok"] is True
    assert {"influxdb_password", "influxdb_password:central", "mqtt_password"} <= set(north["secret_keys"])

    south = passed(derived, "app-south")
    assert [(b["host"], b["client_id"]) for b in south["pipeline"]["mqtt"]["brokers"]] == [
        ("10.22.0.11", "ming-nodered-app-south")]
    assert south["pipeline"]["influxdb"]["api_version"] == 2
    assert south["pipeline"]["influxdb_secondary"] == []
    assert south["pipeline"]["plant"] == "south"
    assert not any(key.startswith("influxdb_password") for key in south["secret_keys"])


def test_single_site_behaves_as_before(derived):
    """No ming_plant (a single-site inventory): its one broker with the unchanged client id (the same persistent
    session), the local data layer only, no plant tag; the flow from it is the one-broker flow."""
    single = passed(derived, "app-single")
    pipeline = single["pipeline"]
    assert [(b["host"], b["port"], b["client_id"]) for b in pipeline["mqtt"]["brokers"]] == [
        ("10.9.0.2", 8883, "ming-nodered-app-single")]
    assert pipeline["influxdb_secondary"] == [] and pipeline["plant"] == ""
    flow = nodered_correlation_flow(pipeline)
    assert len([node for node in flow["flows"] if node["type"] == "mqtt-broker"]) == 1


def test_central_password_fallback_variable(derived):
    """nodered_central_influxdb_password (vault) is the central target's password when set."""
    assert passed(derived, "app-north-fallback")["central_password_ok"] is True


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_redundancy_input_stops_the_preflight(derived, name):
    message = derived.get(f"case-{name}", "")
    assert message.startswith("FAILED: "), message[:2000] or f"{name}: no outcome"
    shown = json.dumps(json.loads(message[len("FAILED: "):]))
    for word in BAD[name][1]:
        assert word in shown, f"{name}: {word!r} not in {shown[:1500]}"


def test_no_secret_in_the_role_output(derived):
    everything = derived["_output"]
    secrets = (*SECRETS, SOUTH_TOKEN, FALLBACK_PASSWORD)
    assert [secret for secret in secrets if secret in everything] == []


# --- part 2: real Node-RED, two brokers, two InfluxDB ----------------------------------------------------------
PLC_PASSWORD = "plc-" + uuid.uuid4().hex[:10]
NODERED_MQTT_PASSWORD = "nr-" + uuid.uuid4().hex[:10]
INFLUX_LOCAL_PASSWORD = "nr-local-" + uuid.uuid4().hex[:10]
INFLUX_CENTRAL_PASSWORD = "nr-central-" + uuid.uuid4().hex[:10]


class Stack:
    pass


def wait_until(check, timeout, what, stack=None):
    """Bounded poll: the value of check() once truthy; fails naming ``what`` (with Node-RED's log tail)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"; Node-RED log tail:\n{stack.node_red.logs(200)[-4000:]}" if stack is not None else ""
            pytest.fail(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(0.2)


def start_broker_on_its_port(broker):
    """Start a stopped or killed Broker again on the port Node-RED knows (Broker.start picks a free one)."""
    port = broker.port
    with mock.patch.object(mosquitto_broker, "free_port", lambda: port):
        broker.start(attempts=5)


def start_influxdb_on_its_port(server):
    """Start a stopped InfluxDBServer again on its HTTP port, with its data (InfluxDBServer.start picks a free one)."""
    ports = iter([server.port, free_port()])
    with mock.patch("influxdb_v1_server.free_port", lambda: next(ports)):
        server.start(attempts=1)


def create_database(influx, user, password):
    quoted = ADMIN_AUTH[1].replace("\\", "\\\\").replace("'", "\\'")
    status, body = influx.query(f"CREATE USER {ADMIN_AUTH[0]} WITH PASSWORD '{quoted}' WITH ALL PRIVILEGES", None)
    assert status == 200, body
    for statement in ("CREATE DATABASE ming", f"CREATE USER \"{user}\" WITH PASSWORD '{password}'",
                      f"GRANT WRITE ON ming TO \"{user}\""):
        status, body = influx.query(statement, ADMIN_AUTH)
        assert status == 200, body


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """Brokers A and B (the pair), the edge's local InfluxDB and central's, Node-RED with the generated flow
    connected to both brokers and writing to both databases (local primary, central secondary)."""
    require_mosquitto()
    base = tmp_path_factory.mktemp("nodered-redundancy")
    passwords = PasswordFile("")
    passwords.set_password("plc", PLC_PASSWORD)
    passwords.set_password("nodered", NODERED_MQTT_PASSWORD)
    (base / "passwd").write_text(passwords.render())
    for name in ("broker-a", "broker-b", "local", "central"):
        (base / name).mkdir()
    with (
        Broker(base / "broker-a", base / "passwd") as broker_a,
        Broker(base / "broker-b", base / "passwd") as broker_b,
        running_influxdb(base / "local") as local,
        running_influxdb(base / "central") as central,
    ):
        create_database(local, "nodered", INFLUX_LOCAL_PASSWORD)
        create_database(central, "nodered-north", INFLUX_CENTRAL_PASSWORD)
        client_id = "ming-nodered-test-" + uuid.uuid4().hex[:6]
        pipeline = {
            "version": 1,
            "mqtt": {
                "brokers": [{"host": "127.0.0.1", "port": broker.port, "tls": False, "ca_file": None,
                             "client_id": f"{client_id}-{name}", "user": "nodered"}
                            for name, broker in (("a", broker_a), ("b", broker_b))],
                "subscriptions": ["factory/line/+/event"], "qos": 1,
                "ack_topic": "factory/line/{line}/event/ack", "dead_letter_topic": "factory/dead_letter",
            },
            "events": ["stop", "fault"], "stations": [], "cameras": {},
            # only non-trigger events here: Frigate is never called
            "frigate": {"url": "https://127.0.0.1:9", "user": "ming-nodered", "label": "plc_event", "version": "0.18.0",
                        "duration_s": 1, "pre_capture_s": 0, "public_url": "https://nvr.plant.example:8971",
                        "ca_file": None, "validate_certs": True, "clip_wait_s": 2, "clip_poll_s": 1,
                        "clip_settle_s": 0},
            "recording_window_s": 1,
            "influxdb": {"name": "local", "api_version": 1, "url": local.url, "database": "ming",
                         "retention_policy": "", "measurement": "machine_events", "user": "nodered", "ca_file": None,
                         "timeout_s": 3},
            "influxdb_secondary": [{"name": "central", "api_version": 1, "url": central.url, "database": "ming",
                                    "retention_policy": "", "measurement": "machine_events", "user": "nodered-north",
                                    "ca_file": None, "timeout_s": 3}],
            "plant": "north",
            "outbox": {"dir": "/data/ming", "batch": 500, "backoff_min_s": 1, "backoff_max_s": 2},
            "dedup": {"ttl_s": 86400},
            "self_test": {"line": "ming-selftest", "station": "ming-selftest", "camera": None},
            "webhook": None,
        }
        secrets = {"mqtt_password": NODERED_MQTT_PASSWORD, "influxdb_password": INFLUX_LOCAL_PASSWORD,
                   "influxdb_password:central": INFLUX_CENTRAL_PASSWORD,
                   "frigate_password": "unused-" + uuid.uuid4().hex}
        token, token_sha256 = service_token()
        settings = minimal_settings_js(free_port(), token_sha256, preamble=SECRETS_PREAMBLE,
                                       extra='    functionGlobalContext: {ming: require("/config/ming_pipeline.js")},')
        files = {"pipeline.json": json.dumps(pipeline), "secrets.json": json.dumps(secrets),
                 "ming_pipeline.js": LIBRARY.read_text()}
        listener_a = Listener(broker_a.port, "nodered", NODERED_MQTT_PASSWORD, topics=("factory/#",))
        listener_b = Listener(broker_b.port, "nodered", NODERED_MQTT_PASSWORD, topics=("factory/#",))
        try:
            with nodered_container(base, settings, files, name_hint="redundancy") as node_red:
                flow = nodered_correlation_flow(pipeline)
                status, body = node_red.request("POST", "/flows", token=token, headers={"Node-RED-API-Version": "v2"},
                                                body={"flows": flow["flows"], "credentials": flow["credentials"]})
                assert status == 200, body
                result = Stack()
                result.broker_a, result.broker_b, result.local, result.central = broker_a, broker_b, local, central
                result.node_red, result.listener_a, result.listener_b = node_red, listener_a, listener_b
                result.outbox_central = node_red.data_dir / "ming" / "outbox-central"
                for broker in (broker_a, broker_b):
                    warm_up(result, broker)
                yield result
        finally:
            listener_a.close()
            listener_b.close()


EVENT_NUMBER = itertools.count()


def event(prefix):
    """A non-trigger PLC event with an id and a timestamp (ms) of its own: two points with the same tags and time
    would overwrite each other in InfluxDB."""
    stamp_ms = int(time.time() * 1000) - 300000 + next(EVENT_NUMBER)
    return {"event": "start", "line": "line1", "station": "st10", "timestamp": stamp_ms,
            "id": f"{prefix}-{uuid.uuid4().hex[:8]}"}


def publish(broker, events):
    publish_all(broker.port, "plc", PLC_PASSWORD, [("factory/line/line1/event", json.dumps(e)) for e in events])


def acks(listener, event_id):
    return [json.loads(payload) for topic, payload in list(listener.messages)
            if topic.endswith("/event/ack") and json.loads(payload).get("event_id") == event_id]


def rows(influx, event_id):
    return influx.rows(f"SELECT * FROM machine_events WHERE event_id = '{event_id}'", ADMIN_AUTH, database="ming")


def warm_up(stack, broker):
    """Deploy returns before a broker node has connected and subscribed (its first persistent session holds
    nothing yet): publish through ``broker`` until an event is acknowledged (bounded)."""
    listener = stack.listener_a if broker is stack.broker_a else stack.listener_b
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        marker = event("warm-up")
        publish(broker, [marker])
        poll_end = time.monotonic() + 2
        while time.monotonic() < poll_end:
            if acks(listener, marker["id"]):
                return
            time.sleep(0.1)
    pytest.fail(f"Node-RED never acknowledged a warm-up event through the broker on port {broker.port}; "
                f"log tail:\n{stack.node_red.logs(80)}")


def settle(stack):
    """A marker of its own through each broker, acknowledged: every message published earlier through that broker has
    been received (and a duplicate among them dropped) by then, since one connection delivers in order."""
    markers = [(broker, event("marker")) for broker in (stack.broker_a, stack.broker_b)]
    for broker, marker in markers:
        publish(broker, [marker])
    for _broker, marker in markers:
        wait_until(lambda marker=marker: acks(stack.listener_a, marker["id"]), 30, f"the ack of {marker['id']}", stack)


def test_event_on_a_on_b_and_on_both_stored_once(stack):
    """An event published on broker A only, one on B only and one on both: each is stored once in the local InfluxDB
    (one row, one ack on each broker), with the plant tag, and reaches central once."""
    only_a, only_b, both = event("only-a"), event("only-b"), event("both")
    publish(stack.broker_a, [only_a, both])
    publish(stack.broker_b, [only_b, both])
    settle(stack)
    for e in (only_a, only_b, both):
        assert len(acks(stack.listener_a, e["id"])) == 1, (e["id"], acks(stack.listener_a, e["id"]))
        assert len(acks(stack.listener_b, e["id"])) == 1, (e["id"], acks(stack.listener_b, e["id"]))
        found = rows(stack.local, e["id"])
        assert len(found) == 1 and found[0]["plant"] == "north", found
    for e in (only_a, only_b, both):
        found = wait_until(lambda e=e: rows(stack.central, e["id"]), 30, f"{e['id']} at central", stack)
        assert len(found) == 1 and found[0]["plant"] == "north", found


def test_late_duplicate_from_the_other_broker_dropped(stack):
    """A copy arriving from broker B after the event from broker A was stored (within nodered_dedup_ttl_s) is dropped:
    no second ack."""
    late = event("late")
    publish(stack.broker_a, [late])
    wait_until(lambda: acks(stack.listener_a, late["id"]), 30, "the first ack", stack)
    publish(stack.broker_b, [late])
    settle(stack)
    assert len(acks(stack.listener_a, late["id"])) == 1
    assert len(acks(stack.listener_b, late["id"])) == 1
    assert len(rows(stack.local, late["id"])) == 1


def test_central_down_local_at_once_central_after(stack):
    """Central InfluxDB stopped while events flow: the local database has every event (acknowledged) while central is
    still down, the central backlog waits in its own outbox; once central is back every event arrives there, once."""
    stack.central.stop()
    try:
        events = [event(f"central-down-{n}") for n in range(10)]
        publish(stack.broker_a, events)
        for e in events:
            wait_until(lambda e=e: acks(stack.listener_a, e["id"]), 30, f"the local ack of {e['id']}", stack)
            assert len(rows(stack.local, e["id"])) == 1
        assert stack.central.process.poll() is not None  # still down: local never waited for it
        pending = outbox_ids(stack)
        assert {e["id"] for e in events} <= pending
    finally:
        start_influxdb_on_its_port(stack.central)
    for e in events:
        found = wait_until(lambda e=e: rows(stack.central, e["id"]), 60, f"{e['id']} at central after its return",
                           stack)
        assert len(found) == 1, found
    wait_until(lambda: not outbox_ids(stack), 30, "central's outbox to empty", stack)
    assert all(len(acks(stack.listener_a, e["id"])) == 1 for e in events)


def outbox_ids(stack):
    """Event ids waiting in central's outbox (batch files, one JSON entry a line)."""
    found = set()
    for path in stack.outbox_central.glob("*.jsonl"):
        for line in path.read_text().splitlines():
            if line.strip():
                found.add(json.loads(line)["event_id"])
    return found


def test_nodered_restart_while_central_down_backlog_survives(stack):
    """Node-RED killed (SIGKILL) and started again while central is down: the central backlog (its outbox on the data
    volume) survives and reaches central once it is back; local had every event before the kill."""
    stack.central.stop()
    try:
        events = [event(f"restart-{n}") for n in range(8)]
        publish(stack.broker_b, events)
        for e in events:
            wait_until(lambda e=e: acks(stack.listener_b, e["id"]), 30, f"the local ack of {e['id']}", stack)
        assert {e["id"] for e in events} <= outbox_ids(stack)
        stack.node_red.kill()
        stack.node_red.start()
        assert {e["id"] for e in events} <= outbox_ids(stack)
    finally:
        start_influxdb_on_its_port(stack.central)
    for e in events:
        found = wait_until(lambda e=e: rows(stack.central, e["id"]), 90, f"{e['id']} at central after the restart",
                           stack)
        assert len(found) == 1 and found[0]["plant"] == "north", found
        assert len(rows(stack.local, e["id"])) == 1


def test_broker_a_killed_events_via_b_stored(stack):
    """Broker A killed (SIGKILL) while events are published to broker B: every event is stored (and acknowledged on
    B). Broker A comes back on its port afterwards and Node-RED's connection to it works again."""
    stack.broker_a.process.kill()
    stack.broker_a.process.wait(timeout=10)
    try:
        events = [event(f"a-dead-{n}") for n in range(20)]
        for e in events:
            publish(stack.broker_b, [e])
        for e in events:
            wait_until(lambda e=e: acks(stack.listener_b, e["id"]), 30, f"the ack of {e['id']} on B", stack)
            assert len(rows(stack.local, e["id"])) == 1
    finally:
        stack.broker_a.stop()
        start_broker_on_its_port(stack.broker_a)
    warm_up(stack, stack.broker_a)
    for e in events:
        found = wait_until(lambda e=e: rows(stack.central, e["id"]), 30, f"{e['id']} at central", stack)
        assert len(found) == 1
