"""sensingcam_offload against the in-process fake camera (a test double, not a real SEC100, not the camera simulator).

Real: the module's main(), the collection's module_utils with the shipped device profile and the secret state files
(in a fresh temporary directory that install_network sets). Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py).
"""

import json
import os

import pytest
from sensingcam_fake_camera import PASSWORD, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_offload

SERVER_PASSWORD = "Clip-Server-Secret-93"  # distinctive, so a test can prove it never shows up
NEW_PASSWORD = "Clip-Server-Secret-94"


@pytest.fixture
def network(monkeypatch):
    network = install_network(monkeypatch)
    network.add("cam1")
    return network


@pytest.fixture
def camera(network):
    return network.cameras["cam1:80"]


def run(run_module, check=False, diff=True, **options):
    return run_module(sensingcam_offload.main, module_args(**options), check_mode=check, diff=diff)


def password_writes(camera):
    return [value for name, value in camera.writes() if name == "FtpPassword"]


def assert_no_secret(result):
    text = json.dumps(result)
    assert SERVER_PASSWORD not in text and NEW_PASSWORD not in text and PASSWORD not in text


WANTED = dict(protocol="sftp", server="192.168.136.20", server_port=22, directory="/clips/line3",
              server_username="sec100", server_password=SERVER_PASSWORD, passive_mode=False, fallback_mode=True,
              samba_enabled=False)


def test_check_apply_idempotent_change(run_module, camera):
    failed, checked = run(run_module, check=True, **WANTED)
    assert not failed, checked["msg"]
    assert checked["changed"] and camera.writes() == []
    assert checked["diff"]["before"]["server"] == "0.0.0.0" and checked["diff"]["after"]["server"] == "192.168.136.20"
    assert_no_secret(checked)

    failed, applied = run(run_module, **WANTED)
    assert not failed and applied["changed"]
    assert sorted(camera.writes()) == [
        ("FtpEnableFallbackMode", 1), ("FtpEnablePassiveMode", 0), ("FtpPassword", SERVER_PASSWORD), ("FtpPort", 22),
        ("FtpProtocol", 1), ("FtpServerAddress", [192, 168, 136, 20]), ("FtpServerDirectory", "/clips/line3"),
        ("FtpUserName", "sec100")]
    assert applied["settings"]["server_password"] == "******** (changed)"
    assert_no_secret(applied)

    failed, again = run(run_module, **WANTED)
    assert not failed and not again["changed"] and len(camera.writes()) == 8
    assert again["settings"]["server_password"] == "********"
    assert_no_secret(again)

    failed, changed = run(run_module, directory="/clips/line4")
    assert not failed and changed["changed"] and camera.writes()[8:] == [("FtpServerDirectory", "/clips/line4")]


def test_write_only_password_same_twice_is_no_change_new_one_is_one_write(run_module, camera):
    assert run(run_module, server_password=SERVER_PASSWORD)[1]["changed"]
    assert password_writes(camera) == [SERVER_PASSWORD]
    failed, same = run(run_module, server_password=SERVER_PASSWORD)
    assert not failed and not same["changed"] and password_writes(camera) == [SERVER_PASSWORD]
    failed, new = run(run_module, server_password=NEW_PASSWORD)
    assert not failed and new["changed"] and new["changed_settings"] == ["server_password"]
    assert password_writes(camera) == [SERVER_PASSWORD, NEW_PASSWORD]
    assert new["diff"] == {"before": {"server_password": "********"},
                           "after": {"server_password": "******** (changed)"}}
    assert_no_secret(new)
    assert not [path for method, path, *_rest in camera.requests if method == "GET" and path.endswith("FtpPassword")]


def test_check_mode_with_a_new_password_writes_and_records_nothing(run_module, camera, network):
    failed, checked = run(run_module, check=True, server_password=SERVER_PASSWORD)
    assert not failed and checked["changed"] and camera.writes() == []
    assert os.listdir(network.state_dir) == []
    assert run(run_module, server_password=SERVER_PASSWORD)[1]["changed"], "check mode must not record the hash"


def test_the_hash_file_holds_no_password(run_module, camera, network):
    run(run_module, server_password=SERVER_PASSWORD)
    files = os.listdir(network.state_dir)
    assert len(files) == 1
    with open(os.path.join(network.state_dir, files[0])) as handle:
        content = handle.read()
    assert SERVER_PASSWORD not in content and "FtpPassword" in files[0]


def test_connection_test_runs_after_the_writes_and_not_in_check_mode(run_module, camera):
    failed, checked = run(run_module, check=True, server="192.168.136.21", test_connection=True)
    assert not failed and "connection_test" not in checked and camera.method_calls == []
    failed, result = run(run_module, server="192.168.136.21", test_connection=True)
    assert not failed and result["connection_test"] == "ok"
    assert camera.method_calls == [("FtpConnectToServer", None)]
    order = [path for method, path, *_rest in camera.requests if method == "POST" and "getChallenge" not in path]
    assert order == ["/api/FtpServerAddress", "/api/FtpConnectToServer"]


def test_a_failed_connection_test_fails_with_the_cameras_answer(run_module, camera):
    camera.method_results["FtpConnectToServer"] = 2
    failed, result = run(run_module, server="192.168.136.21", server_password=SERVER_PASSWORD, test_connection=True)
    assert failed and "could not reach the offload server" in result["msg"] and "busy" in result["msg"]
    assert SERVER_PASSWORD not in result["msg"]
    assert camera.variables["FtpServerAddress"] == [192, 168, 136, 21], "the settings were written before the test"


def test_clear_text_ftp_warns(run_module, camera):
    failed, result = run(run_module, protocol="ftp")
    assert not failed and any("clear text" in warning for warning in result["warnings"])
    failed, result = run(run_module, protocol="sftp")
    assert not failed and not any("clear text" in warning for warning in result["warnings"])


@pytest.mark.parametrize("options, words", [
    (dict(server="files.plant.local"), "server='files.plant.local' is not an IPv4 address like 192.168.0.10"),
    (dict(server_port=0), "server_port=0 is below the minimum 1"),
    (dict(server_port=65536), "server_port=65536 is above the maximum 65535"),
])
def test_values_outside_the_profile_are_refused_before_any_request(run_module, camera, options, words):
    failed, result = run(run_module, **options)
    assert failed and words in result["msg"] and "Nothing was sent" in result["msg"]
    assert camera.requests == []


def test_a_refused_password_never_shows(run_module, camera):
    failed, result = run(run_module, server_password=SERVER_PASSWORD * 10)
    assert failed and "server_password=" in result["msg"] and "longer than the maximum" in result["msg"]
    assert SERVER_PASSWORD not in json.dumps(result)
    assert camera.requests == []


def test_secret_state_dir_says_where_the_hash_is_kept(run_module, camera, tmp_path):
    state = tmp_path / "state"
    failed, result = run(run_module, server_password=SERVER_PASSWORD, secret_state_dir=str(state))
    assert not failed, result["msg"]
    assert [path.name for path in state.iterdir()] == [name for name in os.listdir(state) if "FtpPassword" in name]
    assert len(os.listdir(state)) == 1
    assert not run(run_module, server_password=SERVER_PASSWORD, secret_state_dir=str(state))[1]["changed"]
