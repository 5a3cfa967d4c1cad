#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_setup
short_description: Onboard a new InfluxDB 2.x server (first user, organization, bucket and operator token)
version_added: 0.3.0
description:
  - Runs InfluxDB's initial setup (C(POST /api/v2/setup)) once, when C(GET /api/v2/setup) says it is still allowed; it
    creates the first user, the organization O(org), the first bucket O(bucket) and the operator token O(token).
  - On a server that is already set up it changes nothing (C(changed=false)) and, with O(token), returns the ID
    of O(org). It never changes the user, the organization or the bucket afterwards; use
    M(sensingcam.ming.influxdb_bucket) for the bucket.
  - You choose the operator token yourself (for example a random value kept in a vault). Since InfluxDB 2.9 tokens
    are hashed; a token InfluxDB generated could never be read back.
extends_documentation_fragment:
  - sensingcam.ming.influxdb
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - Setup is allowed once per server; every later run reports no change.
options:
  token:
    description:
      - The operator token to create during setup (all permissions on every organization). Keep it in a vault;
        the other influxdb_* modules authenticate with it.
      - On a server that is already set up it is used to look up O(org).
      - Never shown in output or error messages.
  org:
    description:
      - Name of the first organization.
  username:
    description:
      - Name of the first (admin) user.
    type: str
    required: true
  password:
    description:
      - Password of O(username); InfluxDB wants at least 8 characters.
      - Never shown in output or error messages.
    type: str
    required: true
  bucket:
    description:
      - Name of the first bucket.
    type: str
    required: true
  retention:
    description:
      - Retention of the first bucket in human units such as V(30d); V(0) or V(infinite) keeps data forever.
        At least V(1h) otherwise; a shorter value fails before any request.
      - Sent as C(retentionPeriodSeconds) (C(retentionPeriodHrs) is deprecated).
    type: str
    default: infinite
seealso:
  - module: sensingcam.ming.influxdb_bucket
  - module: sensingcam.ming.influxdb_token
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Onboard InfluxDB with the raw bucket kept 30 days
  sensingcam.ming.influxdb_setup:
    host: influxdb.plant.example
    use_tls: true
    username: admin
    password: "{{ vault_influxdb_admin_password }}"
    org: ming
    bucket: machine_events
    retention: 30d
    token: "{{ vault_influxdb_operator_token }}"
  delegate_to: localhost
'''

RETURN = r'''
onboarded:
  description: Whether this run set the server up (would set it up, in check mode).
  returned: always
  type: bool
org_id:
  description: ID of O(org); null in check mode before setup.
  returned: always
  type: str
  sample: 0a1b2c3d4e5f6071
bucket_id:
  description: ID of the first bucket, when this run created it.
  returned: when onboarded and not in check mode
  type: str
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import (  # noqa: E402
    InfluxDBModule,
    retention_seconds,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb_duration import format_duration  # noqa: E402


class InfluxDBSetup(InfluxDBModule):
    argument_spec = dict(
        username=dict(type='str', required=True),
        password=dict(type='str', required=True, no_log=True),
        bucket=dict(type='str', required=True),
        retention=dict(type='str', default='infinite'),
    )

    def execute(self):
        params = self.params
        retention = retention_seconds(params['retention'], 'retention')
        allowed = self.client.setup_allowed()
        self.result.update(changed=allowed, onboarded=allowed, org_id=None)
        if self.diff_mode:
            after = {'username': params['username'], 'org': params['org'], 'bucket': params['bucket'],
                     'retention': format_duration(retention)} if allowed else {}
            self.result['diff'] = {'before': {} if allowed else {'onboarded': True}, 'after': after or
                                   {'onboarded': True}}
        if not allowed:
            self.result['org_id'] = self.client.org_id(params['org'])
        elif not self.check_mode:
            body = {'username': params['username'], 'password': params['password'], 'org': params['org'],
                    'bucket': params['bucket'], 'retentionPeriodSeconds': retention, 'token': params['token']}
            reply = self.client.call('POST', '/api/v2/setup', "set InfluxDB up (organization '%s')" % params['org'],
                                     obj="organization '%s'" % params['org'], body=body) or {}
            org = reply.get('org') if isinstance(reply.get('org'), dict) else {}
            bucket = reply.get('bucket') if isinstance(reply.get('bucket'), dict) else {}
            self.result.update(org_id=org.get('id'), bucket_id=bucket.get('id'))
        self.exit()


def main():
    InfluxDBSetup().run()


if __name__ == '__main__':
    main()
