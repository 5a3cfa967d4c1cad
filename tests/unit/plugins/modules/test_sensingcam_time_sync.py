"""sensingcam_time_sync against the in-process fake camera (a test double, not a real SEC100, not the camera
simulator).

Real: the module's main() and the collection's module_utils with the shipped device profile. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py).
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_time_sync


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def run(run_module, check=False, diff=False, **options):
    return run_module(sensingcam_time_sync.main, module_args(**options), check_mode=check, diff=diff)


WANTED = dict(role="ntp", ntp_server="192.168.136.1", update_interval_seconds=600, time_zone_index=37)


def test_check_apply_idempotent_change(run_module, camera):
    failed, checked = run(run_module, check=True, diff=True, **WANTED)
    assert not failed and checked["changed"] and camera.writes() == []
    assert checked["diff"]["before"] == {"role": "none", "ntp_server": "0.0.0.0", "update_interval_seconds": 60,
                                         "time_zone_index": 36}
    failed, applied = run(run_module, **WANTED)
    assert not failed and applied["changed"] and applied["settings"] == WANTED
    assert sorted(camera.writes()) == [("TSCRole", 1), ("TSCTCSrvAddr", [192, 168, 136, 1]), ("TSCTCtimezone", 37),
                                       ("TSCTCupdatetime", 600)]
    failed, again = run(run_module, **WANTED)
    assert not failed and not again["changed"] and len(camera.writes()) == 4
    failed, changed = run(run_module, role="ptp")
    assert not failed and changed["changed"] and camera.writes()[4:] == [("TSCRole", 3)]


def test_the_camera_time_is_reported(run_module, camera):
    failed, result = run(run_module, role="none")
    assert not failed and result["device_time"] == camera.variables["LSPdatetime"]


@pytest.mark.parametrize("options, words", [
    (dict(ntp_server="pool.ntp.org"), "ntp_server='pool.ntp.org' is not an IPv4 address like 192.168.0.10"),
    (dict(ntp_server="10.0.0.300"), "ntp_server='10.0.0.300' is not an IPv4 address"),
    (dict(ntp_server="fd00::1"), "ntp_server='fd00::1' is not an IPv4 address"),
    (dict(update_interval_seconds=0), "update_interval_seconds=0 is below the minimum 1"),
    (dict(update_interval_seconds=3601), "update_interval_seconds=3601 is above the maximum 3600"),
    (dict(time_zone_index=256), "time_zone_index=256 is above the maximum 255"),
])
def test_values_outside_the_profile_are_refused_before_any_request(run_module, camera, options, words):
    failed, result = run(run_module, **options)
    assert failed and words in result["msg"] and "Nothing was sent" in result["msg"]
    assert camera.requests == []


def test_role_takes_only_none_ntp_ptp(run_module, camera):
    failed, result = run(run_module, role="gps")
    assert failed and "role" in result["msg"] and "none, ntp, ptp" in result["msg"]
    assert camera.requests == []
