"""influxdb_token with its action plugin, run by ``ansible-playbook`` (-vvv --diff) against the InfluxDB 2 API double
(tools/influxdb2_double, imitating 2.9.1 which hashes tokens; a double because InfluxDB 2.x cannot run on this
machine). Proves the store: the first run creates and stores (plain and vault), the plain file is 0600 in a 0700
directory, ``lookup('ansible.builtin.file')`` reads both, a re-run is changed=0 with no write request, the value never
appears in the output, rotate replaces and deletes the old token, a token whose value is not in the store fails
naming hashing and rotate, vault without a vault secret fails before any request, a store that cannot be written
fails naming the authorization ID, check mode stores nothing.

Mutations tried (each made a test here fail, then was restored):
- the action plugin not popping the value from the module result: ``test_first_run_stores_and_rerun_is_unchanged``
  (the value appears in the -vvv output).
- ``store`` writing mode 0o644: ``test_first_run_stores_and_rerun_is_unchanged``.
- ``value_stored`` always True: ``test_value_missing_from_the_store_fails_naming_rotate`` (a silent no-change).
- the vault-secret check removed (the module ran, then the store failed): ``test_vault_without_a_secret_fails_before_
  any_request``.
- the ``retire_id`` run skipped: ``test_rotate_replaces_and_deletes_the_old_token``.
- the stored value kept with ``state: absent`` (``os.unlink`` skipped): ``test_absent_deletes_the_token_and_the_
  stored_value``.
- ``store`` errors not caught (``except AnsibleError`` only; a traceback instead of the message):
  ``test_store_failure_names_the_authorization``.
"""

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.parsing.vault import VaultLib, VaultSecret

REPO = Path(__file__).resolve().parents[3]
ANSIBLE_PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
OPERATOR = "operator-token-of-the-store-tests-0123456789"
VAULT_PASSWORD = "vault-password-of-the-store-tests"

PLAYBOOK = """\
- name: Tokens
  hosts: localhost
  gather_facts: false
  module_defaults:
    group/sensingcam.ming.influxdb:
      host: 127.0.0.1
      port: "{{ influx_port }}"
      token: "{{ influx_operator_token }}"
      org: ming
      retries: 0
  tasks:
    - name: Node-RED writes raw events (plain store)
      sensingcam.ming.influxdb_token:
        description: node-red write
        state: "{{ node_red_state }}"
        permissions: "{{ node_red_permissions }}"
        rotate: "{{ rotate }}"
        store_path: "{{ store_dir }}/node_red.token"
      when: plain | bool
    - name: Grafana reads (vault store)
      sensingcam.ming.influxdb_token:
        description: grafana read
        permissions:
          - action: read
            bucket: machine_events
        store_path: "{{ store_dir }}/grafana.vault"
        store_format: vault
      when: vault | bool
    - name: Both stores read back through the file lookup
      ansible.builtin.assert:
        that:
          - lookup('ansible.builtin.file', store_dir ~ '/node_red.token') | length > 40
          - lookup('ansible.builtin.file', store_dir ~ '/grafana.vault') | length > 40
        quiet: true
      when: plain | bool and vault | bool and not ansible_check_mode
"""


@pytest.fixture
def env(influxdb2_double, tmp_path):
    influxdb2_double.onboard(token=OPERATOR)
    playbook = tmp_path / "tokens.yml"
    playbook.write_text(PLAYBOOK)
    vault_file = tmp_path / "vault-pass"
    vault_file.write_text(VAULT_PASSWORD + "\n")
    store_dir = tmp_path / "secrets" / "influxdb"

    class Env:
        server = influxdb2_double
        directory = store_dir
        plain = store_dir / "node_red.token"
        vault = store_dir / "grafana.vault"

        @staticmethod
        def run(*extra, vault_password=True, **variables):
            values = {"influx_port": influxdb2_double.port, "influx_operator_token": OPERATOR,
                      "store_dir": str(store_dir), "rotate": False, "plain": True, "vault": True,
                      "ansible_python_interpreter": sys.executable, "node_red_state": "present",
                      "node_red_permissions": [{"action": "write", "bucket": "machine_events"}]}
            values.update(variables)
            extra_vars = tmp_path / "vars.json"
            extra_vars.write_text(json.dumps(values))
            command = [ANSIBLE_PLAYBOOK, str(playbook), "-i", "localhost,", "-c", "local", "-vvv", "--diff",
                       "-e", f"@{extra_vars}", *extra]
            if vault_password:
                command += ["--vault-password-file", str(vault_file)]
            environment = dict(os.environ, ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
                               ANSIBLE_COLLECTIONS_PATH=str(REPO / ".collections"), ANSIBLE_NOCOLOR="1",
                               ANSIBLE_LOCALHOST_WARNING="0", ANSIBLE_STDOUT_CALLBACK="default")
            environment.pop("ANSIBLE_VAULT_PASSWORD_FILE", None)
            process = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=tmp_path,
                                     env=environment, check=False)
            return process.returncode, process.stdout + process.stderr

    return Env


def recap(output):
    match = re.search(r"localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output)
    assert match, output[-3000:]
    return dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups()), strict=True))


def authorization_of(server, value):
    return server.state.authenticate("Token " + value)


def named(server, description):
    return [a for a in server.state.authorizations.values() if a["description"] == description]


def vault_value(path):
    return VaultLib([("default", VaultSecret(VAULT_PASSWORD.encode()))]).decrypt(path.read_bytes()).decode()


def test_first_run_stores_and_rerun_is_unchanged(env):
    code, output = env.run()
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 2
    plain = env.plain.read_text()
    assert stat.S_IMODE(env.plain.stat().st_mode) == 0o600
    assert stat.S_IMODE(env.directory.stat().st_mode) == 0o700
    assert authorization_of(env.server, plain)["description"] == "node-red write"
    assert env.vault.read_text().startswith("$ANSIBLE_VAULT;")
    assert stat.S_IMODE(env.vault.stat().st_mode) == 0o600
    secret = vault_value(env.vault)
    assert authorization_of(env.server, secret)["description"] == "grafana read"
    for value in (plain, secret, OPERATOR):
        assert value not in output
    before = len(env.server.writes())
    code, output = env.run()
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 0
    assert len(env.server.writes()) == before
    assert env.plain.read_text() == plain and vault_value(env.vault) == secret
    for value in (plain, secret, OPERATOR):
        assert value not in output


def test_check_mode_stores_nothing(env):
    code, output = env.run("--check")
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 2
    assert not env.directory.exists()
    assert env.server.writes() == []


def test_rotate_replaces_and_deletes_the_old_token(env):
    assert env.run(vault=False)[0] == 0
    old_value = env.plain.read_text()
    [old] = named(env.server, "node-red write")
    code, output = env.run(vault=False, rotate=True)
    assert code == 0, output[-3000:]
    assert recap(output)["changed"] == 1
    new_value = env.plain.read_text()
    [new] = named(env.server, "node-red write")
    assert new["id"] != old["id"] and old["id"] not in env.server.state.authorizations
    assert authorization_of(env.server, new_value)["id"] == new["id"]
    with pytest.raises(Exception, match="unauthorized"):
        authorization_of(env.server, old_value)
    assert new_value not in output and old_value not in output
    assert "replaced" in output


def test_other_permissions_replace_the_token(env):
    assert env.run(vault=False)[0] == 0
    [old] = named(env.server, "node-red write")
    code, output = env.run(vault=False, node_red_permissions=[{"action": "write", "bucket": "machine_events"},
                                                              {"action": "read", "bucket": "machine_events"}])
    assert code == 0, output[-3000:]
    [new] = named(env.server, "node-red write")
    assert new["id"] != old["id"] and len(new["permissions"]) == 2
    assert authorization_of(env.server, env.plain.read_text())["id"] == new["id"]


def test_value_missing_from_the_store_fails_naming_rotate(env):
    assert env.run(vault=False)[0] == 0
    env.plain.unlink()
    before = len(env.server.writes())
    code, output = env.run(vault=False)
    assert code != 0
    assert "hashed" in output and "2.9" in output and "rotate: true" in output
    assert len(env.server.writes()) == before


def test_vault_without_a_secret_fails_before_any_request(env):
    code, output = env.run(plain=False, vault_password=False)
    assert code != 0
    assert "store_format: vault needs a vault secret" in output
    assert env.server.requests == []


def test_unknown_vault_id_fails_before_any_request(env, tmp_path):
    playbook = tmp_path / "tokens.yml"
    playbook.write_text(PLAYBOOK.replace("store_format: vault", "store_format: vault\n        store_vault_id: plant"))
    code, output = env.run(plain=False)
    assert code != 0
    assert "store_vault_id='plant'" in output
    assert env.server.requests == []


def test_store_failure_names_the_authorization(env, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the store directory should be")
    code, output = env.run(vault=False, store_dir=str(blocker / "influxdb"))
    assert code != 0
    [created] = named(env.server, "node-red write")
    assert f"authorization ID {created['id']}" in output and "rotate: true" in output
    assert "Traceback" not in output


def test_absent_deletes_the_token_and_the_stored_value(env):
    assert env.run(vault=False)[0] == 0
    code, output = env.run("--check", vault=False, node_red_state="absent")
    assert code == 0 and recap(output)["changed"] == 1, output[-3000:]
    assert env.plain.exists() and named(env.server, "node-red write")
    code, output = env.run(vault=False, node_red_state="absent")
    assert code == 0 and recap(output)["changed"] == 1, output[-3000:]
    assert not env.plain.exists() and named(env.server, "node-red write") == []
    before = len(env.server.writes())
    code, output = env.run(vault=False, node_red_state="absent")
    assert code == 0 and recap(output)["changed"] == 0, output[-3000:]
    assert len(env.server.writes()) == before
