"""NodeRedClient (module_utils/nodered.py) against scripted answers (a double given as the client's ``opener``, not a
real Node-RED; the real Node-RED 4.1.15 is in tests/integration/nodered/test_nodered_flows_module.py): the headers
every request carries, the v2 flow response, and how each HTTP status Node-RED answers becomes a message that names
what to fix and never the token.

Mutations tried (each made the named test fail, then was restored):
- the ``Node-RED-API-Version`` header not set: ``test_every_request_carries_the_token_and_the_api_version``.
- ``get_flows`` accepting a bare list (a v1 answer): ``test_a_v1_answer_is_a_protocol_error``.
- ``status_error`` without its 409 branch: ``test_status_messages[409]`` (kind ``http``, no "someone else").
- ``status_error`` without its 403 branch: ``test_status_messages[403]``.
- ``post_flows`` idempotent (retried): ``test_a_deployment_is_never_retried``.
"""

import io
import json
from email.message import Message
from urllib.error import HTTPError

import pytest

from ansible_collections.sensingcam.ming.plugins.module_utils.nodered import NodeRedClient, NodeRedError

TOKEN = "svc-token-Q2w8-module-utils-test"


class Scripted:
    """Answers each request with the next (status, body) of ``answers``; records (method, url, headers, body)."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests = []

    def __call__(self, url, data=None, headers=None, method="GET", **kwargs):
        self.requests.append((method, url, dict(headers or {}), json.loads(data) if data else None))
        status, body = self.answers.pop(0)
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        reply_headers = Message()
        reply_headers["Content-Type"] = "application/json"
        if status >= 400:
            raise HTTPError(url, status, "error", reply_headers, io.BytesIO(content))
        response = io.BytesIO(content)
        response.status, response.reason, response.headers = status, "OK", reply_headers
        response.getcode = lambda: status
        return response


def client(opener, token=TOKEN, retries=2):
    return NodeRedClient("nodered", token=token, opener=opener, retries=retries, sleep=lambda seconds: None)


def test_every_request_carries_the_token_and_the_api_version():
    opener = Scripted((200, {"rev": "r1", "flows": [{"id": "a", "type": "tab"}]}), (200, {"rev": "r2"}))
    nodered = client(opener)
    assert nodered.base_url == "http://nodered:1880"
    assert nodered.get_flows() == ("r1", [{"id": "a", "type": "tab"}])
    assert nodered.post_flows("r1", [{"id": "a", "type": "tab"}], {"a": {"x": "y"}}, "nodes") == "r2"
    for _method, _url, headers, _body in opener.requests:
        assert headers["Authorization"] == f"Bearer {TOKEN}" and headers["Node-RED-API-Version"] == "v2"
    method, url, headers, body = opener.requests[1]
    assert (method, url, headers["Node-RED-Deployment-Type"]) == ("POST", "http://nodered:1880/flows", "nodes")
    assert body == {"rev": "r1", "flows": [{"id": "a", "type": "tab"}], "credentials": {"a": {"x": "y"}}}


def test_no_rev_and_no_credentials_are_left_out():
    opener = Scripted((200, {"flows": []}), (200, {"rev": "r1"}))
    nodered = client(opener)
    assert nodered.get_flows() == (None, [])
    nodered.post_flows(None, [], {}, "full")
    assert opener.requests[1][3] == {"flows": []}


def test_a_v1_answer_is_a_protocol_error():
    with pytest.raises(NodeRedError) as error:
        client(Scripted((200, [{"id": "a", "type": "tab"}]))).get_flows()
    assert error.value.kind == "protocol" and "v2 flow response" in str(error.value)


def test_a_deployment_is_never_retried():
    opener = Scripted((503, {"code": "unexpected_error", "message": "busy"}), (200, {"rev": "r2"}))
    with pytest.raises(NodeRedError) as error:
        client(opener).post_flows("r1", [], None, "full")
    assert error.value.kind == "server" and len(opener.requests) == 1


@pytest.mark.parametrize("status, body, kind, words", [
    (401, b"Unauthorized", "auth", ["HTTP 401", "`token`", "adminAuth.tokens", "read the deployed flows"]),
    (403, b"", "forbidden", ["HTTP 403", "`token`", "flows.read", 'permissions "*"']),
    (409, {"code": "version_mismatch", "message": "Error"}, "conflict",
     ["HTTP 409", "version mismatch", "someone else", "version_mismatch"]),
    (404, b"Cannot GET /flows", "not_found", ["HTTP 404", "`host`", "httpAdminRoot"]),
    (400, {"code": "invalid_api_version", "message": "Invalid API Version requested"}, "invalid",
     ["HTTP 400", "invalid_api_version: Invalid API Version requested"]),
    (500, {"code": "unexpected_error", "message": f"token {TOKEN} refused"}, "server",
     ["HTTP 500", "Node-RED's log", "unexpected_error"]),
])
def test_status_messages(status, body, kind, words):
    with pytest.raises(NodeRedError) as error:
        client(Scripted((status, body)), retries=0).get_flows()
    assert error.value.kind == kind and error.value.status_code == status
    for word in words:
        assert word in str(error.value), str(error.value)
    assert TOKEN not in str(error.value)


def test_401_without_a_token_says_to_set_it():
    with pytest.raises(NodeRedError) as error:
        client(Scripted((401, b"Unauthorized")), token=None).get_flows()
    assert "Set `token`" in str(error.value)
