# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Turn the broker's client model (``mosquitto_clients``) into a least-privilege Mosquitto 2 ACL file.

Documentation: the sidecar files ``mosquitto_acl.yml`` and ``mosquitto_client_acl_rules.yml``.

How Mosquitto 2.0 evaluates the ACL (checked against the real 2.0.11 broker, see
tests/integration/broker/test_acl_enforced.py), and why the PLC rules look the way they do:

- A client's own ``topic`` lines are tried first, ``deny`` lines before all others, then the global ``pattern``
  lines; the first matching line that grants the requested access wins; no match means denied.
- A filter ending in ``/#`` also matches its parent and every deeper level, so ``write factory/line/line1/#``
  would let a PLC publish its own acknowledgement ``factory/line/line1/event/ack``.
- ``deny`` is not write-only: a matching ``deny`` refuses reads too, so ``deny .../event/ack`` would also stop
  the PLC from receiving the acknowledgement it must read.
- Therefore a PLC gets ``write factory/line/<line>/+`` (every topic one level under its line: ``event``,
  ``status``, ...) and ``read factory/line/<line>/event/ack``; the acknowledgement, two levels down, stays
  write-protected. Deeper topics a plant needs are added with the client's ``write`` list, which may not cover
  the acknowledgement topic.
- ``pattern`` lines apply to every client wherever they stand, so the bridge connection-state topic is granted to
  bridge users only, as a ``topic`` line in their own block: ``$SYS/broker/connection/<name>/state``. The role's
  listeners set ``use_username_as_clientid true``, so a bridge's client id is its user name, and the plant side's
  ``remote_clientid`` defaults to its ``remote_username``.

``mosquitto_control_characters`` lists the places in a nested value that hold a control character (a line break,
a tab, NUL, ...): Mosquitto reads its files line by line, so such a value would add directives of its own.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError

DEFAULT_TOPIC_ROOTS = {
    'plc': 'factory/line',
    'frigate': 'frigate',
    'health': 'ming/health',
    'dead_letter': 'factory/dead-letter',
    'camera': 'sensingcam',
    'bridge': 'ming/bridge',
}
ROLES = ('bridge', 'camera', 'frigate', 'health', 'nodered', 'plc')
ROLES_NEEDING_LINE = ('plc',)
CLIENT_KEYS = ('name', 'role', 'line', 'topics', 'read', 'write', 'readwrite', 'password', 'description')
ACCESS = ('read', 'write', 'readwrite')
BRIDGE_STATE_TOPIC = '$SYS/broker/connection/%s/state'
FORBIDDEN_IN_NAMES = re.compile(r'[\s#+/:\x00-\x1f\x7f]')
CONTROL_CHARACTERS = re.compile(r'[\x00-\x1f\x7f]')


def _fail(message):
    raise AnsibleFilterError(message)


def _topic_roots(topic_roots):
    if topic_roots is None:
        topic_roots = {}
    if not isinstance(topic_roots, dict):
        _fail('mosquitto_topic_roots must be a dict such as {plc: factory/line, frigate: frigate}, not %s.'
              % type(topic_roots).__name__)
    unknown = sorted(set(topic_roots) - set(DEFAULT_TOPIC_ROOTS))
    if unknown:
        _fail('mosquitto_topic_roots has unknown key(s) %s; valid keys: %s.'
              % (', '.join(map(str, unknown)), ', '.join(sorted(DEFAULT_TOPIC_ROOTS))))
    roots = dict(DEFAULT_TOPIC_ROOTS)
    for key, value in topic_roots.items():
        if value is None:
            continue
        if (not isinstance(value, str) or not value or value.startswith('/') or value.endswith('/')
                or re.search(r'[\s#+]', value)):
            _fail("mosquitto_topic_roots.%s is %r; set a topic prefix without wildcards, spaces or a leading or "
                  "trailing '/', for example %s." % (key, value, DEFAULT_TOPIC_ROOTS[key]))
        roots[key] = value
    return roots


def _check_filter(where, topic):
    """Fail unless ``topic`` is a valid MQTT topic filter Mosquitto accepts in an ACL line."""
    if not isinstance(topic, str) or not topic.strip() or topic != topic.strip():
        _fail('%s: %r is not a topic filter; give a non-empty topic without surrounding spaces.' % (where, topic))
    if CONTROL_CHARACTERS.search(topic):
        _fail('%s: a topic contains a control character (line break, tab, NUL, ...); remove it.' % where)
    levels = topic.split('/')
    for index, level in enumerate(levels):
        if '#' in level and (level != '#' or index != len(levels) - 1):
            _fail("%s: '%s' uses '#' other than as the whole last level." % (where, topic))
        if '+' in level and level != '+':
            _fail("%s: '%s' uses '+' other than as a whole level." % (where, topic))


def topic_matches(topic_filter, topic):
    """MQTT matching of a concrete topic against a filter, as Mosquitto does it (``a/#`` matches ``a``)."""
    filter_levels = topic_filter.split('/')
    topic_levels = topic.split('/')
    if topic.startswith('$') != topic_filter.startswith('$'):
        return False
    for index, level in enumerate(filter_levels):
        if level == '#':
            return True
        if index >= len(topic_levels):
            return False
        if level != '+' and level != topic_levels[index]:
            return False
    return len(filter_levels) == len(topic_levels)


def _line(where, client):
    line = client.get('line')
    if line is None or line == '':
        return None
    if isinstance(line, bool) or not isinstance(line, (str, int)):
        _fail('%s: line must be a line name such as line1, not %r.' % (where, line))
    line = str(line)
    if FORBIDDEN_IN_NAMES.search(line):
        _fail("%s: line %r contains a space, a control character, '/', ':', '#' or '+'; use the line's name as "
              "it appears in the topic, for example line1." % (where, line))
    return line


def _check_client(client, index=None):
    where = 'mosquitto_clients[%s]' % ('?' if index is None else index)
    if not isinstance(client, dict):
        _fail('%s must be a dict with name and role, for example {name: plc-line1, role: plc, line: line1}, '
              'not %s.' % (where, type(client).__name__))
    name = client.get('name')
    if not isinstance(name, str) or not name:
        _fail('%s has no name; give every client a unique user name, for example {name: plc-line1, role: plc, '
              'line: line1}.' % where)
    where = "%s (name '%s')" % (where, name)
    if FORBIDDEN_IN_NAMES.search(name):
        _fail("%s: the name contains white space, a control character or one of '#', '+', '/', ':'; those break "
              "topic patterns, the ACL or the password file. Use letters, digits, '-', '_' and '.'." % where)
    unknown = sorted(set(client) - set(CLIENT_KEYS))
    if unknown:
        _fail('%s has unknown key(s) %s; valid keys: %s.' % (where, ', '.join(map(str, unknown)),
                                                             ', '.join(CLIENT_KEYS)))
    role = client.get('role')
    if role not in ROLES:
        _fail("%s: unknown role %r; set role to one of: %s." % (where, role, ', '.join(ROLES)))
    line = _line(where, client)
    if role in ROLES_NEEDING_LINE and line is None:
        _fail("%s: a %s client needs 'line', the production line whose topics it may publish, for example "
              "{name: %s, role: %s, line: line1}." % (where, role, name, role))
    for key in ('topics',) + ACCESS:
        value = client.get(key)
        if value is None:
            continue
        if key == 'topics' and role != 'bridge':
            _fail("%s: 'topics' is only for bridge clients; use read, write or readwrite for extra topics."
                  % where)
        if isinstance(value, str) or not isinstance(value, list):
            _fail('%s: %s must be a list of topic filters.' % (where, key))
        for topic in value:
            _check_filter('%s %s' % (where, key), topic)
    return where, name, role, line


def _client_rules(client, roots, index=None):
    where, name, role, line = _check_client(client, index)
    rules = []

    def add(access, topic):
        # Every rule is a topic line of the client's own block; 'pattern' stays in the result for its readers.
        rules.append({'access': access, 'topic': topic, 'pattern': False})

    if role == 'plc':
        ack = '%s/%s/event/ack' % (roots['plc'], line)
        add('write', '%s/%s/+' % (roots['plc'], line))
        add('read', ack)
        for key in ('write', 'readwrite'):
            for topic in client.get(key) or []:
                if topic_matches(topic, ack) or topic_matches(topic, ack + '/x'):
                    _fail("%s: %s topic '%s' covers the acknowledgement topic %s, which only Node-RED may "
                          "publish; list narrower topics." % (where, key, topic, ack))
    elif role == 'frigate':
        add('readwrite', '%s/#' % roots['frigate'])
    elif role == 'nodered':
        add('read', '%s/+/event' % roots['plc'])
        add('read', '%s/#' % roots['plc'])
        add('read', '%s/#' % roots['frigate'])
        add('write', '%s/+/event/ack' % roots['plc'])
        add('write', '%s/#' % roots['dead_letter'])
    elif role == 'health':
        add('readwrite', '%s/%s/#' % (roots['health'], name))
        add('read', '$SYS/#')
    elif role == 'camera':
        add('write', '%s/%s/#' % (roots['camera'], name))
    elif role == 'bridge':
        for topic in client.get('topics') or ['#']:
            add('readwrite', topic)
        # Its own connection state only: with use_username_as_clientid its client id is its user name.
        add('write', BRIDGE_STATE_TOPIC % name)
    for access in ACCESS:
        for topic in client.get(access) or []:
            add(access, topic)
    return rules


def mosquitto_client_acl_rules(client, topic_roots=None):
    """The ACL rules of one client: a list of {access, topic, pattern} in evaluation order."""
    return _client_rules(client, _topic_roots(topic_roots))


def mosquitto_acl(clients, topic_roots=None):
    """The complete acl_file text for every client in ``mosquitto_clients``."""
    if clients is None:
        clients = []
    if not isinstance(clients, list):
        _fail('mosquitto_clients must be a list of clients such as [{name: plc-line1, role: plc, line: line1}], '
              'not %s.' % type(clients).__name__)
    roots = _topic_roots(topic_roots)
    seen = {}
    per_client = []
    for index, client in enumerate(clients):
        rules = _client_rules(client, roots, index)
        name = client['name']
        if name in seen:
            _fail("mosquitto_clients[%d] and mosquitto_clients[%d] are both named '%s'; every client needs its "
                  "own name (it is its MQTT user name)." % (seen[name], index, name))
        seen[name] = index
        per_client.append((client, rules))

    lines = [
        '# Mosquitto ACL generated by the sensingcam.ming.mosquitto_acl filter from mosquitto_clients.',
        '# Change the inventory, not this file. Everything not granted below is denied; there is no',
        '# anonymous section, so clients without a user name get nothing.',
    ]
    for client, rules in per_client:
        detail = 'role %s' % client['role']
        line = _line('', client)
        if line is not None:
            detail += ', line %s' % line
        lines += ['', '# %s: %s' % (client['name'], detail), 'user %s' % client['name']]
        lines += ['topic %s %s' % (rule['access'], rule['topic']) for rule in rules]
    return '\n'.join(lines) + '\n'


def mosquitto_control_characters(value, name=''):
    """Where ``value`` (nested dicts and lists) holds a string with a control character: a list of paths such as
    ``mosquitto_bridges[0].remote_password``, never the values themselves (they may be secrets)."""
    found = []

    def walk(item, path):
        if isinstance(item, dict):
            for key, child in item.items():
                where = '%s.%s' % (path, key) if path else str(key)
                walk(key, where + ' (the key)')
                walk(child, where)
        elif isinstance(item, (list, tuple)):
            for index, child in enumerate(item):
                walk(child, '%s[%d]' % (path, index))
        elif isinstance(item, str) and CONTROL_CHARACTERS.search(item):
            found.append(path or '(the value)')

    walk(value, name)
    return found


class FilterModule(object):
    """Mosquitto ACL filters."""

    def filters(self):
        return {
            'mosquitto_acl': mosquitto_acl,
            'mosquitto_client_acl_rules': mosquitto_client_acl_rules,
            'mosquitto_control_characters': mosquitto_control_characters,
        }
