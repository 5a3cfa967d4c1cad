"""Verify the lab roll-out against the real services it started: Mosquitto 2.0.11 in the lab image
(ming/mosquitto:lab, Debian's mosquitto package) on the local Docker engine, with the lab's TLS listener (18883,
certificate from the lab CA) and plain listener (11883). Molecule's testinfra verifier."""

import json
import os
import socket
import ssl
import time
import uuid
from pathlib import Path

import sys

# The MQTT test client is shared with the broker's integration tests (tests/mosquitto_broker.py).
sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tests"))
from mosquitto_broker import Session  # noqa: E402

# The broker host: the `host` fixture's tests run there only, not once per camera of the inventory.
testinfra_hosts = ["localhost"]
CONTAINER = "ming-molecule-mosquitto"
BROKER_PORT = 11883
TLS_PORT = 18883
SECRETS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "secrets"
NOT_AUTHORISED = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorised; MQTT 5 equivalents
LAB_CA = SECRETS / "mosquitto-ca" / "ca.crt"
CONFIG_DIR = "/opt/ming-molecule/mosquitto/config"


def lab_secret(name):
    return (SECRETS / name).read_text().strip()


def test_broker_container_is_healthy(host):
    state = json.loads(host.check_output(f"docker inspect --format '{{{{json .State}}}}' {CONTAINER}"))
    assert state["Running"] is True
    assert state["Health"]["Status"] == "healthy"


def test_broker_is_published_on_loopback_only(host):
    assert host.check_output(f"docker port {CONTAINER} 1883").strip() == f"127.0.0.1:{BROKER_PORT}"
    assert host.check_output(f"docker port {CONTAINER} 8883").strip() == f"127.0.0.1:{TLS_PORT}"


def test_broker_key_is_readable_by_the_broker_only(host):
    key = host.file(f"{CONFIG_DIR}/certs/server.key")
    assert (key.uid, key.gid, key.mode) == (1883, 1883, 0o600)
    assert host.file(f"{CONFIG_DIR}/passwd").mode == 0o600


def tls_handshake(context, server_hostname="localhost"):
    with socket.create_connection(("127.0.0.1", TLS_PORT), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=server_hostname) as tls:
        return tls.version()


def test_tls_handshake_succeeds_with_the_lab_ca_and_fails_without_it():
    assert tls_handshake(ssl.create_default_context(cafile=str(LAB_CA))) in ("TLSv1.2", "TLSv1.3")
    assert tls_handshake(ssl.create_default_context(cafile=str(LAB_CA)), "127.0.0.1") in ("TLSv1.2", "TLSv1.3")
    try:
        tls_handshake(ssl.create_default_context())
    except ssl.SSLCertVerificationError:
        pass
    else:
        raise AssertionError("the broker certificate was trusted without the lab CA")


def test_acl_over_tls_plc_cannot_publish_to_another_line_or_frigate():
    """plc-line1 over TLS: its own event arrives, line 2's and Frigate's topics never do (ACL in force)."""
    marker = f"verify-{uuid.uuid4().hex[:8]}"
    observer = Session(TLS_PORT, "nodered", lab_secret("mosquitto-nodered"), LAB_CA,
                       topics=("factory/line/#", "frigate/#"))
    plc = Session(TLS_PORT, "plc-line1", lab_secret("mosquitto-plc-line1"), LAB_CA)
    try:
        assert observer.reason is not None and not observer.reason.is_failure
        assert plc.reason is not None and not plc.reason.is_failure
        for topic in ("factory/line/line2/event", "frigate/events", "factory/line/line1/event"):
            plc.publish(topic, marker)
        observer.wait_for("factory/line/line1/event", marker, timeout=5)
        time.sleep(0.5)  # the refused messages were published first: they would have arrived by now
        assert [message[0] for message in observer.messages] == ["factory/line/line1/event"]
    finally:
        observer.close()
        plc.close()


def test_anonymous_client_is_refused():
    session = Session(BROKER_PORT, None, None)
    session.close()
    assert session.reason is not None, "the broker sent no CONNACK"
    assert session.reason.value in NOT_AUTHORISED


def test_wrong_password_is_refused():
    session = Session(BROKER_PORT, "nodered", "not-the-password")
    session.close()
    assert session.reason is not None, "the broker sent no CONNACK"
    assert session.reason.value in NOT_AUTHORISED


def test_authenticated_publish_subscribe_round_trip():
    """Plain lab listener: plc-line1's event reaches Node-RED (the ACL lets a PLC publish one level under its line)."""
    topic = "factory/line/line1/event"
    payload = f'{{"event": "stop", "verify": "{uuid.uuid4().hex[:8]}"}}'
    subscriber = Session(BROKER_PORT, "nodered", lab_secret("mosquitto-nodered"), topics=(topic,))
    publisher = Session(BROKER_PORT, "plc-line1", lab_secret("mosquitto-plc-line1"))
    try:
        assert subscriber.reason is not None and not subscriber.reason.is_failure
        assert publisher.reason is not None and not publisher.reason.is_failure
        publisher.publish(topic, payload)
        assert subscriber.wait_for(topic, payload, timeout=5), "message was not delivered"
        assert [message[1] for message in subscriber.messages] == [payload]
    finally:
        subscriber.close()
        publisher.close()
