"""Password hashing and file parsing of module_utils.mosquitto_passwd, checked against the real Mosquitto 2.0.11
``mosquitto_passwd`` binary (hashes it makes verify here; files made here are edited cleanly by it)."""

import base64
import re
import subprocess

import pytest
from mosquitto_broker import MOSQUITTO_PASSWD, requires_mosquitto

from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import (
    DEFAULT_ITERATIONS,
    MOSQUITTO_PASSWD_ITERATIONS,
    PasswordFile,
    PasswordFileError,
    check_user_name,
    hash_password,
    needs_upgrade,
    parse_hash,
    verify_password,
)

PASSWORDS = {
    "plc-line1": "correct horse battery staple",
    "nodered": "p@ss:word$with:colons",
    "frigate": "ünïcödé-пароль-密码",
    "health": "x" * 200,
    "cam-line1-st1": " leading and trailing spaces ",
}

B64 = r"[A-Za-z0-9+/]"
PBKDF2_FORMAT = re.compile(rf"^\$7\$(\d+)\${B64}{{16}}\${B64}{{86}}==$")


def real_passwd_file(tmp_path, algorithm):
    """A password file written by the real mosquitto_passwd binary (batch mode)."""
    path = tmp_path / f"passwd-{algorithm}"
    for index, (name, password) in enumerate(PASSWORDS.items()):
        command = [MOSQUITTO_PASSWD, "-H", algorithm]
        if index == 0:
            command.append("-c")
        command += ["-b", str(path), name, password]
        subprocess.run(command, check=True, capture_output=True, timeout=30)
    return path


def entries(path):
    return dict(line.split(":", 1) for line in path.read_text().splitlines())


def test_hash_has_the_layout_mosquitto_passwd_writes_with_the_raised_default_count():
    """mosquitto_passwd 2.0 writes 101 rounds; the collection writes 20000 (tests/bench measures the CONNECT)."""
    assert (MOSQUITTO_PASSWD_ITERATIONS, DEFAULT_ITERATIONS) == (101, 20000)
    stored = hash_password("secret")
    match = PBKDF2_FORMAT.match(stored)
    assert match and int(match.group(1)) == 20000
    kind, iterations, salt, digest = parse_hash(stored)
    assert (kind, iterations, len(salt), len(digest)) == ("7", 20000, 12, 64)
    assert verify_password("secret", stored) and not verify_password("secreT", stored)


def test_set_password_keeps_a_weaker_hash_that_verifies_and_rehashes_a_changed_one():
    old = hash_password("plc-password", 101)
    passwords = PasswordFile(f"plc:{old}\nnodered:{hash_password('nodered-password', 101)}\n")
    assert passwords.set_password("plc", "plc-password") is None
    assert passwords.set_password("nodered", "nodered-new-password") == "updated"
    text = passwords.render()
    assert text.startswith(f"plc:{old}\nnodered:$7$20000$")


def test_hash_is_salted_per_call():
    assert hash_password("same") != hash_password("same")


def test_hash_with_fixed_salt_is_pbkdf2_hmac_sha512():
    salt = bytes(range(12))
    expected = base64.b64encode(__import__("hashlib").pbkdf2_hmac("sha512", b"pw", salt, 101)).decode()
    assert hash_password("pw", 101, salt=salt) == f"$7$101${base64.b64encode(salt).decode()}${expected}"


@requires_mosquitto
@pytest.mark.mosquitto
@pytest.mark.parametrize("algorithm", ["sha512-pbkdf2", "sha512"])
def test_hashes_made_by_the_real_binary_verify(tmp_path, algorithm):
    stored = entries(real_passwd_file(tmp_path, algorithm))
    prefix = "$7$101$" if algorithm == "sha512-pbkdf2" else "$6$"
    for name, password in PASSWORDS.items():
        assert stored[name].startswith(prefix)
        assert verify_password(password, stored[name]), name
        assert not verify_password(password + "x", stored[name]), name
        assert not verify_password(password[:-1], stored[name]), name


@requires_mosquitto
@pytest.mark.mosquitto
def test_real_binary_layout_matches_ours(tmp_path):
    stored = entries(real_passwd_file(tmp_path, "sha512-pbkdf2"))
    for value in stored.values():
        assert PBKDF2_FORMAT.match(value)


@requires_mosquitto
@pytest.mark.mosquitto
def test_real_binary_edits_a_file_we_wrote_and_keeps_our_entries(tmp_path):
    path = tmp_path / "passwd"
    ours = PasswordFile("")
    for name, password in PASSWORDS.items():
        ours.set_password(name, password)
    path.write_text(ours.render())
    subprocess.run([MOSQUITTO_PASSWD, "-b", str(path), "added-by-binary", "binary-pw"], check=True, timeout=30)
    subprocess.run([MOSQUITTO_PASSWD, "-D", str(path), "health"], check=True, timeout=30, capture_output=True)
    after = PasswordFile(path.read_text())
    assert after.names() == ["plc-line1", "nodered", "frigate", "cam-line1-st1", "added-by-binary"]
    for name in ("plc-line1", "nodered", "frigate", "cam-line1-st1"):
        assert verify_password(PASSWORDS[name], after.find(name).hash)
    assert verify_password("binary-pw", after.find("added-by-binary").hash)


def test_legacy_sha512_is_password_then_salt():
    salt = b"0123456789ab"
    digest = __import__("hashlib").sha512(b"pw" + salt).digest()
    stored = f"$6${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"
    assert verify_password("pw", stored)
    assert not verify_password("pW", stored)
    assert needs_upgrade(stored, 101)


def test_upgrade_needed_below_requested_iterations():
    assert not needs_upgrade(hash_password("pw", 101), 101)
    assert needs_upgrade(hash_password("pw", 101), 1000)
    assert not needs_upgrade(hash_password("pw", 1000), 101)


@pytest.mark.parametrize(
    "stored, problem",
    [
        ("plaintext", "plain text"),
        ("$5$abc$def", "unknown hash type"),
        ("$7$abc$" + "A" * 16 + "$" + "A" * 88, "iteration count"),
        ("$7$101$" + "A" * 12 + "$" + "A" * 88, "salt is not 12 bytes"),
        ("$7$101$" + "A" * 16 + "$" + "A" * 84, "hash is not 64 bytes"),
        ("$7$101$" + "!" * 16 + "$" + "A" * 88, "salt is not 12 bytes"),
        ("$7$101$" + "A" * 16, "$7$<iterations>$<salt>$<hash>"),
        ("$6$" + "A" * 16, "$6$<salt>$<hash>"),
    ],
)
def test_unreadable_hashes_are_named_not_shown(stored, problem):
    with pytest.raises(PasswordFileError) as raised:
        parse_hash(stored)
    assert problem in str(raised.value)
    assert stored not in str(raised.value)


def test_file_errors_give_the_line_number_not_the_content():
    text = f"# comment\nalice:{hash_password('a')}\nthis-line-is-secret-ish\n"
    with pytest.raises(PasswordFileError, match="line 3 has no ':'") as raised:
        PasswordFile(text)
    assert "secret-ish" not in str(raised.value)
    with pytest.raises(PasswordFileError, match="line 2: the hash does not start") as raised:
        PasswordFile(f"alice:{hash_password('a')}\nbob:hunter2\n")
    assert "hunter2" not in str(raised.value)


def test_duplicate_users_in_the_file_are_refused():
    stored = hash_password("a")
    with pytest.raises(PasswordFileError, match="lines 1 and 3 both declare user alice"):
        PasswordFile(f"alice:{stored}\nbob:{stored}\nalice:{stored}\n")


def test_comments_blank_lines_and_untouched_entries_keep_their_bytes():
    text = f"# managed\n\nalice:{hash_password('a')}\r\n  bob :{hash_password('b')}\n"
    passwords = PasswordFile(text)
    assert passwords.names() == ["alice", "bob"]
    assert passwords.set_password("alice", "a") is None
    assert passwords.set_password("bob", "b") is None
    assert passwords.render() == text


def test_changed_password_rewrites_only_its_line_and_keeps_the_line_ending():
    text = f"alice:{hash_password('a')}\r\nbob:{hash_password('b')}\n"
    passwords = PasswordFile(text)
    assert passwords.set_password("alice", "new") == "updated"
    lines = passwords.render().splitlines(True)
    assert lines[1] == text.splitlines(True)[1]
    assert lines[0].endswith("\r\n") and verify_password("new", lines[0].split(":", 1)[1].strip())


def test_new_users_are_appended_after_a_last_line_without_newline():
    text = f"alice:{hash_password('a')}"
    passwords = PasswordFile(text)
    assert passwords.set_password("carol", "c") == "added"
    rendered = passwords.render()
    assert rendered.startswith(text + "\n") and rendered.endswith("\n")
    assert passwords.names() == ["alice", "carol"]


@pytest.mark.parametrize("name", ["", "a:b", "#admin", " padded", "line\nbreak"])
def test_names_the_broker_could_not_read_back_are_refused(name):
    with pytest.raises(PasswordFileError):
        check_user_name(name)
