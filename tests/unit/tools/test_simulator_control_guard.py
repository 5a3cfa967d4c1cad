"""Unit tests of the camera simulator's control API guard (tools/camera_simulator): the Host names it accepts and
the bearer-token comparison. The simulator's code runs for real; no network, no real camera. The requests
themselves are tested against a running simulator in tests/integration/simulator/test_camera_simulator.py."""

import hmac

import pytest
from sensingcam_simulator.camera import CameraConfig
from sensingcam_simulator.profile import load_profile
from sensingcam_simulator.server import Simulator, control_host_names

TOKEN = "control-token-0123456789abcdef"


def simulator(token=TOKEN):
    camera = CameraConfig(name="cam001", port=18001, user="Service", password="unit-test-password")
    return Simulator(load_profile(), [camera], control_port=17999, control_token=token)


def test_host_names_are_the_loopback_names_with_the_port():
    assert control_host_names("127.0.0.1", 17999) == {"127.0.0.1:17999", "localhost:17999", "[::1]:17999"}
    assert control_host_names("::1", 17999) == {"127.0.0.1:17999", "localhost:17999", "[::1]:17999"}
    assert "127.0.0.2:17999" in control_host_names("127.0.0.2", 17999)
    assert "localhost" in control_host_names("127.0.0.1", 80) and "localhost" not in control_host_names(
        "127.0.0.1", 17999)


@pytest.mark.parametrize(("header", "accepted"), [
    (f"Bearer {TOKEN}", True), (f"bearer {TOKEN}", True), (f"  Bearer   {TOKEN} ", True),
    ("", False), ("Bearer", False), ("Bearer ", False), (TOKEN, False), (f"Basic {TOKEN}", False),
    (f"Bearer {TOKEN[:-1]}", False), (f"Bearer {TOKEN}0", False), ("Bearer \udcff\udc80", False),
    ("Bearer t\u00e9", False),
])
def test_the_bearer_token_must_match_exactly(header, accepted):
    assert simulator().control_token_matches(header) is accepted


def test_without_a_token_nothing_matches():
    assert simulator(token=None).control_token_matches("Bearer ") is False


def test_a_short_token_is_refused():
    with pytest.raises(ValueError, match="at least 16 characters"):
        simulator(token="short")


def test_tokens_are_compared_in_constant_time(monkeypatch):
    """The comparison goes through hmac.compare_digest (constant time), with the token as bytes.

    Mutation tried: `==` instead of hmac.compare_digest: this test fails (the only one that can see it)."""
    seen = []
    compare = hmac.compare_digest

    def recording(given, expected):
        seen.append((given, expected))
        return compare(given, expected)

    monkeypatch.setattr(hmac, "compare_digest", recording)
    assert simulator().control_token_matches(f"Bearer {TOKEN}")
    assert simulator().control_token_matches("Bearer nope") is False
    assert seen == [(TOKEN.encode(), TOKEN.encode()), (b"nope", TOKEN.encode())]
