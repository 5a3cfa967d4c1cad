"""Integration tests of the sensingCam camera simulator (tools/camera_simulator).

Every test here runs against the camera simulator, not a real camera: they check that the simulator speaks
the protocol of the device profile (profiles/sensingcam/sec100-fw2.yml) and that its faults behave as
documented in docs/camera-simulator.md. The login vectors are computed here with hashlib, independently of
the simulator's own code.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest
import requests
import yaml
from sensingcam_simulator.camera import CameraConfig, make_firmware_image
from sensingcam_simulator.profile import load_profile
from sensingcam_simulator.rtsp import gstreamer_available
from sensingcam_simulator.server import Simulator
from sensingcam_simulator.testing import SimulatorThread, free_ports, running_simulator

pytestmark = pytest.mark.simulator

REPO = Path(__file__).resolve().parents[3]
PROFILE_PATH = REPO / "profiles" / "sensingcam" / "sec100-fw2.yml"
PROFILE = yaml.safe_load(PROFILE_PATH.read_text())
REALM = PROFILE["auth"]["realm"]["value"]
USER = "Service"
PASSWORD = "dry-run-" + os.urandom(6).hex()  # test-only, random per run
SALT = [0x53, 0x49, 0x43, 0x4B, 0xFF, 0x00, 0x80]
FILES = {key: entry["path"] for key, entry in PROFILE["files"].items()}
AUTH_NAMES = {key: entry["auth_name"] for key, entry in PROFILE["files"].items()}
TIME_SCALE = 0.02  # 20-60 s reboot -> 0.4-1.2 s


# --------------------------------------------------------------------------------------------------------------
# An independent client: the SICK login computed with hashlib
# --------------------------------------------------------------------------------------------------------------
def sha(text: str) -> str:
    return hashlib.sha256(text.encode("latin-1")).hexdigest()


def challenge(url: str, user: str = USER) -> dict:
    reply = requests.post(f"{url}/api/getChallenge", json={"data": {"user": user}}, timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["challenge"]


def login(url: str, name: str, password: str = PASSWORD, user: str = USER, use_salt: bool = True) -> dict:
    c = challenge(url, user)
    secret = f"{user}:{c['realm']}:{password}"
    if c.get("salt") and use_salt:
        secret += ":" + bytes(c["salt"]).decode("latin-1")
    response = sha(f"{sha(secret)}:{c['nonce']}:{sha('POST:' + name)}")
    return {"user": user, "response": response, "realm": c["realm"], "opaque": c["opaque"], "nonce": c["nonce"]}


def post(url: str, name: str, data: dict | None = None, **login_args) -> requests.Response:
    body: dict = {"header": login(url, name, **login_args)}
    if data is not None:
        body["data"] = data
    return requests.post(f"{url}/api/{name}", json=body, timeout=10)


def get(url: str, name: str) -> requests.Response:
    return requests.get(f"{url}/api/{name}", timeout=10)


def value(url: str, name: str):
    reply = get(url, name)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"][name]


def upload(url: str, key: str, content: bytes, **login_args) -> requests.Response:
    header = login(url, AUTH_NAMES[key], **login_args)
    files = {"header": (None, json.dumps(header), "application/json"),
             "file": ("image.bin", content, "application/octet-stream")}
    return requests.post(url + FILES[key], files=files, timeout=30)


def refused(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(2)
        return sock.connect_ex((host, int(port))) != 0


def wait_until(predicate, timeout: float = 10.0, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout} s")


def state_or_none(url: str):
    try:
        return value(url, "FirmwareUpdateState")
    except requests.ConnectionError:
        return None


# --------------------------------------------------------------------------------------------------------------
# Fixtures: one simulator for the module, every camera reset after each test
# --------------------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    ports = free_ports(4)
    configs = [
        CameraConfig(name="plain", port=ports[0], user=USER, password=PASSWORD, serial="SIM10001"),
        CameraConfig(name="salted", port=ports[1], user=USER, password=PASSWORD, salt=SALT, serial="SIM10002"),
        CameraConfig(name="old", port=ports[2], user=USER, password=PASSWORD, firmware_version="2.5.1"),
        CameraConfig(name="other", port=ports[3], user=USER, password=PASSWORD),
    ]
    with running_simulator(configs, time_scale=TIME_SCALE, latency_ms=0) as running:
        yield running


@pytest.fixture
def cam(sim):
    """URL of the camera 'plain'; every camera is reset (state and faults) after the test."""
    yield sim.url("plain")
    for name in sim.simulator.cameras:
        sim.reset(name)


# --------------------------------------------------------------------------------------------------------------
# Login
# --------------------------------------------------------------------------------------------------------------
def test_challenge_reply_shape(cam):
    """Against the camera simulator, not a real camera: getChallenge returns realm/nonce/opaque, no salt by default."""
    c = challenge(cam)
    assert c["realm"] == REALM == "SICK Sensor"
    assert set(c) == {"realm", "nonce", "opaque"}
    assert c["nonce"] != challenge(cam)["nonce"]


def test_login_with_independent_vector_writes(cam):
    """Against the camera simulator, not a real camera: a write signed with HA1/HA2/response from hashlib works."""
    reply = post(cam, "LocationName", {"LocationName": "line 3 press"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["header"] == {"status": 0, "message": "Ok"}
    assert value(cam, "LocationName") == "line 3 press"


def test_known_vector_matches_server_formula(sim, cam):
    """Against the camera simulator, not a real camera: a fixed nonce gives the response computed by hand."""
    camera = sim.camera("plain")
    c = challenge(cam)
    # Hand computation for this nonce, spelled out step by step.
    ha1 = hashlib.sha256(f"Service:SICK Sensor:{PASSWORD}".encode()).hexdigest()
    ha2 = hashlib.sha256(b"POST:SnapshotMode").hexdigest()
    response = hashlib.sha256(f"{ha1}:{c['nonce']}:{ha2}".encode()).hexdigest()
    header = {"user": "Service", "response": response, "realm": "SICK Sensor", "opaque": c["opaque"],
              "nonce": c["nonce"]}
    reply = requests.post(f"{cam}/api/SnapshotMode", json={"header": header, "data": {"SnapshotMode": 1}}, timeout=10)
    assert reply.status_code == 200, reply.text
    assert camera.snapshot_mode == 1


def test_wrong_password_is_401(cam):
    """Against the camera simulator, not a real camera: a wrong password gives 401 and changes nothing."""
    reply = post(cam, "LocationName", {"LocationName": "x"}, password="not-the-password")
    assert reply.status_code == 401
    assert reply.json()["header"]["status"] == 401
    assert value(cam, "LocationName") == "plain"


def test_wrong_ha2_name_is_401(cam):
    """Against the camera simulator, not a real camera: HA2 must name the endpoint POSTed to."""
    header = login(cam, "TimeZone")
    reply = requests.post(f"{cam}/api/LocationName", json={"header": header, "data": {"LocationName": "x"}},
                          timeout=10)
    assert reply.status_code == 401


def test_nonce_is_single_use(cam):
    """Against the camera simulator, not a real camera: replaying a header (same nonce) is refused."""
    header = login(cam, "TimeZone")
    body = {"header": header, "data": {"TimeZone": "Europe/Berlin"}}
    assert requests.post(f"{cam}/api/TimeZone", json=body, timeout=10).status_code == 200
    assert requests.post(f"{cam}/api/TimeZone", json=body, timeout=10).status_code == 401


def test_nonce_expires(sim, cam):
    """Against the camera simulator, not a real camera: a nonce older than its lifetime (60 s; 0.2 s here) fails."""
    camera = sim.camera("plain")
    camera.nonces.ttl = 0.2
    try:
        header = login(cam, "TimeZone")
        time.sleep(0.4)
        reply = requests.post(f"{cam}/api/TimeZone", json={"header": header, "data": {"TimeZone": "UTC"}},
                              timeout=10)
        assert reply.status_code == 401
    finally:
        camera.nonces.ttl = 60.0


def test_salted_login(sim):
    """Against the camera simulator, not a real camera: with a salt, HA1 appends ':' + salt bytes as latin-1."""
    url = sim.url("salted")
    c = challenge(url)
    assert c["salt"] == SALT
    assert post(url, "NtpEnabled", {"NtpEnabled": True}).status_code == 200
    assert post(url, "NtpEnabled", {"NtpEnabled": False}, use_salt=False).status_code == 401
    assert value(url, "NtpEnabled") is True


def test_unknown_user_is_401(cam):
    """Against the camera simulator, not a real camera: another user name cannot log in."""
    assert post(cam, "TimeZone", {"TimeZone": "UTC"}, user="admin").status_code == 401


# --------------------------------------------------------------------------------------------------------------
# Variables and methods
# --------------------------------------------------------------------------------------------------------------
def test_identity_reads_are_unauthenticated(cam):
    """Against the camera simulator, not a real camera: GET reads use the profile envelope, no login needed."""
    reply = get(cam, "FirmwareVersion")
    assert reply.json() == {"header": {"status": 0, "message": "Ok"}, "data": {"FirmwareVersion": "2.6.2"}}
    assert value(cam, "SerialNumber") == "SIM10001"
    assert value(cam, "DeviceType") == "SEC100"
    assert value(cam, "FirmwareUpdateState") == "idle"
    assert value(cam, "DeviceTime").endswith("Z")


def test_every_profile_variable_is_served(cam):
    """Against the camera simulator, not a real camera: each variable name in the profile answers a GET."""
    profile = load_profile(PROFILE_PATH)
    for name in profile.variables:
        assert get(cam, name).status_code == 200, name


def test_authenticated_read_by_post(cam):
    """Against the camera simulator, not a real camera: a POST with header and no data reads the variable."""
    reply = post(cam, "SerialNumber")
    assert reply.status_code == 200
    assert reply.json()["data"] == {"SerialNumber": "SIM10001"}


def test_unknown_variable_is_404(cam):
    """Against the camera simulator, not a real camera: names not in the profile give 404 (GET and POST)."""
    assert get(cam, "stream1").status_code == 404
    assert post(cam, "NoSuchVariable", {"NoSuchVariable": 1}).status_code == 404


def test_read_only_write_is_403(cam):
    """Against the camera simulator, not a real camera: writing a read-only variable gives 403."""
    reply = post(cam, "FirmwareVersion", {"FirmwareVersion": "9.9.9"})
    assert reply.status_code == 403
    assert value(cam, "FirmwareVersion") == "2.6.2"


def test_stream_profile_write_uses_profile_fields(cam):
    """Against the camera simulator, not a real camera: a partial structured write merges the profile's fields."""
    fields = PROFILE["streams"]["primary"]["fields"]
    before = value(cam, "StreamProfilePrimary")
    assert set(before) == set(fields.values())
    reply = post(cam, "StreamProfilePrimary", {"StreamProfilePrimary": {fields["fps"]: 15, fields["codec"]: "h265"}})
    assert reply.status_code == 200, reply.text
    after = value(cam, "StreamProfilePrimary")
    assert after == {**before, "FrameRate": 15, "Codec": "h265"}
    assert value(cam, "StreamProfileSecondary")["FrameRate"] == 10


@pytest.mark.parametrize("change, fragment", [
    ({"FrameRate": 60}, "between 1 and 30"),
    ({"Codec": "vp9"}, "one of h264, h265, mjpeg"),
    ({"Bitrate": 100}, "between 256 and 16384"),
    ({"GopLength": "10"}, "integer"),
    ({"Resolution": "1080p"}, "unknown field"),
])
def test_stream_profile_validation_is_400(cam, change, fragment):
    """Against the camera simulator, not a real camera: values outside the profile's `allowed` give 400."""
    before = value(cam, "StreamProfilePrimary")
    reply = post(cam, "StreamProfilePrimary", {"StreamProfilePrimary": change})
    assert reply.status_code == 400
    assert fragment in reply.json()["header"]["message"]
    assert value(cam, "StreamProfilePrimary") == before


def test_event_recording_write_and_validation(cam):
    """Against the camera simulator, not a real camera: EventRecording uses the profile fields and ranges."""
    fields = PROFILE["event_recording"]["fields"]
    ok = post(cam, "EventRecording", {"EventRecording": {fields["pre_trigger_seconds"]: 10,
                                                         fields["trigger_source"]: "mqtt"}})
    assert ok.status_code == 200, ok.text
    assert value(cam, "EventRecording")["PreTrigger"] == 10
    assert post(cam, "EventRecording", {"EventRecording": {"PostTrigger": 500}}).status_code == 400
    assert post(cam, "EventRecording", {"EventRecording": {"TriggerSource": "gpio"}}).status_code == 400


def test_scalar_type_validation(cam):
    """Against the camera simulator, not a real camera: NtpEnabled must be boolean, NtpServers a string list."""
    assert post(cam, "NtpEnabled", {"NtpEnabled": "yes"}).status_code == 400
    assert post(cam, "NtpServers", {"NtpServers": "pool.ntp.org"}).status_code == 400
    assert post(cam, "NtpServers", {"NtpServers": ["10.0.0.1", "10.0.0.2"]}).status_code == 200
    assert value(cam, "NtpServers") == ["10.0.0.1", "10.0.0.2"]


def test_methods(sim, cam):
    """Against the camera simulator, not a real camera: SnapshotMode, EventTriggerEvent, SnapshotTriggerSnapshot."""
    camera = sim.camera("plain")
    assert post(cam, "SnapshotMode", {"SnapshotMode": 1}).status_code == 200
    assert value(cam, "SnapshotMode") == 1
    assert post(cam, "SnapshotMode", {"SnapshotMode": 5}).status_code == 400
    assert post(cam, "EventTriggerEvent").status_code == 200
    assert camera.counters["events_triggered"] == 1
    assert value(cam, "EventBufferUsage") > 0
    assert post(cam, "SnapshotTriggerSnapshot").status_code == 200
    assert camera.counters["snapshots_triggered"] == 1
    assert get(cam, "EventTriggerEvent").status_code == 405


def test_reboot_method_closes_port_then_returns(cam):
    """Against the camera simulator, not a real camera: Reboot answers, refuses connections, then comes back."""
    assert post(cam, "Reboot").status_code == 200
    wait_until(lambda: refused(cam), timeout=5)
    wait_until(lambda: not refused(cam), timeout=10)
    assert value(cam, "FirmwareVersion") == "2.6.2"


def test_cameras_are_isolated(sim, cam):
    """Against the camera simulator, not a real camera: a write on one camera leaves the others unchanged."""
    assert post(cam, "LocationName", {"LocationName": "changed"}).status_code == 200
    assert value(sim.url("other"), "LocationName") == "other"


# --------------------------------------------------------------------------------------------------------------
# Files: snapshot, configuration export/import
# --------------------------------------------------------------------------------------------------------------
def test_latest_snapshot_is_a_jpeg(cam):
    """Against the camera simulator, not a real camera: the snapshot endpoint returns a real JPEG (FFD8...FFD9)."""
    body = {"header": login(cam, AUTH_NAMES["latest_snapshot"])}
    reply = requests.post(cam + FILES["latest_snapshot"], json=body, timeout=10)
    assert reply.status_code == 200
    assert reply.headers["Content-Type"] == "image/jpeg"
    assert reply.content[:2] == b"\xff\xd8" and reply.content[-2:] == b"\xff\xd9"
    # HA2 must use the file's auth_name, not its path.
    wrong = {"header": login(cam, FILES["latest_snapshot"])}
    assert requests.post(cam + FILES["latest_snapshot"], json=wrong, timeout=10).status_code == 401


@pytest.mark.usefixtures("ffprobe")
def test_snapshot_decodes_with_ffprobe(cam, tmp_path):
    """Against the camera simulator, not a real camera: ffprobe decodes the snapshot as an MJPEG image."""
    reply = requests.post(cam + FILES["latest_snapshot"], json={"header": login(cam, "latestSnapshot")}, timeout=10)
    image = tmp_path / "snap.jpg"
    image.write_bytes(reply.content)
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width,height", "-of",
                            "json", str(image)], capture_output=True, text=True, check=True)
    stream = json.loads(probe.stdout)["streams"][0]
    assert stream["codec_name"] == "mjpeg" and stream["width"] > 0


def test_config_export_import_roundtrip(cam):
    """Against the camera simulator, not a real camera: export is JSON of writable state; import applies it."""
    assert post(cam, "TimeZone", {"TimeZone": "Europe/Vienna"}).status_code == 200
    reply = requests.post(cam + FILES["config_export"], json={"header": login(cam, "configuration")}, timeout=10)
    assert reply.status_code == 200
    exported = reply.json()
    assert exported["configuration"]["TimeZone"] == "Europe/Vienna"
    assert "FirmwareVersion" not in exported["configuration"]  # read-only state is not exported as settings
    assert post(cam, "TimeZone", {"TimeZone": "UTC"}).status_code == 200
    imported = upload(cam, "config_import", json.dumps(exported).encode())
    assert imported.status_code == 200, imported.text
    assert "TimeZone" in imported.json()["data"]["applied"]
    assert value(cam, "TimeZone") == "Europe/Vienna"


def test_config_import_is_all_or_nothing(cam):
    """Against the camera simulator, not a real camera: an import with a bad entry changes nothing (400)."""
    document = {"configuration": {"TimeZone": "Asia/Tokyo", "StreamProfilePrimary": {"FrameRate": 99}}}
    reply = upload(cam, "config_import", json.dumps(document).encode())
    assert reply.status_code == 400
    assert value(cam, "TimeZone") == "UTC"
    assert upload(cam, "config_import", b"not json").status_code == 400
    assert upload(cam, "config_import", json.dumps({"FirmwareVersion": "1.0.0"}).encode()).status_code == 403


def test_config_import_needs_login(cam):
    """Against the camera simulator, not a real camera: the multipart `header` part must be a valid login."""
    reply = upload(cam, "config_import", b"{}", password="wrong")
    assert reply.status_code == 401


# --------------------------------------------------------------------------------------------------------------
# Firmware update
# --------------------------------------------------------------------------------------------------------------
def test_firmware_update_happy_path(sim, cam):
    """Against the camera simulator, not a real camera: receiving -> verifying -> rebooting (port refused) -> idle,
    then the new version; each state is observed from outside while it lasts."""
    header = json.dumps(login(cam, AUTH_NAMES["firmware_upload"])).encode()
    image = make_firmware_image("2.7.0", 300_000)
    boundary = "b0undary"
    seen = []

    def body():  # a streamed multipart body that pauses mid-file to look at the camera's state
        yield (f'--{boundary}\r\nContent-Disposition: form-data; name="header"\r\n\r\n').encode() + header
        yield (f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="fw.bin"\r\n'
               "Content-Type: application/octet-stream\r\n\r\n").encode() + image[:100_000]
        seen.append(wait_until(lambda: value(cam, "FirmwareUpdateState") == "receiving" and "receiving"))
        yield image[100_000:] + f"\r\n--{boundary}--\r\n".encode()

    # Each later state is held by the simulator until the test releases it (fault hold_firmware_state), so no
    # state has to be caught inside a timer's window.
    sim.set_faults("plain", hold_firmware_state="verifying")
    reply = requests.post(cam + FILES["firmware_upload"], data=body(), timeout=30,
                          headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["data"]["FirmwareUpdateState"] == "verifying"
    seen.append(value(cam, "FirmwareUpdateState"))
    sim.set_faults("plain", hold_firmware_state="rebooting")
    wait_until(lambda: refused(cam), timeout=30)  # rebooting: nothing listens
    seen.append(sim.camera("plain").firmware_state)
    assert sim.camera("plain").firmware_version == "2.6.2"  # still held: not back yet
    sim.set_faults("plain", hold_firmware_state="")
    wait_until(lambda: state_or_none(cam) == "idle", timeout=30)
    assert seen == ["receiving", "verifying", "rebooting"]
    assert value(cam, "FirmwareVersion") == "2.7.0"
    assert sim.camera("plain").counters["reboots"] == 1


def test_firmware_bad_header_fails(sim, cam):
    """Against the camera simulator, not a real camera: a file without 'SICK-SEC100-FW <version>' ends in failed."""
    reply = upload(cam, "firmware_upload", b"MZ\x90\x00 this is not a firmware image\n" + b"\x00" * 1000)
    assert reply.status_code == 200
    wait_until(lambda: value(cam, "FirmwareUpdateState") == "failed", timeout=5)
    assert value(cam, "FirmwareVersion") == "2.6.2"
    assert not refused(cam)
    assert "header" in sim.camera("plain").firmware_message


def test_firmware_upload_needs_login(cam):
    """Against the camera simulator, not a real camera: a wrong login on the upload is 401 and nothing starts."""
    reply = upload(cam, "firmware_upload", make_firmware_image("2.7.0"), password="wrong")
    assert reply.status_code == 401
    assert value(cam, "FirmwareUpdateState") == "idle"


def test_firmware_upload_while_busy_is_409(sim, cam):
    """Against the camera simulator, not a real camera: a second upload during an update is refused (409)."""
    sim.camera("plain").firmware_state = "verifying"
    reply = upload(cam, "firmware_upload", make_firmware_image("2.7.0"))
    assert reply.status_code == 409


def test_fault_upload_interrupted(sim, cam):
    """Against the camera simulator, not a real camera: upload_interrupted drops the connection mid-upload."""
    sim.set_faults("plain", upload_interrupted=True)
    with pytest.raises(requests.ConnectionError):
        upload(cam, "firmware_upload", make_firmware_image("2.7.0", 2_000_000))
    assert value(cam, "FirmwareVersion") == "2.6.2"
    assert value(cam, "FirmwareUpdateState") == "idle"


def test_fault_checksum_mismatch(cam, sim):
    """Against the camera simulator, not a real camera: checksum_mismatch -> state failed, old version kept."""
    sim.set_faults("plain", checksum_mismatch=True)
    assert upload(cam, "firmware_upload", make_firmware_image("2.7.0")).status_code == 200
    wait_until(lambda: value(cam, "FirmwareUpdateState") == "failed", timeout=5)
    assert value(cam, "FirmwareVersion") == "2.6.2"


def test_fault_reboot_never_returns(cam, sim):
    """Against the camera simulator, not a real camera: after the upload the port stays closed until reset."""
    sim.set_faults("plain", reboot_never_returns=True)
    assert upload(cam, "firmware_upload", make_firmware_image("2.7.0")).status_code == 200
    wait_until(lambda: refused(cam), timeout=5)
    time.sleep(60 * TIME_SCALE + 0.5)  # longer than the longest simulated reboot
    assert refused(cam)
    reply = requests.post(f"{sim.control_url}/cameras/plain/reset", headers=sim.control_headers, timeout=10)
    assert reply.status_code == 200 and reply.json()["online"] is True
    assert value(cam, "FirmwareVersion") == "2.6.2"


# --------------------------------------------------------------------------------------------------------------
# Other faults
# --------------------------------------------------------------------------------------------------------------
def test_fault_offline(cam, sim):
    """Against the camera simulator, not a real camera: offline closes the port (connection refused) and back."""
    session = requests.Session()
    assert session.get(f"{cam}/api/FirmwareVersion", timeout=5).status_code == 200  # keep-alive connection
    sim.set_faults("plain", offline=True)
    assert refused(cam)
    with pytest.raises(requests.ConnectionError):
        session.get(f"{cam}/api/FirmwareVersion", timeout=5)
    sim.set_faults("plain", offline=False)
    assert value(cam, "FirmwareVersion") == "2.6.2"


def test_fault_slow_ms(cam, sim):
    """Against the camera simulator, not a real camera: slow_ms adds latency to every request."""
    before = sim.camera("plain").counters["delayed_requests"]
    value(cam, "FirmwareVersion")
    assert sim.camera("plain").counters["delayed_requests"] == before  # no fault, no delay
    sim.set_faults("plain", slow_ms=300)
    value(cam, "FirmwareVersion")
    assert sim.camera("plain").counters["delayed_requests"] == before + 1


def test_fault_wrong_credentials(cam, sim):
    """Against the camera simulator, not a real camera: wrong_credentials fails every login with 401."""
    sim.set_faults("plain", wrong_credentials=True)
    assert post(cam, "TimeZone", {"TimeZone": "UTC"}).status_code == 401
    assert get(cam, "FirmwareVersion").status_code == 200  # reads need no login on this profile
    assert sim.camera("plain").counters["logins_failed"] == 1


def test_fault_http_500(cam, sim):
    """Against the camera simulator, not a real camera: http_500 answers every request with 500."""
    sim.set_faults("plain", http_500=True)
    assert get(cam, "FirmwareVersion").status_code == 500
    assert requests.post(f"{cam}/api/getChallenge", json={"data": {"user": USER}}, timeout=5).status_code == 500


# --------------------------------------------------------------------------------------------------------------
# Control API
# --------------------------------------------------------------------------------------------------------------
def test_control_api(cam, sim):
    """Against the camera simulator, not a real camera: GET /cameras, GET/PUT faults, reset, errors (each request
    with the control token)."""
    base, auth = sim.control_url, sim.control_headers
    listing = requests.get(f"{base}/cameras", headers=auth, timeout=5).json()["cameras"]
    assert {c["name"] for c in listing} == {"plain", "salted", "old", "other"}
    assert requests.get(f"{base}/health", headers=auth, timeout=5).json()["online"] == 4
    assert requests.get(f"{base}/cameras/plain/faults", headers=auth, timeout=5).json()["offline"] is False
    reply = requests.put(f"{base}/cameras/plain/faults", json={"offline": True, "slow_ms": 10}, headers=auth, timeout=5)
    assert reply.status_code == 200 and reply.json()["offline"] is True and reply.json()["slow_ms"] == 10
    assert refused(cam)
    assert requests.get(f"{base}/cameras/plain", headers=auth, timeout=5).json()["online"] is False
    for bad in ({"explode": True}, {"slow_ms": -1}):
        assert requests.put(f"{base}/cameras/plain/faults", json=bad, headers=auth, timeout=5).status_code == 400
    assert requests.get(f"{base}/cameras/nope/faults", headers=auth, timeout=5).status_code == 404
    reset = requests.post(f"{base}/cameras/plain/reset", headers=auth, timeout=5).json()
    assert reset["online"] is True and reset["faults"]["offline"] is False
    assert not refused(cam)


CONTROL_REQUESTS = [("GET", "/health"), ("GET", "/cameras"), ("GET", "/cameras/plain"),
                    ("GET", "/cameras/plain/faults"), ("PUT", "/cameras/plain/faults"),
                    ("POST", "/cameras/plain/reset"), ("GET", "/no-such-path")]


@pytest.mark.parametrize("authorization", [None, "Bearer ", "Bearer wrong-token-0123456789", "{token}x", "x{token}",
                                           "Basic {token}", "{token}"],
                         ids=["missing", "empty", "wrong", "longer", "prefixed", "basic-scheme", "no-scheme"])
def test_control_api_refuses_a_missing_or_wrong_token(cam, sim, authorization):
    """Against the camera simulator: every control request without exactly `Bearer <token>` gets 401 (with a
    WWW-Authenticate header) and changes nothing: the PUT does not switch the camera off.

    Mutation tried: the token check in _control_guard disabled: every case fails (200/400/404 instead of 401)."""
    token = sim.control_token
    headers = {} if authorization is None else {"Authorization": authorization.format(token=token)}
    for method, path in CONTROL_REQUESTS:
        reply = requests.request(method, f"{sim.control_url}{path}", json={"offline": True}, headers=headers,
                                 timeout=5)
        assert reply.status_code == 401, (method, path, reply.status_code, reply.text)
        assert reply.headers["WWW-Authenticate"].startswith("Bearer")
        assert token not in reply.text
    assert not refused(cam) and sim.camera("plain").faults["offline"] is False


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}",
                                  "127.0.0.1:{other}", "localhost", "10.0.0.5:{port}", ""],
                         ids=["foreign", "foreign-with-port", "rebinding-name", "other-port", "no-port",
                              "lan-address", "empty"])
def test_control_api_refuses_a_foreign_host_header(cam, sim, host):
    """Against the camera simulator: a request whose Host is not the control API's own loopback address and port
    (what a DNS-rebinding page sends) gets 403, even with the right token, and changes nothing.

    Mutation tried: the Host check in _control_guard disabled: every case fails (200 instead of 403)."""
    port = sim.simulator.control_address[1]
    headers = {"Host": host.format(port=port, other=port + 1), **sim.control_headers}
    for method, path in CONTROL_REQUESTS:
        reply = requests.request(method, f"{sim.control_url}{path}", json={"offline": True}, headers=headers,
                                 timeout=5)
        assert reply.status_code == 403, (method, path, reply.status_code, reply.text)
    assert not refused(cam) and sim.camera("plain").faults["offline"] is False


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "LOCALHOST", "[::1]"])
def test_control_api_answers_its_loopback_names_with_the_token(sim, name):
    """Against the camera simulator: Host 127.0.0.1, localhost or [::1] with the control port, plus the token: 200."""
    port = sim.simulator.control_address[1]
    reply = requests.get(f"{sim.control_url}/health", headers={"Host": f"{name}:{port}", **sim.control_headers},
                         timeout=5)
    assert reply.status_code == 200 and reply.json()["status"] == "ok"


def test_a_cross_site_form_post_does_nothing(cam, sim):
    """Against the camera simulator: what a browser sends when a page on another site submits a form to
    http://127.0.0.1:<control port>/cameras/plain/reset (Host is the target, Origin the other site, a form body, no
    Authorization: a form cannot set one). The reset is refused with 401 and the camera stays in its fault state;
    the same request with the token resets it (the request itself is valid).

    Mutation tried: the token check in _control_guard disabled: the form reset the camera, this test failed."""
    sim.set_faults("plain", offline=True)
    assert refused(cam)
    port = sim.simulator.control_address[1]
    form = {"Origin": "http://evil.example", "Referer": "http://evil.example/page.html",
            "Content-Type": "application/x-www-form-urlencoded", "Host": f"127.0.0.1:{port}"}
    for path in ("/cameras/plain/reset", f"/cameras/plain/reset?token={sim.control_token}"):
        reply = requests.post(f"{sim.control_url}{path}", data=f"token={sim.control_token}", headers=form, timeout=5)
        assert reply.status_code == 401, reply.text
    assert refused(cam) and sim.camera("plain").faults["offline"] is True
    reply = requests.post(f"{sim.control_url}/cameras/plain/reset", headers={**form, **sim.control_headers},
                          timeout=5)
    assert reply.status_code == 200 and not refused(cam)


def test_without_a_token_the_control_api_does_not_listen():
    """Against the camera simulator: a Simulator given a control port but no token opens no control port."""
    port = free_ports(1)[0]
    simulator = Simulator(load_profile(), [CameraConfig(name="cam001", port=free_ports(1)[0], user=USER,
                                                        password=PASSWORD)], control_port=port)
    thread = SimulatorThread(simulator, "127.0.0.1")
    thread.start()
    try:
        assert simulator.control_address is None
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{port}/health", timeout=5)
    finally:
        thread.stop()


def test_reset_restores_start_state(cam, sim):
    """Against the camera simulator, not a real camera: reset returns variables to their start-up values."""
    assert post(cam, "LocationName", {"LocationName": "renamed"}).status_code == 200
    requests.post(f"{sim.control_url}/cameras/plain/reset", headers=sim.control_headers, timeout=5)
    assert value(cam, "LocationName") == "plain"


# --------------------------------------------------------------------------------------------------------------
# Live images over WebSocket
# --------------------------------------------------------------------------------------------------------------
def test_websocket_yields_jpeg_frames(cam):
    """Against the camera simulator, not a real camera: the profile's WebSocket path sends binary JPEG frames."""
    path = PROFILE["transport"]["websocket_path"]["value"]

    async def read_frames(count):
        frames = []
        async with aiohttp.ClientSession() as session, session.ws_connect(cam + path) as ws:
            while len(frames) < count:
                message = await asyncio.wait_for(ws.receive(), timeout=5)
                assert message.type == aiohttp.WSMsgType.BINARY
                frames.append(message.data)
        return frames

    frames = asyncio.run(read_frames(3))
    for frame in frames:
        assert frame[:2] == b"\xff\xd8" and frame[-2:] == b"\xff\xd9"
    assert len(set(frames)) > 1  # the picture moves


# --------------------------------------------------------------------------------------------------------------
# The profile is the contract
# --------------------------------------------------------------------------------------------------------------
def test_renamed_profile_entry_renames_the_endpoint(tmp_path):
    """Against the camera simulator, not a real camera: fixing a name in the profile changes what is served."""
    raw = yaml.safe_load(PROFILE_PATH.read_text())
    raw["identity"]["firmware_version"]["name"] = "FirmwareVersionString"
    raw["files"]["latest_snapshot"]["path"] = "/file/download/snapshot"
    changed = tmp_path / "profile.yml"
    changed.write_text(yaml.safe_dump(raw))
    with running_simulator(1, profile=load_profile(changed), password=PASSWORD) as sim:
        url = sim.url("cam001")
        assert value(url, "FirmwareVersionString") == "2.6.2"
        assert get(url, "FirmwareVersion").status_code == 404
        body = {"header": login(url, "latestSnapshot")}
        assert requests.post(url + "/file/download/snapshot", json=body, timeout=5).status_code == 200


def test_reads_require_login_profile(tmp_path):
    """Against the camera simulator, not a real camera: with auth.reads_require_login true, GET is 401."""
    raw = yaml.safe_load(PROFILE_PATH.read_text())
    raw["auth"]["reads_require_login"]["value"] = True
    changed = tmp_path / "profile.yml"
    changed.write_text(yaml.safe_dump(raw))
    with running_simulator(1, profile=load_profile(changed), password=PASSWORD) as sim:
        url = sim.url("cam001")
        assert get(url, "FirmwareVersion").status_code == 401
        reply = post(url, "FirmwareVersion")
        assert reply.status_code == 200 and reply.json()["data"]["FirmwareVersion"] == "2.6.2"


# --------------------------------------------------------------------------------------------------------------
# Command line (subprocess)
# --------------------------------------------------------------------------------------------------------------
def start_cli(args, tmp_path):
    env = dict(os.environ)
    proc = subprocess.Popen([sys.executable, "-m", "sensingcam_simulator", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if "ready" not in line:
        proc.kill()
        raise AssertionError(f"simulator did not start: {line}{proc.stderr.read()}")
    return proc


def stop_cli(proc):
    proc.terminate()
    try:
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_generates_password_file(tmp_path):
    """Against the camera simulator, not a real camera: --cameras without a password file content generates one."""
    password_file = tmp_path / "secrets" / "camera-password"
    base, control = free_ports(2)
    token_file = tmp_path / "secrets" / "control-token"
    proc = start_cli(["--cameras", "2", "--base-port", str(base), "--password-file", str(password_file),
                      "--control-port", str(control), "--control-token-file", str(token_file),
                      "--latency-ms", "0", "--ws-port-offset", "0"], tmp_path)
    try:
        password = password_file.read_text().strip()
        assert len(password) >= 20
        assert password_file.stat().st_mode & 0o777 == 0o600
        url = f"http://127.0.0.1:{base + 1}"
        assert post(url, "TimeZone", {"TimeZone": "UTC"}, password=password).status_code == 200
        cameras = requests.get(f"http://127.0.0.1:{control}/cameras", headers=bearer(token_file),
                               timeout=5).json()["cameras"]
        assert [c["name"] for c in cameras] == ["cam001", "cam002"]
    finally:
        stop_cli(proc)


def bearer(token_file):
    return {"Authorization": f"Bearer {token_file.read_text().strip()}"}


def test_cli_generates_the_control_token_file_and_requires_it(tmp_path):
    """Against the camera simulator, not a real camera: --control-token-file naming a missing file generates a
    0600 token there; the control API answers with it and refuses without it (401)."""
    base, control = free_ports(2)
    token_file = tmp_path / "lab" / "simulator-control"
    proc = start_cli(["--cameras", "1", "--base-port", str(base), "--password-file", str(tmp_path / "pw"),
                      "--control-port", str(control), "--control-token-file", str(token_file)], tmp_path)
    try:
        assert token_file.stat().st_mode & 0o777 == 0o600
        assert len(token_file.read_text().strip()) >= 32
        assert requests.get(f"http://127.0.0.1:{control}/health", headers=bearer(token_file), timeout=5).ok
        assert requests.get(f"http://127.0.0.1:{control}/health", timeout=5).status_code == 401
    finally:
        stop_cli(proc)


def test_cli_without_a_token_file_keeps_the_control_api_closed(tmp_path):
    """Against the camera simulator, not a real camera: the old command line (--control-port, no token file)
    still starts the cameras, but the control API is disabled (secure default): its port refuses connections.

    Mutation tried: build_simulator passing the control port without a token together with Simulator.start
    opening the control port without a token: the port answered, this test failed."""
    base, control = free_ports(2)
    proc = start_cli(["--cameras", "1", "--base-port", str(base), "--password-file", str(tmp_path / "pw"),
                      "--control-port", str(control)], tmp_path)
    try:
        assert value(f"http://127.0.0.1:{base}", "FirmwareVersion") == "2.6.2"
        with pytest.raises(requests.ConnectionError):
            requests.get(f"http://127.0.0.1:{control}/health", timeout=5)
    finally:
        stop_cli(proc)


@pytest.mark.parametrize(("mode", "content", "message"), [
    (0o644, "t" * 40, "others may read it; chmod 600 it"),
    (0o660, "t" * 40, "others may read it; chmod 600 it"),
    (0o600, "short", "fewer than 16 characters"),
    (0o600, "", "fewer than 16 characters"),
], ids=["world-readable", "group-writable", "short", "empty"])
def test_cli_refuses_a_weak_control_token_file(tmp_path, mode, content, message):
    """Against the camera simulator, not a real camera: a token file others may read, or a short token, stops the
    simulator with exit 2 and a message saying what to fix."""
    token_file = tmp_path / "control-token"
    token_file.write_text(content)
    token_file.chmod(mode)
    result = subprocess.run([sys.executable, "-m", "sensingcam_simulator", "--cameras", "1", "--password-file",
                             str(tmp_path / "pw"), "--control-token-file", str(token_file)], cwd=REPO,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and message in result.stderr, result.stderr


def test_cli_refuses_missing_password_source(tmp_path):
    """Against the camera simulator, not a real camera: no password source is an error, not a built-in default."""
    env = dict(os.environ)
    result = subprocess.run([sys.executable, "-m", "sensingcam_simulator", "--cameras", "1"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "--password-file" in result.stderr
    result = subprocess.run([sys.executable, "-m", "sensingcam_simulator", "--cameras", "1", "--password-file",
                             str(tmp_path / "pw"), "--control-bind", "0.0.0.0"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2 and "loopback" in result.stderr


def test_cli_config_file(tmp_path):
    """Against the camera simulator, not a real camera: the YAML config sets names, versions, salt and faults."""
    p1, p2, ws, control = free_ports(4)
    config = {
        "defaults": {"user": "Service", "firmware_version": "2.6.0"},
        "cameras": [
            {"name": "press-1", "port": p1, "password": PASSWORD, "serial": "12345678", "salt": True,
             "ws_port": ws},
            {"name": "press-2", "port": p2, "password": PASSWORD, "firmware_version": "2.4.9",
             "faults": {"offline": True}},
        ],
    }
    config_file = tmp_path / "fleet.yml"
    config_file.write_text(yaml.safe_dump(config))
    token_file = tmp_path / "control-token"
    token_file.write_text("t" * 40 + "\n")
    token_file.chmod(0o600)
    proc = start_cli(["--config", str(config_file), "--control-port", str(control), "--control-token-file",
                      str(token_file), "--latency-ms", "0"], tmp_path)
    try:
        url = f"http://127.0.0.1:{p1}"
        assert value(url, "SerialNumber") == "12345678"
        assert value(url, "FirmwareVersion") == "2.6.0"
        assert len(challenge(url)["salt"]) == 8
        assert post(url, "TimeZone", {"TimeZone": "UTC"}).status_code == 200
        assert refused(f"http://127.0.0.1:{p2}")

        async def one_frame():
            async with aiohttp.ClientSession() as session, session.ws_connect(f"http://127.0.0.1:{ws}/ws") as sock:
                return (await asyncio.wait_for(sock.receive(), timeout=5)).data

        assert asyncio.run(one_frame())[:2] == b"\xff\xd8"
        reply = requests.put(f"http://127.0.0.1:{control}/cameras/press-2/faults", json={"offline": False},
                             headers=bearer(token_file), timeout=5)
        assert reply.status_code == 200
        assert value(f"http://127.0.0.1:{p2}", "FirmwareVersion") == "2.4.9"
    finally:
        stop_cli(proc)


# --------------------------------------------------------------------------------------------------------------
# RTSP (GStreamer child)
# --------------------------------------------------------------------------------------------------------------
RTSP_PROBLEM = gstreamer_available()


@pytest.fixture
def gstreamer_rtsp():
    """The GStreamer RTSP server (scripts/install-test-deps.sh runtime); missing, the test fails, never skips."""
    if RTSP_PROBLEM is not None:
        pytest.fail(f"GStreamer RTSP server unavailable ({RTSP_PROBLEM}): run scripts/install-test-deps.sh runtime")


@pytest.mark.slow
@pytest.mark.usefixtures("gstreamer_rtsp")
@pytest.mark.usefixtures("ffprobe")
def test_rtsp_stream_is_h264_with_basic_auth():
    """Against the camera simulator, not a real camera: RTSP paths from the profile carry H.264, Basic auth on;
    firmware below rtsp.available_from_version serves no RTSP; the RTSP port closes while the camera is offline."""
    new_port, old_port, new_rtsp, old_rtsp = free_ports(4)
    configs = [
        CameraConfig(name="new", port=new_port, user=USER, password=PASSWORD, rtsp=True, rtsp_port=new_rtsp),
        CameraConfig(name="old", port=old_port, user=USER, password=PASSWORD, rtsp=True, rtsp_port=old_rtsp,
                     firmware_version="2.5.0"),
    ]
    path = PROFILE["rtsp"]["paths"]["value"]["primary"]

    def probe(port, password=PASSWORD):
        return subprocess.run(
            ["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,width,height",
             "-of", "json", f"rtsp://{USER}:{password}@127.0.0.1:{port}{path}"],
            capture_output=True, text=True, timeout=30, check=False)

    with running_simulator(configs, time_scale=TIME_SCALE) as sim:
        result = probe(new_rtsp)
        assert result.returncode == 0, result.stderr
        stream = json.loads(result.stdout)["streams"][0]
        assert stream["codec_name"] == "h264"
        assert probe(new_rtsp, password="wrong").returncode != 0
        assert refused(f"http://127.0.0.1:{old_rtsp}")
        sim.set_faults("new", offline=True)
        assert refused(f"http://127.0.0.1:{new_rtsp}")
        sim.set_faults("new", offline=False)
        assert not refused(f"http://127.0.0.1:{new_rtsp}")


# --------------------------------------------------------------------------------------------------------------
# Fleet size
# --------------------------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_500_camera_fleet_is_cheap():
    """Against the camera simulator, not a real camera: 500 cameras start in one process and all answer.
    (How long that takes is measured by tests/bench, not asserted here.)"""
    with running_simulator(500, latency_ms=0) as sim:

        async def read_all():
            async with aiohttp.ClientSession() as session:
                async def one(camera):
                    url = f"http://127.0.0.1:{camera.config.port}/api/SerialNumber"
                    async with session.get(url) as reply:
                        return (await reply.json())["data"]["SerialNumber"]
                return await asyncio.gather(*(one(c) for c in sim.simulator.cameras.values()))

        serials = asyncio.run(read_all())
    assert len(set(serials)) == 500
