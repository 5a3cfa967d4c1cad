"""The nodered_correlation_flow filter: wiring, persistent session, deterministic ids, no secret in the output.

Pure Python, no Node-RED; the flow running in real Node-RED 4.1 is tests/integration/nodered/test_pipeline_flow.py.

Mutations tried (each made a test here fail, then was restored): clean session true; ids from a random uuid;
only the first broker of pipeline.mqtt.brokers; the repeated client id / address check removed;
receive's dead-letter output unwired; the password placed in the credentials instead of the environment reference;
the mqtt.subscriptions check removed.
"""

import copy
import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.filter.nodered_flow import (
    MQTT_PASSWORD_REFERENCE,
    FilterModule,
    node_id,
    nodered_correlation_flow,
)

PIPELINE = {
    "version": 1,
    "mqtt": {
        "broker": {"host": "mosquitto", "port": 8883, "tls": True, "ca_file": "/config/ca.crt",
                   "client_id": "ming-nodered-edge1", "user": "nodered"},
        "subscriptions": ["factory/line/+/event", "machine/alert/+"], "qos": 1,
        "ack_topic": "factory/line/{line}/event/ack", "dead_letter_topic": "factory/dead_letter",
    },
    "events": ["stop", "fault"],
    "stations": [{"line": "line1", "station": "st10", "camera": "cam-line1-st10"}],
}


def by_name(flow):
    return {node.get("name") or node.get("label"): node for node in flow["flows"]}


def test_registered():
    assert FilterModule().filters() == {"nodered_correlation_flow": nodered_correlation_flow}


def test_wiring_from_mqtt_to_ack():
    """mqtt in (one per subscription) -> receive -> correlate -> record -> drain -> ack out; receive's and drain's
    second outputs go to the dead-letter out; the timer and the start-up inject reach drain and resume."""
    flow = nodered_correlation_flow(PIPELINE)
    nodes = by_name(flow)
    ids = {name: node["id"] for name, node in nodes.items()}
    mqtt_in = [node for node in flow["flows"] if node["type"] == "mqtt in"]
    assert [node["topic"] for node in mqtt_in] == PIPELINE["mqtt"]["subscriptions"]
    receive = ids["receive: normalise, dedup, journal"]
    assert all(node["qos"] == "1" and node["wires"] == [[receive]] for node in mqtt_in)
    assert nodes["receive: normalise, dedup, journal"]["wires"] == [[ids["correlate: trigger, Frigate event, clip"]],
                                                                    [ids["dead letters"]]]
    assert nodes["correlate: trigger, Frigate event, clip"]["wires"] == [[ids["record: durable outbox"]]]
    assert nodes["record: durable outbox"]["wires"] == [[ids["drain: InfluxDB, then ack"]]]
    assert nodes["drain: InfluxDB, then ack"]["wires"] == [[ids["acknowledgements"]], [ids["dead letters"]]]
    assert nodes["drain every second"]["repeat"] == "1" and nodes["drain every second"]["once"] is True
    assert nodes["drain every second"]["wires"] == [[ids["drain: InfluxDB, then ack"]]]
    assert nodes["at start"]["once"] is True and nodes["at start"]["repeat"] == ""
    assert nodes["resume: journal after a restart"]["wires"] == [[ids["correlate: trigger, Frigate event, clip"]]]
    assert all(nodes[name]["qos"] == "1" for name in ("acknowledgements", "dead letters"))
    tab = nodes["Ming correlation"]["id"]
    flow_nodes = [node for node in flow["flows"] if node["type"] not in ("tab", "mqtt-broker", "tls-config")]
    assert all(node["z"] == tab for node in flow_nodes)
    known = {node["id"] for node in flow["flows"]}
    assert all(target in known for node in flow_nodes for output in node.get("wires", []) for target in output)


def test_persistent_session_with_tls():
    """A fixed client id and clean session off keep QoS 1 messages at the broker while Node-RED is down; the broker
    is validated against the CA file."""
    nodes = by_name(nodered_correlation_flow(PIPELINE))
    broker = next(node for node in nodes.values() if node["type"] == "mqtt-broker")
    assert broker["cleansession"] is False
    assert broker["clientid"] == "ming-nodered-edge1"
    assert (broker["broker"], broker["port"], broker["usetls"]) == ("mosquitto", "8883", True)
    tls = nodes["Ming broker CA"]
    assert broker["tls"] == tls["id"]
    assert tls["ca"] == "/config/ca.crt" and tls["verifyservercert"] is True


def test_plain_broker_without_tls_node():
    pipeline = copy.deepcopy(PIPELINE)
    pipeline["mqtt"]["broker"]["tls"] = False
    flow = nodered_correlation_flow(pipeline)
    assert not [node for node in flow["flows"] if node["type"] == "tls-config"]
    broker = next(node for node in flow["flows"] if node["type"] == "mqtt-broker")
    assert broker["usetls"] is False and "tls" not in broker


def test_ids_deterministic_and_unique():
    """The same pipeline gives the same node ids (a re-run deploys nothing); ids are unique 16-hex-digit strings."""
    first = nodered_correlation_flow(PIPELINE)
    assert first == nodered_correlation_flow(copy.deepcopy(PIPELINE))
    ids = [node["id"] for node in first["flows"]]
    assert len(ids) == len(set(ids))
    assert all(len(value) == 16 and int(value, 16) >= 0 for value in ids)
    assert node_id("receive") == by_name(first)["receive: normalise, dedup, journal"]["id"]


def test_function_nodes_call_the_library_with_the_config_path():
    flow = nodered_correlation_flow(PIPELINE, "/srv/pipeline.json")
    functions = [node for node in flow["flows"] if node["type"] == "function"]
    assert len(functions) == 5
    for node in functions:
        assert node["func"].startswith('const pipeline = global.get("ming").shared("/srv/pipeline.json");')
    calls = {node["name"]: node["func"] for node in functions}
    assert "pipeline.receive(msg.topic, msg.payload)" in calls["receive: normalise, dedup, journal"]
    assert "pipeline.drain()" in calls["drain: InfluxDB, then ack"]
    assert "pipeline.resume()" in calls["resume: journal after a restart"]


def test_no_secret_only_the_environment_reference():
    """The password credential is the ${MING_SECRET_MQTT_PASSWORD} reference Node-RED resolves at start; no
    password of the pipeline reaches the output."""
    pipeline = copy.deepcopy(PIPELINE)
    pipeline["mqtt"]["broker"]["password"] = "must-not-appear"
    flow = nodered_correlation_flow(pipeline)
    broker = next(node for node in flow["flows"] if node["type"] == "mqtt-broker")
    assert flow["credentials"] == {broker["id"]: {"user": "nodered", "password": MQTT_PASSWORD_REFERENCE}}
    assert MQTT_PASSWORD_REFERENCE == "${MING_SECRET_MQTT_PASSWORD}"
    assert "must-not-appear" not in json.dumps(flow)


@pytest.mark.parametrize("path, value, message", [
    (("mqtt", "broker", "host"), None, "pipeline.mqtt.broker.host is missing"),
    (("mqtt", "broker", "client_id"), "", "pipeline.mqtt.broker.client_id is missing"),
    (("mqtt", "subscriptions"), [], "pipeline.mqtt.subscriptions is missing"),
    (("mqtt", "subscriptions"), ["ok", ""], "pipeline.mqtt.subscriptions must be a list of topic filters"),
    (("mqtt", "qos"), 3, "pipeline.mqtt.qos must be 0, 1 or 2"),
])
def test_bad_pipeline_named(path, value, message):
    pipeline = copy.deepcopy(PIPELINE)
    target = pipeline
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    with pytest.raises(AnsibleFilterError, match=message.replace(".", r"\.")):
        nodered_correlation_flow(pipeline)


def test_not_a_dict():
    with pytest.raises(AnsibleFilterError, match="must be the pipeline configuration"):
        nodered_correlation_flow(["x"])


def test_receive_installs_the_puback_hook_before_any_mqtt_in():
    """Node-RED creates nodes in list order: receive (whose On Start installs the PUBACK-after-journal hook) must
    come before every mqtt in node, which makes the broker node connect; payloads arrive as exact bytes.
    Mutation tried: receive appended after the mqtt in nodes."""
    flow = nodered_correlation_flow(PIPELINE)
    order = [node["id"] for node in flow["flows"]]
    receive = node_id("receive")
    mqtt_in = [node for node in flow["flows"] if node["type"] == "mqtt in"]
    assert all(order.index(receive) < order.index(node["id"]) for node in mqtt_in)
    assert all(node["datatype"] == "buffer" for node in mqtt_in)
    initialize = by_name(flow)["receive: normalise, dedup, journal"]["initialize"]
    assert 'global.get("ming").installPubackAfterJournal("/config/pipeline.json")' in initialize


def test_record_kicks_the_drain_without_the_timer():
    """The outbox node sends to the drain node once pipeline.record() resolved (the record's batch on disk), so a
    record is drained at once, not on the next tick of the 1 s timer (kept for retries and backoff); receive and
    record wait for their promises. The same is shown in real Node-RED with the timer at once an hour
    (tests/integration/nodered/test_pipeline_flow.py). Mutation tried: the outbox node returning nothing (no wire
    used)."""
    nodes = by_name(nodered_correlation_flow(copy.deepcopy(PIPELINE)))
    outbox, drain = nodes["record: durable outbox"], nodes["drain: InfluxDB, then ack"]
    timer = nodes["drain every second"]
    assert outbox["wires"] == [[drain["id"]]]
    assert "pipeline.record(msg.record).then(" in outbox["func"]
    assert 'node.send({payload: "drain"})' in outbox["func"]
    assert timer["wires"] == [[drain["id"]]] and timer["repeat"] == "1"
    assert "pipeline.receive(msg.topic, msg.payload).then(" in nodes["receive: normalise, dedup, journal"]["func"]


PAIR = copy.deepcopy(PIPELINE)
PAIR["mqtt"]["brokers"] = [
    dict(PIPELINE["mqtt"]["broker"], host="10.21.0.11", client_id="ming-nodered-app1-10.21.0.11"),
    dict(PIPELINE["mqtt"]["broker"], host="10.21.0.12", port=8884, client_id="ming-nodered-app1-10.21.0.12"),
]
del PAIR["mqtt"]["broker"]


def test_broker_pair_one_connection_each_same_subscriptions():
    """pipeline.mqtt.brokers (a plant's broker pair): one broker node per broker with its own client id, clean
    session off and its CA; the same subscriptions on each, all into receive (dedup by event id across both);
    acknowledgements and dead letters go out through every broker. Mutation tried: only the first broker's nodes
    (the filter sliced to one broker) - the second broker's node and mqtt in nodes are missing."""
    flow = nodered_correlation_flow(PAIR)
    brokers = [node for node in flow["flows"] if node["type"] == "mqtt-broker"]
    assert [(node["broker"], node["port"], node["clientid"]) for node in brokers] == [
        ("10.21.0.11", "8883", "ming-nodered-app1-10.21.0.11"), ("10.21.0.12", "8884", "ming-nodered-app1-10.21.0.12")]
    assert all(node["cleansession"] is False and node["usetls"] is True for node in brokers)
    tls = {node["id"]: node for node in flow["flows"] if node["type"] == "tls-config"}
    assert all(tls[node["tls"]]["ca"] == "/config/ca.crt" for node in brokers) and len(tls) == 2
    receive = node_id("receive")
    mqtt_in = [node for node in flow["flows"] if node["type"] == "mqtt in"]
    by_broker = {node["id"]: sorted(m["topic"] for m in mqtt_in if m["broker"] == node["id"]) for node in brokers}
    assert list(by_broker.values()) == [sorted(PIPELINE["mqtt"]["subscriptions"])] * 2
    assert all(node["wires"] == [[receive]] and node["qos"] == "1" for node in mqtt_in)
    outs = [node for node in flow["flows"] if node["type"] == "mqtt out"]
    acks = [node["id"] for node in outs if node["name"].startswith("acknowledgements")]
    dead = [node["id"] for node in outs if node["name"].startswith("dead letters")]
    assert sorted(node["broker"] for node in outs) == sorted([node["id"] for node in brokers] * 2)
    nodes = by_name(flow)
    assert nodes["drain: InfluxDB, then ack"]["wires"] == [acks, dead]
    assert nodes["receive: normalise, dedup, journal"]["wires"][1] == dead
    assert set(flow["credentials"]) == {node["id"] for node in brokers}
    assert all(value["password"] == MQTT_PASSWORD_REFERENCE for value in flow["credentials"].values())
    order = [node["id"] for node in flow["flows"]]
    assert all(order.index(receive) < order.index(node["id"]) for node in mqtt_in)


def test_first_broker_keeps_its_ids():
    """The first broker's nodes have the ids of the one-broker flow, so adding a second broker leaves them (and the
    persistent session) as they were; a one-entry brokers list is the one-broker flow."""
    single = nodered_correlation_flow(PIPELINE)
    pair = nodered_correlation_flow(PAIR)
    pair_ids = {node["id"] for node in pair["flows"]}
    assert {node["id"] for node in single["flows"]} <= pair_ids
    one = copy.deepcopy(PIPELINE)
    one["mqtt"]["brokers"] = [one["mqtt"].pop("broker")]
    assert nodered_correlation_flow(one) == single


@pytest.mark.parametrize("change, message", [
    ({"client_id": "ming-nodered-app1-10.21.0.11"}, "repeat client ids ming-nodered-app1-10.21.0.11"),
    ({"host": "10.21.0.11", "port": 8883}, "repeat addresses 10.21.0.11:8883"),
    ({"host": ""}, r"pipeline.mqtt.brokers\[1\].host is missing"),
])
def test_bad_broker_pair_named(change, message):
    """Two connections with one client id would take each other's session; the same broker twice is a mistake."""
    pipeline = copy.deepcopy(PAIR)
    pipeline["mqtt"]["brokers"][1].update(change)
    with pytest.raises(AnsibleFilterError, match=message):
        nodered_correlation_flow(pipeline)
