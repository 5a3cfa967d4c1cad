"""Ingest checked for real (issue 13, deliverable 4): the lab camera's RTSP URL exactly as the frigate_config filter
renders it into go2rtc's streams, with the ``{FRIGATE_*}`` placeholders replaced the way Frigate's go2rtc start-up
(create_config.py) does (``str.format`` with the FRIGATE_* variables, services.md §2.2; our own equivalent,
frigate_schema.frigate_format), and the secret values URL-encoded as the frigate role writes them
(roles/frigate/vars/main.yml, filter frigate_url_encode), is read with ffprobe over RTSP/TCP.

Against the camera simulator, not a real camera: its GStreamer RTSP server (tools/camera_simulator, Basic auth)
stands in for the SEC100. The camera is cam-line1-st10 of inventories/lab with its inventory's
``sensingcam_rtsp_paths`` and ``sensingcam_stream_roles``; its address and RTSP port are the simulator's (a free
loopback port, so a running lab simulator is not disturbed), and the test checks that the camera's own
``RtspPort``, ``Video0RtspPath`` and ``Video1RtspPath`` equal what the inventory-side variables render into the URL.

The password ``p@ss:w/rd%`` holds the URL-special characters @ : / %. The simulator takes it (ASCII only is its one
rule), and the GStreamer server checks Basic auth against the decoded value, so success proves ffmpeg decoded the
percent-encoding and the server saw the real password.

Mutations tried (each made the test fail, then was undone):
- the camera secrets written without frigate_url_encode (the raw password substituted into the URL) -> the
  encoded-userinfo check, and without that check the URL parse fails (urlsplit: port 'w'; ffprobe also exits 1)
- the inventory-side path changed to /live/9 while the simulator serves /live/0 -> the path equality assertion
- the wrong-password probe given the right password -> its ``!= 0`` assertion (auth really is checked)
"""

import copy
import json
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from sensingcam_simulator.camera import CameraConfig
from sensingcam_simulator.rtsp import gstreamer_available
from sensingcam_simulator.testing import free_ports, running_simulator

from ansible_collections.sensingcam.ming.plugins.filter import frigate_config as frigate_filter
from frigate_schema import VERSIONS, check, frigate_format

pytestmark = pytest.mark.simulator

REPO = Path(__file__).resolve().parents[3]
LAB_CAMERA = "cam-line1-st10"
USER = "Service"
PASSWORD = "p@ss:w/rd%"  # test-only; every URL-special character of a userinfo
RTSP_PROBLEM = gstreamer_available()
encode = frigate_filter.url_encode  # what the frigate role's secret files hold (filter frigate_url_encode)


@pytest.fixture
def gstreamer_rtsp():
    """The GStreamer RTSP server (scripts/install-test-deps.sh runtime); missing, the test fails, never skips."""
    if RTSP_PROBLEM is not None:
        pytest.fail(f"GStreamer RTSP server unavailable ({RTSP_PROBLEM}): run scripts/install-test-deps.sh runtime")


def lab_camera_variables():
    """cam-line1-st10's variables as inventories/lab sets them (all < sensingcams group < host), unrendered."""
    result = subprocess.run([str(REPO / ".venv" / "bin" / "ansible-inventory"), "-i", "inventories/lab/hosts.yml",
                             "--list", "--export"], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    inventory = json.loads(result.stdout)
    variables = dict(inventory.get("all", {}).get("vars", {}))
    variables.update(inventory.get("sensingcams", {}).get("vars", {}))
    variables.update(inventory["_meta"]["hostvars"][LAB_CAMERA])
    if not isinstance(variables.get("sensingcam_rtsp_paths"), dict):
        pytest.fail(f"inventories/lab: {LAB_CAMERA} has no sensingcam_rtsp_paths (dict stream -> path, e.g. "
                    "{video0: /live/0, video1: /live/1}); the frigate role needs it for an rtsp camera")
    return variables


def probe(url):
    return subprocess.run(["ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries",
                           "stream=codec_name,width,height", "-of", "json", url],
                          capture_output=True, text=True, timeout=30, check=False)


def read(base, name):
    reply = requests.get(f"{base}/api/{name}", timeout=10)
    assert reply.status_code == 200, reply.text
    return reply.json()["data"][name]


@pytest.mark.slow
@pytest.mark.usefixtures("gstreamer_rtsp", "ffprobe")
def test_rendered_rtsp_url_with_encoded_password_reads_h264_from_the_simulator():
    variables = lab_camera_variables()
    port, rtsp_port = free_ports(2)
    camera = {  # what roles/frigate/vars/main.yml (__frigate_camera_list) builds from the inventory
        "name": LAB_CAMERA, "host": "127.0.0.1", "ingest": variables.get("sensingcam_ingest", "rtsp"),
        "rtsp_port": rtsp_port, "rtsp_paths": variables["sensingcam_rtsp_paths"],
        "stream_roles": variables.get("sensingcam_stream_roles", {}),
    }
    settings = {"version": "0.18.0", "mqtt": {"host": "broker.plant.example"}}
    config = frigate_filter.frigate_config([copy.deepcopy(camera)], settings)
    secret_values = {}
    for entry in frigate_filter.frigate_secrets([copy.deepcopy(camera)], settings):
        raw = {"user": USER, "password": PASSWORD}.get(entry["field"], "other-secret")
        secret_values[entry["name"]] = encode(raw) if entry["camera"] else raw
    assert check(config, "0.18.0", environment=set(secret_values)) == []
    for version in VERSIONS:  # the go2rtc section is the same for every supported release
        other = frigate_filter.frigate_config([copy.deepcopy(camera)], dict(settings, version=version))
        assert other["go2rtc"]["streams"] == config["go2rtc"]["streams"]

    streams = config["go2rtc"]["streams"]
    roles = camera["stream_roles"]
    archive_stream = roles.get("archive", "video0")
    detect_stream = roles.get("detect", archive_stream)
    archive_url = frigate_format(streams[LAB_CAMERA][0], secret_values)
    assert "p%40ss%3Aw%2Frd%25" in archive_url and PASSWORD not in archive_url
    rendered = urlsplit(archive_url)
    assert (rendered.hostname, rendered.port, rendered.path) == (
        "127.0.0.1", rtsp_port, camera["rtsp_paths"][archive_stream])
    urls = {archive_stream: archive_url}
    if detect_stream != archive_stream:
        urls[detect_stream] = frigate_format(streams[LAB_CAMERA + "_detect"][0], secret_values)

    configs = [CameraConfig(name=LAB_CAMERA, port=port, user=USER, password=PASSWORD, rtsp=True, rtsp_port=rtsp_port)]
    with running_simulator(configs) as sim:
        base = sim.url(LAB_CAMERA)
        assert read(base, "RtspPort") == rtsp_port
        for stream, url in urls.items():
            reported_path = read(base, f"Video{stream[-1]}RtspPath")
            assert urlsplit(url).path == reported_path == camera["rtsp_paths"][stream], stream
            result = probe(url)
            assert result.returncode == 0, result.stderr
            assert json.loads(result.stdout)["streams"][0]["codec_name"] == "h264"

        # Basic auth is really checked: a wrong password is refused.
        wrong = archive_url.replace(encode(PASSWORD), encode("p@ss:w/rd&"))
        assert probe(wrong).returncode != 0
        # The server compares the decoded value: the encoded text sent as the password (encoded twice) is refused.
        assert probe(archive_url.replace(encode(PASSWORD), encode(encode(PASSWORD)))).returncode != 0
        # Encoding matters: the raw password breaks the URL (its '/' ends the authority part).
        raw = frigate_format(streams[LAB_CAMERA][0], dict(secret_values, **{
            name: PASSWORD for name in secret_values if name.endswith("_PASSWORD") and name.startswith("FRIGATE_CAM")}))
        assert PASSWORD in raw
        assert probe(raw).returncode != 0
