"""Every sensingcam module through the real ``ansible`` command: check -> apply -> idempotent re-run -> change,
asserting ``changed`` and the camera's real state through its own API and the simulator's control API.

All of these run against the camera simulator (tools/camera_simulator), not a real camera.
"""

import json
from pathlib import Path

import pytest

from .conftest import run_module

pytestmark = pytest.mark.simulator


def cycle(sim, module, wanted, changed_to, read_back, camera="cam001", **extra):
    """check (changed, device untouched) -> apply (changed, device changed) -> re-run (not changed)."""
    before = read_back()
    checked = run_module(module, {**wanted, **extra}, sim, camera, check=True, diff=True)
    assert checked.get("failed") is not True, checked["_stdout"]
    assert checked["changed"] is True
    assert read_back() == before, "check mode must not change the camera"
    applied = run_module(module, {**wanted, **extra}, sim, camera)
    assert applied["changed"] is True, applied["_stdout"]
    assert read_back() == changed_to
    again = run_module(module, {**wanted, **extra}, sim, camera)
    assert again["changed"] is False, again["_stdout"]
    return checked, applied


def test_config_check_apply_idempotent_change(simulator):
    """sensingcam_config against the simulator: time zone and NTP, then a second change."""
    sim = simulator(1)

    def time_settings():
        return sim.get("cam001", "TimeZone"), sim.get("cam001", "NtpEnabled"), sim.get("cam001", "NtpServers")

    checked, _applied = cycle(sim, "sensingcam_config",
                              {"time_zone": "Europe/Berlin", "ntp_enabled": True, "ntp_servers": ["10.0.0.1"]},
                              ("Europe/Berlin", True, ["10.0.0.1"]), time_settings)
    assert checked["diff"]["before"]["time_zone"] == "UTC"
    changed = run_module("sensingcam_config", {"ntp_servers": ["10.0.0.2", "10.0.0.1"]}, sim, "cam001")
    assert changed["changed"] is True and changed["changed_settings"] == ["ntp_servers"]
    assert time_settings() == ("Europe/Berlin", True, ["10.0.0.2", "10.0.0.1"])


def test_stream_check_apply_idempotent_change(simulator):
    """sensingcam_stream against the simulator: the secondary (detect) profile, then its frame rate alone."""
    sim = simulator(1)

    def secondary():
        return sim.get("cam001", "StreamProfileSecondary")

    start = secondary()
    wanted = {"stream": "secondary", "width": 1280, "height": 720, "fps": 15}
    cycle(sim, "sensingcam_stream", wanted, {**start, "Width": 1280, "Height": 720, "FrameRate": 15}, secondary)
    changed = run_module("sensingcam_stream", {"stream": "secondary", "fps": 5}, sim, "cam001")
    assert changed["changed"] is True
    assert secondary()["FrameRate"] == 5 and secondary()["Width"] == 1280
    assert sim.get("cam001", "StreamProfilePrimary")["FrameRate"] == 25, "the primary stream must stay as it was"


def test_event_recording_check_apply_idempotent_change(simulator):
    """sensingcam_event_recording against the simulator: buffer around the PLC trigger, then the trigger source."""
    sim = simulator(1)

    def recording():
        return sim.get("cam001", "EventRecording")

    start = recording()
    cycle(sim, "sensingcam_event_recording", {"pre_trigger_seconds": 8, "post_trigger_seconds": 20},
          {**start, "PreTrigger": 8, "PostTrigger": 20}, recording)
    changed = run_module("sensingcam_event_recording", {"trigger_source": "mqtt"}, sim, "cam001")
    assert changed["changed"] is True and recording()["TriggerSource"] == "mqtt"


def test_info_modules_are_read_only(simulator):
    """sensingcam_info and sensingcam_firmware_info against the simulator: never changed, work in check mode."""
    sim = simulator(1, firmware=["2.5.1"])
    for check in (True, False):
        info = run_module("sensingcam_info", {}, sim, "cam001", check=check)
        assert info["changed"] is False and info["identity"]["firmware_version"] == "2.5.1"
        assert info["rtsp"]["available"] is False
        audit = run_module("sensingcam_firmware_info", {"minimum_version": "2.6.0"}, sim, "cam001", check=check)
        assert audit["changed"] is False and audit["verdict"] == "below_minimum"
        assert audit["known_issues"][0]["below"] == "2.6.0"
    assert sim.summary("cam001")["counters"]["logins_ok"] == 0, "reads need no login on this profile"


def test_backup_export_idempotent_change_and_restore(simulator, tmp_path):
    """sensingcam_backup against the simulator: export (check, apply, re-run), a change gives a new version,
    restore puts the old configuration back (check, apply, re-run)."""
    sim = simulator(1)
    dest = tmp_path / "backups"
    checked = run_module("sensingcam_backup", {"dest": str(dest), "name": "cam001"}, sim, "cam001", check=True)
    assert checked["changed"] is True and not dest.exists()
    first = run_module("sensingcam_backup", {"dest": str(dest), "name": "cam001"}, sim, "cam001")
    assert first["changed"] is True
    first_file = Path(first["backup_file"])
    assert json.loads(first_file.read_text())["configuration"]["TimeZone"] == "UTC"
    again = run_module("sensingcam_backup", {"dest": str(dest), "name": "cam001"}, sim, "cam001")
    assert again["changed"] is False
    assert run_module("sensingcam_config", {"time_zone": "Asia/Tokyo"}, sim, "cam001")["changed"] is True
    second = run_module("sensingcam_backup", {"dest": str(dest), "name": "cam001"}, sim, "cam001")
    assert second["changed"] is True and Path(second["backup_file"]) != first_file
    assert json.loads((dest / "cam001-latest.json").read_text())["configuration"]["TimeZone"] == "Asia/Tokyo"
    assert len(list(dest.glob("cam001-2*.json"))) == 2

    restore = {"state": "restored", "src": str(first_file)}
    assert run_module("sensingcam_backup", restore, sim, "cam001", check=True)["changed"] is True
    assert sim.get("cam001", "TimeZone") == "Asia/Tokyo"
    assert run_module("sensingcam_backup", restore, sim, "cam001")["changed"] is True
    assert sim.get("cam001", "TimeZone") == "UTC"
    assert sim.summary("cam001")["counters"]["config_imports"] == 1
    assert run_module("sensingcam_backup", restore, sim, "cam001")["changed"] is False


def firmware_archive(directory, version="2.7.0", size=200_000):
    import hashlib
    import os

    directory.mkdir(parents=True, exist_ok=True)
    image = directory / f"sec100-{version}.bin"
    image.write_bytes(f"SICK-SEC100-FW {version}\n".encode() + os.urandom(size))
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    (directory / "manifest.yml").write_text(
        f'---\nfirmware:\n  - {{version: "{version}", file: {image.name}, sha256: {digest}, '
        'device_family: sensingCam SEC100}\n')
    return directory


@pytest.mark.slow
def test_firmware_check_apply_idempotent(simulator, tmp_path):
    """sensingcam_firmware against the simulator (time scale 0.02: reboot 0.4-1.2 s): check says "Would upgrade",
    the update waits for the camera to come back on the new version, a re-run changes nothing."""
    sim = simulator(1, firmware=["2.5.1"])
    args = {"version": "2.7.0", "archive": str(firmware_archive(tmp_path / "fw")), "poll_interval": 0.2,
            "reboot_timeout": 60}
    checked = run_module("sensingcam_firmware", args, sim, "cam001", check=True)
    assert checked["changed"] is True and checked["msg"] == "Would upgrade the camera from 2.5.1 to 2.7.0."
    assert sim.summary("cam001")["counters"]["firmware_uploads"] == 0
    applied = run_module("sensingcam_firmware", args, sim, "cam001")
    assert applied["changed"] is True and applied["version"] == "2.7.0", applied["_stdout"]
    assert sim.get("cam001", "FirmwareVersion") == "2.7.0"
    assert sim.summary("cam001")["counters"]["firmware_uploads"] == 1
    again = run_module("sensingcam_firmware", args, sim, "cam001")
    assert again["changed"] is False
    assert sim.summary("cam001")["counters"]["firmware_uploads"] == 1


def test_interrupted_upload_leaves_old_version_with_one_attempt(simulator, tmp_path):
    """Fault "upload interrupted" (simulator drops the connection after the first chunk): the camera stays on its
    old version, the task fails saying so, and exactly one upload reached the camera (no retry storm)."""
    sim = simulator(1, firmware=["2.5.1"])
    sim.set_faults("cam001", upload_interrupted=True)
    args = {"version": "2.7.0", "archive": str(firmware_archive(tmp_path / "fw")), "poll_interval": 0.2,
            "retries": 3}
    result = run_module("sensingcam_firmware", args, sim, "cam001")
    assert result["failed"] is True
    assert "stays on 2.5.1" in result["msg"] and "no retry" in result["msg"]
    summary = sim.summary("cam001")
    assert summary["firmware_version"] == "2.5.1" and summary["firmware_state"] == "idle"
    assert summary["counters"]["firmware_uploads"] == 1
    assert summary["counters"]["reboots"] == 0
    assert sim.get("cam001", "FirmwareVersion") == "2.5.1"


def test_wrong_credentials_give_one_clear_error_without_the_password(simulator):
    """Wrong password against the simulator: one clear login error naming the user, never the password, and no
    change on the camera."""
    sim = simulator(1)
    wrong = "Wr0ng-Secret-Value-42"
    result = run_module("sensingcam_config", {"time_zone": "Europe/Berlin"}, sim, "cam001", password=wrong)
    assert result["failed"] is True
    assert "refused the login of user 'Service' (HTTP 401)" in result["msg"]
    assert "wrong user name or password" in result["msg"]
    assert wrong not in result["_stdout"] and sim.password not in result["_stdout"]
    summary = sim.summary("cam001")
    assert summary["counters"]["logins_failed"] == 1, "one login attempt, not a retry loop"
    assert sim.get("cam001", "TimeZone") == "UTC"

    # The fault "wrong credentials" (someone changed the password on the device) reads the same.
    sim.set_faults("cam001", wrong_credentials=True)
    result = run_module("sensingcam_config", {"time_zone": "Europe/Berlin"}, sim, "cam001")
    assert result["failed"] is True and "refused the login" in result["msg"]
    assert sim.password not in result["_stdout"]
