"""The grafana role rolled out on this machine, rendered only: Grafana cannot run here (no image, no registry), so
compose_project renders and validates the service (``docker compose config``) and starts nothing
(``ming_render_only_services: [grafana]``). What is checked is what the role writes, by Python's own INI, YAML and
JSON parsers and by cross-reference; Grafana itself does not read these files in this test. The data host's
``influxdb_data_layer`` is given in the inventory (as the influxdb role records it), not made by a real InfluxDB.

The certificate comes from a plant PKI stand-in (``grafana_tls_source: files``, tests/plant_pki.py): the plant CA path
(``managed``) is compose_project's certificate entry point, tested with it; issuing a CA here would double this
file's time.

Steps: check mode on a fresh host (nothing written) -> apply -> an idempotent re-run
-> check mode on the converged host (no change) -> a change: the data layer moves to InfluxDB 1.x (the InfluxQL
datasource, the password from the data host's influxdb_clients), single sign-on off and the webhook removed (their
secrets and provisioning go). Every run is ``-vvv --diff`` with ANSIBLE_INJECT_INVOCATION=1
and scanned for every secret.

Mutations tried (each with this file's roll-out playbook and inventory shape, checking the effect the named test
asserts; each undone):
- ``no_log: true`` and ``diff: false`` removed from "Write the secret files" -> the administrator's password is in
  the ``-vvv --diff`` output (test_no_secret_in_any_run_output). ``no_log`` alone does not show it: the copy module
  hides ``content`` and ``diff: false`` hides the diff; both stay as defence in depth.
- grafana.ini's admin_password rendered as the literal password -> files/grafana_ini_check.py refused the file, the
  apply failed (every test here), and the password was not in the output
- the stale-file removal disabled (``when: false``) -> the OIDC client secret stayed after single sign-on was turned
  off (test_the_change_switches_to_influxql_and_removes_what_is_no_longer_written)
- ``:ro`` dropped from the configuration volume -> the fragment mounts /etc/grafana writable
  (test_the_compose_service_keeps_the_baseline)
"""

import configparser
import json
import re
import stat
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from mosquitto_broker import require
from plant_pki import PlantPki
from playbook_report import PlaybookResult, json_report, run_json_playbook

REPO = Path(__file__).resolve().parents[3]
ROLLOUT = Path(__file__).resolve().parent / "grafana_rollout.yml"
UID = "ming-influxdb"
SCHEMA = {
    "measurement": "machine_events", "bucket": "machine_events", "retention_policy": "machine_events",
    "tags": ["line", "station", "camera", "event", "severity"],
    "fields": {"correlation": "string", "event_id": "string", "self_test": "boolean", "clip_url": "string",
               "snapshot_url": "string", "frigate_event_id": "string", "camera_clip": "string",
               "duration_seconds": "float", "error": "string"},
    "rollup": {"bucket": "machine_events_1h", "retention_policy": "machine_events_1h",
               "tags": ["line", "station", "event", "severity"], "fields": ["events", "clips", "correlation_rate"]},
}
ROLE_PATH = ("contains(groups[*], 'grafana-admins') && 'Admin' || contains(groups[*], 'line-engineers') && 'Editor'"
             " || 'Viewer'")
SECRET_REFERENCE = re.compile(r"\$__file\{(/etc/grafana/[^}]+)\}")


class Rollout:
    """Runs grafana_rollout.yml against an inventory this test writes, and keeps every output for the secret scan."""

    def __init__(self, directory, api_version=2):
        self.directory = Path(directory)
        self.project = f"grafana-test-{uuid.uuid4().hex[:8]}"
        self.secrets = {name: f"{name}-{uuid.uuid4().hex}" for name in
                        ("admin", "oidc", "influxdb", "webhook", "smtp")}
        self.api_version = api_version
        self.outputs = []
        (self.directory / "token-store").mkdir()
        token = self.directory / "token-store" / "influxdb-token-grafana"
        token.write_text(self.secrets["influxdb"] + "\n")
        token.chmod(0o600)
        self.base = self.directory / "base"
        self.ca = self.directory / "ca"
        self.config = self.base / "grafana" / "config"
        self.pki = self.directory / "pki"
        self.tls = {"grafana_tls_source": "files", "grafana_tls_ca_file": str(self.pki / "ca.crt"),
                    "grafana_tls_cert_file": str(self.pki / "server.crt"),
                    "grafana_tls_key_file": str(self.pki / "server.key")}
        make_pki(self.pki)

    def data_layer(self):
        layer = {"api_version": self.api_version, "url": "https://data-1.plant.example:8086",
                 "ca_file": str(self.pki / "ca.crt"), "org": "ming" if self.api_version == 2 else "",
                 "database": "ming", "measurement": "machine_events",
                 "buckets": ["machine_events", "machine_events_1h"], "schema": SCHEMA}
        layer["credentials"] = {"grafana": (
            {"kind": "token", "access": "read",
             "store_path": str(self.directory / "token-store" / "influxdb-token-grafana")}
            if self.api_version == 2 else
            {"kind": "user", "access": "read", "user": "grafana",
             "password_variable": "influxdb_clients (grafana).password"})}
        return layer

    def variables(self, **overrides):
        variables = {
            "ming_base_dir": str(self.base), "ming_compose_project": self.project,
            "ming_render_only_services": ["grafana"],
            "grafana_port": 13000, "grafana_listen_addresses": ["127.0.0.1"],
            "grafana_domain": "grafana.plant.example",
            "grafana_tls_managed_ca_dir": str(self.ca), "grafana_tls_managed_ca_allow_unencrypted_key": True,
            **self.tls,
            "grafana_admin_password": self.secrets["admin"],
            "grafana_oidc": {
                "name": "Plant SSO", "client_id": "grafana", "client_secret": self.secrets["oidc"],
                "auth_url": "https://idp.plant.example/auth", "token_url": "https://idp.plant.example/token",
                "api_url": "https://idp.plant.example/userinfo", "scopes": ["openid", "email", "profile", "groups"],
                "role_attribute_path": ROLE_PATH,
                "role_samples": [{"claims": {"groups": ["grafana-admins"]}, "expect": "Admin"},
                                 {"claims": {"groups": ["line-engineers"]}, "expect": "Editor"},
                                 {"claims": {"groups": []}, "expect": "Viewer"}]},
            "grafana_contact_points": [
                {"name": "shift leads", "type": "email", "addresses": ["leads@plant.example", "ops@plant.example"]},
                {"name": "mes", "type": "webhook", "url": "https://mes.plant.example/alerts",
                 "bearer_token": self.secrets["webhook"]}],
            "grafana_smtp_host": "mail.plant.example:587", "grafana_smtp_user": "grafana",
            "grafana_smtp_password": self.secrets["smtp"], "grafana_smtp_from_address": "grafana@plant.example",
        }
        variables.update(overrides)
        return variables

    def write_inventory(self):
        data_host = {"ansible_connection": "local", "influxdb_data_layer": self.data_layer()}
        if self.api_version == 1:
            data_host["influxdb_clients"] = [{"name": "grafana", "access": "read", "buckets": ["machine_events"],
                                              "password": self.secrets["influxdb"]}]
        inventory = {"all": {"children": {
            "ming_apps": {"hosts": {"localhost": {"ansible_connection": "local",
                                                  "nodered_frigate_public_url": "https://nvr-1.plant.example:8971"}}},
            "ming_data": {"hosts": {"data-1": data_host}},
            "ming_nvr": {"hosts": {"nvr-1": {"ansible_connection": "local"}}},
            "sensingcams": {"hosts": {
                "cam-line1-st10": {"sensingcam_line": "line1", "sensingcam_station": "st10"},
                "cam-line2-st10": {"sensingcam_line": "line2", "sensingcam_station": "st10"},
                "cam-spare": {}}},
        }}}
        path = self.directory / "inventory.yml"
        path.write_text(yaml.safe_dump(inventory))
        path.chmod(0o600)
        return path

    def run(self, check=False, **overrides):
        inventory = self.write_inventory()
        extra = self.directory / "extra-vars.json"
        extra.write_text(json.dumps(self.variables(**overrides)))
        extra.chmod(0o600)
        done = run_json_playbook(["-i", str(inventory), str(ROLLOUT), "-e", f"@{extra}"], check=check, timeout=300)
        self.outputs.append(done.stdout + done.stderr)
        assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
        return PlaybookResult(json_report(done.stdout))

    def leaked(self):
        everything = "\n".join(self.outputs)
        return [name for name, value in self.secrets.items() if value in everything]

    def host_path(self, container_path):
        """Where a path under /etc/grafana in the container lives on the host (the configuration directory)."""
        assert container_path.startswith("/etc/grafana/"), container_path
        return self.config / container_path[len("/etc/grafana/"):]


def make_pki(directory):
    """A plant PKI stand-in (tests/plant_pki.py): a CA and a server certificate for grafana and localhost."""
    directory.mkdir()
    PlantPki(directory, names=("grafana", "localhost", "grafana.plant.example")).issue_server()


def docker_ready():
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


@pytest.fixture(scope="module")
def rollout(tmp_path_factory):
    """check (fresh) -> apply -> re-run -> check (converged); the results by step."""
    require(docker_ready(), "needs the Docker engine (scripts/docker-engine.sh): compose_project validates the "
                            "fragment with docker compose config")
    run = Rollout(tmp_path_factory.mktemp("grafana-role"))
    run.results = {"check_fresh": run.run(check=True)}
    run.fresh_left_nothing = not run.base.exists()
    run.results["apply"] = run.run()
    run.results["rerun"] = run.run()
    run.results["check_converged"] = run.run(check=True)
    return run


@pytest.fixture(scope="module")
def changed(rollout):
    """The change step, on the converged host: the data layer moves to InfluxDB 1.x (InfluxQL, the data host's
    influxdb_clients password), single sign-on is turned off and the webhook contact point removed."""
    rollout.api_version = 1
    points = [point for point in rollout.variables()["grafana_contact_points"] if point["type"] == "email"]
    return rollout.run(grafana_oidc={}, grafana_contact_points=points)


def load_yaml(path):
    return yaml.safe_load(path.read_text())


def ini(rollout):
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str
    parser.read_string((rollout.config / "grafana.ini").read_text())
    return parser


def test_check_mode_on_a_fresh_host_writes_nothing(rollout):
    assert rollout.results["check_fresh"].changed > 0  # it predicts the roll-out ...
    assert rollout.fresh_left_nothing  # ... and writes nothing


def test_the_run_says_grafana_is_rendered_only(rollout):
    message = rollout.results["apply"].task_result("Report a service that is rendered only | grafana")["msg"]
    assert "grafana: configuration rendered and validated; not started" in message


def test_a_second_run_and_check_mode_on_the_converged_host_change_nothing(rollout):
    assert rollout.results["rerun"].changed == 0, rollout.results["rerun"].changed_tasks()
    assert rollout.results["check_converged"].changed == 0, rollout.results["check_converged"].changed_tasks()


def test_files_have_their_modes_and_owners(rollout):
    config = rollout.config
    expected = {
        ".": (0o750, 0, 472), "grafana.ini": (0o440, 0, 472), "secrets": (0o500, 472, 472),
        "provisioning/datasources/ming.yaml": (0o440, 0, 472), "provisioning/dashboards/ming.yaml": (0o440, 0, 472),
        "provisioning/alerting/rules.yaml": (0o440, 0, 472),
        "provisioning/alerting/contact-points.yaml": (0o440, 0, 472),
        "provisioning/alerting/policies.yaml": (0o440, 0, 472), "ca/influxdb-ca.crt": (0o444, 0, 472),
        "tls/server.crt": (0o644, 0, 472), "tls/ca.crt": (0o644, 0, 472), "tls/server.key": (0o400, 472, 472),
    }
    for name in ("admin_password", "secret_key", "influxdb_token", "oidc_client_secret", "smtp_password",
                 "webhook-ming-mes"):
        expected[f"secrets/{name}"] = (0o400, 472, 472)
    for name, (mode, owner, group) in expected.items():
        info = (config / name).stat()
        assert (stat.S_IMODE(info.st_mode), info.st_uid, info.st_gid) == (mode, owner, group), name
    assert sorted(path.name for path in (config / "secrets").iterdir()) == sorted(
        name.split("/")[1] for name in expected if name.startswith("secrets/"))


def test_grafana_ini_parses_with_https_sso_and_no_literal_secret(rollout):
    parser = ini(rollout)
    assert parser["server"]["protocol"] == "https"
    assert parser["server"]["cert_file"] == "/etc/grafana/tls/server.crt"
    assert parser["server"]["root_url"] == "https://grafana.plant.example:13000/"
    assert parser["auth.anonymous"]["enabled"] == "false"
    assert parser["panels"]["disable_sanitize_html"] == "false"
    assert parser["security"]["cookie_secure"] == "true" and parser["security"]["disable_gravatar"] == "true"
    assert parser["security"]["admin_password"] == "$__file{/etc/grafana/secrets/admin_password}"
    oauth = parser["auth.generic_oauth"]
    assert oauth["client_secret"] == "$__file{/etc/grafana/secrets/oidc_client_secret}"
    assert oauth["role_attribute_strict"] == "true" and oauth["allow_assign_grafana_admin"] == "false"
    assert oauth["use_pkce"] == "true" and oauth["scopes"] == "openid email profile groups"
    # quoted for Grafana's INI reader (the expression holds quotes), unchanged inside
    assert oauth["role_attribute_path"] == f'"""{ROLE_PATH}"""'
    assert parser["smtp"]["password"] == "$__file{/etc/grafana/secrets/smtp_password}"


def test_every_secret_reference_names_a_file_with_the_secret(rollout):
    """Each $__file{} in grafana.ini and the provisioning files resolves to a file of the configuration directory,
    which holds exactly the secret the inventory gave (Grafana trims the trailing newline)."""
    references = set()
    for path in [rollout.config / "grafana.ini", *rollout.config.glob("provisioning/**/*.yaml")]:
        references |= set(SECRET_REFERENCE.findall(path.read_text()))
    expected = {"/etc/grafana/secrets/admin_password": rollout.secrets["admin"],
                "/etc/grafana/secrets/oidc_client_secret": rollout.secrets["oidc"],
                "/etc/grafana/secrets/influxdb_token": rollout.secrets["influxdb"],
                "/etc/grafana/secrets/smtp_password": rollout.secrets["smtp"],
                "/etc/grafana/secrets/webhook-ming-mes": rollout.secrets["webhook"]}
    assert set(expected) | {"/etc/grafana/secrets/secret_key", "/etc/grafana/ca/influxdb-ca.crt"} == references
    for reference, value in expected.items():
        assert rollout.host_path(reference).read_text().strip() == value
    assert len(rollout.host_path("/etc/grafana/secrets/secret_key").read_text().strip()) >= 32
    assert rollout.host_path("/etc/grafana/ca/influxdb-ca.crt").read_text() == (rollout.pki / "ca.crt").read_text()


def test_no_secret_in_a_rendered_file_other_than_its_own(rollout):
    secrets_dir = rollout.config / "secrets"
    for path in rollout.base.rglob("*"):
        if path.is_file() and secrets_dir not in path.parents:
            text = path.read_text(errors="replace")
            assert [name for name, value in rollout.secrets.items() if value in text] == [], path


def test_the_datasource_is_flux_with_the_read_token_and_influxdb_ca(rollout):
    document = load_yaml(rollout.config / "provisioning" / "datasources" / "ming.yaml")
    assert document["apiVersion"] == 1 and document["prune"] is True
    [source] = document["datasources"]
    assert {key: source[key] for key in ("name", "uid", "type", "access", "url", "editable")} == {
        "name": "ming-influxdb", "uid": UID, "type": "influxdb", "access": "proxy",
        "url": "https://data-1.plant.example:8086", "editable": False}
    assert source["jsonData"] == {"version": "Flux", "organization": "ming", "defaultBucket": "machine_events",
                                  "httpMode": "POST", "tlsAuthWithCACert": True, "tlsSkipVerify": False}
    assert source["secureJsonData"] == {"token": "$__file{/etc/grafana/secrets/influxdb_token}",
                                        "tlsCACert": "$__file{/etc/grafana/ca/influxdb-ca.crt}"}


def datasource_uids(node):
    """Every datasource uid a dashboard or rule document names (panels, targets, rule data)."""
    found = []
    if isinstance(node, dict):
        if isinstance(node.get("datasource"), dict) and "uid" in node["datasource"]:
            found.append(node["datasource"]["uid"])
        if "datasourceUid" in node:
            found.append(node["datasourceUid"])
        for value in node.values():
            found += datasource_uids(value)
    elif isinstance(node, list):
        for value in node:
            found += datasource_uids(value)
    return found


def test_provisioning_files_reference_each_other(rollout):
    provider = load_yaml(rollout.config / "provisioning" / "dashboards" / "ming.yaml")["providers"][0]
    assert provider["folder"] == "sensingcam.ming" and provider["allowUiUpdates"] is False
    assert provider["disableDeletion"] is True and provider["type"] == "file"
    # The provider's path, seen through the compose fragment's volume, holds the dashboards.
    fragment = load_yaml(rollout.base / "compose.d" / "grafana.yml")["services"]["grafana"]
    assert f"{rollout.config}:/etc/grafana:ro" in fragment["volumes"]
    dashboards = sorted(rollout.host_path(provider["options"]["path"] + "/").glob("*.json"))
    assert [path.name for path in dashboards] == ["ming-live-lines.json", "ming-machine-events.json"]
    for path in dashboards:
        uids = datasource_uids(json.loads(path.read_text()))
        assert uids and set(uids) <= {UID, "-- Grafana --", "grafana"}, (path.name, set(uids))
        assert UID in uids
    rules = load_yaml(rollout.config / "provisioning" / "alerting" / "rules.yaml")
    [group] = rules["groups"]
    assert group["folder"] == provider["folder"]
    uids = datasource_uids(rules)
    assert UID in uids and set(uids) <= {UID, "__expr__"}
    points = load_yaml(rollout.config / "provisioning" / "alerting" / "contact-points.yaml")["contactPoints"]
    assert [point["name"] for point in points] == ["shift leads", "mes"]
    assert points[0]["receivers"][0]["settings"]["addresses"] == "leads@plant.example;ops@plant.example"
    assert points[1]["receivers"][0]["settings"]["url"] == "https://mes.plant.example/alerts"
    [policy] = load_yaml(rollout.config / "provisioning" / "alerting" / "policies.yaml")["policies"]
    assert policy["receiver"] == "shift leads"


def test_the_compose_service_keeps_the_baseline(rollout):
    service = load_yaml(rollout.base / "compose.d" / "grafana.yml")["services"]["grafana"]
    assert service["image"] == "grafana/grafana:13.2.1"
    assert service["user"] == "472:472" and service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert "no-new-privileges:true" in service["security_opt"]
    assert service["ports"] == [{"host_ip": "127.0.0.1", "mode": "host", "protocol": "tcp", "published": "13000",
                                 "target": 3000}]
    assert service["volumes"] == [f"{rollout.config}:/etc/grafana:ro", "grafana_data:/var/lib/grafana"]
    assert service["tmpfs"] == ["/tmp", "/var/log/grafana"]
    assert "environment" not in service
    test = service["healthcheck"]["test"]
    assert test[:2] == ["CMD", "curl"] and "--cacert" in test and test[-1] == "https://localhost:3000/api/health"


# --- the change step (runs last: it changes the host the tests above read) --------------------------------------
def test_the_change_switches_to_influxql_and_removes_what_is_no_longer_written(rollout, changed):
    assert changed.changed > 0
    [source] = load_yaml(rollout.config / "provisioning" / "datasources" / "ming.yaml")["datasources"]
    assert source["user"] == "grafana" and source["jsonData"]["dbName"] == "ming"
    assert "version" not in source["jsonData"]
    assert source["secureJsonData"] == {"password": "$__file{/etc/grafana/secrets/influxdb_password}",
                                        "tlsCACert": "$__file{/etc/grafana/ca/influxdb-ca.crt}"}
    assert (rollout.config / "secrets" / "influxdb_password").read_text().strip() == rollout.secrets["influxdb"]
    # single sign-on off: its section and its secret go; the webhook's secret and contact point go with it
    assert "auth.generic_oauth" not in ini(rollout)
    secrets = sorted(path.name for path in (rollout.config / "secrets").iterdir())
    assert secrets == ["admin_password", "influxdb_password", "secret_key", "smtp_password"]
    points = load_yaml(rollout.config / "provisioning" / "alerting" / "contact-points.yaml")["contactPoints"]
    assert [point["name"] for point in points] == ["shift leads"]


def test_no_secret_in_any_run_output(rollout, changed):
    """Every run of this file, check mode and diff included (-vvv --diff, module arguments shown)."""
    assert len(rollout.outputs) == 5
    assert rollout.leaked() == []
