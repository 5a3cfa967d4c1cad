#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_firmware
short_description: Update the firmware of a SICK sensingCam from a local, checksummed archive
version_added: 0.1.0
description:
  - Brings a SICK sensingCam (SEC100 family) to firmware O(version) taken from a local archive.
  - Before anything is sent, the image's SHA-256 is checked against the archive's C(manifest.yml); on a mismatch
    the module fails and the camera is not touched. The bytes checked are the bytes uploaded.
  - "The update runs in four steps, each named by the device profile (profile format 2): the chunked upload of the
    image as file C(firmware.upload_file) (a fresh login per chunk), the method C(firmware.start_method), polling
    the variable C(firmware.state) (C(initial), C(started), C(finished), C(error)), and waiting, at most
    O(reboot_timeout) seconds, until the camera answers again on the wanted version."
  - Only the chunked upload is observed on SEC100 clients. The file name, the start method and the state variable
    follow SICK's firmware flow on sibling devices (RunFirmwareUpdate, UpdateState) and are assumed for the SEC100;
    if a real camera differs, correct the C(firmware:) section of the device profile, not this module.
  - The image is uploaded once (never retried in the same run). The module fails, saying the camera stays on its
    old version, when the upload breaks, when the camera refuses to start the update, when C(firmware.state)
    reports C(error), or when the camera comes back on the old version.
  - A downgrade needs O(allow_downgrade=true); the module then sets the camera's C(system.software_downgrade)
    variable (EnableSoftwareDowngrade) to V(true) before the upload, and reports it in RV(changed_settings).
    The module does not set it back; the camera keeps it as it keeps other settings.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the current version (and, for a downgrade, EnableSoftwareDowngrade) and verifies the
        image's checksum, then reports what it would do. Nothing is written or uploaded.
  diff_mode:
    support: full
    details:
      - The diff shows the firmware version, and C(software_downgrade) when a downgrade turns it on.
  idempotent:
    support: full
    details:
      - A camera already on O(version) is left alone; nothing is uploaded.
options:
  version:
    description:
      - Firmware version to install; must be listed in the archive's manifest for the profile's device family.
      - Compared as a version (C(2.10.0) is newer than C(2.9.1)); SICK's forms like C(2.4.2.0R) are read, with the
        letter suffix ordered by the profile's C(firmware.suffix_order).
    type: str
    required: true
  archive:
    description:
      - Directory with the released firmware files and their C(manifest.yml)
        (C(firmware) list of C(version), C(file), C(sha256), C(device_family)).
    type: path
    required: true
  allow_downgrade:
    description:
      - Allow installing a version older than the one the camera runs. The module then turns on the camera's
        EnableSoftwareDowngrade before the upload.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds to wait after the update started for the camera to come back on the new version.
      - Defaults to the profile's C(persistence.reboot_timeout_seconds).
    type: int
  poll_interval:
    description:
      - Seconds between two checks while waiting for the camera.
    type: float
    default: 5
notes:
  - Update one camera at a time per line (C(serial=1) or a small C(serial) batch), so a bad image never takes a
    whole line down.
  - The camera needs a user allowed to update firmware (on SICK devices the Service level).
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Update the line 3 camera to the approved firmware
  sensingcam.ming.sensingcam_firmware:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    archive: /srv/firmware/sensingcam
    version: "2.6.1"
  delegate_to: localhost

- name: Roll back after a bad release (turns on EnableSoftwareDowngrade first)
  sensingcam.ming.sensingcam_firmware:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    archive: /srv/firmware/sensingcam
    version: "2.6.0"
    allow_downgrade: true
    reboot_timeout: 600
  delegate_to: localhost
'''

RETURN = r'''
previous_version:
  description: Firmware version before the run.
  returned: when the camera's version could be read
  type: str
  sample: "2.5.3"
version:
  description: Firmware version the camera reports at the end (before the run, in check mode).
  returned: when the camera's version could be read
  type: str
  sample: "2.6.1"
target_version:
  description: The version from the manifest that was asked for.
  returned: when the camera's version could be read
  type: str
  sample: "2.6.1"
changed_settings:
  description: Camera settings the module changed (or would change) on the way, by profile option name.
  returned: always
  type: list
  elements: str
  sample: [software_downgrade]
update_state:
  description: The last value of the profile's C(firmware.state) the camera reported (C(initial), C(started),
    C(finished), C(error), or the raw value for one the profile does not name).
  returned: when the update was started and the camera reported the state
  type: raw
  sample: finished
chunks:
  description: Number of upload requests (chunks) the image took.
  returned: when the image was uploaded
  type: int
  sample: 4
elapsed_seconds:
  description: Seconds from the start of the update until the camera reported the new version.
  returned: changed and not check mode
  type: float
  sample: 74.2
'''

import hashlib  # noqa: E402
import os  # noqa: E402
import time  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_firmware_archive import (  # noqa: E402
    load_firmware_archive,
    read_image,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402

# Names of the profile's firmware.state codec (UpdateState 0..3): a field engineer maps other device integers to
# these names in the profile; the names themselves are what this module acts on.
STATE_STARTED = 'started'
STATE_ERROR = 'error'
# Errors that mean "the camera is away or coming back" while it installs and reboots.
AWAY_KINDS = ('timeout', 'unreachable', 'server', 'tls', 'busy', 'protocol')
DOWNGRADE_OPTION = 'software_downgrade'


class FirmwareUpdateModule(SensingCamModule):
    """Upload one firmware image from the local archive, once, start the update, and wait for the camera to come
    back on it."""

    clock = staticmethod(time.monotonic)
    sleep = staticmethod(time.sleep)

    argument_spec = dict(
        version=dict(type='str', required=True),
        archive=dict(type='path', required=True),
        allow_downgrade=dict(type='bool', default=False),
        reboot_timeout=dict(type='int'),
        poll_interval=dict(type='float', default=5),
    )

    def execute(self):
        self.result['changed_settings'] = []
        for option in ('poll_interval', 'reboot_timeout'):
            value = self.params.get(option)
            if value is not None and value <= 0:
                self.fail('%s must be a number of seconds above 0, not %s.' % (option, value))
        self.update()

    # -- profile ----------------------------------------------------------------------------------------------
    def profile_field(self, *keys):
        try:
            return self.profile.field(*keys)
        except ProfileError as exc:
            self.fail(str(exc))

    def profile_step(self, key):
        """``firmware.<key>`` of the profile (upload_file, start_method): a name the flow needs."""
        try:
            value = self.profile.setting('firmware', key, default=None)
        except ProfileError as exc:
            self.fail(str(exc))
        if not isinstance(value, str) or not value:
            self.fail('The device profile %s has no usable `firmware.%s` (got %r); the firmware flow needs it. '
                      'Set it in the profile to the name the camera uses.' % (self.profile.path, key, value))
        return value

    # -- camera -----------------------------------------------------------------------------------------------
    def read_version(self):
        """(text, parsed) of the camera's firmware version: the first of FirmwareVersion, ExtendedFirmwareVersion and
        DeviceIdent.Version that reads as a version (DeviceProfile.firmware_version)."""
        def read(field):
            exists, wire = self.client.probe(field.name)
            return field.decode(wire) if exists else None

        text, _source, parsed, _strings = self.profile.firmware_version(read)
        return text, parsed

    def read_state(self, field):
        """The decoded update state, or None when the camera has no such variable (HTTP 404 / status 5)."""
        exists, wire = self.client.probe(field.name)
        return field.decode(wire) if exists else None

    # -- the update -------------------------------------------------------------------------------------------
    def update(self):
        params, profile = self.params, self.profile
        target = profile.version(params['version'])
        if target is None:
            self.fail('version %r is not a firmware version (forms like 2.6.1 or 2.4.2.0R); give the version as '
                      'listed in the archive manifest.' % params['version'])
        upload_file = self.profile_step('upload_file')
        try:
            start_method = profile.method('firmware.start_method').name
        except ProfileError as exc:
            self.fail(str(exc))
        state_field = self.profile_field('firmware', 'state')
        try:
            archive = load_firmware_archive(params['archive'], profile.device_family, profile.suffix_order)
        except ProfileError as exc:
            self.fail(str(exc))
        entry = next((e for e in archive if e['parsed'] == target), None)
        if entry is None:
            self.fail('Firmware %s for %s is not in the archive %s (it has: %s).'
                      % (params['version'], profile.device_family, params['archive'],
                         ', '.join(e['version'] for e in archive) or 'nothing for this device family'))

        current_text, current = self.read_version()
        if current is None:
            self.fail('The camera reports firmware %r, which is not a version number; not updating. Check '
                      '`variables.identity.firmware_version` in the device profile %s.' % (current_text, profile.path))
        self.result.update(previous_version=str(current_text), version=str(current_text),
                           target_version=entry['version'])
        if current == target:
            self.exit(changed=False, msg='The camera already runs firmware %s.' % current_text)
        downgrade = target < current
        if downgrade and not params['allow_downgrade']:
            self.fail('Firmware %s is older than the %s the camera runs; set allow_downgrade: true to go back '
                      '(the module then turns on EnableSoftwareDowngrade first).' % (entry['version'], current_text))
        if not os.path.isfile(entry['path']):
            self.fail('The firmware file %s named in the manifest is missing; nothing was sent, the camera stays on %s.'
                      % (entry['path'], current_text))
        image = read_image(entry['path'])
        digest = hashlib.sha256(image).hexdigest()
        if digest != entry['sha256']:
            self.fail('The SHA-256 of %s is %s but the manifest says %s: the file is damaged or not the one released. '
                      'Nothing was sent; the camera stays on %s.' % (entry['path'], digest, entry['sha256'],
                                                                     current_text))
        if profile.covers(entry['version']) is False:
            self.warn('Firmware %s is outside the device profile %s; use the profile of that firmware line '
                      'for this camera afterwards.' % (entry['version'], profile.path))

        enable_downgrade = None
        if downgrade:
            enable_downgrade = self.profile_field('system', DOWNGRADE_OPTION)
            if self.client.read_field(enable_downgrade) is True:
                enable_downgrade = None
            else:
                self.result['changed_settings'] = [DOWNGRADE_OPTION]
        verb = 'downgrade' if downgrade else 'upgrade'
        if self.diff_mode:
            before, after = {'firmware_version': str(current_text)}, {'firmware_version': entry['version']}
            if enable_downgrade is not None:
                before[DOWNGRADE_OPTION], after[DOWNGRADE_OPTION] = False, True
            self.result['diff'] = {'before': before, 'after': after}
        if self.check_mode:
            extra = ' (turning on %s first)' % enable_downgrade.name if enable_downgrade is not None else ''
            self.exit(changed=True, msg='Would %s the camera from %s to %s%s.'
                      % (verb, current_text, entry['version'], extra))

        state = self.read_state(state_field)
        if state == STATE_STARTED:
            self.fail('The camera reports a firmware update already in progress (%s %s); not starting another. '
                      'It stays on %s until that one finishes.' % (state_field.name, state, current_text))
        if enable_downgrade is not None:
            self.client.write_field(enable_downgrade, True)
        changed = enable_downgrade is not None
        try:
            self.client.upload(upload_file, image)
        except SensingCamError as exc:
            self.fail('The firmware upload of %s failed, so the camera stays on %s (no retry in this run; fix the '
                      'cause and run again): %s' % (entry['file'], current_text, exc.message), changed=changed)
        self.result['chunks'] = max(1, -(-len(image) // int(profile.upload_chunk_bytes)))
        try:
            self.client.call_method('firmware.start_method')
        except SensingCamError as exc:
            self.fail('The camera took the image but did not start the update with %s (profile '
                      '`firmware.start_method`); it stays on %s: %s' % (start_method, current_text, exc.message),
                      changed=True)
        self.wait_for_version(target, entry['version'], current_text, state_field, stale_error=state == STATE_ERROR)

    def wait_for_version(self, target, target_text, old_text, state_field, stale_error=False):
        """Poll until the camera runs ``target``. ``stale_error``: the state read ``error`` before this update
        started (an earlier attempt); then ``error`` counts only after the camera reported another state."""
        timeout = self.params.get('reboot_timeout')
        if timeout is None:
            timeout = self.profile.reboot_timeout_seconds
        interval = max(0.0, float(self.params['poll_interval']))
        self.client.retries = 0
        start = self.clock()
        went_away, last_error, last_version = False, None, None
        while True:
            self.sleep(interval)
            try:
                state = self.read_state(state_field)
                if state is not None:
                    self.result['update_state'] = state
                if state is not None and state != STATE_ERROR:
                    stale_error = False
                if state == STATE_ERROR and not stale_error:
                    self.fail('The camera reports that the firmware update to %s failed (%s: %s); it stays on %s. '
                              "Check the image and the camera's log before trying again."
                              % (target_text, state_field.name, state, old_text), changed=True)
                version, parsed = self.read_version()
            except SensingCamError as exc:
                if exc.kind not in AWAY_KINDS:
                    raise
                went_away, last_error = True, exc.message
            else:
                last_version, last_error = version, None
                if parsed == target and state != STATE_STARTED:
                    self.exit(changed=True, version=str(version), elapsed_seconds=round(self.clock() - start, 1),
                              msg='Updated the camera from %s to %s.' % (old_text, version))
                if went_away and state != STATE_STARTED:
                    self.fail('The camera came back after the update but still runs %s, not %s: the update did not '
                              'take; it stays on %s.' % (version, target_text, old_text), changed=True,
                              version=str(version))
            if self.clock() - start >= timeout:
                if last_error is not None:
                    self.fail('The camera did not answer again within %g s after the firmware update started (%s). '
                              'It may still be installing; check it with sensingcam_firmware_info before doing '
                              'anything else. Until it reports %s, consider it on %s.'
                              % (timeout, last_error, target_text, old_text), changed=True)
                self.fail('After %g s the camera still reports firmware %s, not %s: the update did not take; it stays '
                          'on %s.' % (timeout, last_version, target_text, old_text), changed=True,
                          version=None if last_version is None else str(last_version))


def main():
    FirmwareUpdateModule().run()


if __name__ == '__main__':
    main()
