#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: influxdb_replication
short_description: Keep an InfluxDB 2.x replication stream (edge bucket to a remote bucket)
version_added: 0.4.0
description:
  - Keeps one replication of an InfluxDB OSS 2.x organization, identified by its O(name), through
    C(/api/v2/replications) - InfluxDB's "Edge Data Replication" - every point written to O(local_bucket) is
    queued on disk and written to O(remote_bucket) of the remote connection O(remote)
    (M(sensingcam.ming.influxdb_remote)). Only writes are replicated, not deletes.
  - The queue holds the points while the remote does not answer, up to O(max_queue_size_bytes) and
    O(max_age_seconds); it drains in order when the remote is back.
  - Only the options you set are compared; a differing replication is changed in place (C(PATCH)), keeping its
    queue. The local bucket cannot be changed in place (the API has no field for it); such a change fails, naming
    the option.
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
options:
  name:
    description:
      - Name of the replication, unique in O(org).
    type: str
    required: true
  remote:
    description:
      - Name of the remote connection (in O(org)) to write to. Required to create.
    type: str
  local_bucket:
    description:
      - Name of the bucket of O(org) whose writes are replicated. Required to create.
    type: str
  remote_bucket:
    description:
      - Name of the bucket on the remote InfluxDB (sent as C(remoteBucketName)). Required to create.
    type: str
  max_queue_size_bytes:
    description:
      - Most bytes of points the queue holds while the remote is unreachable. At least V(33554430) (32 MiB,
        InfluxDB's minimum); a smaller value fails before any request. When not set, a new replication gets
        InfluxDB's default (67108860, 64 MiB) and an existing one keeps its size.
    type: int
  max_age_seconds:
    description:
      - Points older than this are dropped from the queue instead of being sent; V(0) keeps them until the queue is
        full. When not set, a new replication gets InfluxDB's default (604800, one week).
      - InfluxDB's OpenAPI C(Replication) schema does not list the field in answers; when a server does not report
        it, it is not compared (a warning says so).
    type: int
  drop_non_retryable_data:
    description:
      - Drop points the remote refuses for good (HTTP 4xx other than 429, for example a missing bucket) instead of
        keeping them at the head of the queue, where they block the points behind them.
    type: bool
  description:
    description:
      - Free text shown in InfluxDB's UI.
    type: str
  validate:
    description:
      - After a create or change, ask InfluxDB to check the replication (C(POST /api/v2/replications/{id}/validate),
        whether the remote answers and takes writes to O(remote_bucket)); a failure fails the task. Off by default, so a
        roll-out does not depend on the remote being up.
    type: bool
    default: false
  state:
    description:
      - V(absent) deletes the replication and its queue (points not yet sent are lost).
    type: str
    choices: [present, absent]
    default: present
seealso:
  - module: sensingcam.ming.influxdb_remote
  - module: sensingcam.ming.influxdb_bucket
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Replicate the raw events to central, riding out a day without central
  sensingcam.ming.influxdb_replication:
    host: influxdb.plant-north.example
    use_tls: true
    token: "{{ influxdb_operator_token }}"
    org: ming
    name: machine_events to central
    remote: central
    local_bucket: machine_events
    remote_bucket: machine_events
    max_queue_size_bytes: 259200000
    max_age_seconds: 604800
    drop_non_retryable_data: false
  delegate_to: localhost
'''

RETURN = r'''
replication:
  description: The replication after the run (as it would be, in check mode); empty when absent.
  returned: always
  type: dict
  contains:
    id:
      description: The replication ID (absent for one check mode would create).
      type: str
    name:
      description: The name.
      type: str
    remote:
      description: Name of the remote connection.
      type: str
    local_bucket:
      description: Name of the local bucket.
      type: str
    remote_bucket:
      description: Name of the remote bucket.
      type: str
    max_queue_size_bytes:
      description: The queue's bound in bytes.
      type: int
    max_age_seconds:
      description: The age bound in seconds, when InfluxDB reports it.
      type: int
    drop_non_retryable_data:
      description: Whether refused points are dropped.
      type: bool
    description:
      description: The description.
      type: str
  sample: {id: 0a3cbb5dd5260008, name: machine_events to central, remote: central, local_bucket: machine_events,
           remote_bucket: machine_events, max_queue_size_bytes: 259200000, max_age_seconds: 604800,
           drop_non_retryable_data: false, description: ''}
validated:
  description: Whether InfluxDB validated the replication in this run (O(validate)).
  returned: always
  type: bool
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.influxdb import InfluxDBModule, quoted  # noqa: E402

MIN_QUEUE_BYTES = 33554430
DEFAULT_QUEUE_BYTES = 67108860
DEFAULT_MAX_AGE = 604800
SIMPLE_FIELDS = (('remote_bucket', 'remoteBucketName'), ('max_queue_size_bytes', 'maxQueueSizeBytes'),
                 ('max_age_seconds', 'maxAgeSeconds'), ('drop_non_retryable_data', 'dropNonRetryableData'),
                 ('description', 'description'))


class InfluxDBReplication(InfluxDBModule):
    argument_spec = dict(
        name=dict(type='str', required=True),
        remote=dict(type='str'),
        local_bucket=dict(type='str'),
        remote_bucket=dict(type='str'),
        max_queue_size_bytes=dict(type='int'),
        max_age_seconds=dict(type='int'),
        drop_non_retryable_data=dict(type='bool'),
        description=dict(type='str'),
        validate=dict(type='bool', default=False),
        state=dict(type='str', choices=['present', 'absent'], default='present'),
    )
    options = ('remote', 'local_bucket', 'remote_bucket', 'max_queue_size_bytes', 'max_age_seconds',
               'drop_non_retryable_data', 'description')
    result_key = 'replication'
    _remote_ids = None

    @property
    def obj(self):
        return quoted('replication', self.params['name'])

    def setup(self):
        self.result['validated'] = False

    def validate(self, wanted):
        size = wanted.get('max_queue_size_bytes')
        if size is not None and size < MIN_QUEUE_BYTES:
            self.fail('max_queue_size_bytes=%d is below InfluxDB\'s minimum of %d bytes (32 MiB): give %d or more.'
                      % (size, MIN_QUEUE_BYTES, MIN_QUEUE_BYTES))
        age = wanted.get('max_age_seconds')
        if age is not None and age < 0:
            self.fail('max_age_seconds=%d is negative: give 0 (no age limit) or a number of seconds.' % age)

    # -- names <-> IDs ------------------------------------------------------------------------------------------
    def remote_names(self):
        """{remote ID: name} of the organization (one request)."""
        if self._remote_ids is None:
            self._remote_ids = dict((r.get('id'), r.get('name')) for r in self.client.remotes(self.org_id()))
        return self._remote_ids

    def remote_id(self, name):
        found = [rid for rid, rname in self.remote_names().items() if rname == name]
        if not found:
            self.fail("InfluxDB at %s has no remote connection '%s' in organization '%s': check `remote`, or create it "
                      'first (influxdb_remote).' % (self.client.base_url, name, self.params['org']))
        return found[0]

    def bucket_name(self, bucket_id):
        bucket = next((b for b in self.client.buckets(self.org_id()) if b.get('id') == bucket_id), None)
        return bucket.get('name') if bucket else bucket_id

    def read(self):
        found = self.client.replication(self.params['name'], self.org_id())
        if found is None:
            return None
        current = {
            'id': found.get('id'),
            'name': found.get('name'),
            'remote': self.remote_names().get(found.get('remoteID'), found.get('remoteID')),
            'local_bucket': self.bucket_name(found.get('localBucketID')),
            'remote_bucket': found.get('remoteBucketName') or found.get('remoteBucketID'),
            'max_queue_size_bytes': found.get('maxQueueSizeBytes'),
            'max_age_seconds': found.get('maxAgeSeconds'),
            'drop_non_retryable_data': bool(found.get('dropNonRetryableData')),
            'description': found.get('description') or '',
        }
        if current['max_age_seconds'] is None:
            current.pop('max_age_seconds')
        return current

    def same(self, option, wanted, current):
        if option == 'max_age_seconds' and current is None:
            self.warn('InfluxDB at %s does not report maxAgeSeconds of the %s, so max_age_seconds is not compared.'
                      % (self.client.base_url, self.obj))
            return True
        return super(InfluxDBReplication, self).same(option, wanted, current)

    def check_change(self, changes, current):
        if current is None:
            missing = [option for option in ('remote', 'local_bucket', 'remote_bucket') if not changes.get(option)]
            if missing:
                self.fail('Creating the %s needs %s: set %s.' % (self.obj, ', '.join(missing),
                                                                 ' and '.join('`%s`' % m for m in missing)))
        elif 'local_bucket' in changes:
            self.fail("The %s reads bucket '%s', not local_bucket='%s', and InfluxDB cannot change the local bucket of "
                      'a replication in place: delete it (state: absent; points still queued are lost) and create '
                      'it again, or give it another name.'
                      % (self.obj, current['local_bucket'], changes['local_bucket']))
        if 'remote' in changes:
            self.remote_id(changes['remote'])
        if 'local_bucket' in changes:
            self.client.bucket_id(changes['local_bucket'], self.org_id(), option='local_bucket')

    def body_of(self, changes):
        body = dict((field, changes[option]) for option, field in SIMPLE_FIELDS if option in changes)
        if 'remote' in changes:
            body['remoteID'] = self.remote_id(changes['remote'])
        return body

    def create(self, wanted):
        body = self.body_of(wanted)
        body.update(name=self.params['name'], orgID=self.org_id(),
                    localBucketID=self.client.bucket_id(wanted['local_bucket'], self.org_id(), option='local_bucket'))
        body.setdefault('maxQueueSizeBytes', DEFAULT_QUEUE_BYTES)  # required by the API; its documented default
        body.setdefault('maxAgeSeconds', DEFAULT_MAX_AGE)
        reply = self.client.call('POST', '/api/v2/replications', 'create the %s' % self.obj, obj=self.obj, body=body)
        self.validate_replication((reply or {}).get('id'))

    def update(self, changes, current):
        self.client.call('PATCH', '/api/v2/replications/%s' % current['id'], 'change the %s' % self.obj,
                         obj=self.obj, body=self.body_of(changes))
        self.validate_replication(current['id'])

    def validate_replication(self, replication_id):
        if not self.params['validate'] or not replication_id:
            return
        self.client.call('POST', '/api/v2/replications/%s/validate' % replication_id, 'validate the %s' % self.obj,
                         obj=self.obj)
        self.result['validated'] = True

    def delete(self, current):
        self.client.call('DELETE', '/api/v2/replications/%s' % current['id'], 'delete the %s' % self.obj,
                         obj=self.obj)

    def predict(self, before, wanted):
        after = super(InfluxDBReplication, self).predict(before, wanted)
        after.setdefault('name', self.params['name'])
        if before is None:
            after.setdefault('max_queue_size_bytes', DEFAULT_QUEUE_BYTES)
            after.setdefault('max_age_seconds', DEFAULT_MAX_AGE)
            after.setdefault('drop_non_retryable_data', False)
            after.setdefault('description', '')
        return after


def main():
    InfluxDBReplication().run()


if __name__ == '__main__':
    main()
