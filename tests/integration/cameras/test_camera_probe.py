"""playbooks/camera_probe.yml, sensingcam_probe (with its persistence test), sensingcam_info and
sensingcam_firmware_info through real ``ansible-playbook`` / ``ansible`` processes.

All of these run against the camera simulator (tools/camera_simulator, in-process on free loopback ports), a test
double, not a real SEC100: the simulator serves the names of the profile it was started with, an OpenAPI-style API
description derived from it, a restart on RebootDevice (port closed for 20-60 s x time scale) and the persistence
modes 'persistent' and 'volatile'.
"""

import json

import pytest
import yaml
from sensingcam_simulator.camera import CameraConfig
from sensingcam_simulator.testing import free_ports, running_simulator

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import DeviceProfile

from .conftest import PROFILE, REPO, assert_no_secret, run_module, run_playbook

pytestmark = pytest.mark.simulator
PROBE = REPO / "playbooks" / "camera_probe.yml"
SHIPPED = yaml.safe_load(PROFILE.read_text())


def renamed_profile(tmp_path, *path_and_name):
    """The shipped profile with one variable renamed (path under variables:, new device name)."""
    *path, name = path_and_name
    raw = yaml.safe_load(PROFILE.read_text())
    node = raw["variables"]
    for key in path:
        node = node[key]
    node["name"] = name
    target = tmp_path / f"renamed-{name}.yml"
    target.write_text(yaml.safe_dump(raw, sort_keys=False))
    return target


def probe_files(directory):
    return {"report": json.loads((directory / "probe-report.json").read_text()),
            "candidate": yaml.safe_load((directory / "candidate-profile.yml").read_text()),
            "lint": json.loads((directory / "profile-lint.json").read_text())}


def test_probe_playbook_writes_report_candidate_and_finds_the_profile_identical(simulator, tmp_path):
    """Acceptance: against the simulator the candidate profile is identical to the shipped one (lint empty), the
    camera answers every name, its API description lists exactly the profile's names; the run is read-only and
    touches only the one camera of -l."""
    sim = simulator(2)
    inventory = sim.write_inventory(tmp_path / "hosts.yml")
    run = run_playbook(PROBE, inventory, "-l", "cam001", "-e", f"sensingcam_probe_dir={tmp_path / 'probe'}")
    assert run.returncode == 0, run.stdout + run.stderr
    directory = tmp_path / "probe" / "cam001"
    assert sorted(p.name for p in directory.iterdir()) == [
        "candidate-profile.yml", "deviceDescription.yaml", "probe-report.json", "profile-lint.json"]
    found = probe_files(directory)
    lint = found["lint"]
    assert lint["profile"] == str(PROFILE)
    assert lint["candidate_against_profile"] == [] and lint["against_description"] == []
    assert lint["against_camera"] == []
    report = found["report"]
    assert report["summary"]["total"] == report["summary"]["exists"] == len(DeviceProfile.load(str(PROFILE)).fields())
    assert report["firmware"]["firmware_version"] == "2.6.2" and report["firmware"]["version_source"] == \
        "FirmwareVersion"
    assert report["firmware"]["extended_firmware_version"] == "2.6.2+sim_build"
    assert report["firmware"]["device_ident"] == {"Name": "sensingCam SEC100", "Version": "2.6.2.0R"}
    assert report["api_description"]["found"] is True and report["api_description"]["yaml_valid"] is True
    assert report["https"]["handshake"] is False, "the simulator serves no TLS on the profile's HTTPS port"
    assert DeviceProfile(found["candidate"]).fields(), "the candidate loads as a profile"
    assert f"Findings: {len(lint['against_camera'])}" in run.stdout
    counters = sim.summary("cam001")["counters"]
    assert counters["writes"] == counters["logins_ok"] == counters["reboots"] == 0, "read-only"
    assert sim.summary("cam002")["counters"]["requests"] == 0, "only the camera of -l is contacted"
    assert_no_secret(run.stdout + run.stderr + "".join(p.read_text() for p in directory.iterdir()), sim.password)


def test_a_renamed_profile_entry_is_reported_by_the_probe_playbook(simulator, tmp_path):
    """Acceptance: a profile with Video0FrameRate renamed: the camera does not know the new name, the description
    lacks it and offers the old one, the candidate marks it missing; every finding is printed."""
    sim = simulator(1)
    renamed = renamed_profile(tmp_path, "streams", "video0", "fps", "Video0Framerate")
    inventory = sim.write_inventory(tmp_path / "hosts.yml", sensingcam_profile_path=str(renamed))
    run = run_playbook(PROBE, inventory, "-e", f"sensingcam_probe_dir={tmp_path / 'probe'}")
    assert run.returncode == 0, run.stdout + run.stderr
    found = probe_files(tmp_path / "probe" / "cam001")
    lint = found["lint"]
    assert [(f["key"], f["name"], f["problem"]) for f in lint["against_camera"]] == [
        ("streams.video0.fps", "Video0Framerate", "missing_on_camera")]
    assert [(f["key"], f["name"], f["problem"]) for f in lint["against_description"]] == [
        ("streams.video0.fps", "Video0Framerate", "missing_on_camera"), (None, "Video0FrameRate", "not_in_profile")]
    assert [(f["key"], f["problem"]) for f in lint["candidate_against_profile"]] == [
        ("streams.video0.fps", "missing_on_camera")]
    assert found["candidate"]["variables"]["streams"]["video0"]["fps"]["level"] == "missing"
    assert "against_camera: streams.video0.fps (Video0Framerate) missing_on_camera" in run.stdout
    assert f"Findings: {3 + len(lint['against_camera'])}" in run.stdout


def test_probe_playbook_refuses_more_than_one_camera(simulator, tmp_path):
    sim = simulator(3)
    inventory = sim.write_inventory(tmp_path / "hosts.yml")
    run = run_playbook(PROBE, inventory, "-e", f"sensingcam_probe_dir={tmp_path / 'probe'}")
    assert run.returncode != 0
    assert "this run has 3 cameras (cam001, cam002, cam003)" in run.stdout
    assert "Limit it to one with -l <camera>; no camera was contacted." in run.stdout
    assert all(sim.summary(name)["counters"]["requests"] == 0 for name in sim.names)
    assert not (tmp_path / "probe").exists()


def test_probe_playbook_in_check_mode_writes_its_files_and_changes_nothing(simulator, tmp_path):
    sim = simulator(1)
    inventory = sim.write_inventory(tmp_path / "hosts.yml")
    run = run_playbook(PROBE, inventory, "-e", f"sensingcam_probe_dir={tmp_path / 'probe'}", check=True)
    assert run.returncode == 0, run.stdout + run.stderr
    assert probe_files(tmp_path / "probe" / "cam001")["lint"]["against_camera"] == []
    counters = sim.summary("cam001")["counters"]
    assert counters["writes"] == counters["logins_ok"] == 0


def persistence_cameras(mode):
    return [CameraConfig(name="cam001", port=free_ports(1)[0], user="Service", password="Probe-Pa55word-1",
                         persistence=mode, serial="SIM00001")]


@pytest.mark.parametrize("mode, survived", [("persistent", True), ("volatile", False)])
def test_probe_persistence_against_a_restarting_camera(tmp_path, mode, survived):
    """sensingcam_probe probe_persistence=true against the simulator (time scale 0.02: the restart takes 0.4-1.2 s):
    the marker survives the restart on a 'persistent' camera and is lost on a 'volatile' one (no save method in
    the profile); LocationName ends as it was; one restart."""
    with running_simulator(persistence_cameras(mode), time_scale=0.02) as raw:
        sim = _Wrapped(raw)
        result = run_module("sensingcam_probe", {"probe_persistence": True, "poll_interval": 0.1,
                                                 "reboot_timeout": 60, "tls_check": False}, sim, "cam001")
        assert result.get("failed") is not True, result["_stdout"]
        persistence = result["persistence"]
        assert persistence["tested"] is True and persistence["reboot_observed"] is True
        assert persistence["came_back"] is True and persistence["restored"] is True
        assert persistence["survived"] is survived and persistence["error"] is None
        assert result["changed"] is True
        assert sim.get("cam001", "LocationName") == ""
        counters = raw.camera("cam001").counters
        assert counters["reboots"] == 1
        assert "Probe-Pa55word-1" not in result["_stdout"]


class _Wrapped:
    """What conftest.run_module needs of a running simulator (port and password) for a hand-built config."""

    def __init__(self, sim):
        self.sim = sim
        self.password = next(iter(sim.simulator.cameras.values())).config.password

    def port(self, name):
        return self.sim.camera(name).config.port

    def get(self, name, variable):
        import urllib.request
        with urllib.request.urlopen(f"{self.sim.url(name)}/api/{variable}", timeout=10) as response:
            return json.loads(response.read())["data"][variable]


def test_info_modules_are_read_only(simulator):
    """sensingcam_info and sensingcam_firmware_info against the simulator: never changed, work in check mode, RTSP
    URLs from RtspPort and the stream paths on firmware below the known RTSP issue, health decoded, no login."""
    sim = simulator(1, firmware=["2.5.1"])
    for check in (True, False):
        info = run_module("sensingcam_info", {}, sim, "cam001", check=check)
        assert info["changed"] is False, info["_stdout"]
        assert info["identity"]["firmware_version"] == "2.5.1"
        assert info["firmware"] == {"version": "2.5.1", "version_source": "FirmwareVersion"}
        assert info["rtsp"]["streams"]["video0"]["url"] == "rtsp://127.0.0.1:554/live/0"
        assert info["rtsp"]["streams"]["video1"]["url"] == "rtsp://127.0.0.1:554/live/1"
        assert info["streams"]["video0"]["resolution"] == "1920x1080" and info["streams"]["video0"]["codec"] == "h264"
        assert info["health"]["operating_hours"] >= 1234.5 and info["health"]["power_on_count"] == 17
        assert set(info["health"]["rtsp_status"]) == {"video0", "video1"}
        assert "password" not in info["offload"]
        assert info["known_issues"][0]["level"] == "assumed" and info["unsupported"] == []
        audit = run_module("sensingcam_firmware_info", {"minimum_version": "2.6.0"}, sim, "cam001", check=check)
        assert audit["changed"] is False and audit["verdict"] == "below_minimum"
        assert audit["known_issues"][0]["below"] == "2.6.0" and audit["known_issues"][0]["level"] == "assumed"
        assert audit["version_strings"] == {"FirmwareVersion": "2.5.1"}
    counters = sim.summary("cam001")["counters"]
    assert counters["logins_ok"] == counters["writes"] == 0, "reads need no login on this profile"


def test_info_reports_a_name_the_camera_does_not_know(simulator, tmp_path):
    """A profile naming CurrentTemp (the simulator, on the shipped profile, knows CurrentTemperature): a real 404,
    reported with its profile key, not a failure."""
    sim = simulator(1)
    renamed = renamed_profile(tmp_path, "health", "temperature", "CurrentTemp")
    info = run_module("sensingcam_info", {"gather": ["health"], "profile": str(renamed)}, sim, "cam001")
    assert info.get("failed") is not True, info["_stdout"]
    assert info["unsupported"] == [{"key": "health.temperature", "name": "CurrentTemp"}]
    assert info["health"]["temperature"] is None and info["health"]["device_status"] is not None


def test_firmware_audit_falls_back_to_the_extended_version(simulator, tmp_path):
    """A profile whose FirmwareVersion name the camera does not know: the audit reads ExtendedFirmwareVersion and
    says so."""
    sim = simulator(1, firmware=["2.5.1"])
    renamed = renamed_profile(tmp_path, "identity", "firmware_version", "FirmwareVersionX")
    audit = run_module("sensingcam_firmware_info", {"minimum_version": "2.6.0", "profile": str(renamed)}, sim,
                       "cam001")
    assert audit.get("failed") is not True, audit["_stdout"]
    assert (audit["version"], audit["version_source"]) == ("2.5.1+sim_build", "ExtendedFirmwareVersion")
    assert audit["version_strings"] == {"ExtendedFirmwareVersion": "2.5.1+sim_build"}
    assert audit["verdict"] == "below_minimum"
