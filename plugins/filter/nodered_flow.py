# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``nodered_correlation_flow``: the correlation flow (docs/pipeline.md) for ``sensingcam.ming.nodered_flows``.

Documentation: the sidecar file ``nodered_correlation_flow.yml``.

The flow is wiring only: every function node calls one stage of ``ming_pipeline.js`` (``global.get("ming")``,
which settings.js sets to ``require("/config/ming_pipeline.js")``) bound to ``pipeline.json``. Node ids are the
first 16 hex digits of sha256("ming-correlation:<name>"), so a re-run deploys the same ids and nodered_flows
reports no change. No secret is needed or returned: the broker password credential is the text
``${MING_SECRET_MQTT_PASSWORD}``, which Node-RED 4.1 replaces from the process environment when it creates the
broker node (runtime/lib/nodes/index.js maps ``${VAR}`` in credentials as in properties); settings.js puts the
password there from secrets.json.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible.errors import AnsibleFilterError

DEFAULT_CONFIG_PATH = '/config/pipeline.json'
MQTT_PASSWORD_REFERENCE = '${MING_SECRET_MQTT_PASSWORD}'  # noqa: S105 - a reference Node-RED resolves, not a password
TAB_LABEL = 'Ming correlation'
COLUMNS = (160, 400, 640, 880, 1120)
ROW = 80


def node_id(name):
    """The deterministic id of the flow node called ``name``."""
    return hashlib.sha256(('ming-correlation:%s' % name).encode('utf-8')).hexdigest()[:16]


def _require(pipeline, dotted):
    value = pipeline
    for part in dotted.split('.'):
        value = value.get(part) if isinstance(value, dict) else None
    if value is None or value == '' or value == []:
        raise AnsibleFilterError('nodered_correlation_flow: pipeline.%s is missing; the nodered role builds the '
                                 'pipeline configuration from its variables (docs/pipeline.md)' % dotted)
    return value


def _pipeline_call(config_path, body):
    """Function node code: the shared pipeline for config_path, then body."""
    return 'const pipeline = global.get("ming").shared(%s);\n%s' % (json.dumps(config_path), body)


RECEIVE = '''// Resolves once the event's journal batch is on disk (group commit).
pipeline.receive(msg.topic, msg.payload).then((result) => {
    if (result.status === "accepted") {
        const e = result.event;
        node.status({fill: "green", shape: "dot", text: e.line + "/" + e.station + " " + e.event});
        node.send([{topic: msg.topic, event: e, payload: e}, null]);
    } else if (result.status === "duplicate") {
        node.status({fill: "grey", shape: "ring", text: "duplicate dropped " + result.event_id.slice(0, 16)});
    } else {
        node.status({fill: "yellow", shape: "ring", text: "dead letter: " + result.reason.slice(0, 60)});
        node.send([null, {topic: result.message.topic, payload: result.message.payload, qos: 1, retain: false}]);
    }
    node.done();
}).catch((err) => {
    node.status({fill: "red", shape: "ring", text: "journal write failed"});
    node.error("receive: the event could not be journaled: " + err.message, msg);
});
return null;
'''

CORRELATE = '''const e = msg.event;
node.status({fill: "blue", shape: "dot", text: "correlating " + e.line + "/" + e.station + " " + e.event});
pipeline.correlate(e).then((record) => {
    const good = record.correlation === "matched" || record.correlation === "none";
    node.status({fill: good ? "green" : "yellow", shape: "dot",
                 text: e.line + "/" + e.station + " " + record.correlation + (record.joined ? " (joined)" : "")});
    node.send({record: record, payload: record});
    node.done();
}).catch((err) => {
    node.status({fill: "red", shape: "ring", text: "correlation failed"});
    node.error("correlate: " + err.message + " (the event stays in the journal until the next start)", msg);
});
return null;
'''

OUTBOX = '''// Resolves once the record's outbox batch is on disk (group commit); then a drain at once (the drain
// node runs at most one drain, another right after when records arrived meanwhile; the 1 s timer is for retries
// and backoff).
pipeline.record(msg.record).then((entry) => {
    node.status({fill: "green", shape: "dot", text: "queued " + entry.line + " " + entry.correlation});
    node.send({payload: "drain"});
    node.done();
}).catch((err) => {
    node.status({fill: "red", shape: "ring", text: "outbox write failed"});
    node.error("outbox: " + err.message + " (the event stays in the journal until the next start)", msg);
});
return null;
'''

DRAIN = '''pipeline.log = (text) => node.warn(text);
pipeline.drain().then((result) => {
    const stats = pipeline.stats;
    node.status({fill: result.pending ? "yellow" : "green", shape: result.pending ? "ring" : "dot",
                 text: "stored " + stats.stored + ", pending " + result.pending});
    node.send([
        result.acks.map((ack) => ({topic: ack.topic, payload: ack.payload, qos: 1, retain: false})),
        result.dead_letters.map((dead) => ({topic: dead.topic, payload: dead.payload, qos: 1, retain: false})),
    ]);
    node.done();
}).catch((err) => {
    node.status({fill: "red", shape: "ring", text: "drain failed"});
    node.error("drain: " + err.message);
});
return null;
'''

INSTALL_HOOK = '''// Journal each QoS 1 message inside the MQTT client before it sends PUBACK (docs/pipeline.md).
node.log("PUBACK after journal: " + global.get("ming").installPubackAfterJournal(%s));
'''

RESUME = '''const events = pipeline.resume();
node.status({fill: "green", shape: "dot", text: "resumed " + events.length + " journaled event(s)"});
return [events.map((e) => ({event: e, payload: e}))];
'''


def _suffix(index):
    """Names of the first broker's nodes stay as they were with one broker (same ids: a re-run changes nothing)."""
    return '' if index == 0 else ' %d' % index


def _brokers(pipeline):
    """pipeline.mqtt.brokers (one entry per broker of the plant), or the single pipeline.mqtt.broker."""
    mqtt = _require(pipeline, 'mqtt')
    brokers = mqtt.get('brokers') if isinstance(mqtt, dict) else None
    single = brokers is None or brokers == []
    if single:
        brokers = [_require(pipeline, 'mqtt.broker')]
    if not isinstance(brokers, list) or not all(isinstance(broker, dict) for broker in brokers):
        raise AnsibleFilterError('nodered_correlation_flow: pipeline.mqtt.brokers must be a list of brokers '
                                 '{host, port, client_id, ...}, not %r' % (brokers,))
    for index, broker in enumerate(brokers):
        for key in ('host', 'port', 'client_id'):
            if broker.get(key) in (None, ''):
                raise AnsibleFilterError('nodered_correlation_flow: pipeline.%s.%s is missing; the nodered role '
                                         'builds it from nodered_mqtt_hosts (docs/pipeline.md)'
                                         % ('mqtt.broker' if single else 'mqtt.brokers[%d]' % index, key))
    for key, what in (('client_id', 'client ids'), ('address', 'addresses')):
        values = [broker['client_id'] if key == 'client_id' else '%s:%s' % (broker['host'], broker['port'])
                  for broker in brokers]
        twice = sorted(set(value for value in values if values.count(value) > 1))
        if twice:
            raise AnsibleFilterError('nodered_correlation_flow: pipeline.mqtt.brokers repeat %s %s: one connection '
                                     'per broker, each with its own client id (nodered_mqtt_hosts, '
                                     'nodered_mqtt_client_id)' % (what, ', '.join(str(value) for value in twice)))
    return brokers


def _broker_nodes(broker, index, ids):
    """The mqtt-broker config node (and its tls-config node) of one broker."""
    tls = bool(broker.get('tls', True))
    host, port = broker['host'], broker['port']
    node = {
        'id': ids['broker'][index], 'type': 'mqtt-broker', 'name': 'Ming broker %s:%s' % (host, port),
        'broker': host, 'port': str(port), 'clientid': broker['client_id'], 'autoConnect': True, 'usetls': tls,
        'protocolVersion': '4', 'keepalive': '60',
        # A persistent session: the broker keeps QoS 1 messages for this client id while Node-RED is down.
        'cleansession': False, 'autoUnsubscribe': False,
        'birthTopic': '', 'birthQos': '0', 'birthRetain': 'false', 'birthPayload': '', 'birthMsg': {},
        'closeTopic': '', 'closeQos': '0', 'closeRetain': 'false', 'closePayload': '', 'closeMsg': {},
        'willTopic': '', 'willQos': '0', 'willRetain': 'false', 'willPayload': '', 'willMsg': {},
        'userProps': '', 'sessionExpiry': '',
    }
    if not tls:
        return [node]
    node['tls'] = ids['tls'][index]
    return [{
        'id': ids['tls'][index], 'type': 'tls-config', 'name': 'Ming broker CA' + _suffix(index), 'cert': '',
        'key': '', 'ca': broker.get('ca_file') or '', 'certname': '', 'keyname': '', 'caname': '', 'servername': '',
        'verifyservercert': True, 'alpnprotocol': '',
    }, node]


def _function(name, label, code, outputs, wires, x, y, tab, config_path):
    return {
        'id': node_id(name), 'type': 'function', 'z': tab, 'name': label, 'func': _pipeline_call(config_path, code),
        'outputs': outputs, 'timeout': 0, 'noerr': 0, 'initialize': '', 'finalize': '', 'libs': [],
        'x': x, 'y': y, 'wires': wires,
    }


def nodered_correlation_flow(pipeline, config_path=DEFAULT_CONFIG_PATH):
    """Return {"flows": [...], "credentials": {...}} for the nodered_flows module."""
    if not isinstance(pipeline, dict):
        raise AnsibleFilterError('nodered_correlation_flow: the input must be the pipeline configuration (a dict), '
                                 'not %s' % type(pipeline).__name__)
    brokers = _brokers(pipeline)
    subscriptions = _require(pipeline, 'mqtt.subscriptions')
    if not isinstance(subscriptions, list) or not all(isinstance(topic, str) and topic for topic in subscriptions):
        raise AnsibleFilterError('nodered_correlation_flow: pipeline.mqtt.subscriptions must be a list of topic '
                                 'filters, not %r' % (subscriptions,))
    qos = pipeline['mqtt'].get('qos', 1)
    if qos not in (0, 1, 2):
        raise AnsibleFilterError('nodered_correlation_flow: pipeline.mqtt.qos must be 0, 1 or 2, not %r' % (qos,))

    tab = node_id('tab')
    ids = dict((name, node_id(name)) for name in (
        'receive', 'correlate', 'outbox', 'drain', 'drain timer', 'resume', 'resume at start'))
    # One broker connection per broker (the same subscriptions on each); acknowledgements and dead letters go to
    # every broker, so a client on the plant's VIP gets them whichever broker holds it.
    for kind in ('broker', 'tls', 'ack out', 'dead letter out'):
        ids[kind] = [node_id(kind + _suffix(index)) for index in range(len(brokers))]
    flows = [{
        'id': tab, 'type': 'tab', 'label': TAB_LABEL, 'disabled': False,
        'info': 'Generated by sensingcam.ming.nodered_correlation_flow from the inventory: PLC event -> camera '
                'trigger and Frigate event -> durable outbox -> InfluxDB. Edit the inventory, not this tab '
                '(docs/pipeline.md).',
    }]
    for index, broker in enumerate(brokers):
        flows.extend(_broker_nodes(broker, index, ids))

    # receive comes before the mqtt in nodes: Node-RED creates nodes in this order, so its On Start code installs
    # the PUBACK-after-journal hook before an mqtt in node makes a broker node connect.
    receive = _function('receive', 'receive: normalise, dedup, journal', RECEIVE, 2,
                        [[ids['correlate']], list(ids['dead letter out'])], COLUMNS[1], ROW, tab, config_path)
    receive['initialize'] = INSTALL_HOOK % json.dumps(config_path)
    flows.append(receive)
    row = 0
    for index, broker in enumerate(brokers):
        for topic in subscriptions:
            row += 1
            flows.append({
                'id': node_id('mqtt in%s %s' % (_suffix(index), topic)), 'type': 'mqtt in', 'z': tab,
                'name': 'PLC events %s' % topic if index == 0 else 'PLC events %s (%s)' % (topic, broker['host']),
                # buffer: the exact bytes, so the hook's result is found again by its digest
                'topic': topic, 'qos': str(qos), 'datatype': 'buffer', 'broker': ids['broker'][index], 'nl': False,
                'rap': True, 'rh': 0, 'inputs': 0, 'x': COLUMNS[0], 'y': ROW * row, 'wires': [[ids['receive']]],
            })
    last_row = ROW * (row + 1)
    flows.extend([
        _function('correlate', 'correlate: trigger, Frigate event, clip', CORRELATE, 1,
                  [[ids['outbox']]], COLUMNS[2], ROW, tab, config_path),
        _function('outbox', 'record: durable outbox', OUTBOX, 1,
                  [[ids['drain']]], COLUMNS[3], ROW, tab, config_path),
        _function('drain', 'drain: InfluxDB, then ack', DRAIN, 2,
                  [list(ids['ack out']), list(ids['dead letter out'])], COLUMNS[3], last_row + ROW, tab, config_path),
        _function('resume', 'resume: journal after a restart', RESUME, 1,
                  [[ids['correlate']]], COLUMNS[1], last_row + 2 * ROW, tab, config_path),
        {
            'id': ids['drain timer'], 'type': 'inject', 'z': tab, 'name': 'drain every second',
            'props': [{'p': 'payload'}], 'repeat': '1', 'crontab': '', 'once': True, 'onceDelay': '1',
            'topic': '', 'payload': '', 'payloadType': 'date', 'x': COLUMNS[2], 'y': last_row + ROW,
            'wires': [[ids['drain']]],
        },
        {
            'id': ids['resume at start'], 'type': 'inject', 'z': tab, 'name': 'at start',
            'props': [{'p': 'payload'}], 'repeat': '', 'crontab': '', 'once': True, 'onceDelay': '0.5',
            'topic': '', 'payload': '', 'payloadType': 'date', 'x': COLUMNS[0], 'y': last_row + 2 * ROW,
            'wires': [[ids['resume']]],
        },
    ])
    for index, broker in enumerate(brokers):
        where = '' if index == 0 else ' (%s)' % broker['host']
        flows.extend([
            {
                'id': ids['ack out'][index], 'type': 'mqtt out', 'z': tab, 'name': 'acknowledgements' + where,
                'topic': '', 'qos': '1', 'retain': 'false', 'respTopic': '', 'contentType': '', 'userProps': '',
                'correl': '', 'expiry': '', 'broker': ids['broker'][index], 'x': COLUMNS[4],
                'y': last_row + ROW * (index + 1), 'wires': [],
            },
            {
                'id': ids['dead letter out'][index], 'type': 'mqtt out', 'z': tab, 'name': 'dead letters' + where,
                'topic': '', 'qos': '1', 'retain': 'false', 'respTopic': '', 'contentType': '', 'userProps': '',
                'correl': '', 'expiry': '', 'broker': ids['broker'][index], 'x': COLUMNS[4], 'y': ROW * (index + 1),
                'wires': [],
            },
        ])
    credentials = dict((ids['broker'][index], {'user': broker.get('user') or '', 'password': MQTT_PASSWORD_REFERENCE})
                       for index, broker in enumerate(brokers))
    return {'flows': flows, 'credentials': credentials}


class FilterModule(object):
    """Node-RED correlation flow filter."""

    def filters(self):
        return {'nodered_correlation_flow': nodered_correlation_flow}
