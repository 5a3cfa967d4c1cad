# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Derive the edge-to-central bridge of a fleet inventory, for both ends, from one place.

An edge broker (``ming_site_role: edge``) bridges its plant topics to every central broker of its
``ming_central_brokers``; a central broker needs, for each edge broker that bridges to it, a client with role
``bridge`` whose name and password are the ones the edge logs in with. Both ends call this filter with the same
``hostvars``, so the bridge identity (``bridge-<ming_plant>-<short inventory name>``), the bridged topics and the
password cannot drift apart between the two.

Documentation: the sidecar file ``mosquitto_central_bridge.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

# The role's defaults (roles/mosquitto/defaults/main.yml; tests/unit/plugins/filter/test_mosquitto_central_bridge.py
# checks they agree): another host's role defaults are not in hostvars, only its inventory variables.
DEFAULT_TOPICS = ({'pattern': 'factory/#', 'direction': 'out', 'qos': 1},)
DEFAULT_TLS_PORT = 8883
# Where plants appear on central (docs/broker.md, mosquitto_topic_roots.bridge).
DEFAULT_BRIDGE_ROOT = 'ming/bridge'
_EMPTY = (None, '')


def _get(variables, key, default=None):
    """A host's value of ``key`` (hostvars template it on access), ``default`` when it does not set it."""
    try:
        if key not in variables:
            return default
        value = variables[key]
    except (KeyError, TypeError):
        return default
    return default if value is None else value


def _bool(value):
    if isinstance(value, bool):
        return value
    return to_text(value).strip().lower() in ('1', 'true', 'yes', 'on', 'y')


def _short(hostname):
    return to_text(hostname).split('.')[0]


def bridge_username(plant, hostname):
    """The edge broker's identity on central: its user name and remote client id."""
    return 'bridge-%s-%s' % (to_text(plant), _short(hostname))


def _address(host, variables):
    """``host:port`` of a central broker's TLS listener, by the address edges reach it on."""
    address = to_text(_get(variables, 'ming_broker_address', '')).split('/')[0]
    address = address or to_text(_get(variables, 'ansible_host', '')) or to_text(host)
    port = _get(variables, 'mosquitto_tls_port', DEFAULT_TLS_PORT)
    return '%s:%s' % ('[%s]' % address if ':' in address else address, port)


def _topics(variables, own=None):
    """The bridged topics; one without its own ``remote_prefix`` lands under ``ming/bridge/<ming_plant>/`` on
    central, so plants stay apart there and each plant's bridge user may write only its own plant's topics."""
    topics = own if own is not None else _get(variables, 'mosquitto_central_bridge_topics', None)
    plant = to_text(_get(variables, 'ming_plant', ''))
    roots = _get(variables, 'mosquitto_topic_roots', None)
    root = to_text(roots.get('bridge') or DEFAULT_BRIDGE_ROOT) if isinstance(roots, Mapping) else DEFAULT_BRIDGE_ROOT
    prefix = '%s/%s/' % (root.rstrip('/'), plant) if plant else ''
    result = []
    for topic in (topics if topics is not None else DEFAULT_TOPICS):
        topic = dict(topic)
        if topic.get('remote_prefix') is None:
            topic['remote_prefix'] = prefix
        result.append(topic)
    return result


def _acl_topics(topics):
    """The topics the bridge uses on the central broker: the remote prefix and the pattern."""
    return sorted({to_text(topic.get('remote_prefix') or '') + to_text(topic.get('pattern', ''))
                   for topic in topics if isinstance(topic, Mapping)})


def _enabled(variables):
    return _bool(_get(variables, 'mosquitto_central_bridge_enabled',
                      to_text(_get(variables, 'ming_site_role', '')) == 'edge'))


def _central_list(hostname, variables, hostvars):
    """The edge's central brokers; (hosts, error)."""
    centrals = _get(variables, 'ming_central_brokers', None)
    plant = _get(variables, 'ming_plant', '')
    if centrals in _EMPTY or isinstance(centrals, (str, Mapping)) or not hasattr(centrals, '__iter__') \
            or len(list(centrals)) == 0:
        return [], ("ming_central_brokers is not set (or not a list) for edge broker %s (plant %s): its bridge to "
                    "central needs the inventory names of the central site's brokers. Set ming_central_brokers in "
                    "the group_vars of ming_plants, e.g. [central-broker-1], and put those hosts in the inventory "
                    "(group ming_central), or set mosquitto_central_bridge_enabled: false for this host."
                    % (hostname, plant or '?'))
    centrals = [to_text(host) for host in centrals]
    missing = [host for host in centrals if host not in hostvars]
    if missing:
        return [], ("ming_central_brokers of edge broker %s (plant %s) names %s, which the inventory does not "
                    "hold: add the central broker(s) to the inventory (group ming_central) or correct "
                    "ming_central_brokers." % (hostname, plant or '?', ', '.join(missing)))
    return centrals, None


def mosquitto_central_bridge(hostvars, groups, hostname, own=None):
    """What the broker ``hostname`` needs of the edge-to-central bridge.

    ``own``: the host's own role values (``enabled``, ``password``, ``topics``), which win over its hostvars.
    Returns ``{site_role, bridge, users, errors}``: ``bridge`` (edge) = ``{username, addresses, topics}`` or None;
    ``users`` (central) = one client with role bridge per edge broker that bridges to this host, password included.
    """
    if not isinstance(hostvars, Mapping):
        raise AnsibleFilterError('mosquitto_central_bridge: the input must be hostvars, not %s'
                                 % type(hostvars).__name__)
    own = dict(own or {})
    hostname = to_text(hostname)
    variables = hostvars.get(hostname, {})
    site_role = to_text(_get(variables, 'ming_site_role', ''))
    result = {'site_role': site_role, 'bridge': None, 'users': [], 'errors': []}
    errors = result['errors']

    enabled = _bool(own['enabled']) if own.get('enabled') not in _EMPTY else _enabled(variables)
    if site_role == 'edge' and enabled:
        plant = to_text(_get(variables, 'ming_plant', ''))
        if not plant:
            errors.append('ming_plant is not set for edge broker %s: the bridge identity on central is '
                          'bridge-<ming_plant>-<host>. Set ming_plant in the group_vars of its plant group.' % hostname)
        centrals, problem = _central_list(hostname, variables, hostvars)
        if problem:
            errors.append(problem)
        password = own['password'] if 'password' in own else _get(variables, 'mosquitto_central_bridge_password', '')
        if to_text(password) == '':
            errors.append('mosquitto_central_bridge_password is empty for edge broker %s (plant %s): its bridge '
                          'logs in to central with it, and the central brokers create the matching user from it. '
                          'Set it per edge broker in host_vars (vault-encrypted), e.g. '
                          'mosquitto_central_bridge_password: "{{ vault_bridge_password_%s }}".'
                          % (hostname, plant or '?', _short(hostname).replace('-', '_')))
        result['bridge'] = {
            'username': bridge_username(plant, hostname),
            'addresses': [_address(host, hostvars[host]) for host in centrals],
            'topics': _topics(variables, own.get('topics')),
        }

    if site_role == 'central':
        owners = {}
        for edge in sorted(set(to_text(host) for host in (groups or {}).get('ming_brokers', []))):
            if edge == hostname or edge not in hostvars:
                continue
            edge_variables = hostvars[edge]
            if to_text(_get(edge_variables, 'ming_site_role', '')) != 'edge' or not _enabled(edge_variables):
                continue
            centrals = _get(edge_variables, 'ming_central_brokers', None)
            if isinstance(centrals, (str, Mapping)) or not hasattr(centrals, '__iter__') \
                    or hostname not in [to_text(host) for host in centrals]:
                continue
            plant = to_text(_get(edge_variables, 'ming_plant', ''))
            name = bridge_username(plant, edge)
            if name in owners:
                errors.append('edge brokers %s and %s both bridge to %s as %s (bridge-<ming_plant>-<short inventory '
                              'name>): give them short inventory names that differ within the plant, or they would '
                              'keep taking each other\'s session on central.' % (owners[name], edge, hostname, name))
                continue
            owners[name] = edge
            password = _get(edge_variables, 'mosquitto_central_bridge_password', '')
            if to_text(password) == '':
                errors.append('mosquitto_central_bridge_password is empty for edge broker %s (plant %s): central '
                              'broker %s creates that edge\'s bridge user %s from it. Set it in the edge broker\'s '
                              'host_vars (vault-encrypted).' % (edge, plant or '?', hostname, name))
                continue
            result['users'].append({'name': name, 'role': 'bridge',
                                    'topics': _acl_topics(_topics(edge_variables)),
                                    'password': to_text(password)})
    return result


class FilterModule(object):
    def filters(self):
        return {'mosquitto_central_bridge': mosquitto_central_bridge}
