"""One lab per machine: scripts/lab.sh refuses a second checkout while the first one's lab runs.

Real processes and the real Docker engine: the "running lab" is a process whose command line names the camera
simulator (as scripts/camera-simulator-lab.sh finds it) or a container carrying the lab's Compose project label.
Each test uses its own state directory (MING_DEV_DIR) and project name, so a running lab is never touched.
"""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
LAB = REPO / "scripts" / "lab.sh"
SIMULATOR_LAB = REPO / "scripts" / "camera-simulator-lab.sh"


def run(script, *args, state_dir, project):
    env = dict(os.environ, MING_DEV_DIR=str(state_dir), MING_LAB_PROJECT=project)
    return subprocess.run(["bash", str(script), *args], env=env, capture_output=True, text=True, timeout=60,
                          check=False)


@pytest.fixture
def lab_state(tmp_path):
    state = tmp_path / "state"
    state.mkdir()
    other = tmp_path / "other-checkout"
    other.mkdir()
    return state, other, "ming-owner-test-" + uuid.uuid4().hex[:8]


@pytest.fixture
def fake_simulator(lab_state):
    """A process that looks like the lab's camera simulator to the scripts (its argv[0] names it)."""
    state = lab_state[0]
    process = subprocess.Popen(["bash", "-c", "exec -a sensingcam_simulator sleep 120"])
    for attempt in range(100):
        cmdline = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        if b"sensingcam_simulator" in cmdline or attempt == 99:
            break
    (state / "camera-simulator-lab.pid").write_text(f"{process.pid}\n")
    yield process
    process.kill()
    process.wait()


def test_first_checkout_claims_the_lab(lab_state):
    state, project = lab_state[0], lab_state[2]
    result = run(LAB, "check", state_dir=state, project=project)
    assert result.returncode == 0, result.stderr
    assert (state / "lab-owner").read_text().strip() == str(REPO)


def test_a_lab_that_no_longer_runs_is_taken_over(lab_state):
    state, other, project = lab_state
    (state / "lab-owner").write_text(str(other) + "\n")
    result = run(LAB, "check", state_dir=state, project=project)
    assert result.returncode == 0, result.stderr
    assert f"Taking over the lab from {other}" in result.stdout
    assert (state / "lab-owner").read_text().strip() == str(REPO)


def test_second_checkout_is_refused_while_the_first_ones_simulator_runs(lab_state, fake_simulator):
    state, other, project = lab_state
    (state / "lab-owner").write_text(str(other) + "\n")
    for script, args in ((LAB, ["check"]), (LAB, []), (SIMULATOR_LAB, ["start"]), (SIMULATOR_LAB, ["stop"])):
        result = run(script, *args, state_dir=state, project=project)
        assert result.returncode == 1, (script, args, result.stdout, result.stderr)
        assert f"run by the checkout {other} (camera simulator pid {fake_simulator.pid})" in result.stderr
        assert f"make -C {other} clean-lab" in result.stderr
    # Nothing of the other lab was touched: its owner record stays, its simulator still runs.
    assert (state / "lab-owner").read_text().strip() == str(other)
    assert fake_simulator.poll() is None


@pytest.mark.docker
def test_second_checkout_is_refused_while_the_first_ones_containers_run(lab_state):
    state, other, project = lab_state
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("docker CLI not found: run scripts/docker-engine.sh (make test does)")
    (state / "lab-owner").write_text(str(other) + "\n")
    name = project + "-broker"
    subprocess.run([docker, "run", "--detach", "--rm", "--name", name, "--network", "none",
                    "--label", "com.docker.compose.project=" + project, "ming/debian-base:bookworm", "sleep", "120"],
                   check=True, capture_output=True, timeout=60)
    try:
        result = run(LAB, "check", state_dir=state, project=project)
    finally:
        subprocess.run([docker, "rm", "--force", name], check=False, capture_output=True, timeout=60)
    assert result.returncode == 1, result.stdout
    assert f"run by the checkout {other} (containers {name})" in result.stderr
