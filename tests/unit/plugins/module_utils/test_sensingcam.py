"""Unit tests of the sensingCam client stack: SICK login (sick_login.py), versions (firmware_version.py), device
profile (sensingcam_profile.py), client (sensingcam_client.py), firmware archive and fleet audit.

Against the in-process fake camera of tests/unit/sensingcam_fake_camera.py (it stands in for open_url), not a real
SEC100 and not the camera simulator: they prove the client follows the protocol as we understand it from SICK's
public code, not that a real camera accepts it. The fleet-audit tests run real threads (ThreadPoolExecutor is not
replaced); the InFlightGate opener in front of the fake counts the requests in flight at once.
"""

import hashlib
import json
import os
import ssl
import threading
from types import SimpleNamespace
from urllib.error import URLError

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, PROFILE_PATH, FakeCamera, FakeNetwork, expected_response

from ansible_collections.sensingcam.ming.plugins.module_utils import (
    _api,
    firmware_version,
    sensingcam_client,
    sensingcam_firmware_archive,
    sensingcam_module,
    sensingcam_profile,
    sick_login,
)
from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_firmware_info

# One name per concern, as the tests were written against a single module before the split.
sc = SimpleNamespace(
    ha1=sick_login.ha1, challenge_response=sick_login.challenge_response,
    FirmwareVersion=firmware_version.FirmwareVersion, parse_version=firmware_version.parse_version,
    DeviceProfile=sensingcam_profile.DeviceProfile, ProfileError=sensingcam_profile.ProfileError,
    SensingCamClient=sensingcam_client.SensingCamClient, SensingCamError=sensingcam_client.SensingCamError,
    check_allowed=sensingcam_module.check_allowed, same_value=_api.same_value, _scrub=_api.scrub,
    load_firmware_archive=sensingcam_firmware_archive.load_firmware_archive,
    firmware_verdict=sensingcam_firmware_info.firmware_verdict, audit_camera=sensingcam_firmware_info.audit_camera,
    audit_fleet=sensingcam_firmware_info.audit_fleet,
)


@pytest.fixture
def profile():
    return sc.DeviceProfile.load(PROFILE_PATH)


@pytest.fixture
def network():
    return FakeNetwork()


def make_client(profile, network, host="cam1", password=PASSWORD, **kwargs):
    sleeps = []
    kwargs.setdefault("retries", 2)
    client = sc.SensingCamClient(host, profile, password=password, opener=network, sleep=sleeps.append, **kwargs)
    client.sleeps = sleeps
    return client


# -- auth math ----------------------------------------------------------------------------------------------------

def test_challenge_response_matches_hand_computed_vector_without_salt():
    ha1 = hashlib.sha256(b"Service:SICK Sensor:servicelevel").hexdigest()
    ha2 = hashlib.sha256(b"POST:SnapshotMode").hexdigest()
    want = hashlib.sha256(f"{ha1}:abc123:{ha2}".encode()).hexdigest()
    assert sc.ha1("Service", "SICK Sensor", "servicelevel") == ha1
    assert sc.challenge_response("Service", "SICK Sensor", "servicelevel", "abc123", "SnapshotMode") == want


def test_challenge_response_with_ascii_salt_appends_salt_chars():
    salt = [0x73, 0x61, 0x6C, 0x74]  # "salt"
    ha1 = hashlib.sha256(b"Service:SICK Sensor:pw:salt").hexdigest()
    ha2 = hashlib.sha256(b"POST:LocationName").hexdigest()
    want = hashlib.sha256(f"{ha1}:n0:{ha2}".encode()).hexdigest()
    assert sc.ha1("Service", "SICK Sensor", "pw", salt) == ha1
    assert sc.challenge_response("Service", "SICK Sensor", "pw", "n0", "LocationName", salt=salt) == want


def test_salt_with_high_bytes_is_hashed_as_raw_bytes():
    """One char per byte (latin-1), as SICK's Lua client builds it with string.char: 0xE9 is one byte."""
    salt = [0x00, 0xE9, 0xFF]
    want = hashlib.sha256(b"U:R:p:\x00\xe9\xff").hexdigest()
    assert sc.ha1("U", "R", "p", salt) == want
    latin1 = ("U:R:p:" + bytes(salt).decode("latin-1")).encode("latin-1")
    assert sc.ha1("U", "R", "p", salt) == hashlib.sha256(latin1).hexdigest()


def test_empty_salt_is_no_salt():
    assert sc.ha1("U", "R", "p", []) == hashlib.sha256(b"U:R:p").hexdigest()


def test_write_sends_header_the_camera_accepts_and_a_fresh_challenge_each_time(profile, network):
    camera = network.add("cam1", FakeCamera(salt=[1, 2, 250]))
    client = make_client(profile, network)
    client.write("LocationName", "line3")
    client.write("TimeZone", "Europe/Berlin")
    assert camera.variables["LocationName"] == "line3"
    assert camera.variables["TimeZone"] == "Europe/Berlin"
    challenges = camera.calls("POST", "/api/getChallenge")
    assert len(challenges) == 2
    posts = camera.calls("POST", "/api/LocationName")
    header = posts[0][2]["header"]
    assert set(header) == {"user", "response", "realm", "opaque", "nonce"}
    assert header["response"] == expected_response("Service", "SICK Sensor", PASSWORD, header["nonce"],
                                                   "LocationName", [1, 2, 250])
    assert posts[0][2]["data"] == {"LocationName": "line3"}
    nonces = [c[2]["header"]["nonce"] for c in camera.writes()]
    assert len(set(nonces)) == 2


def test_password_is_never_sent(profile, network):
    camera = network.add("cam1")
    make_client(profile, network).write("LocationName", "x")
    assert PASSWORD not in json.dumps([r[2] for r in camera.requests])


def test_reads_are_plain_gets_by_default(profile, network):
    camera = network.add("cam1")
    assert make_client(profile, network).read("FirmwareVersion") == "2.6.1"
    assert [r[:2] for r in camera.requests] == [("GET", "/api/FirmwareVersion")]


def test_reads_log_in_when_the_profile_says_so(profile, network):
    camera = network.add("cam1", FakeCamera(reads_require_login=True))
    profile.data["auth"]["reads_require_login"] = {"value": True, "status": "assumed"}
    assert make_client(profile, network).read("SerialNumber") == "23450017"
    post = camera.calls("POST", "/api/SerialNumber")[0]
    assert "data" not in post[2] and post[2]["header"]["nonce"]


def test_default_user_comes_from_profile(profile, network):
    client = make_client(profile, network)
    assert client.username == "Service"
    assert make_client(profile, network, username="Operator").username == "Operator"


def test_port_defaults_follow_use_tls(profile, network):
    assert make_client(profile, network).base_url == "http://cam1:80"
    assert make_client(profile, network, use_tls=True).base_url == "https://cam1:443"
    assert make_client(profile, network, host="fd00::5", port=8080).base_url == "http://[fd00::5]:8080"


def test_download_and_upload_use_the_auth_name(profile, network):
    camera = network.add("cam1")
    client = make_client(profile, network)
    assert client.download("config_export") == camera.config
    client.upload("config_import", b'{"new": true}', "cfg.json")
    assert camera.config == b'{"new": true}'
    upload = camera.calls("POST", "/file/upload/configuration")[0]
    assert upload[3]["file"][0] == "cfg.json"
    assert json.loads(upload[3]["header"][1])["user"] == "Service"


# -- errors -------------------------------------------------------------------------------------------------------

def error_of(call):
    with pytest.raises(sc.SensingCamError) as caught:
        call()
    assert PASSWORD not in caught.value.message
    return caught.value


def test_wrong_password_is_401_wrong_credentials(profile, network):
    network.add("cam1")
    error = error_of(lambda: make_client(profile, network, password="wrong-" + PASSWORD).write("LocationName", "x"))
    assert error.kind == "auth" and error.status_code == 401
    assert "wrong user name or password" in error.message
    assert "wrong-" not in error.message


def test_user_level_too_low_is_403(profile, network):
    camera = network.add("cam1")
    camera.users["Viewer"] = PASSWORD
    error = error_of(lambda: make_client(profile, network, username="Viewer").write("LocationName", "x"))
    assert error.kind == "forbidden"
    assert "user level is too low" in error.message and "'Viewer'" in error.message


def test_unknown_variable_names_the_profile_file_and_key(profile, network):
    camera = network.add("cam1")
    del camera.variables["StreamProfilePrimary"]
    error = error_of(lambda: make_client(profile, network).read("StreamProfilePrimary"))
    assert error.kind == "not_found"
    assert "streams.primary.name" in error.message
    assert PROFILE_PATH in error.message


def test_unknown_file_endpoint_names_its_profile_key(profile, network):
    camera = network.add("cam1")
    camera.status_override["/file/download/configuration"] = 404
    error = error_of(lambda: make_client(profile, network).download("config_export"))
    assert "files.config_export.path" in error.message


def test_timeout_message(profile, network):
    network.add("cam1").timeout = True
    error = error_of(lambda: make_client(profile, network, timeout=3).read("FirmwareVersion"))
    assert error.kind == "timeout"
    assert "did not answer within 3 s" in error.message


def test_unreachable_message_is_short_and_human(profile, network):
    error = error_of(lambda: make_client(profile, network, host="nobody").read("FirmwareVersion"))
    assert error.kind == "unreachable"
    assert "Cannot reach the camera at http://nobody:80" in error.message
    assert "Connection refused" in error.message
    assert "HTTPConnectionPool" not in error.message


def test_server_error_message(profile, network):
    network.add("cam1").status_override["/api/FirmwareVersion"] = 503
    error = error_of(lambda: make_client(profile, network).read("FirmwareVersion"))
    assert error.kind == "server" and "HTTP 503" in error.message


def test_device_status_in_envelope_is_an_error(profile, network):
    client = make_client(profile, network)
    with pytest.raises(sc.SensingCamError, match="status 7 .busy."):
        client._envelope_data({"header": {"status": 7, "message": "busy"}, "data": {}}, "do it")


NON_ASCII_PASSWORDS = ["p\u00e4sswort-Secret1", "\u20acuro-Secret1", "Secret1-\u00df"]


@pytest.mark.parametrize("password", NON_ASCII_PASSWORDS)
def test_non_ascii_password_is_refused_before_any_call(profile, network, password):
    """SICK's clients hash non-ASCII passwords differently: the client refuses one when it is built, naming the
    option, never the value, and sends nothing (mutation: the check in SensingCamClient.__init__ removed -> the
    client is built and the fake camera gets a challenge request)."""
    camera = network.add("cam1")
    with pytest.raises(sc.SensingCamError) as refused:
        sc.SensingCamClient("cam1", profile, password=password, retries=0, opener=network)
    assert refused.value.kind == "config"
    assert "password option" in refused.value.message and "ASCII" in refused.value.message
    assert password not in refused.value.message
    assert camera.requests == []
    with pytest.raises(ValueError, match="ASCII"):
        sc.ha1("Service", "SICK Sensor", password)


def test_ascii_passwords_still_log_in(profile, network):
    network.add("cam1")
    client = sc.SensingCamClient("cam1", profile, password=PASSWORD, retries=0, opener=network)
    assert client.password.isascii()


def test_fleet_audit_of_a_camera_with_a_non_ascii_password(profile, network):
    """One camera's non-ASCII password: that camera is 'unknown' with the reason, not reached; the others audited."""
    bad, good = network.add("bad"), network.add("good")
    results = sc.audit_fleet([{"host": "bad", "password": NON_ASCII_PASSWORDS[0], "retries": 0},
                              {"host": "good", "password": PASSWORD, "retries": 0}], profile, "2.6.0",
                             parallel=1, opener=network)
    assert results[0]["verdict"] == "unknown" and results[0]["reachable"] is False
    assert "password option" in results[0]["error"] and NON_ASCII_PASSWORDS[0] not in str(results)
    assert bad.requests == [] and results[1]["verdict"] == "approved" and good.requests


def test_write_without_password_fails_clearly(profile, network):
    network.add("cam1")
    error = error_of(lambda: make_client(profile, network, password=None).write("LocationName", "x"))
    assert error.kind == "config" and "password option" in error.message


def test_scrub_removes_a_password_a_library_echoed():
    assert sc._scrub("failed for hunter22 at x", "hunter22") == "failed for ******** at x"


# -- retries ------------------------------------------------------------------------------------------------------

def test_reads_are_retried_with_exponential_backoff(profile, network):
    camera = network.add("cam1")
    camera.fail_next_gets = 2
    client = make_client(profile, network, retries=2)
    assert client.read("FirmwareVersion") == "2.6.1"
    assert client.sleeps == [0.5, 1.0]
    assert len(camera.calls("GET")) == 3


def test_retries_are_bounded(profile, network):
    camera = network.add("cam1")
    camera.fail_next_gets = 10
    client = make_client(profile, network, retries=2)
    error_of(lambda: client.read("FirmwareVersion"))
    assert len(camera.calls("GET")) == 3


def test_writes_are_never_retried(profile, network):
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
    assert len(camera.calls(path="/api/LocationName")) == 1
    assert client.sleeps == []


def test_uploads_are_never_retried(profile, network):
    camera = network.add("cam1")
    camera.upload_breaks = True
    client = make_client(profile, network, retries=5)
    error_of(lambda: client.upload("firmware_upload", b"SICK-SEC100-FW 2.7.0\n", "fw.bin"))
    assert len(camera.calls(path="/file/upload/firmware")) == 1


def test_tls_errors_are_not_retried_and_say_what_to_do(profile, network):
    client = make_client(profile, network, use_tls=True)
    calls = []

    def tls_fails(url, **kwargs):
        calls.append(url)
        raise URLError(ssl.SSLCertVerificationError(1, "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"))

    network.open_url = tls_fails
    error = error_of(lambda: client.read("FirmwareVersion"))
    assert error.kind == "tls" and "ca_path" in error.message
    assert len(calls) == 1


def test_ca_path_is_passed_as_verify(profile, network):
    assert make_client(profile, network, ca_path="/etc/ca.pem").verify == "/etc/ca.pem"
    assert make_client(profile, network, validate_certs=False).verify is False


def test_tls_settings_reach_open_url(profile, network):
    """A CA file turns validation on even with validate_certs=false, as `verify=<ca file>` did before."""
    network.add("cam1", port=443)
    make_client(profile, network, use_tls=True, ca_path="/etc/ca.pem", validate_certs=False).read("FirmwareVersion")
    make_client(profile, network, use_tls=True, validate_certs=False).read("FirmwareVersion")
    assert [(c["validate_certs"], c["ca_path"]) for c in network.calls] == [(True, "/etc/ca.pem"), (False, None)]
    assert all(c["url"].startswith("https://cam1:443/") for c in network.calls)


def test_upload_is_multipart_header_then_file_with_the_bytes_unchanged(profile, network):
    camera = network.add("cam1")
    content = b"SICK-SEC100-FW 2.7.0\n\x00\r\n\xff\nend"
    captured = {}
    real = network.open_url

    def capture(url, data=None, headers=None, **kwargs):
        if url.endswith("/file/upload/firmware"):
            captured.update(data=data, headers=headers)
        return real(url, data=data, headers=headers, **kwargs)

    network.open_url = capture
    make_client(profile, network).upload("firmware_upload", content, "fw.bin")
    assert camera.uploaded_version == "2.7.0"
    data = captured["data"]
    boundary = captured["headers"]["Content-Type"].split("boundary=")[1].encode()
    assert data.index(b'name="header"') < data.index(b'name="file"; filename="fw.bin"')
    assert b"Content-Type: application/json\r\n" in data
    assert b"\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n" in data


# -- versions -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("low,high", [
    ("2.5.9", "2.6.0"),
    ("2.9.1", "2.10.0"),
    ("2.6.0-rc1", "2.6.0"),
    ("2.6.0a1", "2.6.0b1"),
    ("2.6.0.dev1", "2.6.0a1"),
    ("2.6.0-beta.2", "2.6.0-rc.1"),
    ("2.6.0rc1", "2.6.0rc2"),
    ("2.6", "2.6.1"),
    ("1.99.99", "2"),
    ("v2.6.0", "2.6.0.1"),
])
def test_version_order(low, high):
    assert sc.FirmwareVersion(low) < sc.FirmwareVersion(high)
    assert sc.FirmwareVersion(high) > low
    assert not sc.FirmwareVersion(high) <= low


@pytest.mark.parametrize("a,b", [("2.6", "2.6.0"), ("v2.6.0", "2.6.0"), ("2.6.0+build7", "2.6.0"), ("2", "2.0.0")])
def test_version_equality(a, b):
    assert sc.FirmwareVersion(a) == sc.FirmwareVersion(b)
    assert hash(sc.FirmwareVersion(a)) == hash(sc.FirmwareVersion(b))


@pytest.mark.parametrize("text", ["", "abc", "2.x", "2..6", None, True, "2.6.0-foo"])
def test_not_versions(text):
    assert sc.parse_version(text) is None
    if text is not None:
        with pytest.raises(ValueError):
            sc.FirmwareVersion(text)


@pytest.mark.parametrize("newer, older", [("2.10.0", "2.9.0")])
def test_version_is_not_string_comparison(newer, older):
    assert newer < older  # the trap: as strings, 2.10 sorts before 2.9
    assert sc.FirmwareVersion(newer) > sc.FirmwareVersion(older)


# SICK's firmware forms (../shared/reference/sec100.md section 7): a four-part release, a trailing letter, and
# semver-like pre-release/build parts with "_" in the build.
@pytest.mark.parametrize("text, release, suffix, prerelease, build", [
    ("2.4.2.0R", "2.4.2.0", "R", None, None),
    ("1.0.0.0A", "1.0.0.0", "A", None, None),
    ("0.1.0-beta+local_build", "0.1.0", None, "beta", "local_build"),
    ("2.6.0", "2.6.0", None, None, None),
    ("2.6.0rc1", "2.6.0", None, "rc1", None),
    ("2.6.0a1", "2.6.0", None, "a1", None),
], ids=["sick-R", "sick-A", "extended-beta-build", "plain", "rc", "alpha-1"])
def test_sick_firmware_forms_parse_and_keep_their_parts(text, release, suffix, prerelease, build):
    """Mutation: the suffix group removed from the parser -> 2.4.2.0R rejected, 1.0.0.0A read as alpha."""
    version = sc.parse_version(text)
    assert version is not None, text
    assert version.parts() == {"release": release, "suffix": suffix, "prerelease": prerelease, "build": build}


@pytest.mark.parametrize("a, b", [
    ("2.4.2.0R", "2.4.2"), ("2.4.2.0R", "2.4.2.0A"), ("1.0.0.0A", "1.0"), ("0.1.0+local_build", "0.1.0"),
])
def test_letter_suffixes_do_not_order_by_default(a, b):
    """Without the profile's firmware.suffix_order, equal numeric parts compare equal (the suffix is reported)."""
    assert sc.FirmwareVersion(a) == sc.FirmwareVersion(b)
    assert not sc.FirmwareVersion(a) < b and not sc.FirmwareVersion(a) > b


@pytest.mark.parametrize("low, high", [
    ("1.0.0.0A", "1.0.0.1A"), ("2.9.0.0R", "2.10.0.0R"), ("0.1.0-beta+local_build", "0.1.0"),
    ("0.1.0-beta+local_build", "0.2.0"), ("2.4.2.0R", "2.4.2.1"), ("1.0.0.0A", "1.0.0.0.1"),
])
def test_sick_forms_order_on_the_numeric_part(low, high):
    """1.0.0.0A is not an alpha pre-release of 1.0: it is 1.0 with the letter A (mutation: suffix read as a
    pre-release -> 1.0.0.0A < 1.0 and the first equality test fails)."""
    assert sc.FirmwareVersion(low) < sc.FirmwareVersion(high)
    assert sc.FirmwareVersion(high) > low


def test_suffix_order_from_the_profile_orders_suffixes():
    """firmware.suffix_order [A, R]: '' below A below R; a suffix the order does not list is not a version."""
    order = ["A", "R"]
    assert sc.FirmwareVersion("2.4.2.0A", order) < sc.FirmwareVersion("2.4.2.0R", order)
    assert sc.FirmwareVersion("2.4.2.0", order) < "2.4.2.0A"
    assert sc.FirmwareVersion("2.4.2.1A", order) > "2.4.2.0R", "the numeric part still comes first"
    assert sc.parse_version("2.4.2.0B", order) is None
    with pytest.raises(ValueError, match="suffix_order"):
        sc.FirmwareVersion("2.4.2.0B", order)
    assert sc.FirmwareVersion("2.4.2.0", ["", "R"]) < sc.FirmwareVersion("2.4.2.0R", ["", "R"])


def test_profile_suffix_order_entry(tmp_path):
    """The shipped profile has an empty order (suffixes do not order); a profile entry changes the verdicts."""
    shipped = sc.DeviceProfile.load(PROFILE_PATH)
    assert shipped.suffix_order is None
    assert shipped.version("2.6.0R") == shipped.version("2.6.0")
    with open(PROFILE_PATH) as handle:
        data = yaml.safe_load(handle)
    data["firmware"]["suffix_order"] = {"value": ["R", ""], "status": "assumed"}
    ordered = sc.DeviceProfile(data, "ordered")
    assert ordered.suffix_order == ("R", "")
    assert ordered.version("2.6.0R") < ordered.version("2.6.0")
    data["firmware"]["suffix_order"] = {"value": ["release"], "status": "assumed"}
    with pytest.raises(sc.ProfileError, match="firmware.suffix_order"):
        assert sc.DeviceProfile(data, "bad").suffix_order is None


@pytest.mark.parametrize("version, minimum, suffix_order, verdict", [
    ("2.4.2.0R", "2.4.2", None, "approved"),
    ("2.4.2.0R", "2.6.0", None, "below_minimum"),
    ("1.0.0.0A", "1.0", None, "approved"),
    ("0.1.0-beta+local_build", "0.2.0", None, "below_minimum"),
    ("0.1.0-beta+local_build", "0.1.0-alpha", None, "approved"),
    ("2.6.0R", "2.6.0A", ["A", "R"], "approved"),
    ("2.6.0A", "2.6.0R", ["A", "R"], "below_minimum"),
    ("2.6.0B", "2.6.0", ["A", "R"], "unknown"),
])
def test_verdicts_for_sick_forms(version, minimum, suffix_order, verdict):
    assert sc.firmware_verdict(version, minimum, suffix_order) == verdict


def test_audit_of_a_fleet_on_sick_forms_has_no_unknown(profile, network):
    """The fake network answers SICK's strings; every camera gets a real verdict and its parts (mutation: the
    old parser back -> 2.4.2.0R and 0.1.0-beta+local_build become 'unknown')."""
    versions = {"cam-r": "2.4.2.0R", "cam-a": "1.0.0.0A", "cam-x": "0.1.0-beta+local_build", "cam-new": "2.10.0.0R"}
    for host, text in versions.items():
        network.add(host).variables["FirmwareVersion"] = text
    cameras = [{"host": host, "retries": 0} for host in versions]
    results = sc.audit_fleet(cameras, profile, "2.6.0", parallel=2, opener=network)
    assert {r["host"]: r["verdict"] for r in results} == {
        "cam-r": "below_minimum", "cam-a": "below_minimum", "cam-x": "below_minimum", "cam-new": "approved"}
    assert {r["host"]: (r["version_parts"] or {}).get("suffix") for r in results} == {
        "cam-r": "R", "cam-a": "A", "cam-x": None, "cam-new": "R"}
    assert results[2]["version_parts"]["build"] == "local_build"
    assert results[0]["known_issues"] == profile.known_issues("2.4.2"), "known issues read the suffixed form too"


# -- profile ------------------------------------------------------------------------------------------------------

def test_profile_names(profile):
    assert profile.variable("identity", "firmware_version") == "FirmwareVersion"
    assert profile.default_user == "Service"
    assert profile.realm == "SICK Sensor"
    assert profile.file_endpoint("firmware_upload") == ("/file/upload/firmware", "firmware")
    assert profile.location_of("TimeZone") == "time.time_zone.name"
    assert profile.location_of("NoSuchThing") is None


def test_profile_rtsp_by_version(profile):
    old = profile.rtsp("10.0.0.5", "2.5.3")
    assert old["available"] is False and old["urls"] == {} and "2.6.0" in old["reason"]
    new = profile.rtsp("10.0.0.5", "2.6.0")
    assert new["available"] is True
    assert new["urls"] == {"primary": "rtsp://10.0.0.5:554/stream1", "secondary": "rtsp://10.0.0.5:554/stream2"}
    assert profile.rtsp("10.0.0.5", None)["available"] is None


def test_profile_known_issues_and_coverage(profile):
    assert [i["below"] for i in profile.known_issues("2.5.9")] == ["2.6.0"]
    assert profile.known_issues("2.6.0") == []
    assert profile.covers("2.7.1") is True
    assert profile.covers("3.0.0") is False
    assert profile.covers("1.9") is False


def test_profile_errors(tmp_path):
    with pytest.raises(sc.ProfileError, match="Cannot read the device profile"):
        sc.DeviceProfile.load(str(tmp_path / "missing.yml"))
    bad = tmp_path / "bad.yml"
    bad.write_text("profile_format: 9\n")
    with pytest.raises(sc.ProfileError, match="profile_format 9"):
        sc.DeviceProfile.load(str(bad))


def test_check_allowed(profile):
    allowed = profile.entry("streams", "allowed")
    assert sc.check_allowed(allowed, {"codec": "h264", "fps": 30, "gop": 1}) == []
    problems = sc.check_allowed(allowed, {"codec": "vp9", "fps": 31, "bitrate_kbps": 100})
    assert len(problems) == 3
    assert any("codec='vp9' is not one of h264, h265, mjpeg" in p for p in problems)


@pytest.mark.parametrize("wanted,current,same", [
    (5, "5", True), (5, 5, True), (5, 6, False), (True, "true", True), (False, True, False),
    (["a", "b"], ["a", "b"], True), (["a", "b"], ["b", "a"], False), ("x", None, False), (True, None, False),
])
def test_same_value(wanted, current, same):
    assert sc.same_value(wanted, current) is same


# -- firmware archive and audit -----------------------------------------------------------------------------------

def write_archive(directory, versions, family="sensingCam SEC100"):
    entries = []
    for version in versions:
        name = f"sec100-{version}.bin"
        content = f"SICK-SEC100-FW {version}\npayload".encode()
        (directory / name).write_bytes(content)
        entries.append({"version": version, "file": name, "sha256": hashlib.sha256(content).hexdigest(),
                        "device_family": family})
    entries.append({"version": "9.9.9", "file": "other.bin", "sha256": "00", "device_family": "picoCam2"})
    import yaml
    (directory / "manifest.yml").write_text(yaml.safe_dump({"firmware": entries}))
    return directory


def test_archive_is_filtered_and_sorted(tmp_path):
    write_archive(tmp_path, ["2.6.0", "2.10.0", "2.9.1"])
    entries = sc.load_firmware_archive(str(tmp_path), "sensingCam SEC100")
    assert [e["version"] for e in entries] == ["2.10.0", "2.9.1", "2.6.0"]
    assert entries[0]["path"] == os.path.join(str(tmp_path), "sec100-2.10.0.bin")


def test_archive_errors(tmp_path):
    with pytest.raises(sc.ProfileError, match="Cannot read the firmware manifest"):
        sc.load_firmware_archive(str(tmp_path))
    (tmp_path / "manifest.yml").write_text("firmware: [{version: 2.6.0}]\n")
    with pytest.raises(sc.ProfileError, match="needs version, file and sha256"):
        sc.load_firmware_archive(str(tmp_path))


@pytest.mark.parametrize("version,minimum,verdict", [
    ("2.6.1", "2.6.0", "approved"), ("2.6.0", "2.6.0", "approved"), ("2.5.3", "2.6.0", "below_minimum"),
    ("2.6.1", None, "unknown"), ("garbage", "2.6.0", "unknown"),
])
def test_verdicts(version, minimum, verdict):
    assert sc.firmware_verdict(version, minimum) == verdict


def test_audit_camera_reachable_and_not(profile, network):
    network.add("cam1").variables["FirmwareVersion"] = "2.5.3"
    good = sc.audit_camera({"host": "cam1", "name": "line1", "retries": 0}, profile, "2.6.0", "2.7.0",
                           opener=network)
    assert good == {"name": "line1", "host": "cam1", "reachable": True, "version": "2.5.3",
                    "version_parts": {"release": "2.5.3", "suffix": None, "prerelease": None, "build": None},
                    "verdict": "below_minimum", "known_issues": profile.known_issues("2.5.3"),
                    "update_available": True, "error": None}
    bad = sc.audit_camera({"host": "gone", "retries": 0}, profile, "2.6.0", opener=network)
    assert bad["reachable"] is False and bad["verdict"] == "unreachable" and bad["name"] == "gone"
    assert "Cannot reach" in bad["error"]


def test_audit_camera_login_refused_is_reachable_but_unknown(profile, network):
    network.add("cam1", FakeCamera(reads_require_login=True))
    profile.data["auth"]["reads_require_login"] = {"value": True}
    result = sc.audit_camera({"host": "cam1", "password": "nope", "retries": 0}, profile, "2.6.0", opener=network)
    assert result["reachable"] is True and result["verdict"] == "unknown" and "401" in result["error"]


def test_audit_fleet_parallel_equals_serial_and_keeps_order(profile, network, monkeypatch):
    cameras = []
    for index in range(40):
        host = f"cam{index}"
        if index % 7:
            network.add(host).variables["FirmwareVersion"] = "2.5.0" if index % 2 else "2.6.2"
        cameras.append({"host": host, "retries": 0})
    serial = sc.audit_fleet(cameras, profile, "2.6.0", parallel=1, opener=network)
    parallel = sc.audit_fleet(cameras, profile, "2.6.0", parallel=8, opener=network)
    assert serial == parallel
    assert [r["host"] for r in parallel] == [c["host"] for c in cameras]
    verdicts = {r["verdict"] for r in parallel}
    assert verdicts == {"approved", "below_minimum", "unreachable"}
    assert sum(r["verdict"] == "unreachable" for r in parallel) == 6


class InFlightGate:
    """An opener in front of a FakeNetwork that holds every request until ``wanted`` requests are in flight at once
    (then lets all through), and records the most requests it ever saw in flight.

    Real threads, no mocked pool: a fleet audit that runs fewer than ``wanted`` cameras at a time never opens the
    gate, and each held request gives up after a bounded wait (a guard against a hung test, not a timing assertion),
    so ``max_in_flight`` stays below ``wanted`` and the test fails on state, not on time.
    """

    def __init__(self, network, wanted, give_up_after=10.0):
        self.network = network
        self.wanted = wanted
        self.give_up_after = give_up_after
        self.condition = threading.Condition()
        self.in_flight = 0
        self.max_in_flight = 0
        self.open = False
        self.gave_up = 0

    def __call__(self, url, **kwargs):
        with self.condition:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if self.in_flight >= self.wanted:
                self.open = True
                self.condition.notify_all()
            if not self.condition.wait_for(lambda: self.open, timeout=self.give_up_after):
                self.gave_up += 1
        try:
            return self.network(url, **kwargs)
        finally:
            with self.condition:
                self.in_flight -= 1


@pytest.mark.parametrize("cameras, parallel, expected", [(12, 4, 4), (3, 16, 3), (5, 1, 1)],
                         ids=["12-cameras-parallel-4", "3-cameras-parallel-16", "parallel-1-is-serial"])
def test_audit_fleet_runs_parallel_cameras_at_once(profile, network, cameras, parallel, expected):
    """Real threads against the in-process fake camera: the most requests in flight at once is exactly
    min(parallel, cameras), never more. Mutation tried: audit_fleet with one worker (workers = 1): the gate never
    opens, each request gives up after the bounded wait (3 s), max_in_flight is 1 and the 4- and 3-camera cases
    fail."""
    hosts = [f"cam{index}" for index in range(cameras)]
    for host in hosts:
        network.add(host)
    gate = InFlightGate(network, expected, give_up_after=3.0)
    results = sc.audit_fleet([{"host": h, "retries": 0} for h in hosts], profile, "2.6.0", parallel=parallel,
                             opener=gate)
    assert gate.max_in_flight == expected and gate.gave_up == 0
    assert [r["host"] for r in results] == hosts and {r["verdict"] for r in results} == {"approved"}
    assert sum(len(network.cameras[f"{h}:80"].requests) for h in hosts) == cameras
