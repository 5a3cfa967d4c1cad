"""``mosquitto_tls_source: files``: the broker's TLS material from a plant PKI given as files on the controller.

The test is the plant PKI: it makes a CA and a server certificate with the cryptography library (nothing from the
role's managed CA). The mosquitto role rolls them out with ansible-playbook on this machine's Docker engine, in a
throwaway Compose project, against the real Mosquitto 2.0.11 of the lab image (ming/mosquitto:lab). A real TLS
client (Python's ssl) that trusts only that CA connects and logs in; renewing the files (a new key and certificate
from the same CA) reloads the broker (SIGHUP, same start time) and new handshakes get the new certificate. Every
run is ``--diff -vvv`` with ``ANSIBLE_INJECT_INVOCATION=1``; its whole output is scanned for the passwords and for
every body line of the plant's private keys. The tests run in file order and share one broker.
"""

import time
import uuid

import pytest
from broker_rollout import Rollout, remove_project, require_docker_and_lab_image
from mosquitto_broker import handshake, login_code, requires_mosquitto, tls_context
from plant_pki import PlantPki

PROJECT = f"tlsfiles-{uuid.uuid4().hex[:6]}"
CONTAINER = f"{PROJECT}-mosquitto"

pytestmark = [requires_mosquitto, pytest.mark.mosquitto]


def serial_of(der):
    from cryptography import x509

    return x509.load_der_x509_certificate(der).serial_number


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return PlantPki(tmp_path_factory.mktemp("plant-pki"))


@pytest.fixture(scope="module")
def rollout(tmp_path_factory, pki):
    require_docker_and_lab_image()
    subject = Rollout(tmp_path_factory.mktemp("tls-files"), {"ming_compose_project": PROJECT}, CONTAINER)
    subject.key_files.append(pki.directory / "server.key")
    yield subject
    remove_project(PROJECT)
    leaked = subject.leaked()
    assert leaked == [], f"secrets {leaked} appeared in a roll-out's output"


def files_settings(pki):
    return {"mosquitto_tls_source": "files", "mosquitto_tls_ca_file": str(pki.directory / "ca.crt"),
            "mosquitto_tls_cert_file": str(pki.directory / "server.crt"),
            "mosquitto_tls_key_file": str(pki.directory / "server.key")}


def test_check_then_apply_serves_the_plant_certificate(rollout, pki):
    serial = pki.issue_server()
    checked = rollout.run(check=True, **files_settings(pki))
    assert checked.changed > 0
    assert not (rollout.base_dir / "mosquitto").exists()

    result = rollout.run(**files_settings(pki))
    assert result.changed > 0
    assert rollout.wait_healthy()
    certs = rollout.base_dir / "mosquitto" / "config" / "certs"
    assert (certs / "server.key").read_bytes() == (pki.directory / "server.key").read_bytes()
    assert (certs / "ca.crt").read_bytes() == (pki.directory / "ca.crt").read_bytes()
    assert not rollout.ca_dir.exists(), "the managed CA was created although the plant PKI provides the files"

    # A client that trusts only the plant CA connects and logs in; the broker serves the plant's certificate.
    cafile = pki.directory / "ca.crt"
    _version, der = handshake(rollout.tls_port, tls_context(cafile))
    assert serial_of(der) == serial
    assert login_code(rollout.tls_port, "nodered", rollout.passwords["nodered"], cafile) == 0
    assert rollout.leaked() == []


def test_second_run_and_check_mode_change_nothing(rollout, pki):
    assert rollout.run(**files_settings(pki)).changed == 0
    assert rollout.run(check=True, **files_settings(pki)).changed == 0


def test_renewed_files_reload_the_new_certificate(rollout, pki):
    cafile = pki.directory / "ca.crt"
    started = rollout.state()["StartedAt"]
    serial = pki.issue_server()
    result = rollout.run(**files_settings(pki))
    assert result.task_changed("Install the broker certificate and key from the plant PKI")
    assert result.task_changed("Reload mosquitto")
    assert not result.task_changed("Restart mosquitto")
    assert rollout.state()["StartedAt"] == started, "the broker was restarted, not reloaded"
    served = None
    for _attempt in range(20):  # SIGHUP is asynchronous: until the broker has re-read the files
        served = serial_of(handshake(rollout.tls_port, tls_context(cafile))[1])
        if served == serial:
            break
        time.sleep(0.5)
    assert served == serial
    assert login_code(rollout.tls_port, "plc-line1", rollout.passwords["plc-line1"], cafile) == 0
    assert rollout.leaked() == [], "the renewed key or a password appeared in the --diff -vvv output"
    # Settled: the configuration tasks alone (reload and restart are decided from their results; see
    # test_broker_rollout.py's SETTLED), the full second run is test_second_run_and_check_mode_change_nothing.
    assert rollout.run(tags="mosquitto_configure", **files_settings(pki)).changed == 0
