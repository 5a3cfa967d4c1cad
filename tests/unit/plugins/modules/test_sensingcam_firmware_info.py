"""sensingcam_firmware_info against in-process fake cameras (test doubles, not real SEC100s, not the camera simulator).

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import hashlib

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, PROFILE_PATH, install_network, load_profile_yaml, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_firmware_info


@pytest.fixture
def network(monkeypatch):
    return install_network(monkeypatch)


@pytest.fixture
def archive(tmp_path):
    entries = []
    for version in ("2.6.0", "2.7.0", "2.6.5"):
        content = f"SICK-SEC100-FW {version}\n".encode()
        (tmp_path / f"{version}.bin").write_bytes(content)
        entries.append({"version": version, "file": f"{version}.bin", "device_family": "sensingCam SEC100",
                        "sha256": hashlib.sha256(content).hexdigest()})
    entries.append({"version": "3.0.0", "file": "x.bin", "sha256": "ab", "device_family": "sensingCam SEC110"})
    (tmp_path / "manifest.yml").write_text(yaml.safe_dump({"firmware": entries}))
    return str(tmp_path)


def test_single_camera_below_minimum(run_module, network, archive):
    network.add("cam1").variables["FirmwareVersion"] = "2.5.3"
    failed, result = run_module(sensingcam_firmware_info.main,
                                module_args(minimum_version="2.6.0", archive=archive), check_mode=True)
    assert not failed and not result["changed"]
    assert result["version"] == "2.5.3" and result["verdict"] == "below_minimum"
    assert result["version_source"] == "FirmwareVersion" and result["version_strings"] == {"FirmwareVersion": "2.5.3"}
    assert result["newest_available"] == "2.7.0" and result["update_available"] is True
    assert result["reachable"] is True and result["error"] is None
    assert result["known_issues"] == [{"below": "2.6.0", "level": "assumed",
                                       "summary": "RTSP connections reported to drop intermittently (third-party "
                                                  "report); workaround RTSP over TCP"}]


def test_single_camera_unreachable_does_not_fail(run_module, network):
    failed, result = run_module(sensingcam_firmware_info.main, module_args(minimum_version="2.6.0"))
    assert not failed
    assert result["verdict"] == "unreachable" and result["reachable"] is False
    assert "Cannot reach" in result["error"]


def test_without_minimum_the_verdict_is_unknown(run_module, network):
    network.add("cam1")
    failed, result = run_module(sensingcam_firmware_info.main, module_args())
    assert not failed and result["verdict"] == "unknown" and result["version"] == "2.6.2"


def test_fleet_mode(run_module, network, archive):
    network.add("10.0.0.1").variables["FirmwareVersion"] = "2.6.1"
    network.add("10.0.0.2", port=8080).variables["FirmwareVersion"] = "2.5.0"
    cameras = [
        {"name": "line1-cam1", "host": "10.0.0.1"},
        {"name": "line1-cam2", "host": "10.0.0.2", "port": 8080, "password": "per-camera-secret"},
        {"name": "line2-cam1", "host": "10.0.0.3"},
    ]
    args = {"cameras": cameras, "profile": PROFILE_PATH, "minimum_version": "2.6.0", "archive": archive,
            "retries": 0, "parallel": 4, "password": PASSWORD}
    failed, result = run_module(sensingcam_firmware_info.main, args)
    assert not failed and not result["changed"]
    by_name = {c["name"]: c for c in result["cameras"]}
    assert [c["name"] for c in result["cameras"]] == ["line1-cam1", "line1-cam2", "line2-cam1"]
    assert by_name["line1-cam1"]["verdict"] == "approved"
    assert by_name["line1-cam2"]["verdict"] == "below_minimum"
    assert by_name["line1-cam2"]["update_available"] is True
    assert by_name["line2-cam1"]["verdict"] == "unreachable" and by_name["line2-cam1"]["reachable"] is False
    assert result["summary"] == {"total": 3, "approved": 1, "below_minimum": 1, "unknown": 0, "unreachable": 1}
    assert "per-camera-secret" not in str(result) and PASSWORD not in str(result)


def test_host_and_cameras_are_exclusive(run_module, network):
    failed, result = run_module(sensingcam_firmware_info.main,
                                module_args(cameras=[{"host": "a"}]))
    assert failed and "mutually exclusive" in result["msg"]
    args = module_args()
    del args["host"]
    failed, result = run_module(sensingcam_firmware_info.main, args)
    assert failed and "one of the following is required" in result["msg"]


def test_bad_minimum_version(run_module, network):
    failed, result = run_module(sensingcam_firmware_info.main, module_args(minimum_version="two"))
    assert failed and "not a version number" in result["msg"]


def test_a_manifest_entry_leaving_the_archive_fails_the_audit_naming_it(run_module, network, tmp_path):
    """sensingcam_firmware_info reads the same manifest: a `../` entry fails the task with the manifest and entry
    named (mutation: the check in archive_file_path removed -> the task passes)."""
    network.add("cam1")
    directory = tmp_path / "archive"
    directory.mkdir()
    (tmp_path / "2.7.0.bin").write_bytes(b"SICK-SEC100-FW 2.7.0\n")
    (directory / "manifest.yml").write_text(yaml.safe_dump({"firmware": [
        {"version": "2.7.0", "file": "../2.7.0.bin", "sha256": "ab", "device_family": "sensingCam SEC100"}]}))
    failed, result = run_module(sensingcam_firmware_info.main, module_args(archive=str(directory)))
    assert failed
    assert f"Entry 0 (version 2.7.0) of the firmware manifest {directory / 'manifest.yml'}" in result["msg"]
    assert 'contains ".."' in result["msg"]


def test_fleet_cameras_with_their_own_profile(run_module, network, tmp_path):
    """cameras[].profile: each camera is read with its own device profile (a renamed firmware variable here), a
    camera whose profile cannot be read gets 'unknown' naming the file; the others are unaffected."""
    network.add("10.0.0.1").variables["FirmwareVersion"] = "2.6.1"
    renamed = network.add("10.0.0.2")
    renamed.specs["FirmwareVersionString"] = renamed.specs.pop("FirmwareVersion")
    renamed.variables["FirmwareVersionString"] = "2.4.2.0R"
    raw = load_profile_yaml()
    raw["variables"]["identity"]["firmware_version"]["name"] = "FirmwareVersionString"
    own = tmp_path / "renamed.yml"
    own.write_text(yaml.safe_dump(raw))
    missing = tmp_path / "missing.yml"
    cameras = [{"name": "shipped", "host": "10.0.0.1"}, {"name": "own", "host": "10.0.0.2", "profile": str(own)},
               {"name": "broken", "host": "10.0.0.1", "profile": str(missing)}]
    failed, result = run_module(sensingcam_firmware_info.main, {"cameras": cameras, "profile": PROFILE_PATH,
                                                                "minimum_version": "2.4.2", "retries": 0})
    assert not failed
    by_name = {c["name"]: c for c in result["cameras"]}
    assert by_name["shipped"]["verdict"] == "approved" and by_name["shipped"]["version"] == "2.6.1"
    assert by_name["own"]["version"] == "2.4.2.0R" and by_name["own"]["verdict"] == "approved"
    assert by_name["own"]["version_source"] == "FirmwareVersionString"
    assert by_name["own"]["version_parts"] == {"release": "2.4.2.0", "suffix": "R", "prerelease": None, "build": None}
    assert by_name["broken"]["verdict"] == "unknown" and str(missing) in by_name["broken"]["error"]


def gets(camera):
    return [request[1] for request in camera.calls("GET")]


def test_a_parsable_firmware_version_costs_one_request(run_module, network):
    """Fleet performance: the fallbacks are read only when needed (mutation: all three sources always read ->
    three GETs per camera)."""
    camera = network.add("cam1")
    failed, result = run_module(sensingcam_firmware_info.main, module_args(minimum_version="2.6.0"))
    assert not failed and result["verdict"] == "approved"
    assert gets(camera) == ["/api/FirmwareVersion"]


@pytest.mark.parametrize("firmware, extended, ident, version, source, strings, verdict", [
    ("V2.6.2 (release)", "2.6.2+build.17", None, "2.6.2+build.17", "ExtendedFirmwareVersion",
     {"FirmwareVersion": "V2.6.2 (release)", "ExtendedFirmwareVersion": "2.6.2+build.17"}, "approved"),
    ("unreleased", "local", {"Name": "SEC100", "Version": "2.5.1.0R"}, "2.5.1.0R", "DeviceIdent.Version",
     {"FirmwareVersion": "unreleased", "ExtendedFirmwareVersion": "local", "DeviceIdent.Version": "2.5.1.0R"},
     "below_minimum"),
    ("unreleased", "local", {"Name": "SEC100"}, "unreleased", None,
     {"FirmwareVersion": "unreleased", "ExtendedFirmwareVersion": "local"}, "unknown"),
], ids=["extended", "device-ident", "none-parses"])
def test_version_falls_back_when_firmware_version_does_not_parse(run_module, network, firmware, extended, ident,
                                                                 version, source, strings, verdict):
    """Mutation: the parse check dropped (the first string read is taken) -> the version stays the unparsable
    FirmwareVersion and the verdict is unknown."""
    camera = network.add("cam1")
    camera.variables.update(FirmwareVersion=firmware, ExtendedFirmwareVersion=extended)
    if ident is not None:
        camera.variables["DeviceIdent"] = ident
    failed, result = run_module(sensingcam_firmware_info.main, module_args(minimum_version="2.6.0"))
    assert not failed
    assert (result["version"], result["version_source"], result["verdict"]) == (version, source, verdict)
    assert result["version_strings"] == strings


def test_firmware_version_unknown_to_the_camera_falls_back(run_module, network):
    camera = network.add("cam1")
    del camera.specs["FirmwareVersion"]
    failed, result = run_module(sensingcam_firmware_info.main, module_args(minimum_version="2.6.0"))
    assert not failed
    assert result["version_source"] == "ExtendedFirmwareVersion" and result["verdict"] == "approved"
    assert result["version_strings"] == {"ExtendedFirmwareVersion": "2.6.2+build.17"}


def test_no_firmware_variable_known_at_all_is_unknown_naming_the_profile_key(run_module, network):
    camera = network.add("cam1")
    for name in ("FirmwareVersion", "ExtendedFirmwareVersion", "DeviceIdent"):
        del camera.specs[name]
    failed, result = run_module(sensingcam_firmware_info.main, module_args(minimum_version="2.6.0"))
    assert not failed
    assert result["verdict"] == "unknown" and result["reachable"] is True and result["version"] is None
    assert "identity.firmware_version" in result["error"]
