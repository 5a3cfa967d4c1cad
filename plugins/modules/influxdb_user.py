#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_user
short_description: Create, change or drop an InfluxDB 1.x user (password, admin flag, database grants)
version_added: 0.3.0
description:
  - Keeps one InfluxDB 1.x user as declared, that is its password, whether it is an admin, and its C(READ), C(WRITE) or
    C(ALL) privilege on each database.
  - The password is compared by logging in as the user with it (one cheap C(SHOW DATABASES) request); InfluxDB
    never returns passwords or hashes. A password that does not log in is set again (C(SET PASSWORD)) and
    reported as a change.
  - Creates the first admin user of a server that has C(auth-enabled = true) and no user yet. InfluxDB accepts
    only C(CREATE USER ... WITH ALL PRIVILEGES) then, without credentials; leave O(login_user) unset or set it
    to this user (the module logs in as the new user afterwards).
extends_documentation_fragment:
  - sensingcam.ming.influxdb_v1
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The password is shown as C(********), marked C((changed)) when it is set again.
  idempotent:
    support: full
    details:
      - The password is checked by logging in with it, so a re-run with the same password is not a change.
options:
  name:
    description:
      - The user name.
    type: str
    required: true
  password:
    description:
      - The user's password. Required to create the user.
      - Never shown in output, diffs or error messages.
    type: str
  update_password:
    description:
      - V(always) sets the password again when it does not log in; V(on_create) sets it only when the user is new.
    type: str
    choices: [always, on_create]
    default: always
  admin:
    description:
      - Whether the user is an admin (C(ALL PRIVILEGES) on the server). When not set, left as it is (a new user is
        not an admin).
    type: bool
  grants:
    description:
      - The user's privileges on databases, as the B(full) list. Privileges on databases not in the list are revoked;
        V([]) revokes them all. When not set, grants are left as they are.
      - The databases must exist.
    type: list
    elements: dict
    suboptions:
      database:
        description:
          - The database.
        type: str
        required: true
      privilege:
        description:
          - V(READ) (queries), V(WRITE) (writes through C(/write)) or V(ALL) (both).
        type: str
        required: true
        choices: [READ, WRITE, ALL]
  state:
    description:
      - V(absent) drops the user.
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: sensingcam.ming.influxdb_retention_policy
  - name: InfluxDB 1.x authentication and authorization
    description: Users, admin users and database privileges.
    link: https://docs.influxdata.com/influxdb/v1/administration/authentication_and_authorization/
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Create the first admin user of a fresh server with authentication enabled
  sensingcam.ming.influxdb_user:
    host: influxdb.plant.example
    name: admin
    password: "{{ vault_influxdb_admin_password }}"
    admin: true
  delegate_to: localhost

- name: Node-RED writes machine events and reads nothing
  sensingcam.ming.influxdb_user:
    host: influxdb.plant.example
    login_user: admin
    login_password: "{{ vault_influxdb_admin_password }}"
    name: nodered
    password: "{{ vault_influxdb_nodered_password }}"
    grants:
      - database: ming
        privilege: WRITE
  delegate_to: localhost
'''

RETURN = r'''
user:
  description: The user after the run (as it would be, in check mode); empty when absent. Never the password.
  returned: always
  type: dict
  contains:
    name:
      description: The user name.
      type: str
      sample: nodered
    admin:
      description: Whether the user is an admin.
      type: bool
      sample: false
    grants:
      description: The privileges on databases, sorted by database.
      type: list
      elements: dict
      sample: [{database: ming, privilege: WRITE}]
    password:
      description: C(********) (C(******** (changed)) when set again); the value is never returned.
      type: str
      sample: '********'
'''

from ansible_collections.sensingcam.ming.plugins.module_utils._api import MASK  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_v1 import (  # noqa: E402
    InfluxQLError,
    InfluxQLModule,
    describe,
    quote_ident,
    quote_string,
)

PRIVILEGES = {'READ': 'READ', 'WRITE': 'WRITE', 'ALL PRIVILEGES': 'ALL', 'ALL': 'ALL'}


def grant_list(grants):
    """Grants as a list sorted by database, one entry per database."""
    return [{'database': database, 'privilege': grants[database]} for database in sorted(grants)]


class InfluxDBUser(InfluxQLModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        password=dict(type='str', no_log=True),
        update_password=dict(type='str', choices=['always', 'on_create'], default='always', no_log=False),
        admin=dict(type='bool'),
        grants=dict(type='list', elements='dict', options=dict(
            database=dict(type='str', required=True),
            privilege=dict(type='str', required=True, choices=['READ', 'WRITE', 'ALL']),
        )),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    options = ('password', 'admin', 'grants')
    write_only = ('password',)
    result_key = 'user'

    def setup(self):
        self.no_admin_yet = False

    @property
    def obj(self):
        return describe('user', self.params['name'])

    def wanted(self):
        wanted = super(InfluxDBUser, self).wanted()
        if 'grants' in wanted:
            by_database = {}
            for grant in wanted['grants']:
                database = grant['database']
                if database in by_database and by_database[database] != grant['privilege']:
                    self.fail("grants lists database '%s' twice, with %s and %s: give one privilege per database "
                              '(ALL is READ and WRITE).' % (database, by_database[database], grant['privilege']))
                by_database[database] = grant['privilege']
            wanted['grants'] = grant_list(by_database)
        return wanted

    def validate(self, wanted):
        if not self.params['name']:
            self.fail('name is empty: give the user name.')
        if self.params['password'] is not None and self.params['password'] == '':
            self.fail('password of %s is empty: InfluxDB refuses empty passwords; give one.' % self.obj)

    def read(self):
        try:
            users = self.client.rows('SHOW USERS', 'list the users', obj=self.obj)
        except InfluxQLError as exc:
            if exc.kind != 'no_admin':
                raise
            self.no_admin_yet = True
            return None
        row = next((u for u in users if u.get('user') == self.params['name']), None)
        if row is None:
            return None
        grants = {}
        rows = self.client.rows('SHOW GRANTS FOR %s' % quote_ident(self.params['name']),
                                'list the grants of the %s' % self.obj, obj=self.obj)
        for grant in rows:
            privilege = PRIVILEGES.get(grant.get('privilege'))
            if privilege:
                grants[grant.get('database')] = privilege
        return {'name': row['user'], 'admin': bool(row.get('admin')), 'grants': grant_list(grants),
                'password': MASK}

    def same(self, option, wanted, current):
        if option == 'password':
            if self.params['update_password'] == 'on_create':  # noqa: S105 (a choice, not a password)
                return True
            return self.client.authenticates(self.params['name'], wanted)
        if option == 'grants':
            return sorted((g['database'], g['privilege']) for g in wanted) == \
                sorted((g['database'], g['privilege']) for g in current or [])
        return super(InfluxDBUser, self).same(option, wanted, current)

    def check_change(self, changes, current):
        if current is None:
            if not self.params['password']:
                self.fail('password is required to create the %s: give one.' % self.obj)
            if self.no_admin_yet and not self.params['admin']:
                self.fail('InfluxDB at %s has authentication enabled and no user yet: the first user must be an '
                          'admin. Create an admin user first (admin: true), then %s.' % (self.client.base_url,
                                                                                         self.obj))

    def create(self, wanted):
        name = quote_ident(self.params['name'])
        statement = 'CREATE USER %s WITH PASSWORD %s' % (name, quote_string(wanted['password']))
        if wanted.get('admin'):
            statement += ' WITH ALL PRIVILEGES'
        self.client.execute(statement, 'create the %s' % self.obj, obj=self.obj)
        if self.no_admin_yet and self.client.username in (None, self.params['name']):
            self.client.login(self.params['name'], wanted['password'])
        self.apply_grants(wanted.get('grants'), [])

    def apply_grants(self, wanted, current):
        if wanted is None:
            return
        name = quote_ident(self.params['name'])
        want = dict((g['database'], g['privilege']) for g in wanted)
        have = dict((g['database'], g['privilege']) for g in current or [])
        statements = []
        for database in sorted(have):
            if database not in want:
                statements.append('REVOKE ALL PRIVILEGES ON %s FROM %s' % (quote_ident(database), name))
        for database in sorted(want):
            if have.get(database) != want[database]:  # GRANT sets the privilege (ALL -> READ too)
                statements.append('GRANT %s ON %s TO %s' % (want[database], quote_ident(database), name))
        if statements:
            self.client.execute(statements, 'change the grants of the %s (databases %s)'
                                % (self.obj, ', '.join("'%s'" % d for d in sorted(set(want) | set(have)))),
                                obj=self.obj)

    def update(self, changes, current):
        name = quote_ident(self.params['name'])
        if 'password' in changes:
            self.client.execute('SET PASSWORD FOR %s = %s' % (name, quote_string(changes['password'])),
                                'set the password of the %s' % self.obj, obj=self.obj)
        if 'admin' in changes:
            statement = ('GRANT ALL PRIVILEGES TO %s' if changes['admin'] else 'REVOKE ALL PRIVILEGES FROM %s') % name
            self.client.execute(statement, 'change whether the %s is an admin' % self.obj, obj=self.obj)
        if 'grants' in changes:
            self.apply_grants(changes['grants'], current.get('grants'))

    def delete(self, current):
        self.client.execute('DROP USER %s' % quote_ident(self.params['name']), 'drop the %s' % self.obj, obj=self.obj)

    def predict(self, before, wanted):
        after = super(InfluxDBUser, self).predict(before, wanted)
        after['name'] = self.params['name']
        if before is None:
            after.setdefault('admin', False)
            after.setdefault('grants', [])
        return after

    def reread(self, changes):
        after = self.read()
        mismatch = sorted(k for k in changes if k != 'password' and not self.same(k, changes[k], (after or {}).get(k)))
        if mismatch:
            self.warn(self.mismatch_warning % (self.service, ', '.join(mismatch)))
        return after


def main():
    InfluxDBUser().run()


if __name__ == '__main__':
    main()
