"""sensingcam_system against the in-process fake camera (a test double: not a real SEC100, not the camera simulator).

The fake answers RebootDevice and LoadFactoryDefaults (profile methods.reboot / methods.factory_defaults); the tests
make it go away after a reboot (refused GETs) or count a power-on. Time does not pass for real: the module's clock
and sleep are replaced.

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import pytest
from sensingcam_fake_camera import PASSWORD, install_clock, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_system


@pytest.fixture
def clock(monkeypatch):
    return install_clock(monkeypatch, sensingcam_system.SystemActionModule)


@pytest.fixture
def camera(monkeypatch, clock):
    return install_network(monkeypatch).add("cam1")


def goes_away_on_reboot(camera, polls=2, counts_power_on=False):
    """After RebootDevice the camera refuses the next ``polls`` GETs (it is down), then answers again."""
    effect = camera._method_effect

    def reboot_effect(name, data):
        result = effect(name, data)
        if name == "RebootDevice":
            camera.fail_next_gets = polls
            if counts_power_on:
                camera.variables["PowerOnCnt"] += 1
        return result
    camera._method_effect = reboot_effect


def args(**kwargs):
    values = module_args(action="reboot", poll_interval=5, reboot_timeout=60)
    values.update(kwargs)
    return values


@pytest.mark.parametrize("check_mode", [False, True], ids=["run", "check"])
def test_factory_defaults_without_confirmation_is_refused_before_any_request(run_module, camera, check_mode):
    """Mutation tried: the confirmation check removed: LoadFactoryDefaults was called and the camera's settings
    reset (run) / check mode reported "Would reset"; both cases failed."""
    camera.variables["LocationName"] = "line3-st10"
    failed, result = run_module(sensingcam_system.main, args(action="factory_defaults"), check_mode=check_mode)
    assert failed, result
    assert "confirm_factory_defaults: true" in result["msg"] and "Nothing was sent" in result["msg"]
    assert camera.requests == []
    assert camera.value("LocationName") == "line3-st10"


def test_factory_defaults_with_confirmation_resets_and_does_not_wait_by_default(run_module, camera, clock):
    camera.variables["LocationName"] = "line3-st10"
    failed, result = run_module(sensingcam_system.main, args(action="factory_defaults",
                                                             confirm_factory_defaults=True))
    assert not failed and result["changed"], result
    assert result["method"] == "LoadFactoryDefaults" and result["action"] == "factory_defaults"
    assert camera.method_calls == [("LoadFactoryDefaults", None)]
    assert camera.value("LocationName") == "factory-default"
    assert clock.sleeps == []


def test_check_mode_runs_nothing_and_says_what_would_run(run_module, camera):
    failed, result = run_module(sensingcam_system.main, args(), check_mode=True)
    assert not failed and result["changed"], result
    assert result["msg"] == "Would reboot the camera (RebootDevice) and wait until it answers again."
    assert camera.requests == []


def test_reboot_waits_until_the_camera_answers_again(run_module, camera, clock):
    """Mutation tried: wait_until_back returning at once after the call: elapsed_seconds 0 and no polls; this test
    failed."""
    goes_away_on_reboot(camera, polls=3)
    failed, result = run_module(sensingcam_system.main, args())
    assert not failed and result["changed"], result
    assert camera.method_calls == [("RebootDevice", None)]
    assert result["msg"] == "Called RebootDevice; the camera answers again."
    assert result["elapsed_seconds"] == 20.0, "three refused polls, the fourth answers"
    assert PASSWORD not in str(result)


def test_a_reboot_faster_than_a_poll_is_seen_by_the_power_on_counter(run_module, camera, clock):
    goes_away_on_reboot(camera, polls=0, counts_power_on=True)
    failed, result = run_module(sensingcam_system.main, args())
    assert not failed and result["changed"], result
    assert result["elapsed_seconds"] == 5.0


def test_a_camera_that_never_restarts_fails_after_the_profile_timeout(run_module, camera, clock):
    """Neither away nor a new power-on count: after persistence.reboot_timeout_seconds (300) the module says the
    camera may not have restarted.

    Mutation tried: `went_away or restarted` -> True: the module reported success at the first poll; this test
    failed."""
    values = args(poll_interval=30)
    del values["reboot_timeout"]
    failed, result = run_module(sensingcam_system.main, values)
    assert failed and result["changed"], result
    assert "answered throughout the 300 s after RebootDevice" in result["msg"]
    assert 300 <= clock.now - 1000.0 <= 330


def test_a_camera_that_does_not_come_back_fails_naming_the_timeout(run_module, camera, clock):
    goes_away_on_reboot(camera, polls=10_000)
    failed, result = run_module(sensingcam_system.main, args(reboot_timeout=60))
    assert failed and "did not answer again within 60 s after RebootDevice" in result["msg"]


def test_a_refused_method_fails_without_waiting(run_module, camera, clock):
    camera.method_results["RebootDevice"] = 2
    failed, result = run_module(sensingcam_system.main, args())
    assert failed and "The call RebootDevice to reboot the camera failed" in result["msg"]
    assert "busy" in result["msg"] and clock.sleeps == []


def test_reboot_without_wait_returns_after_the_call(run_module, camera, clock):
    failed, result = run_module(sensingcam_system.main, args(wait=False))
    assert not failed and result["changed"]
    assert result["msg"] == "Called RebootDevice to reboot the camera."
    assert camera.method_calls == [("RebootDevice", None)] and clock.sleeps == []


def test_factory_defaults_with_wait_returns_once_the_camera_answers(run_module, camera, clock):
    """A factory reset need not restart the camera: with wait it is enough that the camera answers.
    Mutation tried: must_restart always true: the module waited for a restart until the timeout; this test failed."""
    failed, result = run_module(sensingcam_system.main, args(action="factory_defaults", confirm_factory_defaults=True,
                                                             wait=True))
    assert not failed and result["changed"], result
    assert result["elapsed_seconds"] == 5.0


@pytest.mark.parametrize("option", ["poll_interval", "reboot_timeout"])
def test_a_wait_option_of_zero_is_refused_before_any_request(run_module, camera, option):
    """Mutation tried: check_wait_options not called: the reboot ran; this test failed."""
    failed, result = run_module(sensingcam_system.main, args(**{option: 0}))
    assert failed and f"{option} must be a number of seconds above 0" in result["msg"]
    assert camera.requests == []
