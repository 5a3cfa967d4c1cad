"""Bad broker input fails in the mosquitto role's preflight, before anything is written, naming the variable.

Each bad case runs the whole of tests/integration/broker/rollout.yml through real ansible-playbook, without tags and
without --check, in a throwaway Compose project and base directory: had preflight not stopped the run, the role
would have created the base directory (compose_project), the managed CA and a container on this machine's Docker
engine. The tests assert none of that exists afterwards (the Docker engine is asked, so it must answer). The good
input control runs with ``--tags mosquitto_preflight`` only (it would otherwise start a broker).
"""

import json
import os
import subprocess
import uuid

import pytest
from broker_rollout import IMAGE, PLAYBOOK, REPO, venv_tool
from mosquitto_broker import containers_of, free_port

PASSWORD = "a-long-enough-password"


def good_variables(tmp_path):
    pem = tmp_path / "exists.pem"
    pem.write_text("placeholder\n")
    return {
        "ming_base_dir": str(tmp_path / "base"),
        "ming_compose_project": f"preflight-{uuid.uuid4().hex[:8]}",
        # The lab image and free loopback ports: a run that got past preflight would really start a broker here.
        "mosquitto_image": IMAGE,
        "mosquitto_listen_addresses": ["127.0.0.1"],
        "mosquitto_tls_port": free_port(),
        "mosquitto_health_password": PASSWORD,
        "mosquitto_tls_managed_ca_dir": str(tmp_path / "ca"),
        "mosquitto_clients": [
            {"name": "plc-line1", "role": "plc", "line": "line1", "password": PASSWORD},
            {"name": "nodered", "role": "nodered", "password": PASSWORD},
        ],
    }


def preflight(tmp_path, *options, **variables):
    """The whole roll-out (no tags, no --check) unless ``options`` narrow it."""
    extra_vars = tmp_path / "extra-vars.json"
    extra_vars.write_text(json.dumps(variables))
    done = subprocess.run(
        [str(venv_tool("ansible-playbook")), "-i", "localhost,", str(PLAYBOOK), "-e", f"@{extra_vars}", *options],
        cwd=REPO, env=dict(os.environ, ANSIBLE_NOCOLOR="1"), capture_output=True, text=True, timeout=300, check=False,
    )
    return done.returncode, " ".join((done.stdout + done.stderr).split())


def test_good_input_passes(tmp_path):
    code, output = preflight(tmp_path, "--tags", "mosquitto_preflight", **good_variables(tmp_path))
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
    variables = make_variables(tmp_path)
    code, output = preflight(tmp_path, **variables)
    assert code != 0, output
    assert not (tmp_path / "base").exists(), "the roll-out wrote the base directory before preflight stopped it"
    assert not (tmp_path / "ca").exists(), "the roll-out created the managed CA before preflight stopped it"
    assert containers_of(variables["ming_compose_project"]) == [], "a container was created"
    for text in expected:
        assert text in output, f"{text!r} not in: {output[-1500:]}"
    assert PASSWORD not in output
