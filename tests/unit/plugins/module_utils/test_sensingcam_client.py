"""Unit tests of the SICK login (sick_login.py) and the camera client (sensingcam_client.py) on profile format 2.

Against the in-process fake camera of tests/unit/sensingcam_fake_camera.py (it stands in for open_url), a test
double, not a real SEC100 and not the camera simulator: they prove the client follows the protocol as we read it
from SICK's public code (../shared/reference/sec100.md section 3), not that a real camera accepts it. The fake
checks logins with its own hash code, written from that description.
"""

import copy
import hashlib
import json
import ssl
from urllib.error import URLError

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, PROFILE_PATH, FakeCamera, FakeNetwork, expected_response

from ansible_collections.sensingcam.ming.plugins.module_utils import _api, sick_login
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import (
    SensingCamClient,
    SensingCamError,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import DeviceProfile

with open(PROFILE_PATH) as _handle:
    SHIPPED = yaml.safe_load(_handle)


def profile_with(**settings):
    """The shipped profile with ``section.key=value`` settings replaced (``auth__empty_salt='no_salt'``)."""
    data = copy.deepcopy(SHIPPED)
    for dotted, value in settings.items():
        section, key = dotted.split("__")
        data[section][key] = {"value": value, "level": "assumed"}
    return DeviceProfile(data, PROFILE_PATH)


@pytest.fixture
def profile():
    return DeviceProfile.load(PROFILE_PATH)


@pytest.fixture
def network():
    return FakeNetwork()


def make_client(profile, network, host="cam1", password=PASSWORD, **kwargs):
    sleeps = []
    kwargs.setdefault("retries", 2)
    client = SensingCamClient(host, profile, password=password, opener=network, sleep=sleeps.append, **kwargs)
    client.sleeps = sleeps
    return client


def error_of(call):
    with pytest.raises(SensingCamError) as caught:
        call()
    assert PASSWORD not in caught.value.message
    return caught.value


# -- login math ---------------------------------------------------------------------------------------------------

def test_challenge_response_matches_hand_computed_vector_without_salt():
    ha1 = hashlib.sha256(b"Service:SICK Sensor:servicelevel").hexdigest()
    ha2 = hashlib.sha256(b"POST:SnapshotMode").hexdigest()
    want = hashlib.sha256(f"{ha1}:abc123:{ha2}".encode()).hexdigest()
    assert sick_login.ha1("Service", "SICK Sensor", "servicelevel") == ha1
    assert sick_login.challenge_response("Service", "SICK Sensor", "servicelevel", "abc123", "SnapshotMode") == want


def test_salt_bytes_are_appended_raw_after_a_colon():
    salt = [0x00, 0xE9, 0xFF]
    assert sick_login.ha1("U", "R", "p", salt) == hashlib.sha256(b"U:R:p:\x00\xe9\xff").hexdigest()


@pytest.mark.parametrize("rule, salt, hashed", [
    ("separator", [], b"U:R:p:"),
    ("no_salt", [], b"U:R:p"),
    ("separator", None, b"U:R:p"),
    ("no_salt", None, b"U:R:p"),
    ("no_salt", [1], b"U:R:p:\x01"),
])
def test_empty_salt_rule(rule, salt, hashed):
    """'separator' appends ':' for a present empty list; 'no_salt' treats [] as absent; None is never salted."""
    assert sick_login.ha1("U", "R", "p", salt, rule) == hashlib.sha256(hashed).hexdigest()


def test_unknown_empty_salt_rule_is_refused():
    with pytest.raises(ValueError, match="empty_salt"):
        sick_login.ha1("U", "R", "p", [], "maybe")


# -- login against the fake camera ---------------------------------------------------------------------------------

def test_write_sends_a_header_the_camera_accepts(profile, network):
    camera = network.add("cam1", FakeCamera(salt=[1, 2, 250]))
    make_client(profile, network).write("LocationName", "line3")
    assert camera.value("LocationName") == "line3"
    post = camera.calls("POST", "/api/LocationName")[0]
    header = post[2]["header"]
    assert set(header) == {"user", "response", "realm", "opaque", "nonce"}
    assert header["response"] == expected_response("Service", "SICK Sensor", PASSWORD, header["nonce"],
                                                   "LocationName", [1, 2, 250])
    assert post[2]["data"] == {"LocationName": "line3"}


def test_nonce_is_reused_across_three_writes(profile, network):
    """One challenge serves three writes (auth.nonce_reuse; mutation: cache ignored -> 3 challenge calls)."""
    camera = network.add("cam1")
    client = make_client(profile, network)
    client.write("LocationName", "a")
    client.write("Video0FrameRate", 30)
    client.write("TSCRole", 1)
    assert camera.challenge_calls() == 1
    assert len({call[2]["header"]["nonce"] for call in camera.calls("POST") if "header" in (call[2] or {})}) == 1
    assert camera.writes() == [("LocationName", "a"), ("Video0FrameRate", 30), ("TSCRole", 1)]


def test_without_nonce_reuse_every_request_gets_a_challenge(network):
    camera = network.add("cam1")
    client = make_client(profile_with(auth__nonce_reuse=False), network)
    client.write("LocationName", "a")
    client.write("LocationName", "b")
    assert camera.challenge_calls() == 2


def test_expired_nonce_gets_one_fresh_challenge_and_one_resend(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    client.write("LocationName", "a")
    camera.expire_nonces()
    client.write("LocationName", "b")
    assert camera.challenge_calls() == 2
    assert len(camera.calls("POST", "/api/LocationName")) == 3  # a, b refused with status 10, b again
    assert camera.writes() == [("LocationName", "a"), ("LocationName", "b")]


def test_refused_login_relogins_once_then_fails_with_auth(profile, network):
    """Status 4: one new challenge and one resend, then kind 'auth' naming user and camera, never the password
    (mutation: no relogin -> 1 challenge call; relogin loop unbounded -> more than 2)."""
    camera = network.add("cam1")
    password = "Wrong-" + PASSWORD
    error = error_of(lambda: make_client(profile, network, password=password).write("LocationName", "x"))
    assert error.kind == "auth" and error.device_status == 4
    assert "The camera at http://cam1:80 refused the login of user 'Service' (status 4, access denied)" in error.message
    assert password not in error.message and "Wrong-" not in error.message
    assert camera.challenge_calls() == 2
    assert len(camera.calls("POST", "/api/LocationName")) == 2
    assert camera.writes() == []


def test_password_is_never_sent(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    client.write("LocationName", "x")
    client.upload("notes.txt", b"hello")
    client.download("latestSnapshot")
    sent = json.dumps([call[2] for call in camera.requests]) + repr([call.get("url") for call in network.calls])
    assert PASSWORD not in sent


@pytest.mark.parametrize("camera_rule, profile_rule, works", [
    ("separator", "separator", True),
    ("separator", "no_salt", False),
    ("no_salt", "no_salt", True),
    ("no_salt", "separator", False),
])
def test_empty_salt_rule_against_the_camera(network, camera_rule, profile_rule, works):
    """The camera sends "salt": [] and accepts one HA1 form (sec100.md 3.4); the client follows auth.empty_salt
    (mutation: the rule not passed to sick_login -> the no_salt/no_salt case fails)."""
    camera = network.add("cam1", FakeCamera(salt=[], empty_salt=camera_rule))
    client = make_client(profile_with(auth__empty_salt=profile_rule), network)
    if works:
        client.write("LocationName", "x")
        assert camera.writes() == [("LocationName", "x")]
    else:
        assert error_of(lambda: client.write("LocationName", "x")).kind == "auth"
        assert camera.writes() == []


def test_a_challenge_without_salt_key_is_not_salted(network):
    camera = network.add("cam1", FakeCamera(salt=None, empty_salt="separator"))
    make_client(profile_with(auth__empty_salt="separator"), network).write("LocationName", "x")
    assert camera.writes() == [("LocationName", "x")]


def test_a_malformed_salt_is_a_protocol_error(profile, network):
    network.add("cam1", FakeCamera(salt="abc"))
    error = error_of(lambda: make_client(profile, network).write("LocationName", "x"))
    assert error.kind == "protocol" and "salt" in error.message


NON_ASCII_PASSWORDS = ["p\u00e4sswort-Secret1", "\u20acuro-Secret1", "Secret1-\u00df"]


@pytest.mark.parametrize("password", NON_ASCII_PASSWORDS)
def test_non_ascii_password_is_refused_before_any_call(profile, network, password):
    """SICK's clients hash non-ASCII passwords differently: refused when the client is built, naming the option,
    never the value, with zero requests (mutation: the check in __init__ removed -> the client is built)."""
    camera = network.add("cam1")
    with pytest.raises(SensingCamError) as refused:
        SensingCamClient("cam1", profile, password=password, retries=0, opener=network)
    assert refused.value.kind == "config"
    assert "password option" in refused.value.message and "ASCII" in refused.value.message
    assert password not in refused.value.message
    assert camera.requests == [] and network.calls == []
    with pytest.raises(ValueError, match="ASCII"):
        sick_login.ha1("Service", "SICK Sensor", password)


def test_write_without_password_fails_clearly(profile, network):
    camera = network.add("cam1")
    error = error_of(lambda: make_client(profile, network, password=None).write("LocationName", "x"))
    assert error.kind == "config" and "password option" in error.message
    assert camera.requests == []


def test_default_user_and_ports(profile, network):
    assert make_client(profile, network).username == "Service"
    assert make_client(profile, network, username="Maintenance").username == "Maintenance"
    assert make_client(profile, network).base_url == "http://cam1:80"
    assert make_client(profile, network, use_tls=True).base_url == "https://cam1:443"
    assert make_client(profile, network, host="fd00::5", port=8080).base_url == "http://[fd00::5]:8080"


# -- reads --------------------------------------------------------------------------------------------------------

def test_reads_are_plain_gets(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    assert client.read("FirmwareVersion") == "2.6.2"
    assert client.read_field(profile.field("streams", "video0", "resolution")) == "1920x1080"
    assert client.read_field(profile.field("time", "ntp_server")) == "0.0.0.0"
    assert [r[:2] for r in camera.requests] == [("GET", "/api/FirmwareVersion"), ("GET", "/api/Video0Resolution"),
                                                ("GET", "/api/TSCTCSrvAddr")]


def test_reads_log_in_when_the_profile_says_so(network):
    camera = network.add("cam1", FakeCamera(reads_require_login=True))
    assert make_client(profile_with(auth__reads_require_login=True), network).read("SerialNumber") == "23450017"
    post = camera.calls("POST", "/api/SerialNumber")[0]
    assert "data" not in post[2] and post[2]["header"]["nonce"]


def test_a_read_refused_for_want_of_login_says_which_profile_entry(profile, network):
    network.add("cam1", FakeCamera(reads_require_login=True))
    error = error_of(lambda: make_client(profile, network).read("SerialNumber"))
    assert error.kind == "auth" and "auth.reads_require_login" in error.message


def test_busy_read_is_retried_then_succeeds(profile, network):
    """HTTP 400 = busy: the read is retried every busy_retry_seconds (mutation: no busy retry -> kind busy)."""
    camera = network.add("cam1")
    camera.busy_next = 3
    client = make_client(profile, network)
    assert client.read("RtspPort") == 554
    assert client.sleeps == [0.25, 0.25, 0.25]
    assert len(camera.calls("GET", "/api/RtspPort")) == 4


def test_busy_exhausted_is_kind_busy(profile, network):
    """At most busy_retries retries (mutation: the bound removed -> the read retries past the 20 answers)."""
    camera = network.add("cam1")
    camera.busy_next = 21
    client = make_client(profile, network)
    error = error_of(lambda: client.read("RtspPort"))
    assert error.kind == "busy" and "busy (HTTP 400)" in error.message and "Retried 20 times" in error.message
    assert len(camera.calls("GET", "/api/RtspPort")) == 21 and client.sleeps == [0.25] * 20
    camera.busy_next = 0
    assert client.read("RtspPort") == 554


def test_busy_retry_count_comes_from_the_profile(network):
    camera = network.add("cam1")
    camera.busy_next = 5
    client = make_client(profile_with(response__busy_retries=2, response__busy_retry_seconds=1.5), network)
    assert error_of(lambda: client.read("RtspPort")).kind == "busy"
    assert client.sleeps == [1.5, 1.5] and len(camera.calls("GET")) == 3


def test_busy_write_is_not_retried(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    client.read_field(profile.field("identity", "location_name"))
    client.login_header("LocationName")  # the challenge is cached; only the write meets the busy camera
    camera.busy_next = 1
    error = error_of(lambda: client.write("LocationName", "x"))
    assert error.kind == "busy" and "Retried" not in error.message
    assert len(camera.calls("POST", "/api/LocationName")) == 1 and client.sleeps == []


def test_unknown_name_404_names_the_profile_key(profile, network):
    camera = network.add("cam1")
    camera.specs.pop("Video0FrameRate")
    error = error_of(lambda: make_client(profile, network).read("Video0FrameRate"))
    assert error.kind == "not_found" and error.status_code == 404
    assert "variables.streams.video0.fps.name" in error.message and PROFILE_PATH in error.message


def test_status_5_is_not_found_naming_the_profile_key(profile, network):
    camera = network.add("cam1")
    camera.inject_status(5)
    error = error_of(lambda: make_client(profile, network).read("Video0FrameRate"))
    assert error.kind == "not_found" and error.device_status == 5
    assert "status 5" in error.message and "variables.streams.video0.fps.name" in error.message


def test_status_11_is_busy_out_of_connections(profile, network):
    camera = network.add("cam1")
    camera.inject_status(11)
    error = error_of(lambda: make_client(profile, network).read("RtspPort"))
    assert error.kind == "busy" and "out of connections" in error.message


def test_other_status_is_device_with_the_camera_message(profile, network):
    camera = network.add("cam1")
    error = error_of(lambda: make_client(profile, network).write("Video0FrameRate", 99))
    assert error.kind == "device" and error.device_status == 3
    assert "status 3" in error.message and "Invalid value 99 for 'Video0FrameRate'" in error.message
    camera.inject_status(7, message="m" * 500)
    error = error_of(lambda: make_client(profile, network).read("RtspPort"))
    assert error.kind == "device" and "m" * 200 in error.message and "m" * 201 not in error.message


def test_reply_without_the_name_is_a_protocol_error(profile, network):
    def answer(url, **kwargs):
        return FakeNetwork.open_url(network, url.replace("/api/RtspPort", "/api/FtpPort"), **kwargs)
    network.add("cam1")
    client = make_client(profile, answer)
    error = error_of(lambda: client.read("RtspPort"))
    assert error.kind == "protocol" and "holds no 'RtspPort'" in error.message


def test_probe(profile, network):
    camera = network.add("cam1")
    camera.specs.pop("OpHours")
    client = make_client(profile, network)
    assert client.probe("RtspPort") == (True, 554)
    assert client.probe("OpHours") == (False, None)
    camera.inject_status(5)
    assert client.probe("RtspPort") == (False, None)
    camera.inject_status(11)
    assert error_of(lambda: client.probe("RtspPort")).kind == "busy"


def test_get_raw(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    assert client.get_raw(profile.api_description_path).startswith(b"openapi")
    camera.api_description = None
    assert client.get_raw(profile.api_description_path) is None


# -- writes and methods -------------------------------------------------------------------------------------------

def test_write_field_encodes(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    client.write_field(profile.field("time", "ntp_server"), "10.0.0.1")
    client.write_field(profile.field("streams", "video0", "codec"), "h265")
    client.write_field(profile.field("streams", "video0", "rtsp_enabled"), False)
    assert camera.writes() == [("TSCTCSrvAddr", [10, 0, 0, 1]), ("Video0CompressionType", 1),
                               ("Video0EnableRtsp", 0)]


@pytest.mark.parametrize("keys, value, message", [
    (("streams", "video0", "fps"), 61, "is above the maximum 60; allowed: an integer from 1 to 60"),
    (("identity", "firmware_version"), "3.0.0", "as read-only"),
])
def test_write_field_refuses_before_any_request(profile, network, keys, value, message):
    camera = network.add("cam1")
    error = error_of(lambda: make_client(profile, network).write_field(profile.field(*keys), value))
    assert error.kind == "config" and message in error.message
    assert camera.requests == []


def test_write_field_never_shows_a_secret_value(profile, network):
    network.add("cam1")
    password = profile.field("offload", "password")
    error = error_of(lambda: make_client(profile, network).write_field(password, "x" * 200 + "-hidden"))
    assert "-hidden" not in error.message and "********" in error.message


def test_call_method_ok_and_argument(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    assert client.call_method("trigger_event") == "ok"
    assert client.call_method("delete_file", "latestSnapshot") == "ok"
    assert camera.method_calls == [("EventTriggerEvent", None), ("DeleteFile", {"fileName": "latestSnapshot"})]
    assert "data" not in camera.calls("POST", "/api/EventTriggerEvent")[0][2]
    error = error_of(lambda: client.call_method("delete_file"))
    assert error.kind == "config" and "fileName" in error.message


def test_method_result_1_is_mode_not_enabled(profile, network):
    """data.result 1 -> kind 'device' naming the meaning (mutation: result ignored -> 'ok' returned)."""
    camera = network.add("cam1")
    camera.method_results["EventTriggerEvent"] = 1
    error = error_of(lambda: make_client(profile, network).call_method("trigger_event"))
    assert error.kind == "device" and error.method_result == "mode_not_enabled"
    assert "result 1 (mode_not_enabled)" in error.message and "EventTriggerEvent" in error.message


def test_method_unknown_result_number(profile, network):
    camera = network.add("cam1")
    camera.method_results["RebootDevice"] = 42
    error = error_of(lambda: make_client(profile, network).call_method("reboot"))
    assert "result 42 (unknown result)" in error.message


def test_dotted_method_key(profile, network):
    camera = network.add("cam1")
    assert make_client(profile, network).call_method("backup.create_method", "pass-phrase") == "ok"
    assert camera.method_calls == [("CreateParameterBackup", {"Passphrase": "pass-phrase"})]


def test_call_returns_the_data_dict(profile, network):
    network.add("cam1")
    assert make_client(profile, network).call("EventTriggerEvent") == {"result": 0}


def test_send_any_method_with_login_and_relogin(profile, network):
    """client.send: an authenticated PUT (the backup import), with the same relogin rule as every call."""
    camera = network.add("cam1")
    seen = []
    real = network.open_url

    def capture(url, data=None, method=None, **kwargs):
        if url.endswith("/api/parameterbackup"):
            seen.append((method, json.loads(data)))
            return real(url.replace("/api/parameterbackup", "/api/LocationName"), data=json.dumps(
                {"header": json.loads(data)["header"], "data": {"LocationName": "via-put"}}).encode(), method="POST",
                **kwargs)
        return real(url, data=data, method=method, **kwargs)
    network.open_url = capture
    client = make_client(profile, network)
    camera.expire_nonces()
    assert client.send("PUT", "/api/parameterbackup", "LocationName", {"data": {"x": 1}}) == {}
    assert [m for m, _body in seen] == ["PUT"] and seen[0][1]["data"] == {"x": 1} and "nonce" in seen[0][1]["header"]
    assert camera.writes() == [("LocationName", "via-put")]
    error = error_of(lambda: make_client(profile, network, password="nope-nope").send(
        "PUT", "/api/parameterbackup", "LocationName", {"data": {}}))
    assert error.kind == "auth" and len(seen) == 3


# -- files --------------------------------------------------------------------------------------------------------

def test_download(profile, network):
    camera = network.add("cam1")
    assert make_client(profile, network).download("latestSnapshot") == camera.files["latestSnapshot"]
    post = camera.calls("POST", "/file/download/latestSnapshot")[0]
    header = post[2]["header"]
    assert header["response"] == expected_response("Service", "SICK Sensor", PASSWORD, header["nonce"],
                                                   "latestSnapshot")


def test_download_of_an_unknown_file_names_the_profile_key(profile, network):
    camera = network.add("cam1")
    del camera.files["latestEventRecording"]
    error = error_of(lambda: make_client(profile, network).download("latestEventRecording"))
    assert error.kind == "not_found" and "files.latest_event_recording.name" in error.message


def test_download_with_a_refused_login_is_auth(profile, network):
    network.add("cam1")
    error = error_of(lambda: make_client(profile, network, password="nope-nope").download("latestSnapshot"))
    assert error.kind == "auth"


def test_chunked_upload_of_150_kib(profile, network):
    """150 KiB in 64 KiB chunks: 3 POSTs, append false/true/true, finish false/false/true, a fresh challenge per
    chunk, the bytes reassembled unchanged (mutation: flags swapped or one header reused -> this fails)."""
    camera = network.add("cam1")
    content = bytes(range(256)) * (150 * 4)
    progress = []
    make_client(profile, network).upload("firmware.spk", content, progress=lambda sent, total: progress.append(sent))
    assert [(u["append"], u["finish"], u["size"]) for u in camera.uploads] == [
        (False, False, 65536), (True, False, 65536), (True, True, 150 * 1024 - 2 * 65536)]
    assert len({u["nonce"] for u in camera.uploads}) == 3 and camera.challenge_calls() == 3
    assert camera.files["firmware.spk"] == content
    assert progress == [65536, 131072, 153600]
    urls = [c["url"] for c in network.calls if "/file/upload/" in c["url"]]
    assert urls == ["http://cam1:80/file/upload/firmware.spk?append=false&finish=false",
                    "http://cam1:80/file/upload/firmware.spk?append=true&finish=false",
                    "http://cam1:80/file/upload/firmware.spk?append=true&finish=true"]


def test_single_chunk_upload_and_body_layout(profile, network):
    camera = network.add("cam1")
    captured = []
    real = network.open_url

    def capture(url, data=None, headers=None, **kwargs):
        if "/file/upload/" in url:
            captured.append((data, headers))
        return real(url, data=data, headers=headers, **kwargs)
    network.open_url = capture
    content = b"\x00{\r\n\xff}raw"
    make_client(profile, network).upload("notes.bin", content)
    assert [(u["append"], u["finish"]) for u in camera.uploads] == [(False, True)]
    data, headers = captured[0]
    header, rest = json.JSONDecoder().raw_decode(data.decode("latin-1"))
    assert set(header) == {"header"} and data.endswith(content) and len(data) == rest + len(content)
    assert header["header"]["response"] == expected_response("Service", "SICK Sensor", PASSWORD,
                                                             header["header"]["nonce"], "notes.bin")
    assert headers["Content-Type"] == "application/octet-stream"


def test_uploads_are_never_retried(profile, network):
    camera = network.add("cam1")
    camera.upload_breaks = True
    client = make_client(profile, network, retries=5)
    error_of(lambda: client.upload("firmware.spk", b"SICK-SEC100-FW 2.7.0\n"))
    assert len(camera.calls(path="/file/upload/firmware.spk")) == 1 and client.sleeps == []


def test_upload_refused_login_is_auth_after_one_relogin(profile, network):
    camera = network.add("cam1")
    error = error_of(lambda: make_client(profile, network, password="nope-nope").upload("a.bin", b"x"))
    assert error.kind == "auth" and camera.uploads == [] and camera.challenge_calls() == 2


# -- network errors and TLS ---------------------------------------------------------------------------------------

def test_reads_are_retried_after_network_errors_with_backoff(profile, network):
    camera = network.add("cam1")
    camera.fail_next_gets = 2
    client = make_client(profile, network, retries=2)
    assert client.read("FirmwareVersion") == "2.6.2"
    assert client.sleeps == [0.5, 1.0] and len(camera.calls("GET")) == 3


def test_writes_are_never_retried_after_network_errors(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network, retries=5)
    real = network.open_url

    def drop_writes(url, method=None, **kwargs):
        if url.endswith("/api/LocationName"):
            camera.requests.append((method, "/api/LocationName", None, None))
            raise URLError(ConnectionResetError(104, "Connection reset by peer"))
        return real(url, method=method, **kwargs)

    network.open_url = drop_writes
    error = error_of(lambda: client.write("LocationName", "x"))
    assert error.kind == "unreachable"
    assert len(camera.calls(path="/api/LocationName")) == 1 and client.sleeps == []


def test_timeout_unreachable_and_server_messages(profile, network):
    network.add("slow").timeout = True
    error = error_of(lambda: make_client(profile, network, host="slow", timeout=3, retries=0).read("RtspPort"))
    assert error.kind == "timeout" and "did not answer within 3 s" in error.message
    error = error_of(lambda: make_client(profile, network, host="nobody", retries=0).read("RtspPort"))
    assert error.kind == "unreachable" and "Cannot reach the camera at http://nobody:80" in error.message


def test_tls_errors_are_not_retried_and_say_what_to_do(profile, network):
    client = make_client(profile, network, use_tls=True)
    calls = []

    def tls_fails(url, **kwargs):
        calls.append(url)
        raise URLError(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))

    network.open_url = tls_fails
    error = error_of(lambda: client.read("FirmwareVersion"))
    assert error.kind == "tls" and "ca_path" in error.message and len(calls) == 1


def test_tls_settings_reach_open_url(profile, network):
    network.add("cam1", port=443)
    make_client(profile, network, use_tls=True, ca_path="/etc/ca.pem", validate_certs=False).read("RtspPort")
    make_client(profile, network, use_tls=True, validate_certs=False).read("RtspPort")
    assert [(c["validate_certs"], c["ca_path"]) for c in network.calls] == [(True, "/etc/ca.pem"), (False, None)]


def test_scrub_removes_a_password_a_library_echoed():
    assert _api.scrub("failed for hunter22 at x", "hunter22") == "failed for ******** at x"


# -- the fake camera's flows (the double other module tests build on) ---------------------------------------------

def test_fake_firmware_flow(profile, network):
    """Upload, start, away for reboot_polls GETs, then UpdateState finished and the new version (fake camera)."""
    camera = network.add("cam1")
    client = make_client(profile, network, retries=0)
    assert error_of(lambda: client.call_method("firmware.start_method")).method_result == "invalid_name"
    client.upload(profile.setting("firmware", "upload_file"), b"SICK-SEC100-FW 2.7.1\nimage")
    assert client.call_method("firmware.start_method") == "ok"
    state = profile.field("firmware", "state")
    for _poll in range(camera.reboot_polls):
        assert error_of(lambda: client.read_field(state)).kind == "unreachable"
    assert client.read_field(state) == "finished" and client.read("FirmwareVersion") == "2.7.1"


def test_fake_backup_flow(profile, network):
    """Create, export (POST with login), stage (PUT), restore (fake camera, the simulator's shapes)."""
    camera = network.add("cam1")
    client = make_client(profile, network)
    path = profile.setting("backup", "path")
    client.call_method("backup.create_method", "pass-phrase")
    exported = client.send("POST", path, "parameterbackup")["parameterbackup"]
    assert exported == camera.writable() and camera.passphrases == ["pass-phrase"]
    exported["LocationName"] = "restored"
    assert client.send("PUT", path, "parameterbackup", {"data": {"parameterbackup": exported}}) == {
        "parameterbackup": {"staged": len(exported)}}
    assert client.call_method("backup.restore_method") == "ok"
    assert camera.value("LocationName") == "restored" and (camera.puts, camera.restores) == (1, 1)
