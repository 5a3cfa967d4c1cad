"""nodered_flows against an in-process fake of the Node-RED admin API (a test double, not a real Node-RED; the
real Node-RED 4.1.15 runs in tests/integration/nodered/test_nodered_flows_module.py).

The fake stands in for ``open_url``, the function the transport of module_utils/_api.py calls, and answers the way
Node-RED 4.1's runtime does (``@node-red/runtime/lib/api/flows.js`` and ``flows/index.js``, read for this): v2 GET
``{rev, flows}``; POST with a stale ``rev`` -> 409 ``version_mismatch``; the new rev is the SHA-256 of the stored
flows (so the same flows give the same rev); top-level ``credentials`` replace the named nodes' credentials,
credentials of nodes no longer deployed are dropped, and credentials are never returned; 401 without the right
Bearer token.

Real: the module's main(), module_utils/nodered.py and _api.py (with open_url replaced). AnsibleModule's exit_json,
fail_json and warn are replaced by the run_module fixture (tests/unit/conftest.py), except in
``test_secrets_never_reach_ansibles_output`` which runs the module file as Ansible does, in a subprocess.

Mutations tried (each made the named test fail, then was restored):
- the retry after a 409 removed (the first conflict re-raised): ``test_conflict_once_reads_again_and_retries``.
- ``Plan`` comparing credentials by nothing (the fingerprint of the deployed node copied into the wanted one, so
  they are always equal): ``test_changed_credentials_redeploy_unchanged_do_not``.
- ``no_log=True`` dropped from ``token`` (module_utils/nodered.py): ``test_secrets_never_reach_ansibles_output`` (and
  tests/unit/plugins/modules/test_no_log.py).
- ``differences`` order-sensitive (the node id order compared too): ``test_reordered_nodes_are_no_change``.
- the inline ``credentials`` check removed: ``test_inline_credentials_fail_before_any_request``.
- the check that every credentials entry names a node of flows removed:
  ``test_credentials_for_an_unknown_node_fail_before_any_request``.
- ``same_json`` with Python's ``==`` for scalars (True == 1): ``test_boolean_is_not_a_number``.
- ``same_json`` comparing numbers with ``==`` (not as doubles): ``test_numbers_compare_as_javascript_holds_them``.
- ``verify`` without its warning: ``test_node_red_dropping_a_property_is_warned``.
- a node without a credentials entry no longer keeping the deployed fingerprint:
  ``test_node_without_a_credentials_entry_keeps_its_stored_ones``.
"""

import copy
import hashlib
import io
import json
import os
import subprocess
import sys
from email.message import Message
from urllib.error import HTTPError, URLError
from urllib.parse import urlsplit

import pytest

from ansible_collections.sensingcam.ming.plugins.module_utils import _api
from ansible_collections.sensingcam.ming.plugins.modules import nodered_flows

TOKEN = "svc-token-7Qx9-for-the-nodered-tests"
PASSWORD = "broker-pass-K3y9-secret"
NEW_PASSWORD = "broker-pass-Z8w2-rotated"
MQTT_USER = "nodered-mqtt-user"
COLLECTIONS = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", ".collections")


def rev_of(flows):
    return hashlib.sha256(json.dumps(flows, separators=(",", ":")).encode()).hexdigest()


class OpenUrlResponse:
    def __init__(self, status, content, headers):
        self.status = status
        self.reason = "OK"
        self.headers = headers
        self._body = io.BytesIO(content)

    def getcode(self):
        return self.status

    def read(self, amount=None):
        return self._body.read(amount)

    def close(self):
        pass


class FakeNodeRed:
    """The admin API of one Node-RED runtime at nodered:1880, in process."""

    def __init__(self):
        self.flows = []
        self.credentials = {}
        self.rev = rev_of([])
        self.requests = []
        self.interlopers = 0  # how many of the next deployments someone else gets in first
        self.drop_property = None  # a node property this fake "forgets" when storing
        self.fail_post = None  # (status, body) to answer the next POST with

    def posts(self):
        return [body for method, _path, _headers, body in self.requests if method == "POST"]

    def store(self, flows, credentials=None):
        flows = copy.deepcopy(flows)
        ids = {node["id"] for node in flows}
        for node in flows:
            inline = node.pop("credentials", None)
            if inline:
                self.credentials.setdefault(node["id"], {}).update(inline)
            if self.drop_property:
                node.pop(self.drop_property, None)
        self.credentials = {k: v for k, v in self.credentials.items() if k in ids}
        for node_id, fields in (credentials or {}).items():
            self.credentials[node_id] = fields
        self.flows = flows
        self.rev = rev_of(flows)

    def someone_else_deploys(self):
        self.store(self.flows + [{"id": f"editor-debug-{len(self.flows)}", "type": "debug", "z": "tab-events"}])

    def answer(self, method, path, headers, body):
        if headers.get("authorization") != f"Bearer {TOKEN}":
            return 401, b"Unauthorized"
        if headers.get("node-red-api-version") != "v2":
            return 200, json.dumps(self.flows).encode()
        if path != "/flows":
            return 404, f"Cannot {method} {path}".encode()
        if method == "GET":
            return 200, json.dumps({"rev": self.rev, "flows": self.flows}).encode()
        if self.fail_post:
            status, answer, self.fail_post = self.fail_post[0], self.fail_post[1], None
            return status, json.dumps(answer).encode()
        if self.interlopers:
            self.interlopers -= 1
            self.someone_else_deploys()
        if "rev" in body and body["rev"] != self.rev:
            return 409, json.dumps({"code": "version_mismatch", "message": "Error"}).encode()
        self.store(body["flows"], body.get("credentials"))
        return 200, json.dumps({"rev": self.rev}).encode()

    def __call__(self, url, data=None, headers=None, method="GET", **kwargs):
        parts = urlsplit(url)
        if (parts.hostname, parts.port) != ("nodered", 1880):
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        headers = {k.lower(): v for k, v in (headers or {}).items()}
        body = json.loads(data) if data else None
        self.requests.append((method, parts.path, headers, copy.deepcopy(body)))
        status, content = self.answer(method, parts.path, headers, body)
        reply_headers = Message()
        reply_headers["Content-Type"] = "application/json"
        if status >= 400:
            raise HTTPError(url, status, "error", reply_headers, io.BytesIO(content))
        return OpenUrlResponse(status, content, reply_headers)


@pytest.fixture
def nodered(monkeypatch):
    fake = FakeNodeRed()
    monkeypatch.setattr(_api, "open_url", fake)
    monkeypatch.setattr(_api.ApiClient, "sleep", staticmethod(lambda seconds: None))
    return fake


def flows(password=PASSWORD, **changes):
    nodes = [
        {"id": "tab-events", "type": "tab", "label": "PLC events", "disabled": False},
        {"id": "broker-plant", "type": "mqtt-broker", "name": "plant broker", "broker": "127.0.0.1", "port": "1883",
         "usetls": False},
        {"id": "in-events", "type": "mqtt in", "z": "tab-events", "topic": "factory/line/+/event", "qos": "1",
         "broker": "broker-plant", "datatype": "json", "wires": [["debug-events"]]},
        {"id": "debug-events", "type": "debug", "z": "tab-events", "active": True, "wires": []},
    ]
    for node in nodes:
        node.update(changes.get(node["id"], {}))
    return nodes


def args(nodes=None, password=PASSWORD, **extra):
    base = {"host": "nodered", "token": TOKEN, "retries": 0, "flows": flows() if nodes is None else nodes,
            "credentials": {"broker-plant": {"user": MQTT_USER, "password": password}}}
    base.update(extra)
    return base


def deploy(run_module, **kwargs):
    failed, result = run_module(nodered_flows.main, args(**{k: v for k, v in kwargs.items()
                                                            if k not in ("check_mode", "diff")}),
                                check_mode=kwargs.get("check_mode", False), diff=kwargs.get("diff", False))
    assert not failed, result
    return result


def assert_no_secret(result):
    text = json.dumps(result)
    for secret in (TOKEN, PASSWORD, NEW_PASSWORD, MQTT_USER):
        assert secret not in text, "a secret is in the module's output"


def test_first_deploy_sends_everything_with_the_credentials_apart(run_module, nodered):
    result = deploy(run_module)
    assert result["changed"] is True
    assert result["nodes_added"] == ["broker-plant", "debug-events", "in-events", "tab-events"]
    assert result["nodes_changed"] == result["nodes_removed"] == []
    assert result["credentials_changed"] == ["broker-plant"]
    assert result["rev"] == nodered.rev
    (post,) = nodered.posts()
    assert post["rev"] == rev_of([]), "the deployment carries the rev that was read"
    assert post["credentials"] == {"broker-plant": {"user": MQTT_USER, "password": PASSWORD}}
    assert all("credentials" not in node for node in post["flows"])
    method, _path, headers, _body = nodered.requests[-2]
    assert method == "POST" and headers["node-red-deployment-type"] == "full"
    assert headers["authorization"] == "Bearer " + TOKEN and headers["node-red-api-version"] == "v2"
    assert nodered.credentials == {"broker-plant": {"user": MQTT_USER, "password": PASSWORD}}
    broker = next(node for node in nodered.flows if node["id"] == "broker-plant")
    assert broker[nodered_flows.FINGERPRINT_KEY].startswith("hmac-sha256:")
    assert PASSWORD not in json.dumps(nodered.flows), "the flow holds the fingerprint, never the password"
    assert [request[0] for request in nodered.requests] == ["GET", "POST", "GET"], "read, deploy, read back"
    assert_no_secret(result)


def test_rerun_is_no_change_and_sends_no_deployment(run_module, nodered):
    deploy(run_module)
    rev = nodered.rev
    result = deploy(run_module)
    assert result["changed"] is False
    assert result["nodes_added"] == result["nodes_changed"] == result["nodes_removed"] == []
    assert result["credentials_changed"] == []
    assert len(nodered.posts()) == 1
    assert result["rev"] == rev == nodered.rev


def test_reordered_nodes_are_no_change(run_module, nodered):
    deploy(run_module)
    result = deploy(run_module, nodes=list(reversed(flows())))
    assert result["changed"] is False, result
    assert len(nodered.posts()) == 1


def test_reordered_keys_and_equal_numbers_are_no_change(run_module, nodered):
    deploy(run_module, nodes=flows(**{"debug-events": {"x": 120}}))
    nodes = [dict(reversed(list(node.items()))) for node in flows(**{"debug-events": {"x": 120.0}})]
    result = deploy(run_module, nodes=nodes)
    assert result["changed"] is False, result
    assert len(nodered.posts()) == 1


def test_numbers_compare_as_javascript_holds_them():
    """Node-RED 4.1.15 returns 12345678901234567890 as 12345678901234567000 (seen in the real one): no change."""
    assert nodered_flows.same_json({"n": 12345678901234567890}, {"n": 12345678901234567000})
    assert nodered_flows.same_json([1, -0.0], [1.0, 0])
    assert not nodered_flows.same_json(9007199254740993, 9007199254740995)
    assert not nodered_flows.same_json(10 ** 400, 10 ** 400 + 1)


def test_boolean_is_not_a_number(run_module, nodered):
    deploy(run_module)
    result = deploy(run_module, nodes=flows(**{"debug-events": {"active": 1}}))
    assert result["changed"] is True and result["nodes_changed"] == ["debug-events"], result


def test_changed_node_is_deployed_without_resending_credentials(run_module, nodered):
    deploy(run_module)
    result = deploy(run_module, nodes=flows(**{"in-events": {"topic": "factory/line/line1/event"}}))
    assert result["changed"] is True
    assert result["nodes_changed"] == ["in-events"] and result["nodes_added"] == result["nodes_removed"] == []
    assert result["credentials_changed"] == []
    post = nodered.posts()[-1]
    assert "credentials" not in post, "unchanged credentials are not sent again"
    assert nodered.credentials["broker-plant"]["password"] == PASSWORD, "Node-RED keeps them"
    assert next(n for n in nodered.flows if n["id"] == "in-events")["topic"] == "factory/line/line1/event"


def test_removed_node_is_removed(run_module, nodered):
    deploy(run_module)
    nodes = [node for node in flows() if node["id"] != "debug-events"]
    nodes[2]["wires"] = [[]]
    result = deploy(run_module, nodes=nodes)
    assert result["changed"] is True
    assert result["nodes_removed"] == ["debug-events"] and result["nodes_changed"] == ["in-events"]
    assert "debug-events" not in [node["id"] for node in nodered.flows]


def test_node_added_in_the_editor_is_removed(run_module, nodered):
    deploy(run_module)
    nodered.someone_else_deploys()
    result = deploy(run_module)
    assert result["changed"] is True and result["nodes_removed"] == ["editor-debug-4"], result


def test_changed_credentials_redeploy_unchanged_do_not(run_module, nodered):
    deploy(run_module)
    result = deploy(run_module, password=NEW_PASSWORD, diff=True)
    assert result["changed"] is True
    assert result["nodes_changed"] == ["broker-plant"] and result["credentials_changed"] == ["broker-plant"]
    assert nodered.posts()[-1]["credentials"] == {"broker-plant": {"user": MQTT_USER, "password": NEW_PASSWORD}}
    assert nodered.credentials["broker-plant"]["password"] == NEW_PASSWORD
    assert_no_secret(result)
    result = deploy(run_module, password=NEW_PASSWORD)
    assert result["changed"] is False and len(nodered.posts()) == 2


def test_fingerprint_is_keyed_with_the_token():
    """The same credentials give another fingerprint under another token, and another node id another one too: the
    fingerprint is no plain hash of the secret that could be looked up."""
    credentials = {"user": MQTT_USER, "password": PASSWORD}
    one = nodered_flows.fingerprint(TOKEN, "broker-plant", credentials)
    assert one == nodered_flows.fingerprint(TOKEN, "broker-plant", dict(reversed(list(credentials.items()))))
    assert one != nodered_flows.fingerprint("another-token", "broker-plant", credentials)
    assert one != nodered_flows.fingerprint(TOKEN, "broker-other", credentials)
    assert hashlib.sha256(json.dumps(credentials, sort_keys=True).encode()).hexdigest() not in one


def test_node_without_a_credentials_entry_keeps_its_stored_ones(run_module, nodered):
    deploy(run_module)
    result = deploy(run_module, credentials={})
    assert result["changed"] is False, result
    assert len(nodered.posts()) == 1
    result = deploy(run_module, credentials={}, nodes=flows(**{"debug-events": {"active": False}}))
    assert result["changed"] is True and result["nodes_changed"] == ["debug-events"], result
    assert nodered.credentials["broker-plant"]["password"] == PASSWORD


def test_empty_credentials_clear_the_stored_ones(run_module, nodered):
    deploy(run_module)
    result = deploy(run_module, credentials={"broker-plant": {}})
    assert result["changed"] is True and result["credentials_changed"] == ["broker-plant"]
    assert nodered.credentials["broker-plant"] == {}


def test_conflict_once_reads_again_and_retries(run_module, nodered):
    """Someone deploys (a debug node from the editor) between our read and our deployment: 409, read again, retry
    with the new rev, which removes their node again."""
    deploy(run_module)
    first_rev = nodered.rev
    theirs = rev_of(nodered.flows + [{"id": "editor-debug-4", "type": "debug", "z": "tab-events"}])
    nodered.interlopers = 1
    result = deploy(run_module, password=NEW_PASSWORD)
    assert result["changed"] is True, result
    assert result["nodes_removed"] == ["editor-debug-4"] and result["nodes_changed"] == ["broker-plant"]
    assert [request[0] for request in nodered.requests[-5:]] == ["GET", "POST", "GET", "POST", "GET"]
    assert [post["rev"] for post in nodered.posts()[-2:]] == [first_rev, theirs], "the retry carries their rev"
    assert "editor-debug-4" not in [node["id"] for node in nodered.flows]
    assert nodered.credentials["broker-plant"]["password"] == NEW_PASSWORD
    assert result["rev"] == nodered.rev


def test_conflict_twice_fails_saying_someone_else_deployed(run_module, nodered):
    deploy(run_module)
    nodered.interlopers = 2
    failed, result = run_module(nodered_flows.main, args(password=NEW_PASSWORD))
    assert failed
    assert "HTTP 409" in result["msg"] and "twice" in result["msg"] and "someone else" in result["msg"]
    assert "run it again" in result["msg"]
    assert nodered.credentials["broker-plant"]["password"] == PASSWORD, "nothing of this run was deployed"
    assert_no_secret(result)


def test_wrong_token_is_401_naming_the_option(run_module, nodered):
    wrong = "not-the-service-token-0000"
    failed, result = run_module(nodered_flows.main, args(token=wrong))
    assert failed
    assert "HTTP 401" in result["msg"] and "`token`" in result["msg"] and "adminAuth.tokens" in result["msg"]
    assert wrong not in json.dumps(result)
    assert_no_secret(result)
    assert nodered.posts() == []


def test_check_mode_sends_no_deployment(run_module, nodered):
    result = deploy(run_module, check_mode=True, diff=True)
    assert result["changed"] is True
    assert result["nodes_added"] == ["broker-plant", "debug-events", "in-events", "tab-events"]
    assert result["rev"] == rev_of([])
    assert nodered.posts() == [] and nodered.flows == []
    deploy(run_module)
    result = deploy(run_module, password=NEW_PASSWORD, check_mode=True)
    assert result["changed"] is True and result["credentials_changed"] == ["broker-plant"]
    assert len(nodered.posts()) == 1 and nodered.credentials["broker-plant"]["password"] == PASSWORD


def test_diff_shows_nodes_and_masks_credentials(run_module, nodered):
    result = deploy(run_module, diff=True)
    assert result["diff"]["before"] == {"flows": []}
    after = {node["id"]: node for node in result["diff"]["after"]["flows"]}
    assert [node["id"] for node in result["diff"]["after"]["flows"]] == sorted(after)
    assert after["broker-plant"]["credentials"] == {"password": "********", "user": "********"}
    assert after["in-events"]["topic"] == "factory/line/+/event"
    assert_no_secret(result)
    result = deploy(run_module, diff=True, nodes=flows(**{"in-events": {"qos": "2"}}))
    before = {node["id"]: node for node in result["diff"]["before"]["flows"]}
    after = {node["id"]: node for node in result["diff"]["after"]["flows"]}
    assert (before["in-events"]["qos"], after["in-events"]["qos"]) == ("1", "2")
    assert "credentials" not in after["broker-plant"], "unchanged credentials are not part of the change"
    assert before["broker-plant"] == after["broker-plant"]


def test_deployment_type_is_sent(run_module, nodered):
    deploy(run_module, deployment_type="nodes")
    method, _path, headers, _body = nodered.requests[-2]
    assert method == "POST" and headers["node-red-deployment-type"] == "nodes"


def test_forced_error_carries_no_secret(run_module, nodered):
    """Node-RED failing the deployment with a message that echoes the password and the token: the module's
    message says what failed and keeps neither."""
    nodered.fail_post = (500, {"code": "unexpected_error", "message": f"cannot use {PASSWORD} for {TOKEN}"})
    failed, result = run_module(nodered_flows.main, args(), diff=True)
    assert failed
    assert "HTTP 500" in result["msg"] and "deploy the flows" in result["msg"] and "unexpected_error" in result["msg"]
    assert_no_secret(result)


def test_secrets_never_reach_ansibles_output(tmp_path):
    """The module file run as Ansible runs it (a subprocess with its arguments in a file) against a port where
    nothing listens: the failure, with the ``invocation`` of the module arguments that the controller asks for
    (``_ansible_inject_invocation``), shows neither the token nor a credential."""
    arguments = tmp_path / "args.json"
    module_args = dict(args(), host="127.0.0.1", port=9, timeout=2, _ansible_inject_invocation=True)
    arguments.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": module_args}))
    env = dict(os.environ, PYTHONPATH=os.path.abspath(COLLECTIONS))
    done = subprocess.run([sys.executable, nodered_flows.__file__, str(arguments)], capture_output=True, text=True,
                          env=env, timeout=60, check=False)
    result = json.loads(done.stdout)
    assert result["failed"] is True and "Cannot reach" in result["msg"], result
    assert "invocation" in result and result["invocation"]["module_args"]["host"] == "127.0.0.1"
    assert_no_secret(result)
    assert TOKEN not in done.stderr and PASSWORD not in done.stderr


def test_node_red_dropping_a_property_is_warned(run_module, nodered):
    nodered.drop_property = "label"
    result = deploy(run_module)
    assert result["changed"] is True
    assert len(result["warnings"]) == 1 and "tab-events" in result["warnings"][0], result["warnings"]


@pytest.mark.parametrize("nodes, words", [
    ([{"type": "tab"}], ["flows[0] has no `id`"]),
    ([{"id": "a", "type": "tab"}, {"id": "a", "type": "debug"}], ["'a' twice", "flows[0] and flows[1]"]),
    ([{"id": "a"}], ["flows[0] (id 'a') has no `type`"]),
])
def test_bad_flows_fail_before_any_request(run_module, nodered, nodes, words):
    failed, result = run_module(nodered_flows.main, args(nodes=nodes, credentials={}))
    assert failed
    for word in words:
        assert word in result["msg"], result["msg"]
    assert nodered.requests == []


def test_inline_credentials_fail_before_any_request(run_module, nodered):
    nodes = flows(**{"broker-plant": {"credentials": {"user": "u", "password": "p"}}})
    failed, result = run_module(nodered_flows.main, args(nodes=nodes))
    assert failed
    assert "flows[1] (id 'broker-plant') carries `credentials` inline" in result["msg"]
    assert "`credentials` option" in result["msg"]
    assert nodered.requests == []


def test_credentials_for_an_unknown_node_fail_before_any_request(run_module, nodered):
    failed, result = run_module(nodered_flows.main, args(credentials={"broker-old": {"password": PASSWORD}}))
    assert failed
    assert "'broker-old', which is not in flows" in result["msg"]
    assert_no_secret(result)
    failed, result = run_module(nodered_flows.main, args(credentials={"broker-plant": PASSWORD}))
    assert failed and "credentials['broker-plant'] must be a dict" in result["msg"]
    assert_no_secret(result)
    assert nodered.requests == []
