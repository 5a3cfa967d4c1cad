#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_system
short_description: Reboot a SICK sensingCam or reset it to its factory defaults
version_added: 0.2.0
description:
  - Runs one system action on a SICK sensingCam (SEC100 family), through the methods the device profile names
    (profile format 2).
  - O(action=reboot) calls C(methods.reboot) (RebootDevice) and, with O(wait=true), waits until the camera has
    gone away and answers again, at most O(reboot_timeout) seconds. A camera that answers throughout counts as
    rebooted only when its power-on counter (C(variables.health.power_on_count), PowerOnCnt) went up.
  - O(action=factory_defaults) calls C(methods.factory_defaults) (LoadFactoryDefaults). It erases the camera's
    settings, so it runs only with O(confirm_factory_defaults=true); without it the module fails before sending
    anything to the camera. With O(wait=true) it waits until the camera answers (a restart is not required).
  - This is an action, not a state; every run that is not in check mode runs it again.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode sends nothing to the camera and reports the action that would run as a change.
  diff_mode:
    support: none
  idempotent:
    support: none
    details:
      - This is an action. A reboot or a factory reset runs on every run and reports a change.
options:
  action:
    description:
      - V(reboot) restarts the camera; V(factory_defaults) resets every setting to the factory state.
    type: str
    choices: [reboot, factory_defaults]
    required: true
  confirm_factory_defaults:
    description:
      - Must be V(true) for O(action=factory_defaults); the reset erases the camera's settings (streams, event
        recording, offload, time sync, and possibly its network settings and passwords).
    type: bool
    default: false
  wait:
    description:
      - Wait until the camera answers again after the action.
      - Defaults to V(true) for O(action=reboot) and V(false) for O(action=factory_defaults), as a reset camera may
        come back on its factory address and password.
    type: bool
  reboot_timeout:
    description:
      - Seconds to wait for the camera to answer again. Defaults to the profile's
        C(persistence.reboot_timeout_seconds).
    type: int
  poll_interval:
    description:
      - Seconds between two checks while waiting for the camera.
    type: float
    default: 5
notes:
  - The camera needs a user allowed to run these methods (on SICK devices the Service level).
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Reboot the camera and wait until it answers again
  sensingcam.ming.sensingcam_system:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    action: reboot
  delegate_to: localhost

- name: Reset a camera taken out of service to its factory defaults
  sensingcam.ming.sensingcam_system:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    action: factory_defaults
    confirm_factory_defaults: true
  delegate_to: localhost
'''

RETURN = r'''
action:
  description: The action that ran (or would run, in check mode).
  returned: always
  type: str
  sample: reboot
method:
  description: The camera method the action calls (from the device profile).
  returned: always
  type: str
  sample: RebootDevice
elapsed_seconds:
  description: Seconds from the call until the camera answered again.
  returned: when the module waited for the camera
  type: float
  sample: 41.5
'''

import time  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402

METHOD_KEYS = {'reboot': 'reboot', 'factory_defaults': 'factory_defaults'}
WHAT = {'reboot': 'reboot the camera', 'factory_defaults': 'reset the camera to its factory defaults'}
# Errors that mean "the camera is away or coming back".
AWAY_KINDS = ('timeout', 'unreachable', 'server', 'tls', 'busy', 'protocol')


def check_wait_options(module):
    """Fail, before any request, on a poll interval or timeout that cannot work."""
    for option in ('poll_interval', 'reboot_timeout'):
        value = module.params.get(option)
        if value is not None and value <= 0:
            module.fail('%s must be a number of seconds above 0, not %s.' % (option, value))


class SystemActionModule(SensingCamModule):
    """Run one system method (reboot, factory defaults) and wait for the camera to answer again."""

    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    argument_spec = dict(
        action=dict(type='str', choices=['reboot', 'factory_defaults'], required=True),
        confirm_factory_defaults=dict(type='bool', default=False),
        wait=dict(type='bool'),
        reboot_timeout=dict(type='int'),
        poll_interval=dict(type='float', default=5),
    )

    def execute(self):
        action = self.params['action']
        check_wait_options(self)
        if action == 'factory_defaults' and not self.params['confirm_factory_defaults']:
            self.fail('action=factory_defaults erases every setting of the camera at %s; set '
                      'confirm_factory_defaults: true to run it. Nothing was sent to the camera.' % self.params['host'])
        try:
            method = self.profile.method(METHOD_KEYS[action])
        except ProfileError as exc:
            self.fail(str(exc))
        wait = self.params['wait']
        if wait is None:
            wait = action == 'reboot'
        self.result.update(action=action, method=method.name)
        if self.check_mode:
            then = ' and wait until it answers again' if wait else ''
            self.exit(changed=True, msg='Would %s (%s)%s.' % (WHAT[action], method.name, then))
        power_on = self.power_on_field()
        before = self.power_on_count(power_on) if wait else None
        start = self.clock()
        try:
            self.client.call_method(METHOD_KEYS[action])
        except SensingCamError as exc:
            if exc.kind != 'timeout' or not wait:
                self.fail('The call %s to %s failed: %s' % (method.name, WHAT[action], exc.message))
            self.warn('The camera did not answer the %s call within the timeout; it may have gone down before '
                      'answering. Waiting for it to come back.' % method.name)
        if not wait:
            self.exit(changed=True, msg='Called %s to %s.' % (method.name, WHAT[action]))
        self.wait_until_back(method.name, start, power_on, before, must_restart=action == 'reboot')

    def power_on_field(self):
        try:
            return self.profile.field('health', 'power_on_count')
        except ProfileError:
            return None

    def power_on_count(self, field):
        """The camera's power-on counter, or None when the profile or the camera has none."""
        if field is None:
            return None
        exists, wire = self.client.probe(field.name)
        return field.decode(wire) if exists else None

    def wait_until_back(self, method_name, start, power_on, before, must_restart=True):
        """Poll until the camera answers again. ``must_restart`` (reboot): it must have gone away or counted a power-on
        first; otherwise (factory defaults, which may not restart the camera) an answer is enough."""
        timeout = self.params.get('reboot_timeout')
        if timeout is None:
            timeout = self.profile.reboot_timeout_seconds
        interval = max(0.0, float(self.params['poll_interval']))
        self.client.retries = 0
        went_away, last_error = False, None
        version_field = self.profile.field('identity', 'firmware_version')
        while True:
            self.sleep(interval)
            try:
                self.client.read_field(version_field)
                count = self.power_on_count(power_on)
            except SensingCamError as exc:
                if exc.kind not in AWAY_KINDS:
                    raise
                went_away, last_error = True, exc.message
            else:
                last_error = None
                restarted = before is not None and count is not None and count != before
                if went_away or restarted or not must_restart:
                    self.exit(changed=True, elapsed_seconds=round(self.clock() - start, 1),
                              msg='Called %s; the camera answers again.' % method_name)
            if self.clock() - start >= timeout:
                if last_error is not None:
                    self.fail('The camera did not answer again within %g s after %s (%s). Check it on site.'
                              % (timeout, method_name, last_error), changed=True)
                self.fail('The camera answered throughout the %g s after %s and its power-on counter did not change: '
                          'it may not have restarted. Check it on site or raise reboot_timeout.'
                          % (timeout, method_name), changed=True)


def main():
    SystemActionModule().run()


if __name__ == '__main__':
    main()
