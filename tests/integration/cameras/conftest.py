"""Fixtures for the camera tests: the camera simulator (tools/camera_simulator, run in-process on free loopback ports)
and helpers that run the collection through real ``ansible`` / ``ansible-playbook`` processes.

Nothing here talks to a real camera: every test in this directory runs against the camera simulator.
"""

import base64
import hashlib
import json
import os
import secrets
import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
import yaml
from sensingcam_simulator.camera import CameraConfig
from sensingcam_simulator.testing import free_ports, running_simulator

REPO = Path(__file__).resolve().parents[3]

PROFILE = REPO / "profiles" / "sensingcam" / "sec100-fw2.yml"
VENV_BIN = Path(sys.executable).parent
ANSIBLE = str(VENV_BIN / "ansible")
ANSIBLE_PLAYBOOK = str(VENV_BIN / "ansible-playbook")


def ansible_env(**extra):
    env = dict(os.environ)
    env.update(
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_HOST_KEY_CHECKING="0",
        ANSIBLE_LOCALHOST_WARNING="0",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="0",
    )
    env.update(extra)
    return env


class Simulated:
    """A running simulator plus what a test needs to reach it: password, control API, camera URLs."""

    def __init__(self, sim):
        self.sim = sim
        first = next(iter(sim.simulator.cameras.values()))
        self.password = first.config.password
        self.user = first.config.user

    @property
    def names(self):
        return list(self.sim.simulator.cameras)

    def port(self, name):
        return self.sim.camera(name).config.port

    def control(self, path, method="GET", body=None):
        """A simulator control API request with its bearer token; fails the test on any status but 200."""
        status, reply = self.sim.control(path, method, body)
        assert status == 200, f"control API {method} {path}: HTTP {status} {reply}"
        return reply

    def summary(self, name):
        return self.control(f"/cameras/{name}")

    def set_faults(self, name, **faults):
        return self.control(f"/cameras/{name}/faults", "PUT", faults)

    def get(self, name, variable):
        """The camera's variable as its own API reports it (GET /api/<Name>)."""
        with urllib.request.urlopen(f"{self.sim.url(name)}/api/{variable}", timeout=10) as response:
            return json.loads(response.read())["data"][variable]

    def write_inventory(self, path, names=None, **group_vars):
        """An inventory with a sensingcams group for these cameras; the password only in group vars."""
        hosts = {}
        for name in names or self.names:
            hosts[name] = {"sensingcam_host": "127.0.0.1", "sensingcam_port": self.port(name),
                           "sensingcam_line": f"line{(int(name[-3:]) - 1) // 10 + 1}",
                           "sensingcam_station": f"st{name[-3:]}", "sensingcam_ingest": "rtsp"}
        variables = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable,
                     "sensingcam_username": self.user, "sensingcam_password": self.password,
                     "sensingcam_timeout": 3, "sensingcam_retries": 0}
        variables.update(group_vars)
        path.write_text(yaml.safe_dump({"all": {"children": {"sensingcams": {"hosts": hosts, "vars": variables}}}}))
        return path


@pytest.fixture
def simulator(request):
    """Factory: ``simulator(cameras=3, firmware=["2.5.1"])`` starts a simulator stopped after the test.

    Optional per-fleet camera settings (docs/camera-simulator.md): ``salt`` (None: no salt key, [] or byte values),
    ``persistence`` ('persistent' or 'volatile': writes lost at a reboot unless WriteEeprom), ``api_description``
    (False: the API description file answers 404)."""
    started = []

    def start(cameras=3, firmware=("2.6.2",), latency_ms=0.0, time_scale=0.02, password=None, salt=None,
              persistence="persistent", api_description=True):
        password = password or secrets.token_urlsafe(12)
        configs = [CameraConfig(name=f"cam{i + 1:03d}", port=port, user="Service", password=password,
                                firmware_version=firmware[i % len(firmware)], serial=f"SIM{i + 1:05d}",
                                salt=None if salt is None else list(salt), persistence=persistence,
                                api_description=api_description)
                   for i, port in enumerate(free_ports(cameras))]
        context = running_simulator(configs, time_scale=time_scale, latency_ms=latency_ms)
        sim = context.__enter__()
        started.append(context)
        return Simulated(sim)

    yield start
    for context in reversed(started):
        context.__exit__(None, None, None)


def run_module(module, args, sim, camera, check=False, diff=False, password=None):
    """One module run through the real ``ansible`` ad-hoc command (JSON callback); returns its result dict."""
    full = {"host": "127.0.0.1", "port": sim.port(camera), "profile": str(PROFILE), "timeout": 3, "retries": 0,
            "password": sim.password if password is None else password}
    full.update(args)
    command = [ANSIBLE, "localhost", "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}",
               "-m", f"sensingcam.ming.{module}", "-a", json.dumps(full)]
    if check:
        command.append("--check")
    if diff:
        command.append("--diff")
    process = subprocess.run(command, capture_output=True, text=True, timeout=180, cwd=REPO,
                             env=ansible_env(ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
                                             ANSIBLE_STDOUT_CALLBACK="ansible.posix.json"), check=False)
    try:
        output = json.loads(process.stdout)
    except ValueError as exc:
        raise AssertionError(
            f"ansible printed no JSON (rc {process.returncode}):\n{process.stdout}\n{process.stderr}") from exc
    result = output["plays"][0]["tasks"][0]["hosts"]["localhost"]
    result["_stdout"] = process.stdout + process.stderr
    return result


def run_playbook(playbook, inventory, *extra, cwd=None, check=False, env=None):
    """``ansible-playbook`` as a plant engineer runs it; returns the CompletedProcess (stdout + stderr as text)."""
    command = [ANSIBLE_PLAYBOOK, str(playbook), "-i", str(inventory), *extra]
    if check:
        command.append("--check")
    cwd = Path(cwd or REPO)
    # PWD as a shell sets it: the playbooks take relative report/backup paths from the caller's directory.
    return subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=cwd,
                          env=ansible_env(PWD=str(cwd), **(env or {})), check=False)


def secret_forms(password, user="Service", realm="SICK Sensor"):
    """The password and what would give it away in output: base64 (an Authorization header), URL-encoded (a form or
    query string), JSON-escaped, and the SICK login's HA1 = sha256(user:realm:password), which logs in like the
    password itself."""
    forms = {"plain": password,
             "base64": base64.b64encode(password.encode()).decode(),
             "base64 user:password": base64.b64encode(f"{user}:{password}".encode()).decode(),
             "url-encoded": urllib.parse.quote(password, safe=""),
             "url-encoded (plus)": urllib.parse.quote_plus(password),
             "json": json.dumps(password)[1:-1],
             "ha1": hashlib.sha256(f"{user}:{realm}:{password}".encode()).hexdigest()}
    return forms


def assert_no_secret(output, password, user="Service"):
    """Fails naming the form (not the value) of the password found in ``output``."""
    found = sorted(name for name, form in secret_forms(password, user).items() if form in output)
    assert not found, f"the camera password appears in the output as: {', '.join(found)}"


def recap(stdout):
    """{host: {"ok": n, "changed": n, "failed": n, ...}} from the PLAY RECAP of the default callback."""
    hosts = {}
    for line in stdout.split("PLAY RECAP")[-1].splitlines()[1:]:
        if ":" not in line:
            continue
        host, _separator, counts = line.partition(":")
        hosts[host.strip()] = {key: int(value) for key, value in
                               (part.split("=") for part in counts.split() if "=" in part)}
    return hosts


def recap_of(stdout, hosts):
    """The PLAY RECAP as recap() reads it, after asserting it lists exactly ``hosts`` (so an empty or partial recap
    cannot make an all() over it pass)."""
    counts = recap(stdout)
    assert sorted(counts) == sorted(hosts), f"PLAY RECAP lists {sorted(counts)}, expected {sorted(hosts)}:\n{stdout}"
    return counts
