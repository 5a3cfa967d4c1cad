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
- one connection only (nodered_correlation_flow building the first broker's nodes only): the event published on
  broker B only is never stored (test_event_on_a_on_b_and_on_both_stored_once).
- a shared outbox cursor (Pipeline.drain awaiting every secondary target before the primary, in one pass):
  local no longer has the events while central is down (test_central_down_local_at_once_central_after).
- dedup removed (isDuplicate always false): the copy from the second broker is stored and acknowledged a second
  time (test_event_on_a_on_b_and_on_both_stored_once, test_late_duplicate_from_the_other_broker_dropped).
- the site filter of the brokers removed (every host of ming_brokers): the north edge also connects to the south
  broker (test_role_derives_brokers_targets_and_plant).
- the central target added on 2.x edges too: test_role_derives_brokers_targets_and_plant.
- the preflight's credential check of the targets removed: central_password_missing passes
  (test_bad_redundancy_input_stops_the_preflight).
"""

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
from nodered_server import minimal_settings_js, nodered_container, service_token
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
    assert [b["client_id"] for b in brokers] == ["ming-nodered-app-north-10.21.0.11", "ming-nodered-app-north-10.21.0.12"]
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
