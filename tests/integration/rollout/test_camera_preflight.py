"""A bad camera variable stops the real roll-out in the camera checks, before the broker play changes anything.

Runs the real site.yml with ansible-playbook against the lab inventory plus a second inventory source that gives
one camera (cam-line1-st20) a bad value, for real: the bad runs have no --check (except the one about --check), in
a throwaway base directory and Compose project on free loopback ports, so a run that got past the camera checks
would write the broker's base directory and start its container on this machine's Docker engine (the broker play
runs before the cameras play). The tests assert neither happened, and that the message names the camera and the
variable and never shows the password. No camera is contacted: the checks send nothing (no simulator runs)."""

import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from mosquitto_broker import containers_of, free_port, remove_compose_project, venv_tool

REPO = Path(__file__).resolve().parents[3]
BAD_CAMERA = "cam-line1-st20"


def remove_project(project):
    """Only when a run got past the checks (the test fails then): stop what it started, so nothing is left."""
    if containers_of(project):
        remove_compose_project(project)


@pytest.fixture
def rollout(tmp_path):
    projects = []

    def run(camera_vars, *options):
        project = f"cam-pre-{uuid.uuid4().hex[:8]}"
        projects.append(project)
        extra_inventory = tmp_path / "bad-camera.yml"
        extra_inventory.write_text(yaml.safe_dump({"sensingcams": {"hosts": {BAD_CAMERA: camera_vars}}}))
        variables = {"ming_base_dir": str(tmp_path / "ming"), "ming_compose_project": project,
                     "ming_lab_secrets_dir": str(tmp_path / "secrets"), "mosquitto_listen_addresses": ["127.0.0.1"],
                     "mosquitto_tls_port": free_port(), "mosquitto_plain_port": free_port()}
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        done = subprocess.run(
            [str(venv_tool("ansible-playbook")), "site.yml", "-i", "inventories/lab", "-i", str(extra_inventory),
             *options, "-e", json.dumps(variables)],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=900, check=False)
        done.project = project
        return done

    yield run
    for project in projects:
        remove_project(project)


def assert_stopped_before_any_change(run, tmp_path, *needles):
    assert run.returncode != 0, run.stdout[-3000:]
    assert "PLAY [MQTT brokers]" not in run.stdout, "the broker play ran after a bad camera variable"
    assert not (tmp_path / "ming").exists(), "the roll-out wrote the broker's base directory before the checks"
    assert containers_of(run.project) == [], "the roll-out started a container before the checks stopped it"
    failed = [line for line in run.stdout.splitlines() if line.startswith("fatal: [")]
    assert [line.split("]")[0] for line in failed] == [f"fatal: [{BAD_CAMERA}"], "only the bad camera fails"
    message = f"Camera {BAD_CAMERA}: "
    assert message in run.stdout, run.stdout[-3000:]
    for needle in needles:
        assert needle in run.stdout


def test_non_numeric_port_stops_the_rollout_naming_camera_and_variable(rollout, tmp_path):
    """Without --check: before this check, the broker play ran first and the port failed later, in the cameras
    play (mutation: the camera-checks play removed from site.yml -> the broker's base dir and container appear;
    the port assert removed from preflight.yml -> the message without 'Camera cam-line1-st20: ')."""
    run = rollout({"sensingcam_port": "eighty"})
    assert_stopped_before_any_change(run, tmp_path, 'sensingcam_port is "eighty"', "1 to 65535")


def test_empty_password_fails_in_check_mode_naming_camera_and_variable(rollout, tmp_path):
    """--check: an empty password with settings to apply used to pass silently (reads need no login)
    (mutation: the password-presence condition removed -> the run goes on to the broker play)."""
    run = rollout({"sensingcam_password": ""}, "--check")
    assert_stopped_before_any_change(run, tmp_path, "sensingcam_password is empty")


def test_non_ascii_password_fails_naming_the_variable_not_the_value(rollout, tmp_path):
    """Without --check (mutation: the ASCII condition removed -> the broker play runs, base dir written)."""
    password = "Kamera-\u00dcberwachung-9"
    run = rollout({"sensingcam_password": password})
    assert_stopped_before_any_change(run, tmp_path, "sensingcam_password contains characters outside ASCII")
    assert password not in run.stdout + run.stderr


@pytest.mark.parametrize("camera_vars, named", [
    ({"sensingcam_streams": {"video0": {"resolution": "1024x768"}}},
     'sensingcam_streams.video0.resolution: "1024x768" is not one of 240x134, 320x180'),
    ({"sensingcam_streams": {"video1": {"fps": 61}}}, "sensingcam_streams.video1.fps: 61 is above the maximum 60"),
    ({"sensingcam_streams": {"video0": {"bitrate_class": 4096}}},
     "sensingcam_streams.video0.bitrate_class: 4096 is not one of 1023, 2047, 4095, 8191, 16383"),
    ({"sensingcam_time_sync": {"role": "ntp", "ntp_server": "0.debian.pool.ntp.org"}},
     'sensingcam_time_sync.ntp_server: "0.debian.pool.ntp.org" is not an IPv4 address'),
    ({"sensingcam_offload": {"protocol": "sftp", "server": "clips.plant.example"}},
     'sensingcam_offload.server: "clips.plant.example" is not an IPv4 address'),
    ({"sensingcam_time_sync": {"time_zone_index": 256}},
     "sensingcam_time_sync.time_zone_index: 256 is above the maximum 255"),
    ({"sensingcam_offload": {"server": "192.168.136.20", "username": "sec100"}},
     "sensingcam_offload.password is missing, but sensingcam_offload.username is set"),
], ids=["resolution", "fps-over-60", "bitrate-class", "ntp-host-name", "ftp-host-name", "time-zone-index",
        "ftp-password-missing"])
def test_a_setting_the_profile_refuses_stops_the_rollout_naming_camera_and_variable(rollout, tmp_path, camera_vars,
                                                                                    named):
    """Without --check: each value the device profile refuses stops site.yml in the camera checks, before the broker
    play (mutation: the profile-check task removed from preflight.yml -> the broker play runs and writes its base
    dir)."""
    run = rollout(camera_vars)
    assert_stopped_before_any_change(run, tmp_path, named)


def test_valid_camera_variables_pass_the_camera_checks(rollout, tmp_path):
    """The control case, --check: with good values the same run gets past the camera checks into the broker play,
    so the failures above are the checks'. Only the checks' tags run, so no camera is contacted."""
    run = rollout({"sensingcam_port": 18102, "sensingcam_password": "Ascii-Only-Passw0rd"}, "--check",
                  "--tags", "sensingcam_preflight")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "PLAY [MQTT brokers]" in run.stdout and "PLAY [Cameras]" in run.stdout
    assert "fatal:" not in run.stdout
