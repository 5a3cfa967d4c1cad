"""The internal compose_project role against the real Docker engine and Compose v2 plugin on this machine
(started by scripts/docker-engine.sh), with the locally built ming/debian-base image.

Each test runs a small playbook through real ansible-playbook in a Compose project of its own and removes it."""

import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = """
- name: Deploy through compose_project
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Prepare the project
      ansible.builtin.import_role:
        name: sensingcam.ming.compose_project
    - name: Add the services
      ansible.builtin.include_role:
        name: sensingcam.ming.compose_project
        tasks_from: service
      vars:
        compose_project_service_name: "{{ item.name }}"
        compose_project_service_definition: "{{ item.definition }}"
        compose_project_service_volumes: "{{ item.volumes | default([]) }}"
      loop: "{{ services }}"
      loop_control:
        label: "{{ item.name }}"
"""

pytestmark = pytest.mark.docker


def service(name, healthcheck=True, command="sleep infinity"):
    definition = {"image": "ming/debian-base:bookworm", "command": ["sh", "-c", command]}
    if healthcheck:
        definition["healthcheck"] = {"test": ["CMD", "true"], "interval": "1s", "timeout": "2s", "retries": 3}
    return {"name": name, "definition": definition, "volumes": [f"{name}_data"]}


@pytest.fixture
def project(tmp_path):
    """A throwaway Compose project; returns a function that runs the playbook with the given services."""
    engine = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, check=False)
    if not engine or engine.returncode != 0:
        pytest.fail("no Docker engine answers: run scripts/docker-engine.sh (make test does)")
    name = f"ming-test-{uuid.uuid4().hex[:8]}"
    base_dir = tmp_path / "project"
    playbook = tmp_path / "deploy.yml"
    playbook.write_text(PLAYBOOK)

    def run(services, *extra, render_only=()):
        variables = {"services": services, "ming_base_dir": str(base_dir), "ming_compose_project": name,
                     "ming_render_only_services": list(render_only)}
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        return subprocess.run(
            [str(REPO / ".venv" / "bin" / "ansible-playbook"), "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter=" + str(REPO / ".venv" / "bin" / "python"),
             "-e", json.dumps(variables), str(playbook), *extra],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)

    run.name = name
    run.base_dir = base_dir
    yield run
    subprocess.run(["docker", "compose", "--project-name", name, "down", "--volumes", "--remove-orphans"],
                   capture_output=True, check=False)


def changed_count(output):
    for line in output.splitlines():
        if line.startswith("localhost") and "changed=" in line:
            return int(line.split("changed=")[1].split()[0])
    raise AssertionError("no play recap in:\n" + output)


def container_state(name):
    inspected = subprocess.run(["docker", "inspect", "--format", "{{json .State}}", name],
                               capture_output=True, text=True, check=False)
    return json.loads(inspected.stdout) if inspected.returncode == 0 else None


def test_check_then_deploy_then_nothing_to_change(project):
    """Check mode on a fresh host predicts without failing or creating anything; the real run starts a healthy
    container with restart policy, log rotation and the project network; a second run reports changed=0."""
    checked = project([service("probe")], "--check")
    assert checked.returncode == 0, checked.stdout
    assert not project.base_dir.exists()
    assert container_state(f"{project.name}-probe") is None

    deployed = project([service("probe")])
    assert deployed.returncode == 0, deployed.stdout
    state = container_state(f"{project.name}-probe")
    assert state["Running"] and state["Health"]["Status"] == "healthy"
    config = json.loads(subprocess.run(["docker", "inspect", f"{project.name}-probe"], capture_output=True,
                                       text=True, check=True).stdout)[0]
    assert config["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert config["HostConfig"]["LogConfig"] == {"Type": "json-file", "Config": {"max-file": "5", "max-size": "10m"}}
    assert list(config["NetworkSettings"]["Networks"]) == [project.name]

    again = project([service("probe")])
    assert again.returncode == 0 and changed_count(again.stdout) == 0, again.stdout
    rechecked = project([service("probe")], "--check", "--diff")
    assert rechecked.returncode == 0 and changed_count(rechecked.stdout) == 0, rechecked.stdout


def test_render_only_service_is_validated_but_not_started(project):
    """A service listed in ming_render_only_services (no image on this host) gets its fragment rendered and
    validated, is not started, and the run says so in one line."""
    grafana = service("grafana")
    grafana["definition"]["image"] = "grafana/grafana:12.0.0"  # not on this machine, and never pulled
    run = project([service("probe"), grafana], render_only=["grafana"])
    assert run.returncode == 0, run.stdout
    assert "grafana: configuration rendered and validated; not started on this host" in run.stdout
    assert (project.base_dir / "compose.d" / "grafana.yml").exists()
    assert container_state(f"{project.name}-grafana") is None
    assert container_state(f"{project.name}-probe")["Running"]


def test_service_without_healthcheck_is_refused(project):
    """The roll-out waits on health, never on time: a service without a healthcheck fails with a message."""
    run = project([service("probe", healthcheck=False)])
    assert run.returncode != 0
    assert "needs a lower-case name, an `image` and a `healthcheck`" in run.stdout


def test_unhealthy_service_fails_the_run(project):
    """A container that never becomes healthy fails the deployment instead of passing silently."""
    sick = service("sick")
    sick["definition"]["healthcheck"]["test"] = ["CMD", "false"]
    run = project([sick], "-e", "compose_project_wait_timeout=10")
    assert run.returncode != 0, run.stdout
