"""The grafana role's preflight (roles/grafana/tasks/preflight.yml): each bad input stops the run with a message
naming the variable to fix, before any host is touched. No Docker, no Grafana: one ansible-playbook run holds every
case as an inventory host of its own (the role's preflight tasks inside a block whose rescue prints what failed), so
the table costs one process and one play. The valid baseline passes, so each failing case fails for its own input
only. The role mapping is checked by the real ``jmespath`` library (filter sensingcam.ming.grafana_role_mapping).

Mutations tried (roles/grafana/tasks/preflight.yml, each restored):
- the admin password length check removed (``>= 12`` -> ``>= 0``) -> admin_password_empty passed the preflight
- api_url dropped from the required OIDC keys -> oidc_without_api_url passed
- the role-mapping task's ``when`` set to false -> role_mapping_invalid and role_mapping_no_valid_role passed
- the email contact point's addresses condition removed -> email_without_address passed
- the webhook https check removed (``that: [true]``) -> webhook_http passed
- the credential condition of the data layer check removed -> influxdb_token_missing passed
- the schema condition removed -> schema_missing passed
"""

import json
import os
import subprocess
from pathlib import Path

import pytest
import yaml
from mosquitto_broker import venv_tool
from playbook_report import json_report

REPO = Path(__file__).resolve().parents[3]

SECRETS = ("admin-password-123", "oidc-client-secret-1", "influx-token-1", "hook-token-1", "smtp-password-1")
SCHEMA = {"measurement": "machine_events", "bucket": "machine_events", "tags": ["line", "station"],
          "fields": {"correlation": "string", "event_id": "string", "self_test": "boolean", "clip_url": "string"}}
DATA_LAYER = {"api_version": 2, "url": "https://127.0.0.1:8086", "org": "ming", "database": "ming",
              "measurement": "machine_events", "buckets": ["machine_events"], "ca_file": "", "schema": SCHEMA}
OIDC = {"client_id": "grafana", "client_secret": "oidc-client-secret-1", "auth_url": "https://idp.plant/auth",
        "token_url": "https://idp.plant/token", "api_url": "https://idp.plant/userinfo",
        "role_attribute_path": "contains(groups[*], 'grafana-admins') && 'Admin' || 'Viewer'",
        "role_samples": [{"claims": {"groups": ["grafana-admins"]}, "expect": "Admin"},
                         {"claims": {"groups": ["staff"]}, "expect": "Viewer"}]}
BASE = {
    "grafana_admin_password": "admin-password-123",
    "grafana_influxdb_data_layer": DATA_LAYER,
    "grafana_influxdb_token": "influx-token-1",
    "grafana_frigate_public_url": "https://nvr.plant:8971",
    "grafana_stream_proxy_url": "https://nvr.plant:8443",
    "grafana_tls_managed_ca_dir": "/nonexistent-ca",
    "grafana_tls_managed_ca_allow_unencrypted_key": True,
    "grafana_oidc": OIDC,
    "grafana_contact_points": [{"name": "ops", "type": "email", "addresses": ["ops@plant.example"]},
                               {"name": "mes", "type": "webhook", "url": "https://mes.plant/hook",
                                "bearer_token": "hook-token-1"}],
    "grafana_smtp_host": "mail.plant:587",
    "grafana_smtp_from_address": "grafana@plant.example",
    "grafana_smtp_password": "smtp-password-1",
}


def oidc(**changes):
    value = dict(OIDC, **changes)
    return {"grafana_oidc": {key: item for key, item in value.items() if item is not None}}


def contact(**changes):
    points = [dict(BASE["grafana_contact_points"][0]), dict(BASE["grafana_contact_points"][1])]
    points[1].update(changes)
    return {"grafana_contact_points": points}


# case -> (overrides, words the failure names)
CASES = {
    "admin_password_empty": ({"grafana_admin_password": ""}, ["grafana_admin_password", "no default credential"]),
    "oidc_without_client_id": (oidc(client_id=None), ["grafana_oidc.client_id"]),
    "oidc_without_client_secret": (oidc(client_secret=""), ["grafana_oidc.client_secret"]),
    "oidc_without_auth_url": (oidc(auth_url=None), ["grafana_oidc.auth_url"]),
    "oidc_without_token_url": (oidc(token_url=None), ["grafana_oidc.token_url"]),
    "oidc_without_api_url": (oidc(api_url=None), ["grafana_oidc.api_url"]),
    "oidc_without_role_mapping": (oidc(role_attribute_path=None), ["grafana_oidc.role_attribute_path"]),
    "oidc_url_http": (oidc(token_url="http://idp.plant/token"), ["not https:// URLs: grafana_oidc.token_url"]),
    "role_mapping_invalid": (oidc(role_attribute_path="contains(groups[*], 'grafana-admins' && 'Admin'"),
                             ["grafana_oidc.role_attribute_path is not valid JMESPath"]),
    "role_mapping_no_valid_role": (oidc(role_attribute_path="groups[0]"),
                                   ["grafana_oidc.role_samples[0]", "no valid role"]),
    "role_mapping_wrong_role": (oidc(role_samples=[{"claims": {"groups": ["staff"]}, "expect": "Editor"}]),
                                ["grafana_oidc.role_samples[0]", "gives Viewer, but the sample expects Editor"]),
    "role_samples_missing": (oidc(role_samples=None), ["grafana_oidc.role_samples is empty"]),
    "oidc_ca_missing": (oidc(tls_client_ca="/nonexistent/idp-ca.crt"), ["grafana_oidc.tls_client_ca"]),
    "root_url_http": ({"grafana_root_url": "http://grafana.plant:3000/"}, ["grafana_root_url"]),
    "no_data_layer": ({"grafana_influxdb_data_layer": {}}, ["grafana_influxdb_data_layer", "influxdb_data_layer"]),
    "influxdb_token_missing": ({"grafana_influxdb_token": ""}, ["grafana_influxdb_token"]),
    "influxdb_password_missing": ({"grafana_influxdb_data_layer": dict(DATA_LAYER, api_version=1)},
                                  ["grafana_influxdb_password"]),
    "schema_missing": ({"grafana_influxdb_data_layer": {k: v for k, v in DATA_LAYER.items() if k != "schema"}},
                       ["influxdb_data_layer.schema", "missing"]),
    "frigate_url_missing": ({"grafana_frigate_public_url": ""}, ["grafana_frigate_public_url"]),
    "email_without_address": ({"grafana_contact_points": [{"name": "ops", "type": "email", "addresses": []}]},
                              ["grafana_contact_points (ops)", "addresses"]),
    "email_without_smtp": ({"grafana_smtp_host": ""}, ["grafana_contact_points (ops)", "grafana_smtp_host"]),
    "contact_point_type_unknown": (contact(type="pager"), ["grafana_contact_points", "email or webhook"]),
    "contact_point_names_twice": (contact(name="ops"), ["grafana_contact_points", "unique name"]),
    "webhook_http": (contact(url="http://mes.plant/hook"), ["grafana_contact_points (mes).url", "allow_http"]),
    "policy_receiver_unknown": ({"grafana_notification_policy": {"receiver": "pager"}},
                                ["grafana_notification_policy.receiver 'pager'"]),
    "ca_key_unencrypted_without_opt_in": ({"grafana_tls_managed_ca_allow_unencrypted_key": False},
                                          ["grafana_tls_managed_ca_passphrase"]),
    "pki_files_missing": ({"grafana_tls_source": "files"}, ["grafana_tls_ca_file"]),
}
# Valid: the run passes the preflight.
PASSING = {
    "baseline": {},
    "without_oidc": {"grafana_oidc": {}},
    "webhook_http_opted_in": contact(url="http://mes.plant/hook", allow_http=True),
    "deny_sample": oidc(role_attribute_path="contains(groups[*], 'staff') && 'Viewer' || 'nobody'",
                        role_samples=[{"claims": {"groups": ["staff"]}, "expect": "Viewer"},
                                      {"claims": {"groups": ["guest"]}, "expect": "deny"}]),
    "grafana_admin_allowed": oidc(role_attribute_path="contains(groups[*], 'root') && 'GrafanaAdmin' || 'Viewer'",
                                  allow_assign_grafana_admin=True,
                                  role_samples=[{"claims": {"groups": ["root"]}, "expect": "GrafanaAdmin"}]),
    "influxql_with_password": {"grafana_influxdb_data_layer": dict(DATA_LAYER, api_version=1),
                               "grafana_influxdb_password": "influx-password-1"},
    "no_dashboards_no_schema": {"grafana_influxdb_data_layer": {k: v for k, v in DATA_LAYER.items() if k != "schema"},
                                "grafana_provision_dashboards": False, "grafana_provision_alert_rules": False},
}


PLAYBOOK = [{
    "name": "grafana preflight cases", "hosts": "ming_apps", "gather_facts": False,
    "tasks": [{"block": [
        {"ansible.builtin.include_role": {"name": "sensingcam.ming.grafana", "tasks_from": "preflight"}},
        {"ansible.builtin.debug": {"msg": "CASE {{ inventory_hostname }} PASSED"}},
    ], "rescue": [
        {"ansible.builtin.debug": {
            "msg": "CASE {{ inventory_hostname }} FAILED: {{ ansible_failed_result | to_json }}"}},
    ]}],
}]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    """Each case is a host of its own (its overrides are its host variables, BASE the group's), so one play runs
    them all, several at a time."""
    directory = tmp_path_factory.mktemp("grafana-preflight")
    hosts = {name: overrides for name, (overrides, _words) in CASES.items()}
    hosts.update(PASSING)
    inventory = {"all": {"children": {"ming_apps": {
        "hosts": hosts,
        "vars": dict(BASE, ansible_connection="local", ansible_python_interpreter=str(venv_tool("python"))),
    }}}}
    (directory / "inventory.yml").write_text(yaml.safe_dump(inventory))
    (directory / "preflight.yml").write_text(yaml.safe_dump(PLAYBOOK, sort_keys=False))
    environment = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.builtin.json", ANSIBLE_NOCOLOR="1",
                       ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), ANSIBLE_FORKS="8")
    done = subprocess.run([str(venv_tool("ansible-playbook")), "-i", str(directory / "inventory.yml"),
                           str(directory / "preflight.yml")],
                          cwd=REPO, env=environment, capture_output=True, text=True, timeout=300, check=False)
    report = json_report(done.stdout)
    messages = {}
    for each in report["plays"]:
        for task in each["tasks"]:
            for host, result in task["hosts"].items():
                message = result.get("msg", "")
                if isinstance(message, str) and message.startswith("CASE "):
                    messages[host] = message
    return messages, done.stdout + done.stderr


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_stops_the_preflight_naming_the_variable(outcome, name):
    messages, _output = outcome
    message = messages.get(name, "")
    assert message.startswith(f"CASE {name} FAILED"), message or f"{name}: no outcome"
    shown = json.dumps(json.loads(message.split(": ", 1)[1]))
    for word in CASES[name][1]:
        assert word in shown, f"{name}: {word!r} not in {shown[:1500]}"


@pytest.mark.parametrize("name", sorted(PASSING))
def test_valid_input_passes_the_preflight(outcome, name):
    messages, _output = outcome
    assert messages.get(name) == f"CASE {name} PASSED", messages.get(name)


def test_no_secret_is_shown_in_any_outcome(outcome):
    """The failures print the variable's name, never its value: the whole output of every case is scanned."""
    _messages, output = outcome
    assert [secret for secret in SECRETS + ("influx-password-1",) if secret in output] == []
