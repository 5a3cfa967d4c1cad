"""site.yml rolls a fleet out in the order docs/fleet.md promises: the central site first, then the plants in batches
of ``ming_fleet_batch``, brokers and data hosts one host per plant at a time, and a failed host stops the roll-out
under ``ming_fleet_max_fail_percentage: 0``.

Plan-level checks: the real site.yml runs with ansible-playbook and the JSON callback under ``--tags ming_fleet_plan``,
so the fleet check runs, every play runs batch by batch with its real ``hosts`` and ``serial``, and each batch's
hosts report themselves (a debug task per host, with ``ansible_play_batch``); the roles' own tasks do not run, only
their argument validation (tagged always by Ansible), and nothing connects to a host. The inventory is
inventories/example-fleet itself plus a third plant ``east`` from a second inventory source, every host local; the
vault placeholders (whose password was thrown away) are replaced by extra variables. That batches really are serial
batches (not just an order) is what the JSON report shows: Ansible reports each batch of a play as a play of its own.
The lab and example-plant are run the same way: the lab keeps one batch per play, example-plant's broker pair rolls
one broker at a time.

Mutations tried: ``serial`` removed from the broker play (one batch of six brokers: fails), ``ONE_HOST_AT_A_TIME``
emptied in the filter (the two plants' pairs in one batch: fails), ``max_fail_percentage`` removed from the broker
play (the roll-out goes on after mqtt-a.south failed: fails), the fleet check tasks' ``always`` tag removed (no
order under --tags: fails).
"""

import json
import os
import subprocess
from pathlib import Path

import yaml
from mosquitto_broker import venv_tool
from playbook_report import json_report

REPO = Path(__file__).resolve().parents[3]
BATCH_TASK = "Show this batch of the roll-out"
SECRET = "placeholder-not-a-secret-0123456789"

EAST = {"all": {"children": {
    "ming_plants": {"children": {"plant_east": {
        "vars": {"ming_plant": "east", "ming_broker_vip": "10.23.0.5", "keepalived_virtual_router_id": 23,
                 "compose_project_allowed_sources": ["10.23.0.0/24"],
                 "mosquitto_clients": [{"name": "nodered", "role": "nodered", "password": SECRET}]},
        "hosts": {"mqtt-a.east.example": {"ming_broker_address": "10.23.0.11/24", "keepalived_priority": 150},
                  "mqtt-b.east.example": {"ming_broker_address": "10.23.0.12/24", "keepalived_priority": 100},
                  "data-1.east.example": {"ansible_host": "10.23.0.21"},
                  "apps-1.east.example": {"ansible_host": "10.23.0.31"},
                  "nvr-1.east.example": {"ansible_host": "10.23.0.41"},
                  "cam-east-line1-st10": {"sensingcam_host": "10.23.1.10", "sensingcam_station": "st10"}}}}},
    "ming_brokers": {"hosts": {"mqtt-a.east.example": None, "mqtt-b.east.example": None}},
    "ming_data": {"hosts": {"data-1.east.example": None}},
    "ming_apps": {"hosts": {"apps-1.east.example": None}},
    "ming_nvr": {"hosts": {"nvr-1.east.example": None}},
    "sensingcams": {"hosts": {"cam-east-line1-st10": None}}}}}


class Vaulted(yaml.SafeLoader):
    """Reads a vault.yml with its !vault values as plain placeholders (their key structure is what counts)."""


Vaulted.add_constructor("!vault", lambda loader, node: SECRET)


def unvaulted(inventory, hosts):
    """Extra variables replacing every vault value of ``inventory`` (a dict keyed by host gets every host)."""
    values = {}
    for path in (REPO / "inventories" / inventory / "group_vars").rglob("*.yml"):
        for key, value in (yaml.load(path.read_text(), Loader=Vaulted) or {}).items():  # noqa: S506 (SafeLoader)
            if key.startswith("vault_") or key == "sensingcam_password":
                # Keyed by inventory name (example-fleet) or short host name (example-plant).
                keys = set(hosts) | {host.split(".")[0] for host in hosts}
                values[key] = dict.fromkeys(keys, SECRET) if isinstance(value, dict) else SECRET
    return values


def plan(tmp_path, inventory, *sources, **extra):
    """``(play name, [hosts of the batch]) for every batch, in order``, the report and the return code."""
    arguments = ["-i", str(REPO / "inventories" / inventory)]
    for index, source in enumerate(sources):
        path = tmp_path / f"source{index}.yml"
        path.write_text(yaml.safe_dump(source))
        arguments += ["-i", str(path)]
    listed = subprocess.run([str(venv_tool("ansible-inventory")), *arguments, "--list"], capture_output=True,
                            text=True, cwd=REPO, check=True)
    hosts = list(json.loads(listed.stdout)["_meta"]["hostvars"])
    variables = {**unvaulted(inventory, hosts), "ansible_connection": "local",
                 "ansible_python_interpreter": str(venv_tool("python")), **extra}
    (tmp_path / "extra.json").write_text(json.dumps(variables))
    env = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json",
               ANSIBLE_NOCOLOR="1")
    run = subprocess.run([str(venv_tool("ansible-playbook")), "site.yml", *arguments, "--tags", "ming_fleet_plan",
                          "-e", f"@{tmp_path / 'extra.json'}"],
                         capture_output=True, text=True, cwd=REPO, env=env, timeout=600, check=False)
    report = json_report(run.stdout)
    batches = []
    for play in report["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].startswith(BATCH_TASK):
                reported = sorted(task["hosts"])
                listed_batch = next(iter(task["hosts"].values()))["msg"].partition(": ")[2].split(", ")
                # Every host of the batch ran the task, and no other: the batch is a serial batch of its own.
                assert sorted(listed_batch) == reported, (listed_batch, reported)
                batches.append((play["play"]["name"], listed_batch))
    return batches, report, run.returncode


def of(batches, play):
    return [hosts for name, hosts in batches if name == play]


def test_central_first_then_plants_in_batches_brokers_and_data_one_per_plant_at_a_time(tmp_path):
    batches, report, returncode = plan(tmp_path, "example-fleet", EAST, ming_fleet_batch=2)
    assert returncode == 0, json.dumps(report["stats"])
    assert of(batches, "MQTT brokers") == [
        ["mqtt-1.central.example"], ["mqtt-2.central.example"],
        ["mqtt-a.north.example", "mqtt-a.south.example"], ["mqtt-b.north.example", "mqtt-b.south.example"],
        ["mqtt-a.east.example"], ["mqtt-b.east.example"]]
    assert of(batches, "Data") == [["data-1.central.example"], ["data-1.north.example", "data-1.south.example"],
                                   ["data-1.east.example"]]
    assert of(batches, "NVR") == [["nvr-1.north.example", "nvr-1.south.example"], ["nvr-1.east.example"]]
    assert of(batches, "Applications") == [["apps-1.central.example"],
                                           ["apps-1.north.example", "apps-1.south.example"],
                                           ["apps-1.east.example"]]
    assert of(batches, "Cameras") == [["cam-north-line1-st10", "cam-north-line1-st20", "cam-south-line1-st10"],
                                      ["cam-east-line1-st10"]]
    # Play order: every broker batch before the first data batch, and so on.
    order = [name for name, _hosts in batches]
    assert order == sorted(order, key=["MQTT brokers", "Data", "NVR", "Applications", "Cameras"].index)
    assert [play["play"]["name"] for play in report["plays"]][:2] == ["Fleet check", "Camera checks"]


def test_a_failed_broker_stops_the_rollout_with_max_fail_percentage_0(tmp_path):
    """Two plants per batch: mqtt-a.south fails its role's argument validation (a wrong type) in the third broker
    batch, next to mqtt-a.north. One failed host of two is over 0 %: no later broker batch and no later play runs
    (both plants' second brokers and every data host keep their version). Without max_fail_percentage Ansible would
    go on with the batch's survivors, as it only stops by itself when a whole batch failed."""
    broken = {"all": {"children": {"ming_brokers": {"hosts": {
        "mqtt-a.south.example": {"mosquitto_autosave_interval": "soon"}}}}}}
    batches, report, returncode = plan(tmp_path, "example-fleet", broken, ming_fleet_batch=2)
    assert returncode != 0
    assert report["stats"]["mqtt-a.south.example"]["failures"] == 1
    assert batches == [("MQTT brokers", ["mqtt-1.central.example"]), ("MQTT brokers", ["mqtt-2.central.example"]),
                       ("MQTT brokers", ["mqtt-a.north.example", "mqtt-a.south.example"])]


def test_the_lab_keeps_one_batch_per_play_and_example_plant_rolls_its_pair_one_broker_at_a_time(tmp_path):
    lab, report, returncode = plan(tmp_path, "lab")
    assert returncode == 0, json.dumps(report["stats"])
    assert lab == [("MQTT brokers", ["localhost"]), ("Data", ["localhost"]), ("NVR", ["localhost"]),
                   ("Applications", ["localhost"]),
                   ("Cameras", ["cam-line1-st10", "cam-line1-st20", "cam-line2-st10"])]
    plant, report, returncode = plan(tmp_path, "example-plant")
    assert returncode == 0, json.dumps(report["stats"])
    assert of(plant, "MQTT brokers") == [["mqtt-a.plant.example"], ["mqtt-b.plant.example"]]
    assert of(plant, "NVR") == [["nvr-1.plant.example", "nvr-2.plant.example"]]
