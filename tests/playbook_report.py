"""What an ansible-playbook run with the JSON callback (``ANSIBLE_STDOUT_CALLBACK=json``) reports, for the tests
that run playbooks: the broker and InfluxDB roll-outs and compose_project's certificate entry point.

``json_report(stdout)`` finds the report in the output (``-vvv`` prints lines before it); ``PlaybookResult`` reads
it: the host's stats, and which tasks ran, changed or failed. Task names are compared without the ``<role> : ``
prefix the callback adds to role tasks. ``run_json_playbook`` makes such a run the way the role tests do.
"""

import json
import os
import re
import subprocess
from pathlib import Path

from mosquitto_broker import venv_tool

REPO = Path(__file__).resolve().parents[1]


def run_json_playbook(arguments, check=False, tags=None, timeout=600):
    """``ansible-playbook <arguments> --diff -vvv [--check] [--tags T]`` from the checkout with its ansible.cfg, the
    JSON callback and every result's module arguments (ANSIBLE_INJECT_INVOCATION), so a secret in an argument, a
    diff or a result shows in the output the tests scan; the CompletedProcess, whatever its return code."""
    command = [str(venv_tool("ansible-playbook")), *arguments, "--diff", "-vvv"]
    if check:
        command.append("--check")
    if tags:
        command += ["--tags", tags]
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_INJECT_INVOCATION="1", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"))
    return subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True,  # noqa: S603
                          timeout=timeout, check=False)


def json_report(stdout):
    """The JSON callback's report: the last top-level JSON object in stdout (-vvv prints lines before it)."""
    decoder = json.JSONDecoder()
    for start in reversed([match.start() for match in re.finditer(r"^\{$", stdout, re.MULTILINE)]):
        try:
            report, _end = decoder.raw_decode(stdout[start:])
        except ValueError:
            continue
        if isinstance(report, dict) and "plays" in report and "stats" in report:
            return report
    raise AssertionError(f"no JSON report in the output: {stdout[-3000:]}")


def short_name(task_name):
    """A task's name without the ``<role> : `` prefix."""
    return task_name.rpartition(" : ")[2]


class PlaybookResult:
    """One run's report, seen from one host (``localhost``: every playbook of these tests runs there)."""

    host = "localhost"

    def __init__(self, report):
        self.report = report
        self.stats = report["stats"][self.host]
        self.changed = self.stats["changed"]

    def tasks(self):
        """(full task name, this host's result) of every task that ran for the host, in order."""
        for play in self.report["plays"]:
            for task in play["tasks"]:
                if self.host in task["hosts"]:
                    yield task["task"]["name"], task["hosts"][self.host]

    def changed_tasks(self):
        """The full names of the tasks that reported a change."""
        return [name for name, host in self.tasks() if host.get("changed")]

    def task_changed(self, name):
        """True when a task (or handler) of this short name ran and reported a change."""
        return any(short_name(task) == name and host.get("changed") and not host.get("skipped")
                   for task, host in self.tasks())

    def task_result(self, name):
        """The host's result of the last task of this short name."""
        found = [host for task, host in self.tasks() if short_name(task) == name]
        assert found, f"no task named {name!r} ran"
        return found[-1]

    def failures(self):
        """(short name, message) of every task that failed."""
        return [(short_name(task), host.get("msg", "")) for task, host in self.tasks() if host.get("failed")]
