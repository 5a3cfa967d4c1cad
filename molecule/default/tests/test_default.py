"""Verify the lab roll-out against the real services it started: Mosquitto 2.0 in the lab image
(ming/mosquitto:lab, Debian's mosquitto package) on the local Docker engine. Molecule's testinfra verifier."""

import json
import os
import threading
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt

CONTAINER = "ming-molecule-mosquitto"
BROKER_PORT = 11883
SECRETS = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/nonexistent")) / "secrets"
NOT_AUTHORISED = (4, 5, 134, 135)  # MQTT 3.1.1 bad credentials / not authorised; MQTT 5 equivalents


def lab_secret(name):
    return (SECRETS / name).read_text().strip()


class Session:
    """One MQTT client connection; `reason` is the broker's CONNACK answer, or None when it gave none."""

    def __init__(self, username=None, password=None):
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"verify-{uuid.uuid4().hex[:8]}")
        if username is not None:
            self.client.username_pw_set(username, password)
        self.connack = threading.Event()
        self.reason = None
        self.messages = []
        self.received = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", BROKER_PORT, keepalive=10)
        self.client.loop_start()
        self.connack.wait(5)

    def _on_connect(self, client, userdata, flags, reason, properties):
        self.reason = reason
        self.connack.set()

    def _on_message(self, client, userdata, message):
        self.messages.append(message.payload)
        self.received.set()

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def test_broker_container_is_healthy(host):
    state = json.loads(host.check_output(f"docker inspect --format '{{{{json .State}}}}' {CONTAINER}"))
    assert state["Running"] is True
    assert state["Health"]["Status"] == "healthy"


def test_broker_is_published_on_loopback_only(host):
    assert host.check_output(f"docker port {CONTAINER} 1883").strip() == f"127.0.0.1:{BROKER_PORT}"


def test_anonymous_client_is_refused():
    session = Session()
    session.close()
    assert session.reason is not None, "the broker sent no CONNACK"
    assert session.reason.value in NOT_AUTHORISED


def test_wrong_password_is_refused():
    session = Session("nodered", "not-the-password")
    session.close()
    assert session.reason is not None, "the broker sent no CONNACK"
    assert session.reason.value in NOT_AUTHORISED


def test_authenticated_publish_subscribe_round_trip():
    topic = f"factory/line/line1/event/verify-{uuid.uuid4().hex[:8]}"
    subscriber = Session("nodered", lab_secret("mosquitto-nodered"))
    publisher = Session("plc-line1", lab_secret("mosquitto-plc-line1"))
    try:
        assert subscriber.reason is not None and not subscriber.reason.is_failure
        assert publisher.reason is not None and not publisher.reason.is_failure
        subscribed = threading.Event()
        subscriber.client.on_subscribe = lambda *args: subscribed.set()
        subscriber.client.subscribe(topic, qos=1)
        assert subscribed.wait(5), "subscription was not acknowledged"
        publisher.client.publish(topic, b'{"event": "stop"}', qos=1).wait_for_publish(5)
        assert subscriber.received.wait(5), "message was not delivered"
        assert subscriber.messages == [b'{"event": "stop"}']
    finally:
        subscriber.close()
        publisher.close()
