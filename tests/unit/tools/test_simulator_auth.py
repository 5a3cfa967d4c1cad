"""Unit tests of the camera simulator's login code (tools/camera_simulator); no network, no real camera."""

import hashlib
import json

import pytest
from sensingcam_simulator import auth


def h(text: str) -> str:
    return hashlib.sha256(text.encode("latin-1")).hexdigest()


def test_ha1_ha2_response_match_independent_hashlib():
    """Runs against the camera simulator's code, not a real camera: HA1/HA2/response equal a hashlib vector."""
    ha1 = h("Service:SICK Sensor:s3cret")
    ha2 = h("POST:SnapshotMode")
    assert auth.ha1("Service", "SICK Sensor", "s3cret") == ha1
    assert auth.ha2("SnapshotMode") == ha2
    assert auth.response("Service", "SICK Sensor", "s3cret", "abc", "SnapshotMode") == h(f"{ha1}:abc:{ha2}")


def test_salted_ha1_uses_latin1_bytes():
    """Runs against the camera simulator's code, not a real camera: salt bytes >127 map one-to-one to chars."""
    salt = [0x00, 0x7F, 0x80, 0xFF]
    expected = hashlib.sha256(b"Service:SICK Sensor:pw:" + bytes(salt)).hexdigest()
    assert auth.ha1("Service", "SICK Sensor", "pw", salt) == expected
    assert auth.ha1("Service", "SICK Sensor", "pw", []) == h("Service:SICK Sensor:pw")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_nonce_single_use_and_expiry():
    """Runs against the camera simulator's code, not a real camera: nonces are single-use and expire."""
    clock = Clock()
    store = auth.NonceStore(ttl=60, clock=clock)
    first = store.issue("Service")
    assert store.consume(first.nonce).user == "Service"
    with pytest.raises(auth.AuthError, match="already used"):
        store.consume(first.nonce)
    second = store.issue("Service")
    clock.now += 61
    with pytest.raises(auth.AuthError, match="expired"):
        store.consume(second.nonce)


def test_nonce_store_is_bounded():
    """Runs against the camera simulator's code, not a real camera: unused challenges cannot pile up."""
    store = auth.NonceStore(ttl=60, max_outstanding=5)
    nonces = [store.issue("u").nonce for _attempt in range(20)]
    assert len(store) <= 5
    store.consume(nonces[-1])


def make_header(store, password="pw", name="TimeZone", user="Service", realm="SICK Sensor"):
    c = store.issue(user)
    return {"user": user, "realm": realm, "nonce": c.nonce, "opaque": c.opaque,
            "response": auth.response(user, realm, password, c.nonce, name)}


@pytest.mark.parametrize("change, reason", [
    ({"response": "0" * 64}, "wrong response"),
    ({"realm": "Other"}, "wrong realm"),
    ({"opaque": "x"}, "opaque"),
    ({"user": "admin"}, "user"),
])
def test_verify_rejects(change, reason):
    """Runs against the camera simulator's code, not a real camera: each tampered header field is refused."""
    store = auth.NonceStore()
    header = {**make_header(store), **change}
    with pytest.raises(auth.AuthError, match=reason):
        auth.verify(header, name="TimeZone", user="Service", password="pw", realm="SICK Sensor", salt=None,
                    nonces=store)


def test_verify_accepts_and_rejects_missing_fields():
    """Runs against the camera simulator's code, not a real camera: a good header passes, a partial one fails."""
    store = auth.NonceStore()
    assert auth.verify(make_header(store), name="TimeZone", user="Service", password="pw", realm="SICK Sensor",
                       salt=None, nonces=store) == "Service"
    with pytest.raises(auth.AuthError, match="lacks"):
        auth.verify({"user": "Service"}, name="TimeZone", user="Service", password="pw", realm="SICK Sensor",
                    salt=None, nonces=store)


@pytest.mark.parametrize(("password", "user"), [
    ("p\u00e4sswort", "Service"),     # latin-1 can encode it: the client (UTF-8) and the simulator disagreed
    ("\u20acuro-pw", "Service"),     # latin-1 cannot: this was a 500 (UnicodeEncodeError)
    ("pw", "S\u00e9rvice"),
], ids=["latin1-password", "euro-password", "non-ascii-user"])
def test_verify_refuses_non_ascii_credentials(password, user):
    """Runs against the camera simulator's code, not a real camera: a non-ASCII password or user is refused as a
    failed login (NonAsciiCredentials, device status 4), not hashed (mutation: the ASCII check removed -> the
    euro case raises UnicodeEncodeError, the others a plain wrong-response AuthError)."""
    store = auth.NonceStore()
    challenge = store.issue(user)
    header = {"user": user, "realm": "SICK Sensor", "nonce": challenge.nonce, "opaque": challenge.opaque,
              "response": "0" * 64}
    with pytest.raises(auth.NonAsciiCredentials) as refused:
        auth.verify(header, name="TimeZone", user=user, password=password, realm="SICK Sensor", salt=None,
                    nonces=store)
    assert refused.value.device_status == 4
    assert password not in str(refused.value)
    assert len(store) == 0, "the nonce is used up like on any refused login"


def test_running_simulator_answers_a_non_ascii_password_like_a_failed_login():
    """A real simulator (sensingcam_simulator.testing.running_simulator: aiohttp on a loopback port, in a thread)
    configured with a non-ASCII password: a login answers HTTP 200 with header.status 4, as the device answers a
    failed login, not 500 (mutation: the NonAsciiCredentials branch in server._authenticate removed -> 401)."""
    from urllib.request import Request, urlopen

    from sensingcam_simulator.testing import running_simulator

    password = "\u20acuro-pw"

    def post(base, name, body):
        request = Request(f"{base}/api/{name}", data=json.dumps(body).encode(), method="POST",
                          headers={"Content-Type": "application/json"})
        with urlopen(request, timeout=10) as reply:  # noqa: S310 - loopback URL built here
            return reply.status, json.loads(reply.read())

    with running_simulator(1, password=password, control_port=None) as sim:
        base = sim.url("cam001")
        status, body = post(base, "getChallenge", {"data": {"user": "Service"}})
        challenge = body.get("challenge") or body["data"]["challenge"]
        ha1 = hashlib.sha256(f"Service:{challenge['realm']}:{password}".encode()).hexdigest()
        ha2 = hashlib.sha256(b"POST:FirmwareVersion").hexdigest()
        header = {"user": "Service", "realm": challenge["realm"], "nonce": challenge["nonce"],
                  "opaque": challenge["opaque"],
                  "response": hashlib.sha256(f"{ha1}:{challenge['nonce']}:{ha2}".encode()).hexdigest()}
        status, body = post(base, "FirmwareVersion", {"header": header})
        assert status == 200
        assert body["header"]["status"] == 4
        assert sim.camera("cam001").counters["logins_failed"] == 1
