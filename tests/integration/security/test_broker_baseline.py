"""The container baseline and the health probe's credentials, on a rolled-out broker: the real Mosquitto 2.0.11 of
the lab image (ming/mosquitto:lab) rolled out by the mosquitto role through compose_project on this machine's
Docker 20.10 engine, in a Compose project of its own (tests/integration/broker/rollout.yml). Nothing is a double.

- Baseline: ``docker inspect`` of the running broker shows a non-root user, CapDrop ALL and no CapAdd,
  no-new-privileges, a read-only root filesystem, and the pids and memory limits the inventory variables set.
- Health probe: while the probe runs (the broker is paused with SIGSTOP so that mosquitto_sub waits for its CONNACK
  and can be seen), no process's command line holds the probe's password; after SIGCONT the container is healthy.
"""

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "broker"))

from broker_rollout import Rollout, remove_project, require_docker_and_lab_image  # noqa: E402

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PROJECT = f"baseline-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-mosquitto"
PIDS_LIMIT = 97
MEMORY_LIMIT = "200m"


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    require_docker_and_lab_image()
    rollout = Rollout(tmp_path_factory.mktemp("baseline"), {"ming_compose_project": PROJECT}, CONTAINER)
    rollout.run(compose_project_pids_limit=PIDS_LIMIT, compose_project_memory_limit=MEMORY_LIMIT)
    assert rollout.wait_healthy(), rollout.state()
    yield rollout
    remove_project(PROJECT)  # with the firewall chain compose_project made for the broker


def inspect(container):
    done = subprocess.run(["docker", "inspect", container], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)[0]


def test_the_broker_runs_with_the_container_baseline(broker):
    """Non-root 1883:1883, every capability dropped and none added, no-new-privileges, read-only root, the limits
    from compose_project_pids_limit / compose_project_memory_limit; the broker process itself runs as uid 1883."""
    config = inspect(CONTAINER)
    host = config["HostConfig"]
    assert config["Config"]["User"] == "1883:1883"
    assert host["CapDrop"] == ["ALL"]
    assert not host["CapAdd"], host["CapAdd"]
    assert "no-new-privileges:true" in host["SecurityOpt"]
    assert host["ReadonlyRootfs"] is True
    assert host["Privileged"] is False
    assert host["PidsLimit"] == PIDS_LIMIT
    assert host["Memory"] == 200 * 1024 * 1024
    assert "sensingcam.ming.baseline.relaxed" not in config["Config"]["Labels"]
    status = Path(f"/proc/{config['State']['Pid']}/status").read_text()
    uids = next(line for line in status.splitlines() if line.startswith("Uid:")).split()[1:]
    assert uids == ["1883"] * 4, status
    # Published on the address the variables name, nowhere else.
    bindings = [binding["HostIp"] for port in host["PortBindings"].values() for binding in port]
    assert bindings and set(bindings) == {"127.0.0.1"}, host["PortBindings"]


def cmdlines():
    """Every process's command line on this machine (containers' processes included), as text."""
    lines = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                lines[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
    return lines


def test_the_health_probe_keeps_its_password_out_of_every_command_line(broker):
    """The probe's mosquitto_sub reads its login from the options file: while it runs, neither it nor its shell nor
    any other process carries the password in its arguments, and the password is not in the environment."""
    password = broker.passwords["health"]
    config = inspect(CONTAINER)
    broker_pid = config["State"]["Pid"]
    seen = []
    os.kill(broker_pid, signal.SIGSTOP)  # the probe now connects and waits up to 5 s for its CONNACK
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not seen:
            snapshot = cmdlines()
            seen = [line for line in snapshot.values() if line.startswith("mosquitto_sub ")]
            leaked = [line for line in snapshot.values() if password in line]
            assert leaked == [], f"the health password is in a command line: {leaked}"
            time.sleep(0.05)
    finally:
        os.kill(broker_pid, signal.SIGCONT)
    assert seen, "the health probe's mosquitto_sub was never seen running"
    assert all("-P" not in line.split() for line in seen), seen
    assert broker.wait_healthy(), broker.state()
    assert password not in json.dumps(config["Config"]["Env"])
    assert password not in json.dumps(config["Config"]["Healthcheck"])
    options = broker.base_dir / "mosquitto" / "config" / "mosquitto_sub"
    assert options.stat().st_mode & 0o777 == 0o440 and options.stat().st_gid == 1883
    assert not (broker.base_dir / "mosquitto" / "config" / "health.secret").exists()
