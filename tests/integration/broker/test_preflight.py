"""Bad broker input fails in the mosquitto role's preflight, before anything is written, naming the variable.

Runs tests/integration/broker/rollout.yml with ``--tags mosquitto_preflight`` through ansible-playbook; no broker and
no Docker engine are needed (nothing gets that far).
"""

import json
import os
import subprocess

import pytest
from broker_rollout import PLAYBOOK, REPO, venv_tool

PASSWORD = "a-long-enough-password"


def good_variables(tmp_path):
    pem = tmp_path / "exists.pem"
    pem.write_text("placeholder\n")
    return {
        "ming_base_dir": str(tmp_path / "base"),
        "mosquitto_health_password": PASSWORD,
        "mosquitto_tls_managed_ca_dir": str(tmp_path / "ca"),
        "mosquitto_clients": [
            {"name": "plc-line1", "role": "plc", "line": "line1", "password": PASSWORD},
            {"name": "nodered", "role": "nodered", "password": PASSWORD},
        ],
    }


def preflight(tmp_path, **variables):
    extra_vars = tmp_path / "extra-vars.json"
    extra_vars.write_text(json.dumps(variables))
    done = subprocess.run(
        [str(venv_tool("ansible-playbook")), "-i", "localhost,", str(PLAYBOOK), "-e", f"@{extra_vars}", "--tags",
         "mosquitto_preflight"],
        cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True, timeout=300, check=False,
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_good_input_passes(tmp_path):
    code, output = preflight(tmp_path, **good_variables(tmp_path))
    assert code == 0, output
    assert PASSWORD not in output


def with_client(tmp_path, client):
    variables = good_variables(tmp_path)
    variables["mosquitto_clients"] = variables["mosquitto_clients"] + [client]
    return variables


CASES = {
    "unknown role": (
        lambda tmp: with_client(tmp, {"name": "scada", "role": "scada", "password": PASSWORD}),
        ["mosquitto_clients[2] (scada)", "role", "plc"],
    ),
    "plc without line": (
        lambda tmp: with_client(tmp, {"name": "plc-line9", "role": "plc", "password": PASSWORD}),
        ["mosquitto_clients[2] (plc-line9)", "needs 'line'"],
    ),
    "duplicate client": (
        lambda tmp: with_client(tmp, {"name": "nodered", "role": "nodered", "password": PASSWORD}),
        ["mosquitto_clients declares a client twice"],
    ),
    "health user declared as a client": (
        lambda tmp: with_client(tmp, {"name": "health", "role": "health", "password": PASSWORD}),
        ["mosquitto_health_user"],
    ),
    "short password": (
        lambda tmp: with_client(tmp, {"name": "frigate", "role": "frigate", "password": "short"}),
        ["mosquitto_clients[2] (frigate)", "12 characters"],
    ),
    "renamed mosquitto_users": (
        lambda tmp: dict(good_variables(tmp), mosquitto_users=[{"name": "nodered", "password": PASSWORD}]),
        ["mosquitto_users was renamed to mosquitto_clients"],
    ),
    "removed mosquitto_config_dir": (
        lambda tmp: dict(good_variables(tmp), mosquitto_config_dir=str(tmp / "elsewhere")),
        ["mosquitto_config_dir is no longer read", "compose_project"],
    ),
    "certificate path that does not exist": (
        lambda tmp: dict(good_variables(tmp), mosquitto_tls_source="files",
                         mosquitto_tls_ca_file=str(tmp / "exists.pem"),
                         mosquitto_tls_cert_file=str(tmp / "missing.crt"),
                         mosquitto_tls_key_file=str(tmp / "exists.pem")),
        ["mosquitto_tls_cert_file", "missing.crt", "existing PEM file"],
    ),
    "TLS listener without key material": (
        lambda tmp: dict(good_variables(tmp), mosquitto_tls_source="files",
                         mosquitto_tls_ca_file=str(tmp / "exists.pem"),
                         mosquitto_tls_cert_file=str(tmp / "exists.pem")),
        ["mosquitto_tls_key_file", "its private key"],
    ),
    "no listener": (
        lambda tmp: dict(good_variables(tmp), mosquitto_tls_listener_enabled=False),
        ["mosquitto_tls_listener_enabled: true"],
    ),
    "bridge without addresses": (
        lambda tmp: dict(good_variables(tmp), mosquitto_bridges=[
            {"name": "central", "addresses": [], "topics": [{"pattern": "factory/#"}]}]),
        ["mosquitto_bridges[0] (central)", "addresses"],
    ),
    "bridge address without port": (
        lambda tmp: dict(good_variables(tmp), mosquitto_bridges=[
            {"name": "central", "addresses": ["central.example"], "topics": [{"pattern": "factory/#"}]}]),
        ["mosquitto_bridges[0] (central)", "host:port"],
    ),
    "bridge CA file that does not exist": (
        lambda tmp: dict(good_variables(tmp), mosquitto_bridges=[
            {"name": "central", "addresses": ["central.example:8883"], "topics": [{"pattern": "factory/#"}],
             "tls": {"cafile": str(tmp / "central-ca.crt")}}]),
        ["mosquitto_bridges (central)", "tls.cafile", "does not exist"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input_fails_in_preflight_naming_the_variable(tmp_path, case):
    make_variables, expected = CASES[case]
    code, output = preflight(tmp_path, **make_variables(tmp_path))
    assert code != 0, output
    for text in expected:
        assert text in output, f"{text!r} not in: {output[-1500:]}"
    assert PASSWORD not in output
    assert not (tmp_path / "base").exists(), "preflight wrote something"
