"""The settings modules through the real ``ansible`` command: check -> apply -> idempotent re-run -> change, asserting
``changed`` and the camera's real state through its own API (wire values: enum numbers, 0/1, [a, b, c, d]) and the
simulator's control API.

All of these run against the camera simulator (tools/camera_simulator), a test double of the SEC100, not a real
camera. The backup, firmware and info modules have their own test files.
"""

import hashlib
import os
from pathlib import Path

import pytest

from .conftest import assert_no_secret, run_module

pytestmark = pytest.mark.simulator


def cycle(sim, module, wanted, changed_to, read_back, camera="cam001"):
    """check (changed, device untouched) -> apply (changed, device changed) -> re-run (not changed, no write)."""
    before = read_back()
    checked = run_module(module, wanted, sim, camera, check=True, diff=True)
    assert checked.get("failed") is not True, checked["_stdout"]
    assert checked["changed"] is True
    assert read_back() == before, "check mode must not change the camera"
    applied = run_module(module, wanted, sim, camera)
    assert applied["changed"] is True, applied["_stdout"]
    assert read_back() == changed_to
    writes = sim.summary(camera)["counters"]["writes"]
    again = run_module(module, wanted, sim, camera)
    assert again["changed"] is False, again["_stdout"]
    assert sim.summary(camera)["counters"]["writes"] == writes, "an idempotent re-run writes nothing"
    return checked, applied


def reader(sim, *names, camera="cam001"):
    return lambda: tuple(sim.get(camera, name) for name in names)


def test_stream_check_apply_idempotent_change(simulator):
    """sensingcam_stream: video1 for detection, then its frame rate alone; video0 stays; the RTSP URL is the
    camera's port and path, without credentials."""
    sim = simulator(1)
    names = ("Video1Resolution", "Video1FrameRate", "Video1CompressionType", "Video1CompressionRate",
             "Video1EncoderGop")
    wanted = {"stream": "video1", "resolution": "1280x720", "fps": 15, "codec": "h265", "bitrate_class": 2047,
              "gop": 30}
    checked, applied = cycle(sim, "sensingcam_stream", wanted, (4, 15, 1, 2047, 30), reader(sim, *names))
    assert checked["diff"]["before"]["resolution"] == "640x360"
    assert applied["rtsp_url"] == "rtsp://127.0.0.1:554/live/1" and isinstance(applied["rtsp_status"], int)
    changed = run_module("sensingcam_stream", {"stream": "video1", "fps": 5}, sim, "cam001")
    assert changed["changed"] is True and changed["changed_settings"] == ["fps"]
    assert reader(sim, *names)() == (4, 5, 1, 2047, 30)
    assert sim.get("cam001", "Video0FrameRate") == 25, "video0 must stay as it was"


def test_stream_refuses_a_resolution_the_camera_does_not_offer_before_any_request(simulator):
    sim = simulator(1)
    result = run_module("sensingcam_stream", {"stream": "video0", "resolution": "1024x768"}, sim, "cam001")
    assert result["failed"] is True and "1920x1080, 2880x1616" in result["msg"]
    assert sim.summary("cam001")["counters"]["requests"] == 0


def test_event_recording_check_apply_idempotent_change(simulator):
    """sensingcam_event_recording: buffer around the trigger and the hardware trigger (one option, three variables),
    then the TCP/IP trigger alone."""
    sim = simulator(1)
    names = ("EventTimeBeforeTrigger", "EventTimeAfterTrigger", "EventEnableHardwareTrigger",
             "HardwareTriggerActiveLevel", "HardwareTriggerTonDelay")
    wanted = {"pre_trigger_seconds": 8, "post_trigger_seconds": 20,
              "hardware_trigger": {"enabled": True, "active_level": "low", "delay_ms": 20}}
    checked, _applied = cycle(sim, "sensingcam_event_recording", wanted, (8, 20, 1, 0, 20), reader(sim, *names))
    assert checked["diff"]["before"]["hardware_trigger"]["active_level"] == "high"
    changed = run_module("sensingcam_event_recording", {"tcpip_trigger": {"enabled": True, "port": 2114}},
                         sim, "cam001")
    assert changed["changed"] is True
    assert (sim.get("cam001", "SetTcpIpTriggerEnabled"), sim.get("cam001", "TcpIpTriggerPort")) == (1, 2114)


def test_config_check_apply_idempotent_change(simulator):
    sim = simulator(1)
    cycle(sim, "sensingcam_config", {"location_name": "line3-st2", "snapshot_mode": "snapshot"}, ("line3-st2", 1),
          reader(sim, "LocationName", "SnapshotMode"))
    changed = run_module("sensingcam_config", {"snapshot_mode": "stream"}, sim, "cam001")
    assert changed["changed"] is True and sim.get("cam001", "SnapshotMode") == 0


def test_time_sync_check_apply_idempotent_change(simulator):
    sim = simulator(1)
    wanted = {"role": "ntp", "ntp_server": "192.168.136.1", "update_interval_seconds": 600, "time_zone_index": 37}
    _checked, applied = cycle(sim, "sensingcam_time_sync", wanted, (1, [192, 168, 136, 1], 600, 37),
                              reader(sim, "TSCRole", "TSCTCSrvAddr", "TSCTCupdatetime", "TSCTCtimezone"))
    assert applied["device_time"] is not None
    changed = run_module("sensingcam_time_sync", {"ntp_server": "192.168.136.2"}, sim, "cam001")
    assert changed["changed"] is True and sim.get("cam001", "TSCTCSrvAddr") == [192, 168, 136, 2]
    refused = run_module("sensingcam_time_sync", {"ntp_server": "pool.ntp.org"}, sim, "cam001")
    assert refused["failed"] is True and "ntp_server" in refused["msg"] and "IPv4" in refused["msg"]


def test_offload_check_apply_idempotent_change_with_a_write_only_password(simulator, tmp_path):
    """sensingcam_offload: the server password is written once, the same one again is no change, a new one is one
    write; it never shows; the connection test runs after the writes."""
    sim = simulator(1)
    secret, new_secret = "Clip-Server-Secret-93", "Clip-Server-Secret-94"
    state = str(tmp_path / "state")
    wanted = {"protocol": "sftp", "server": "192.168.136.20", "server_port": 22, "directory": "/clips",
              "server_username": "sec100", "server_password": secret, "secret_state_dir": state}
    names = ("FtpProtocol", "FtpServerAddress", "FtpPort", "FtpServerDirectory", "FtpUserName")
    checked, applied = cycle(sim, "sensingcam_offload", wanted, (1, [192, 168, 136, 20], 22, "/clips", "sec100"),
                             reader(sim, *names))
    for result in (checked, applied):
        assert_no_secret(result["_stdout"], secret, user="sec100")
    assert applied["settings"]["server_password"] == "******** (changed)"
    writes = sim.summary("cam001")["counters"]["writes"]
    new = run_module("sensingcam_offload", {**wanted, "server_password": new_secret, "test_connection": True},
                     sim, "cam001", diff=True)
    assert new["changed"] is True and new["changed_settings"] == ["server_password"]
    assert sim.summary("cam001")["counters"]["writes"] == writes + 1
    assert new["connection_test"] == "ok"
    assert_no_secret(new["_stdout"], new_secret, user="sec100")
    assert [path for path in Path(state).iterdir() if new_secret in path.read_text()] == []


def test_offload_connection_test_failure_fails_with_the_cameras_answer(simulator, tmp_path):
    """The simulator answers FtpConnectToServer with 'mode not enabled' while no server is set."""
    sim = simulator(1)
    result = run_module("sensingcam_offload", {"passive_mode": False, "test_connection": True}, sim, "cam001")
    assert result["failed"] is True and "could not reach the offload server" in result["msg"]
    assert "mode_not_enabled" in result["msg"]


def test_security_switches_the_authentication_free_api_off_and_warns_about_plain_http(simulator):
    sim = simulator(1)
    opened = run_module("sensingcam_security", {"authentication_free_api": True}, sim, "cam001")
    assert opened["changed"] is True and sim.get("cam001", "SetAuthenticationFreeApiEnabled") == 1
    _checked, applied = cycle(sim, "sensingcam_security", {"rtsp_authentication": False}, (0, 0),
                              reader(sim, "SetAuthenticationFreeApiEnabled", "RtspAuthenticationEnabled"))
    assert applied["transport"]["https"] is False
    assert sum('signs only "POST:<name>"' in warning for warning in applied.get("warnings", [])) == 1


def test_wrong_credentials_give_one_clear_error_without_the_password(simulator):
    """Wrong password: one clear login error naming the user and the camera's status, never the password, one retry
    with a fresh challenge at most, and no change on the camera."""
    sim = simulator(1)
    wrong = "Wr0ng-Secret-Value-42"
    result = run_module("sensingcam_config", {"location_name": "line9"}, sim, "cam001", password=wrong)
    assert result["failed"] is True
    assert "refused the login of user 'Service'" in result["msg"] and "status 4" in result["msg"]
    assert wrong not in result["_stdout"] and sim.password not in result["_stdout"]
    assert sim.summary("cam001")["counters"]["logins_failed"] <= 2, "one retry at most, not a retry loop"
    assert sim.get("cam001", "LocationName") == ""


def firmware_archive(directory, version="2.7.0", size=200_000):
    """A local firmware archive (manifest.yml plus one image); used by the firmware playbook tests."""
    directory.mkdir(parents=True, exist_ok=True)
    image = directory / f"sec100-{version}.bin"
    image.write_bytes(f"SICK-SEC100-FW {version}\n".encode() + os.urandom(size))
    digest = hashlib.sha256(image.read_bytes()).hexdigest()
    (directory / "manifest.yml").write_text(
        f'---\nfirmware:\n  - {{version: "{version}", file: {image.name}, sha256: {digest}, '
        'device_family: sensingCam SEC100}\n')
    return directory
