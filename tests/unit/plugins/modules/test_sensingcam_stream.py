"""sensingcam_stream against the in-process fake camera (not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_stream


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def test_change_one_field_keeps_the_others(run_module, camera):
    failed, result = run_module(sensingcam_stream.main, module_args(stream="primary", fps=15, gop=30), diff=True)
    assert not failed and result["changed"]
    assert result["changed_settings"] == ["fps", "gop"]
    assert camera.variables["StreamProfilePrimary"] == {
        "Codec": "h264", "Width": 1920, "Height": 1080, "FrameRate": 15, "Bitrate": 4096, "GopLength": 30,
        "Vendor": "kept-as-is"}
    assert result["diff"]["before"]["fps"] == 25 and result["diff"]["after"]["fps"] == 15
    assert camera.variables["StreamProfileSecondary"]["FrameRate"] == 10


def test_idempotent_second_run(run_module, camera):
    args = module_args(stream="secondary", codec="h264", width=640, height=360, fps=5)
    assert run_module(sensingcam_stream.main, args)[1]["changed"]
    writes = len(camera.writes())
    failed, result = run_module(sensingcam_stream.main, args)
    assert not failed and not result["changed"] and len(camera.writes()) == writes
    assert result["settings"]["height"] == 360


def test_check_mode_writes_nothing(run_module, camera):
    failed, result = run_module(sensingcam_stream.main, module_args(stream="primary", codec="h265"), check_mode=True)
    assert not failed and result["changed"] and result["settings"]["codec"] == "h265"
    assert camera.writes() == []
    assert camera.variables["StreamProfilePrimary"]["Codec"] == "h264"


@pytest.mark.parametrize("option,value,words", [
    ("fps", 60, "fps=60 is above the maximum 30"),
    ("codec", "vp9", "codec='vp9' is not one of h264, h265, mjpeg"),
    ("bitrate_kbps", 100, "bitrate_kbps=100 is below the minimum 256"),
    ("width", 0, "width=0 is below the minimum 1"),
])
def test_values_outside_the_profile_are_refused_before_contact(run_module, camera, option, value, words):
    failed, result = run_module(sensingcam_stream.main, module_args(stream="primary", **{option: value}))
    assert failed and words in result["msg"] and "streams.allowed" in result["msg"]
    assert camera.requests == []


def test_stream_is_required(run_module, camera):
    failed, result = run_module(sensingcam_stream.main, module_args(fps=5))
    assert failed and "stream" in result["msg"]


def test_device_reporting_numbers_as_strings_is_not_a_change(run_module, camera):
    camera.variables["StreamProfilePrimary"]["FrameRate"] = "25"
    failed, result = run_module(sensingcam_stream.main, module_args(stream="primary", fps=25))
    assert not failed and not result["changed"]
