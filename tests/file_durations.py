"""pytest plugin (``-p file_durations``, pyproject.toml): slowest test files first, and how long each file took.

The pytest stage runs whole files per worker (``--dist loadfile`` with ``--no-loadscope-reorder``,
scripts/run-tests.sh). xdist's default order puts the files with the most tests first: the many fast unit files,
then the few long integration files last, so one worker could still be running a 10-minute broker file while the
other sat idle. Here the files are ordered by how long they took (``tests/file_durations.json``), longest first
(the classic longest-processing-time rule), so the short files fill the gaps at the end. A file missing from the
table counts as ``DEFAULT_SECONDS`` for its directory.

At the end of a run, the controller prints the slowest files and each worker's busy time, and writes every file's
time to ``build/test-file-durations.json``: copy it over ``tests/file_durations.json`` after a full run to refresh
the order (docs/developing.md, "Test time").
"""

import json
from collections import defaultdict
from pathlib import Path

import pytest

TABLE = Path(__file__).with_name("file_durations.json")
MEASURED = Path(__file__).resolve().parents[1] / "build" / "test-file-durations.json"
# What a file the table does not know yet is assumed to take.
DEFAULT_SECONDS = {"tests/integration/": 30.0, "tests/": 1.0}
SHOWN = 12


def file_of(nodeid):
    return nodeid.split("::", 1)[0]


def load_table(path=TABLE):
    try:
        table = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    return {str(name): float(seconds) for name, seconds in table.items()}


def weight(path, table):
    if path in table:
        return table[path]
    for prefix, seconds in DEFAULT_SECONDS.items():
        if path.startswith(prefix):
            return seconds
    return 1.0


def longest_first(items, table):
    """``items`` reordered by their file's weight, longest first. The sort is stable, so a file's tests keep their
    order and stay together (its module fixtures are set up once)."""
    return sorted(items, key=lambda item: -weight(file_of(item.nodeid), table))


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    items[:] = longest_first(items, load_table())


class Recorder:
    def __init__(self):
        self.files = defaultdict(float)
        self.workers = defaultdict(float)

    def pytest_runtest_logreport(self, report):
        self.files[file_of(report.nodeid)] += report.duration
        node = getattr(report, "node", None)
        worker = getattr(getattr(node, "gateway", None), "id", "main")
        self.workers[worker] += report.duration

    def pytest_terminal_summary(self, terminalreporter):
        if not self.files:
            return
        slowest = sorted(self.files.items(), key=lambda entry: -entry[1])
        terminalreporter.write_sep("=", f"slowest {min(SHOWN, len(slowest))} test files")
        for name, seconds in slowest[:SHOWN]:
            terminalreporter.write_line(f"{seconds:8.1f}s {name}")
        busy = ", ".join(f"{worker} {seconds:.0f}s" for worker, seconds in sorted(self.workers.items()))
        terminalreporter.write_line(f"busy time per worker: {busy}")
        MEASURED.parent.mkdir(exist_ok=True)
        MEASURED.write_text(json.dumps({name: round(seconds, 1) for name, seconds in sorted(self.files.items())},
                                       indent=1) + "\n")


def pytest_configure(config):
    # The controller records; xdist workers (which have workerinput) only run tests.
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Recorder(), "file_durations_recorder")
