"""Unit tests of the generic API base (module_utils/_api.py) against a real in-process HTTP(S) server.

The server is a double: http.server in a thread on 127.0.0.1 (a free port), answering what each test scripts. The
requests go through the real transport (_api.open_url on Ansible's urls TLS context and redirect handler, and
urllib), so status mapping, retries, TLS validation and timeouts take the paths they take against a real service.
Back-off pauses are recorded instead of slept.
"""

import datetime
import http.server
import ipaddress
import json
import socket
import ssl
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.sensingcam.ming.plugins.module_utils import _api

TOKEN = "tok-9f2c-Very-Secret"  # distinctive, so a test can prove it never shows up in a message


class Double:
    """The scripted server: ``answers`` is a list of (status, headers, body) used in turn (the last one repeats)."""

    def __init__(self):
        self.hits = []
        self.answers = [(200, {}, {"ok": True})]
        self.release = threading.Event()
        self.stall = False

    def answer(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.hits.append({"method": handler.command, "path": handler.path, "headers": dict(handler.headers),
                          "body": raw})
        if self.stall:
            self.release.wait(10)
        status, headers, body = self.answers[min(len(self.hits) - 1, len(self.answers) - 1)]
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        handler.send_response(status)
        for key, value in headers.items():
            handler.send_header(key, value)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)


def serve(double, tls_context=None):
    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            double.answer(self)

        do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    if tls_context is not None:
        server.socket = tls_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    return server


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def double():
    double = Double()
    server = serve(double)
    double.port = server.server_address[1]
    yield double
    double.release.set()
    server.shutdown()
    server.server_close()


def client(port, **kwargs):
    sleeps = []
    kwargs.setdefault("retries", 2)
    api = _api.ApiClient("127.0.0.1", port=port, sleep=sleeps.append, **kwargs)
    api.sleeps = sleeps
    return api


def error_of(call):
    with pytest.raises(_api.ApiError) as caught:
        call()
    assert TOKEN not in caught.value.message
    return caught.value


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- transport ----------------------------------------------------------------------------------------------------

def test_json_in_and_out_with_query_and_headers(double):
    double.answers = [(201, {}, {"id": "b1"})]
    api = client(double.port, headers={"Authorization": "Token " + TOKEN})
    assert api.post_json("/api/v2/buckets", {"name": "events"}, "create bucket events",
                         query={"orgID": "o1", "skip": None}) == {"id": "b1"}
    hit = double.hits[0]
    assert hit["method"] == "POST" and hit["path"] == "/api/v2/buckets?orgID=o1"
    assert json.loads(hit["body"]) == {"name": "events"}
    assert hit["headers"]["Content-Type"] == "application/json"
    assert hit["headers"]["Authorization"] == "Token " + TOKEN


def test_empty_reply_is_none_and_non_json_is_a_protocol_error(double):
    double.answers = [(204, {}, b""), (200, {}, b"<html>")]
    api = client(double.port)
    assert api.delete("/things/a", "delete thing a") is None
    error = error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert error.kind == "protocol" and "is not JSON" in error.message


@pytest.mark.parametrize("status,kind,words", [
    (401, "auth", "refused the credentials (HTTP 401)"),
    (403, "forbidden", "did not allow this account"),
    (404, "not_found", "does not exist (HTTP 404)"),
    (500, "server", "failed while trying to read thing a (HTTP 500"),
    (418, "http", "answered HTTP 418"),
])
def test_status_codes_become_kinds_and_human_messages(double, status, kind, words):
    double.answers = [(status, {}, {"code": "x", "message": "the API's own words"})]
    error = error_of(lambda: client(double.port).get_json("/things/a", "read thing a"))
    assert error.kind == kind and error.status_code == status
    assert words in error.message
    assert f"http://127.0.0.1:{double.port}/things/a" in error.message and "read thing a" in error.message
    assert "It said: the API's own words" in error.message


def test_no_secret_in_a_message_even_when_the_api_echoes_it(double):
    double.answers = [(401, {}, {"message": "token " + TOKEN + " is not valid"})]
    api = client(double.port, headers={"Authorization": "Token " + TOKEN}, secrets=[TOKEN])
    error = error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert "token ******** is not valid" in error.message


def test_idempotent_requests_are_retried_on_busy_with_backoff(double):
    double.answers = [(503, {}, {}), (503, {}, {}), (200, {}, {"value": 1})]
    api = client(double.port, retries=2)
    assert api.get_json("/things/a", "read thing a") == {"value": 1}
    assert len(double.hits) == 3
    assert api.sleeps == [0.5, 1.0]


def test_retry_after_is_honoured_within_a_limit(double):
    double.answers = [(429, {"Retry-After": "3"}, {}), (429, {"Retry-After": "3600"}, {}), (200, {}, {})]
    api = client(double.port, retries=2)
    api.get_json("/things/a", "read thing a")
    assert api.sleeps == [3, 30]


def test_busy_retries_are_bounded_and_then_reported(double):
    double.answers = [(503, {}, {})]
    api = client(double.port, retries=2)
    error = error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert error.kind == "server" and len(double.hits) == 3


def test_writes_are_never_retried(double):
    double.answers = [(503, {}, {})]
    api = client(double.port, retries=5)
    error = error_of(lambda: api.post_json("/things", {"name": "a"}, "create thing a"))
    assert error.kind == "server" and len(double.hits) == 1 and api.sleeps == []
    double.hits.clear()
    error_of(lambda: api.patch_json("/things/a", {"value": 2}, "change thing a"))
    assert len(double.hits) == 1


def test_a_client_may_choose_its_busy_codes(double):
    double.answers = [(503, {}, {})]
    api = client(double.port, retries=3, retry_statuses=())
    error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert len(double.hits) == 1 and api.sleeps == []


def test_connection_refused_is_retried_then_reported():
    port = free_port()
    attempts = []

    def counting(url, **kwargs):
        attempts.append(url)
        return _api.open_url(url, **kwargs)

    api = client(port, retries=2, opener=counting)
    error = error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert error.kind == "unreachable" and "Connection refused" in error.message
    assert f"Cannot reach the API at http://127.0.0.1:{port}/things/a" in error.message
    assert len(attempts) == 3 and api.sleeps == [0.5, 1.0]


def test_timeout(double):
    double.stall = True
    api = client(double.port, retries=0, timeout=0.3)
    error = error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert error.kind == "timeout" and "did not answer within 0.3 s" in error.message


def test_ipv6_literals_are_bracketed():
    assert _api.ApiClient("fd00::5", port=8086).base_url == "http://[fd00::5]:8086"
    assert _api.ApiClient("influx.plant", use_tls=True).base_url == "https://influx.plant:443"
    assert _api.ApiClient("influx.plant", default_port=8086).base_url == "http://influx.plant:8086"


def test_multipart_keeps_part_order_and_bytes():
    content_type, body = _api.multipart_form([("header", None, '{"a": 1}', "application/json"),
                                              ("file", 'fw "1".bin', b"x\ny\r\n\x00", "application/octet-stream")])
    boundary = content_type.split("boundary=")[1]
    assert body.startswith(f'--{boundary}\r\nContent-Disposition: form-data; name="header"\r\n'.encode())
    assert b'name="file"; filename="fw %221%22.bin"\r\nContent-Type: application/octet-stream\r\n\r\n' \
           b"x\ny\r\n\x00\r\n--" + boundary.encode() + b"--\r\n" in body


# -- TLS ----------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A throw-away CA and a server certificate for 127.0.0.1 signed by it, made with the cryptography library."""
    directory = tmp_path_factory.mktemp("pki")
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
          .not_valid_after(now + datetime.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    (directory / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (directory / "server.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (directory / "server.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                             serialization.PrivateFormat.PKCS8,
                                                             serialization.NoEncryption()))
    return directory


@pytest.fixture
def tls_double(pki):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(pki / "server.pem"), str(pki / "server.key"))
    double = Double()
    server = serve(double, context)
    double.port = server.server_address[1]
    yield double
    server.shutdown()
    server.server_close()


def test_tls_certificate_of_an_unknown_ca_is_refused_and_not_retried(tls_double):
    api = client(tls_double.port, use_tls=True, retries=3)
    error = error_of(lambda: api.get_json("/things/a", "read thing a"))
    assert error.kind == "tls" and "certificate verify failed" in error.message and "ca_path" in error.message
    assert api.sleeps == [] and tls_double.hits == []


def test_tls_with_the_ca_in_ca_path_is_accepted(tls_double, pki):
    api = client(tls_double.port, use_tls=True, ca_path=str(pki / "ca.pem"))
    assert api.get_json("/things/a", "read thing a") == {"ok": True}


def test_tls_without_validation_is_accepted(tls_double):
    assert client(tls_double.port, use_tls=True, validate_certs=False).get_json("/things/a", "read") == {"ok": True}


# -- comparisons --------------------------------------------------------------------------------------------------

def test_scrub_masks_every_secret_and_ignores_tiny_ones():
    assert _api.scrub("a hunter22 b s3cr3t", "hunter22", "s3cr3t", "b", None) == "a ******** b ********"


def test_same_value_compares_dicts_by_the_keys_set():
    assert _api.same_value({"a": 1}, {"a": "1", "b": 2})
    assert not _api.same_value({"a": 1}, {"b": 1})


# -- the module cycle ---------------------------------------------------------------------------------------------

class Things:
    """A tiny object API on the double: GET/PUT/DELETE /things/<name>, secrets kept only as a hash."""

    def __init__(self, double):
        self.double = double
        self.store = {}
        double.answer = self.answer

    def answer(self, handler):
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        self.double.hits.append({"method": handler.command, "path": handler.path, "body": raw})
        name = handler.path.rsplit("/", 1)[1]
        status, body = 200, None
        if handler.command == "GET":
            status, body = (200, self.store[name]) if name in self.store else (404, {"message": "no such thing"})
        elif handler.command == "PUT":
            self.store[name] = dict(self.store.get(name, {}), **json.loads(raw))
            status, body = 200, self.store[name]
        elif handler.command == "DELETE":
            status = 204 if self.store.pop(name, None) is not None else 404
        content = b"" if body is None else json.dumps(body).encode()
        handler.send_response(status)
        handler.send_header("Content-Length", str(len(content)))
        handler.end_headers()
        handler.wfile.write(content)

    def writes(self):
        return [h for h in self.double.hits if h["method"] != "GET"]


class ThingModule(_api.ApiModule):
    argument_spec = dict(
        token=dict(type="str", no_log=True, required=True),
        name=dict(type="str", required=True),
        size=dict(type="int"),
        colour=dict(type="str"),
        secret=dict(type="str", no_log=True),
        state=dict(type="str", choices=["present", "absent"], default="present"),
    )
    options = ("size", "colour", "secret")
    write_only = ("secret",)
    result_key = "thing"
    changed_key = "changed_options"

    def path(self):
        return "/things/" + self.params["name"]

    def read(self):
        try:
            found = self.client.get_json(self.path(), f"read thing {self.params['name']}")
        except _api.ApiError as exc:
            if exc.kind == "not_found":
                return None
            raise
        return {"size": found.get("size"), "colour": found.get("colour"), "secret": found.get("secret_sha256")}

    def body(self, changes):
        body = dict((k, v) for k, v in changes.items() if k != "secret")
        if "secret" in changes:
            body["secret_sha256"] = self.fingerprint(changes["secret"])
        return body

    def create(self, wanted):
        self.client.put_json(self.path(), self.body(wanted), "create thing", idempotent=False)

    def update(self, changes, current):
        self.client.put_json(self.path(), self.body(changes), "change thing", idempotent=False)

    def delete(self, current):
        self.client.delete(self.path(), "delete thing")

    def validate(self, wanted):
        if wanted.get("size", 0) < 0:
            self.fail(f"size must not be negative; the token {self.params['token']} does not help")


@pytest.fixture
def things(double):
    things = Things(double)
    things.port = double.port
    return things


def run_thing(run_module, things, check_mode=False, diff=True, **args):
    values = {"host": "127.0.0.1", "port": things.port, "token": TOKEN, "name": "a", "retries": 0}
    values.update(args)
    return run_module(lambda: ThingModule().run(), values, check_mode=check_mode, diff=diff)


def test_cycle_check_apply_idempotent_change_absent(run_module, things):
    failed, check = run_thing(run_module, things, check_mode=True, size=3, colour="red")
    assert not failed and check["changed"] and things.writes() == []
    assert check["diff"] == {"before": {}, "after": {"size": 3, "colour": "red"}}

    failed, applied = run_thing(run_module, things, size=3, colour="red")
    assert not failed and applied["changed"] and things.store["a"] == {"size": 3, "colour": "red"}
    assert applied["thing"] == {"size": 3, "colour": "red", "secret": None}

    failed, again = run_thing(run_module, things, size=3, colour="red")
    assert not failed and not again["changed"] and len(things.writes()) == 1
    assert again["diff"]["before"] == again["diff"]["after"]

    failed, only_size = run_thing(run_module, things, size=4)
    assert not failed and only_size["changed"] and only_size["changed_options"] == ["size"]
    assert json.loads(things.writes()[-1]["body"]) == {"size": 4}, "only the option that differs is written"
    assert only_size["diff"]["before"]["size"] == 3 and only_size["diff"]["after"]["size"] == 4

    failed, check_absent = run_thing(run_module, things, check_mode=True, state="absent")
    assert not failed and check_absent["changed"] and "a" in things.store
    failed, absent = run_thing(run_module, things, state="absent")
    assert not failed and absent["changed"] and "a" not in things.store
    assert absent["diff"]["after"] == {}
    failed, absent_again = run_thing(run_module, things, state="absent")
    assert not failed and not absent_again["changed"]


def test_write_only_secret_is_compared_by_hash_and_never_shown(run_module, things):
    failed, first = run_thing(run_module, things, secret="pa55-word-1")
    assert not failed and first["changed"] and first["thing"]["secret"] == "******** (changed)"
    failed, again = run_thing(run_module, things, secret="pa55-word-1")
    assert not failed and not again["changed"]
    failed, rotated = run_thing(run_module, things, secret="pa55-word-2")
    assert not failed and rotated["changed"] and rotated["changed_options"] == ["secret"]
    assert "pa55-word" not in json.dumps(rotated) and "pa55-word" not in json.dumps(things.store)


def test_fail_scrubs_every_no_log_value(run_module, things):
    failed, result = run_thing(run_module, things, size=-1)
    assert failed and "the token ******** does not help" in result["msg"] and TOKEN not in json.dumps(result)


def test_api_errors_become_module_failures(run_module, things):
    failed, result = run_thing(run_module, things, port=free_port(), size=1)
    assert failed and result["msg"].startswith("Cannot reach the API at http://127.0.0.1:")
