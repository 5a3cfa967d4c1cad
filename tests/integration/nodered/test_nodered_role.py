"""The nodered role rolled out with ansible-playbook on this machine's Docker engine, against the REAL Node-RED 4.1.15
of the lab image (ming/nodered:lab, images/nodered) in a throwaway Compose project of its own (project name, base
directory, CA directory and port of this module). The correlation flow is deployed over the admin API (the
sensingcam.ming.nodered_flows module with the service token); the pipeline's broker, InfluxDB and cameras are only
named in pipeline.json and the flow: none runs here, so its MQTT node keeps retrying in the background.

The tests run in file order and share one Node-RED, as a plant's lives through its roll-outs: check mode on a fresh
host changes nothing -> the first run starts a healthy Node-RED over HTTPS (the plant CA checked) -> the admin API
refuses a request without the token and accepts the token; an editor user logs in with its password (the bcrypt hash
made on the controller verifies in Node-RED) -> a second run and check mode change nothing, the credential secret and
the hashes are kept -> the files' modes and owners, pipeline.json from the inventory -> no secret in ``docker
inspect`` (environment, command) nor in settings.js -> a settings change restarts Node-RED, which comes back healthy
with the same credential secret. Every run is ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1``; the whole output
of every run is scanned for every secret.

Mutations tried (roles/nodered and its bcrypt filter, each restored):
- plugins/filter/nodered_bcrypt.py always made a new salt (the ``checkpw`` branch disabled) ->
  test_a_second_run_and_check_mode_change_nothing failed (auth.json changed, Node-RED restarted)
- the credential secret task without ``force: false`` -> test_a_second_run_and_check_mode_change_nothing failed
  (credential_secret rewritten with a new value, Node-RED restarted)
- settings.js ``tokens`` resolving every token as the service user -> test_the_admin_api_wants_the_token failed
- deploy.yml without __nodered_settings in restart_on -> test_a_settings_change_restarts_node_red failed (same
  StartedAt)
- the MQTT password added to pipeline.json (mqtt.broker.password) -> test_no_secret_in_any_output failed (the
  --diff of pipeline.json showed it). Removing ``no_log`` from the secrets.json task alone leaks nothing: copy's
  ``content`` is no_log in the module itself, and the task also has ``diff: false``.
"""

import hashlib
import json
import os
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from mosquitto_broker import free_port, remove_compose_project
from role_settings import role_secrets, role_variables

PROJECT = f"nrrole-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-nodered"
SECRETS = role_secrets("viewer")


@pytest.fixture(scope="module")
def role(tmp_path_factory, nodered_role_runner):
    directory = tmp_path_factory.mktemp("nodered-role")
    port = free_port()
    variables = role_variables(directory, PROJECT, port, SECRETS)
    variables.update({
        "nodered_tls_san": ["localhost", "127.0.0.1"],
        "nodered_admin_users": [{"username": "admin", "password": SECRETS["admin"], "permissions": "*"},
                                {"username": "viewer", "password": SECRETS["viewer"], "permissions": "read"}],
        "nodered_mqtt_host": "127.0.0.1", "nodered_mqtt_port": 18883, "nodered_mqtt_password": SECRETS["mqtt"],
        "nodered_influxdb_data_layer": {"api_version": 1, "url": "https://127.0.0.1:18086", "database": "ming",
                                        "measurement": "machine_events", "ca_file": ""},
        "nodered_influxdb_password": SECRETS["influxdb"],
    })
    subject = nodered_role_runner(directory, variables, SECRETS)
    subject.port = port
    subject.base = directory
    subject.config = directory / "base" / "nodered" / "config"
    yield subject
    remove_compose_project(PROJECT, services=("nodered",))
    leaked = subject.leaked()
    assert leaked == [], f"secrets {leaked} appeared in a roll-out's output"


def docker_inspect(what="{{json .}}"):
    done = subprocess.run(["docker", "inspect", "--format", what, CONTAINER], capture_output=True, text=True,
                          check=True)
    return json.loads(done.stdout)


def wait_healthy(attempts=60):
    """Bounded poll of the container's health status; returns the last state."""
    state = {}
    for _attempt in range(attempts):
        state = docker_inspect("{{json .State}}")
        if state.get("Health", {}).get("Status") == "healthy":
            return state
        time.sleep(1)
    return state


def request(role, path, method="GET", token=None, body=None, form=None):
    """An HTTPS request to the Node-RED under test, its certificate checked against the plant CA."""
    context = ssl.create_default_context(cafile=str(role.base / "ca" / "ca.crt"))
    headers = {"Node-RED-API-Version": "v2"}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if body is not None:
        data = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    if form is not None:
        data = urllib.parse.urlencode(form).encode()
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    url = f"https://localhost:{role.port}{path}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, method=method, headers=headers),
                                    context=context, timeout=20) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_check_mode_on_a_fresh_host_changes_nothing(role):
    result = role.run(check=True)
    assert result.changed > 0
    assert subprocess.run(["docker", "inspect", CONTAINER], capture_output=True, check=False).returncode != 0
    assert not (role.base / "base" / "nodered").exists()
    assert not (role.base / "ca" / "ca.key").exists()


def test_the_first_run_starts_a_healthy_node_red_over_https(role):
    result = role.run()
    assert result.changed > 0
    assert wait_healthy()["Health"]["Status"] == "healthy"
    status, _body = request(role, "/auth/login")
    assert status == 200
    with pytest.raises((urllib.error.URLError, ConnectionError)):
        urllib.request.urlopen(f"http://127.0.0.1:{role.port}/auth/login", timeout=10).read()


def test_the_admin_api_wants_the_token(role):
    assert request(role, "/flows")[0] == 401
    assert request(role, "/flows", token="not-the-token" * 4)[0] == 401
    status, body = request(role, "/flows", token=SECRETS["token"])
    assert status == 200, body
    assert "rev" in json.loads(body)


def test_the_correlation_flow_is_deployed(role):
    """The flow the filter makes from pipeline.json is what Node-RED runs; no secret is in it."""
    status, body = request(role, "/flows", token=SECRETS["token"])
    assert status == 200, body
    flows = json.loads(body)["flows"]
    assert any(node.get("type") == "tab" for node in flows)
    assert any(node.get("type") == "mqtt-broker" and node.get("broker") == "127.0.0.1" for node in flows), flows
    assert not any(value in body for value in SECRETS.values())


def test_an_editor_user_logs_in_with_its_password(role):
    """The bcrypt hash made on the controller (Python bcrypt, $2b$) verifies in Node-RED; a wrong password and the
    read-only user's write are refused."""
    form = {"client_id": "node-red-admin", "grant_type": "password", "scope": "*", "username": "admin",
            "password": SECRETS["admin"]}
    status, body = request(role, "/auth/token", method="POST", form=form)
    assert status == 200, body
    access = json.loads(body)["access_token"]
    assert request(role, "/flows", token=access)[0] == 200
    wrong = request(role, "/auth/token", method="POST", form=dict(form, password="wrong-password-123"))
    assert wrong[0] in (401, 403), wrong
    status, body = request(role, "/auth/token", method="POST",
                           form=dict(form, username="viewer", password=SECRETS["viewer"], scope="read"))
    assert status == 200, body
    viewer = json.loads(body)["access_token"]
    assert request(role, "/flows", token=viewer)[0] == 200
    assert request(role, "/flows", method="POST", token=viewer, body={"flows": []})[0] == 401


def test_a_second_run_and_check_mode_change_nothing(role):
    secret = digest(role.config / "credential_secret")
    auth = digest(role.config / "auth.json")
    started = docker_inspect("{{json .State.StartedAt}}")
    again = role.run()
    assert again.changed == 0, again.changed_tasks()
    checked = role.run(check=True)
    assert checked.changed == 0, checked.changed_tasks()
    assert digest(role.config / "credential_secret") == secret
    assert digest(role.config / "auth.json") == auth
    assert docker_inspect("{{json .State.StartedAt}}") == started
    deployed = again.task_result("Deploy the correlation flow over the admin API")
    assert deployed["changed"] is False and deployed["nodes_added"] == deployed["nodes_changed"] == []


def test_the_files_and_the_pipeline_from_the_inventory(role):
    modes = {name: (oct(os.stat(role.config / name).st_mode & 0o777), os.stat(role.config / name).st_uid)
             for name in ("secrets.json", "auth.json", "credential_secret", "pipeline.json", "settings.js")}
    assert modes["secrets.json"] == ("0o400", 1000)
    assert modes["auth.json"] == ("0o400", 1000)
    assert modes["credential_secret"] == ("0o400", 1000)
    assert modes["pipeline.json"] == ("0o440", 0)
    assert modes["settings.js"] == ("0o440", 0)
    pipeline = json.loads((role.config / "pipeline.json").read_text())
    assert pipeline["version"] == 1
    assert pipeline["stations"] == [{"line": "line1", "station": "st10", "camera": "cam-l1-s10"},
                                    {"line": "line2", "station": "st10", "camera": "cam-l2-s10"}]
    assert pipeline["cameras"]["cam-l2-s10"]["url"] == "https://127.0.0.1:18902"
    assert pipeline["cameras"]["cam-l1-s10"]["url"] == "http://127.0.0.1:18901"
    assert pipeline["mqtt"]["brokers"] == [{"host": "127.0.0.1", "port": 18883, "tls": True,
                                            "ca_file": "/config/ca.crt", "client_id": "ming-nodered-localhost",
                                            "user": "nodered"}]
    assert pipeline["events"] == ["stop", "fault"]
    assert pipeline["influxdb"]["url"] == "https://127.0.0.1:18086" and pipeline["influxdb"]["database"] == "ming"
    assert pipeline["frigate"]["version"] == "0.18.0" and pipeline["webhook"] is None
    # The CA bundle the flow's TLS nodes read: PEM only, one line break per line (a literal backslash-n after the
    # last certificate once made Node.js reject it, and the flow could not reach the broker). Here one CA: the plant's.
    bundle = (role.config / "ca.crt").read_text()
    assert "\\n" not in bundle and bundle.endswith("-----END CERTIFICATE-----\n"), bundle[-80:]
    assert [cert.fingerprint(hashes.SHA256()) for cert in x509.load_pem_x509_certificates(bundle.encode())] == [
        x509.load_pem_x509_certificate((role.base / "ca" / "ca.crt").read_bytes()).fingerprint(hashes.SHA256())]
    stored = json.loads((role.config / "secrets.json").read_text())
    assert stored == {"mqtt_password": SECRETS["mqtt"], "frigate_password": SECRETS["frigate"],
                      "influxdb_password": SECRETS["influxdb"],
                      "camera_password:cam-l1-s10": SECRETS["camera:cam-l1-s10"],
                      "camera_password:cam-l2-s10": SECRETS["camera:cam-l2-s10"]}


def test_no_secret_in_docker_inspect_nor_in_settings_js(role):
    inspected = json.dumps(docker_inspect())
    environ = subprocess.run(["docker", "exec", CONTAINER, "cat", "/proc/1/environ"], capture_output=True,
                             check=True).stdout.decode(errors="replace")
    settings = (role.config / "settings.js").read_text()
    auth = (role.config / "auth.json").read_text()
    for name, value in SECRETS.items():
        assert value not in inspected, f"{name} in docker inspect"
        assert value not in environ, f"{name} in the container's environment"
        assert value not in settings, f"{name} in settings.js"
        assert value not in auth, f"{name} in auth.json"
    assert hashlib.sha256(SECRETS["token"].encode()).hexdigest() in auth
    flows = subprocess.run(["docker", "exec", CONTAINER, "sh", "-c", "cat /data/flows*.json 2>/dev/null; true"],
                           capture_output=True, check=True).stdout.decode(errors="replace")
    assert not any(value in flows for value in SECRETS.values())


def test_the_container_baseline(role):
    config = docker_inspect()
    host = config["HostConfig"]
    assert config["Config"]["User"] == "1000:1000"
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    bindings = host["PortBindings"]["1880/tcp"]
    assert [binding["HostIp"] for binding in bindings] == ["127.0.0.1"]
    mounts = {mount["Destination"]: mount for mount in config["Mounts"]}
    assert mounts["/config"]["RW"] is False and mounts["/data"]["Type"] == "volume"


def test_a_settings_change_restarts_node_red(role):
    secret = digest(role.config / "credential_secret")
    started = docker_inspect("{{json .State.StartedAt}}")
    result = role.run(nodered_log_level="debug")
    assert result.task_changed("Write settings.js (validated with node --check)")
    assert docker_inspect("{{json .State.StartedAt}}") != started
    assert wait_healthy()["Health"]["Status"] == "healthy"
    assert 'level: "debug"' in (role.config / "settings.js").read_text()
    assert digest(role.config / "credential_secret") == secret
    assert request(role, "/flows", token=SECRETS["token"])[0] == 200


def test_no_secret_in_any_output(role):
    assert role.outputs, "no roll-out ran"
    assert role.leaked() == []
