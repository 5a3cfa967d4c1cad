"""The influxdb role's 2.x service, rendered only: the InfluxDB 2.9.1 image cannot be pulled on this machine, so the
2.x service path is validated by rendering (compose_project renders the fragment and checks it with
``docker compose config``; ``compose_project_render_only_services`` keeps it from starting), never by running it.
The 2.x data model is tested against the API double (test_influxdb_role_data_model.py).

A run renders config.yml (TLS from the plant CA, TLS 1.2 at least, strict ciphers, hardening, no reporting) and a
Compose fragment with the pinned image, the container baseline (uid 1000, no capabilities, no-new-privileges,
read-only root), the port on the inventory's address only, the ``/health`` probe over HTTPS and no secret in the
environment; it starts nothing and skips the data model, saying so. A second run changes nothing.

Mutations tried (roles/influxdb, each restored):
- ``tls-min-version: "1.2"`` removed from config.yml.j2 -> test_the_2x_service_is_rendered_not_started failed
- ``read_only`` relaxed (``read_only: false`` in __influxdb_service) -> the run failed in compose_project's baseline
  check (the role declares no loosening), so test_the_2x_service_is_rendered_not_started failed
"""

import uuid

import pytest
import yaml
from influxdb_role_run import ROLLOUT, RoleRun
from mosquitto_broker import containers_of, free_port, remove_compose_project

PROJECT = f"ifxv2-{uuid.uuid4().hex[:6]}"
PASSWORD = f"pw-{uuid.uuid4().hex}"
TOKEN = f"op-{uuid.uuid4().hex}{uuid.uuid4().hex}"
DIGEST = "sha256:db0bdab1e5ad5ee899c127b8c13d9c986a3ced78cd9200dd80a1064bf1533b6e"


@pytest.fixture(scope="module")
def role(tmp_path_factory):
    directory = tmp_path_factory.mktemp("influxdb-v2-render")
    port = free_port()
    variables = {
        "ming_base_dir": str(directory / "base"), "ming_compose_project": PROJECT,
        "compose_project_render_only_services": ["influxdb"],
        "influxdb_api_version": 2, "influxdb_listen_addresses": ["127.0.0.1"], "influxdb_port": port,
        "influxdb_image_registry": "docker.io",
        "influxdb_tls_managed_ca_dir": str(directory / "ca"), "influxdb_tls_managed_ca_allow_unencrypted_key": True,
        "influxdb_tls_san": ["localhost", "127.0.0.1"],
        "influxdb_admin_password": PASSWORD, "influxdb_admin_token": TOKEN,
        "influxdb_token_store_dir": str(directory / "tokens"), "influxdb_token_store_format": "plain",
    }
    subject = RoleRun(directory, ROLLOUT, variables, {"admin password": PASSWORD, "operator token": TOKEN})
    subject.base = directory / "base"
    subject.port = port
    yield subject
    remove_compose_project(PROJECT, services=("influxdb",))
    assert subject.leaked() == []


def test_the_2x_service_is_rendered_not_started(role):
    result = role.run()
    assert result.changed > 0
    assert containers_of(PROJECT) == []
    config = yaml.safe_load((role.base / "influxdb" / "config" / "config.yml").read_text())
    assert config["tls-cert"] == "/etc/influxdb2/certs/server.crt"
    assert config["tls-key"] == "/etc/influxdb2/certs/server.key"
    assert config["tls-min-version"] == "1.2"
    assert config["tls-strict-ciphers"] is True and config["hardening-enabled"] is True
    assert config["reporting-disabled"] is True
    for name in ("server.crt", "server.key", "ca.crt"):
        assert (role.base / "influxdb" / "config" / "certs" / name).is_file(), name
    fragment = yaml.safe_load((role.base / "compose.d" / "influxdb.yml").read_text())
    service = fragment["services"]["influxdb"]
    assert service["image"] == f"docker.io/influxdb:2.9.1@{DIGEST}"
    assert service["user"] == "1000:1000"
    assert service["cap_drop"] == ["ALL"] and service["read_only"] is True
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["ports"] == [{"host_ip": "127.0.0.1", "mode": "host", "protocol": "tcp",
                                 "published": str(role.port), "target": 8086}]
    assert service["healthcheck"]["test"] == ["CMD", "influx", "ping", "--host", "https://localhost:8086"]
    assert set(service["environment"]) == {"INFLUXD_CONFIG_PATH", "SSL_CERT_FILE"}
    assert "influxdb_data" in fragment["volumes"]
    skipped = result.task_result("Report that the data model was not applied (service rendered only)")
    assert "rendered only" in skipped["msg"]


def test_a_second_render_changes_nothing(role):
    again = role.run()
    assert again.changed == 0, again.changed_tasks()
    assert containers_of(PROJECT) == []
