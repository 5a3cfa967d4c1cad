"""The Node-RED lab image (ming/nodered:lab, images/nodered) running the real Node-RED 4.1.15, never a double.

One container per module (tests/nodered_server.py, settings from ``minimal_settings_js``) serves the admin API
tests; the context durability test and the settings-dependent palette test start containers of their own. Every
container runs with the baseline the nodered role uses: read-only root, tmpfs /tmp, all capabilities dropped,
no-new-privileges, uid 1000. What the module nodered_flows relies on is pinned here against the real runtime:
the service token is the only way in, ``GET /flows`` v2 answers ``{rev, flows}``, a deploy with a stale rev is a 409.

Mutations tried (each made the named test fail, then was restored):
- nodered_server.minimal_settings_js: the tokens function resolves the user whatever the token ->
  test_admin_api_refuses_requests_without_the_service_token.
- nodered_server.minimal_settings_js: the tokens function compares the token itself with the configured hex (no
  SHA-256) -> test_admin_api_accepts_the_service_token_and_reports_4_1_15 (and the refusal test's hex-as-token case
  then passes the token check).
- nodered_server.minimal_settings_js: ``externalModules`` removed -> test_palette_install_is_refused (POST /nodes
  exists again and Node-RED tries npm).
- nodered_server.minimal_settings_js: ``file`` store with ``cache: true`` -> test_file_context_survives_sigkill
  (the value lives in the cache until the 30 s flush; SIGKILL loses it).
- images/nodered/nodered-health.js: ``>= 500`` changed to ``>= 600`` -> test_health_probe_exit_codes (the 500 case).
- images/nodered/nodered-health.js: ``rejectUnauthorized: false`` -> test_health_probe_validates_tls.
- nodered_server.require_docker: the ``docker info`` check removed -> test_no_docker_engine_fails_with_the_hint.
- nodered_server.NodeRed.wait_ready: the exited-container check removed -> test_start_up_failure_reports_the_log
  (it then waited out the timeout and said "did not answer").
- nodered_server.nodered_container: the container not removed on the way out -> test_start_up_failure_reports_the_log.
- nodered_server.nodered_container: ``--publish port:port`` (all addresses) ->
  test_bridge_network_publishes_the_port_on_loopback_only.
"""

import contextlib
import http.server
import json
import ssl
import subprocess
import threading
import time
import uuid

import pytest
from influxdb_v1_server import make_tls_files
from mosquitto_broker import free_port
from nodered_server import (NODE_RED_VERSION, admin_password_hash, minimal_settings_js, nodered_container,
                            require_docker, service_token)

pytestmark = pytest.mark.docker

V2 = {"Node-RED-API-Version": "v2"}


@pytest.fixture(scope="module")
def token_pair():
    return service_token()


@pytest.fixture(scope="module")
def node_red(tmp_path_factory, token_pair):
    """One Node-RED for the read-mostly admin API tests of this module."""
    _token, digest = token_pair
    settings = minimal_settings_js(free_port(), digest)
    with nodered_container(tmp_path_factory.mktemp("nodered"), settings, name_hint="image") as running:
        yield running


def docker_exec(container, *command):
    return subprocess.run(["docker", "exec", container, *command], capture_output=True, text=True, check=False,
                          timeout=60)


def test_admin_api_accepts_the_service_token_and_reports_4_1_15(node_red, token_pair):
    token, _digest = token_pair
    status, settings = node_red.request("GET", "/settings", token=token)
    assert status == 200, settings
    assert settings["version"] == NODE_RED_VERSION
    assert settings["user"]["username"] == "ming-automation"


def test_admin_api_refuses_requests_without_the_service_token(node_red, token_pair):
    token, digest = token_pair
    assert node_red.request("GET", "/flows")[0] == 401
    assert node_red.request("GET", "/settings")[0] == 401
    for wrong in ("wrong", token[:-1], token + "x", digest):
        assert node_red.request("GET", "/flows", token=wrong)[0] == 401, f"token {wrong!r} was accepted"
    # Without adminAuth the login probe would answer {}: here it describes the credentials login.
    status, login = node_red.request("GET", "/auth/login")
    assert status == 200 and login.get("type") == "credentials"


def test_container_runs_as_uid_1000_with_a_read_only_root(node_red):
    inspected = json.loads(subprocess.run(["docker", "inspect", node_red.container], capture_output=True, text=True,
                                          check=True).stdout)[0]
    assert inspected["HostConfig"]["ReadonlyRootfs"] is True
    assert inspected["Config"]["User"] == "1000:1000"
    assert inspected["Config"]["Cmd"] == ["node", "/opt/node-red/node_modules/node-red/red.js",
                                          "--settings", "/config/settings.js", "--userDir", "/data"]
    # PID 1 is Node-RED itself (the CMD in exec form; it renames its process): real and effective ids, no capability.
    status = docker_exec(node_red.container, "cat", "/proc/1/status").stdout
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    assert fields["Uid"].split() == ["1000"] * 4
    assert fields["Gid"].split() == ["1000"] * 4
    assert int(fields["CapEff"].strip(), 16) == 0
    assert docker_exec(node_red.container, "cat", "/proc/1/cmdline").stdout.split("\0")[0] == "node-red"
    written = docker_exec(node_red.container, "touch", "/opt/node-red/written")
    assert written.returncode != 0 and "Read-only file system" in written.stderr
    # What Node-RED writes lands in the /data volume.
    assert (node_red.data_dir / "flows.json").exists() or (node_red.data_dir / ".config.runtime.json").exists()


def test_flows_v2_answers_rev_and_flows(node_red, token_pair):
    token, _digest = token_pair
    status, body = node_red.request("GET", "/flows", token=token, headers=V2)
    assert status == 200
    assert set(body) == {"rev", "flows"}
    assert isinstance(body["flows"], list) and isinstance(body["rev"], str) and body["rev"]
    # Version 1 (no header) is the bare list.
    status, bare = node_red.request("GET", "/flows", token=token)
    assert status == 200 and isinstance(bare, list)


def test_deploy_with_a_stale_rev_is_refused_with_409(node_red, token_pair):
    """nodered_flows re-reads and retries once on 409: the conflict answer of the real runtime, and that nothing
    was deployed by the refused request."""
    token, _digest = token_pair
    tab = {"id": "ming-image-rev-tab", "type": "tab", "label": "rev test", "disabled": False, "info": ""}
    status, before = node_red.request("GET", "/flows", token=token, headers=V2)
    assert status == 200
    status, body = node_red.request("POST", "/flows", token=token, headers=V2,
                                    body={"rev": "0" * 64, "flows": before["flows"] + [tab]})
    assert status == 409
    assert body == {"code": "version_mismatch", "message": "Error"}
    status, unchanged = node_red.request("GET", "/flows", token=token, headers=V2)
    assert unchanged == before
    # With the current rev the same deployment is taken and the rev moves on.
    status, body = node_red.request("POST", "/flows", token=token, headers={**V2, "Node-RED-Deployment-Type": "full"},
                                    body={"rev": before["rev"], "flows": before["flows"] + [tab]})
    assert status == 200, body
    assert body["rev"] != before["rev"]
    status, after = node_red.request("GET", "/flows", token=token, headers=V2)
    assert after["rev"] == body["rev"]
    assert "ming-image-rev-tab" in {node["id"] for node in after["flows"]}


def test_palette_install_is_refused(node_red, token_pair):
    """externalModules.palette.allowInstall false: Node-RED registers no POST /nodes at all, so nothing can be
    installed into /data over the API (the image also runs without any palette node)."""
    token, _digest = token_pair
    status, body = node_red.request("POST", "/nodes", token=token, body={"module": "ming-no-such-palette-module"})
    assert status == 404 and "Cannot POST /nodes" in body
    status, settings = node_red.request("GET", "/settings", token=token)
    assert settings["externalModules"]["palette"]["allowInstall"] is False
    assert "Palette editor disabled : user settings" in node_red.logs()
    status, nodes = node_red.request("GET", "/nodes", token=token, headers={"Accept": "application/json"})
    assert status == 200
    assert {entry["module"] for entry in nodes} == {"node-red"}, "a palette module beyond the core nodes is loaded"


CONTEXT_FLOW = [
    {"id": "ming-ctx-tab", "type": "tab", "label": "context durability", "disabled": False, "info": ""},
    {"id": "ming-ctx-put", "type": "http in", "z": "ming-ctx-tab", "name": "", "url": "/ming-test/context",
     "method": "post", "upload": False, "swaggerDoc": "", "x": 100, "y": 40, "wires": [["ming-ctx-set"]]},
    {"id": "ming-ctx-set", "type": "function", "z": "ming-ctx-tab", "name": "store in file context", "outputs": 1,
     "func": ('flow.set("k", msg.payload.value, "file", function (err) {\n'
              '    msg.payload = err ? {error: String(err)} : {stored: msg.payload.value};\n'
              '    if (err) { msg.statusCode = 500; }\n'
              '    node.send(msg);\n'
              '});\nreturn null;'),
     "noerr": 0, "initialize": "", "finalize": "", "libs": [], "x": 300, "y": 40, "wires": [["ming-ctx-out"]]},
    {"id": "ming-ctx-get", "type": "http in", "z": "ming-ctx-tab", "name": "", "url": "/ming-test/context",
     "method": "get", "upload": False, "swaggerDoc": "", "x": 100, "y": 100, "wires": [["ming-ctx-read"]]},
    {"id": "ming-ctx-read", "type": "function", "z": "ming-ctx-tab", "name": "read file context", "outputs": 1,
     "func": ('flow.get("k", "file", function (err, value) {\n'
              '    msg.payload = {value: value === undefined ? null : value, error: err ? String(err) : null};\n'
              '    node.send(msg);\n'
              '});\nreturn null;'),
     "noerr": 0, "initialize": "", "finalize": "", "libs": [], "x": 300, "y": 100, "wires": [["ming-ctx-out"]]},
    {"id": "ming-ctx-out", "type": "http response", "z": "ming-ctx-tab", "name": "", "statusCode": "",
     "headers": {}, "x": 500, "y": 70, "wires": []},
]


def poll(call, accept, timeout=30.0):
    """Call ``call()`` until ``accept(result)`` or ``timeout``; returns the last result."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = call()
        except OSError as error:
            result = error
        if (not isinstance(result, OSError) and accept(result)) or time.monotonic() > deadline:
            return result
        time.sleep(0.2)


def test_file_context_survives_sigkill(tmp_path, token_pair):
    """A value written to the localfilesystem store with cache off is on disk when the write's callback runs: it
    survives SIGKILL (no shutdown flush) and a restart on the same /data."""
    token, digest = token_pair
    with nodered_container(tmp_path, minimal_settings_js(free_port(), digest), name_hint="context") as running:
        status, body = running.request("POST", "/flows", token=token, headers=V2, body={"flows": CONTEXT_FLOW})
        assert status == 200, body
        value = f"kept-{uuid.uuid4().hex}"
        stored = poll(lambda: running.request("POST", "/ming-test/context", body={"value": value}),
                      lambda result: result[0] == 200)
        assert stored == (200, {"stored": value}), running.logs()
        running.kill()
        assert running.state().get("Running") is False
        running.start()
        read = poll(lambda: running.request("GET", "/ming-test/context"), lambda result: result[0] == 200)
        assert read == (200, {"value": value, "error": None}), running.logs()


class _Answer(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the http.server interface
        self.send_response(int(self.path.strip("/") or 200))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def answering_server(context=None):
    """A loopback HTTP(S) server answering GET /<status> with that status (reachable from the host-network
    container)."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def health(container, *args):
    return docker_exec(container, "nodered-health", *args)


def test_health_probe_exit_codes(node_red):
    assert health(node_red.container, f"{node_red.url}/auth/login").returncode == 0
    with answering_server() as port:
        assert health(node_red.container, f"http://127.0.0.1:{port}/404").returncode == 0
        assert health(node_red.container, f"http://127.0.0.1:{port}/499").returncode == 0
        answered_500 = health(node_red.container, f"http://127.0.0.1:{port}/500")
        assert answered_500.returncode == 1 and "HTTP 500" in answered_500.stderr
        assert health(node_red.container, f"http://127.0.0.1:{port}/503").returncode == 1
    refused = health(node_red.container, f"http://127.0.0.1:{free_port()}/auth/login")
    assert refused.returncode == 1 and "ECONNREFUSED" in refused.stderr
    assert health(node_red.container).returncode == 1
    assert health(node_red.container, "not a url").returncode == 1


def test_health_probe_validates_tls(node_red, tmp_path):
    """HTTPS: 0 only when the certificate chains to the CA file given and matches the URL's host."""
    ca_pem, server_pem = make_tls_files(tmp_path)
    (tmp_path / "other").mkdir()
    other_ca, _other_server = make_tls_files(tmp_path / "other")
    # /config is the host directory mounted read-only: files put there now are visible in the container.
    (node_red.config_dir / "health-ca.pem").write_bytes(ca_pem.read_bytes())
    (node_red.config_dir / "health-other-ca.pem").write_bytes(other_ca.read_bytes())
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(server_pem)
    with answering_server(context) as port:
        assert health(node_red.container, f"https://127.0.0.1:{port}/200", "/config/health-ca.pem").returncode == 0
        assert health(node_red.container, f"https://localhost:{port}/200", "/config/health-ca.pem").returncode == 0
        wrong_ca = health(node_red.container, f"https://127.0.0.1:{port}/200", "/config/health-other-ca.pem")
        assert wrong_ca.returncode == 1
        untrusted = health(node_red.container, f"https://127.0.0.1:{port}/200")
        assert untrusted.returncode == 1 and "certificate" in untrusted.stderr
    missing = health(node_red.container, "https://127.0.0.1:1/", "/config/no-such-ca.pem")
    assert missing.returncode == 1 and "cannot read the CA file" in missing.stderr


def test_no_docker_engine_fails_with_the_hint(tmp_path, monkeypatch):
    """The fixture fails (never skips) with the commands that fix it: no docker CLI, then an engine that does not
    answer (a stand-in docker that exits 1)."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.fail.Exception, match="docker CLI is missing: run scripts/docker-engine.sh"):
        require_docker()
    fake = tmp_path / "docker"
    fake.write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(pytest.fail.Exception, match=r"no Docker engine answers \(Cannot connect.*scripts/build-lab"):
        require_docker()


def test_start_up_failure_reports_the_log(tmp_path, token_pair):
    """A settings.js Node-RED cannot load: the fixture's error carries the container's log (Node-RED's own message)
    and the container is gone afterwards."""
    _token, digest = token_pair
    broken = minimal_settings_js(free_port(), digest, extra="    broken: ,")
    starting = nodered_container(tmp_path, broken, name_hint="broken", startup_timeout=30)

    def start():
        with starting:
            pytest.fail("Node-RED started with a settings.js that does not parse")

    with pytest.raises(RuntimeError) as raised:
        start()
    message = str(raised.value)
    assert "exited" in message and "Error loading settings file" in message, message
    name = message.split("container ", 1)[1].split(" ", 1)[0]
    assert name.startswith("ming-nodered-test-broken-")
    left = subprocess.run(["docker", "ps", "--all", "--quiet", "--filter", f"name={name}"], capture_output=True,
                          text=True, check=True).stdout
    assert left.strip() == ""


def test_https_node_red_passes_its_own_health_probe(tmp_path, token_pair):
    """Node-RED serving HTTPS with a key and certificate from the read-only /config, probed the way the nodered
    role's Compose healthcheck does (nodered-health https://127.0.0.1:<port>/auth/login <ca>)."""
    token, digest = token_pair
    ca_pem, _bundle = make_tls_files(tmp_path)
    files = {"ca.crt": ca_pem.read_bytes(), "tls/server.crt": (tmp_path / "server.crt").read_bytes(),
             "tls/server.key": (tmp_path / "server.key").read_bytes()}
    tls = ('    https: {key: require("fs").readFileSync("/config/tls/server.key"),\n'
           '            cert: require("fs").readFileSync("/config/tls/server.crt")},')
    port = free_port()
    with nodered_container(tmp_path, minimal_settings_js(port, digest, extra=tls), files=files, name_hint="https",
                           https=True) as running:
        assert running.url.startswith("https://")
        assert running.request("GET", "/settings", token=token)[0] == 200
        probe = f"https://127.0.0.1:{port}/auth/login"
        assert health(running.container, probe, "/config/ca.crt").returncode == 0
        assert health(running.container, probe).returncode == 1, "accepted a certificate without its CA"
        assert health(running.container, f"http://127.0.0.1:{port}/auth/login").returncode == 1


def test_admin_user_logs_in_with_its_password_only(tmp_path, token_pair):
    """minimal_settings_js(admin_hash=...): the editor user ``admin`` gets a Node-RED access token for its password
    (POST /auth/token, the editor's own login) and nothing for another; the service token still works beside it."""
    token, digest = token_pair
    password = "adm-" + uuid.uuid4().hex + "'\"$"
    settings = minimal_settings_js(free_port(), digest, admin_hash=admin_password_hash(password))
    with nodered_container(tmp_path, settings, name_hint="admin") as running:
        login = {"client_id": "node-red-admin", "grant_type": "password", "scope": "*", "username": "admin"}
        status, body = running.request("POST", "/auth/token", body={**login, "password": password})
        assert status == 200, body
        assert running.request("GET", "/settings", token=body["access_token"])[0] == 200
        # oauth2orize answers a wrong password with 403 (invalid_grant), not 401.
        assert running.request("POST", "/auth/token", body={**login, "password": password + "x"})[0] == 403
        assert running.request("GET", "/settings", token=token)[0] == 200
        assert password not in (running.config_dir / "settings.js").read_text()


def test_bridge_network_publishes_the_port_on_loopback_only(tmp_path, token_pair):
    """network_host=False: the container on Docker's default bridge, its port published on 127.0.0.1 only."""
    token, digest = token_pair
    port = free_port()
    settings = minimal_settings_js(port, digest, host="0.0.0.0")  # noqa: S104 - inside the container's own netns
    with nodered_container(tmp_path, settings, network_host=False, name_hint="bridge") as running:
        assert running.request("GET", "/settings", token=token)[0] == 200
        inspected = json.loads(subprocess.run(["docker", "inspect", running.container], capture_output=True,
                                              text=True, check=True).stdout)[0]
        assert inspected["HostConfig"]["NetworkMode"] in ("default", "bridge")
        published = [{"HostIp": "127.0.0.1", "HostPort": str(port)}]
        assert inspected["HostConfig"]["PortBindings"] == {f"{port}/tcp": published}
