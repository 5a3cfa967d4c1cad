"""Roll the mosquitto role out with ansible-playbook (tests/integration/broker/rollout.yml) on this machine's Docker
engine, for the broker tests: the tools next to the running interpreter, the JSON callback, every output kept for
the secret check, and the container's state as Docker reports it.

Every run is made the way secrets leak most easily: ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1`` (without
it ansible-core 2.21 does not show module arguments at all), so a task without ``no_log`` that handles a password,
the CA passphrase or a private key shows it in the output. ``Rollout.leaked()`` scans the whole output of every run
(stdout and stderr) for every password, the CA passphrase and every body line of every private key the role wrote.
"""

import json
import os
import re
import shutil
import subprocess
import time
import uuid
from pathlib import Path

from mosquitto_broker import free_port, remove_compose_project, require, venv_tool
from playbook_report import PlaybookResult, json_report

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = Path(__file__).with_name("rollout.yml")
IMAGE = "ming/mosquitto:lab"


def require_docker_and_lab_image():
    """The Docker engine answers and the lab image exists (a failure under CI=true, a skip with the reason else)."""
    ready = shutil.which("docker") is not None and subprocess.run(
        ["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode == 0
    require(ready, f"needs the Docker engine (scripts/docker-engine.sh) and {IMAGE} (scripts/build-lab-images.sh)")


def secret():
    return f"pw-{uuid.uuid4().hex}"


class Rollout:
    """Runs rollout.yml with the JSON callback and keeps every output for the secret check.

    ``project_variables`` name the Compose project the way a plant would (``ming_compose_project`` or
    ``compose_project_name``); ``container`` is the name the test expects Docker to know the broker by.
    """

    def __init__(self, directory, project_variables, container):
        self.directory = directory
        self.project_variables = dict(project_variables)
        self.container = container
        self.base_dir = directory / "base"
        self.ca_dir = directory / "ca"
        self.tls_port = free_port()
        self.plain_port = free_port()
        self.passwords = {name: secret() for name in ("health", "nodered", "plc-line1", "plc-line3", "bridge-edge",
                                                      "ca-passphrase")}
        # Private keys whose PEM body lines must never appear in an output: the managed CA's, the broker's, and any
        # a test adds (a plant PKI's key given as a file).
        self.key_files = [self.ca_dir / "ca.key", self.base_dir / "mosquitto" / "config" / "certs" / "server.key"]
        self.key_lines = set()
        self.clients = [
            {"name": "nodered", "role": "nodered"},
            {"name": "plc-line1", "role": "plc", "line": "line1"},
        ]
        self.outputs = []
        self.ansible_playbook = venv_tool("ansible-playbook")

    def variables(self, **overrides):
        variables = {
            "ming_base_dir": str(self.base_dir),
            **self.project_variables,
            "mosquitto_image": IMAGE,
            "mosquitto_listen_addresses": ["127.0.0.1"],
            "mosquitto_tls_port": self.tls_port,
            "mosquitto_plain_listener_enabled": True,
            "mosquitto_plain_port": self.plain_port,
            "mosquitto_tls_managed_ca_dir": str(self.ca_dir),
            "mosquitto_tls_managed_ca_passphrase": self.passwords["ca-passphrase"],
            "mosquitto_tls_san": ["localhost", "127.0.0.1"],
            "mosquitto_health_password": self.passwords["health"],
            "mosquitto_clients": [dict(client, password=self.passwords[client["name"]]) for client in self.clients],
        }
        variables.update(overrides)
        return variables

    def run(self, check=False, expect_failure=False, tags=None, **overrides):
        """One roll-out; a failed run fails the test unless ``expect_failure``, which returns the whole output.
        ``tags`` limits it (e.g. ``mosquitto_configure``: the files only, no container)."""
        extra_vars = self.directory / "extra-vars.json"
        extra_vars.write_text(json.dumps(self.variables(**overrides)))
        extra_vars.chmod(0o600)
        command = [str(self.ansible_playbook), "-i", "localhost,", str(PLAYBOOK), "-e", f"@{extra_vars}",
                   "--diff", "-vvv"]
        if check:
            command += ["--check"]
        if tags:
            command += ["--tags", tags]
        environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                           ANSIBLE_INJECT_INVOCATION="1")
        done = subprocess.run(command, cwd=REPO, env=environment, capture_output=True, text=True, timeout=900,
                              check=False)
        self.outputs.append(done.stdout + done.stderr)
        self.collect_key_lines()
        if expect_failure:
            assert done.returncode != 0, done.stdout[-6000:]
            return done.stdout + done.stderr
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-3000:]
        return PlaybookResult(json_report(done.stdout))

    def collect_key_lines(self):
        """Remember the body lines of every private key now on disk (keys change on renewal)."""
        for path in self.key_files:
            if path.exists():
                self.key_lines.update(pem_body_lines(path.read_text()))

    def state(self):
        return container_state(self.container)

    def wait_healthy(self, timeout=60):
        return wait_healthy(self.container, timeout)

    def leaked(self):
        """Names of the passwords (and the CA passphrase) that appeared in any roll-out's output, and a marker for
        each private key body line that did."""
        everything = "\n".join(self.outputs)
        names = [name for name, password in self.passwords.items() if password in everything]
        lines = sorted(line for line in self.key_lines if line in everything)
        return names + [f"private key line {line[:12]}..." for line in lines]


def pem_body_lines(text):
    """The base64 lines of every PEM block (long enough not to match by chance), headers left out."""
    return {line.strip() for line in text.splitlines()
            if len(line.strip()) >= 24 and re.fullmatch(r"[A-Za-z0-9+/=]+", line.strip())}


def remove_project(project):
    """Stop and delete a Compose project this test created (containers, network, volumes) and the broker's firewall
    chain compose_project made for it (named after the container, jumped to from DOCKER-USER)."""
    remove_compose_project(project)


def container_id(container):
    done = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", container], capture_output=True, text=True,
                          check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def container_state(container):
    done = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", container], capture_output=True,
                          text=True, check=False)
    return json.loads(done.stdout) if done.returncode == 0 else None


def wait_healthy(container, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = container_state(container)
        if state and state.get("Health", {}).get("Status") == "healthy":
            return True
        time.sleep(1)
    return False
