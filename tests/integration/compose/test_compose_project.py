"""The internal compose_project role against the real Docker engine and Compose v2 plugin on this machine
(started by scripts/docker-engine.sh), with the locally built ming/debian-base image (a shell that sleeps stands in
for a service; its health check is ``true`` or ``false``, nothing is probed over the network).

Each test runs a small playbook through real ansible-playbook in a Compose project of its own and removes it."""

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

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
        compose_project_service_loosen: "{{ item.loosen | default({}) }}"
        compose_project_render_only_follows: "{{ item.follows | default('') }}"
      loop: "{{ services }}"
      loop_control:
        label: "{{ item.name }}"
"""

pytestmark = pytest.mark.docker


def venv_tool(name):
    """A console script of the venv that runs the tests, never a path into the checkout."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f"{name} is not next to {sys.executable}: run pytest from the project venv")
    return path


def service(name, healthcheck=True, command="sleep infinity"):
    # nobody:nogroup: compose_project refuses a container without a non-root user (the baseline).
    definition = {"image": "ming/debian-base:bookworm", "command": ["sh", "-c", command], "user": "65534:65534"}
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

    def run(services, *extra, render_only=(), render_only_when_image_missing=()):
        variables = {"services": services, "ming_base_dir": str(base_dir), "ming_compose_project": name,
                     "ming_render_only_services": list(render_only),
                     "ming_render_only_when_image_missing": list(render_only_when_image_missing)}
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        return subprocess.run(
            [str(venv_tool("ansible-playbook")), "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter=" + sys.executable,
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
    assert changed_count(checked.stdout) > 0, "check mode on a fresh host predicted no change"
    assert not project.base_dir.exists()
    assert container_state(f"{project.name}-probe") is None

    deployed = project([service("probe")])
    assert deployed.returncode == 0, deployed.stdout
    assert changed_count(deployed.stdout) > 0
    fragment = yaml.safe_load((project.base_dir / "compose.d" / "probe.yml").read_text())
    assert fragment["services"]["probe"]["image"] == "ming/debian-base:bookworm"
    assert fragment["services"]["probe"]["container_name"] == f"{project.name}-probe"
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
    """A service listed in ming_render_only_services is rendered and validated but not started, even when its image
    is on the host; one listed in ming_render_only_when_image_missing is rendered only while its image is missing
    (grafana: never pulled) and started when the image is there (probe); one that follows another
    (compose_project_render_only_follows: grafana) is rendered only with it although its own image is present
    (viewer); the run says which and why, in one line.

    Mutations tried: render_mode ignoring the image probe (probe was not started); the explicit list no longer
    winning over a present image (frigate started); the follows branch removed (viewer started)."""
    grafana = service("grafana")
    grafana["definition"]["image"] = "grafana/grafana:12.0.0"  # not on this machine, and never pulled
    frigate = service("frigate")  # its image (the lab base) is present, but the explicit list wins
    viewer = dict(service("viewer"), follows="grafana")  # its image is present too, but grafana is rendered only
    run = project([service("probe"), grafana, frigate, viewer], render_only=["frigate"],
                  render_only_when_image_missing=["grafana", "probe"])
    assert run.returncode == 0, run.stdout
    said = " ".join(run.stdout.split())  # the callback wraps long messages
    assert ("grafana: configuration rendered and validated; not started on this host (its image "
            "grafana/grafana:12.0.0 is not on this host: compose_project_render_only_when_image_missing)") in said
    assert ("frigate: configuration rendered and validated; not started on this host (listed in "
            "compose_project_render_only_services)") in said
    assert ("viewer: configuration rendered and validated; not started on this host (grafana is rendered only: its "
            "image grafana/grafana:12.0.0 is not on this host") in said
    assert "probe: configuration rendered" not in said
    for name in ("grafana", "frigate", "viewer"):
        assert (project.base_dir / "compose.d" / f"{name}.yml").exists()
        assert container_state(f"{project.name}-{name}") is None
    fragment = yaml.safe_load((project.base_dir / "compose.d" / "grafana.yml").read_text())
    assert fragment["services"]["grafana"]["image"] == "grafana/grafana:12.0.0"
    assert subprocess.run(["docker", "image", "inspect", "grafana/grafana:12.0.0"], capture_output=True,
                          check=False).returncode != 0, "the render-only image was pulled"
    assert container_state(f"{project.name}-probe")["Running"]


def test_service_without_healthcheck_is_refused(project):
    """The roll-out waits on health, never on time: a service without a healthcheck fails with a message."""
    run = project([service("probe", healthcheck=False)])
    assert run.returncode != 0
    assert "needs a lower-case name, an `image` and a `healthcheck`" in run.stdout
    assert not (project.base_dir / "compose.d" / "probe.yml").exists(), "the refused fragment was written"
    assert container_state(f"{project.name}-probe") is None, "a container was created for the refused service"


def test_unhealthy_service_fails_the_run(project):
    """A container that never becomes healthy fails the deployment instead of passing silently."""
    sick = service("sick")
    sick["definition"]["healthcheck"]["test"] = ["CMD", "false"]
    run = project([sick], "-e", "compose_project_wait_timeout=10")
    assert run.returncode != 0, run.stdout
    state = container_state(f"{project.name}-sick")
    assert state is not None and state["Health"]["Status"] != "healthy", state
    assert "failed=1" in run.stdout, run.stdout[-2000:]


def test_a_fragment_compose_refuses_is_rejected_and_the_live_fragment_and_container_stay(project):
    """The fragment's ``validate:`` (``docker compose config --quiet`` with the base file) rejects a definition
    Compose refuses (a health-check interval that is no duration): the run fails, the live fragment keeps its bytes
    and the running container is the same one, still healthy."""
    assert project([service("probe")]).returncode == 0
    fragment = project.base_dir / "compose.d" / "probe.yml"
    live = fragment.read_bytes()
    before = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", f"{project.name}-probe"],
                            capture_output=True, text=True, check=True).stdout
    bad = service("probe")
    bad["definition"]["healthcheck"]["interval"] = "every-now-and-then"
    run = project([bad])
    assert run.returncode != 0, run.stdout
    assert "Write the Compose fragment" in run.stdout and "validat" in run.stdout.lower(), (
        run.stdout[-3000:])
    assert fragment.read_bytes() == live, "the rejected fragment replaced the live one"
    after = subprocess.run(["docker", "inspect", "--format", "{{.Id}}", f"{project.name}-probe"],
                           capture_output=True, text=True, check=True).stdout
    assert after == before
    assert container_state(f"{project.name}-probe")["Health"]["Status"] == "healthy"
    again = project([service("probe")])
    assert again.returncode == 0 and changed_count(again.stdout) == 0, again.stdout


# --- the lifecycle a service role gets -----------------------------------------------------------------------------

SERVICE_ROLE_PLAYBOOK = """
- name: A service role in miniature, written the way docs/deployment.md tells a service role to be written
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Prepare the project
      ansible.builtin.import_role:
        name: sensingcam.ming.compose_project
    - name: Take the probe's names from the project
      ansible.builtin.include_role:
        name: sensingcam.ming.compose_project
        tasks_from: service_names
      vars:
        compose_project_service_name: probe
    - name: Create the probe's configuration directory
      ansible.builtin.file:
        path: "{{ compose_project_services.probe.config_dir }}"
        state: directory
        mode: "0755"
    - name: Write the probe's settings
      ansible.builtin.copy:
        content: "{{ settings }}"
        dest: "{{ compose_project_services.probe.config_dir }}/settings"
        mode: "0644"
      register: probe_settings
    - name: Run the probe
      ansible.builtin.include_role:
        name: sensingcam.ming.compose_project
        tasks_from: service
      vars:
        compose_project_service_name: probe
        compose_project_service_definition:
          image: ming/debian-base:bookworm
          command: [sh, -c, "exec sleep infinity"]
          user: "65534:65534"
          tmpfs: [/tmp]
          environment:
            GENERATION: "{{ generation }}"
          volumes: ["{{ compose_project_services.probe.config_dir }}:/config:ro"]
          stop_grace_period: 1s
          healthcheck: {test: [CMD, "true"], interval: 1s, timeout: 2s, retries: 3}
        compose_project_service_reload_command: "{{ reload_command }}"
        compose_project_service_reload_on: "{{ [probe_settings] if on_change == 'reload' else [] }}"
        compose_project_service_restart_on: "{{ [probe_settings] if on_change == 'restart' else [] }}"
"""
RELOAD_MARKER = ("sh", "-c", "date +%s%N >> /tmp/reloads")


@pytest.fixture
def service_role(tmp_path):
    """A throwaway Compose project and a miniature service role whose one config file reloads or restarts it.

    Returns a function that runs the role (JSON callback) and gives back the per-task results by task name."""
    engine = shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True, check=False)
    if not engine or engine.returncode != 0:
        pytest.fail("no Docker engine answers: run scripts/docker-engine.sh (make test does)")
    # Named through compose_project_name, not ming_compose_project: the plant's documented override.
    name = f"ming-test-{uuid.uuid4().hex[:8]}"
    playbook = tmp_path / "service-role.yml"
    playbook.write_text(SERVICE_ROLE_PLAYBOOK)

    def run(settings, *extra, on_change="reload", reload_command=RELOAD_MARKER, generation="1"):
        variables = {"ming_base_dir": str(tmp_path / "project"), "compose_project_name": name,
                     "settings": settings, "on_change": on_change, "reload_command": list(reload_command),
                     "generation": generation}
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json")
        done = subprocess.run(
            [str(venv_tool("ansible-playbook")), "-i", "localhost,", "-c", "local",
             "-e", "ansible_python_interpreter=" + sys.executable, "-e", json.dumps(variables), str(playbook),
             *extra],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
        report = json.loads(done.stdout)
        return {task["task"]["name"].rpartition(" : ")[2]: task["hosts"]["localhost"]
                for play in report["plays"] for task in play["tasks"] if "localhost" in task["hosts"]}

    run.container = f"{name}-probe"
    run.config_dir = tmp_path / "project" / "probe" / "config"
    yield run
    subprocess.run(["docker", "compose", "--project-name", name, "down", "--volumes", "--remove-orphans"],
                   capture_output=True, check=False)


def ran(tasks, name):
    """The task ran and changed something (in check mode: would have run)."""
    result = tasks.get(name, {})
    return bool(result.get("changed")) and not result.get("skipped")


def reloads(container):
    done = subprocess.run(["docker", "exec", container, "sh", "-c", "cat /tmp/reloads 2>/dev/null || true"],
                          capture_output=True, text=True, check=True)
    return len(done.stdout.split())


def test_a_config_change_reloads_or_restarts_the_running_service_and_waits_healthy(service_role):
    """Real Docker engine and Compose v2 with a probe container named through compose_project_name: the role's
    names and directory come from compose_project; a change the role marks `reload` runs the reload command in
    the running container (not restarted), without a reload method it restarts, a `restart` change restarts;
    each time the lifecycle waits until the container is healthy again, and an unchanged run does nothing."""
    tasks = service_role("a")
    assert (service_role.config_dir / "settings").read_text() == "a"
    started = container_state(service_role.container)["StartedAt"]
    assert not ran(tasks, "Reload probe") and not ran(tasks, "Restart probe")

    tasks = service_role("b")
    assert ran(tasks, "Reload probe") and not ran(tasks, "Restart probe")
    assert reloads(service_role.container) == 1
    assert container_state(service_role.container)["StartedAt"] == started
    assert tasks["Wait until the service is healthy again | probe"]["stdout"].count('"healthy"') == 1

    tasks = service_role("b")
    assert not ran(tasks, "Reload probe") and not ran(tasks, "Restart probe")
    assert reloads(service_role.container) == 1

    tasks = service_role("c", reload_command=[])
    assert ran(tasks, "Restart probe") and not ran(tasks, "Reload probe")
    restarted = container_state(service_role.container)
    assert restarted["StartedAt"] != started and restarted["Health"]["Status"] == "healthy"

    tasks = service_role("d", on_change="restart")
    assert ran(tasks, "Restart probe") and not ran(tasks, "Reload probe")
    assert container_state(service_role.container)["StartedAt"] != restarted["StartedAt"]


def test_a_new_recreated_or_stopped_container_starts_with_the_new_files_and_check_mode_changes_nothing(service_role):
    """Real Docker engine: a container that compose creates, recreates (definition changed) or starts (it was
    stopped) in this run reads the new files anyway, so it is neither reloaded nor restarted; check mode reports
    the reload it would run and changes neither the file nor the container."""
    tasks = service_role("a", on_change="restart")
    assert not ran(tasks, "Restart probe")
    first = json.loads(subprocess.run(["docker", "inspect", service_role.container], capture_output=True, text=True,
                                      check=True).stdout)[0]

    tasks = service_role("b", on_change="restart", generation="2")
    assert not ran(tasks, "Restart probe") and not ran(tasks, "Reload probe")
    second = json.loads(subprocess.run(["docker", "inspect", service_role.container], capture_output=True, text=True,
                                       check=True).stdout)[0]
    assert second["Id"] != first["Id"], "compose did not recreate the container"

    subprocess.run(["docker", "stop", service_role.container], capture_output=True, check=True)
    tasks = service_role("c", generation="2")
    assert not ran(tasks, "Reload probe") and not ran(tasks, "Restart probe")
    assert container_state(service_role.container)["Running"]
    assert reloads(service_role.container) == 0

    started = container_state(service_role.container)["StartedAt"]
    tasks = service_role("d", "--check", "--diff", generation="2")
    assert tasks["Write the probe's settings"]["changed"]
    assert tasks["Reload probe"].get("skipped") and "check mode" in tasks["Reload probe"].get("msg", "")
    assert (service_role.config_dir / "settings").read_text() == "c"
    assert container_state(service_role.container)["StartedAt"] == started
    assert reloads(service_role.container) == 0


# --- the container baseline ----------------------------------------------------------------------------------------

def test_a_service_that_adds_a_capability_without_declaring_it_is_refused_before_anything_is_written(project):
    """Real Docker engine: a definition with cap_add but no compose_project_service_loosen fails the run with a
    message naming compose_project_service_loosen; its fragment is not written and no container exists. Declared
    with a reason, the same service runs with exactly that capability added, everything else of the baseline kept,
    and the container carries the sensingcam.ming.baseline.relaxed label."""
    loud = service("probe")
    loud["definition"]["cap_add"] = ["NET_ADMIN"]
    run = project([loud])
    assert run.returncode != 0, run.stdout
    assert "compose_project_service_loosen" in run.stdout and "NET_ADMIN" in run.stdout, run.stdout[-3000:]
    assert not (project.base_dir / "compose.d" / "probe.yml").exists(), "the refused fragment was written"
    assert container_state(f"{project.name}-probe") is None, "a container was created for the refused service"

    loud["loosen"] = {"cap_add": ["NET_ADMIN"], "reason": "the test needs one declared capability"}
    run = project([loud])
    assert run.returncode == 0, run.stdout[-3000:]
    assert "probe relaxes the container baseline" in run.stdout
    host = json.loads(subprocess.run(["docker", "inspect", f"{project.name}-probe"], capture_output=True, text=True,
                                     check=True).stdout)[0]
    # Docker 20.10 reports added capabilities with their CAP_ prefix.
    assert [cap.removeprefix("CAP_") for cap in host["HostConfig"]["CapAdd"]] == ["NET_ADMIN"]
    assert host["HostConfig"]["CapDrop"] == ["ALL"]
    assert host["HostConfig"]["ReadonlyRootfs"] is True
    assert "no-new-privileges:true" in host["HostConfig"]["SecurityOpt"]
    assert "NET_ADMIN" in host["Config"]["Labels"]["sensingcam.ming.baseline.relaxed"]


@pytest.mark.parametrize("relaxed", [{"user": "0:0"}, {"read_only": False}, {"privileged": True},
                                     {"environment": {"DB_PASSWORD": "x"}}])
def test_other_undeclared_relaxations_are_refused(project, relaxed):
    """Real Docker engine: a root user, a writable root filesystem, privileged mode and a secret in the environment
    are each refused before the fragment is written."""
    loud = service("probe")
    loud["definition"].update(relaxed)
    run = project([loud])
    assert run.returncode != 0, run.stdout
    assert "Check the container baseline" in run.stdout, run.stdout[-3000:]
    assert not (project.base_dir / "compose.d" / "probe.yml").exists()
