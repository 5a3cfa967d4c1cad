"""The generated ACL and password file, enforced by the real Mosquitto 2.0.11 broker binary.

One broker per module on a free 127.0.0.1 port, with ``allow_anonymous false``, ``use_username_as_clientid true``
(as the role's listeners), a password file written by module_utils.mosquitto_passwd and the ACL rendered by the
``mosquitto_acl`` filter from the documented client model.

Mosquitto acknowledges a publish its ACL refuses and drops it silently, so denial is proved by non-delivery: each
test publishes the refused messages, then a permitted marker from the same connection, waits for the marker at a
subscriber allowed to see everything, and only then checks the refused messages never arrived.
"""

import time
import uuid

import pytest
from mosquitto_broker import Broker, Listener, Session, publish_all, requires_mosquitto, try_connect

from ansible_collections.sensingcam.ming.plugins.filter.mosquitto_acl import mosquitto_acl
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import PasswordFile

pytestmark = [requires_mosquitto, pytest.mark.mosquitto]

ROOTS = {
    "plc": "factory/line",
    "frigate": "frigate",
    "health": "ming/health",
    "dead_letter": "factory/dead-letter",
    "camera": "sensingcam",
    "bridge": "ming/bridge",
}
CLIENTS = [
    {"name": "plc-line1", "role": "plc", "line": "line1"},
    {"name": "plc-line2", "role": "plc", "line": "line2"},
    {"name": "nodered", "role": "nodered"},
    {"name": "frigate", "role": "frigate"},
    {"name": "health", "role": "health"},
    {"name": "cam-line1-st1", "role": "camera", "line": "line1"},
    # Stands in for the central broker's bridge: it may read everything, so it is the test's observer.
    {"name": "bridge-central", "role": "bridge"},
]
PASSWORDS = {client["name"]: f"{client['name']}-pw-{uuid.uuid4().hex[:8]}" for client in CLIENTS}

NOT_AUTHORISED = 5  # MQTT 3.1.1 CONNACK "not authorised"; paho reports it as 135 in its MQTT 5 numbering
REFUSED = {NOT_AUTHORISED, 135, 134}


def write_password_file(path):
    passwords = PasswordFile("")
    for name, password in PASSWORDS.items():
        passwords.set_password(name, password)
    path.write_text(passwords.render())


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    directory = tmp_path_factory.mktemp("acl-broker")
    write_password_file(directory / "passwd")
    (directory / "acl").write_text(mosquitto_acl(CLIENTS, ROOTS))
    with Broker(directory, directory / "passwd", directory / "acl",
                listener_lines=["use_username_as_clientid true"]) as running:
        yield running


def login(name):
    return name, PASSWORDS[name]


@pytest.fixture
def observer(broker):
    listener = Listener(broker.port, *login("bridge-central"))
    yield listener
    listener.close()


def marker(topic):
    return topic, f"marker-{uuid.uuid4().hex}"


def test_every_declared_client_logs_in(broker):
    for name in PASSWORDS:
        assert try_connect(broker.port, *login(name)) == 0, broker.log()


def test_anonymous_wrong_password_and_unknown_user_are_refused(broker):
    assert try_connect(broker.port, None, None) in REFUSED
    assert try_connect(broker.port, "plc-line1", PASSWORDS["plc-line2"]) in REFUSED
    assert try_connect(broker.port, "plc-line1", "") in REFUSED
    assert try_connect(broker.port, "intruder", "intruder") in REFUSED


def test_plc_event_on_its_own_line_reaches_nodered(broker):
    nodered = Listener(broker.port, *login("nodered"), topics=("factory/line/+/event",))
    try:
        publish_all(broker.port, *login("plc-line1"), [("factory/line/line1/event", '{"event": "stop"}')])
        assert nodered.wait_for("factory/line/line1/event", '{"event": "stop"}')
    finally:
        nodered.close()


def test_plc_cannot_publish_to_another_line_frigate_or_its_own_ack(broker, observer):
    refused = [
        ("factory/line/line2/event", "forged line2 event"),
        ("frigate/events", "forged frigate event"),
        ("frigate/front_door/person", "forged frigate object"),
        ("factory/line/line1/event/ack", "self-acknowledged"),
        ("factory/dead-letter/line1", "forged dead letter"),
        ("sensingcam/cam-line1-st1/state", "forged camera state"),
    ]
    last = marker("factory/line/line1/event")
    publish_all(broker.port, *login("plc-line1"), refused + [last])
    assert observer.wait_for(*last), broker.log()
    delivered = {message[0] for message in observer.messages}
    for topic, payload in refused:
        assert (topic, payload) not in observer.messages, f"{topic} was delivered"
    assert "factory/line/line2/event" not in delivered


def test_plc_receives_only_its_own_ack(broker):
    plc = Listener(broker.port, *login("plc-line1"), topics=("#",))
    try:
        last = marker("factory/line/line1/event/ack")
        publish_all(broker.port, *login("nodered"), [
            ("factory/line/line2/event/ack", "ack for line 2"),
            ("factory/line/line2/event", "not for the PLC"),
            ("factory/dead-letter/line1", "not for the PLC"),
            last,
        ])
        assert plc.wait_for(*last), broker.log()
        assert plc.messages == [last]
    finally:
        plc.close()


def test_nodered_writes_ack_and_dead_letter_but_not_events_or_frigate(broker, observer):
    refused = [("factory/line/line1/event", "forged by nodered"), ("frigate/events", "forged by nodered")]
    allowed = [("factory/line/line1/event/ack", "ack"), ("factory/dead-letter/line1", '{"reason": "no line"}')]
    publish_all(broker.port, *login("nodered"), refused + allowed)
    for message in allowed:
        assert observer.wait_for(*message), broker.log()
    for message in refused:
        assert message not in observer.messages


def test_frigate_owns_frigate_topics_and_camera_only_its_own(broker, observer):
    nodered = Listener(broker.port, *login("nodered"), topics=("frigate/#",))
    try:
        publish_all(broker.port, *login("cam-line1-st1"), [
            ("frigate/events", "forged by camera"),
            ("sensingcam/cam-other/state", "forged by camera"),
            ("sensingcam/cam-line1-st1/state", "online"),
        ])
        publish_all(broker.port, *login("frigate"), [("frigate/events", '{"type": "new"}')])
        assert nodered.wait_for("frigate/events", '{"type": "new"}')
        assert observer.wait_for("sensingcam/cam-line1-st1/state", "online")
        assert ("frigate/events", "forged by camera") not in nodered.messages
        assert ("sensingcam/cam-other/state", "forged by camera") not in observer.messages
    finally:
        nodered.close()


def test_health_client_round_trips_its_topic_and_reads_sys(broker):
    # One connection: with use_username_as_clientid a second connection of the same user would replace the first.
    health = Session(broker.port, *login("health"), topics=("ming/health/health/#", "$SYS/broker/version"))
    try:
        health.publish("ming/health/health/ping", "1")
        assert health.wait_for("ming/health/health/ping", "1")
        assert health.wait_for("$SYS/broker/version", "mosquitto version 2.0.11"), health.messages
    finally:
        health.close()


def test_a_second_connection_of_the_same_user_replaces_the_first(broker):
    """use_username_as_clientid: the client id is the user name whatever the client sends, so one user has one
    session; this is why every client (each PLC, camera, Node-RED instance) needs its own user."""
    first = Session(broker.port, *login("frigate"))
    try:
        assert first.accepted and first.disconnects == 0
        second = Session(broker.port, *login("frigate"))
        try:
            assert second.accepted
            deadline = time.monotonic() + 10
            while first.disconnects == 0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert first.disconnects >= 1, "two sessions of one user coexist: the client id is not the user name"
            assert "as frigate " in broker.log() or "as frigate(" in broker.log(), broker.log()[-2000:]
        finally:
            second.close()
    finally:
        first.close()


def test_only_a_bridge_user_may_write_its_own_connection_state(broker):
    """A bridge publishes its connection state on $SYS/broker/connection/<client id>/state; no other client may
    (a forged "0" would tell the plant that a bridge is down), and a bridge only its own."""
    health = Listener(broker.port, *login("health"), topics=("$SYS/broker/connection/#",))
    try:
        forged = [
            ("nodered", "$SYS/broker/connection/nodered/state"),
            ("plc-line1", "$SYS/broker/connection/plc-line1/state"),
            ("frigate", "$SYS/broker/connection/bridge-central/state"),
            ("bridge-central", "$SYS/broker/connection/other-bridge/state"),
        ]
        for name, topic in forged:
            publish_all(broker.port, *login(name), [(topic, f"forged by {name}")])
        last = ("$SYS/broker/connection/bridge-central/state", f"1-{uuid.uuid4().hex[:6]}")
        publish_all(broker.port, *login("bridge-central"), [last])
        assert health.wait_for(*last), broker.log()
        for name, topic in forged:
            assert (topic, f"forged by {name}") not in health.messages, f"{name} wrote {topic}"
    finally:
        health.close()


def test_why_the_plc_ack_is_not_protected_with_deny(tmp_path):
    """Real Mosquitto 2.0.11: a ``deny`` line refuses reads too, so it would cut the PLC off from its ack.

    This is the design reason behind ``write <plc>/<line>/+`` instead of ``write <plc>/<line>/#`` plus a deny.
    """
    write_password_file(tmp_path / "passwd")
    (tmp_path / "acl").write_text(
        "user plc-line1\n"
        "topic write factory/line/line1/#\n"
        "topic deny factory/line/line1/event/ack\n"
        "topic read factory/line/line1/event/ack\n"
        "user nodered\n"
        "topic readwrite #\n"
    )
    with Broker(tmp_path, tmp_path / "passwd", tmp_path / "acl") as broker:
        plc = Listener(broker.port, *login("plc-line1"), topics=("factory/line/line1/event/ack",))
        nodered = Listener(broker.port, *login("nodered"), topics=("factory/#",))
        try:
            publish_all(broker.port, *login("nodered"), [("factory/line/line1/event/ack", "ack")])
            last = marker("factory/line/line1/event/ack")
            publish_all(broker.port, *login("nodered"), [last])
            assert nodered.wait_for(*last)
            assert plc.messages == []  # the PLC never gets its acknowledgement
        finally:
            plc.close()
            nodered.close()
