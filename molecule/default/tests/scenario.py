"""What the verifier reads of this molecule run: the scenario's inventory and the lab inventory it mirrors (through
``ansible-inventory``, host variables as written: no lookup is resolved), and the Ansible log of every playbook the
run made (molecule.yml sets ANSIBLE_LOG_PATH for them and another log for the verifier's own Ansible calls;
destroy.yml deletes an earlier run's log)."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent"))
SECRETS = EPHEMERAL / "secrets"
# The provisioner's ANSIBLE_LOG_PATH in molecule.yml.
ANSIBLE_LOG = EPHEMERAL / "ansible.log"
BASE_DIR = Path("/opt/ming-molecule")
CAMERAS = ("cam-line1-st10", "cam-line1-st20", "cam-line2-st10")

# One log record: "2026-12-04 18:58:36,118 p=9291 u=root n=ansible INFO| ok: [localhost] => {" and its next lines.
RECORD = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ p=(\d+) u=\S* n=\S* [A-Z]+\| ", re.MULTILINE)
RECAP_LINE = re.compile(r"^(\S+)\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)


def require_molecule():
    if "MOLECULE_EPHEMERAL_DIRECTORY" not in os.environ:
        pytest.fail("these tests verify a molecule run: run them with `molecule test --scenario-name default` "
                    "(MOLECULE_EPHEMERAL_DIRECTORY is not set)")


def ansible_inventory(source):
    """``ansible-inventory --list`` of ``source``, run so that it adds to no log and prints only the inventory."""
    environment = {name: value for name, value in os.environ.items()
                   if name not in ("ANSIBLE_LOG_PATH", "ANSIBLE_VERBOSITY")}
    command = [str(Path(sys.executable).parent / "ansible-inventory"), "-i", str(source), "--list"]
    done = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)  # noqa: S603
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def scenario_hostvars():
    """Host variables of the scenario's inventory: molecule's inventory directory, with the cameras' ports that
    prepare.yml wrote there."""
    require_molecule()
    return ansible_inventory(EPHEMERAL / "inventory")["_meta"]["hostvars"]


def lab_hostvars():
    return ansible_inventory(REPO / "inventories" / "lab" / "hosts.yml")["_meta"]["hostvars"]


class Run:
    """One Ansible command of the log: the consecutive records of one process."""

    def __init__(self, text, start, first_line):
        self.text = text
        self.start = start
        self.first_line = first_line
        match = re.search(r"^PLAYBOOK: (\S+)", text, re.MULTILINE)
        self.playbook = match.group(1) if match else None
        self.dry_run = re.search(r"^DRY RUN \*", text, re.MULTILINE) is not None

    def recap(self):
        """{host: {"ok", "changed", "unreachable", "failed"}} from the run's PLAY RECAP."""
        _before, banner, after = self.text.rpartition("PLAY RECAP")
        assert banner, f"the run at log line {self.first_line} ({self.playbook}) has no PLAY RECAP"
        return {host: dict(zip(("ok", "changed", "unreachable", "failed"), map(int, counts), strict=True))
                for host, *counts in RECAP_LINE.findall(after)}


def log_text():
    """The whole Ansible log of this run; a missing or empty log fails (a scan of nothing cannot pass)."""
    require_molecule()
    assert ANSIBLE_LOG.is_file(), f"no Ansible log at {ANSIBLE_LOG}: molecule.yml must set ANSIBLE_LOG_PATH"
    text = ANSIBLE_LOG.read_text(errors="replace")
    assert text.strip(), f"the Ansible log {ANSIBLE_LOG} is empty"
    return text


def log_runs(text):
    """The log split into runs, in order: a run is the consecutive records of one process id."""
    records = [(match.start(), match.group(1)) for match in RECORD.finditer(text)]
    assert records, f"no Ansible log record in {ANSIBLE_LOG}"
    bounds = []
    for start, pid in records:
        if not bounds or bounds[-1][1] != pid:
            bounds.append([start, pid])
    runs = []
    for index, (start, _pid) in enumerate(bounds):
        end = bounds[index + 1][0] if index + 1 < len(bounds) else len(text)
        runs.append(Run(RECORD.sub("", text[start:end]), start, text.count("\n", 0, start) + 1))
    return runs


def converge_runs(runs):
    """{"check (fresh host)", "converge", "idempotence", "check (converged host)"}: the four runs of converge.yml,
    asserted to be exactly those of molecule.yml's test_sequence, in that order."""
    playbook_runs = [run for run in runs if run.playbook == "converge.yml"]
    kinds = ["check" if run.dry_run else "converge" for run in playbook_runs]
    assert kinds == ["check", "converge", "converge", "check"], (
        f"the log holds the converge.yml runs {kinds}, not check, converge, idempotence, check: the log is not "
        "of one `molecule test` run")
    return dict(zip(("check (fresh host)", "converge", "idempotence", "check (converged host)"), playbook_runs,
                    strict=True))
