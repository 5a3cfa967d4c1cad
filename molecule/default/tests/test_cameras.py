"""The lab's cameras after the roll-out, read back from the camera simulator (tools/camera_simulator, started by
prepare.yml; a simulator, not real cameras) through its REST API: reads need no login (the device profile's
auth.reads_require_login is false), so these tests check what the Cameras play of site.yml wrote without the
password. The expected values are the lab inventory's own (inventories/lab/group_vars/sensingcams.yml); the device
names are those of profiles/sensingcam/sec100-fw2.yml, written out here, and so are the wire forms (enum numbers,
0/1 for booleans, [a, b, c, d] for an IPv4 address), so a codec error in the modules shows here."""

import json
import urllib.request

import pytest
import yaml
from scenario import CAMERAS, REPO, lab_hostvars, scenario_hostvars

LAB_CAMERA_VARIABLES = yaml.safe_load((REPO / "inventories" / "lab" / "group_vars" / "sensingcams.yml").read_text())
RESOLUTIONS = {"240x134": 0, "320x180": 1, "480x270": 2, "640x360": 3, "1280x720": 4, "1920x1080": 5, "2880x1616": 6}


def ipv4(text):
    return [int(part) for part in text.split(".")]


# Option -> (device name, module value -> wire value).
TIME = {"role": ("TSCRole", {"none": 0, "ntp": 1, "ptp": 3}.__getitem__), "ntp_server": ("TSCTCSrvAddr", ipv4),
        "update_interval_seconds": ("TSCTCupdatetime", int), "time_zone_index": ("TSCTCtimezone", int)}
STREAM_FIELDS = {"resolution": ("Resolution", RESOLUTIONS.__getitem__), "fps": ("FrameRate", int),
                 "codec": ("CompressionType", {"h264": 0, "h265": 1}.__getitem__),
                 "bitrate_class": ("CompressionRate", int), "gop": ("EncoderGop", int),
                 "rtsp_enabled": ("EnableRtsp", int)}
EVENT_RECORDING = {"enabled": ("EventEnableRecording", int), "pre_trigger_seconds": ("EventTimeBeforeTrigger", int),
                   "post_trigger_seconds": ("EventTimeAfterTrigger", int), "naming": ("EventNaming", str)}
# Where the scenario differs from the lab on purpose: its own ports and secrets dir. (The lab's RTSP ports follow its
# camera ports, the simulator's port + 1000; the scenario's simulator serves no RTSP and Frigate is rendered only.)
SCENARIO_ONLY = {"sensingcam_port", "sensingcam_rtsp_port", "ming_lab_secrets_dir"}


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
    location name, time sync, stream and event recording settings the lab inventory sets, in the wire form of the
    device profile, and the authentication-free API off (the simulator starts with other values, so these were
    written by the roll-out)."""
    port = hostvars[camera]["sensingcam_port"]
    assert read(port, "FirmwareVersion") == hostvars[camera]["sensingcam_lab_firmware"]
    assert read(port, "LocationName") == camera
    for option, value in LAB_CAMERA_VARIABLES["sensingcam_time_sync"].items():
        name, wire = TIME[option]
        assert read(port, name) == wire(value), name
    for stream, settings in LAB_CAMERA_VARIABLES["sensingcam_streams"].items():
        prefix = "Video" + stream[-1]
        for option, value in settings.items():
            name, wire = STREAM_FIELDS[option]
            assert read(port, prefix + name) == wire(value), prefix + name
    for option, value in LAB_CAMERA_VARIABLES["sensingcam_event_recording"].items():
        name, wire = EVENT_RECORDING[option]
        assert read(port, name) == wire(value), name
    assert read(port, "SetAuthenticationFreeApiEnabled") == 0
    if hostvars[camera].get("sensingcam_snapshot_mode") == "stream":
        assert read(port, "SnapshotMode") == 0
