"""The nodered role with nodered_network_mode: host (the lab's choice: cameras, the Frigate double and the servers
listen on the host's loopback), rolled out with ansible-playbook on this machine's Docker engine against the REAL
Node-RED 4.1.15 of the lab image, in a throwaway Compose project of its own.

The inventory is the lab's shape: the app host is also the broker host (mosquitto_listen_addresses,
mosquitto_tls_port and the ``nodered`` entry of mosquitto_clients) and the data host (its influxdb_data_layer and
influxdb_clients), and no nodered_mqtt_* / nodered_influxdb_* variable is set, so pipeline.json and secrets.json are
derived from those. Nothing listens at the broker and InfluxDB addresses: they are only named.

First run: Node-RED listens on its one listen address and port itself (host network, no published port), healthy,
the admin API takes the token, the flow is deployed; a second run changes nothing.

Mutations tried (roles/nodered/vars/main.yml, each restored):
- the broker on this host always taken as ``mosquitto`` (the project network's name) ->
  test_the_pipeline_is_derived_from_the_broker_and_data_hosts failed (host 'mosquitto', port 8883)
- settings.js ``uiHost`` always 0.0.0.0 -> test_node_red_listens_on_its_address_on_the_host_network failed (the
  health probe still answered, but the listening socket was 0.0.0.0:<port>)
"""

import json
import ssl
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest
from mosquitto_broker import free_port, remove_compose_project
from role_settings import role_secrets, role_variables

PROJECT = f"nrhost-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-nodered"
SECRETS = role_secrets()


@pytest.fixture(scope="module")
def role(tmp_path_factory, nodered_role_runner):
    directory = tmp_path_factory.mktemp("nodered-host")
    port = free_port()
    variables = role_variables(directory, PROJECT, port, SECRETS)
    variables.update({
        "nodered_network_mode": "host", "nodered_tls_san": ["localhost"],
        "nodered_admin_users": [{"username": "admin", "password": SECRETS["admin"]}],
    })
    nodered_credential = {"kind": "user", "access": "write", "user": "nodered",
                          "password_variable": "influxdb_clients (nodered).password"}
    host_vars = {
        "mosquitto_listen_addresses": ["127.0.0.1"], "mosquitto_tls_port": 18883,
        "mosquitto_clients": [{"name": "nodered", "role": "nodered", "password": SECRETS["mqtt"]},
                              {"name": "frigate", "role": "frigate", "password": "not-the-nodered-one"}],
        "influxdb_data_layer": {"api_version": 1, "url": "https://127.0.0.1:18086", "ca_file": "", "org": "",
                                "database": "ming", "measurement": "machine_events",
                                "buckets": ["machine_events", "machine_events_1h"],
                                "credentials": {"nodered": nodered_credential}},
        "influxdb_clients": [{"name": "nodered", "access": "write", "buckets": ["machine_events"],
                              "password": SECRETS["influxdb"]}],
    }
    subject = nodered_role_runner(directory, variables, SECRETS, host_vars=host_vars,
                                  host_groups=("ming_brokers", "ming_data"))
    subject.port = port
    subject.base = directory
    subject.config = directory / "base" / "nodered" / "config"
    yield subject
    remove_compose_project(PROJECT, services=("nodered",))
    leaked = subject.leaked()
    assert leaked == [], f"secrets {leaked} appeared in a roll-out's output"


def inspect(what):
    done = subprocess.run(["docker", "inspect", "--format", what, CONTAINER], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def get(role, path, token=None):
    context = ssl.create_default_context(cafile=str(role.base / "ca" / "ca.crt"))
    headers = {"Node-RED-API-Version": "v2"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    try:
        with urllib.request.urlopen(urllib.request.Request(f"https://127.0.0.1:{role.port}{path}", headers=headers),
                                    context=context, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_node_red_listens_on_its_address_on_the_host_network(role):
    result = role.run()
    assert result.changed > 0
    assert inspect("{{json .State.Health.Status}}") == "healthy"
    assert inspect("{{json .HostConfig.NetworkMode}}") == "host"
    assert not inspect("{{json .HostConfig.PortBindings}}")
    assert get(role, "/auth/login")[0] == 200
    assert get(role, "/flows")[0] == 401
    status, body = get(role, "/flows", token=SECRETS["token"])
    assert status == 200 and json.loads(body)["flows"], body
    listening = subprocess.run(["ss", "-Htln", f"sport = :{role.port}"], capture_output=True, text=True,
                               check=True).stdout.split()
    assert f"127.0.0.1:{role.port}" in listening, listening


def test_the_pipeline_is_derived_from_the_broker_and_data_hosts(role):
    pipeline = json.loads((role.config / "pipeline.json").read_text())
    # One broker in this inventory: one connection (pipeline.mqtt.brokers, one entry per broker of the site).
    [broker] = pipeline["mqtt"]["brokers"]
    assert (broker["host"], broker["port"], broker["user"]) == ("127.0.0.1", 18883, "nodered")
    influxdb = pipeline["influxdb"]
    assert (influxdb["url"], influxdb["database"], influxdb["user"]) == ("https://127.0.0.1:18086", "ming", "nodered")
    secrets = json.loads((role.config / "secrets.json").read_text())
    assert secrets["mqtt_password"] == SECRETS["mqtt"]
    assert secrets["influxdb_password"] == SECRETS["influxdb"]


def test_a_second_run_changes_nothing(role):
    again = role.run()
    assert again.changed == 0, again.changed_tasks()
