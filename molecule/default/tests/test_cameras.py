"""The lab's cameras after the roll-out, read back from the camera simulator (tools/camera_simulator, started by
prepare.yml; a simulator, not real cameras) through its REST API: reads need no login (the device profile's
auth.reads_require_login is false), so these tests check what the Cameras play of site.yml wrote without the
password. The expected values are the lab inventory's own (inventories/lab/group_vars/sensingcams.yml); the device
names are those of profiles/sensingcam/sec100-fw2.yml, written out here."""

import json
import urllib.request

import pytest
import yaml
from scenario import CAMERAS, REPO, lab_hostvars, scenario_hostvars

LAB_CAMERA_VARIABLES = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "sensingcams.yml").read_text())
TIME = {"time_zone": "TimeZone", "ntp_enabled": "NtpEnabled", "ntp_servers": "NtpServers"}
STREAMS = {"primary": "StreamProfilePrimary", "secondary": "StreamProfileSecondary"}
STREAM_FIELDS = {"codec": "Codec", "width": "Width", "height": "Height", "fps": "FrameRate",
                 "bitrate_kbps": "Bitrate", "gop": "GopLength"}
EVENT_RECORDING_FIELDS = {"pre_trigger_seconds": "PreTrigger", "post_trigger_seconds": "PostTrigger",
                          "duration_seconds": "Duration", "trigger_source": "TriggerSource"}
# Where the scenario differs from the lab on purpose: its own ports and secrets dir.
SCENARIO_ONLY = {"sensingcam_port", "ming_lab_secrets_dir"}


@pytest.fixture(scope="module")
def hostvars():
    return scenario_hostvars()


def read(port, name):
    """GET /api/<name> of the simulated camera on ``port``: the variable's value."""
    url = f"http://127.0.0.1:{port}/api/{name}"
    with urllib.request.urlopen(url, timeout=10) as reply:  # noqa: S310 (a fixed http URL on loopback)
        return json.load(reply)["data"][name]


def test_scenario_cameras_are_the_lab_cameras(hostvars):
    """Inventories only, no service: the scenario's sensingcams are the lab's, with the same variables (firmware,
    ingest, stream roles, line, station and the lab's group variables), apart from their ports and secrets dir."""
    lab = lab_hostvars()
    assert sorted(name for name in hostvars if name.startswith("cam-")) == sorted(CAMERAS)
    assert sorted(name for name in lab if name.startswith("cam-")) == sorted(CAMERAS)
    for camera in CAMERAS:
        expected = {key: value for key, value in lab[camera].items() if key not in SCENARIO_ONLY}
        actual = {key: value for key, value in hostvars[camera].items()
                  if key not in SCENARIO_ONLY and not key.startswith("molecule_")}
        assert actual == expected, camera
        assert hostvars[camera]["sensingcam_port"] != lab[camera]["sensingcam_port"]


@pytest.mark.parametrize("camera", CAMERAS)
def test_camera_answers_with_the_lab_settings(hostvars, camera):
    """Camera simulator: on the port the scenario's inventory gives, the camera has the lab's firmware line and the
    name, time, stream and event recording settings the lab inventory sets (the simulator starts with UTC, NTP off,
    post-trigger 10 s and trigger source software, so these were written by the roll-out)."""
    port = hostvars[camera]["sensingcam_port"]
    assert read(port, "FirmwareVersion") == hostvars[camera]["sensingcam_lab_firmware"]
    assert read(port, "LocationName") == camera
    for option, name in TIME.items():
        assert read(port, name) == LAB_CAMERA_VARIABLES["sensingcam_config"][option], name
    for stream, name in STREAMS.items():
        expected = {STREAM_FIELDS[option]: value
                    for option, value in LAB_CAMERA_VARIABLES["sensingcam_streams"][stream].items()}
        actual = read(port, name)
        assert {field: actual[field] for field in expected} == expected, name
    expected = {EVENT_RECORDING_FIELDS[option]: value
                for option, value in LAB_CAMERA_VARIABLES["sensingcam_event_recording"].items()}
    actual = read(port, "EventRecording")
    assert {field: actual[field] for field in expected} == expected
