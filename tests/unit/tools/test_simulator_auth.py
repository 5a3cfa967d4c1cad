"""Unit tests of the camera simulator's login code (tools/camera_simulator); no network, no real camera."""

import hashlib

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
