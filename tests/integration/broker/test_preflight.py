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


def overriding(**overrides):
    """A case's variables: the good ones with ``overrides``."""
    return lambda tmp_path: dict(good_variables(tmp_path), **overrides)


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
        "mosquitto_tls_managed_ca_passphrase": PASSWORD,
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


def test_an_unencrypted_ca_key_passes_only_with_the_explicit_opt_in(tmp_path):
    """The lab's opt-in (inventories/lab): an empty passphrase with mosquitto_tls_managed_ca_allow_unencrypted_key."""
    variables = {**good_variables(tmp_path), "mosquitto_tls_managed_ca_passphrase": "",
                 "mosquitto_tls_managed_ca_allow_unencrypted_key": True}
    code, output = preflight(tmp_path, "--tags", "mosquitto_preflight", **variables)
    assert code == 0, output


BRIDGE_SECRET = "bridge-secret-never-shown"


def with_bridge(tmp_path, **bridge):
    central = {"name": "central", "addresses": ["central.example:8883"], "remote_username": "plant1-edge",
               "remote_password": BRIDGE_SECRET, "topics": [{"pattern": "factory/#", "remote_prefix": "ming/p1/"}]}
    central.update(bridge)
    return dict(good_variables(tmp_path), mosquitto_bridges=[central])


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
        overriding(mosquitto_users=[{"name": "nodered", "password": PASSWORD}]),
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
        overriding(mosquitto_tls_listener_enabled=False),
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
    "managed CA key without a passphrase": (
        overriding(mosquitto_tls_managed_ca_passphrase=""),
        ["mosquitto_tls_managed_ca_passphrase is empty", "mosquitto_tls_managed_ca_allow_unencrypted_key"],
    ),
    "weak TLS 1.2 cipher": (
        overriding(mosquitto_tls_ciphers="ECDHE-RSA-AES128-GCM-SHA256:RC4-SHA"),
        ["mosquitto_tls_ciphers", "RC4"],
    ),
    "weak cipher keyword": (
        overriding(mosquitto_tls_ciphers="HIGH:aNULL"),
        ["mosquitto_tls_ciphers", "aNULL"],
    ),
    "empty cipher list": (
        overriding(mosquitto_tls_ciphers=""),
        ["mosquitto_tls_ciphers", "non-empty"],
    ),
    "unknown TLS 1.3 suite": (
        overriding(mosquitto_tls_ciphers_tls13="TLS_AES_128_CCM_8_SHA256"),
        ["mosquitto_tls_ciphers_tls13"],
    ),
    "too few password hash rounds": (
        overriding(mosquitto_password_iterations=101),
        ["mosquitto_password_iterations is 101", "between 1000"],
    ),
    # A value with a line break would add directives to bridges.conf, mosquitto.conf or the ACL: one case per kind.
    "line break in a bridge password": (
        lambda tmp: with_bridge(tmp, remote_password=BRIDGE_SECRET + "\nconnection injected"),
        ["mosquitto_bridges[0].remote_password: holds a control character", "Nothing was written"],
    ),
    # The health probe's password goes into mosquitto_sub's options file, read line by line like the broker's files.
    "line break in the health password": (
        overriding(mosquitto_health_password=PASSWORD + "\n-h evil.example"),
        ["mosquitto_health_password: holds a control character", "Nothing was written"],
    ),
    "line break in a bridge client id": (
        lambda tmp: with_bridge(tmp, remote_clientid="edge\naddress evil.example:1883"),
        ["mosquitto_bridges[0].remote_clientid: holds a control character"],
    ),
    "carriage return in a bridge address": (
        lambda tmp: with_bridge(tmp, addresses=["central.example:8883", "backup.example:8883\r"]),
        ["mosquitto_bridges[0].addresses[1]: holds a control character"],
    ),
    "line break in a bridge topic prefix": (
        lambda tmp: with_bridge(tmp, topics=[{"pattern": "factory/#", "remote_prefix": "ming/\ntopic # both 2"}]),
        ["mosquitto_bridges[0].topics[0].remote_prefix: holds a control character"],
    ),
    "line break in a client's extra topic": (
        lambda tmp: with_client(tmp, {"name": "scada", "role": "frigate", "password": PASSWORD,
                                      "read": ["frigate/x\nuser admin"]}),
        ["mosquitto_clients[2].read[0]: holds a control character"],
    ),
    "line break in a listener setting": (
        overriding(mosquitto_tls_ciphers="ECDHE-RSA-AES128-GCM-SHA256\nlistener 1885"),
        ["mosquitto_tls_ciphers: holds a control character"],
    ),
    "health user with shell characters": (
        overriding(mosquitto_health_user="health;id"),
        ["mosquitto_health_user 'health;id'"],
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
    assert BRIDGE_SECRET not in output
