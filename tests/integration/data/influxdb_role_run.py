"""Run the influxdb role (or its data_model entry point) with ansible-playbook for the role tests in this directory:
the tools next to the running interpreter, the JSON callback, every output kept for the secret check.

Every run is made the way secrets leak most easily: ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1`` (module
arguments shown), so a task without ``no_log`` that handles a password or a token shows it. ``leaked()`` scans the
whole output of every run for every secret the test handed in or the role stored (token files)."""

import json
from pathlib import Path

from playbook_report import PlaybookResult, json_report, run_json_playbook

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
ROLLOUT = HERE / "influxdb_rollout.yml"
DATA_MODEL = HERE / "influxdb_data_model.yml"


class RoleRun:
    """Runs a playbook of this directory with extra vars from ``variables`` and remembers every output."""

    def __init__(self, directory, playbook, variables, secrets):
        self.directory = Path(directory)
        self.playbook = playbook
        self.variables = dict(variables)
        self.secrets = dict(secrets)
        self.secret_files = []
        self.outputs = []

    def run(self, check=False, expect_failure=False, tags=None, **overrides):
        extra_vars = self.directory / "extra-vars.json"
        extra_vars.write_text(json.dumps(dict(self.variables, **overrides)))
        extra_vars.chmod(0o600)
        done = run_json_playbook(["-i", "localhost,", str(self.playbook), "-e", f"@{extra_vars}"], check=check,
                                 tags=tags, timeout=900)
        self.outputs.append(done.stdout + done.stderr)
        if expect_failure:
            assert done.returncode != 0, done.stdout[-6000:]
            return done.stdout + done.stderr
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
        return PlaybookResult(json_report(done.stdout))

    def leaked(self):
        """Names of the secrets (and stored token files) whose value appeared in any run's output."""
        everything = "\n".join(self.outputs)
        names = [name for name, value in self.secrets.items() if value and value in everything]
        for path in self.secret_files:
            if path.exists():
                value = path.read_text().strip()
                if value and value in everything:
                    names.append(str(path))
        return names
