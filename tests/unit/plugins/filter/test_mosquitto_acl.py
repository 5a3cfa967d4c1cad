"""The mosquitto_acl filters: role rules, ACL file text, and bad input named with its fix.

Pure Python, no broker. Whether a rule grants a topic is decided by an independent oracle, paho-mqtt's
``topic_matches_sub`` (the MQTT client library the tests also connect with), never by the filter's own
``topic_matches``; a table test holds the filter's ``topic_matches`` to paho's answer on tricky pairs.
The rules' effect on the real broker is tested in tests/integration/broker/test_acl_enforced.py.
"""

import pytest
from ansible.errors import AnsibleFilterError
from paho.mqtt.client import topic_matches_sub

from ansible_collections.sensingcam.ming.plugins.filter.mosquitto_acl import (
    DEFAULT_TOPIC_ROOTS,
    FilterModule,
    mosquitto_acl,
    mosquitto_client_acl_rules,
    mosquitto_control_characters,
    topic_matches,
)

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
    {"name": "nodered", "role": "nodered"},
    {"name": "frigate", "role": "frigate"},
    {"name": "health", "role": "health"},
    {"name": "cam-line1-st1", "role": "camera", "line": "line1"},
    {"name": "bridge-central", "role": "bridge"},
]


def rules(client, roots=None):
    roots = ROOTS if roots is None else roots
    return [(rule["access"], rule["topic"]) for rule in mosquitto_client_acl_rules(client, roots)]


def may(client, access, topic):
    """Would Mosquitto 2.0 grant ``access`` on ``topic``? (user rules first, first grant wins, default deny).

    Topic matching by paho-mqtt, not by the filter under test."""
    for rule in mosquitto_client_acl_rules(client, ROOTS):
        assert rule["pattern"] is False, "every rule is a topic line of the client's own block"
        if topic_matches_sub(rule["topic"], topic) and rule["access"] in (access, "readwrite"):
            return True
    return False


def test_the_filters_are_registered():
    names = {"mosquitto_acl", "mosquitto_client_acl_rules", "mosquitto_control_characters"}
    assert set(FilterModule().filters()) == names


def test_defaults_equal_the_documented_roots():
    assert DEFAULT_TOPIC_ROOTS == ROOTS


def test_plc_writes_one_level_under_its_line_and_reads_only_its_ack():
    assert rules(CLIENTS[0]) == [("write", "factory/line/line1/+"), ("read", "factory/line/line1/event/ack")]
    plc = CLIENTS[0]
    assert may(plc, "write", "factory/line/line1/event")
    assert may(plc, "write", "factory/line/line1/status")
    assert not may(plc, "write", "factory/line/line1/event/ack")
    assert not may(plc, "write", "factory/line/line2/event")
    assert not may(plc, "write", "frigate/events")
    assert may(plc, "read", "factory/line/line1/event/ack")
    assert not may(plc, "read", "factory/line/line2/event/ack")
    assert not may(plc, "read", "factory/line/line1/event")


def test_plc_extra_write_topics_must_not_cover_its_ack():
    plc = dict(CLIENTS[0], write=["factory/line/line1/station2/status"])
    assert ("write", "factory/line/line1/station2/status") in rules(plc)
    for topic in ("factory/line/line1/#", "factory/line/line1/event/#", "factory/line/+/event/ack",
                  "factory/line/line1/+/ack", "#", "factory/line/line1/event/ack/#"):
        with pytest.raises(AnsibleFilterError, match="covers the acknowledgement topic factory/line/line1/event/ack"):
            mosquitto_client_acl_rules(dict(CLIENTS[0], write=[topic]), ROOTS)
    with pytest.raises(AnsibleFilterError, match="readwrite topic"):
        mosquitto_client_acl_rules(dict(CLIENTS[0], readwrite=["factory/#"]), ROOTS)


def test_nodered_reads_plc_and_frigate_and_writes_ack_and_dead_letter():
    assert rules(CLIENTS[1]) == [
        ("read", "factory/line/+/event"),
        ("read", "factory/line/#"),
        ("read", "frigate/#"),
        ("write", "factory/line/+/event/ack"),
        ("write", "factory/dead-letter/#"),
    ]
    assert not may(CLIENTS[1], "write", "factory/line/line1/event")
    assert not may(CLIENTS[1], "write", "frigate/events")


def test_frigate_health_camera_and_bridge():
    assert rules(CLIENTS[2]) == [("readwrite", "frigate/#")]
    assert rules(CLIENTS[3]) == [("readwrite", "ming/health/health/#"), ("read", "$SYS/#")]
    assert rules(CLIENTS[4]) == [("write", "sensingcam/cam-line1-st1/#")]
    assert mosquitto_client_acl_rules(CLIENTS[5], ROOTS) == [
        {"access": "readwrite", "topic": "#", "pattern": False},
        {"access": "write", "topic": "$SYS/broker/connection/bridge-central/state", "pattern": False},
    ]
    bridge = dict(CLIENTS[5], topics=["factory/#", "frigate/events"])
    assert rules(bridge)[:2] == [("readwrite", "factory/#"), ("readwrite", "frigate/events")]


def test_topic_roots_are_configurable_and_partial_roots_keep_defaults():
    roots = {"plc": "machine/alert", "frigate": "nvr"}
    assert rules(CLIENTS[0], roots) == [("write", "machine/alert/line1/+"), ("read", "machine/alert/line1/event/ack")]
    assert ("write", "factory/dead-letter/#") in rules(CLIENTS[1], roots)
    assert ("read", "nvr/#") in rules(CLIENTS[1], roots)
    assert [(r["access"], r["topic"]) for r in mosquitto_client_acl_rules(CLIENTS[2])] == [("readwrite", "frigate/#")]


def test_acl_file_has_one_user_block_per_client_and_no_anonymous_rules():
    text = mosquitto_acl(CLIENTS, ROOTS)
    lines = text.splitlines()
    assert text.endswith("\n")
    first_user = lines.index("user plc-line1")
    assert not [line for line in lines[:first_user] if line.startswith("topic ")]
    # No global pattern line: the connection state topic is granted in the bridge's own block only.
    assert not [line for line in lines if line.startswith("pattern")]
    bridge_block = lines[lines.index("user bridge-central"):]
    assert "topic write $SYS/broker/connection/bridge-central/state" in bridge_block
    assert [line for line in lines if line.startswith("user ")] == [f"user {c['name']}" for c in CLIENTS]
    block = lines[first_user: lines.index("user nodered")]
    assert [line for line in block if line.startswith("topic ")] == [
        "topic write factory/line/line1/+",
        "topic read factory/line/line1/event/ack",
    ]
    assert "# plc-line1: role plc, line line1" in lines


def test_only_bridge_users_may_write_a_connection_state_topic():
    for client in CLIENTS[:5]:
        for topic in (f"$SYS/broker/connection/{client['name']}/state", "$SYS/broker/connection/x/state"):
            assert not may(client, "write", topic), client["name"]
    bridge = CLIENTS[5]
    assert may(bridge, "write", "$SYS/broker/connection/bridge-central/state")
    assert not may(bridge, "write", "$SYS/broker/connection/other-bridge/state")
    assert not may(bridge, "write", "$SYS/broker/version")


def test_acl_without_bridge_has_no_pattern_and_empty_list_is_valid():
    assert "pattern" not in mosquitto_acl(CLIENTS[:5], ROOTS).replace("# ", "")
    assert not [line for line in mosquitto_acl([], ROOTS).splitlines() if line and not line.startswith("#")]


def test_output_is_stable():
    assert mosquitto_acl(CLIENTS, ROOTS) == mosquitto_acl([dict(c) for c in CLIENTS], dict(ROOTS))


def test_numeric_line_is_accepted():
    assert rules({"name": "plc-3", "role": "plc", "line": 3})[0] == ("write", "factory/line/3/+")


@pytest.mark.parametrize(
    "clients, message",
    [
        ([{"name": "x", "role": "scada"}], r"mosquitto_clients\[0\] \(name 'x'\): unknown role 'scada'; set role "
                                           r"to one of: bridge, camera, frigate, health, nodered, plc"),
        ([{"name": "plc-a", "role": "plc"}], r"mosquitto_clients\[0\] \(name 'plc-a'\): a plc client needs 'line'"),
        ([{"name": "plc-a", "role": "plc", "line": "line 1"}], r"line 'line 1' contains a space"),
        ([{"name": "plc-a", "role": "plc", "line": "line/1"}], r"line 'line/1' contains"),
        ([{"name": "plc-a", "role": "plc", "line": True}], r"line must be a line name"),
        ([CLIENTS[1], {"name": "nodered", "role": "frigate"}],
         r"mosquitto_clients\[0\] and mosquitto_clients\[1\] are both named 'nodered'"),
        ([{"name": "plc line1", "role": "plc", "line": "l1"}], r"name contains white space"),
        ([{"name": "cam#1", "role": "camera"}], r"name contains white space, a control character or one of '#'"),
        ([{"name": "cam+1", "role": "camera"}], r"'\+'"),
        ([{"name": "a/b", "role": "health"}], r"'/'"),
        ([{"name": "a:b", "role": "health"}], r"':'"),
        ([{"role": "health"}], r"mosquitto_clients\[0\] has no name"),
        (["nodered"], r"mosquitto_clients\[0\] must be a dict"),
        ([{"name": "x", "role": "health", "lne": "l1"}], r"unknown key\(s\) lne"),
        ([{"name": "x", "role": "health", "topics": ["a"]}], r"'topics' is only for bridge clients"),
        ([{"name": "x", "role": "bridge", "topics": "a/#"}], r"topics must be a list"),
        ([{"name": "x", "role": "bridge", "topics": ["a/#/b"]}], r"'a/#/b' uses '#'"),
        ([{"name": "x", "role": "bridge", "topics": ["a/b+"]}], r"'a/b\+' uses '\+'"),
        ([{"name": "x", "role": "frigate", "read": [""]}], r"is not a topic filter"),
        ([{"name": "x", "role": "frigate", "read": ["a/b\nuser admin"]}], r"read: a topic contains a control char"),
        ([{"name": "x", "role": "bridge", "topics": ["a/\x00b"]}], r"topics: a topic contains a control character"),
        ([{"name": "x\x1b", "role": "camera"}], r"name contains white space, a control character"),
        ([{"name": "plc-a", "role": "plc", "line": "l1\rx"}], r"contains a space, a control character"),
    ],
)
def test_bad_clients_fail_naming_the_variable_and_the_fix(clients, message):
    with pytest.raises(AnsibleFilterError, match=message):
        mosquitto_acl(clients, ROOTS)


@pytest.mark.parametrize(
    "roots, message",
    [
        ({"plcs": "x"}, r"mosquitto_topic_roots has unknown key\(s\) plcs; valid keys: bridge, camera, dead_letter"),
        ({"plc": "factory/#"}, r"mosquitto_topic_roots.plc is 'factory/#'"),
        ({"plc": "/factory"}, r"leading or trailing '/'"),
        ({"plc": ""}, r"mosquitto_topic_roots.plc"),
        ("factory", r"mosquitto_topic_roots must be a dict"),
    ],
)
def test_bad_topic_roots_fail_naming_the_key(roots, message):
    with pytest.raises(AnsibleFilterError, match=message):
        mosquitto_acl(CLIENTS, roots)


def test_clients_must_be_a_list():
    with pytest.raises(AnsibleFilterError, match="mosquitto_clients must be a list"):
        mosquitto_acl({"name": "x"}, ROOTS)


TRICKY_PAIRS = [
    ("a/#", "a"), ("a/#", "a/b/c"), ("a/#", "a/"), ("a/#", "ab"), ("#", "a"), ("#", "/"), ("#", ""),
    ("#", "$SYS/x"), ("#", "$SYS"), ("+/#", "$SYS/x"), ("+", "$SYS"), ("$SYS/#", "$SYS/x"), ("$SYS/#", "$SYS"),
    ("$SYS/+", "$SYS/broker"), ("$SYS/+", "$SYS/broker/load"), ("$SYS/broker/#", "$SYSX/broker/x"),
    ("a/+", "a/b"), ("a/+", "a/b/c"), ("a/+", "a/"), ("a/+", "a"), ("a/+/c", "a/b/c"), ("a/+/c", "a//c"),
    ("+", ""), ("+", "a"), ("+", "/"), ("+/+", "/"), ("/+", "/"), ("/+", "/a"), ("+/a", "/a"), ("/#", "/a/b"),
    ("/#", "a"), ("a//b", "a//b"), ("a//b", "a/b"), ("a/+/b", "a//b"), ("a/b/", "a/b/"), ("a/b/", "a/b"),
    ("a/b", "a/b/"), ("a/b/#", "a/b/"), ("a/b/+", "a/b/"), ("a/b", "a"), ("a", "a/b"), ("+/+/+", "a/b"),
    ("factory/line/+/event/ack", "factory/line/line1/event/ack"),
    ("factory/line/line1/+", "factory/line/line1/event/ack"),
]


@pytest.mark.parametrize("topic_filter, topic", TRICKY_PAIRS)
def test_topic_matching_agrees_with_paho(topic_filter, topic):
    """The filter's own matcher (it decides whether a PLC's extra topic covers its ack) must answer as paho does."""
    assert topic_matches(topic_filter, topic) is topic_matches_sub(topic_filter, topic)


def test_the_tricky_pairs_hold_both_answers():
    """The table is not one-sided: paho says yes to some pairs and no to others."""
    answers = [topic_matches_sub(f, t) for f, t in TRICKY_PAIRS]
    assert answers.count(True) >= 10 and answers.count(False) >= 10


def test_control_characters_are_found_by_path_never_by_value():
    bridges = [
        {"name": "central", "addresses": ["a:1"], "remote_password": "secret\nconnection evil",
         "topics": [{"pattern": "factory/#", "remote_prefix": "x/\ry/"}], "tls": {"version": "tlsv1.2\x00"}},
        {"name": "ok", "addresses": ["b:2", "c:3\t"], "keepalive_interval": 60, "cleansession": False},
    ]
    found = mosquitto_control_characters(bridges, "mosquitto_bridges")
    assert found == [
        "mosquitto_bridges[0].remote_password",
        "mosquitto_bridges[0].topics[0].remote_prefix",
        "mosquitto_bridges[0].tls.version",
        "mosquitto_bridges[1].addresses[1]",
    ]
    assert "secret" not in " ".join(found)
    assert mosquitto_control_characters({"mosquitto_tls_ciphers": "A:B\x7f", "x": [1, None, True]}) == [
        "mosquitto_tls_ciphers"]
    assert mosquitto_control_characters({"bad\nkey": 1}, "v") == ["v.bad\nkey (the key)"]
    assert mosquitto_control_characters("line\n") == ["(the value)"]
    # Printable text, spaces and non-ASCII letters are not control characters.
    assert mosquitto_control_characters({"a": "Werk Süd: Halle 3 #1", "b": ["ok"]}) == []
