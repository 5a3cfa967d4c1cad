"""nodered_flows against the real Node-RED 4.1.15 of the lab image (ming/nodered:lab via tests/nodered_server.py),
never a double: one container per test module (adminAuth with the service token only, credentialSecret set), each
test deploying its own complete flow configuration (a full deployment replaces whatever the previous test left).

The module runs in-process (its main(), with AnsibleModule's exit_json/fail_json replaced to read the result); the
``sent`` fixture wraps ``_api.open_url`` (the real transport) and records every request, so "no deployment on the
second run" is asserted on what was sent, and Node-RED's own ``rev`` (a hash of the stored flows) is checked too.

What this found out about Node-RED 4.1.15 (and the module documents): GET /flows returns every node exactly as it
was posted, in the posted order, unknown properties (``ming_credentials_hmac``) included and ``credentials`` never;
posting the same flows again gives the same rev; a stale rev is 409 ``version_mismatch``; the credentials go to
flows_cred.json, encrypted with credentialSecret (AES-256-CTR under the SHA-256 of the secret).

Mutations tried (each made the named test fail, then was restored):
- the retry after a 409 removed: ``test_someone_deploying_in_between_is_retried_once`` (a real 409).
- credentials compared by nothing (the deployed fingerprint copied into the wanted node):
  ``test_check_apply_rerun_change_password`` (the new password never reached flows_cred.json).
- ``differences`` order-sensitive: ``test_reordered_flows_are_no_change``.
- ``same_json`` comparing numbers with ``==`` (not as doubles): ``test_varied_nodes_come_back_as_deployed``.
"""

import base64
import hashlib
import json
import time

import pytest
from ansible.module_utils import basic
from ansible.module_utils.common.text.converters import to_bytes
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from mosquitto_broker import free_port
from nodered_server import minimal_settings_js, nodered_container, service_token

from ansible_collections.sensingcam.ming.plugins.module_utils import _api
from ansible_collections.sensingcam.ming.plugins.module_utils.nodered import NodeRedClient
from ansible_collections.sensingcam.ming.plugins.modules import nodered_flows

try:
    from ansible.module_utils.testing import patch_module_args
except ImportError:  # ansible-core < 2.19
    patch_module_args = None

pytestmark = [pytest.mark.docker, pytest.mark.slow]

CREDENTIAL_SECRET = "ming-test-credential-secret"  # what minimal_settings_js writes  # noqa: S105
PASSWORD = "mqtt-Pw-4f9c-first"  # noqa: S105
NEW_PASSWORD = "mqtt-Pw-8d2e-rotated"  # noqa: S105
MQTT_USER = "nodered-flows-user"


class ModuleExit(Exception):
    def __init__(self, result):
        super().__init__(result)
        self.result = result


@pytest.fixture(scope="module")
def node_red(tmp_path_factory):
    """One real Node-RED 4.1.15 for this file; ``.token`` is its service token."""
    token, token_sha256 = service_token()
    port = free_port()
    with nodered_container(tmp_path_factory.mktemp("nodered-flows"), minimal_settings_js(port, token_sha256),
                           name_hint="module-flows") as server:
        server.token = token
        yield server


@pytest.fixture
def sent(monkeypatch):
    """Every request the module sends through the real transport: a list of (method, path, JSON body)."""
    requests = []
    real_open_url = _api.open_url

    def recording_open_url(url, data=None, headers=None, method="GET", **kwargs):
        requests.append((method, url.split("://", 1)[1].split("/", 1)[1], json.loads(data) if data else None))
        return real_open_url(url, data=data, headers=headers, method=method, **kwargs)

    monkeypatch.setattr(_api, "open_url", recording_open_url)
    return requests


@pytest.fixture
def run(monkeypatch, node_red):
    """``run(check_mode=False, diff=False, **args)`` runs nodered_flows against ``node_red`` -> (failed, result)."""
    warnings = []
    monkeypatch.setattr(basic.AnsibleModule, "warn", lambda self, warning: warnings.append(warning))

    def done(failed):
        def finish(self, **kwargs):
            kwargs.setdefault("changed", False)
            raise ModuleExit(dict(kwargs, failed=failed, warnings=list(warnings)))
        return finish

    monkeypatch.setattr(basic.AnsibleModule, "exit_json", done(False))
    monkeypatch.setattr(basic.AnsibleModule, "fail_json", done(True))

    def run_module(check_mode=False, diff=False, **args):
        warnings.clear()
        module_args = {"host": "127.0.0.1", "port": node_red.port, "token": node_red.token, "retries": 0}
        module_args.update(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
        try:
            if patch_module_args is not None:
                with patch_module_args(module_args):
                    nodered_flows.main()
            else:
                monkeypatch.setattr(basic, "_ANSIBLE_ARGS",
                                    to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": module_args})))
                nodered_flows.main()
        except ModuleExit as exit_:
            return exit_.result["failed"], exit_.result
        raise AssertionError("module returned without exit_json or fail_json")

    return run_module


def flows(prefix, **changes):
    """A small flow: a tab, an MQTT broker config node (with credentials), an mqtt in node and a debug node. The
    broker node does not connect on its own (``autoConnect: false``): stopping a node that keeps reconnecting to a
    broker that is not there costs Node-RED 2 s per deployment."""
    nodes = [
        {"id": f"{prefix}-tab", "type": "tab", "label": "PLC events", "disabled": False, "info": ""},
        {"id": f"{prefix}-broker", "type": "mqtt-broker", "name": "plant broker", "broker": "127.0.0.1",
         "port": "1", "clientid": "", "usetls": False, "protocolVersion": "4", "keepalive": "60",
         "cleansession": True, "autoUnsubscribe": True, "autoConnect": False},
        {"id": f"{prefix}-in", "type": "mqtt in", "z": f"{prefix}-tab", "name": "PLC events",
         "topic": "factory/line/+/event", "qos": "1", "datatype": "json", "broker": f"{prefix}-broker", "nl": False,
         "rap": True, "rh": 0, "inputs": 0, "x": 140, "y": 80, "wires": [[f"{prefix}-debug"]]},
        {"id": f"{prefix}-debug", "type": "debug", "z": f"{prefix}-tab", "name": "events", "active": True,
         "tosidebar": True, "console": False, "complete": "payload", "targetType": "msg", "x": 360, "y": 80,
         "wires": []},
    ]
    for node in nodes:
        node.update(changes.get(node["id"], {}))
    return nodes


def credentials(prefix, password=PASSWORD):
    return {f"{prefix}-broker": {"user": MQTT_USER, "password": password}}


def deployed(node_red):
    """(rev, flows) as Node-RED reports them, read with our own request, not the module's client."""
    status, body = node_red.request("GET", "/flows", token=node_red.token, headers={"Node-RED-API-Version": "v2"})
    assert status == 200, body
    return body["rev"], body["flows"]


def wait_for_flows(node_red, node_id, timeout=30.0):
    """Bounded poll of GET /flows until Node-RED, started again, reports the node ``node_id`` from /data."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        status, body = node_red.request("GET", "/flows", token=node_red.token, headers={"Node-RED-API-Version": "v2"})
        last = (status, body)
        if status == 200 and node_id in [node.get("id") for node in body.get("flows") or []]:
            return
        time.sleep(0.2)
    raise AssertionError(f"Node-RED did not report {node_id} within {timeout:.0f} s after the restart: {last}")


def stored_credentials(node_red):
    """flows_cred.json decrypted with the credentialSecret of the settings (Node-RED's aes-256-ctr scheme)."""
    blob = json.loads((node_red.data_dir / "flows_cred.json").read_text())["$"]
    key = hashlib.sha256(CREDENTIAL_SECRET.encode()).digest()
    decryptor = Cipher(algorithms.AES(key), modes.CTR(bytes.fromhex(blob[:32]))).decryptor()
    return json.loads(decryptor.update(base64.b64decode(blob[32:])) + decryptor.finalize())


def posts(requests):
    return [body for method, path, body in requests if method == "POST" and path == "flows"]


def assert_no_secret(result, node_red):
    text = json.dumps(result)
    for secret in (PASSWORD, NEW_PASSWORD, MQTT_USER, node_red.token):
        assert secret not in text, "a secret is in the module's output"


def test_check_apply_rerun_change_password(run, node_red, sent):
    """Against the real Node-RED 4.1.15: check mode, deploy, re-run without a deployment, password change,
    re-run; the password reaches flows_cred.json (encrypted) and never flows.json or the module's output."""
    rev_before, _flows = deployed(node_red)

    failed, result = run(check_mode=True, diff=True, flows=flows("life"), credentials=credentials("life"))
    assert not failed and result["changed"] is True, result
    assert "life-broker" in result["nodes_added"] and result["credentials_changed"] == ["life-broker"]
    assert posts(sent) == [] and deployed(node_red)[0] == rev_before
    assert_no_secret(result, node_red)

    failed, result = run(flows=flows("life"), credentials=credentials("life"))
    assert not failed and result["changed"] is True, result
    assert result["nodes_added"] == ["life-broker", "life-debug", "life-in", "life-tab"]
    rev, nodes = deployed(node_red)
    assert result["rev"] == rev != rev_before
    assert sorted(node["id"] for node in nodes) == result["nodes_added"]
    assert stored_credentials(node_red)["life-broker"] == {"user": MQTT_USER, "password": PASSWORD}
    status, safe = node_red.request("GET", "/credentials/mqtt-broker/life-broker", token=node_red.token)
    assert (status, safe) == (200, {"user": MQTT_USER, "has_password": True})
    assert result["warnings"] == [], "Node-RED returned every node as deployed"

    sent.clear()
    failed, result = run(flows=flows("life"), credentials=credentials("life"))
    assert not failed and result["changed"] is False, result
    assert posts(sent) == [] and [method for method, _path, _body in sent] == ["GET"]
    assert deployed(node_red)[0] == rev == result["rev"]

    failed, result = run(flows=flows("life"), credentials=credentials("life", NEW_PASSWORD), diff=True)
    assert not failed and result["changed"] is True, result
    assert result["nodes_changed"] == result["credentials_changed"] == ["life-broker"]
    assert stored_credentials(node_red)["life-broker"] == {"user": MQTT_USER, "password": NEW_PASSWORD}
    assert deployed(node_red)[0] != rev
    assert_no_secret(result, node_red)

    flow_file = (node_red.data_dir / "flows.json").read_text()
    credential_file = (node_red.data_dir / "flows_cred.json").read_text()
    for secret in (PASSWORD, NEW_PASSWORD, MQTT_USER):
        assert secret not in flow_file and secret not in credential_file

    sent.clear()
    failed, result = run(flows=flows("life"), credentials=credentials("life", NEW_PASSWORD))
    assert not failed and result["changed"] is False and posts(sent) == [], result

    rev = deployed(node_red)[0]
    failed, result = run(check_mode=True, flows=flows("life", **{"life-debug": {"active": False}}),
                         credentials=credentials("life", NEW_PASSWORD))
    assert not failed and result["changed"] is True and result["nodes_changed"] == ["life-debug"], result
    assert posts(sent) == [] and deployed(node_red)[0] == rev


def test_reordered_flows_are_no_change(run, node_red, sent):
    """Against the real Node-RED 4.1.15: the same nodes in another order (keys too) are no change."""
    failed, result = run(flows=flows("order"), credentials=credentials("order"))
    assert not failed and result["changed"] is True, result
    sent.clear()
    reordered = [dict(reversed(list(node.items()))) for node in reversed(flows("order"))]
    failed, result = run(flows=reordered, credentials=credentials("order"))
    assert not failed and result["changed"] is False, result
    assert posts(sent) == []


def test_fingerprint_survives_a_restart(run, node_red, sent):
    """Against the real Node-RED 4.1.15, killed (SIGKILL) and started again: the flows it loads from /data still
    carry the fingerprint, so a re-run is no change."""
    failed, result = run(flows=flows("restart"), credentials=credentials("restart"))
    assert not failed and result["changed"] is True, result
    node_red.kill()
    node_red.start()
    wait_for_flows(node_red, "restart-tab")
    sent.clear()
    failed, result = run(flows=flows("restart"), credentials=credentials("restart"))
    assert not failed and result["changed"] is False, result
    assert posts(sent) == []
    assert stored_credentials(node_red)["restart-broker"]["password"] == PASSWORD


def test_varied_nodes_come_back_as_deployed(run, node_red, sent):
    """Against the real Node-RED 4.1.15: the kinds of node the correlation flow uses (groups, function nodes with
    libs, http request with a TLS config node and credentials, catch, global-config), non-ASCII and long text and
    an integer beyond 2**53 come back so that a re-run is no change and nothing is warned about."""
    nodes = [
        {"id": "vary-tab", "type": "tab", "label": "Linie 1 – Störung ✓", "disabled": False, "info": 'é\n"q"',
         "env": []},
        {"id": "vary-group", "type": "group", "z": "vary-tab", "name": "correlate", "style": {"label": True},
         "nodes": ["vary-function"], "x": 14, "y": 19, "w": 232, "h": 82},
        {"id": "vary-function", "type": "function", "z": "vary-tab", "g": "vary-group", "name": "correlate",
         "func": "const ming = global.get('ming');\nreturn [msg, null];", "outputs": 2, "timeout": 0, "noerr": 0,
         "initialize": "", "finalize": "", "libs": [{"var": "crypto", "module": "crypto"}], "x": 130.5, "y": 60,
         "wires": [["vary-http"], []]},
        {"id": "vary-http", "type": "http request", "z": "vary-tab", "method": "POST", "ret": "obj",
         "paytoqs": "ignore", "url": "https://127.0.0.1:1/api/login", "tls": "vary-tls", "persist": False,
         "proxy": "", "insecureHTTPParser": False, "authType": "basic", "senderr": False, "headers": [], "x": 330,
         "y": 60, "wires": [["vary-catch"]]},
        {"id": "vary-tls", "type": "tls-config", "name": "plant CA", "cert": "", "key": "", "ca": "/config/ca.crt",
         "certname": "", "keyname": "", "caname": "", "servername": "", "verifyservercert": True, "alpnprotocol": ""},
        {"id": "vary-catch", "type": "catch", "z": "vary-tab", "scope": None, "uncaught": False, "wires": [[]]},
        {"id": "vary-comment", "type": "comment", "z": "vary-tab", "name": "long", "info": "x" * 100000,
         "big": 12345678901234567890},
        {"id": "vary-global", "type": "global-config", "env": [], "modules": {}},
    ]
    secret = {"vary-http": {"user": MQTT_USER, "password": PASSWORD}}
    failed, result = run(flows=nodes, credentials=secret)
    assert not failed and result["changed"] is True and result["warnings"] == [], result
    sent.clear()
    failed, result = run(flows=nodes, credentials=secret)
    assert not failed and result["changed"] is False, result
    assert posts(sent) == []
    status, safe = node_red.request("GET", "/credentials/http-request/vary-http", token=node_red.token)
    assert (status, safe) == (200, {"user": MQTT_USER, "has_password": True})


def test_someone_deploying_in_between_is_retried_once(run, node_red, sent, monkeypatch):
    """Against the real Node-RED 4.1.15: right after the module's first read, someone else deploys (a debug node
    added in the editor); Node-RED answers the module's deployment with a real 409, the module reads again and
    deploys on the new rev, removing the other node."""
    failed, result = run(flows=flows("race"), credentials=credentials("race"))
    assert not failed, result
    real_get_flows = NodeRedClient.get_flows
    reads = []

    def read_then_someone_deploys(client):
        rev, nodes = real_get_flows(client)
        reads.append(rev)
        if len(reads) == 1:
            theirs = nodes + [{"id": "editor-debug", "type": "debug", "z": "race-tab", "active": True, "wires": []}]
            status, body = node_red.request("POST", "/flows", token=node_red.token,
                                            headers={"Node-RED-API-Version": "v2"}, body={"rev": rev, "flows": theirs})
            assert status == 200, body
        return rev, nodes

    monkeypatch.setattr(NodeRedClient, "get_flows", read_then_someone_deploys)
    sent.clear()
    failed, result = run(flows=flows("race", **{"race-debug": {"name": "events v2"}}), credentials=credentials("race"))
    assert not failed and result["changed"] is True, result
    assert result["nodes_removed"] == ["editor-debug"] and result["nodes_changed"] == ["race-debug"]
    assert [body["rev"] for body in posts(sent)] == reads[:2] and reads[0] != reads[1]
    rev, nodes = deployed(node_red)
    assert "editor-debug" not in [node["id"] for node in nodes] and result["rev"] == rev


def test_wrong_token_is_refused_naming_the_option(run, node_red, sent):
    """Against the real Node-RED 4.1.15 with adminAuth.tokens: another token is HTTP 401, named."""
    wrong = "not-the-service-token-of-this-node-red"
    failed, result = run(token=wrong, flows=flows("token"), credentials=credentials("token"))
    assert failed
    assert "HTTP 401" in result["msg"] and "`token`" in result["msg"], result["msg"]
    assert wrong not in json.dumps(result) and posts(sent) == []
    assert_no_secret(result, node_red)
