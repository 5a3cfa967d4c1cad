"""sensingcam_config against the in-process fake camera (not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import pytest
from sensingcam_fake_camera import PASSWORD, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_config


@pytest.fixture
def camera(monkeypatch):
    network = install_network(monkeypatch)
    return network.add("cam1")


WANTED = {"device_name": "line3-station2", "ntp_enabled": True, "ntp_servers": ["10.0.0.1", "10.0.0.2"],
          "time_zone": "Europe/Berlin"}


def test_check_mode_predicts_change_and_writes_nothing(run_module, camera):
    failed, result = run_module(sensingcam_config.main, module_args(**WANTED), check_mode=True, diff=True)
    assert not failed and result["changed"]
    assert camera.writes() == []
    assert result["diff"]["before"]["time_zone"] == "UTC"
    assert result["diff"]["after"]["time_zone"] == "Europe/Berlin"
    assert result["changed_settings"] == ["device_name", "ntp_enabled", "ntp_servers", "time_zone"]


def test_apply_then_rerun_is_idempotent(run_module, camera):
    failed, result = run_module(sensingcam_config.main, module_args(**WANTED))
    assert not failed and result["changed"]
    assert camera.variables["LocationName"] == "line3-station2"
    assert camera.variables["NtpServers"] == ["10.0.0.1", "10.0.0.2"]
    assert camera.variables["NtpEnabled"] is True
    assert result["settings"] == WANTED
    writes = len(camera.writes())
    assert writes == 4

    failed, again = run_module(sensingcam_config.main, module_args(**WANTED), diff=True)
    assert not failed and not again["changed"]
    assert len(camera.writes()) == writes
    assert again["diff"]["before"] == again["diff"]["after"]


def test_only_set_options_are_read_and_written(run_module, camera):
    failed, result = run_module(sensingcam_config.main, module_args(time_zone="Europe/Berlin"))
    assert not failed and result["changed_settings"] == ["time_zone"]
    touched = {request[1] for request in camera.requests if request[1] != "/api/getChallenge"}
    assert touched == {"/api/TimeZone"}


def test_ntp_server_order_counts(run_module, camera):
    camera.variables["NtpServers"] = ["10.0.0.2", "10.0.0.1"]
    failed, result = run_module(sensingcam_config.main, module_args(ntp_servers=["10.0.0.1", "10.0.0.2"]))
    assert result["changed"]


def test_read_only_in_profile_refuses(run_module, camera, tmp_path):
    import yaml
    from sensingcam_fake_camera import PROFILE_PATH

    with open(PROFILE_PATH) as handle:
        data = yaml.safe_load(handle)
    data["time"]["time_zone"]["access"] = "read"
    profile = tmp_path / "p.yml"
    profile.write_text(yaml.safe_dump(data))
    failed, result = run_module(sensingcam_config.main, module_args(profile=str(profile), time_zone="Europe/Berlin"))
    assert failed and "read-only" in result["msg"] and "time.time_zone" in result["msg"]
    assert camera.writes() == []


def test_wrong_password_fails_without_echoing_it(run_module, camera):
    camera.users["Service"] = "other"
    failed, result = run_module(sensingcam_config.main, module_args(device_name="x"))
    assert failed and "wrong user name or password" in result["msg"]
    assert PASSWORD not in str(result)


def test_missing_profile_names_the_option_and_variable(run_module, camera, monkeypatch):
    monkeypatch.delenv("SENSINGCAM_PROFILE", raising=False)
    args = module_args(device_name="x")
    del args["profile"]
    failed, result = run_module(sensingcam_config.main, args)
    assert failed and "`profile` option" in result["msg"] and "SENSINGCAM_PROFILE" in result["msg"]


def test_profile_from_environment(run_module, camera, monkeypatch):
    from sensingcam_fake_camera import PROFILE_PATH

    monkeypatch.setenv("SENSINGCAM_PROFILE", PROFILE_PATH)
    args = module_args(device_name="x")
    del args["profile"]
    failed, result = run_module(sensingcam_config.main, args)
    assert not failed and result["changed"]


def test_unknown_variable_tells_which_profile_key_to_fix(run_module, camera):
    del camera.variables["TimeZone"]
    failed, result = run_module(sensingcam_config.main, module_args(time_zone="Europe/Berlin"))
    assert failed and "time.time_zone.name" in result["msg"] and "sec100-fw2.yml" in result["msg"]
