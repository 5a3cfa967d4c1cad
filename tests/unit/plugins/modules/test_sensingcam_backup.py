"""sensingcam_backup against the in-process fake camera (not a real SEC100, not the camera simulator).

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import json
import os
from pathlib import Path

import pytest
import yaml
from sensingcam_fake_camera import PROFILE_PATH, install_network, module_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_backup


@pytest.fixture
def camera(monkeypatch):
    return install_network(monkeypatch).add("cam1")


def backups(directory):
    return sorted(p for p in os.listdir(directory) if not p.endswith("-latest.json"))


def test_export_then_idempotent_then_new_on_change(run_module, camera, tmp_path):
    dest = tmp_path / "backups"
    failed, first = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not failed and first["changed"]
    assert os.path.basename(first["backup_file"]).startswith("line3_cam-")
    latest = dest / "line3_cam-latest.json"
    assert latest.read_bytes() == camera.config
    assert os.path.islink(latest) and os.path.realpath(latest) == first["backup_file"]
    assert oct(os.stat(first["backup_file"]).st_mode & 0o777) == "0o600"

    failed, second = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not failed and not second["changed"]
    assert len(backups(dest)) == 1

    camera.config = json.dumps({"Ntp": {"Enabled": False}, "LocationName": "factory-default"}).encode()
    failed, reordered = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not reordered["changed"], "same JSON content in another key order is not a change"

    camera.config = json.dumps({"LocationName": "line3"}).encode()
    failed, third = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"), diff=True)
    assert not failed and third["changed"]
    assert len(backups(dest)) == 2
    assert latest.read_bytes() == camera.config
    assert "line3" in third["diff"]["after"] and "factory-default" in third["diff"]["before"]


def test_export_check_mode_writes_nothing(run_module, camera, tmp_path):
    dest = tmp_path / "b"
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(dest)), check_mode=True)
    assert not failed and result["changed"] and result["backup_file"].startswith(str(dest))
    assert not dest.exists()


def test_name_defaults_to_host(run_module, camera, tmp_path):
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path)))
    assert os.path.basename(result["latest_file"]) == "cam1-latest.json"


def test_restore_only_on_difference(run_module, camera, tmp_path):
    same = tmp_path / "same.json"
    same.write_bytes(camera.config)
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(same)))
    assert not failed and not result["changed"]
    assert camera.calls("POST", "/file/upload/configuration") == []

    other = tmp_path / "other.json"
    other.write_text(json.dumps({"LocationName": "restored"}))
    failed, check = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)),
                               check_mode=True, diff=True)
    assert not failed and check["changed"]
    assert camera.calls("POST", "/file/upload/configuration") == []
    assert "restored" in check["diff"]["after"]

    failed, applied = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)))
    assert not failed and applied["changed"]
    assert len(camera.calls("POST", "/file/upload/configuration")) == 1
    assert json.loads(camera.config) == {"LocationName": "restored"}

    failed, again = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)))
    assert not again["changed"]


def test_required_paths(run_module, camera):
    failed, result = run_module(sensingcam_backup.main, module_args())
    assert failed and "dest" in result["msg"]
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored"))
    assert failed and "src" in result["msg"]


def test_export_endpoint_unknown(run_module, camera, tmp_path):
    camera.status_override["/file/download/configuration"] = 404
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path)))
    assert failed and "files.config_export.path" in result["msg"]


MQTT_SECRET = "mqtt-Pa55-7731"
HASH_SECRET = "9c1185a5c5e9fc54612808977ee8f548b2258d31"


def secret_export(location="line3"):
    return json.dumps({"LocationName": location,
                       "Mqtt": {"Broker": "10.1.1.5", "Password": MQTT_SECRET},
                       "Users": [{"Name": "Service", "PasswordHash": HASH_SECRET}]}).encode()


def test_export_diff_redacts_what_the_profile_marks_secret(run_module, camera, tmp_path):
    """The shipped profile's files.config_export.secret_keys: ******** at any depth (in a dict, in a list) in the
    diff, in check mode and on a real run; the backup file keeps the real values. Removing the redaction (diff of the
    raw export) fails this test."""
    dest = tmp_path / "backups"
    camera.config = secret_export("line3")
    failed, checked = run_module(sensingcam_backup.main, module_args(dest=str(dest)), check_mode=True, diff=True)
    assert not failed and checked["changed"]
    assert MQTT_SECRET not in json.dumps(checked) and HASH_SECRET not in json.dumps(checked)
    after = json.loads(checked["diff"]["after"])
    assert after["Mqtt"] == {"Broker": "10.1.1.5", "Password": "********"}
    assert after["Users"] == [{"Name": "Service", "PasswordHash": "********"}]
    assert after["LocationName"] == "line3"

    failed, first = run_module(sensingcam_backup.main, module_args(dest=str(dest)), diff=True)
    assert not failed and first["changed"]
    assert MQTT_SECRET not in json.dumps(first) and "********" in first["diff"]["after"]
    assert json.loads((dest / "cam1-latest.json").read_bytes()) == json.loads(secret_export("line3"))

    camera.config = secret_export("line4")
    failed, second = run_module(sensingcam_backup.main, module_args(dest=str(dest)), diff=True)
    assert not failed and second["changed"]
    assert MQTT_SECRET not in json.dumps(second) and HASH_SECRET not in json.dumps(second)
    assert '"line3"' in second["diff"]["before"] and '"line4"' in second["diff"]["after"]
    assert MQTT_SECRET.encode() in (dest / "cam1-latest.json").read_bytes()


def test_restore_diff_redacts_both_sides(run_module, camera, tmp_path):
    camera.config = secret_export("line3")
    wanted = tmp_path / "wanted.json"
    wanted.write_bytes(secret_export("restored").replace(MQTT_SECRET.encode(), b"other-mqtt-secret"))
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(wanted)),
                                check_mode=True, diff=True)
    assert not failed and result["changed"]
    text = json.dumps(result)
    assert MQTT_SECRET not in text and "other-mqtt-secret" not in text and HASH_SECRET not in text
    assert '"restored"' in result["diff"]["after"] and '"line3"' in result["diff"]["before"]


def profile_copy(tmp_path, change):
    data = yaml.safe_load(Path(PROFILE_PATH).read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "profile.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_an_entry_marked_secret_is_redacted_by_its_device_name(run_module, camera, tmp_path):
    """`secret: true` on a profile entry (here identity.device_name, LocationName) redacts that device name too."""
    def mark(data):
        data["identity"]["device_name"]["secret"] = True
    camera.config = json.dumps({"LocationName": "hidden-name", "Ntp": {"Enabled": True}}).encode()
    failed, result = run_module(sensingcam_backup.main,
                                module_args(dest=str(tmp_path / "b"), profile=profile_copy(tmp_path, mark)),
                                check_mode=True, diff=True)
    assert not failed and "hidden-name" not in json.dumps(result)
    assert json.loads(result["diff"]["after"]) == {"LocationName": "********", "Ntp": {"Enabled": True}}


def test_without_secret_keys_the_diff_is_the_export_as_is(run_module, camera, tmp_path):
    def unmark(data):
        del data["files"]["config_export"]["secret_keys"]
    camera.config = b'{"LocationName": "x", "Password": "shown"}'
    failed, result = run_module(sensingcam_backup.main,
                                module_args(dest=str(tmp_path / "b"), profile=profile_copy(tmp_path, unmark)),
                                check_mode=True, diff=True)
    assert not failed and result["diff"]["after"] == camera.config.decode()


def test_a_non_json_export_is_not_shown_when_the_profile_marks_secrets(run_module, camera, tmp_path):
    camera.config = b"Password=plain-text-secret\nLocationName=x\n"
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path / "b")),
                                check_mode=True, diff=True)
    assert not failed and "plain-text-secret" not in json.dumps(result)
    assert "not JSON: not shown" in result["diff"]["after"]


def test_secret_keys_must_be_a_list(run_module, camera, tmp_path):
    def spoil(data):
        data["files"]["config_export"]["secret_keys"] = {"value": "*password*", "status": "assumed"}
    failed, result = run_module(sensingcam_backup.main,
                                module_args(dest=str(tmp_path / "b"), profile=profile_copy(tmp_path, spoil)),
                                check_mode=True, diff=True)
    assert failed and "files.config_export.secret_keys" in result["msg"] and "must be a list" in result["msg"]


def test_redact_leaves_its_input_alone():
    document = {"a": [{"token": "t"}], "Private_Key": "k", "keep": {"n": 1}}
    assert sensingcam_backup.redact(document, ["*token*", "*private*key*"]) == {
        "a": [{"token": "********"}], "Private_Key": "********", "keep": {"n": 1}}
    assert document["a"][0]["token"] == "t"


FIXED_TIME = "20250101T020000Z"


def test_a_symlink_planted_at_the_part_path_is_not_followed(run_module, camera, tmp_path, monkeypatch):
    """Someone with write access to the backup directory plants `<backup>.part` as a symlink to another file (a
    plant file the controller user may write). The export writes nothing through the link: the target keeps its
    content, the backup is a new regular 0600 file, no .part is left.

    Mutations tried: the part file opened as before (O_CREAT|O_TRUNC, no O_EXCL/O_NOFOLLOW): the target was
    overwritten with the export, this test failed; O_EXCL dropped (O_NOFOLLOW kept): the open failed with ELOOP
    and the export failed, this test failed."""
    monkeypatch.setattr(sensingcam_backup, "utc_timestamp", lambda now=None: FIXED_TIME)
    dest = tmp_path / "backups"
    dest.mkdir()
    victim = tmp_path / "victim.conf"
    victim.write_text("plant setting\n")
    (dest / f"cam1-{FIXED_TIME}.json.part").symlink_to(victim)
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(dest)))
    assert not failed, result
    assert victim.read_text() == "plant setting\n"
    backup = dest / f"cam1-{FIXED_TIME}.json"
    assert result["backup_file"] == str(backup)
    assert not backup.is_symlink() and backup.read_bytes() == camera.config
    assert oct(backup.stat().st_mode & 0o777) == "0o600"
    assert sorted(p.name for p in dest.iterdir()) == [f"cam1-{FIXED_TIME}.json", "cam1-latest.json"]


def test_a_stale_part_file_is_replaced_not_reused(run_module, camera, tmp_path, monkeypatch):
    """A `.part` left by a run that crashed (here world-readable, with other content) is removed and a fresh 0600
    file written; its old content and mode do not survive into the backup."""
    monkeypatch.setattr(sensingcam_backup, "utc_timestamp", lambda now=None: FIXED_TIME)
    dest = tmp_path / "backups"
    dest.mkdir()
    stale = dest / f"cam1-{FIXED_TIME}.json.part"
    stale.write_bytes(b"x" * 10000)
    stale.chmod(0o644)
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(dest)))
    assert not failed, result
    backup = dest / f"cam1-{FIXED_TIME}.json"
    assert backup.read_bytes() == camera.config and oct(backup.stat().st_mode & 0o777) == "0o600"
    assert not stale.exists()


def test_write_new_file_refuses_what_appears_again(tmp_path, monkeypatch):
    """If an entry reappears at the path between the removal and the second create (a race), the create fails
    instead of writing through it."""
    target = tmp_path / "elsewhere"
    target.write_text("keep")
    path = tmp_path / "x.part"
    path.symlink_to(target)

    def replant(entry):
        os.unlink(entry)
        os.symlink(target, entry)

    monkeypatch.setattr(sensingcam_backup, "remove_stale", replant)
    with pytest.raises(OSError):
        sensingcam_backup.write_new_file(str(path), b"export")
    assert target.read_text() == "keep"
