"""Unit tests of the camera simulator's login code (tools/camera_simulator); no network, no real camera.

The expected hashes are computed here with hashlib from sec100.md §3.2/§3.4, not with the code under test."""

import hashlib

import pytest
from sensingcam_simulator import auth


def h(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_ha1_ha2_response_match_independent_hashlib():
    """Runs against the camera simulator's code, not a real camera: HA1/HA2/response equal a hashlib vector."""
    ha1 = h(b"Service:SICK Sensor:s3cret")
    ha2 = h(b"POST:Video0FrameRate")
    assert auth.ha1("Service", "SICK Sensor", "s3cret") == ha1
    assert auth.ha2("Video0FrameRate") == ha2
    assert auth.response("Service", "SICK Sensor", "s3cret", "abc", "Video0FrameRate") == h(f"{ha1}:abc:{ha2}".encode())


def test_salted_ha1_appends_colon_and_raw_salt_bytes():
    """Runs against the camera simulator's code, not a real camera: salt bytes >127 are hashed as raw bytes."""
    salt = [0x00, 0x7F, 0x80, 0xFF]
    assert auth.ha1("Service", "SICK Sensor", "pw", salt) == h(b"Service:SICK Sensor:pw:" + bytes(salt))


def test_empty_salt_rule():
    """Runs against the camera simulator's code, not a real camera: "salt": [] appends ':' with the profile rule
    'separator' (the SEC100 clients) and nothing with 'no_salt' (the family SDK); no salt key never appends.

    Mutation tried: `if salt is None or not salt` (an empty list treated as no salt always): the separator case
    fails."""
    assert auth.ha1("Service", "SICK Sensor", "pw", [], "separator") == h(b"Service:SICK Sensor:pw:")
    assert auth.ha1("Service", "SICK Sensor", "pw", [], "no_salt") == h(b"Service:SICK Sensor:pw")
    assert auth.ha1("Service", "SICK Sensor", "pw", None, "separator") == h(b"Service:SICK Sensor:pw")


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_nonces_are_reusable_until_they_expire():
    """Runs against the camera simulator's code, not a real camera: a nonce serves many lookups, then expires
    (InvalidChallenge); an unknown nonce is InvalidChallenge too.

    Mutation tried: lookup without the expiry check: the expired lookup succeeded, this test failed."""
    clock = Clock()
    store = auth.NonceStore(ttl=60, clock=clock)
    first = store.issue("Service")
    assert store.lookup(first.nonce).user == "Service"
    assert store.lookup(first.nonce).user == "Service"
    clock.now += 61
    with pytest.raises(auth.InvalidChallenge, match="expired"):
        store.lookup(first.nonce)
    with pytest.raises(auth.InvalidChallenge, match="unknown"):
        store.lookup("0" * 32)


def test_nonce_store_is_bounded():
    """Runs against the camera simulator's code, not a real camera: unused challenges cannot pile up."""
    store = auth.NonceStore(ttl=60, max_outstanding=5)
    nonces = [store.issue("u").nonce for _attempt in range(20)]
    assert len(store) <= 5
    store.lookup(nonces[-1])
    with pytest.raises(auth.InvalidChallenge):
        store.lookup(nonces[0])


def make_header(store, password="pw", name="LocationName", user="Service", realm="SICK Sensor", salt=None):
    c = store.issue(user)
    ha1 = h(f"{user}:{realm}:{password}".encode() + (b":" + bytes(salt) if salt is not None else b""))
    return {"user": user, "realm": realm, "nonce": c.nonce, "opaque": c.opaque,
            "response": h(f"{ha1}:{c.nonce}:{h(f'POST:{name}'.encode())}".encode())}


def verify(header, store, salt=None, name="LocationName", empty_salt="separator"):
    return auth.verify(header, name=name, user="Service", password="pw", realm="SICK Sensor", salt=salt,
                       nonces=store, empty_salt=empty_salt)


@pytest.mark.parametrize(("change", "reason"), [
    ({"response": "0" * 64}, "wrong response"),
    ({"realm": "Other"}, "wrong realm"),
    ({"opaque": "x"}, "opaque"),
    ({"user": "admin"}, "user"),
    ({"response": "\u20ac" * 64}, "wrong response"),
])
def test_verify_rejects_as_access_denied(change, reason):
    """Runs against the camera simulator's code, not a real camera: each tampered header field is AccessDenied
    (status 4), a non-ASCII response too (no crash)."""
    store = auth.NonceStore()
    header = {**make_header(store), **change}
    with pytest.raises(auth.AccessDenied, match=reason):
        verify(header, store)


def test_verify_accepts_good_headers_and_refuses_partial_ones():
    """Runs against the camera simulator's code, not a real camera: a good header passes (salted and with the
    empty-salt rule), a partial one is AccessDenied, an unknown nonce InvalidChallenge."""
    store = auth.NonceStore()
    assert verify(make_header(store), store) == "Service"
    assert verify(make_header(store, salt=[1, 2, 255]), store, salt=[1, 2, 255]) == "Service"
    assert verify(make_header(store, salt=[]), store, salt=[]) == "Service"
    assert verify(make_header(store), store, salt=[], empty_salt="no_salt") == "Service"
    with pytest.raises(auth.AccessDenied, match="wrong response"):
        verify(make_header(store), store, salt=[], empty_salt="separator")
    with pytest.raises(auth.AccessDenied, match="lacks"):
        verify({"user": "Service"}, store)
    with pytest.raises(auth.AccessDenied, match="no header"):
        verify(None, store)
    with pytest.raises(auth.InvalidChallenge):
        verify({**make_header(store), "nonce": "f" * 32}, store)


def test_verify_checks_the_ha2_name():
    """Runs against the camera simulator's code, not a real camera: a header computed for another name fails."""
    store = auth.NonceStore()
    with pytest.raises(auth.AccessDenied, match="wrong response"):
        verify(make_header(store, name="DeviceName"), store, name="LocationName")


def test_is_ascii():
    """Runs against the camera simulator's code, not a real camera."""
    assert auth.is_ascii("Service-pw_1") and not auth.is_ascii("p\u00e4ss") and not auth.is_ascii("\u20ac")
