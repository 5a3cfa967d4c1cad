"""`make lab` itself: scripts/lab.sh (what `make lab` runs) in a throwaway copy of this checkout, twice.

Real parts: scripts/lab.sh and every script it calls (venv check, Docker engine, lab image build, camera simulator
script, Frigate double script), the real Docker engine with the lab's Mosquitto, InfluxDB and Node-RED images and a
real Compose project, ansible-playbook site.yml and then playbooks/verify.yml (the self-test) on the copy's
inventories/lab. The lab cameras are the camera simulator (tools/camera_simulator), not real cameras; Frigate is the
Frigate API double (tools/frigate_double), not Frigate.

The copy runs beside a lab that `make lab` may have left running here: its inventory moves every port (broker
plain, TLS and health listeners, InfluxDB, Node-RED, the three cameras, the simulator's control API, the Frigate
double's HTTPS and control ports: MING_LAB_FRIGATE_PORT / _CONTROL_PORT and nodered_frigate_url), the Compose project
(ming_compose_project, and MING_LAB_PROJECT for lab.sh's own `docker compose down`), ming_base_dir, the state
directory (MING_DEV_DIR) and, being a copy, its .secrets/lab. The venv is the running one, linked and marked up to
date for the copy (link_running_venv), so bootstrap-venv.sh does not rebuild it. Cleaned up with
`scripts/lab.sh stop` in the copy.
"""

import hashlib
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from sensingcam_simulator.testing import free_ports

from .conftest import REPO, recap_of
from .test_camera_playbooks import LAB_CAMERAS, ports_free, stop_leftover_simulator

pytestmark = [pytest.mark.simulator, pytest.mark.slow]


def checkout_copy(root):
    """The checkout's files as git sees them (tracked and untracked, not ignored), copied to ``root``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.split(b"\0")
    for name in filter(None, listed):
        source = REPO / name.decode()
        if not source.is_file() and not source.is_symlink():
            continue  # deleted in the work tree
        target = root / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    link_running_venv(root)
    return root


def link_running_venv(root):
    """``root/.venv``: the running venv's bin, lib and pyvenv.cfg linked, and the copy's own requirements hash, so
    scripts/bootstrap-venv.sh finds it up to date (as after a first `make lab`) instead of building a venv with pip.
    This test proves lab.sh, not pip; the venv's packages are the ones this test runs with."""
    venv, running = root / ".venv", Path(sys.executable).parent.parent
    venv.mkdir()
    for entry in running.iterdir():
        if entry.name != ".requirements-hash":
            (venv / entry.name).symlink_to(entry)
    wanted = hashlib.sha256((root / "requirements-dev.txt").read_bytes()
                            + (root / "tools" / "camera_simulator" / "pyproject.toml").read_bytes()).hexdigest()
    (venv / ".requirements-hash").write_text(wanted + "\n")


def edit_yaml(path, change):
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text("---\n" + yaml.safe_dump(data, sort_keys=False))


def split_self_test(stdout):
    """(site.yml's output, verify.yml's output): lab.sh runs the self-test last."""
    rollout, marker, self_test = stdout.rpartition("PLAY [Pipeline self-test]")
    assert marker, f"`make lab` did not run playbooks/verify.yml:\n{stdout[-4000:]}"
    # site.yml's output ends with its recap block; what lab.sh prints after it (the Frigate double) is left out.
    head, recap_marker, tail = rollout.rpartition("PLAY RECAP")
    lines = tail.splitlines()
    kept = lines[:1] + list(itertools.takewhile(str.strip, lines[1:]))
    return head + recap_marker + "\n".join(kept) + "\n", self_test


def test_make_lab_twice_in_a_copy_of_the_checkout(tmp_path):
    """scripts/lab.sh: the first run succeeds, the broker listens on the copy's ports and the self-test
    (playbooks/verify.yml, run last) passes; the second run reports changed=0 for every host of the lab (localhost
    and the three cameras) and for the self-test; `scripts/lab.sh stop` stops the simulator and the Frigate double
    and removes the copy's Compose project."""
    docker = shutil.which("docker")
    if docker is None:
        pytest.fail("docker CLI not found: `make lab` needs the Docker engine (scripts/docker-engine.sh)")
    plain, tls, health, control, influxdb, nodered, frigate, frigate_control, *camera_ports = free_ports(
        8 + len(LAB_CAMERAS))
    project = f"mingtest{os.getpid()}"
    root = checkout_copy(tmp_path / "checkout")
    inventory = root / "inventories" / "lab"

    def hosts(data):
        cameras = data["all"]["children"]["sensingcams"]["hosts"]
        assert sorted(cameras) == sorted(LAB_CAMERAS), "inventories/lab changed its cameras: update this test"
        for name, port in zip(LAB_CAMERAS, camera_ports, strict=True):
            cameras[name]["sensingcam_port"] = port

    edit_yaml(inventory / "hosts.yml", hosts)
    edit_yaml(inventory / "group_vars" / "all.yml",
              lambda data: data.update(ming_base_dir=str(tmp_path / "opt-ming"), ming_compose_project=project))
    edit_yaml(inventory / "group_vars" / "ming_brokers.yml",
              lambda data: data.update(mosquitto_plain_port=plain, mosquitto_tls_port=tls,
                                       mosquitto_health_port=health))
    edit_yaml(inventory / "group_vars" / "ming_data.yml", lambda data: data.update(influxdb_port=influxdb))
    edit_yaml(inventory / "group_vars" / "ming_apps.yml",
              lambda data: data.update(nodered_port=nodered, nodered_frigate_url=f"https://127.0.0.1:{frigate}",
                                       nodered_frigate_public_url=f"https://127.0.0.1:{frigate}"))
    state_dir = tmp_path / "state"
    env = {key: value for key, value in os.environ.items() if not key.startswith("ANSIBLE_")}
    env.update(MING_DEV_DIR=str(state_dir), MING_LAB_PROJECT=project, MING_LAB_SIMULATOR_CONTROL_PORT=str(control),
               MING_LAB_FRIGATE_PORT=str(frigate), MING_LAB_FRIGATE_CONTROL_PORT=str(frigate_control),
               PWD=str(root), ANSIBLE_NOCOLOR="1")
    lab = [str(root / "scripts" / "lab.sh")]

    def run(*args):
        return subprocess.run(["bash", *lab, *args], cwd=root, env=env, capture_output=True, text=True,
                              timeout=1200, check=False)

    expected_hosts = ["localhost", *LAB_CAMERAS]
    try:
        first = run()
        assert first.returncode == 0, first.stdout[-6000:] + first.stderr[-3000:]
        rollout, self_test = split_self_test(first.stdout)
        recap_of(rollout, expected_hosts)
        assert "Self-test passed" in self_test, self_test[-6000:]
        assert recap_of(self_test, ["localhost"])["localhost"]["failed"] == 0
        assert not ports_free(plain, tls), "the copy's broker listens on its own ports"
        containers = subprocess.run([docker, "ps", "--filter", f"label=com.docker.compose.project={project}",
                                     "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout
        assert f"{project}-mosquitto" in containers.split(), containers
        assert (tmp_path / "opt-ming" / "mosquitto").is_dir()
        assert (root / ".secrets" / "lab" / "sensingcam-service").is_file(), "the copy's own secrets"

        second = run()
        assert second.returncode == 0, second.stdout[-6000:] + second.stderr[-3000:]
        rollout, self_test = split_self_test(second.stdout)
        counts = recap_of(rollout, expected_hosts)
        changed = {host: count["changed"] for host, count in counts.items() if count["changed"]}
        assert not changed, f"second `make lab` changed {changed}:\n{rollout[-6000:]}"
        assert all(count["failed"] == 0 and count["ok"] > 0 for count in counts.values()), rollout[-6000:]
        assert "Self-test passed" in self_test, self_test[-6000:]
        assert recap_of(self_test, ["localhost"])["localhost"]["changed"] == 0, self_test[-3000:]
    finally:
        stopped = run("stop")
        stop_leftover_simulator(state_dir)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "stopped" in stopped.stdout
    assert "Frigate API double for the lab stopped" in stopped.stdout, stopped.stdout
    left = subprocess.run([docker, "ps", "-a", "--filter", f"label=com.docker.compose.project={project}",
                           "--format", "{{.Names}}"], capture_output=True, text=True, check=True).stdout
    assert left.strip() == "", f"containers of {project} left: {left}"
    assert ports_free(plain, tls, influxdb, nodered, frigate, frigate_control, *camera_ports)
