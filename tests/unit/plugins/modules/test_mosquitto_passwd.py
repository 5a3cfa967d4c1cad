"""The mosquitto_passwd module: check -> apply -> idempotent re-run -> change -> remove, on real files.

Tests marked ``mosquitto`` use the real Mosquitto 2.0.11 binaries: files made by ``mosquitto_passwd`` are managed
without spurious changes, and files this module writes are loaded by the real ``mosquitto`` broker, which accepts
the right passwords and refuses wrong ones.
"""

import json
import os
import stat
import subprocess

import pytest
from mosquitto_broker import MOSQUITTO_PASSWD, Broker, cli_publish, requires_mosquitto

from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import (
    PasswordFile,
    hash_password,
    verify_password,
)
from ansible_collections.sensingcam.ming.plugins.modules.mosquitto_passwd import main

USERS = [
    {"name": "plc-line1", "password": "plc-line1-password"},
    {"name": "nodered", "password": "nodered:pass word"},
    {"name": "frigate", "password": "frigate-pässwört"},
]


@pytest.fixture
def passwd(tmp_path):
    return tmp_path / "passwd"


def args(path, users=None, **extra):
    users = USERS if users is None else users
    return dict(path=str(path), users=[dict(user) for user in users], **extra)


def stored(path):
    return {entry.name: entry.hash for entry in PasswordFile(path.read_text()).entries if entry.name}


def assert_no_secret(result, path, users=None):
    users = USERS if users is None else users
    text = json.dumps(result)
    for user in users:
        assert user["password"] not in text
    if path.exists():
        for value in stored(path).values():
            assert value not in text
            assert value.split("$")[-1] not in text


def test_creates_the_file_with_every_user_and_mode_0600(run_module, passwd):
    failed, result = run_module(main, args(passwd))
    assert not failed and result["changed"]
    assert result["added"] == ["plc-line1", "nodered", "frigate"]
    assert result["updated"] == [] and result["removed"] == []
    assert result["users"] == ["plc-line1", "nodered", "frigate"]
    hashes = stored(passwd)
    for user in USERS:
        assert hashes[user["name"]].startswith("$7$20000$")  # the raised default, not mosquitto_passwd's 101
        assert verify_password(user["password"], hashes[user["name"]])
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o600
    assert_no_secret(result, passwd)


def test_second_run_reports_no_change_and_leaves_the_bytes_alone(run_module, passwd):
    run_module(main, args(passwd))
    before = passwd.read_bytes()
    inode = passwd.stat().st_ino
    failed, result = run_module(main, args(passwd))
    assert not failed and not result["changed"]
    assert (result["added"], result["updated"], result["removed"]) == ([], [], [])
    assert passwd.read_bytes() == before
    assert passwd.stat().st_ino == inode  # not even rewritten with the same content


def test_password_change_rewrites_only_that_line(run_module, passwd):
    run_module(main, args(passwd))
    before = passwd.read_text().splitlines(True)
    users = [dict(user) for user in USERS]
    users[1]["password"] = "a brand new password"
    failed, result = run_module(main, args(passwd, users))
    assert not failed and result["changed"] and result["updated"] == ["nodered"]
    after = passwd.read_text().splitlines(True)
    assert after[0] == before[0] and after[2] == before[2] and after[1] != before[1]
    assert verify_password("a brand new password", stored(passwd)["nodered"])
    assert_no_secret(result, passwd, users)


def test_check_mode_predicts_and_leaves_the_file_untouched(run_module, passwd):
    run_module(main, args(passwd))
    before = passwd.read_bytes()
    users = [dict(user) for user in USERS[:2]] + [{"name": "health", "password": "health-password"}]
    users[0]["password"] = "changed-password"
    failed, result = run_module(main, args(passwd, users, remove_unlisted=True), check_mode=True)
    assert not failed and result["changed"]
    assert (result["added"], result["updated"], result["removed"]) == (["health"], ["plc-line1"], ["frigate"])
    assert passwd.read_bytes() == before


def test_check_mode_does_not_create_a_missing_file(run_module, passwd):
    failed, result = run_module(main, args(passwd), check_mode=True)
    assert not failed and result["changed"] and result["added"] == ["plc-line1", "nodered", "frigate"]
    assert not passwd.exists()


def test_diff_names_users_and_never_shows_a_hash_or_password(run_module, passwd):
    run_module(main, args(passwd))
    users = [dict(user) for user in USERS[1:]] + [{"name": "health", "password": "health-password"}]
    users[0]["password"] = "nodered-new-password"
    failed, result = run_module(main, args(passwd, users, remove_unlisted=True), diff=True)
    assert not failed
    diff = result["diff"]
    assert diff["before"] == "plc-line1\nnodered\nfrigate\n"
    assert diff["after"] == "nodered (password changed)\nfrigate\nhealth\n"
    assert "$7$" not in json.dumps(diff) and "$6$" not in json.dumps(diff)
    assert_no_secret(result, passwd, users + USERS)


def test_remove_unlisted_and_absent_users(run_module, passwd):
    run_module(main, args(passwd))
    failed, result = run_module(main, args(passwd, USERS[:2], absent_users=["frigate", "never-there"]))
    assert not failed and result["changed"] and result["removed"] == ["frigate"]
    assert list(stored(passwd)) == ["plc-line1", "nodered"]
    failed, result = run_module(main, args(passwd, USERS[:1], remove_unlisted=True))
    assert result["removed"] == ["nodered"] and list(stored(passwd)) == ["plc-line1"]
    failed, result = run_module(main, args(passwd, USERS[:1], remove_unlisted=True))
    assert not result["changed"]


def test_without_remove_unlisted_other_users_and_comments_stay(run_module, passwd):
    passwd.write_text(f"# added by hand\nscada:{hash_password('scada-pw')}\n")
    failed, result = run_module(main, args(passwd, USERS[:1]))
    assert not failed and result["added"] == ["plc-line1"]
    assert passwd.read_text().startswith(f"# added by hand\nscada:{stored(passwd)['scada']}\nplc-line1:$7$")


def test_hash_upgrade_moves_legacy_and_weak_entries_to_the_requested_strength(run_module, passwd):
    legacy = "$6$MDEyMzQ1Njc4OWFi$" + __import__("base64").b64encode(
        __import__("hashlib").sha512(b"plc-line1-password" + b"0123456789ab").digest()).decode()
    passwd.write_text(f"plc-line1:{legacy}\nnodered:{hash_password('nodered:pass word', 101)}\n")
    failed, result = run_module(main, args(passwd, USERS[:2]))
    assert not failed and not result["changed"]  # valid entries are kept without hash_upgrade
    failed, result = run_module(main, args(passwd, USERS[:2], hash_upgrade=True, iterations=1000), diff=True)
    assert result["changed"] and result["updated"] == ["plc-line1", "nodered"]
    assert "plc-line1 (hash upgraded)" in result["diff"]["after"]
    assert all(value.startswith("$7$1000$") for value in stored(passwd).values())
    failed, result = run_module(main, args(passwd, USERS[:2], hash_upgrade=True, iterations=1000))
    assert not result["changed"]


def test_iterations_apply_to_new_entries(run_module, passwd):
    run_module(main, args(passwd, USERS[:1], iterations=2000))
    assert stored(passwd)["plc-line1"].startswith("$7$2000$")


def test_mode_owner_changes_alone_are_a_change(run_module, passwd):
    run_module(main, args(passwd))
    failed, result = run_module(main, args(passwd, mode="0640"))
    assert not failed and result["changed"] and result["updated"] == []
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640
    failed, result = run_module(main, args(passwd, mode="0640"))
    assert not result["changed"]


def test_existing_file_keeps_its_mode_when_rewritten(run_module, passwd):
    run_module(main, args(passwd, mode="0640"))
    run_module(main, args(passwd, USERS[:1]))
    run_module(main, args(passwd, [{"name": "plc-line1", "password": "new-one-here"}]))
    assert stat.S_IMODE(passwd.stat().st_mode) == 0o640


def test_unparseable_line_fails_with_its_number_not_its_content(run_module, passwd):
    passwd.write_text(f"plc-line1:{hash_password('x')}\nnodered:hunter2-plain\n")
    failed, result = run_module(main, args(passwd))
    assert failed and "line 2" in result["msg"]
    assert "hunter2" not in json.dumps(result)


@pytest.mark.parametrize(
    "users, extra, message",
    [
        ([{"name": "a", "password": "x"}, {"name": "a", "password": "y"}], {}, "declares a more than once"),
        ([{"name": "a:b", "password": "x"}], {}, "contains ':'"),
        ([{"name": "a", "password": ""}], {}, "empty password"),
        ([{"name": "a", "password": "x"}], {"absent_users": ["a"]}, "in both users and absent_users"),
        ([{"name": "a", "password": "x"}], {"iterations": 0}, "iterations must be 1 or more"),
    ],
)
def test_bad_arguments_fail_before_touching_the_file(run_module, passwd, users, extra, message):
    failed, result = run_module(main, args(passwd, users, **extra))
    assert failed and message in result["msg"]
    assert not passwd.exists()


def test_missing_directory_and_directory_path_fail_clearly(run_module, tmp_path):
    failed, result = run_module(main, args(tmp_path / "nope" / "passwd"))
    assert failed and "does not exist" in result["msg"]
    failed, result = run_module(main, args(tmp_path))
    assert failed and "is a directory" in result["msg"]


def test_no_temporary_file_is_left_behind(run_module, passwd):
    run_module(main, args(passwd))
    run_module(main, args(passwd, USERS[:1], remove_unlisted=True))
    assert sorted(os.listdir(passwd.parent)) == ["passwd"]


@requires_mosquitto
@pytest.mark.mosquitto
@pytest.mark.parametrize("algorithm", ["sha512-pbkdf2", "sha512"])
def test_file_made_by_the_real_binary_is_not_changed_when_passwords_match(run_module, passwd, algorithm):
    for index, user in enumerate(USERS):
        command = [MOSQUITTO_PASSWD, "-H", algorithm] + (["-c"] if index == 0 else [])
        subprocess.run(command + ["-b", str(passwd), user["name"], user["password"]], check=True, timeout=30)
    before = passwd.read_bytes()
    failed, result = run_module(main, args(passwd))
    assert not failed and not result["changed"]
    assert passwd.read_bytes() == before


@requires_mosquitto
@pytest.mark.mosquitto
def test_real_broker_accepts_the_file_we_write(run_module, passwd, tmp_path):
    """Real Mosquitto 2.0.11 broker, loopback port, allow_anonymous false, password_file written by the module."""
    failed, _result = run_module(main, args(passwd))
    assert not failed
    with Broker(tmp_path, passwd) as broker:
        for user in USERS:
            code, output = cli_publish(broker.port, user["name"], user["password"])
            assert code == 0, f"{user['name']} refused: {output}\n{broker.log()}"
            code, output = cli_publish(broker.port, user["name"], user["password"] + "-wrong")
            assert code != 0 and "not authorised" in output.lower()
        code, output = cli_publish(broker.port, "nobody", "whatever")
        assert code != 0 and "not authorised" in output.lower()
        code, output = cli_publish(broker.port, None, None)
        assert code != 0 and "not authorised" in output.lower()
        assert "Invalid" not in broker.log() and "Error" not in broker.log()


@requires_mosquitto
@pytest.mark.mosquitto
def test_real_broker_accepts_changed_upgraded_and_custom_iteration_entries(run_module, passwd, tmp_path):
    """Real Mosquitto 2.0.11 broker: a rewritten line, an upgraded $6$ line and 1000-round entries all log in."""
    subprocess.run([MOSQUITTO_PASSWD, "-H", "sha512", "-c", "-b", str(passwd), "legacy", "legacy-password"],
                   check=True, timeout=30)
    users = [{"name": "legacy", "password": "legacy-password"}, {"name": "plc-line1", "password": "first"}]
    run_module(main, args(passwd, users, iterations=1000))
    users[1]["password"] = "second"
    failed, result = run_module(main, args(passwd, users, iterations=1000, hash_upgrade=True))
    assert not failed and result["updated"] == ["legacy", "plc-line1"]
    assert all(value.startswith("$7$1000$") for value in stored(passwd).values())
    with Broker(tmp_path, passwd) as broker:
        assert cli_publish(broker.port, "legacy", "legacy-password")[0] == 0
        assert cli_publish(broker.port, "plc-line1", "second")[0] == 0
        assert cli_publish(broker.port, "plc-line1", "first")[0] != 0


@requires_mosquitto
@pytest.mark.mosquitto
def test_101_round_hashes_stay_untouched_changed_ones_get_the_new_count_and_the_real_tools_take_both(
        run_module, passwd, tmp_path):
    """Real mosquitto_passwd 2.0.11 (it writes 101 rounds) makes the file; the module with its default count keeps a
    101-round hash whose password is right, byte for byte, and rehashes a changed password with 20000 rounds; the
    real mosquitto_passwd then edits that file (adds a user) keeping our lines, and the real broker accepts both
    counts and refuses the old password."""
    for index, user in enumerate(USERS[:2]):
        command = [MOSQUITTO_PASSWD] + (["-c"] if index == 0 else [])
        subprocess.run(command + ["-b", str(passwd), user["name"], user["password"]], check=True, timeout=30)
    before = passwd.read_bytes()
    assert all(value.startswith("$7$101$") for value in stored(passwd).values())

    failed, result = run_module(main, args(passwd, USERS[:2]))
    assert not failed and not result["changed"] and result["updated"] == []
    assert passwd.read_bytes() == before

    users = [dict(USERS[0]), dict(USERS[1], password="nodered-new-password")]
    failed, result = run_module(main, args(passwd, users))
    assert not failed and result["changed"] and result["updated"] == ["nodered"]
    hashes = stored(passwd)
    assert hashes["plc-line1"].startswith("$7$101$") and hashes["nodered"].startswith("$7$20000$")
    assert passwd.read_text().splitlines()[0] == before.decode().splitlines()[0]

    subprocess.run([MOSQUITTO_PASSWD, "-b", str(passwd), "frigate", "frigate-pässwört"], check=True, timeout=30)
    assert stored(passwd)["nodered"] == hashes["nodered"], "mosquitto_passwd rewrote the 20000-round hash"
    with Broker(tmp_path, passwd) as broker:
        assert cli_publish(broker.port, "plc-line1", USERS[0]["password"])[0] == 0, broker.log()
        assert cli_publish(broker.port, "nodered", "nodered-new-password")[0] == 0, broker.log()
        assert cli_publish(broker.port, "nodered", USERS[1]["password"])[0] != 0
        assert cli_publish(broker.port, "frigate", "frigate-pässwört")[0] == 0, broker.log()
