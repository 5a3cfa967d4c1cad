"""Bad inventory input stops the roll-out before anything changes, with a message that names the variable.

Runs the real site.yml with ansible-playbook --check against the lab inventory (limited to the broker play); no
service is touched, because preflight and argument validation run first."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def venv_tool(name):
    """A console script of the venv that runs the tests, never a path into the checkout."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not next to {sys.executable}: run pytest from the project venv")
    return path


def rollout(tmp_path, **overrides):
    variables = {"ming_base_dir": str(tmp_path / "ming"), "ming_compose_project": "ming-bad-input",
                 "ming_lab_secrets_dir": str(tmp_path / "secrets"), **overrides}
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [str(venv_tool("ansible-playbook")), "site.yml", "--check", "--limit", "ming_brokers",
         "-e", json.dumps(variables)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)


def test_missing_secret_fails_in_preflight_naming_the_variable(tmp_path):
    run = rollout(tmp_path, mosquitto_health_password="")
    assert run.returncode != 0
    assert "mosquitto_health_password" in run.stdout
    assert "Set it in the inventory" in run.stdout
    assert not (tmp_path / "ming").exists()


def test_wrong_type_is_rejected_by_the_argument_spec(tmp_path):
    run = rollout(tmp_path, mosquitto_autosave_interval="soon")
    assert run.returncode != 0
    assert "mosquitto_autosave_interval" in run.stdout
    assert "int" in run.stdout
    assert not (tmp_path / "ming").exists()


def test_valid_lab_inventory_passes_the_same_checks(tmp_path):
    """The control case: without the bad value the same check run succeeds, so the failures above are the checks'."""
    run = rollout(tmp_path)
    assert run.returncode == 0, run.stdout
