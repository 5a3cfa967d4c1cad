"""sensingcam_event_recording against the in-process fake camera (a test double, not a real SEC100, not the camera
simulator).

Real: the module's main() and the collection's module_utils with the shipped device profile. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py).
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_event_recording


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def run(run_module, check=False, diff=False, **options):
    return run_module(sensingcam_event_recording.main, module_args(**options), check_mode=check, diff=diff)


def test_check_apply_idempotent_change(run_module, camera):
    """Recording and both triggers: one module option spans several device variables (hardware_trigger)."""
    wanted = dict(enabled=True, pre_trigger_seconds=8, post_trigger_seconds=20, naming="line3",
                  hardware_trigger=dict(enabled=True, active_level="low", delay_ms=20),
                  tcpip_trigger=dict(enabled=True, port=2112))
    failed, checked = run(run_module, check=True, diff=True, **wanted)
    assert not failed and checked["changed"] and camera.writes() == []
    assert checked["diff"]["before"]["hardware_trigger"] == {"enabled": False, "active_level": "high", "delay_ms": 0}
    assert checked["diff"]["after"]["hardware_trigger"] == {"enabled": True, "active_level": "low", "delay_ms": 20}

    failed, applied = run(run_module, **wanted)
    assert not failed and applied["changed"]
    assert sorted(camera.writes()) == [
        ("EventEnableHardwareTrigger", 1), ("EventNaming", "line3"), ("EventTimeAfterTrigger", 20),
        ("EventTimeBeforeTrigger", 8), ("HardwareTriggerActiveLevel", 0), ("HardwareTriggerTonDelay", 20),
        ("SetTcpIpTriggerEnabled", 1), ("TcpIpTriggerPort", 2112)]
    assert applied["settings"]["tcpip_trigger"] == {"enabled": True, "port": 2112}
    assert applied["changed_settings"] == ["hardware_trigger.active_level", "hardware_trigger.delay_ms",
                                           "hardware_trigger.enabled", "naming", "post_trigger_seconds",
                                           "pre_trigger_seconds", "tcpip_trigger.enabled", "tcpip_trigger.port"]

    failed, again = run(run_module, **wanted)
    assert not failed and not again["changed"] and len(camera.writes()) == 8

    failed, changed = run(run_module, hardware_trigger=dict(active_level="high"))
    assert not failed and changed["changed"] and changed["changed_settings"] == ["hardware_trigger.active_level"]
    assert camera.writes()[8:] == [("HardwareTriggerActiveLevel", 1)]
    assert changed["settings"] == {"hardware_trigger": {"active_level": "high"}}


def test_only_the_suboptions_given_are_read_and_compared(run_module, camera):
    failed, result = run(run_module, tcpip_trigger=dict(enabled=True))
    assert not failed and camera.writes() == [("SetTcpIpTriggerEnabled", 1)]
    read = [path for method, path, *_rest in camera.requests if method == "GET"]
    assert read == ["/api/SetTcpIpTriggerEnabled", "/api/SetTcpIpTriggerEnabled"], "read, then re-read after the write"


@pytest.mark.parametrize("options, words", [
    (dict(pre_trigger_seconds=61), "pre_trigger_seconds=61 is above the maximum 60"),
    (dict(post_trigger_seconds=-1), "post_trigger_seconds=-1 is below the minimum 0"),
    (dict(hardware_trigger=dict(delay_ms=60001)), "hardware_trigger.delay_ms=60001 is above the maximum 60000"),
    (dict(tcpip_trigger=dict(port=0)), "tcpip_trigger.port=0 is below the minimum 1"),
    (dict(naming="x" * 129), "naming="),
])
def test_values_outside_the_profile_are_refused_before_any_request(run_module, camera, options, words):
    failed, result = run(run_module, **options)
    assert failed and words in result["msg"] and "Nothing was sent" in result["msg"]
    assert camera.requests == []


@pytest.mark.parametrize("option, value", [("duration_seconds", 30), ("trigger_source", "mqtt")])
def test_the_options_the_camera_does_not_have_are_gone(run_module, camera, option, value):
    failed, result = run(run_module, **{option: value})
    assert failed and option in result["msg"] and "Unsupported parameters" in result["msg"]
    assert camera.requests == []


def test_active_level_takes_only_low_or_high(run_module, camera):
    failed, result = run(run_module, hardware_trigger=dict(active_level="rising"))
    assert failed and "active_level" in result["msg"] and "low, high" in result["msg"]
    assert camera.requests == []
