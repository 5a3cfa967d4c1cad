"""sensingcam_info against the in-process fake camera (a test double, not a real SEC100, not the camera simulator).

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


def info(run_module, check_mode=False, **args):
    return run_module(sensingcam_info.main, module_args(**args), check_mode=check_mode)


def test_every_subset_decoded_and_nothing_changed(run_module, camera):
    failed, result = info(run_module, check_mode=True)
    assert not failed and result["changed"] is False
    assert [r for r in camera.requests if r[0] != "GET"] == [], "read-only: no login, no write"
    assert result["firmware"] == {"version": "2.6.2", "version_source": "FirmwareVersion"}
    assert result["identity"] == {
        "firmware_version": "2.6.2", "extended_firmware_version": "2.6.2+build.17",
        "device_ident": {"Name": "SEC100", "Version": "2.6.2.0R"}, "order_number": "1144993",
        "type_code": "SEC110-5C9D1SFZZZZ", "vendor": "SICK AG", "device_name": "sensingCam SEC100",
        "location_name": "factory-default", "serial_number": "23450017"}
    assert result["streams"]["video0"] == {"resolution": "1920x1080", "fps": 25, "codec": "h264",
                                           "bitrate_class": 4095, "gop": 50, "rtsp_enabled": True,
                                           "rtsp_path": "/live/0", "rtsp_status": 0}
    assert result["streams"]["video1"]["resolution"] == "640x360"
    assert result["time"] == {"role": "none", "ntp_server": "0.0.0.0", "update_interval_seconds": 60,
                              "time_zone_index": 36, "device_time": camera.variables["LSPdatetime"]}
    assert result["triggers"]["hardware_active_level"] == "high"
    assert result["event_recording"]["enabled"] is True
    assert result["security"] == {"authentication_free_api": False, "https_status": {"enabled": False}}
    assert result["snapshot"] == {"mode": "stream"} and result["system"] == {"software_downgrade": False}
    assert result["health"] == {"device_status": 0, "ftp_status": 0, "ntp_status": 0, "storage_usage": 12,
                                "temperature": 41, "operating_hours": 1234.5, "power_on_count": 17,
                                "rtsp_status": {"video0": 0, "video1": 0}}
    assert result["websocket_url"] == "ws://cam1:8888/ws"
    assert result["unsupported"] == [] and result["known_issues"] == []
    assert result["profile"]["covers_firmware"] is True


def test_secret_variables_are_never_read_or_shown(run_module, camera):
    """Mutation: the `not field.secret` guard removed -> GET /api/FtpPassword is sent and offload has password."""
    failed, result = info(run_module, gather=["offload"])
    assert not failed
    assert "password" not in result["offload"] and result["offload"]["username"] == ""
    assert camera.calls("GET", "/api/FtpPassword") == []


def test_rtsp_urls_from_the_cameras_port_and_paths_whatever_the_firmware(run_module, camera):
    """Firmware 2.5.1 is below the known RTSP issue: the URLs are still there, the issue is listed with its level."""
    camera.variables.update(FirmwareVersion="2.5.1", RtspPort=8554, Video1RtspPath="live/1", DeviceStatusRTSP0=1)
    failed, result = info(run_module, gather=["rtsp"])
    assert not failed
    assert result["rtsp"] == {
        "port": 8554, "port_from_camera": True, "authentication": True,
        "streams": {"video0": {"enabled": True, "path": "/live/0", "status": 1, "url": "rtsp://cam1:8554/live/0"},
                    "video1": {"enabled": False, "path": "live/1", "status": 0, "url": "rtsp://cam1:8554/live/1"}}}
    assert result["known_issues"] == [{"below": "2.6.0", "level": "assumed",
                                       "summary": "RTSP connections reported to drop intermittently (third-party "
                                                  "report); workaround RTSP over TCP"}]
    assert "streams" not in result and "health" not in result
    assert result["identity"] == {"firmware_version": "2.5.1"}


def test_rtsp_port_falls_back_to_554_and_a_missing_path_gives_no_url(run_module, camera):
    del camera.specs["RtspPort"]
    camera.variables["Video0RtspPath"] = ""
    failed, result = info(run_module, gather=["rtsp"])
    assert not failed
    assert result["rtsp"]["port"] == 554 and result["rtsp"]["port_from_camera"] is False
    assert result["rtsp"]["streams"]["video0"]["url"] is None
    assert result["rtsp"]["streams"]["video1"]["url"] == "rtsp://cam1:554/live/1"
    assert result["unsupported"] == [{"key": "rtsp.port", "name": "RtspPort"}]


def test_stream_state_in_health_from_device_status_rtsp(run_module, camera):
    camera.variables.update(DeviceStatusRTSP0=1, DeviceStatusRTSP1=2, OpHours=7)
    failed, result = info(run_module, gather=["health"])
    assert not failed
    assert result["health"]["rtsp_status"] == {"video0": 1, "video1": 2}
    assert result["health"]["operating_hours"] == pytest.approx(0.7)
    assert len(camera.calls("GET", "/api/DeviceStatusRTSP0")) == 1


def test_unknown_name_is_reported_with_its_key_not_a_failure(run_module, camera):
    """Mutation: the not_found branch removed (the error raised) -> the module fails."""
    del camera.specs["CurrentTemperature"]
    failed, result = info(run_module, gather=["health"])
    assert not failed
    assert result["health"]["temperature"] is None
    assert result["unsupported"] == [{"key": "health.temperature", "name": "CurrentTemperature"}]
    assert any("health.temperature" in w for w in result["warnings"])


def test_status_not_found_is_unknown_too_and_the_version_falls_back(run_module, camera):
    camera.inject_status(5)
    failed, result = info(run_module, gather=["identity"])
    assert not failed
    assert result["firmware"] == {"version": "2.6.2+build.17", "version_source": "ExtendedFirmwareVersion"}
    assert result["identity"]["firmware_version"] is None
    assert {"key": "identity.firmware_version", "name": "FirmwareVersion"} in result["unsupported"]


@pytest.mark.parametrize("firmware, extended, ident, version, source", [
    ("2.6.2", "x", {"Version": "y"}, "2.6.2", "FirmwareVersion"),
    ("unreleased", "2.6.2+build.17", {"Version": "y"}, "2.6.2+build.17", "ExtendedFirmwareVersion"),
    ("unreleased", "local", {"Name": "SEC100", "Version": "2.6.2.0R"}, "2.6.2.0R", "DeviceIdent.Version"),
    ("unreleased", "local", {"Name": "SEC100"}, "unreleased", None),
], ids=["firmware-version", "extended", "device-ident", "none-parses"])
def test_firmware_version_source(run_module, camera, firmware, extended, ident, version, source):
    """Mutation: the parse check dropped (the first string taken) -> every case after the first fails."""
    camera.variables.update(FirmwareVersion=firmware, ExtendedFirmwareVersion=extended, DeviceIdent=ident)
    failed, result = info(run_module, gather=["health"])
    assert not failed
    assert result["firmware"] == {"version": version, "version_source": source}
    assert result["profile"]["covers_firmware"] is (None if source is None else True)


def test_unknown_enum_value_is_shown_as_sent(run_module, camera):
    camera.variables["Video0CompressionType"] = 7
    failed, result = info(run_module, gather=["streams"])
    assert not failed and result["streams"]["video0"]["codec"] == 7


def test_firmware_outside_profile_warns(run_module, camera):
    camera.variables["FirmwareVersion"] = "3.1.0"
    failed, result = info(run_module, gather=["identity"])
    assert not failed and result["profile"]["covers_firmware"] is False
    assert any("profile of that firmware line" in w for w in result["warnings"])


def test_unreachable_camera_fails_clearly(run_module, camera):
    camera.unreachable = True
    failed, result = info(run_module)
    assert failed and result["msg"].startswith("Cannot reach the camera at http://cam1:80")


def test_reads_need_no_password(run_module, camera):
    args = module_args(gather=["identity"])
    del args["password"]
    failed, result = run_module(sensingcam_info.main, args)
    assert not failed and result["identity"]["serial_number"] == "23450017"
    assert camera.challenge_calls() == 0


def test_tls_gives_a_wss_url(run_module, monkeypatch):
    network = install_network(monkeypatch)
    network.add("cam1", port=443)
    failed, result = info(run_module, gather=["rtsp"], use_tls=True, validate_certs=False)
    assert not failed and result["websocket_url"] == "wss://cam1:8888/ws"
