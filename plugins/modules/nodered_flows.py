#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: nodered_flows
short_description: Deploy the complete flow configuration of a Node-RED runtime through its admin API
version_added: 0.4.0
description:
  - "Keeps the flows of one Node-RED runtime exactly as declared in O(flows), through the admin HTTP API
    (C(GET /flows) and C(POST /flows) with C(Node-RED-API-Version: v2))."
  - The deployed flows are read first and compared with O(flows) as a set of nodes keyed by their C(id). The order
    of the nodes does not matter; every other property of a node does (the order inside a property, such as
    C(wires), matters too). Numbers compare as Node-RED's JavaScript holds them, as doubles (V(1) equals V(1.0),
    an integer beyond 2**53 equals its rounded value); booleans never equal numbers.
  - A node's C(credentials) key is never compared, because Node-RED never returns it. No property is ignored
    otherwise; Node-RED 4.1.15 stores a deployed node as it was sent and returns it unchanged (unknown properties,
    groups, function nodes with C(libs), C(global-config), long and non-ASCII text were checked, also after a
    restart), and the module re-reads after a deployment and warns if that ever stops being true.
  - Nodes deployed that are not in O(flows) (for example added in the editor) are removed, and nodes changed in the
    editor are changed back.
  - Credentials are write-only (Node-RED never returns them). The module keeps a keyed fingerprint of each node's
    credentials in the node itself, in the property C(ming_credentials_hmac) (C(hmac-sha256:) and the hex HMAC-SHA256
    of the node id and the canonical JSON of its credentials, keyed with O(token)); Node-RED keeps unknown node
    properties. A changed credential changes the fingerprint, so the node is deployed again (and restarted, also
    with O(deployment_type=nodes)); unchanged credentials are not sent at all.
  - The deployment carries the C(rev) that was read. When someone else deployed in between (HTTP 409), the module
    reads again, compares again and retries once; a second conflict fails.
extends_documentation_fragment:
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Reads the deployed flows and reports what would change; sends no deployment.
  diff_mode:
    support: full
    details:
      - C(before) and C(after) are the node lists (sorted by id); credential values are never shown, the nodes
        whose credentials are sent show them as C(********).
  idempotent:
    support: full
    details:
      - A re-run with the same flows and credentials reports no change and sends no deployment.
      - Changing O(token) changes every fingerprint, so the next run deploys the credentials once again.
options:
  host:
    description:
      - Address (IP or DNS name) of the Node-RED runtime.
    type: str
    required: true
  port:
    description:
      - TCP port of Node-RED's editor and admin API (C(uiPort) in settings.js).
    type: int
    default: 1880
  use_tls:
    description:
      - Talk HTTPS instead of plain HTTP (settings.js with C(https)).
    type: bool
    default: false
  validate_certs:
    description:
      - Check Node-RED's TLS certificate when O(use_tls=true).
      - Set to V(false) only in a lab; give the plant CA in O(ca_path) instead.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed Node-RED's certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of Node-RED. A full deployment answers once the new flows are saved.
    type: float
    default: 10
  retries:
    description:
      - How often a read is retried after a network error or HTTP 429/503, with exponential back-off
        (0.5 s, 1 s, 2 s, ...). A deployment is sent once (a conflict is handled as described above).
    type: int
    default: 2
  token:
    description:
      - "The service token, sent as C(Authorization: Bearer <token>); C(adminAuth.tokens) in Node-RED's settings.js
        must accept it for a user with permissions V(*) (C(flows.read) and C(flows.write))."
      - Also the key of the credential fingerprints (see the description).
      - Never shown in output or error messages.
    type: str
    required: true
  flows:
    description:
      - The complete flow configuration to deploy, a list of Node-RED node objects (tabs, config nodes, nodes),
        as in a flow export, for example the C(flows) of the filter P(sensingcam.ming.nodered_correlation_flow#filter).
      - Every node needs a unique string C(id) and a C(type); the ids are yours and should be stable, so that a
        re-run compares node with node.
      - A node must not carry C(credentials) inline (O(flows) is logged and shown); give them in O(credentials).
      - The property C(ming_credentials_hmac) belongs to this module; a value given here is ignored.
    type: list
    elements: dict
    required: true
  credentials:
    description:
      - Credentials by node id, each a dict of that node's credential fields (for an C(mqtt-broker) node C(user) and
        C(password)); see the examples. Each entry is the complete set of credential fields of that node; Node-RED
        replaces the node's stored credentials with it. An empty dict clears them.
      - A node of O(flows) without an entry keeps the credentials Node-RED has stored for it.
      - Never shown in output, diffs or error messages.
    type: dict
    default: {}
  deployment_type:
    description:
      - How Node-RED applies a deployment (header C(Node-RED-Deployment-Type)).
      - V(full) stops every node and starts the new configuration; V(flows) restarts only the flows (tabs) with a
        changed node; V(nodes) restarts only the changed nodes.
    type: str
    choices: [full, flows, nodes]
    default: full
notes:
  - The admin API is HTTP; run this module with C(delegate_to=localhost) or on any host that can reach Node-RED.
  - Credentials changed in the editor while the fingerprint was kept are not detected; change O(credentials) (or
    O(token)) to deploy them again.
  - Node-RED encrypts the stored credentials (C(flows_cred.json)) with C(credentialSecret); the flow file holds
    only the fingerprint.
  - Node-RED that lost its stored credentials (a changed C(credentialSecret) makes them undecryptable) still holds
    the fingerprints, so the module sees no change; keep C(credentialSecret), or change O(token) to deploy every
    credential again.
  - Every value in O(credentials), user names included, is treated as a secret, so Ansible masks it wherever it
    appears in the output; a node id or name that contains such a value shows up as C(********) too.
seealso:
  - name: Node-RED admin API, POST /flows
    description: The deployment request this module sends.
    link: https://nodered.org/docs/api/admin/methods/post/flows/
  - name: Securing Node-RED
    description: adminAuth and the tokens function that accepts the service token.
    link: https://nodered.org/docs/user-guide/runtime/securing-node-red
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Deploy the correlation flow generated from the inventory
  vars:
    correlation: "{{ nodered_pipeline | sensingcam.ming.nodered_correlation_flow }}"
  sensingcam.ming.nodered_flows:
    host: nodered.plant.example
    port: 1880
    use_tls: true
    ca_path: /etc/ming/ca.crt
    token: "{{ nodered_service_token }}"
    flows: "{{ correlation.flows }}"
    credentials: "{{ correlation.credentials }}"
  delegate_to: localhost

- name: A small flow with an MQTT broker node and its login
  sensingcam.ming.nodered_flows:
    host: 127.0.0.1
    token: "{{ nodered_service_token }}"
    deployment_type: nodes
    flows:
      - {id: tab-events, type: tab, label: PLC events}
      - {id: broker-plant, type: mqtt-broker, name: plant broker, broker: mosquitto, port: "8883", usetls: true}
      - {id: in-events, type: mqtt in, z: tab-events, topic: factory/line/+/event, qos: "1", broker: broker-plant,
         datatype: json, wires: [[]]}
    credentials:
      broker-plant:
        user: nodered
        password: "{{ vault_mqtt_nodered_password }}"
  delegate_to: localhost
'''

RETURN = r'''
rev:
  description: The revision of the deployed flows after the run (Node-RED's C(rev); unchanged in check mode).
  returned: always
  type: str
  sample: 06174408761c4fab249c5fadb190610201e6cddaeec0d7afa659d536f83b195b
nodes_added:
  description: Ids of the nodes of O(flows) that were not deployed (sorted).
  returned: always
  type: list
  elements: str
  sample: [in-events]
nodes_changed:
  description: Ids of the deployed nodes that differ from O(flows), including those whose credentials change (sorted).
  returned: always
  type: list
  elements: str
  sample: [broker-plant]
nodes_removed:
  description: Ids of the deployed nodes that are not in O(flows) and are removed (sorted).
  returned: always
  type: list
  elements: str
  sample: [old-debug]
credentials_changed:
  description: Ids of the nodes whose credentials are sent, because they are new or differ (sorted; never values).
  returned: always
  type: list
  elements: str
  sample: [broker-plant]
'''

import hashlib  # noqa: E402
import hmac  # noqa: E402
import json  # noqa: E402

from ansible.module_utils.common.text.converters import to_bytes  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils._api import MASK  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.nodered import (  # noqa: E402
    DEPLOYMENT_TYPES,
    NodeRedError,
    NodeRedModule,
)

FINGERPRINT_KEY = 'ming_credentials_hmac'
FINGERPRINT_PREFIX = 'hmac-sha256:'
# What the HMAC is computed over starts with this, so the fingerprint cannot be mistaken for any other HMAC keyed
# with the token.
FINGERPRINT_CONTEXT = b'sensingcam.ming.nodered_flows credentials v1\x00'
# Properties left out of the comparison: Node-RED never returns a node's credentials.
NOT_COMPARED = ('credentials',)


def canonical_json(value):
    """One text for one JSON value: keys sorted, no spaces, UTF-8."""
    return json.dumps(value, sort_keys=True, separators=(',', ':'), ensure_ascii=False)


def fingerprint(key, node_id, credentials):
    """The keyed fingerprint of one node's credentials, as kept in the node (never a plain hash of a secret)."""
    message = FINGERPRINT_CONTEXT + to_bytes(node_id) + b'\x00' + to_bytes(canonical_json(credentials))
    return FINGERPRINT_PREFIX + hmac.new(to_bytes(key), message, hashlib.sha256).hexdigest()


def same_json(one, other):
    """JSON equality as Node-RED keeps JSON: dict keys in any order, lists in order, numbers as IEEE doubles (1 ==
    1.0, and an integer beyond 2**53 equals its rounded double), but True != 1 and '1' != 1."""
    if isinstance(one, bool) or isinstance(other, bool):
        return isinstance(one, bool) and isinstance(other, bool) and one == other
    if isinstance(one, (int, float)) and isinstance(other, (int, float)):
        try:
            return float(one) == float(other)  # as JavaScript holds them: integers above 2**53 get rounded
        except OverflowError:
            return one == other
    if isinstance(one, dict) and isinstance(other, dict):
        return set(one) == set(other) and all(same_json(one[key], other[key]) for key in one)
    if isinstance(one, (list, tuple)) and isinstance(other, (list, tuple)):
        return len(one) == len(other) and all(same_json(one[i], other[i]) for i in range(len(one)))
    if isinstance(one, str) and isinstance(other, str):
        return one == other
    return one is None and other is None


def compared(node):
    """The part of a node that is compared."""
    return dict((key, value) for key, value in node.items() if key not in NOT_COMPARED)


def by_id(nodes):
    """``{id: node}`` of deployed nodes; a node without a string id gets a key of its own so it counts as removed."""
    keyed = {}
    for index, node in enumerate(nodes):
        if not isinstance(node, dict):
            continue
        node_id = node.get('id')
        keyed[node_id if isinstance(node_id, str) and node_id else '(node without id, position %d)' % index] = node
    return keyed


def differences(wanted, current):
    """``(added, removed, changed)`` node ids (each sorted) between the ``wanted`` nodes and ``current`` by id."""
    wanted = dict((node['id'], node) for node in wanted)
    added = sorted(node_id for node_id in wanted if node_id not in current)
    removed = sorted(node_id for node_id in current if node_id not in wanted)
    changed = sorted(node_id for node_id in wanted if node_id in current
                     and not same_json(compared(wanted[node_id]), compared(current[node_id])))
    return added, removed, changed


class Plan:
    """What a deployment of the wanted flows on top of the deployed ones changes."""

    def __init__(self, deploy, current, credentials, key):
        current_nodes = by_id(current)
        self.current = current_nodes
        self.deploy = []
        self.credentials = {}
        for node in deploy:
            node = dict(node)
            node.pop(FINGERPRINT_KEY, None)
            before = current_nodes.get(node['id']) or {}
            if node['id'] in credentials:
                node[FINGERPRINT_KEY] = fingerprint(key, node['id'], credentials[node['id']])
                if before.get(FINGERPRINT_KEY) != node[FINGERPRINT_KEY]:
                    self.credentials[node['id']] = credentials[node['id']]
            elif FINGERPRINT_KEY in before:
                node[FINGERPRINT_KEY] = before[FINGERPRINT_KEY]
            self.deploy.append(node)
        self.added, self.removed, self.changed_nodes = differences(self.deploy, current_nodes)

    @property
    def changed(self):
        return bool(self.added or self.removed or self.changed_nodes)

    def before(self):
        return [compared(self.current[node_id]) for node_id in sorted(self.current)]

    def after(self):
        """The nodes as deployed, sorted by id; the nodes whose credentials are sent show them masked."""
        shown = []
        for node in sorted(self.deploy, key=lambda n: n['id']):
            node = dict(node)
            if node['id'] in self.credentials:
                node['credentials'] = dict((field, MASK) for field in sorted(self.credentials[node['id']]))
            shown.append(node)
        return shown


class NodeRedFlows(NodeRedModule):
    argument_spec = dict(
        flows=dict(type='list', elements='dict', required=True),
        credentials=dict(type='dict', no_log=True, default={}),
        deployment_type=dict(type='str', choices=list(DEPLOYMENT_TYPES), default='full'),
    )

    def wanted_flows(self):
        """The nodes of ``flows``, checked before any request."""
        seen = {}
        for index, node in enumerate(self.params['flows']):
            node_id = node.get('id')
            if not isinstance(node_id, str) or not node_id.strip():
                self.fail('flows[%d] has no `id`: every node needs a unique, stable string id (it is how a re-run '
                          'finds the node again).' % index)
            name = "flows[%d] (id '%s')" % (index, node_id)
            if node_id in seen:
                self.fail("flows has the node id '%s' twice (flows[%d] and flows[%d]): node ids must be unique."
                          % (node_id, seen[node_id], index))
            seen[node_id] = index
            if not isinstance(node.get('type'), str) or not node['type']:
                self.fail('%s has no `type`: give the Node-RED node type, for example tab, mqtt-broker or '
                          'function.' % name)
            if 'credentials' in node:
                self.fail("%s carries `credentials` inline; flows is logged and shown, so give them in the "
                          "`credentials` option under '%s' instead." % (name, node_id))
        return self.params['flows']

    def wanted_credentials(self, flows):
        ids = set(node['id'] for node in flows)
        credentials = self.params['credentials'] or {}
        for node_id in sorted(credentials):
            if node_id not in ids:
                self.fail("credentials has an entry for the node '%s', which is not in flows: remove the entry or add "
                          'the node.' % node_id)
            if not isinstance(credentials[node_id], dict):
                self.fail("credentials['%s'] must be a dict of the node's credential fields (for example user and "
                          'password); {} clears them.' % node_id)
        return credentials

    def plan(self, flows, credentials, current):
        return Plan(flows, current, credentials, self.params['token'])

    def deploy(self, rev, plan):
        return self.client.post_flows(rev, plan.deploy, plan.credentials, self.params['deployment_type'])

    def execute(self):
        flows = self.wanted_flows()
        credentials = self.wanted_credentials(flows)
        rev, current = self.client.get_flows()
        plan = self.plan(flows, credentials, current)
        if plan.changed and not self.check_mode:
            try:
                rev = self.deploy(rev, plan)
            except NodeRedError as exc:
                if exc.kind != 'conflict':
                    raise
                rev, current = self.client.get_flows()
                plan = self.plan(flows, credentials, current)
                if plan.changed:
                    try:
                        rev = self.deploy(rev, plan)
                    except NodeRedError as again:
                        if again.kind != 'conflict':
                            raise
                        self.fail('Node-RED at %s refused the deployment twice with HTTP 409 (version mismatch): '
                                  'someone else (the editor or another run) deployed flows between our read and our '
                                  'deployment, twice in a row. Nothing of this run was deployed; run it again once '
                                  'the other deployment is done.' % self.client.base_url)
            if plan.changed:
                rev = self.verify(plan, rev)
        self.result.update(changed=plan.changed, rev=rev,
                           nodes_added=plan.added, nodes_changed=plan.changed_nodes, nodes_removed=plan.removed,
                           credentials_changed=sorted(plan.credentials))
        if self.diff_mode:
            self.result['diff'] = {'before': {'flows': plan.before()}, 'after': {'flows': plan.after()}}
        self.exit()

    def verify(self, plan, rev):
        """Read the flows back; warn when Node-RED reports other nodes than were deployed. Returns the rev."""
        read_rev, deployed = self.client.get_flows()
        differ = sum(differences(plan.deploy, by_id(deployed)), [])
        if differ:
            self.warn('Node-RED accepted the deployment but reports other content for the nodes %s; it may have '
                      'added or dropped properties, so the next run would deploy again.' % ', '.join(sorted(differ)))
        return read_rev or rev


def main():
    NodeRedFlows().run()


if __name__ == '__main__':
    main()
