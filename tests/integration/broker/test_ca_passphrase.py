"""The managed CA key and its passphrase, through the mosquitto role run by ansible-playbook on this machine (the
files only: ``--tags mosquitto_configure``, so no broker container is started; the configuration files are still
validated by throwaway containers of the lab image on the Docker engine).

A CA made without a passphrase (the lab's explicit opt-in) is never replaced when a passphrase is set later: the run
fails at the CA key, naming it, and the key on disk stays byte for byte, so no certificate it signed is orphaned.
With the key encrypted by hand as docs/broker.md says, the same run passes and changes nothing else.
"""

import subprocess
import uuid

import pytest
from broker_rollout import Rollout, json_report, remove_project, require_docker_and_lab_image

PROJECT = f"capass-{uuid.uuid4().hex[:6]}"

pytestmark = [pytest.mark.mosquitto]


@pytest.fixture
def rollout(tmp_path):
    require_docker_and_lab_image()
    subject = Rollout(tmp_path, {"ming_compose_project": PROJECT}, f"{PROJECT}-mosquitto")
    yield subject
    remove_project(PROJECT)
    assert subject.leaked() == [], "a password or key line appeared in a roll-out's output"


def test_a_passphrase_set_later_never_replaces_the_unencrypted_ca_key(rollout):
    passphrase = rollout.passwords["ca-passphrase"]
    rollout.run(tags="mosquitto_configure", mosquitto_tls_managed_ca_passphrase="",
                mosquitto_tls_managed_ca_allow_unencrypted_key=True)
    key = rollout.ca_dir / "ca.key"
    before = key.read_bytes()
    assert b"ENCRYPTED" not in before

    output = rollout.run(tags="mosquitto_configure", expect_failure=True)
    report = json_report(output)
    failed = [task["task"]["name"].rpartition(" : ")[2] for play in report["plays"] for task in play["tasks"]
              if task["hosts"].get("localhost", {}).get("failed")]
    # It stops at the key itself (regenerate: never), not later when a certificate is signed with it.
    assert failed == ["Create the plant CA private key (controller)"], failed
    assert key.read_bytes() == before, "the CA key was replaced"

    # Encrypted by hand (docs/broker.md): the run passes, the CA certificate and the broker certificate stay.
    certificate = (rollout.ca_dir / "ca.crt").read_bytes()
    subprocess.run(["openssl", "pkey", "-in", str(key), "-aes256", "-out", str(key) + ".new",
                    "-passout", "env:MING_CA_PASSPHRASE"], check=True, capture_output=True,
                   env={"MING_CA_PASSPHRASE": passphrase, "PATH": "/usr/bin:/bin"})
    (rollout.ca_dir / "ca.key.new").replace(key)
    key.chmod(0o600)
    result = rollout.run(tags="mosquitto_configure")
    assert not result.task_changed("Install the server certificate | mosquitto")
    assert (rollout.ca_dir / "ca.crt").read_bytes() == certificate
    assert b"ENCRYPTED" in key.read_bytes()
