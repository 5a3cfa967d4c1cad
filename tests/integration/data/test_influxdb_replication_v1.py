"""The central data host of a fleet on InfluxDB 1.x: the influxdb role's data_model entry point, rolled out with
ansible-playbook (influxdb_replication.yml, --limit central-data) against the REAL InfluxDB 1.6.7 (Debian's influxd,
fixture ``influxdb`` of conftest.py, HTTP with authentication on), creates a write user ``nodered-<plant>`` for every
plant of the inventory (Node-RED's dual write to central), recorded in influxdb_data_layer.credentials like the
other clients; the plant tag joins the schema and the roll-up's GROUP BY.

The user writes (/write 204) and only writes: a query is refused. A plant without a password in
influxdb_fleet_nodered_passwords fails the preflight naming it, before any statement is sent. Every output is scanned
for the passwords.

Mutations tried (roles/influxdb, restored; applied in the same session, each guarding its own test):
- __influxdb_fleet_clients' 1.x entries with access ``read`` -> test_the_plant_user_can_write_and_only_write failed.
- the 1.x central preflight's password check replaced by ``true`` -> test_a_plant_without_a_password_fails_naming_it
  failed (no message naming influxdb_fleet_nodered_passwords.south).
(The plant tag's mutation is in test_influxdb_role_replication.py.)
"""

import json
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from influxdb_v1_server import ADMIN, ADMIN_AUTH, ADMIN_PASSWORD
from playbook_report import json_report, run_json_playbook

pytestmark = pytest.mark.slow

PLAYBOOK = Path(__file__).resolve().parent / "influxdb_replication.yml"
PASSWORDS = {name: f"pw-{uuid.uuid4().hex}" for name in ("nodered", "grafana", "north", "south")}


def inventory(directory, server, fleet_passwords):
    central = {"influxdb_api_version": 1, "influxdb_api_host": "127.0.0.1", "influxdb_api_port": server.port,
               "influxdb_api_use_tls": False, "influxdb_admin_user": ADMIN, "influxdb_admin_password": ADMIN_PASSWORD,
               "influxdb_clients": [
                   {"name": "nodered", "access": "write", "buckets": ["machine_events"],
                    "password": PASSWORDS["nodered"]},
                   {"name": "grafana", "access": "read", "buckets": ["machine_events", "machine_events_1h"],
                    "password": PASSWORDS["grafana"]}],
               "influxdb_fleet_nodered_passwords": fleet_passwords}
    document = {"all": {"children": {
        "ming_central": {"vars": {"ming_site_role": "central", "ming_plant": "central"},
                         "hosts": {"central-data": central}},
        "ming_plants": {"vars": {"ming_site_role": "edge", "ming_central_data": "central-data"}, "children": {
            "plant_north": {"vars": {"ming_plant": "north"}, "hosts": {"north-data": {}}},
            "plant_south": {"vars": {"ming_plant": "south"}, "hosts": {"south-data": {}}}}}}}}
    path = directory / "inventory.yml"
    path.write_text(yaml.safe_dump(document))
    path.chmod(0o600)
    return path


def run(path, outputs):
    done = run_json_playbook(["-i", str(path), str(PLAYBOOK), "--limit", "central-data"], timeout=300)
    outputs.append(done.stdout + done.stderr)
    return done


@pytest.fixture(scope="module")
def outputs():
    collected = []
    yield collected
    everything = "\n".join(collected)
    leaked = [name for name, value in dict(PASSWORDS, admin=ADMIN_PASSWORD).items() if value in everything]
    assert leaked == [], f"passwords {leaked} appeared in a run's output"


@pytest.fixture(scope="module")
def central(influxdb, tmp_path_factory, outputs):
    directory = tmp_path_factory.mktemp("influxdb-replication-v1")
    done = run(inventory(directory, influxdb, {"north": PASSWORDS["north"], "south": PASSWORDS["south"]}), outputs)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
    report = json_report(done.stdout)
    shown = [task["hosts"]["central-data"] for play in report["plays"] for task in play["tasks"]
             if task["task"]["name"] == "Show the exported data layer"]
    influxdb.data_layer = shown[-1]["influxdb_data_layer"]
    return influxdb


def write(server, user, password, line):
    query = urllib.parse.urlencode({"db": "ming", "u": user, "p": password})
    request = urllib.request.Request(f"{server.url}/write?{query}", data=line.encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (a local server)
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_the_plant_user_can_write_and_only_write(central):
    for plant in ("north", "south"):
        status, body = write(central, f"nodered-{plant}", PASSWORDS[plant],
                             f'machine_events,plant={plant},line=l1,station=s1,event=e,severity=s correlation="x"')
        assert status == 204, (plant, body)
        status, body = central.query('SELECT * FROM "machine_events"', (f"nodered-{plant}", PASSWORDS[plant]),
                                     database="ming")
        refused = status in (401, 403) or "error" in json.dumps(body)
        assert refused, (plant, status, body)
    credentials = central.data_layer["credentials"]
    assert credentials["nodered-north"] == {"kind": "user", "access": "write", "user": "nodered-north",
                                            "password_variable": "influxdb_fleet_nodered_passwords.north"}
    assert "nodered-south" in credentials and "nodered" in credentials
    assert "plant" in central.data_layer["schema"]["tags"]
    assert "plant" in central.data_layer["schema"]["rollup"]["tags"]
    status, body = central.query("SHOW CONTINUOUS QUERIES", ADMIN_AUTH)
    assert "GROUP BY time(1h), line, station, event, severity, plant" in json.dumps(body), body


def test_a_plant_without_a_password_fails_naming_it(central, tmp_path, outputs):
    before = len(central.rows("SHOW USERS", ADMIN_AUTH))
    done = run(inventory(tmp_path, central, {"north": PASSWORDS["north"]}), outputs)
    assert done.returncode != 0
    assert "influxdb_fleet_nodered_passwords.south is missing" in done.stdout, done.stdout[-4000:]
    assert len(central.rows("SHOW USERS", ADMIN_AUTH)) == before
