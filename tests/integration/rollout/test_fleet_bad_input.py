"""A bad fleet inventory stops the roll-out in site.yml's fleet check, before any host is changed, with a message that
names the variable and the hosts.

Runs the real site.yml with ansible-playbook, for real (no --check), against a small fleet inventory written per test:
the central site (two brokers, a data host) and plants north and south (two brokers and a data host each). Every host
is this machine (``ansible_connection: local``) with its own base directory under the test's tmp_path and its own
Compose project, so a run that got past the check would write those directories and start containers on this
machine's Docker engine (the broker play is next). The tests assert neither happened, one inventory per bad input of
issue 14: a pair without VIP, a VIP outside the brokers' subnet, two plants with the same name, an edge whose central
is not in the inventory, a priority tie. The control case runs the same inventory without the fault through the
roll-out's plan (``--tags ming_fleet_plan``: the fleet check, then each play's batch, no role task) and shows the
check lets it through, so the failures are the check's.

Mutation tried: site.yml's "Stop on any fleet problem" task removed: every bad case then reaches the broker play and
fails the test (its role arguments are incomplete, but the assertion on the fleet message fails first).
"""

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from mosquitto_broker import containers_of, venv_tool

REPO = Path(__file__).resolve().parents[3]
CHECK_FAILED = "The fleet check found"


def fleet(tmp_path, project):
    """(inventory dict, host names): every host local, with its own base directory and Compose project."""
    def host(name, **variables):
        return {"ming_base_dir": str(tmp_path / "ming" / name), "ming_compose_project": f"{project}-{name}",
                **variables}

    central = {"mqtt-c1": host("mqtt-c1", ming_broker_address="10.10.0.11/24", keepalived_priority=150),
               "mqtt-c2": host("mqtt-c2", ming_broker_address="10.10.0.12/24", keepalived_priority=100),
               "data-c1": host("data-c1", ansible_host="10.10.0.21")}
    plants = {}
    for name, net in (("north", 21), ("south", 22)):
        plants[f"plant_{name}"] = {
            "vars": {"ming_plant": name, "ming_broker_vip": f"10.{net}.0.5", "keepalived_virtual_router_id": net},
            "hosts": {f"mqtt-a-{name}": host(f"mqtt-a-{name}", ming_broker_address=f"10.{net}.0.11/24",
                                             keepalived_priority=150),
                      f"mqtt-b-{name}": host(f"mqtt-b-{name}", ming_broker_address=f"10.{net}.0.12/24",
                                             keepalived_priority=100),
                      f"data-{name}": host(f"data-{name}", ansible_host=f"10.{net}.0.21")}}
    every = list(central) + [name for group in plants.values() for name in group["hosts"]]
    inventory = {"all": {
        "vars": {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                 "ansible_become": False},
        "children": {
            "ming_central": {"vars": {"ming_site_role": "central", "ming_plant": "central",
                                      "ming_broker_vip": "10.10.0.5", "keepalived_virtual_router_id": 10},
                             "hosts": central},
            "ming_plants": {"vars": {"ming_site_role": "edge", "ming_central_brokers": ["mqtt-c1", "mqtt-c2"],
                                     "ming_central_data": "data-c1"},
                            "children": plants},
            "ming_brokers": {"hosts": {name: None for name in every if name.startswith("mqtt-")}},
            "ming_data": {"hosts": {name: None for name in every if name.startswith("data-")}}}}}
    return inventory, every


@pytest.fixture
def rollout(tmp_path):
    project = f"fleet-bad-{uuid.uuid4().hex[:8]}"

    def run(break_inventory=None, *options):
        inventory, hosts = fleet(tmp_path, project)
        if break_inventory:
            break_inventory(inventory["all"]["children"])
        path = tmp_path / "hosts.yml"
        path.write_text(yaml.safe_dump(inventory, sort_keys=False))
        env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
        done = subprocess.run(
            [str(venv_tool("ansible-playbook")), "site.yml", "-i", str(path), *options],
            capture_output=True, text=True, cwd=REPO, env=env, timeout=300, check=False)
        done.projects = [f"{project}-{name}" for name in hosts]
        return done

    return run


def assert_stopped_before_any_change(run, tmp_path, *needles):
    assert run.returncode != 0, run.stdout[-3000:]
    assert CHECK_FAILED in run.stdout, run.stdout[-3000:]
    assert "PLAY [MQTT brokers]" not in run.stdout, "the broker play ran after a failed fleet check"
    assert not (tmp_path / "ming").exists(), "the roll-out wrote a base directory before the fleet check stopped it"
    for project in run.projects:
        assert containers_of(project) == [], f"the roll-out started a container of {project}"
    message = run.stdout[run.stdout.index(CHECK_FAILED):]
    for needle in needles:
        assert needle in message, f"{needle!r} missing from: {message[:3000]}"
    return message


def plant_vars(children, plant):
    return children["ming_plants"]["children"][f"plant_{plant}"]["vars"]


def plant_host(children, plant, host):
    return children["ming_plants"]["children"][f"plant_{plant}"]["hosts"][host]


def test_pair_without_vip(rollout, tmp_path):
    run = rollout(lambda children: plant_vars(children, "north").pop("ming_broker_vip"))
    assert_stopped_before_any_change(run, tmp_path, "ming_broker_vip is not set for north (plant_north)",
                                     "mqtt-a-north, mqtt-b-north")


def test_vip_outside_the_brokers_subnet(rollout, tmp_path):
    run = rollout(lambda children: plant_vars(children, "south").update(ming_broker_vip="10.99.0.5"))
    assert_stopped_before_any_change(run, tmp_path, "ming_broker_vip 10.99.0.5 of south (plant_south) is outside",
                                     "mqtt-a-south (ming_broker_address 10.22.0.11/24)",
                                     "mqtt-b-south (ming_broker_address 10.22.0.12/24)")


def test_two_plants_with_the_same_name(rollout, tmp_path):
    run = rollout(lambda children: plant_vars(children, "south").update(ming_plant="north"))
    assert_stopped_before_any_change(run, tmp_path, "ming_plant north is used by plant_north, plant_south",
                                     "mqtt-a-north", "data-south")


def test_edge_whose_central_is_not_in_the_inventory(rollout, tmp_path):
    def central_elsewhere(children):
        children["ming_plants"]["vars"].update(ming_central_brokers=["mqtt-hq1", "mqtt-c2"],
                                               ming_central_data="influx-hq")
    run = rollout(central_elsewhere)
    message = assert_stopped_before_any_change(
        run, tmp_path, "ming_central_brokers of plant north (plant_north) names mqtt-hq1, not in the inventory",
        "ming_central_data of plant south (plant_south) names influx-hq, not in the inventory",
        "the plant's hosts mqtt-a-north, mqtt-b-north, data-north")
    # Every problem at once: both variables of both plants.
    assert message.startswith(f"{CHECK_FAILED} 4 problem(s)"), message[:3000]


def test_priority_tie(rollout, tmp_path):
    run = rollout(lambda children: plant_host(children, "north", "mqtt-b-north").update(keepalived_priority=150))
    assert_stopped_before_any_change(run, tmp_path, "keepalived_priority 150 is shared by mqtt-a-north, mqtt-b-north")


def test_the_same_inventory_without_a_fault_gets_past_the_check(rollout, tmp_path):
    """Control: the fleet check passes, and the plays follow in roll-out order (the plan only; no role task runs)."""
    run = rollout(None, "--tags", "ming_fleet_plan")
    assert run.returncode == 0, run.stdout[-3000:]
    assert CHECK_FAILED not in run.stdout
    assert "PLAY [MQTT brokers]" in run.stdout and "PLAY [Data]" in run.stdout
    assert "brokers: mqtt-c1" in run.stdout, run.stdout[-3000:]
