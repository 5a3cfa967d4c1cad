# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The fleet model of an inventory (plants, the central site, their hosts by function) and the roll-out order of
site.yml, both read from ``hostvars`` and ``groups`` alone, with every inconsistency listed at once.

Documentation: the sidecar files ``ming_fleet.yml`` and ``ming_fleet_rollout.yml``; the inventory model in
docs/fleet.md.

- A site group is ``ming_central`` or a group named ``plant_<name>`` (the plant groups are children of
  ``ming_plants``; the ``groups`` variable is flat, so the name is what tells a plant group from, say, a line group
  that spans plants). An inventory without any site group is one site: nothing of the fleet applies, except the
  broker pair checks when it has two or more brokers (inventories/example-plant).
- Pure Python: ``ipaddress`` for the VIP checks (``ansible.utils.ipaddr`` needs netaddr, which the controller lacks).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import ipaddress
import re
from collections.abc import Mapping

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text

FUNCTIONS = (('brokers', 'ming_brokers'), ('data', 'ming_data'), ('apps', 'ming_apps'), ('nvr', 'ming_nvr'),
             ('cameras', 'sensingcams'))
PLANTS_GROUP = 'ming_plants'
CENTRAL_GROUP = 'ming_central'
PLANT_GROUP_PREFIX = 'plant_'
SITE_ROLES = ('edge', 'central')
PLANT_NAME = re.compile(r'[a-z][a-z0-9-]{0,30}\Z')
SINGLE_SITE = 'site'
# Plays of site.yml that roll one host of a plant at a time (the rest roll a batch of plants at once).
ONE_HOST_AT_A_TIME = ('brokers', 'data')
_UNSET = (None, '')


def _get(variables, key):
    """A host's value of ``key`` (templated on access), or None when it does not set it."""
    try:
        if key not in variables:
            return None
        return variables[key]
    except (KeyError, TypeError, AnsibleError):
        return None


def _is_int(value):
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, str) and re.match(r'\s*\d+\s*\Z', value) is not None


def _names(hosts):
    return ', '.join(hosts)


class _Fleet(object):
    def __init__(self, hostvars, groups):
        self.hostvars = hostvars if isinstance(hostvars, Mapping) else {}
        self.groups = groups if isinstance(groups, Mapping) else {}
        self.errors = []
        self.cache = {}
        self.unnamed = set()

    def members(self, group):
        hosts = self.groups.get(group) or []
        return [to_text(host) for host in hosts]

    def var(self, host, key):
        # One look-up of a host's variables per host (Ansible builds them on each hostvars[host]), one templating per
        # variable.
        if host not in self.cache:
            try:
                variables = self.hostvars[host]
            except (KeyError, TypeError, AnsibleError):
                variables = {}
            self.cache[host] = (variables if isinstance(variables, Mapping) else {}, {})
        variables, values = self.cache[host]
        if key not in values:
            values[key] = _get(variables, key)
        return values[key]

    def error(self, message):
        self.errors.append(message)

    # -- sites -------------------------------------------------------------------------------------------------------
    def site_groups(self):
        """(plant groups, central group or None) as found in ``groups``."""
        plants = [name for name in self.groups if to_text(name).startswith(PLANT_GROUP_PREFIX)]
        central = CENTRAL_GROUP if self.members(CENTRAL_GROUP) else None
        return plants, central

    def build(self):
        plant_groups, central_group = self.site_groups()
        fleet = bool(plant_groups or central_group or self.members(PLANTS_GROUP))
        sites, site_of = {}, {}
        if not fleet:
            site = self.single_site()
            sites[site['name']] = site
            self.check_pair(site)
            return self.result(sites, None)
        self.check_membership(plant_groups, central_group)
        site_list = []
        for group in ([central_group] if central_group else []) + plant_groups:
            site = self.fleet_site(group, group == central_group)
            site_list.append(site)
            for host in self.members(group):
                site_of.setdefault(host, []).append(group)
        for host, in_groups in site_of.items():
            if len(in_groups) > 1:
                self.error('%s is in more than one site group (%s): a host belongs to exactly one plant or to '
                           '%s; remove it from all but one.' % (host, ', '.join(in_groups), CENTRAL_GROUP))
        for group in [group for _function, group in FUNCTIONS]:
            homeless = [host for host in self.members(group) if host not in site_of]
            if homeless:
                self.error('%s (in %s) %s in no site group: in a fleet every host is in exactly one plant group '
                           '(%s<name>, under %s) or in %s; add %s to one.'
                           % (_names(homeless), group, 'is' if len(homeless) == 1 else 'are', PLANT_GROUP_PREFIX,
                              PLANTS_GROUP, CENTRAL_GROUP, 'it' if len(homeless) == 1 else 'them'))
        self.check_names(site_list)
        for site in site_list:
            self.check_pair(site)
        self.check_router_ids(site_list)
        central = next((site for site in site_list if site['role'] == 'central'), None)
        for site in site_list:
            if site['role'] == 'edge':
                self.check_central_refs(site, central)
        for site in site_list:
            sites.setdefault(site['name'], site)
        return self.result(sites, central['name'] if central else None)

    def result(self, sites, central):
        public = {}
        for name, site in sites.items():
            public[name] = dict((key, value) for key, value in site.items() if key != 'name')
        return {'sites': public, 'central': central, 'errors': self.errors}

    def functional(self, hosts):
        site = {}
        for function, group in FUNCTIONS:
            members = self.members(group)
            site[function] = [host for host in members if hosts is None or host in hosts]
        return site

    def representative(self, site, hosts):
        """The host whose group variables speak for the site: its first non-camera host, else its first host."""
        for function in ('brokers', 'data', 'apps', 'nvr'):
            if site[function]:
                return site[function][0]
        return hosts[0] if hosts else None

    def single_site(self):
        site = self.functional(None)
        first = self.representative(site, self.members('all'))
        name = self.var(first, 'ming_plant') if first else None
        site.update(name=to_text(name) if name not in _UNSET else SINGLE_SITE, group='all', role=None)
        for host in [first] if first else []:
            role = self.var(host, 'ming_site_role')
            if role not in _UNSET:
                self.error('ming_site_role is %s on %s, but the inventory has no site group: set ming_site_role '
                           'only in a fleet (edge on %s, central on %s), or leave it unset for a single site.'
                           % (to_text(role), host, PLANTS_GROUP, CENTRAL_GROUP))
        self.site_vip(site)
        return site

    def fleet_site(self, group, is_central):
        hosts = self.members(group)
        site = self.functional(set(hosts))
        first = self.representative(site, hosts)
        expected = 'central' if is_central else 'edge'
        name = self.var(first, 'ming_plant') if first else None
        site.update(group=group, role=expected)
        if name in _UNSET:
            if is_central:
                name = 'central'
            else:
                self.error('ming_plant is not set for plant group %s (hosts: %s): set it as a group variable of %s, '
                           'the plant\'s name (lower case letters, digits and "-", for example %s).'
                           % (group, _names(hosts), group, group[len(PLANT_GROUP_PREFIX):] or 'north'))
                name = group
                self.unnamed.add(group)
        site['name'] = to_text(name)
        for function in ('brokers', 'data', 'apps', 'nvr'):
            for host in site[function]:
                role = self.var(host, 'ming_site_role')
                if role in _UNSET or role not in SITE_ROLES:
                    self.error('ming_site_role is %s on %s (in %s): it must be edge (group variable of %s) or '
                               'central (group variable of %s).'
                               % ('unset' if role in _UNSET else to_text(role), host, group, PLANTS_GROUP,
                                  CENTRAL_GROUP))
                elif role != expected:
                    self.error('ming_site_role is %s on %s, but %s is %s: set ming_site_role: %s for %s, or move '
                               'the host to the right site group.'
                               % (role, host, group, 'the central site' if is_central else 'a plant group',
                                  expected, group))
        self.site_vip(site)
        return site

    def check_membership(self, plant_groups, central_group):
        under_plants = set(self.members(PLANTS_GROUP))
        for group in plant_groups:
            outside = [host for host in self.members(group) if host not in under_plants]
            if outside:
                self.error('plant group %s is not under %s (hosts %s): make %s a child of %s.'
                           % (group, PLANTS_GROUP, _names(outside), group, PLANTS_GROUP))
        in_plants = set(host for group in plant_groups for host in self.members(group))
        loose = [host for host in self.members(PLANTS_GROUP) if host not in in_plants]
        if loose:
            self.error('%s %s in %s but in no plant group: put each plant\'s hosts in its own group %s<name> under '
                       '%s.' % (_names(loose), 'is' if len(loose) == 1 else 'are', PLANTS_GROUP, PLANT_GROUP_PREFIX,
                                PLANTS_GROUP))

    def check_names(self, sites):
        seen = {}
        for site in sites:
            name = site['name']
            if site['role'] == 'edge' and site['group'] not in self.unnamed and not PLANT_NAME.match(name):
                self.error('ming_plant of plant group %s is %r: use lower case letters, digits and "-", starting with '
                           'a letter, at most 31 characters (it names bridge users, credentials and the plant tag).'
                           % (site['group'], name))
            seen.setdefault(name.casefold(), []).append(site)
        for same in seen.values():
            if len(same) > 1:
                self.error('ming_plant %s is used by %s (hosts: %s): every site needs its own name (compared '
                           'without case); rename all but one.'
                           % (' / '.join(sorted(set(site['name'] for site in same))),
                              ', '.join(site['group'] for site in same),
                              _names([host for site in same for host in self.members(site['group'])])))

    # -- broker pair ---------------------------------------------------------------------------------------------------
    def site_vip(self, site):
        """The site's VIP and router id, read from its brokers (they must agree); None when unset."""
        for key, target in (('ming_broker_vip', 'vip'), ('keepalived_virtual_router_id', 'router_id')):
            values = {}
            for host in site['brokers']:
                value = self.var(host, key)
                if value not in _UNSET:
                    values.setdefault(to_text(value), []).append(host)
            site[target] = None
            if len(values) > 1:
                self.error('%s differs between the brokers of %s (%s): one value per site; set it as a group '
                           'variable of %s.' % (key, self.label(site), '; '.join(
                               '%s on %s' % (value, _names(hosts)) for value, hosts in values.items()),
                               site['group']))
            if values:
                value = next(iter(values))
                site[target] = int(value) if target == 'router_id' and _is_int(value) else value

    def label(self, site):
        return 'site %s' % site['name'] if site['group'] == 'all' else '%s (%s)' % (site['name'], site['group'])

    def check_pair(self, site):
        brokers = site['brokers']
        if len(brokers) < 2:
            return
        vip_text = site['vip']
        vip = None
        if vip_text in _UNSET:
            self.error('ming_broker_vip is not set for %s, which has %d brokers (%s): a broker pair needs a free '
                       'IPv4 address on the plant network that keepalived moves between them, for example '
                       'ming_broker_vip: 10.21.0.5 as a group variable of %s.'
                       % (self.label(site), len(brokers), _names(brokers), site['group']))
        else:
            try:
                vip = ipaddress.IPv4Address(to_text(vip_text).strip())
            except ValueError:
                self.error('ming_broker_vip of %s is %r, not an IPv4 address: give the plain address without '
                           'prefix, for example 10.21.0.5 (brokers: %s).'
                           % (self.label(site), vip_text, _names(brokers)))
        addresses = {}
        for host in brokers:
            value = self.var(host, 'ming_broker_address')
            if value in _UNSET:
                self.error('ming_broker_address is not set on %s, a broker of the pair of %s: give the host\'s own '
                           'address on the plant network with its prefix, for example 10.21.0.11/24.'
                           % (host, self.label(site)))
                continue
            try:
                if '/' not in to_text(value):
                    raise ValueError('no prefix')
                addresses[host] = ipaddress.IPv4Interface(to_text(value).strip())
            except ValueError:
                self.error('ming_broker_address of %s is %r: give an IPv4 address with its prefix, for example '
                           '10.21.0.11/24.' % (host, value))
        if vip is not None:
            outside = [host for host, address in addresses.items() if vip not in address.network]
            if outside:
                where = ', '.join('%s (ming_broker_address %s)' % (host, addresses[host]) for host in outside)
                subnets = ', '.join(sorted(set(to_text(addresses[host].network) for host in outside)))
                self.error('ming_broker_vip %s of %s is outside the subnet of %s: the VIP must be on the brokers\' '
                           'network; choose a free address in %s or fix ming_broker_address.'
                           % (vip, self.label(site), where, subnets))
            taken = [host for host in site['brokers'] + site['data'] + site['apps'] + site['nvr']
                     if (host in addresses and addresses[host].ip == vip)
                     or to_text(self.var(host, 'ansible_host') or '').strip() == to_text(vip)]
            if taken:
                self.error('ming_broker_vip %s of %s is the address of %s: the VIP must be a free address that no '
                           'host uses (ming_broker_address, ansible_host); choose another.'
                           % (vip, self.label(site), _names(sorted(set(taken), key=taken.index))))
        self.check_priorities(site)
        router_id = site['router_id']
        if router_id in _UNSET:
            self.error('keepalived_virtual_router_id is not set for %s (brokers %s): give each site\'s pair its own '
                       'VRRP router id 1..255 as a group variable of %s.'
                       % (self.label(site), _names(brokers), site['group']))
        elif not _is_int(router_id) or not 1 <= int(router_id) <= 255:
            self.error('keepalived_virtual_router_id of %s is %s: it must be an integer 1..255 (brokers %s).'
                       % (self.label(site), router_id, _names(brokers)))
            site['router_id'] = None

    def check_priorities(self, site):
        by_priority = {}
        for host in site['brokers']:
            value = self.var(host, 'keepalived_priority')
            if value in _UNSET:
                self.error('keepalived_priority is not set on %s, a broker of the pair of %s: give each broker of '
                           'the pair its own priority 1..254 (the highest answering broker holds the VIP).'
                           % (host, self.label(site)))
            elif not _is_int(value) or not 1 <= int(value) <= 254:
                self.error('keepalived_priority of %s is %s: it must be an integer 1..254.' % (host, value))
            else:
                by_priority.setdefault(int(value), []).append(host)
        for priority, hosts in sorted(by_priority.items()):
            if len(hosts) > 1:
                self.error('keepalived_priority %d is shared by %s (pair of %s): VRRP needs distinct priorities '
                           'within a site; give each broker its own (for example 150 and 100).'
                           % (priority, _names(hosts), self.label(site)))

    def check_router_ids(self, sites):
        by_id = {}
        for site in sites:
            if len(site['brokers']) >= 2 and site['router_id'] not in _UNSET:
                by_id.setdefault(int(site['router_id']), []).append(site)
        for router_id, same in sorted(by_id.items()):
            if len(same) > 1:
                self.error('keepalived_virtual_router_id %d is used by %s (brokers %s): every site\'s pair needs '
                           'its own id 1..255, or the pairs take each other\'s VIP on a shared network.'
                           % (router_id, ', '.join(self.label(site) for site in same),
                              _names([host for site in same for host in site['brokers']])))

    # -- edges and the central site ----------------------------------------------------------------------------------
    def check_central_refs(self, site, central):
        first = self.representative(site, self.members(site['group']))
        central_hosts = set(self.members(central['group'])) if central else set()
        everyone = set(self.members('all')) | set(self.hostvars)
        needs = (('ming_central_brokers', bool(site['brokers']), 'ming_brokers'),
                 ('ming_central_data', bool(site['data'] or site['apps']), 'ming_data'))
        for key, needed, function_group in needs:
            value = self.var(first, key) if first else None
            if value in _UNSET or value == []:
                if needed:
                    self.error('%s is not set for plant %s (%s): name the central site\'s %s host%s in %s, as a group '
                               'variable of %s.' % (key, site['name'], site['group'], function_group,
                                                    's (a list)' if key == 'ming_central_brokers' else '',
                                                    CENTRAL_GROUP, PLANTS_GROUP))
                continue
            if key == 'ming_central_brokers':
                if isinstance(value, (str, bytes)) or not hasattr(value, '__iter__'):
                    self.error('ming_central_brokers of plant %s is %r: give a list of inventory host names, for '
                               'example [mqtt-c1, mqtt-c2].' % (site['name'], value))
                    continue
                names = [to_text(name) for name in value]
            else:
                if not isinstance(value, str):
                    self.error('ming_central_data of plant %s is %r: give one inventory host name.'
                               % (site['name'], value))
                    continue
                names = [value]
            missing = [name for name in names if name not in everyone]
            if missing:
                self.error('%s of plant %s (%s) names %s, not in the inventory: add the central site (%s) to the '
                           'inventory or fix the name (the plant\'s hosts %s depend on it).'
                           % (key, site['name'], site['group'], _names(missing), CENTRAL_GROUP,
                              _names(self.members(site['group']))))
            elsewhere = [name for name in names if name in everyone and
                         (name not in central_hosts or name not in self.members(function_group))]
            if elsewhere:
                self.error('%s of plant %s (%s) names %s, which %s not in %s of the central site (%s): name the '
                           'central site\'s own hosts.'
                           % (key, site['name'], site['group'], _names(elsewhere),
                              'is' if len(elsewhere) == 1 else 'are', function_group, CENTRAL_GROUP))


def ming_fleet(hostvars, groups):
    """``{'sites': {...}, 'central': name or None, 'errors': [...]}`` of the inventory (sidecar ming_fleet.yml)."""
    return _Fleet(hostvars, groups).build()


def _batch_size(value, name, low, high, errors):
    if value in _UNSET:
        return None
    if not _is_int(value) or not low <= int(value) <= high:
        errors.append('%s is %s: it must be an integer %d..%d.' % (name, value, low, high))
        return None
    return int(value)


def ming_fleet_rollout(fleet, play_hosts, batch=1, max_fail_percentage=0):
    """The host order and ``serial`` list of each play of site.yml (sidecar ming_fleet_rollout.yml)."""
    errors = []
    size = _batch_size(batch, 'ming_fleet_batch', 1, 10000, errors) or 1
    percent = _batch_size(max_fail_percentage, 'ming_fleet_max_fail_percentage', 0, 100, errors) or 0
    if not isinstance(fleet, Mapping) or not isinstance(fleet.get('sites'), Mapping):
        errors.append('ming_fleet_rollout: give the result of ming_fleet as input.')
        return {'errors': errors}
    wanted = set(to_text(host) for host in play_hosts or [])
    sites = fleet['sites']
    central = fleet.get('central')
    edges = [name for name in sites if name != central]
    waves = ([[central]] if central in sites else []) + [edges[start:start + size]
                                                         for start in range(0, len(edges), size)]
    paired = [host for name in sites if len(sites[name].get('brokers', [])) >= 2 for host in sites[name]['brokers']]
    rollout = {'errors': errors, 'max_fail_percentage': percent, 'batch': size, 'paired_brokers': paired}
    for function, group in FUNCTIONS:
        batches = []
        for wave in waves:
            lists = [[host for host in sites[name].get(function, []) if host in wanted] for name in wave]
            if function in ONE_HOST_AT_A_TIME:
                for position in range(max([len(hosts) for hosts in lists] or [0])):
                    batches.append([hosts[position] for hosts in lists if position < len(hosts)])
            else:
                batches.append([host for hosts in lists for host in hosts])
        batches = [hosts for hosts in batches if hosts]
        # No host of this function in the play (a --limit): the group itself, which the limit leaves empty too.
        rollout[function] = {'hosts': [host for hosts in batches for host in hosts] or group,
                             'serial': [len(hosts) for hosts in batches] or [1],
                             'batches': batches}
    return rollout


class FilterModule(object):
    def filters(self):
        return {'ming_fleet': ming_fleet, 'ming_fleet_rollout': ming_fleet_rollout}
