"""sensingcam_event_recording against the in-process fake camera (not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import pytest
from sensingcam_fake_camera import install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_event_recording


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def test_check_apply_rerun(run_module, camera):
    args = module_args(pre_trigger_seconds=8, post_trigger_seconds=20, trigger_source="mqtt")
    failed, check = run_module(sensingcam_event_recording.main, args, check_mode=True, diff=True)
    assert not failed and check["changed"] and camera.writes() == []
    assert check["diff"]["after"]["trigger_source"] == "mqtt"

    failed, applied = run_module(sensingcam_event_recording.main, args)
    assert not failed and applied["changed"]
    assert camera.variables["EventRecording"] == {"PreTrigger": 8, "PostTrigger": 20, "Duration": 30,
                                                  "TriggerSource": "mqtt"}

    failed, again = run_module(sensingcam_event_recording.main, args)
    assert not failed and not again["changed"]


@pytest.mark.parametrize("args,words", [
    ({"pre_trigger_seconds": 31}, "pre_trigger_seconds=31 is above the maximum 30"),
    ({"duration_seconds": 0}, "duration_seconds=0 is below the minimum 1"),
    ({"trigger_source": "button"}, "trigger_source='button' is not one of software, digital_input, mqtt"),
])
def test_profile_limits(run_module, camera, args, words):
    failed, result = run_module(sensingcam_event_recording.main, module_args(**args))
    assert failed and words in result["msg"]
    assert camera.requests == []


def test_user_level_too_low(run_module, camera):
    camera.write_users = set()
    failed, result = run_module(sensingcam_event_recording.main, module_args(post_trigger_seconds=30))
    assert failed and "HTTP 403" in result["msg"] and "user level is too low" in result["msg"]


def test_nothing_set_changes_nothing(run_module, camera):
    failed, result = run_module(sensingcam_event_recording.main, module_args())
    assert not failed and not result["changed"] and camera.writes() == []
    assert result["settings"]["duration_seconds"] == 30
