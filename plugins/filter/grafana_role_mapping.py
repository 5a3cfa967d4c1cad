# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``grafana_role_mapping``: the problems of a Grafana ``role_attribute_path`` (JMESPath) against sample claims.

The grafana role's preflight calls it before any host is changed: the expression must compile, and each sample's
claims must map to the role the inventory expects. Documentation: the sidecar file ``grafana_role_mapping.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text

try:
    import jmespath
    import jmespath.exceptions
    HAS_JMESPATH = True
except ImportError:
    HAS_JMESPATH = False

INSTALL_HINT = ("grafana_role_mapping needs the Python package jmespath on the controller: install it in the "
                "interpreter that runs ansible-playbook (pip install 'jmespath==1.0.1', pinned in "
                "requirements-dev.txt)")

# Grafana's organisation roles (org.RoleType); GrafanaAdmin also makes the user a server administrator and counts
# only with allow_assign_grafana_admin. A value that is none of these denies the login (role_attribute_strict).
ORG_ROLES = ('Viewer', 'Editor', 'Admin', 'None')
SERVER_ADMIN = 'GrafanaAdmin'
# What a sample's `expect` says when the login must be denied (no valid role).
DENY = ('deny', 'denied')


def _expected(sample):
    expect = sample.get('expect')
    if expect is None:
        return None
    return to_text(expect)


def grafana_role_mapping(expression, samples=None, allow_grafana_admin=False,
                         option='grafana_oidc.role_attribute_path'):
    """A list of problems (empty: the mapping is fine). Each names ``option`` or the sample by its index."""
    if not HAS_JMESPATH:
        raise AnsibleFilterError(INSTALL_HINT)
    problems = []
    if not isinstance(expression, str) or not expression.strip():
        return ['%s is empty: with role_attribute_strict on, nobody could log in. Set a JMESPath expression that '
                'returns Viewer, Editor or Admin from the claims, e.g. '
                "contains(groups[*], 'grafana-admins') && 'Admin' || 'Viewer'" % option]
    try:
        compiled = jmespath.compile(expression)
    except jmespath.exceptions.JMESPathError as exc:
        message = ' '.join(to_text(exc).split())
        return ['%s is not valid JMESPath (%s): fix the expression, e.g. '
                "contains(groups[*], 'grafana-admins') && 'Admin' || 'Viewer'" % (option, message)]
    valid = ORG_ROLES + ((SERVER_ADMIN,) if allow_grafana_admin else ())
    if samples is None:
        samples = []
    if not isinstance(samples, list):
        return ['grafana_oidc.role_samples must be a list of {claims, expect}, not %s' % type(samples).__name__]
    if not samples:
        problems.append('grafana_oidc.role_samples is empty: give at least one {claims, expect} per role the '
                        'identity provider grants (the claims of a real ID token or UserInfo answer), so the '
                        'mapping is tested before the roll-out')
    for index, sample in enumerate(samples):
        where = 'grafana_oidc.role_samples[%d]' % index
        if not isinstance(sample, dict) or not isinstance(sample.get('claims'), dict):
            problems.append('%s needs claims (a mapping, as the ID token or UserInfo gives them) and expect' % where)
            continue
        expect = _expected(sample)
        if expect is None:
            problems.append('%s has no expect: set the role these claims must get (%s) or deny'
                            % (where, ', '.join(valid)))
            continue
        try:
            result = compiled.search(sample['claims'])
        except jmespath.exceptions.JMESPathError as exc:
            problems.append('%s: %s fails on these claims (%s)' % (where, option, ' '.join(to_text(exc).split())))
            continue
        role = result if isinstance(result, str) and result in valid else None
        if expect.lower() in DENY:
            if role is not None:
                problems.append('%s: %s gives %r, but the sample expects the login to be denied'
                                % (where, option, result))
            continue
        if expect not in valid:
            hint = ' (set allow_assign_grafana_admin: true for it)' if expect == SERVER_ADMIN else ''
            problems.append('%s: expect %r is no role Grafana assigns here%s; use one of %s, or deny'
                            % (where, expect, hint, ', '.join(valid)))
            continue
        if role is None:
            hint = ''
            if result == SERVER_ADMIN:
                hint = ' (GrafanaAdmin needs grafana_oidc.allow_assign_grafana_admin: true)'
            problems.append('%s: %s gives %r, which is no valid role%s: with role_attribute_strict Grafana denies '
                            'this login, but the sample expects %s' % (where, option, result, hint, expect))
        elif role != expect:
            problems.append('%s: %s gives %s, but the sample expects %s' % (where, option, role, expect))
    return problems


class FilterModule(object):
    """Grafana role mapping filter."""

    def filters(self):
        return {'grafana_role_mapping': grafana_role_mapping}
