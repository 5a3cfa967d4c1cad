"""sensingcam_info against the in-process fake camera (not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_info


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def test_everything_on_current_firmware(run_module, camera):
    failed, result = run_module(sensingcam_info.main, module_args(), check_mode=True)
    assert not failed and not result["changed"]
    assert result["identity"] == {"firmware_version": "2.6.1", "serial_number": "23450017",
                                  "order_number": "1133333", "device_type": "SEC100",
                                  "device_name": "factory-default"}
    assert result["streams"]["primary"] == {"codec": "h264", "width": 1920, "height": 1080, "fps": 25,
                                            "bitrate_kbps": 4096, "gop": 50}
    assert result["streams"]["secondary"]["codec"] == "mjpeg"
    assert result["time"]["time_zone"] == "UTC" and result["time"]["ntp_enabled"] is False
    assert result["event_recording"]["settings"]["pre_trigger_seconds"] == 5
    assert result["event_recording"]["buffer_usage"] == 12
    assert result["rtsp"]["available"] is True
    assert result["rtsp"]["urls"]["primary"] == "rtsp://cam1:554/stream1"
    assert result["websocket_url"] == "ws://cam1:8888/ws"
    assert result["known_issues"] == [] and result["unsupported"] == []
    assert result["profile"]["covers_firmware"] is True
    assert camera.writes() == []


def test_old_firmware_has_no_rtsp_and_a_known_issue(run_module, camera):
    camera.variables["FirmwareVersion"] = "2.5.3"
    failed, result = run_module(sensingcam_info.main, module_args(gather=["rtsp"]))
    assert not failed
    assert result["rtsp"]["available"] is False and result["rtsp"]["urls"] == {}
    assert "RTSP" in result["known_issues"][0]["summary"]
    assert "streams" not in result and "serial_number" not in result["identity"]


def test_unknown_name_is_a_warning_naming_the_profile_key(run_module, camera):
    del camera.variables["TimeZone"]
    failed, result = run_module(sensingcam_info.main, module_args(gather=["time"]))
    assert not failed
    assert result["time"]["time_zone"] is None
    assert result["unsupported"] == ["time.time_zone"]
    assert any("time.time_zone.name" in w for w in result["warnings"])


def test_firmware_outside_profile_warns(run_module, camera):
    camera.variables["FirmwareVersion"] = "3.1.0"
    failed, result = run_module(sensingcam_info.main, module_args(gather=["identity"]))
    assert not failed and result["profile"]["covers_firmware"] is False
    assert any("profile of that firmware line" in w for w in result["warnings"])


def test_unreachable_camera_fails_clearly(run_module, camera):
    camera.unreachable = True
    failed, result = run_module(sensingcam_info.main, module_args())
    assert failed and result["msg"].startswith("Cannot reach the camera at http://cam1:80")


def test_reads_need_no_password(run_module, camera):
    args = module_args(gather=["identity"])
    del args["password"]
    failed, result = run_module(sensingcam_info.main, args)
    assert not failed and result["identity"]["serial_number"] == "23450017"
