"""Unit tests of sensingcam_module.py: SensingCamModule's setup and FieldSettingsModule's cycle (validate before any
request, read only the set options, compare, check mode, one POST per change, the persistence step, re-read,
diff) and the write-only secret state (SecretState).

The modules here are small test modules built on the base classes; they run through Ansible's AnsibleModule with
the run_module fixture (tests/unit/conftest.py) against the in-process fake camera of
tests/unit/sensingcam_fake_camera.py, a test double, not a real SEC100 and not the camera simulator.
"""

import copy
import json
import os
import stat
from pathlib import Path

import pytest
import yaml
from sensingcam_fake_camera import PROFILE_PATH, FakeCamera, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.module_utils import sensingcam_module
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import (
    FieldSettingsModule,
    SecretState,
    SensingCamModule,
)

SECRET = "Ftp-Secret-4711"
SHIPPED_ITERATIONS = sensingcam_module.SECRET_HASH_ITERATIONS
SHIPPED_STATE_DIR = sensingcam_module.SECRET_STATE_DIR


class StreamModule(FieldSettingsModule):
    """Options of stream video0 (a subset), as a stream module would declare them."""

    argument_spec = dict(
        resolution=dict(type="str"), fps=dict(type="int"), codec=dict(type="str"), rtsp_enabled=dict(type="bool"),
        rtsp_path=dict(type="str"),
    )
    settings = ("resolution", "fps", "codec", "rtsp_enabled", "rtsp_path")

    def option_fields(self):
        return self.profile.group("streams", "video0")


class OffloadModule(FieldSettingsModule):
    """FTP offload with its write-only password."""

    argument_spec = dict(server=dict(type="str"), ftp_password=dict(type="str", no_log=True),
                         username=dict(type="str"))
    settings = ("server", "ftp_password")
    secret_state = True

    def option_fields(self):
        group = self.profile.group("offload")
        return {"server": group["server"], "ftp_password": group["password"]}


class MissingFieldModule(FieldSettingsModule):
    argument_spec = dict(zoom=dict(type="int"))
    settings = ("zoom",)

    def option_fields(self):
        return {}


class ActionModule(SensingCamModule):
    connect = True

    def execute(self):
        self.exit(version=self.client.read(self.variable("identity", "firmware_version")))


def stream_main():
    StreamModule().run()


def offload_main():
    OffloadModule().run()


@pytest.fixture
def network(monkeypatch):
    return install_network(monkeypatch)


@pytest.fixture
def camera(network):
    return network.add("cam1")


def offload_args(state_dir, **kwargs):
    args = dict(secret_state_dir=str(state_dir), server="10.0.0.9", ftp_password=SECRET)
    args.update(kwargs)
    return module_args(**args)


def write_profile(tmp_path, edit):
    with open(PROFILE_PATH) as handle:
        data = yaml.safe_load(handle)
    edit(data)
    path = tmp_path / "profile.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


# -- SensingCamModule -----------------------------------------------------------------------------------------------

def test_no_profile_fails_with_the_fix(run_module, camera, monkeypatch):
    monkeypatch.delenv("SENSINGCAM_PROFILE", raising=False)
    args = module_args()
    del args["profile"]
    failed, result = run_module(lambda: ActionModule().run(), args)
    assert failed and "set the `profile` option" in result["msg"] and camera.requests == []


def test_format_1_profile_fails_with_the_retirement_message(run_module, camera, tmp_path):
    old = tmp_path / "old.yml"
    old.write_text("profile_format: 1\nname: sec100-fw2-old\n")
    failed, result = run_module(lambda: ActionModule().run(), module_args(profile=str(old)))
    assert failed and "retired" in result["msg"] and "sec100-fw2.yml" in result["msg"]
    assert camera.requests == []


def test_action_module_reads_through_the_client(run_module, camera):
    failed, result = run_module(lambda: ActionModule().run(), module_args())
    assert not failed and result["version"] == "2.6.2"


# -- FieldSettingsModule: the cycle ------------------------------------------------------------------------------------

def test_change_then_idempotent_rerun(run_module, camera):
    failed, result = run_module(stream_main, module_args(resolution="1280x720", fps=25, codec="h265"))
    assert not failed and result["changed"] is True
    assert result["changed_settings"] == ["codec", "resolution"]
    assert result["settings"] == {"resolution": "1280x720", "fps": 25, "codec": "h265"}
    assert camera.writes() == [("Video0CompressionType", 1), ("Video0Resolution", 4)]
    failed, result = run_module(stream_main, module_args(resolution="1280x720", fps=25, codec="h265"))
    assert not failed and result["changed"] is False and result["changed_settings"] == []
    assert len(camera.writes()) == 2, "the second run writes nothing"


def test_only_the_set_options_are_read(run_module, camera):
    run_module(stream_main, module_args(fps=25))
    assert [r[1] for r in camera.requests] == ["/api/Video0FrameRate"]


@pytest.mark.parametrize("args, message", [
    ({"fps": 61}, "fps=61 is above the maximum 60; allowed: an integer from 1 to 60"),
    ({"resolution": "4k"}, "resolution='4k' is not one of 240x134, 320x180, 480x270, 640x360, 1280x720, "
                           "1920x1080, 2880x1616"),
    ({"rtsp_path": "/live/9"}, "rtsp_path: the device profile"),
])
def test_invalid_options_fail_before_any_request(run_module, camera, args, message):
    """Mutation: the check moved after the reads -> requests reach the camera before the failure."""
    failed, result = run_module(stream_main, module_args(**args))
    assert failed and message in result["msg"] and "Nothing was sent" in result["msg"]
    assert camera.requests == []


def test_allowed_values_are_named_once(run_module, camera):
    failed, result = run_module(stream_main, module_args(codec="mjpeg"))
    assert result["msg"].count("h264, h265") == 1 and "allowed:" not in result["msg"]


def test_every_invalid_option_is_named_at_once(run_module, camera):
    failed, result = run_module(stream_main, module_args(fps=0, codec="mjpeg"))
    assert failed and "fps=0 is below the minimum 1" in result["msg"] and "codec='mjpeg'" in result["msg"]


def test_check_mode_predicts_and_writes_nothing(run_module, camera):
    failed, result = run_module(stream_main, module_args(fps=30, rtsp_enabled=False), check_mode=True, diff=True)
    assert not failed and result["changed"] is True
    assert result["settings"] == {"fps": 30, "rtsp_enabled": False}
    assert result["diff"] == {"before": {"fps": 25, "rtsp_enabled": True}, "after": {"fps": 30, "rtsp_enabled": False}}
    assert camera.writes() == [] and camera.challenge_calls() == 0


def test_diff_mode_after_a_change(run_module, camera):
    failed, result = run_module(stream_main, module_args(fps=30), diff=True)
    assert result["diff"] == {"before": {"fps": 25}, "after": {"fps": 30}}


def test_a_camera_that_keeps_another_value_gives_a_warning(run_module, network):
    class RoundingCamera(FakeCamera):
        def _api(self, method, name, body):
            answer = super()._api(method, name, body)
            if name == "Video0FrameRate" and method == "POST":
                self.variables[name] = 30
            return answer
    camera = network.add("cam1", RoundingCamera())
    failed, result = run_module(stream_main, module_args(fps=29))
    assert not failed and result["changed"] is True and result["settings"] == {"fps": 30}
    assert any("reports other values for: fps" in w for w in result["warnings"])
    assert camera.writes() == [("Video0FrameRate", 29)]


def test_a_camera_refusal_fails_the_module_with_its_message(run_module, camera):
    camera.inject_status(7, message="Parameter locked")
    failed, result = run_module(stream_main, module_args(fps=30))
    assert failed and "Parameter locked" in result["msg"]


def test_option_without_a_profile_field_fails(run_module, camera):
    failed, result = run_module(lambda: MissingFieldModule().run(), module_args(zoom=2))
    assert failed and "no variable for the option(s) zoom" in result["msg"] and camera.requests == []


# -- persistence ----------------------------------------------------------------------------------------------------

@pytest.fixture
def saving_profile(tmp_path):
    return write_profile(tmp_path, lambda d: d["persistence"].update(
        save_method={"value": "WriteEeprom", "level": "family"}))


def test_save_method_is_called_once_after_all_writes(run_module, network, saving_profile):
    """Mutation: the save step inside the write loop -> two calls; outside the `changes` guard -> a call on the
    idempotent run."""
    camera = network.add("cam1", FakeCamera(profile_path=saving_profile))
    args = module_args(profile=saving_profile, fps=30, codec="h265")
    failed, result = run_module(stream_main, args)
    assert not failed and result["changed"] is True
    assert [name for name, _data in camera.method_calls] == ["WriteEeprom"]
    posts = [r[1] for r in camera.calls("POST") if r[1] != "/api/getChallenge"]
    assert posts == ["/api/Video0CompressionType", "/api/Video0FrameRate", "/api/WriteEeprom"]
    run_module(stream_main, args)
    assert len(camera.method_calls) == 1, "no save when nothing changed"
    run_module(stream_main, module_args(profile=saving_profile, fps=10), check_mode=True)
    assert len(camera.method_calls) == 1, "no save in check mode"


def test_no_save_step_when_the_profile_has_none(run_module, camera):
    run_module(stream_main, module_args(fps=30))
    assert camera.method_calls == []


# -- write-only secrets -----------------------------------------------------------------------------------------------

def test_secret_is_written_once_and_then_idempotent(run_module, camera, tmp_path):
    state = tmp_path / "state"
    failed, result = run_module(offload_main, offload_args(state), diff=True)
    assert not failed and result["changed"] is True
    assert result["changed_settings"] == ["ftp_password", "server"]
    assert result["settings"] == {"server": "10.0.0.9", "ftp_password": "******** (changed)"}
    assert result["diff"]["before"]["ftp_password"] == "********"
    assert ("FtpPassword", SECRET) in camera.writes()
    assert SECRET not in json.dumps(result)
    failed, result = run_module(offload_main, offload_args(state))
    assert not failed and result["changed"] is False and result["settings"]["ftp_password"] == "********"
    assert len(camera.writes()) == 2


def test_a_changed_secret_writes_once(run_module, camera, tmp_path):
    state = tmp_path / "state"
    run_module(offload_main, offload_args(state))
    failed, result = run_module(offload_main, offload_args(state, ftp_password="Other-Secret-0815"))
    assert result["changed"] is True and result["changed_settings"] == ["ftp_password"]
    assert camera.writes()[-1] == ("FtpPassword", "Other-Secret-0815")
    failed, result = run_module(offload_main, offload_args(state, ftp_password="Other-Secret-0815"))
    assert result["changed"] is False


def test_a_secret_is_never_read_back(run_module, camera, tmp_path):
    run_module(offload_main, offload_args(tmp_path))
    run_module(offload_main, offload_args(tmp_path))
    assert camera.calls("GET", "/api/FtpPassword") == []


def test_secret_state_file_is_private_and_holds_no_secret(run_module, camera, tmp_path):
    state = tmp_path / "state"
    run_module(offload_main, offload_args(state))
    files = os.listdir(state)
    assert files == ["secret-cam1-80-FtpPassword.json"]
    path = state / files[0]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(state).st_mode) == 0o700
    text = path.read_text()
    assert SECRET not in text
    record = json.loads(text)
    assert record["algorithm"] == "pbkdf2_sha256" and record["variable"] == "FtpPassword"
    assert record["iterations"] == sensingcam_module.SECRET_HASH_ITERATIONS and len(record["salt"]) == 32


def test_production_defaults():
    """install_network lowers the rounds and moves the directory during a test; the shipped values (read when
    this file is imported, before any fixture ran) are the documented ones."""
    assert SHIPPED_ITERATIONS >= 100000
    assert SHIPPED_STATE_DIR == "~/.cache/sensingcam.ming"


def test_check_mode_with_a_new_secret_writes_nothing_and_keeps_the_state(run_module, camera, tmp_path):
    state = tmp_path / "state"
    failed, result = run_module(offload_main, offload_args(state), check_mode=True)
    assert result["changed"] is True and camera.writes() == []
    assert not state.exists()


def test_a_corrupt_state_file_means_write_again(run_module, camera, tmp_path):
    run_module(offload_main, offload_args(tmp_path))
    (tmp_path / "secret-cam1-80-FtpPassword.json").write_text("{not json")
    failed, result = run_module(offload_main, offload_args(tmp_path))
    assert result["changed"] is True and result["changed_settings"] == ["ftp_password"]
    failed, result = run_module(offload_main, offload_args(tmp_path))
    assert result["changed"] is False


def test_a_failed_secret_write_records_nothing(run_module, camera, tmp_path):
    camera.inject_status(7, message="FTP settings locked")
    failed, result = run_module(offload_main, module_args(secret_state_dir=str(tmp_path), ftp_password=SECRET))
    assert failed and os.listdir(tmp_path) == []


def test_an_unusable_state_dir_fails_before_any_write(run_module, camera, tmp_path):
    """Mutation: prepare() not called -> the secret reaches the camera, then the module cannot record it."""
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    failed, result = run_module(offload_main, offload_args(blocker / "state"))
    assert failed and "Nothing was sent" in result["msg"] and "secret_state_dir" in result["msg"]
    assert camera.writes() == []
    assert SECRET not in json.dumps(result)


def test_a_hash_that_cannot_be_kept_after_the_write_fails_changed(run_module, camera, tmp_path, monkeypatch):
    def broken_store(self, name, value):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(SecretState, "store", broken_store)
    failed, result = run_module(offload_main, offload_args(tmp_path))
    assert failed and result["changed"] is True and "No space left on device" in result["msg"]
    assert ("FtpPassword", SECRET) in camera.writes() and SECRET not in json.dumps(result)


def test_secret_state_defaults_to_the_patched_directory(run_module, camera, network):
    """Without secret_state_dir the default directory is used (install_network points it at a temp dir)."""
    run_module(offload_main, module_args(ftp_password=SECRET))
    assert os.listdir(network.state_dir) == ["secret-cam1-80-FtpPassword.json"]


def test_secret_state_dir_option_only_for_modules_that_ask(run_module, camera, tmp_path):
    assert "secret_state_dir" in OffloadModule.module_argument_spec()
    assert "secret_state_dir" not in StreamModule.module_argument_spec()
    failed, result = run_module(stream_main, module_args(secret_state_dir=str(tmp_path), fps=25))
    assert failed and "secret_state_dir" in result["msg"]


def test_secret_state_unit(tmp_path):
    store = SecretState(str(tmp_path / "s"), "fd00::5", 8080, iterations=1000)
    assert store.path("FtpPassword").endswith("secret-fd00__5-8080-FtpPassword.json")
    assert store.matches("FtpPassword", "a") is False
    store.store("FtpPassword", "a")
    assert store.matches("FtpPassword", "a") is True
    assert store.matches("FtpPassword", "b") is False
    assert SecretState(str(tmp_path / "s"), "fd00::5", 8081).matches("FtpPassword", "a") is False, "per port"
    first = json.loads(Path(store.path("FtpPassword")).read_text())
    store.store("FtpPassword", "a")
    assert json.loads(Path(store.path("FtpPassword")).read_text())["salt"] != first["salt"], "a fresh salt per write"


@pytest.mark.parametrize("record", [
    {"algorithm": "md5", "salt": "00", "hash": "00", "iterations": 1},
    {"algorithm": "pbkdf2_sha256", "salt": "zz", "hash": "00", "iterations": 1},
    {"algorithm": "pbkdf2_sha256", "salt": "00", "hash": "00", "iterations": 0},
    ["not", "a", "dict"],
])
def test_secret_state_rejects_odd_records(tmp_path, record):
    store = SecretState(str(tmp_path), "cam1", 80, iterations=1000)
    os.makedirs(str(tmp_path), exist_ok=True)
    with open(store.path("X"), "w") as handle:
        json.dump(copy.deepcopy(record), handle)
    assert store.matches("X", "a") is False
