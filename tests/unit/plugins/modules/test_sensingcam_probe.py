"""sensingcam_probe against the in-process fake camera (a test double, not a real SEC100 and not the camera simulator).

Real: the module's main(), the collection's module_utils and the lint filter. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, AnsibleModule's exit_json/fail_json/warn replaced by the
run_module fixture (tests/unit/conftest.py), the module's sleep (the restart wait) replaced by a hook that plays the
camera's restart, and, except in the TLS tests, the TLS handshake.
"""

import datetime
import json
import socket
import ssl
import threading

import pytest
import yaml
from sensingcam_fake_camera import (
    PASSWORD,
    PROFILE_PATH,
    FakeCamera,
    install_network,
    load_profile_yaml,
    module_args,
)

from ansible_collections.sensingcam.ming.plugins.filter.sensingcam_profile_lint import sensingcam_profile_lint
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import DeviceProfile, ProfileError
from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_probe

SHIPPED = load_profile_yaml()
FIELD_COUNT = len(DeviceProfile.load(PROFILE_PATH).fields())


@pytest.fixture
def network(monkeypatch):
    network = install_network(monkeypatch)
    network.handshakes = []

    def handshake(host, port, timeout):
        network.handshakes.append((host, port))
        return False, None, "Connection refused"
    monkeypatch.setattr(sensingcam_probe, "tls_handshake", handshake)
    return network


@pytest.fixture
def camera(network):
    return network.add("cam1")


def probe(run_module, tmp_path=None, check_mode=False, **args):
    if tmp_path is not None:
        args.setdefault("dest_dir", str(tmp_path))
    return run_module(sensingcam_probe.main, module_args(**args), check_mode=check_mode)


def posts(camera):
    return [request for request in camera.requests if request[0] != "GET"]


def files(tmp_path):
    report = json.loads((tmp_path / "probe-report.json").read_text())
    candidate_text = (tmp_path / "candidate-profile.yml").read_text()
    return report, candidate_text, yaml.safe_load(candidate_text)


def test_reads_every_name_of_the_profile_and_changes_nothing(run_module, camera, tmp_path):
    failed, result = probe(run_module, tmp_path)
    assert not failed and result["changed"] is False
    assert posts(camera) == [], "read-only: no login, no write, no method"
    probed = sorted(request[1] for request in camera.calls("GET") if request[1].startswith("/api/"))
    assert len(probed) == FIELD_COUNT == result["summary"]["total"] == result["summary"]["exists"]
    assert "/api/UpdateState" in probed, "the firmware update state is probed too"
    fps = result["variables"]["streams.video0.fps"]
    assert fps == {"name": "Video0FrameRate", "level": "observed", "access": "read_write", "exists": True,
                   "json_type": "integer", "value": 25, "decoded": 25, "error": None}
    assert result["variables"]["streams.video0.resolution"]["decoded"] == "1920x1080"
    assert result["variables"]["time.ntp_server"]["json_type"] == "array"
    assert result["variables"]["health.operating_hours"]["decoded"] == 1234.5
    assert result["variables"]["identity.device_ident"]["json_type"] == "object"
    assert result["summary"]["missing"] == [] and result["summary"]["errors"] == []


def test_exact_firmware_strings_and_the_version_used(run_module, camera):
    camera.variables["FirmwareVersion"] = "V2.6.2 build 17 (release)"
    failed, result = probe(run_module)
    assert not failed
    assert result["firmware"] == {
        "firmware_version": "V2.6.2 build 17 (release)", "extended_firmware_version": "2.6.2+build.17",
        "device_ident": {"Name": "SEC100", "Version": "2.6.2.0R"}, "version": "2.6.2+build.17",
        "version_source": "ExtendedFirmwareVersion", "covers_firmware": True,
        "version_parts": {"release": "2.6.2", "suffix": None, "prerelease": None, "build": "build.17"}}


def test_device_ident_version_is_the_last_fallback(run_module, camera):
    camera.variables["FirmwareVersion"] = "unreleased"
    del camera.specs["ExtendedFirmwareVersion"]
    failed, result = probe(run_module)
    assert not failed
    assert result["firmware"]["extended_firmware_version"] is None
    assert (result["firmware"]["version"], result["firmware"]["version_source"]) == ("2.6.2.0R", "DeviceIdent.Version")
    assert result["firmware"]["version_parts"]["suffix"] == "R"


def test_no_parsable_string_keeps_the_first_one_without_a_source(run_module, camera):
    camera.variables["FirmwareVersion"] = "unreleased"
    camera.variables["ExtendedFirmwareVersion"] = "local"
    camera.variables["DeviceIdent"] = {"Name": "SEC100"}
    failed, result = probe(run_module)
    assert not failed
    assert result["firmware"]["version"] == "unreleased" and result["firmware"]["version_source"] is None
    assert result["firmware"]["covers_firmware"] is None


def test_files_report_candidate_profile_and_api_description(run_module, camera, tmp_path):
    camera.api_description = b"openapi: 3.0.3\npaths: {/api/FirmwareVersion: {get: {}}}\n"
    failed, result = probe(run_module, tmp_path)
    assert not failed
    assert result["files"] == {"report": str(tmp_path / "probe-report.json"),
                               "candidate_profile": str(tmp_path / "candidate-profile.yml"),
                               "api_description": str(tmp_path / "deviceDescription.yaml"),
                               "rewritten": ["api_description", "candidate_profile", "report"]}
    assert (tmp_path / "deviceDescription.yaml").read_bytes() == camera.api_description
    assert result["api_description"]["found"] is True and result["api_description"]["yaml_valid"] is True
    assert result["api_description"]["bytes"] == len(camera.api_description)
    report, candidate_text, candidate = files(tmp_path)
    assert report["variables"] == result["variables"] and report["firmware"] == result["firmware"]
    assert report["host"] == "cam1" and report["profile"]["path"] == PROFILE_PATH
    assert datetime.datetime.strptime(report["generated_at"], "%Y-%m-%dT%H:%M:%SZ")
    # The candidate is the shipped profile with the levels raised: comments kept, every variable `probed`.
    assert "# Every device-specific name, value shape and protocol rule the collection uses" in candidate_text
    assert candidate_text.startswith("---\n# Candidate profile written by sensingcam.ming.sensingcam_probe from cam1")
    assert candidate["variables"]["streams"]["video0"]["fps"]["level"] == "probed"
    assert candidate["firmware"]["state"]["level"] == "probed"
    assert candidate["methods"] == SHIPPED["methods"], "methods are not probed: their levels stay"
    assert candidate["transport"] == SHIPPED["transport"]
    assert DeviceProfile(candidate).fields(), "a candidate of a camera that knows every name loads as a profile"
    # Acceptance: the lint finds the candidate identical to the shipped profile, and the profile to the camera.
    assert sensingcam_profile_lint(candidate, SHIPPED, kind="profile") == []
    assert sensingcam_profile_lint(SHIPPED, report, kind="report") == []
    assert sensingcam_profile_lint(SHIPPED, result, kind="report") == [], "the registered result works as well"


def test_a_second_run_rewrites_only_what_changed(run_module, camera, tmp_path):
    assert probe(run_module, tmp_path)[1]["files"]["rewritten"] == ["api_description", "candidate_profile", "report"]
    failed, again = probe(run_module, tmp_path)
    assert not failed and again["changed"] is False
    assert set(again["files"]["rewritten"]) <= {"report"}, "the report holds the time; the other files are equal"


def test_unknown_name_is_missing_and_marked_in_the_candidate(run_module, camera, tmp_path):
    del camera.specs["CurrentTemperature"]
    failed, result = probe(run_module, tmp_path)
    assert not failed
    assert result["variables"]["health.temperature"]["exists"] is False
    assert result["summary"]["missing"] == ["health.temperature"]
    assert any("CurrentTemperature (profile key health.temperature)" in w for w in result["warnings"])
    report, candidate_text, candidate = files(tmp_path)
    assert candidate["variables"]["health"]["temperature"]["level"] == "missing"
    assert candidate["variables"]["health"]["device_status"]["level"] == "probed"
    assert sensingcam_profile_lint(candidate, SHIPPED, kind="profile") == [
        {"key": "health.temperature", "name": "CurrentTemperature", "problem": "missing_on_camera",
         "detail": "this profile marks CurrentTemperature level: missing"}]
    assert [f["problem"] for f in sensingcam_profile_lint(SHIPPED, report)] == ["missing_on_camera"]
    with pytest.raises(ProfileError, match="variables.health.temperature: level 'missing'"):
        DeviceProfile(candidate)  # on purpose: resolve every missing entry before the candidate replaces a profile


def test_status_not_found_counts_as_missing(run_module, camera):
    camera.inject_status(5)
    failed, result = probe(run_module)
    assert not failed
    assert result["variables"]["identity.firmware_version"]["exists"] is False
    assert result["firmware"]["version_source"] == "ExtendedFirmwareVersion"


def test_a_renamed_entry_is_reported(run_module, camera, tmp_path):
    """Acceptance at unit level: a profile with one entry renamed (Video0FrameRate -> Video0Framerate) gives a
    finding against the camera, and against the candidate of the shipped profile."""
    renamed = load_profile_yaml()
    renamed["variables"]["streams"]["video0"]["fps"]["name"] = "Video0Framerate"
    path = tmp_path / "renamed.yml"
    path.write_text(yaml.safe_dump(renamed))
    failed, result = probe(run_module, profile=str(path))
    assert not failed and result["summary"]["missing"] == ["streams.video0.fps"]
    assert sensingcam_profile_lint(renamed, result) == [
        {"key": "streams.video0.fps", "name": "Video0Framerate", "problem": "missing_on_camera",
         "detail": "the camera does not know Video0Framerate (HTTP 404 or status not found)"}]
    probe(run_module, tmp_path / "shipped")
    candidate = yaml.safe_load((tmp_path / "shipped" / "candidate-profile.yml").read_text())
    assert [(f["key"], f["problem"]) for f in sensingcam_profile_lint(renamed, candidate, kind="profile")] == [
        ("streams.video0.fps", "renamed")]


def test_no_secret_in_result_report_or_files(run_module, camera, tmp_path):
    """The login password and a secret variable's value (FtpPassword, here readable on the camera) never appear;
    the probe still records that the name exists and its type (mutation: masking removed -> the value shows)."""
    camera.specs["FtpPassword"]["secret"] = False  # the fake camera then reads the value back
    camera.variables["FtpPassword"] = "Ftp-Secret-4711"
    failed, result = probe(run_module, tmp_path)
    assert not failed
    item = result["variables"]["offload.password"]
    assert item["exists"] is True and item["json_type"] == "string"
    assert item["value"] == item["decoded"] == "********"
    everything = json.dumps(result) + "".join(p.read_text() for p in tmp_path.iterdir())
    assert "Ftp-Secret-4711" not in everything and PASSWORD not in everything


def test_secret_pattern_of_the_backup_section_is_masked_too(run_module, camera, tmp_path):
    """A variable whose name matches backup.secret_keys (*password*) is masked even without secret: true."""
    profile = load_profile_yaml()
    profile["variables"]["offload"]["password"].pop("secret")
    path = tmp_path / "no-secret-flag.yml"
    path.write_text(yaml.safe_dump(profile))
    camera.specs["FtpPassword"]["secret"] = False
    camera.variables["FtpPassword"] = "Ftp-Secret-4711"
    failed, result = probe(run_module, profile=str(path))
    assert not failed and result["variables"]["offload.password"]["value"] == "********"


def test_api_description_not_served(run_module, camera, tmp_path):
    camera.api_description = None
    failed, result = probe(run_module, tmp_path)
    assert not failed
    assert result["api_description"]["found"] is False and result["files"]["api_description"] is None
    assert not (tmp_path / "deviceDescription.yaml").exists()


def test_api_description_that_is_not_yaml(run_module, camera):
    camera.api_description = b"{not: [yaml"
    failed, result = probe(run_module)
    assert not failed and result["api_description"]["yaml_valid"] is False


def test_https_status_variable_and_handshake_port(run_module, network, camera):
    failed, result = probe(run_module, https_port=8443)
    assert not failed
    assert network.handshakes == [("cam1", 8443)]
    assert result["https"] == {"port": 8443, "handshake": False, "tls_version": None, "error": "Connection refused",
                               "status_variable": {"name": "httpsStatus", "exists": True,
                                                   "value": {"enabled": False}}}
    failed, result = probe(run_module, tls_check=False)
    assert result["https"]["handshake"] is None and result["https"]["port"] == 443
    assert len(network.handshakes) == 1, "tls_check=false tries no handshake"


def test_a_failed_read_of_one_name_is_recorded_and_the_probe_goes_on(run_module, camera):
    camera.inject_status(11)  # out of connections, for the first name only
    failed, result = probe(run_module)
    assert not failed
    item = result["variables"]["identity.firmware_version"]
    assert item["exists"] is None and "out of connections" in item["error"].lower()
    assert result["summary"]["errors"] == ["identity.firmware_version"]
    assert result["summary"]["exists"] == FIELD_COUNT - 1


def test_unreachable_camera_fails_clearly_at_the_first_name(run_module, network, camera):
    """Mutation: unreachable no longer ends the probe -> every name is tried (63 requests) before it fails."""
    camera.unreachable = True
    failed, result = probe(run_module)
    assert failed and result["msg"].startswith("Cannot reach the camera at http://cam1:80")
    assert len(network.calls) == 1 and network.handshakes == []


def test_refused_login_for_reads_fails_at_the_first_name(run_module, network, tmp_path):
    """A profile whose reads need a login, and the camera refuses it (status 4): one clear error, not one per name."""
    network.add("cam1", FakeCamera(reads_require_login=True, users={"Service": "other-password"}))
    profile = load_profile_yaml()
    profile["auth"]["reads_require_login"]["value"] = True
    path = tmp_path / "login.yml"
    path.write_text(yaml.safe_dump(profile))
    failed, result = probe(run_module, profile=str(path))
    assert failed and "refused the login of user 'Service'" in result["msg"] and PASSWORD not in result["msg"]
    assert len([c for c in network.calls if c["url"].endswith("/api/getChallenge")]) == 2, "one relogin, then stop"


def test_unwritable_dest_dir_fails_naming_it(run_module, camera, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    failed, result = probe(run_module, dest_dir=str(blocker / "sub"))
    assert failed and "Cannot write the probe files to dest_dir %s" % (blocker / "sub") in result["msg"]


# -- persistence ----------------------------------------------------------------------------------------------

@pytest.fixture
def restart(monkeypatch):
    """Plays the camera's restart in the module's wait: ``restart.camera`` goes away for ``away`` polls after the
    first sleep; ``volatile`` puts LocationName back to its saved value; ``never`` keeps it away."""

    class Restart:
        camera = None
        away = 2
        volatile = False
        never = False
        count_only = False
        sleeps = []

    def sleep(seconds):
        Restart.sleeps.append(seconds)
        if len(Restart.sleeps) > 1:
            return
        camera = Restart.camera
        if Restart.count_only:
            camera.variables["PowerOnCnt"] += 1
            return
        if Restart.never:
            camera.unreachable = True
            return
        camera.fail_next_gets = Restart.away
        camera.variables["PowerOnCnt"] += 1
        if Restart.volatile:
            camera.variables["LocationName"] = "factory-default"

    Restart.sleeps = []
    monkeypatch.setattr(sensingcam_probe.ProbeModule, "sleep", staticmethod(sleep))
    return Restart


def test_persistence_is_off_by_default(run_module, camera):
    failed, result = probe(run_module)
    assert not failed and result["persistence"] == {"tested": False, "reason": "probe_persistence is false (the "
                                                                               "default)"}
    assert camera.reboots == 0 and posts(camera) == []


def test_persistence_never_runs_in_check_mode(run_module, camera, restart):
    failed, result = probe(run_module, check_mode=True, probe_persistence=True)
    assert not failed and result["changed"] is True, "the prediction: a real run would restart the camera"
    assert result["persistence"]["tested"] is False and "check mode" in result["persistence"]["reason"]
    assert posts(camera) == [] and camera.reboots == 0 and restart.sleeps == []


def test_persistence_needs_a_password_before_anything_is_sent(run_module, camera):
    args = module_args(probe_persistence=True)
    del args["password"]
    failed, result = run_module(sensingcam_probe.main, args)
    assert failed and "needs a login: set password" in result["msg"]
    assert camera.requests == []


def test_poll_interval_must_be_positive(run_module, camera):
    failed, result = probe(run_module, probe_persistence=True, poll_interval=0)
    assert failed and "poll_interval=0" in result["msg"] and camera.requests == []


def test_persistence_survives_a_restart(run_module, camera, restart):
    restart.camera = camera
    failed, result = probe(run_module, probe_persistence=True, poll_interval=1, reboot_timeout=10)
    assert not failed and result["changed"] is True
    persistence = result["persistence"]
    marker = persistence["marker"]
    assert marker.startswith("ming-probe-")
    assert {k: persistence[k] for k in ("tested", "key", "name", "reboot_observed", "came_back", "survived",
                                        "restored", "save_method", "error")} == {
        "tested": True, "key": "identity.location_name", "name": "LocationName", "reboot_observed": True,
        "came_back": True, "survived": True, "restored": True, "save_method": None, "error": None}
    assert camera.writes() == [("LocationName", marker), ("LocationName", "factory-default")]
    assert camera.reboots == 1 and camera.variables["LocationName"] == "factory-default"
    assert restart.sleeps == [1, 1, 1], "away for two polls, back on the third"


def test_persistence_lost_by_the_restart(run_module, camera, restart):
    restart.camera, restart.volatile = camera, True
    failed, result = probe(run_module, probe_persistence=True, poll_interval=1, reboot_timeout=10)
    assert not failed
    assert result["persistence"]["survived"] is False and result["persistence"]["restored"] is True
    assert camera.writes() == [("LocationName", result["persistence"]["marker"])], "nothing left to put back"


def test_the_profiles_save_step_follows_each_write(run_module, camera, restart, tmp_path):
    profile = load_profile_yaml()
    profile["persistence"]["save_method"]["value"] = "WriteEeprom"
    path = tmp_path / "with-save.yml"
    path.write_text(yaml.safe_dump(profile))
    camera.method_names.add("WriteEeprom")
    restart.camera = camera
    failed, result = probe(run_module, profile=str(path), probe_persistence=True, poll_interval=1)
    assert not failed and result["persistence"]["save_method"] == "WriteEeprom"
    names = [call[0] for call in camera.method_calls]
    assert names == ["WriteEeprom", "RebootDevice", "WriteEeprom"]


def test_a_restart_seen_only_in_the_power_on_count(run_module, camera, restart):
    restart.camera, restart.count_only = camera, True
    failed, result = probe(run_module, probe_persistence=True, poll_interval=1, reboot_timeout=10)
    assert not failed
    assert result["persistence"]["reboot_observed"] is True and result["persistence"]["survived"] is True
    assert restart.sleeps == [1]


def test_no_restart_seen_cannot_tell(run_module, camera, restart, monkeypatch):
    def nothing_happens(seconds):
        restart.sleeps.append(seconds)
    monkeypatch.setattr(sensingcam_probe.ProbeModule, "sleep", staticmethod(nothing_happens))
    failed, result = probe(run_module, probe_persistence=True, poll_interval=2, reboot_timeout=5)
    assert not failed
    persistence = result["persistence"]
    assert persistence["reboot_observed"] is False and persistence["survived"] is None
    assert "no restart was seen" in persistence["error"] and persistence["restored"] is True
    assert restart.sleeps == [2, 2, 2], "ceil(5 / 2) polls, then it gives up"
    assert camera.variables["LocationName"] == "factory-default"


def test_camera_that_does_not_come_back_fails_the_task(run_module, camera, restart, tmp_path):
    restart.camera, restart.never = camera, True
    failed, result = probe(run_module, tmp_path, probe_persistence=True, poll_interval=1, reboot_timeout=3)
    assert failed
    assert "did not answer again within 3" in result["msg"] and "probe-report.json" in result["msg"]
    assert "Could not put LocationName back" in result["persistence"]["error"]
    assert json.loads((tmp_path / "probe-report.json").read_text())["persistence"]["came_back"] is False


def test_marker_refused_by_the_camera_stops_before_the_restart(run_module, camera, restart):
    restart.camera = camera
    camera.specs["LocationName"]["codec"] = {"type": "string", "max_length": 5}  # the camera refuses the marker
    failed, result = probe(run_module, probe_persistence=True)
    assert failed and result["msg"].startswith("Persistence test: The camera at http://cam1:80 refused to change "
                                               "'LocationName'")
    assert camera.reboots == 0 and camera.writes() == [] and restart.sleeps == []


# -- the TLS handshake itself (a local TLS server with a throw-away self-signed certificate) -----------------

def self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "probe-test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                         serialization.PrivateFormat.PKCS8,
                                                         serialization.NoEncryption()))
    return str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")


def test_tls_handshake_with_a_tls_server_and_a_closed_port(tmp_path):
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        connection, _address = listener.accept()
        try:
            with context.wrap_socket(connection, server_side=True):
                pass
        except (OSError, ssl.SSLError):
            pass
    server = threading.Thread(target=serve, daemon=True)
    server.start()
    answered, version, error = sensingcam_probe.tls_handshake("127.0.0.1", port, 5)
    server.join(5)
    listener.close()
    assert (answered, error) == (True, None) and version.startswith("TLS")
    answered, version, error = sensingcam_probe.tls_handshake("127.0.0.1", port, 5)
    assert answered is False and version is None and error


def test_tls_handshake_with_a_plain_http_port():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve():
        connection, _address = listener.accept()
        connection.recv(1024)
        connection.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
        connection.close()
    server = threading.Thread(target=serve, daemon=True)
    server.start()
    answered, version, error = sensingcam_probe.tls_handshake("127.0.0.1", port, 5)
    server.join(5)
    listener.close()
    assert answered is False and version is None and error
