"""Edge-to-central replication (issue 14) rolled out by the influxdb role with ansible-playbook against TWO InfluxDB 2
API DOUBLES, one for the central data host and one for a plant's (edge) data host (tools/influxdb2_double: a double of
the published API, not InfluxDB; InfluxDB 2.x cannot run on this machine). The double's forwarding queue sends points
written to a replicated edge bucket to the central double's /api/v2/write with the token the remote connection holds,
holds them while central refuses connections, and drains when it is back.

Inventory: central-data in ming_central (ming_site_role central), north-data in plant_north under ming_plants
(ming_site_role edge, ming_central_data: central-data); playbook influxdb_replication.yml runs central first, then the
plants (the order site.yml keeps). Plain HTTP to the doubles (influxdb_api_use_tls: false).

roll-out -> central holds the write token replication-north (write on both buckets) in the token store, the edge a
remote connection to central (its URL, org ID and that token) and one replication per bucket with the queue size
max(33554430, 50 ev/s x 3600 s x 300 B) = 54000000; the roll-up task groups by plant -> a second run changes nothing
and sends no write to either double -> a changed max age is patched in place (same IDs) -> points written at the edge
arrive at central -> with central down they are held and arrive after it returns. Preflight: a max age outside our
bound and an edge whose central has not run (--limit north-data: no token recorded) fail before any write.
Every run is --diff -vvv with module arguments shown; every output is scanned for the tokens and the password.

Mutations tried (roles/influxdb, restored; those guarding different tests were applied in the same session):
- __influxdb_replication_queue_bytes without the 33554430 floor -> test_a_changed_max_age_and_a_small_plant_are_
  patched_in_place failed (the run failed: the module refuses 1080000); the roll-out test alone would not notice.
- the remote's token from influxdb_admin_token of the edge instead of the central token store ->
  test_points_written_at_the_edge_arrive_at_central failed (nothing arrived: central refuses the edge's token).
- __influxdb_fleet_tags always [] -> test_rollout_creates_the_remote_and_the_replications failed (no plant column).
- the preflight's max age bound removed -> test_max_age_out_of_our_bound_fails_before_any_write failed (no message
  naming the bound).
- the central-token check removed -> test_an_edge_whose_central_has_not_run_fails_naming_the_fix failed (no message
  naming central-data and the fix).
"""

import json
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from influxdb2_double import InfluxDB2Double
from playbook_report import PlaybookResult, json_report, run_json_playbook

PLAYBOOK = Path(__file__).resolve().parent / "influxdb_replication.yml"
PASSWORD = f"pw-{uuid.uuid4().hex}"
CENTRAL_TOKEN = f"central-op-{uuid.uuid4().hex}{uuid.uuid4().hex}"
EDGE_TOKEN = f"edge-op-{uuid.uuid4().hex}{uuid.uuid4().hex}"
QUEUE = 50 * 3600 * 300


class HostResult(PlaybookResult):
    """A run's report seen from one inventory host."""

    def __init__(self, report, host):
        self.host = host
        super().__init__(report)


def wait_for(predicate, seconds=15.0):
    """Bounded poll on state: True as soon as predicate() holds."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Fleet:
    """The two doubles, the inventory and every run's output (for the secret scan)."""

    def __init__(self, directory):
        self.directory = directory
        self.central = InfluxDB2Double().start()
        self.edge = InfluxDB2Double().start()
        self.store = directory / "secrets"
        self.outputs = []
        self.inventory = directory / "inventory.yml"
        self.write_inventory()

    def write_inventory(self, event_rate=50):
        common = {"influxdb_api_version": 2, "influxdb_api_host": "127.0.0.1", "influxdb_api_use_tls": False,
                  "influxdb_admin_password": PASSWORD,
                  "influxdb_token_store_format": "plain", "influxdb_replication_event_rate": event_rate,
                  "influxdb_replication_outage_s": 3600, "influxdb_replication_bytes_per_point": 300}
        inventory = {"all": {"vars": common, "children": {
            "ming_central": {"vars": {"ming_site_role": "central", "ming_plant": "central"},
                             "hosts": {"central-data": {"influxdb_api_port": self.central.port,
                                                        "influxdb_admin_token": CENTRAL_TOKEN,
                                                        "influxdb_token_store_dir": str(self.store / "central")}}},
            "ming_plants": {"vars": {"ming_site_role": "edge", "ming_central_data": "central-data"}, "children": {
                "plant_north": {"vars": {"ming_plant": "north"},
                                "hosts": {"north-data": {"influxdb_api_port": self.edge.port,
                                                         "influxdb_admin_token": EDGE_TOKEN,
                                                         "influxdb_token_store_dir": str(self.store / "north")}}}}}}}}
        self.inventory.write_text(yaml.safe_dump(inventory))
        self.inventory.chmod(0o600)

    def run(self, expect_failure=False, extra=None, limit=None):
        arguments = ["-i", str(self.inventory), str(PLAYBOOK)]
        if extra:
            arguments += ["-e", json.dumps(extra)]
        if limit:
            arguments += ["--limit", limit]
        done = run_json_playbook(arguments, timeout=300)
        self.outputs.append(done.stdout + done.stderr)
        if expect_failure:
            assert done.returncode != 0, done.stdout[-6000:]
            return done.stdout + done.stderr
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
        report = json_report(done.stdout)
        return HostResult(report, "central-data"), HostResult(report, "north-data")

    def replication_token(self):
        return (self.store / "central" / "influxdb-token-replication-north").read_text().strip()

    def leaked(self):
        everything = "\n".join(self.outputs)
        secrets = {"password": PASSWORD, "central operator token": CENTRAL_TOKEN, "edge operator token": EDGE_TOKEN}
        token_file = self.store / "central" / "influxdb-token-replication-north"
        if token_file.exists():
            secrets["replication token"] = token_file.read_text().strip()
        return [name for name, value in secrets.items() if value in everything]

    def stop(self):
        self.central.stop()
        self.edge.stop()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory):
    subject = Fleet(tmp_path_factory.mktemp("influxdb-replication"))
    yield subject
    subject.stop()
    assert subject.leaked() == [], f"secrets {subject.leaked()} appeared in a run's output"


@pytest.fixture(scope="module")
def rolled_out(fleet):
    """The first roll-out (shared by the tests below, in file order)."""
    fleet.first = fleet.run()
    return fleet


def by_name(objects):
    return {item["name"]: item for item in objects.values()}


def write_at_the_edge(fleet, lines):
    request = urllib.request.Request(f"{fleet.edge.url}/api/v2/write?org=ming&bucket=machine_events", method="POST",
                                     data="\n".join(lines).encode(), headers={"Authorization": f"Token {EDGE_TOKEN}"})
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 (a local double)
        assert answer.status == 204


def raw_points(state):
    return state.points[next(b for b, v in state.buckets.items() if v["name"] == "machine_events")]


def test_rollout_creates_the_remote_and_the_replications(rolled_out):
    fleet = rolled_out
    central, edge = fleet.first
    assert central.changed > 0 and edge.changed > 0
    auths = {a["description"]: a for a in fleet.central.state.authorizations.values()}
    token = auths["sensingcam.ming replication-north"]
    names = {b["id"]: b["name"] for b in fleet.central.state.buckets.values()}
    assert sorted((p["action"], names[p["resource"]["id"]]) for p in token["permissions"]) == [
        ("write", "machine_events"), ("write", "machine_events_1h")]
    assert fleet.central.state.authenticate(f"Token {fleet.replication_token()}")["id"] == token["id"]
    remotes = by_name(fleet.edge.state.remotes)
    assert list(remotes) == ["central"]
    remote = remotes["central"]
    assert remote["remoteURL"] == fleet.central.url and remote["allowInsecureTLS"] is False
    assert remote["remoteOrgID"] == next(iter(fleet.central.state.orgs))
    assert remote["_token"] == fleet.replication_token()
    replications = by_name(fleet.edge.state.replications)
    assert sorted(replications) == ["machine_events to central", "machine_events_1h to central"]
    buckets = {b["name"]: b["id"] for b in fleet.edge.state.buckets.values()}
    for bucket in ("machine_events", "machine_events_1h"):
        replication = replications[f"{bucket} to central"]
        assert replication["localBucketID"] == buckets[bucket] and replication["remoteBucketName"] == bucket
        assert replication["maxQueueSizeBytes"] == QUEUE == 54000000
        assert replication["maxAgeSeconds"] == 604800 and replication["dropNonRetryableData"] is False
    for double in (fleet.central, fleet.edge):
        flux = next(iter(double.state.tasks.values()))["flux"]
        assert '"plant"' in flux.split("group(columns:", 1)[1].split(")", 1)[0], flux


def test_a_second_run_changes_nothing_and_sends_no_write(rolled_out):
    fleet = rolled_out
    before = len(fleet.central.writes()), len(fleet.edge.writes())
    central, edge = fleet.run()
    assert central.changed == 0, central.changed_tasks()
    assert edge.changed == 0, edge.changed_tasks()
    assert (len(fleet.central.writes()), len(fleet.edge.writes())) == before


def test_a_changed_max_age_and_a_small_plant_are_patched_in_place(rolled_out):
    """Max age 3600 s, and 1 event/s for an hour at 300 B (1080000 B, below InfluxDB's minimum): both replications
    are patched in place (same IDs, queues kept) to 3600 s and the 33554430-byte floor."""
    fleet = rolled_out
    ids = {r["name"]: r["id"] for r in fleet.edge.state.replications.values()}
    before = len(fleet.edge.writes())
    fleet.write_inventory(event_rate=1)
    try:
        _central, edge = fleet.run(extra={"influxdb_replication_max_age_s": 3600})
    finally:
        fleet.write_inventory()
    assert edge.task_changed("Replicate the buckets to central (edge)")
    assert {r["name"]: r["id"] for r in fleet.edge.state.replications.values()} == ids
    sent = fleet.edge.writes()[before:]
    assert [(method, body) for method, _path, _query, body in sent] == [
        ("PATCH", {"maxQueueSizeBytes": 33554430, "maxAgeSeconds": 3600})] * 2


def test_points_written_at_the_edge_arrive_at_central(rolled_out):
    fleet = rolled_out
    start = len(raw_points(fleet.central.state))
    write_at_the_edge(fleet, [f'machine_events,plant=north event_id="a{i}" {i}' for i in range(10)])
    assert wait_for(lambda: len(raw_points(fleet.central.state)) == start + 10), raw_points(fleet.central.state)[-3:]


def test_points_are_held_while_central_is_down_and_arrive_after(rolled_out):
    """Central's port refuses connections (its double stopped); the edge still accepts the writes, its queue holds
    them; central back with the same state on the same port: every point arrives, in order."""
    fleet = rolled_out
    state, port = fleet.central.state, fleet.central.port
    start = len(raw_points(state))
    fleet.central.stop()
    lines = [f'machine_events,plant=north event_id="held{i}" {1000 + i}' for i in range(30)]
    write_at_the_edge(fleet, lines)
    raw = next(r for r in fleet.edge.state.replications.values() if r["name"] == "machine_events to central")
    assert wait_for(lambda: "not reachable" in (raw.get("latestErrorMessage") or ""))
    assert fleet.edge.state.replication_json(raw)["currentQueueSizeBytes"] > 0
    assert len(raw_points(state)) == start
    fleet.central = InfluxDB2Double("127.0.0.1", port, state=state).start()
    assert wait_for(lambda: len(raw_points(state)) == start + 30), raw_points(state)[-3:]
    assert raw_points(state)[start:] == lines
    assert wait_for(lambda: fleet.edge.state.replication_json(raw)["currentQueueSizeBytes"] == 0)


def test_max_age_out_of_our_bound_fails_before_any_write(rolled_out):
    """--limit north-data (the edge's checks alone, no central run first: fast); the bound is checked first."""
    fleet = rolled_out
    before = len(fleet.central.writes()), len(fleet.edge.writes())
    output = fleet.run(expect_failure=True, extra={"influxdb_replication_max_age_s": 30}, limit="north-data")
    assert "influxdb_replication_max_age_s is 30" in output and "our bound is 60..5184000" in output
    assert (len(fleet.central.writes()), len(fleet.edge.writes())) == before


def test_an_edge_whose_central_has_not_run_fails_naming_the_fix(rolled_out):
    """--limit north-data: central's play has no host, so no influxdb_data_layer and no token for the plant."""
    fleet = rolled_out
    before = len(fleet.edge.writes())
    output = fleet.run(expect_failure=True, limit="north-data")
    assert "central data host central-data has no influxdb_data_layer" in output
    assert "Run the influxdb role on central-data first" in output
    assert len(fleet.edge.writes()) == before
