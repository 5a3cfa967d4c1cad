"""The frigate role in check mode on a fresh host: the run succeeds, predicts changes, and writes nothing (no
config, no secret file, no Compose fragment, no container). Rendered only as in test_frigate_role.py (the Frigate
image is not on this host). A real ansible-playbook run of the real role; no double.

Mutations tried (each restored):
- the ``when: not ansible_check_mode or ...`` guard removed from "Write the {FRIGATE_*} secret files (0400)" ->
  the check run failed (the secrets directory does not exist in check mode), so test_check_mode_on_a_fresh_host
  failed
"""

import uuid

import pytest
from mosquitto_broker import containers_of, remove_compose_project
from test_frigate_role import SECRETS, Rollout, inventory

PROJECT = f"frigate-c-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    directory = tmp_path_factory.mktemp("frigate-check")
    subject = Rollout(directory, inventory(directory, ming_compose_project=PROJECT))
    subject.result = subject.run(check=True)
    yield subject
    remove_compose_project(PROJECT, services=("frigate",))


def test_check_mode_on_a_fresh_host(checked):
    assert checked.result.changed > 0
    assert not (checked.base / "frigate" / "config" / "config.yml").exists()
    assert not (checked.base / "frigate" / "config" / "secrets").exists()
    assert not (checked.base / "compose.d" / "frigate.yml").exists()
    assert containers_of(PROJECT) == []


def test_check_mode_shows_no_secret(checked):
    everything = "\n".join(checked.outputs)
    assert [name for name, value in SECRETS.items() if value in everything] == []
