"""The suite's own rule (tests/conftest.py): under CI=true a skipped test fails, elsewhere it is reported.

Runs a real pytest in a subprocess on a throwaway test file next to a copy of tests/conftest.py.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[2] / "conftest.py"
SKIPPING = '''
import pytest

def test_skips_itself():
    pytest.skip("prerequisite missing")

@pytest.mark.skipif(True, reason="marker says so")
def test_skipped_by_marker():
    pass

def test_passes():
    pass
'''


@pytest.fixture
def suite(tmp_path):
    shutil.copy(CONFTEST, tmp_path / "conftest.py")
    # The plugin the conftest loads its file-order hooks from (tests/file_durations.py).
    shutil.copy(CONFTEST.with_name("file_durations.py"), tmp_path / "file_durations.py")
    (tmp_path / "test_sample.py").write_text(SKIPPING)

    def run(ci):
        env = {key: value for key, value in os.environ.items() if key != "CI"}
        if ci is not None:
            env["CI"] = ci
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                               f"--basetemp={tmp_path / 'basetemp'}", str(tmp_path)],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False)

    return run


def test_skips_fail_under_ci(suite):
    result = suite("true")
    assert result.returncode == 1, result.stdout
    assert "CI=true: a skip is a failure here" in result.stdout
    assert "prerequisite missing" in result.stdout and "marker says so" in result.stdout
    assert "1 passed" in result.stdout


@pytest.mark.parametrize("ci", [None, "false"])
def test_skips_are_counted_outside_ci(suite, ci):
    result = suite(ci)
    assert result.returncode == 0, result.stdout
    assert "skipped tests: 2" in result.stdout
    assert "1 passed, 2 skipped" in result.stdout
