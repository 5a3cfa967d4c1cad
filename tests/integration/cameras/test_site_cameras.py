"""The Cameras play of site.yml (the sensingcam role) and its camera checks, through real ``ansible-playbook`` runs.

All of these run against the camera simulator (tools/camera_simulator), a test double of the SEC100, not a real
camera. The inventories hold only the sensingcams group, so the other plays of site.yml have no hosts.
"""

import pytest

from .conftest import REPO, assert_no_secret, recap_of, run_playbook

pytestmark = pytest.mark.simulator
SITE = REPO / "site.yml"
OFFLOAD_SECRET = "Clip-Server-Secret-93"


def test_site_cameras_play_applies_host_settings_idempotently(simulator, tmp_path):
    """Settings from group vars, only those set: --check changes nothing, the run applies them (location name from
    the inventory name, the authentication-free API switched off), a re-run reports changed=0 on every camera."""
    sim = simulator(2)
    inventory = sim.write_inventory(
        tmp_path / "hosts.yml",
        sensingcam_time_sync={"role": "ntp", "ntp_server": "192.168.136.1"},
        sensingcam_streams={"video1": {"fps": 12, "resolution": "1280x720"}},
        sensingcam_event_recording={"pre_trigger_seconds": 7, "hardware_trigger": {"enabled": True}},
        sensingcam_offload={"protocol": "sftp", "server": "192.168.136.20", "username": "sec100",
                            "password": OFFLOAD_SECRET},
        sensingcam_secret_state_dir=str(tmp_path / "state"))
    checked = run_playbook(SITE, inventory, check=True)
    assert checked.returncode == 0, checked.stdout
    assert sim.get("cam001", "TSCRole") == 0 and sim.get("cam001", "LocationName") == ""
    applied = run_playbook(SITE, inventory, "--diff")
    assert applied.returncode == 0, applied.stdout
    for name in sim.names:
        assert sim.get(name, "LocationName") == name
        assert (sim.get(name, "TSCRole"), sim.get(name, "TSCTCSrvAddr")) == (1, [192, 168, 136, 1])
        assert (sim.get(name, "Video1FrameRate"), sim.get(name, "Video1Resolution")) == (12, 4)
        assert sim.get(name, "Video0FrameRate") == 25, "video0 is not in the inventory and stays as it was"
        assert (sim.get(name, "EventTimeBeforeTrigger"), sim.get(name, "EventEnableHardwareTrigger")) == (7, 1)
        assert (sim.get(name, "FtpProtocol"), sim.get(name, "FtpUserName")) == (1, "sec100")
        assert sim.get(name, "SetAuthenticationFreeApiEnabled") == 0
    assert_no_secret(applied.stdout + applied.stderr, OFFLOAD_SECRET, user="sec100")
    assert (applied.stdout + applied.stderr).count('signs only "POST:<name>"') == 1, "plain HTTP: one warning a run"
    again = run_playbook(SITE, inventory)
    assert all(h["changed"] == 0 for h in recap_of(again.stdout, sim.names).values()), again.stdout


@pytest.mark.parametrize("settings, named", [
    ({"sensingcam_streams": {"video0": {"resolution": "1024x768"}}},
     'sensingcam_streams.video0.resolution: "1024x768" is not one of 240x134'),
    ({"sensingcam_streams": {"video1": {"fps": 75}}}, "sensingcam_streams.video1.fps: 75 is above the maximum 60"),
    ({"sensingcam_streams": {"video1": {"bitrate_class": 5000}}},
     "sensingcam_streams.video1.bitrate_class: 5000 is not one of 1023, 2047, 4095, 8191, 16383"),
    ({"sensingcam_streams": {"secondary": {"fps": 12}}}, "sensingcam_streams.secondary was renamed: use video1"),
    ({"sensingcam_time_sync": {"ntp_server": "pool.ntp.org"}},
     'sensingcam_time_sync.ntp_server: "pool.ntp.org" is not an IPv4 address'),
    ({"sensingcam_time_sync": {"time_zone_index": 300}}, "sensingcam_time_sync.time_zone_index: 300 is above"),
    ({"sensingcam_offload": {"server": "files.plant"}}, 'sensingcam_offload.server: "files.plant" is not an IPv4'),
    ({"sensingcam_offload": {"username": "sec100"}}, "sensingcam_offload.password is missing"),
    ({"sensingcam_event_recording": {"duration_seconds": 30}}, "sensingcam_event_recording.duration_seconds is gone"),
    ({"sensingcam_config": {"device_name": "x"}}, "sensingcam_config was retired"),
    ({"sensingcam_profile_path": "/nonexistent/sec100.yml"}, "sensingcam_profile_path is /nonexistent/sec100.yml"),
    ({"sensingcam_timeout": "soon"}, "sensingcam_timeout"),
], ids=["resolution", "fps", "bitrate", "old-stream-name", "ntp-host-name", "time-zone-index", "ftp-host-name",
        "ftp-password-missing", "duration", "retired-config", "missing-profile", "bad-type"])
def test_site_cameras_play_refuses_bad_settings_before_touching_a_camera(simulator, tmp_path, settings, named):
    """The role's preflight (its own play in site.yml, before any other): a wrong value fails naming the camera and
    the variable, before any request reaches a camera; the password is not printed even at -vvv."""
    sim = simulator(1)
    inventory = sim.write_inventory(tmp_path / "hosts.yml", **settings)
    run = run_playbook(SITE, inventory, "-vvv")
    assert run.returncode != 0
    assert named in run.stdout, run.stdout[-3000:]
    if "sensingcam_timeout" not in settings:
        assert "Camera cam001: " in run.stdout
    assert "PLAY [Cameras]" not in run.stdout, "the roll-out went past the camera checks"
    assert sim.summary("cam001")["counters"]["requests"] == 0
    assert sim.password not in run.stdout + run.stderr
