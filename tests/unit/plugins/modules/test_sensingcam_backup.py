"""sensingcam_backup against the in-process fake camera (a test double: not a real SEC100, not the camera simulator).

The shared fake serves the parameter backup in the shapes the camera simulator serves (tools/camera_simulator,
server.py backup_export/backup_import), which the module follows: CreateParameterBackup
{Passphrase}; export = authenticated POST /api/parameterbackup answering data.parameterbackup = {device name: wire
value} of every writable variable; import = PUT /api/parameterbackup {"header": login, "data": {"parameterbackup":
{...}}}; RestoreParameterBackup applies what was put.

Real: the module's main() and the collection's module_utils. Doubles: the fake camera
(tests/unit/sensingcam_fake_camera.py) in place of open_url, and AnsibleModule's exit_json/fail_json/warn replaced
by the run_module fixture (tests/unit/conftest.py) so the result is read in-process.
"""

import json
import os
from pathlib import Path

import pytest
import yaml
from sensingcam_fake_camera import PASSWORD, PROFILE_PATH, FakeCamera, envelope, install_network
from sensingcam_fake_camera import module_args as connection_args

from ansible_collections.sensingcam.ming.plugins.modules import sensingcam_backup

PASSPHRASE = "Backup-Pa55phrase-93"
FTP_SECRET = "ftp-Secret-7731"


@pytest.fixture
def network(monkeypatch):
    return install_network(monkeypatch)


@pytest.fixture
def camera(network):
    camera = network.add("cam1", FakeCamera())
    camera.variables["FtpPassword"] = FTP_SECRET
    return camera


def module_args(**kwargs):
    values = connection_args(passphrase=PASSPHRASE)
    values.update(kwargs)
    return values


def backups(directory):
    return sorted(p for p in os.listdir(directory) if not p.endswith("-latest.json"))


def test_export_then_idempotent_then_new_on_change(run_module, camera, tmp_path):
    dest = tmp_path / "backups"
    failed, first = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not failed and first["changed"], first
    assert os.path.basename(first["backup_file"]).startswith("line3_cam-")
    latest = dest / "line3_cam-latest.json"
    assert json.loads(latest.read_bytes()) == camera.writable()
    assert os.path.islink(latest) and os.path.realpath(latest) == first["backup_file"]
    assert oct(os.stat(first["backup_file"]).st_mode & 0o777) == "0o600"
    assert camera.passphrases == [PASSPHRASE]

    failed, second = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"))
    assert not failed and not second["changed"], second
    assert len(backups(dest)) == 1
    assert second["backup_file"] == first["backup_file"]

    camera.variables["LocationName"] = "line3"
    failed, third = run_module(sensingcam_backup.main, module_args(dest=str(dest), name="line3/cam"), diff=True)
    assert not failed and third["changed"]
    assert len(backups(dest)) == 2
    assert json.loads(latest.read_bytes())["LocationName"] == "line3"
    assert '"LocationName": "line3"' in third["diff"]["after"]
    assert '"LocationName": "factory-default"' in third["diff"]["before"]
    assert camera.puts == 0 and camera.restores == 0 and camera.writes() == []


def test_a_backup_file_in_another_key_order_is_the_same_backup(run_module, camera, tmp_path):
    dest = tmp_path / "b"
    run_module(sensingcam_backup.main, module_args(dest=str(dest)))
    latest = dest / "cam1-latest.json"
    document = json.loads(latest.read_bytes())
    os.unlink(latest)
    latest.write_text(json.dumps(dict(reversed(list(document.items())))))
    failed, again = run_module(sensingcam_backup.main, module_args(dest=str(dest)))
    assert not failed and not again["changed"], "same content in another key order is not a change"


def test_export_check_mode_writes_nothing(run_module, camera, tmp_path):
    dest = tmp_path / "b"
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(dest)), check_mode=True)
    assert not failed and result["changed"] and result["backup_file"].startswith(str(dest))
    assert not dest.exists()
    assert camera.puts == 0 and camera.writes() == []


def test_name_defaults_to_host(run_module, camera, tmp_path):
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path)))
    assert os.path.basename(result["latest_file"]) == "cam1-latest.json"


@pytest.mark.parametrize("state", ["exported", "restored"])
def test_the_passphrase_is_required_before_any_request(run_module, camera, tmp_path, state):
    """The profile's CreateParameterBackup takes Passphrase: without it the module fails naming the option and
    sends nothing. Mutation tried: the check removed: the client refused the call naming the argument, after the
    first request; this test failed (requests made)."""
    values = module_args(dest=str(tmp_path), src=str(tmp_path / "x.json"), state=state)
    del values["passphrase"]
    failed, result = run_module(sensingcam_backup.main, values)
    assert failed and "passphrase is required" in result["msg"] and "CreateParameterBackup" in result["msg"]
    assert camera.requests == []


def test_the_passphrase_never_shows(run_module, camera, tmp_path):
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path / "b")), diff=True)
    assert not failed
    text = json.dumps(result)
    assert PASSPHRASE not in text and PASSWORD not in text


def test_required_paths(run_module, camera):
    failed, result = run_module(sensingcam_backup.main, module_args())
    assert failed and "dest" in result["msg"]
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored"))
    assert failed and "src" in result["msg"]


def test_export_diff_redacts_secret_keys(run_module, camera, tmp_path):
    """backup.secret_keys of the shipped profile (*password*): FtpPassword shows ******** in the diff, in check
    mode and on a real run; the backup file keeps the real value.

    Mutation tried: diff_text without redact(): the FTP password appeared in the diff; this test failed."""
    dest = tmp_path / "backups"
    failed, checked = run_module(sensingcam_backup.main, module_args(dest=str(dest)), check_mode=True, diff=True)
    assert not failed and checked["changed"]
    assert FTP_SECRET not in json.dumps(checked)
    after = json.loads(checked["diff"]["after"])
    assert after["FtpPassword"] == "********" and after["FtpUserName"] == ""

    failed, first = run_module(sensingcam_backup.main, module_args(dest=str(dest)), diff=True)
    assert not failed and first["changed"] and FTP_SECRET not in json.dumps(first)
    assert json.loads((dest / "cam1-latest.json").read_bytes())["FtpPassword"] == FTP_SECRET

    camera.variables["LocationName"] = "line4"
    failed, second = run_module(sensingcam_backup.main, module_args(dest=str(dest)), diff=True)
    assert not failed and second["changed"] and FTP_SECRET not in json.dumps(second)
    assert json.loads(second["diff"]["before"])["FtpPassword"] == "********"


def profile_copy(tmp_path, change):
    data = yaml.safe_load(Path(PROFILE_PATH).read_text(encoding="utf-8"))
    change(data)
    path = tmp_path / "profile.yml"
    path.write_text(yaml.safe_dump(data))
    return str(path)


def test_a_variable_marked_secret_is_redacted_by_its_device_name(run_module, camera, tmp_path):
    """`secret: true` on a profile variable (here identity.location_name, LocationName) redacts that name too."""
    def mark(data):
        data["variables"]["identity"]["location_name"]["secret"] = True
    camera.variables["LocationName"] = "hidden-name"
    failed, result = run_module(sensingcam_backup.main,
                                module_args(dest=str(tmp_path / "b"), profile=profile_copy(tmp_path, mark)),
                                check_mode=True, diff=True)
    assert not failed and "hidden-name" not in json.dumps(result), result
    assert json.loads(result["diff"]["after"])["LocationName"] == "********"


def test_restore_only_on_difference(run_module, camera, tmp_path):
    same = tmp_path / "same.json"
    same.write_text(json.dumps(camera.writable()))
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(same)))
    assert not failed and not result["changed"], result
    assert camera.puts == 0 and camera.restores == 0

    wanted = dict(camera.writable(), LocationName="restored", Video0FrameRate=12)
    other = tmp_path / "other.json"
    other.write_text(json.dumps(wanted))
    failed, check = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)),
                               check_mode=True, diff=True)
    assert not failed and check["changed"]
    assert camera.puts == 0 and camera.value("LocationName") == "factory-default"
    assert '"LocationName": "restored"' in check["diff"]["after"] and FTP_SECRET not in json.dumps(check)

    failed, applied = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)))
    assert not failed and applied["changed"], applied
    assert camera.puts == 1 and camera.restores == 1
    assert camera.value("LocationName") == "restored" and camera.value("Video0FrameRate") == 12
    assert applied["warnings"] == []

    failed, again = run_module(sensingcam_backup.main, module_args(state="restored", src=str(other)))
    assert not failed and not again["changed"] and camera.puts == 1


def test_a_restore_the_camera_adjusts_warns(run_module, camera, tmp_path):
    wanted = dict(camera.writable(), LocationName="restored", NotOnThisCamera=1)
    src = tmp_path / "b.json"
    src.write_text(json.dumps(wanted))
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(src)))
    assert not failed and result["changed"]
    assert any("differs from that file in: NotOnThisCamera" in w for w in result["warnings"]), result["warnings"]


def test_a_refused_import_fails_and_changes_nothing(run_module, camera, tmp_path):
    src = tmp_path / "b.json"
    src.write_text(json.dumps({"LocationName": "x"}))
    original = camera._backup_transfer

    def refuse_put(method, raw):
        if method == "PUT":
            return envelope(status=3, message="Invalid value for 'Video0FrameRate'")
        return original(method, raw)
    camera._backup_transfer = refuse_put
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(src)))
    assert failed and not result["changed"]
    assert "did not take" in result["msg"] and "Invalid value for 'Video0FrameRate'" in result["msg"]
    assert camera.restores == 0


def test_the_save_method_runs_after_a_restore_when_the_profile_names_one(run_module, network, tmp_path):
    """persistence.save_method (family WriteEeprom) is called once after RestoreParameterBackup."""
    def save(data):
        data["persistence"]["save_method"] = {"value": "WriteEeprom", "level": "assumed"}
    profile = profile_copy(tmp_path, save)
    camera = network.add("cam1", FakeCamera(profile_path=profile))
    src = tmp_path / "b.json"
    src.write_text(json.dumps(dict(camera.writable(), LocationName="restored")))
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(src), profile=profile))
    assert not failed and result["changed"], result
    names = [name for name, _data in camera.method_calls]
    assert names == ["CreateParameterBackup", "RestoreParameterBackup", "WriteEeprom", "CreateParameterBackup"]


@pytest.mark.parametrize("content", [b"[1, 2]", b"Password=x\n", b'{"configuration": '], ids=["list", "text", "cut"])
def test_a_file_that_is_no_backup_is_refused(run_module, camera, tmp_path, content):
    src = tmp_path / "b.json"
    src.write_bytes(content)
    failed, result = run_module(sensingcam_backup.main, module_args(state="restored", src=str(src)))
    assert failed and "is not a parameter backup" in result["msg"]
    assert camera.requests == []


def test_an_expired_login_is_renewed_once(run_module, camera, tmp_path):
    """The camera forgets the cached challenge between the create call and the export (status 10): the export is
    sent once more with a new challenge. Mutation tried: no resend on a relogin status: the export failed with
    a login error; this test failed."""
    effect = camera._method_effect

    def create_then_expire(name, data):
        result = effect(name, data)
        camera.expire_nonces()
        return result
    camera._method_effect = create_then_expire
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path / "b")))
    assert not failed and result["changed"], result


def test_wrong_password_is_one_clear_error(run_module, camera, tmp_path):
    failed, result = run_module(sensingcam_backup.main, module_args(dest=str(tmp_path / "b"), password="wrong-pw"))
    assert failed and "refused the login of user 'Service'" in result["msg"]
    assert "wrong-pw" not in json.dumps(result)


def test_secret_keys_must_be_a_list(run_module, camera, tmp_path):
    def spoil(data):
        data["backup"]["secret_keys"] = {"value": "*password*", "level": "assumed"}
    failed, result = run_module(sensingcam_backup.main,
                                module_args(dest=str(tmp_path / "b"), profile=profile_copy(tmp_path, spoil)),
                                check_mode=True, diff=True)
    assert failed and "backup.secret_keys" in result["msg"] and "must be a list" in result["msg"]


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
    assert not backup.is_symlink() and json.loads(backup.read_bytes()) == camera.writable()
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
    assert json.loads(backup.read_bytes()) == camera.writable() and oct(backup.stat().st_mode & 0o777) == "0o600"
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
