"""Bad inventory input to the influxdb role stops the roll-out before anything changes, with a message that names the
variable (issue 11, "Bad input").

Runs the role with ansible-playbook for real (no --check) in a throwaway base directory, Compose project and CA
directory, with the API pointed at a closed loopback port: a run that got past the checks would write the base
directory and the CA, start a container on this machine's Docker engine, or reach for the API. Each test asserts
that none of it happened. The control case runs the same input without the bad value through the checks alone
(--tags influxdb_preflight) and passes, so each failure below is the check's. No InfluxDB and no double is needed:
nothing may be called.

Mutations tried (each guard removed from roles/influxdb/tasks/preflight.yml, the test named failed, restored):
- retention check (`>= 3600`) removed -> test_a_retention_shorter_than_an_hour_is_refused failed (the run went on)
- the task check's every/cron condition removed -> test_a_task_without_every_or_cron_is_refused failed
- the task check's bucket condition removed -> test_flux_naming_an_unknown_bucket_is_refused failed
- the token scope check removed -> test_a_token_scope_for_an_unknown_bucket_is_refused failed
- the 1.x-only check removed -> test_a_1x_only_variable_with_api_version_2_is_refused failed
- the 2.x-only check removed -> test_a_2x_only_variable_with_api_version_1_is_refused failed
- the operator token check removed -> test_no_default_credential_2x_without_operator_token failed
"""

import uuid

import pytest
from influxdb_role_run import ROLLOUT, RoleRun
from mosquitto_broker import containers_of, free_port, remove_compose_project

GOOD_PASSWORD = "pw-" + uuid.uuid4().hex
GOOD_TOKEN = "tok-" + uuid.uuid4().hex + uuid.uuid4().hex


@pytest.fixture
def role(tmp_path):
    project = f"ifxpre-{uuid.uuid4().hex[:8]}"
    variables = {
        "ming_base_dir": str(tmp_path / "ming"), "ming_compose_project": project,
        "influxdb_image": "ming/influxdb:lab", "influxdb_listen_addresses": ["127.0.0.1"],
        "influxdb_port": free_port(), "influxdb_api_host": "127.0.0.1", "influxdb_api_port": free_port(),
        "influxdb_tls_managed_ca_dir": str(tmp_path / "ca"), "influxdb_tls_managed_ca_allow_unencrypted_key": True,
        "influxdb_token_store_dir": str(tmp_path / "tokens"), "influxdb_token_store_format": "plain",
        "influxdb_admin_password": GOOD_PASSWORD, "influxdb_admin_token": GOOD_TOKEN,
    }
    subject = RoleRun(tmp_path, ROLLOUT, variables, {"admin password": GOOD_PASSWORD, "operator token": GOOD_TOKEN})
    subject.project = project
    subject.tmp_path = tmp_path
    yield subject
    # Only a run that got past a check (a removed guard) leaves a project behind.
    remove_compose_project(project, services=("influxdb",))


def refused(role, *names, **overrides):
    """Runs the role with ``overrides``; asserts it failed naming each of ``names`` and that nothing changed."""
    output = role.run(expect_failure=True, **overrides)
    for name in names:
        assert name in output, f"{name} is not named in the failure: {output[-4000:]}"
    assert "Check " in output
    assert not (role.tmp_path / "ming").exists(), "the roll-out wrote the base directory before the checks stopped it"
    assert not (role.tmp_path / "ca").exists(), "the roll-out made the CA before the checks stopped it"
    assert not (role.tmp_path / "tokens").exists(), "the roll-out wrote the token store before the checks stopped it"
    assert containers_of(role.project) == []
    assert role.leaked() == []
    return output


def test_the_valid_input_passes_the_same_checks(role):
    """The control case: the same variables without a bad value pass every check."""
    result = role.run(tags="influxdb_preflight")
    assert result.stats["failures"] == 0
    assert not (role.tmp_path / "ming").exists()


def test_a_retention_shorter_than_an_hour_is_refused(role):
    output = refused(role, "influxdb_buckets (machine_events).retention", "shorter than 1h", influxdb_buckets=[
        {"name": "machine_events", "retention": "30m"}, {"name": "machine_events_1h", "retention": "730d"}])
    assert "'30m'" in output


def test_a_retention_that_is_no_duration_is_refused_naming_the_entry(role):
    refused(role, "influxdb_buckets (machine_events).retention", "soon", influxdb_buckets=[
        {"name": "machine_events", "retention": "soon"}, {"name": "machine_events_1h", "retention": "730d"}])


def test_a_task_without_every_or_cron_is_refused(role):
    refused(role, "influxdb_tasks (cleanup)", "every", "cron", influxdb_tasks=[
        {"name": "cleanup", "flux": 'from(bucket: "machine_events") |> range(start: -1h) |> count()'}])


def test_flux_naming_an_unknown_bucket_is_refused(role):
    refused(role, "influxdb_tasks (copy)", "scratch", influxdb_tasks=[
        {"name": "copy", "every": "1h",
         "flux": 'from(bucket: "machine_events") |> range(start: -1h) |> to(bucket: "scratch")'}])


def test_a_downsampling_destination_the_inventory_does_not_define_is_refused(role):
    refused(role, "influxdb_downsampling (machine_events_1h)", "machine_events_5m", influxdb_downsampling=[
        {"name": "machine_events_1h", "source": "machine_events", "destination": "machine_events_5m", "every": "1h",
         "group_by": ["line"]}])


def test_a_token_scope_for_an_unknown_bucket_is_refused(role):
    refused(role, "influxdb_tokens (reporting)", "archive", influxdb_tokens=[
        {"name": "reporting", "permissions": [{"action": "read", "bucket": "archive"}]}])


def test_a_client_for_an_unknown_bucket_is_refused(role):
    refused(role, "influxdb_clients (grafana)", "machine_events_1d", influxdb_clients=[
        {"name": "grafana", "access": "read", "buckets": ["machine_events_1d"]}])


def test_a_1x_only_variable_with_api_version_2_is_refused(role):
    refused(role, "influxdb_continuous_queries", "influxdb_api_version is 2", influxdb_continuous_queries=[
        {"name": "cq", "query": 'SELECT count("x") INTO "a" FROM "b" GROUP BY time(1h)'}])


def test_a_2x_only_variable_with_api_version_1_is_refused(role):
    refused(role, "influxdb_org", "influxdb_api_version is 1", influxdb_api_version=1, influxdb_admin_token="",
            influxdb_org="plant1", influxdb_clients=[])


def test_no_default_credential_missing_admin_password(role):
    refused(role, "influxdb_admin_password", influxdb_admin_password="")


def test_no_default_credential_2x_without_operator_token(role):
    refused(role, "influxdb_admin_token", influxdb_admin_token="")


def test_a_1x_client_without_password_is_refused(role):
    refused(role, "influxdb_clients (nodered).password", influxdb_api_version=1, influxdb_admin_token="")
