"""sensingcam_config against the in-process fake camera (a test double, not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils with the shipped device profile. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py).
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_config


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def run(run_module, check=False, diff=False, **options):
    return run_module(sensingcam_config.main, module_args(**options), check_mode=check, diff=diff)


def test_check_apply_idempotent_change(run_module, camera):
    failed, checked = run(run_module, check=True, diff=True, location_name="line3-st2", snapshot_mode="snapshot")
    assert not failed and checked["changed"] and camera.writes() == []
    assert checked["diff"] == {"before": {"location_name": "factory-default", "snapshot_mode": "stream"},
                               "after": {"location_name": "line3-st2", "snapshot_mode": "snapshot"}}
    failed, applied = run(run_module, location_name="line3-st2", snapshot_mode="snapshot")
    assert not failed and applied["changed"]
    assert sorted(camera.writes()) == [("LocationName", "line3-st2"), ("SnapshotMode", 1)]
    failed, again = run(run_module, location_name="line3-st2", snapshot_mode="snapshot")
    assert not failed and not again["changed"] and len(camera.writes()) == 2
    failed, changed = run(run_module, snapshot_mode="stream")
    assert not failed and changed["changed"] and camera.writes()[2:] == [("SnapshotMode", 0)]


def test_device_name_is_an_alias_of_location_name(run_module, camera):
    failed, result = run(run_module, device_name="line1-st10")
    assert not failed and result["settings"] == {"location_name": "line1-st10"}
    assert camera.writes() == [("LocationName", "line1-st10")]
    assert camera.variables["DeviceName"] == "sensingCam SEC100", "the read-only DeviceName is not touched"


@pytest.mark.parametrize("option, value", [("ntp_enabled", True), ("ntp_servers", ["10.0.0.1"]),
                                           ("time_zone", "Europe/Berlin")])
def test_the_time_options_moved_to_sensingcam_time_sync(run_module, camera, option, value):
    failed, result = run(run_module, **{option: value})
    assert failed and option in result["msg"] and "Unsupported parameters" in result["msg"]
    assert camera.requests == []


def test_a_name_longer_than_the_profile_allows_is_refused_before_any_request(run_module, camera):
    failed, result = run(run_module, location_name="x" * 129)
    assert failed and "location_name=" in result["msg"] and "longer than the maximum of 128" in result["msg"]
    assert camera.requests == []


def test_snapshot_mode_takes_only_stream_or_snapshot(run_module, camera):
    failed, result = run(run_module, snapshot_mode="video")
    assert failed and "snapshot_mode" in result["msg"] and "stream, snapshot" in result["msg"]
    assert camera.requests == []
