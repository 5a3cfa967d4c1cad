"""Bad inventory input stops the roll-out before anything changes, with a message that names the variable.

Runs the real site.yml with ansible-playbook against the lab inventory (limited to the broker play), for real: no
--check, in a throwaway base directory and Compose project on free loopback ports, so a run that got past the
checks would write the base directory and start a container on this machine's Docker engine. The tests assert
neither happened. Only the control case (valid input) runs with --check, and shows that a real run would write."""

import json
import os
import subprocess
import uuid
from pathlib import Path

from mosquitto_broker import containers_of, free_port, venv_tool

REPO = Path(__file__).resolve().parents[3]


def rollout(tmp_path, *options, **overrides):
    project = f"bad-input-{uuid.uuid4().hex[:8]}"
    variables = {"ming_base_dir": str(tmp_path / "ming"), "ming_compose_project": project,
                 "ming_lab_secrets_dir": str(tmp_path / "secrets"), "mosquitto_listen_addresses": ["127.0.0.1"],
                 "mosquitto_tls_port": free_port(), "mosquitto_plain_port": free_port(), **overrides}
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    run = subprocess.run(
        [str(venv_tool("ansible-playbook")), "site.yml", *options, "--limit", "ming_brokers",
         "-e", json.dumps(variables)],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False)
    run.project = project
    return run


def test_missing_secret_fails_in_preflight_naming_the_variable(tmp_path):
    run = rollout(tmp_path, mosquitto_health_password="")
    assert run.returncode != 0
    assert not (tmp_path / "ming").exists(), "the roll-out wrote the base directory before the checks stopped it"
    assert containers_of(run.project) == []
    assert "mosquitto_health_password" in run.stdout
    assert "Set it in the inventory" in run.stdout


def test_wrong_type_is_rejected_by_the_argument_spec(tmp_path):
    run = rollout(tmp_path, mosquitto_autosave_interval="soon")
    assert run.returncode != 0
    assert not (tmp_path / "ming").exists(), "the roll-out wrote the base directory before the checks stopped it"
    assert containers_of(run.project) == []
    assert "mosquitto_autosave_interval" in run.stdout
    assert "int" in run.stdout


def test_valid_lab_inventory_passes_the_same_checks(tmp_path):
    """The control case: without the bad value the same check run succeeds, so the failures above are the checks'."""
    run = rollout(tmp_path, "--check")
    assert run.returncode == 0, run.stdout
    # A real run of the same input would write: so the bad runs above, without --check, were stopped by the checks.
    assert "changed=0" not in run.stdout, run.stdout[-3000:]
