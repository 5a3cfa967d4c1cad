"""roles/frigate/files/frigate_validate.py: the verdict on Frigate's ``--validate-config`` output, and the command.

The canned outputs are written from ``frigate/__main__.py`` at each tag (v0.16.4: errors, exit 1; v0.17.2 and the
0.18 source: errors, then "Starting Frigate in safe mode.", then "Your config file is valid." and exit 0) and from
``frigate/util/config.py`` (the read-only migration message every :ro run logs). Not a real Frigate: the image
cannot run here. ``main`` runs against a stand-in ``docker`` on PATH that prints a canned output, so the exit code
of the whole script is checked too.

Mutations tried (each restored, each made the named test fail):
- the 'safe mode' marker removed -> test_verdicts[safe mode without the banner], test_the_reason_names_what_failed
- the 'config validation errors' marker removed -> test_the_reason_names_what_failed
- the returncode check removed -> test_verdicts[valid line but exit 1]
- the VALID_MARKER requirement removed -> test_verdicts[no output]
- ':ro' dropped from the config mount -> test_the_command_mounts_read_only_without_network
"""

import importlib.util
import os
import stat
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "frigate" / "files" / "frigate_validate.py"
SPEC = importlib.util.spec_from_file_location("frigate_validate", SCRIPT)
validate = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(validate)

STARS = "*" * 61
READ_ONLY = "[2026-12-05 08:00:00] frigate.util.config ERROR : Config file is read-only, unable to migrate config file."
VALID = f"{STARS}\n*** Your config file is valid.                            ***\n{STARS}\n"
ERRORS = (f"{STARS}\n{STARS}\n***    Your config file is not valid!                     ***\n{STARS}\n"
          f"***    Config Validation Errors                           ***\n{STARS}\n\n"
          "Line #  : 12\nKey     : cameras -> cam1 -> record -> retain\nValue   : {'days': 7}\n"
          "Message : Extra inputs are not permitted\n\n"
          f"{STARS}\n***    End Config Validation Errors                       ***\n{STARS}\n")
KEYERROR = ("Traceback (most recent call last):\n  File \"/opt/frigate/frigate/config/env.py\", line 18, in "
            "validate_env_string\n    return v.format(**FRIGATE_ENV_VARS)\nKeyError: 'FRIGATE_MQTT_PASSWORD'\n")

CASES = [
    ("0.16.4 valid", READ_ONLY + "\n" + VALID, 0, True),
    ("0.17.2 valid", READ_ONLY + "\n" + VALID, 0, True),
    ("0.16.4 invalid", READ_ONLY + "\n" + ERRORS, 1, False),
    ("0.17.2 invalid, exit 0", ERRORS + "Starting Frigate in safe mode.\n" + VALID, 0, False),
    ("0.18.0 invalid, exit 0", ERRORS + "Starting Frigate in safe mode.\n" + VALID, 0, False),
    ("0.17.2 invalid, no safe mode", ERRORS + "Unable to start Frigate in safe mode.\n", 1, False),
    ("missing secret", READ_ONLY + "\n" + KEYERROR, 1, False),
    ("0.16.4 invalid (exit 1) without banner", "something else went wrong\n", 1, False),
    ("no output", "", 0, False),
    ("valid line but exit 1", VALID, 1, False),
    ("safe mode without the banner", "Starting Frigate in safe mode.\n" + VALID, 0, False),
]


@pytest.mark.parametrize(("output", "code", "ok"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_verdicts(output, code, ok):
    assert validate.verdict(output, code)[0] is ok


def test_the_reason_names_what_failed():
    assert "validation errors" in validate.verdict(ERRORS + "Starting Frigate in safe mode.\n" + VALID, 0)[1]
    assert "safe mode" in validate.verdict("Starting Frigate in safe mode.\n" + VALID, 0)[1]
    assert "KeyError" in validate.verdict(KEYERROR, 1)[1]


def test_the_lines_shown_never_include_values():
    lines = validate.relevant_lines(ERRORS)
    assert any("Extra inputs are not permitted" in line for line in lines)
    assert not any(line.startswith("Value") for line in lines)


def test_the_command_mounts_read_only_without_network():
    argv = validate.command("ghcr.io/blakeblackshear/frigate:0.18.0", "/opt/ming/frigate/config/secrets", "/tmp/c.yml")
    assert "/tmp/c.yml:/config/config.yml:ro" in argv
    assert "/opt/ming/frigate/config/secrets:/run/secrets:ro" in argv
    assert argv[argv.index("--network") + 1] == "none" and "ALL" in argv
    assert argv[-4:] == ["-u", "-m", "frigate", "--validate-config"]
    assert "--privileged" not in argv


@pytest.fixture
def fake_docker(tmp_path, monkeypatch):
    """A ``docker`` on PATH that prints $FAKE_OUTPUT and exits with $FAKE_CODE."""
    script = tmp_path / "docker"
    script.write_text('#!/bin/sh\nprintf "%s" "$FAKE_OUTPUT"\nexit "$FAKE_CODE"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return monkeypatch


@pytest.mark.parametrize(("output", "code", "ok"), [CASES[0][1:], CASES[3][1:], CASES[6][1:]],
                         ids=["valid", "safe mode exit 0", "KeyError"])
def test_main_exit_code(fake_docker, capsys, output, code, ok):
    fake_docker.setenv("FAKE_OUTPUT", output)
    fake_docker.setenv("FAKE_CODE", str(code))
    assert validate.main(["--image", "img:0.18.0", "--secrets-dir", "/s", "/tmp/c.yml"]) == (0 if ok else 1)
    printed = capsys.readouterr().out
    assert ("Frigate validated the config" in printed) is ok
