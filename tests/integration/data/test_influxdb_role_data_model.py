"""The influxdb role's 2.x data model (entry point ``data_model``) rolled out with ansible-playbook against the
InfluxDB 2 API DOUBLE (tools/influxdb2_double, fixture ``influxdb2_double``: InfluxDB 2.x cannot run on this
machine, so every test here runs against a double that follows InfluxData's OpenAPI document for OSS 2.x, 2.9.1 with
hashed tokens). Plain HTTP to the double (influxdb_api_use_tls: false); a plant's API is HTTPS with the CA checked.

check mode on a fresh double sends no write -> the first run onboards and creates both buckets with their retention,
the Node-RED (write, raw bucket only), Grafana (read, both buckets) and task tokens, whose values are kept in 0600
files of the token store and appear in no output, the downsampling task created with (and so running as) the task
token, and the DBRP mappings ming/<bucket> -> <bucket> -> a second run reports no change and sends no write request
-> the exported influxdb_data_layer names the endpoint, the buckets and where each token lives.
Every run is ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1``; every output is scanned for the admin password, the
operator token and every stored token value.

Mutations tried (roles/influxdb, each restored):
- the task token's ``read`` of the source bucket dropped from __influxdb_task_token_permissions ->
  test_the_first_run_creates_the_data_model failed (permissions compared exactly)
- the task authenticated with influxdb_admin_token instead of the stored task token ->
  test_the_first_run_creates_the_data_model failed (the task's authorizationID is the operator's)
- the DBRP ``default`` bound to every bucket (``true``) -> test_the_first_run_creates_the_data_model failed
"""

import stat
import uuid

import pytest
from influxdb_role_run import DATA_MODEL, RoleRun

PASSWORD = f"pw-{uuid.uuid4().hex}"
OPERATOR_TOKEN = f"op-{uuid.uuid4().hex}{uuid.uuid4().hex}"


@pytest.fixture
def role(tmp_path, influxdb2_double):
    variables = {
        "influxdb_api_version": 2, "influxdb_api_host": "127.0.0.1", "influxdb_api_port": influxdb2_double.port,
        "influxdb_api_use_tls": False, "influxdb_admin_password": PASSWORD, "influxdb_admin_token": OPERATOR_TOKEN,
        "influxdb_token_store_dir": str(tmp_path / "tokens"), "influxdb_token_store_format": "plain",
    }
    subject = RoleRun(tmp_path, DATA_MODEL, variables, {"admin password": PASSWORD, "operator token": OPERATOR_TOKEN})
    subject.secret_files = [tmp_path / "tokens" / f"influxdb-token-{name}" for name in ("nodered", "grafana", "tasks")]
    subject.double = influxdb2_double
    subject.tokens = tmp_path / "tokens"
    yield subject
    assert subject.leaked() == [], f"secrets {subject.leaked()} appeared in a run's output"


def by_name(objects, key="name"):
    return {item[key]: item for item in objects.values()}


def bucket_permissions(state, auth):
    names = {bucket_id: bucket["name"] for bucket_id, bucket in state.buckets.items()}
    found = []
    for permission in auth["permissions"]:
        resource = permission["resource"]
        target = names.get(resource.get("id")) if resource["type"] == "buckets" else resource["type"]
        found.append((permission["action"], resource["type"], target))
    return sorted(found)


def test_check_mode_on_a_fresh_double_sends_no_write(role):
    role.run(check=True)
    assert role.double.writes() == []
    assert not role.tokens.exists() or list(role.tokens.iterdir()) == []


def test_the_first_run_creates_the_data_model(role):
    result = role.run()
    assert result.changed > 0
    state = role.double.state
    buckets = by_name(state.buckets)
    assert buckets["machine_events"]["everySeconds"] == 30 * 86400
    assert buckets["machine_events_1h"]["everySeconds"] == 730 * 86400
    authorizations = by_name(state.authorizations, "description")
    nodered = authorizations["sensingcam.ming nodered"]
    grafana = authorizations["sensingcam.ming grafana"]
    tasks_token = authorizations["sensingcam.ming tasks"]
    assert bucket_permissions(state, nodered) == [("write", "buckets", "machine_events")]
    assert bucket_permissions(state, grafana) == [("read", "buckets", "machine_events"),
                                                  ("read", "buckets", "machine_events_1h")]
    assert bucket_permissions(state, tasks_token) == sorted([
        ("read", "buckets", "machine_events"), ("write", "buckets", "machine_events_1h"),
        ("read", "tasks", "tasks"), ("write", "tasks", "tasks"), ("read", "orgs", "orgs")])
    for path in role.secret_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert len(path.read_text().strip()) >= 32
    tasks = by_name(state.tasks)
    assert list(tasks) == ["machine_events_1h"]
    task = tasks["machine_events_1h"]
    assert task["status"] == "active" and task["every"] == "1h" and task["offset"] == "5m"
    assert task["authorizationID"] == tasks_token["id"], "the task must run as the kept task token"
    assert 'from(bucket: "machine_events")' in task["flux"]
    assert 'bucket: "machine_events_1h"' in task["flux"] and 'org: "ming"' in task["flux"]
    assert '"correlation_rate": r.correlation_rate' in task["flux"]
    dbrps = {(d["database"], d["retention_policy"]): d for d in state.dbrps.values()}
    assert set(dbrps) == {("ming", "machine_events"), ("ming", "machine_events_1h")}
    assert dbrps[("ming", "machine_events")]["default"] is True
    assert dbrps[("ming", "machine_events_1h")]["default"] is False
    assert dbrps[("ming", "machine_events_1h")]["bucketID"] == buckets["machine_events_1h"]["id"]


def test_a_second_run_changes_nothing_and_sends_no_write(role):
    role.run()
    writes_before = len(role.double.writes())
    again = role.run()
    assert again.changed == 0, again.changed_tasks()
    assert role.double.writes()[writes_before:] == []
    checked = role.run(check=True)
    assert checked.changed == 0, checked.changed_tasks()
    assert role.double.writes()[writes_before:] == []


def test_the_exported_data_layer_names_endpoint_buckets_and_token_files(role):
    result = role.run()
    layer = result.task_result("Record the data layer for the other roles (influxdb_data_layer)")
    facts = layer["ansible_facts"]["influxdb_data_layer"]
    assert facts["api_version"] == 2
    assert facts["url"] == f"http://127.0.0.1:{role.double.port}"
    assert facts["org"] == "ming" and facts["database"] == "ming"
    assert facts["buckets"] == ["machine_events", "machine_events_1h"]
    assert facts["credentials"]["nodered"] == {"kind": "token", "access": "write",
                                               "store_path": str(role.tokens / "influxdb-token-nodered")}
    assert facts["credentials"]["grafana"]["store_path"] == str(role.tokens / "influxdb-token-grafana")
