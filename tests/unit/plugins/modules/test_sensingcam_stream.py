"""sensingcam_stream against the in-process fake camera (a test double, not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils with the shipped device profile. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_stream


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def run(run_module, check=False, diff=False, **options):
    return run_module(sensingcam_stream.main, module_args(**options), check_mode=check, diff=diff)


def test_check_apply_idempotent_change(run_module, camera):
    """video1 starts at 640x360, 10 fps: check predicts, apply writes the wire values, a re-run writes nothing, a
    second change writes only that variable; video0 is never touched."""
    wanted = dict(stream="video1", resolution="1280x720", fps=15, codec="h265", bitrate_class=8191, gop=30,
                  rtsp_enabled=True)
    failed, checked = run(run_module, check=True, diff=True, **wanted)
    assert not failed and checked["changed"] and camera.writes() == []
    assert checked["settings"]["resolution"] == "1280x720" and checked["diff"]["before"]["resolution"] == "640x360"
    assert camera.variables["Video1Resolution"] == 3

    failed, applied = run(run_module, **wanted)
    assert not failed and applied["changed"]
    assert sorted(camera.writes()) == [("Video1CompressionRate", 8191), ("Video1CompressionType", 1),
                                       ("Video1EnableRtsp", 1), ("Video1EncoderGop", 30), ("Video1FrameRate", 15),
                                       ("Video1Resolution", 4)]
    assert applied["settings"] == {"resolution": "1280x720", "fps": 15, "codec": "h265", "bitrate_class": 8191,
                                   "gop": 30, "rtsp_enabled": True}

    failed, again = run(run_module, **wanted)
    assert not failed and not again["changed"] and again["changed_settings"] == [] and len(camera.writes()) == 6

    failed, changed = run(run_module, stream="video1", fps=5)
    assert not failed and changed["changed"] and changed["changed_settings"] == ["fps"]
    assert camera.writes()[6:] == [("Video1FrameRate", 5)]
    assert not [name for name, _value in camera.writes() if name.startswith("Video0")]


def test_rtsp_url_and_state_come_from_the_camera_without_credentials(run_module, camera):
    camera.variables["RtspPort"] = 8554
    camera.variables["DeviceStatusRTSP0"] = 2
    failed, result = run(run_module, stream="video0")
    assert not failed and result["rtsp_url"] == "rtsp://cam1:8554/live/0" and result["rtsp_status"] == 2
    assert "S3cret" not in result["rtsp_url"] and "@" not in result["rtsp_url"]


def test_rtsp_port_falls_back_to_554_when_the_camera_does_not_know_it(run_module, camera):
    del camera.specs["RtspPort"]  # the fake camera answers 404 for it, as for any name it does not know
    failed, result = run(run_module, stream="video1")
    assert not failed and result["rtsp_url"] == "rtsp://cam1:554/live/1"


def test_rtsp_is_not_hidden_on_old_firmware(run_module, camera):
    """The former 'RTSP below 2.6' gate is gone: an old camera still gets its URL."""
    camera.variables["FirmwareVersion"] = "2.5.1"
    failed, result = run(run_module, stream="video0")
    assert not failed and result["rtsp_url"] == "rtsp://cam1:554/live/0"


def test_rtsp_authentication_is_the_camera_wide_switch(run_module, camera):
    failed, result = run(run_module, stream="video1", rtsp_authentication=False)
    assert not failed and result["changed"] and camera.writes() == [("RtspAuthenticationEnabled", 0)]


@pytest.mark.parametrize("option, value, words", [
    ("resolution", "1024x768", "resolution='1024x768' is not one of 240x134, 320x180, 480x270, 640x360, 1280x720, "
                               "1920x1080, 2880x1616"),
    ("fps", 61, "fps=61 is above the maximum 60"),
    ("fps", 0, "fps=0 is below the minimum 1"),
    ("bitrate_class", 4096, "bitrate_class=4096 is not one of 1023, 2047, 4095, 8191, 16383"),
    ("gop", 0, "gop=0 is below the minimum 1"),
])
def test_values_outside_the_profile_are_refused_before_any_request(run_module, camera, option, value, words):
    failed, result = run(run_module, stream="video0", **{option: value})
    assert failed and words in result["msg"] and "Nothing was sent" in result["msg"]
    assert camera.requests == []


def test_codec_outside_the_choices_and_missing_stream_are_refused(run_module, camera):
    failed, result = run(run_module, stream="video0", codec="mjpeg")
    assert failed and "codec" in result["msg"] and "h264, h265" in result["msg"]
    failed, result = run(run_module, fps=5)
    assert failed and "stream" in result["msg"]
    failed, result = run(run_module, stream="primary", fps=5)
    assert failed and "video0, video1" in result["msg"]
    assert camera.requests == []


def test_the_camera_password_is_never_in_the_result(run_module, camera):
    failed, result = run(run_module, diff=True, stream="video0", fps=12)
    assert not failed and "S3cret-Pa55word!" not in repr(result)
