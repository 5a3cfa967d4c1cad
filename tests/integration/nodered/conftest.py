"""Fixtures of the nodered role tests (test_nodered_role*.py): a runner of nodered_rollout.yml with
ansible-playbook against an inventory the test writes (the app host and its cameras), every output kept for the
secret scan.

Every run is made the way secrets leak most easily: ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1`` (module
arguments shown), so a task without ``no_log`` that handles a password or a token shows it. ``leaked()`` scans the
whole output of every run for every secret the test handed in."""

import json
from pathlib import Path

import pytest
import yaml
from playbook_report import PlaybookResult, json_report, run_json_playbook
from role_settings import CAMERAS

REPO = Path(__file__).resolve().parents[3]
ROLLOUT = Path(__file__).resolve().parent / "nodered_rollout.yml"


class NoderedRoleRun:
    """Runs nodered_rollout.yml against ``<directory>/inventory.yml`` with extra vars and remembers every output."""

    def __init__(self, directory, variables, secrets, cameras=None, host_vars=None, host_groups=()):
        self.directory = Path(directory)
        self.variables = dict(variables)
        self.secrets = dict(secrets)
        self.cameras = CAMERAS if cameras is None else cameras
        # Inventory variables of the app host (localhost), and more groups it belongs to (e.g. ming_brokers).
        self.host_vars = dict(host_vars or {})
        self.host_groups = tuple(host_groups)
        self.outputs = []

    def write_inventory(self, cameras):
        hosts = {name: dict(values, sensingcam_username="Service",
                            sensingcam_password=self.secrets.get(f"camera:{name}", ""))
                 for name, values in cameras.items()}
        children = {
            "ming_apps": {"hosts": {"localhost": dict(self.host_vars, ansible_connection="local")}},
            "sensingcams": {"hosts": hosts, "vars": {"ansible_connection": "local"}},
        }
        for group in self.host_groups:
            children[group] = {"hosts": {"localhost": {}}}
        inventory = {"all": {"children": children}}
        path = self.directory / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        path.chmod(0o600)
        return path

    def run(self, check=False, expect_failure=False, tags=None, cameras=None, **overrides):
        inventory = self.write_inventory(self.cameras if cameras is None else cameras)
        extra_vars = self.directory / "extra-vars.json"
        extra_vars.write_text(json.dumps(dict(self.variables, **overrides)))
        extra_vars.chmod(0o600)
        done = run_json_playbook(["-i", str(inventory), str(ROLLOUT), "-e", f"@{extra_vars}"], check=check, tags=tags,
                                 timeout=900)
        self.outputs.append(done.stdout + done.stderr)
        if expect_failure:
            assert done.returncode != 0, done.stdout[-6000:]
            return done.stdout + done.stderr
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
        return PlaybookResult(json_report(done.stdout))

    def leaked(self):
        """Names of the secrets whose value appeared in any run's output."""
        everything = "\n".join(self.outputs)
        return [name for name, value in self.secrets.items() if value and value in everything]


@pytest.fixture(scope="session")
def nodered_role_runner():
    """``nodered_role_runner(directory, variables, secrets, cameras=None)`` -> a NoderedRoleRun."""
    return NoderedRoleRun
