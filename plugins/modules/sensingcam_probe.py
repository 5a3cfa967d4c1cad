#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_probe
short_description: First contact with a SICK sensingCam - read every name of the device profile and report
version_added: 0.2.0
description:
  - Answers the open questions of the device profile on one real camera (SICK sensingCam SEC100 family) without
    changing it, the first thing to run on new hardware or new firmware.
  - Fetches the camera's API description (the profile's C(transport.api_description_path)).
  - Reads every variable name of the profile (and the firmware update state C(firmware.state)) and records whether
    the camera knows it (HTTP 404 or header status 5 mean it does not), its value and the value's JSON type.
  - Records the exact firmware strings (C(FirmwareVersion), C(ExtendedFirmwareVersion), C(DeviceIdent)) and which
    one gives the firmware version.
  - Records whether HTTPS answers, from the C(httpsStatus) variable and a TLS handshake with the HTTPS port (the
    certificate is not checked and nothing is sent over the connection).
  - With O(dest_dir), writes C(probe-report.json), a candidate profile C(candidate-profile.yml) and the API
    description as C(deviceDescription.yaml) there. The candidate profile is the profile given in O(profile) with
    the C(level) of every variable the camera knows raised to V(probed), and the C(level) of every variable it does
    not know set to V(missing) (the entry is kept, so modules still report it as unsupported by its key, and the
    lint filter M(sensingcam.ming.sensingcam_profile_lint) lists it). Everything else stays as written, comments
    too. Review it, then replace the shipped profile with it.
  - Values of secret variables (C(secret=true) in the profile, or a name matching C(backup.secret_keys)) are read
    only to learn whether they exist and their type; the report shows C(********) instead of them.
  - O(probe_persistence=true) also tests whether a REST write survives a restart (sec100.md section 9, question 2).
    This is the only part that changes the camera, and it is off by default.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Without O(probe_persistence) the module only reads the camera and runs the same in check mode (the report
        files are its result and are written in check mode too).
      - In check mode O(probe_persistence) is not run; the module reports C(changed=true) as the prediction.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Without O(probe_persistence) nothing on the camera changes; the persistence test puts C(LocationName) back
        but restarts the camera, so it reports C(changed=true) every time it runs.
options:
  dest_dir:
    description:
      - Directory (created when missing) for C(probe-report.json), C(candidate-profile.yml) and
        C(deviceDescription.yaml). A file is rewritten only when its content differs.
      - Without it, the report is only returned.
    type: path
  tls_check:
    description:
      - Try a TLS handshake with the HTTPS port (O(https_port)).
    type: bool
    default: true
  https_port:
    description:
      - Port of the TLS handshake; defaults to the profile's C(transport.https_port).
    type: int
  probe_persistence:
    description:
      - Test whether a REST write survives a restart - write a marker into C(LocationName) (profile
        C(variables.identity.location_name)), call the profile's C(methods.reboot), wait for the camera to go away
        and come back (at most O(reboot_timeout)), read the value back, then write the old value again.
      - Needs O(password). Never runs in check mode. Restarts the camera, so only on a camera out of production.
    type: bool
    default: false
  reboot_timeout:
    description:
      - Seconds to wait for the camera to restart and answer again in the persistence test; defaults to the
        profile's C(persistence.reboot_timeout_seconds).
    type: float
  poll_interval:
    description:
      - Seconds between two reads while waiting for the restart.
    type: float
    default: 5
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Probe the new camera and keep what it showed
  sensingcam.ming.sensingcam_probe:
    host: 192.168.136.100
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    dest_dir: "{{ playbook_dir }}/camera-probe/cam-line3"
  delegate_to: localhost
  register: probe

- name: Names of the profile the camera does not know
  ansible.builtin.debug:
    msg: "{{ probe.summary.missing }}"

- name: Does a REST write survive a restart? (restarts the camera)
  sensingcam.ming.sensingcam_probe:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    probe_persistence: true
    reboot_timeout: 300
  delegate_to: localhost
  register: persistence
'''

RETURN = r'''
firmware:
  description:
    - The exact firmware strings the camera reports (V(null) when it does not know the name) and the version
      taken from them - C(FirmwareVersion), else C(ExtendedFirmwareVersion), else C(DeviceIdent.Version), the first
      that reads as a version (C(version_source) names it; V(null) when none does).
  returned: always
  type: dict
  sample: {firmware_version: "2.6.2", extended_firmware_version: "2.6.2+build.17", device_ident: {Name: SEC100,
           Version: "2.6.2.0R"}, version: "2.6.2", version_source: FirmwareVersion, covers_firmware: true,
           version_parts: {release: "2.6.2", suffix: null, prerelease: null, build: null}}
api_description:
  description:
    - The camera's API description at C(path) - whether it answered, its size and SHA-256, whether it is valid YAML
      (C(yaml_valid)), where it was saved (C(file), with O(dest_dir)) and the C(error) of the request, if any.
  returned: always
  type: dict
  sample: {path: /deviceDescription.yaml, found: true, bytes: 48213, sha256: 0f1e..., yaml_valid: true,
           file: /srv/probe/cam-line3/deviceDescription.yaml, error: null}
https:
  description:
    - Whether the camera offers HTTPS - the C(httpsStatus) variable (C(status_variable), V(null) when the profile
      has no C(security.https_status)) and the TLS handshake with C(port) (C(handshake) V(true) or V(false), V(null)
      with O(tls_check=false); C(tls_version); C(error) of the handshake).
  returned: always
  type: dict
  sample: {port: 443, handshake: false, tls_version: null, error: "Connection refused",
           status_variable: {name: httpsStatus, exists: false, value: null}}
variables:
  description:
    - One entry per profile key (dotted, as under C(variables:); C(firmware.state) for the update state) -
      C(name), the profile's C(level), C(access), C(exists) (V(true), V(false), or V(null) when the read failed,
      see C(error)), C(json_type) of the value (V(string), V(integer), V(number), V(boolean), V(array),
      V(object), V(null)), C(value) as sent (C(********) for a secret), C(decoded) as the module option sees it.
  returned: always
  type: dict
  sample: {streams.video0.fps: {name: Video0FrameRate, level: observed, access: read_write, exists: true,
           json_type: integer, value: 25, decoded: 25, error: null}}
summary:
  description: Numbers of names probed, known and unknown, and the keys the camera does not know or that failed.
  returned: always
  type: dict
  sample: {total: 72, exists: 70, missing: [health.temperature, identity.serial_number], errors: []}
persistence:
  description:
    - The persistence test - C(tested), C(reason) when not tested, C(key) and C(name) of the variable, C(marker),
      C(reboot_observed), C(came_back), C(survived) (V(null) when it cannot be told), C(restored), C(save_method)
      (the profile's save step, when it has one) and C(error).
  returned: always
  type: dict
  sample: {tested: true, key: identity.location_name, name: LocationName, marker: ming-probe-3f9a1c2e,
           reboot_observed: true, came_back: true, survived: true, restored: true, save_method: null, error: null}
files:
  description: Paths of the files in O(dest_dir) (V(null) when not written), and which of them were rewritten.
  returned: always
  type: dict
  sample: {report: /srv/probe/cam3/probe-report.json, candidate_profile: /srv/probe/cam3/candidate-profile.yml,
           api_description: /srv/probe/cam3/deviceDescription.yaml, rewritten: [report]}
'''

import datetime  # noqa: E402
import fnmatch  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import secrets  # noqa: E402
import socket  # noqa: E402
import ssl  # noqa: E402
import time  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils._api import MASK  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.atomic_write import write_file_atomically  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402

try:
    import yaml
except ImportError:  # SensingCamModule fails with missing_required_lib before this is used
    yaml = None

REPORT_FILE = 'probe-report.json'
CANDIDATE_FILE = 'candidate-profile.yml'
DESCRIPTION_FILE = 'deviceDescription.yaml'
PROBED = 'probed'
MISSING = 'missing'
# Errors that end the probe: the camera is gone, or every further read would be refused the same way.
FATAL_KINDS = ('unreachable', 'tls', 'auth', 'forbidden', 'config')
# Errors of a read while the camera restarts.
AWAY_KINDS = ('unreachable', 'timeout', 'busy', 'server', 'tls', 'protocol', 'http')


def json_type(value):
    """The JSON type name of a decoded JSON value."""
    if value is None:
        return 'null'
    if isinstance(value, bool):
        return 'boolean'
    if isinstance(value, int):
        return 'integer'
    if isinstance(value, float):
        return 'number'
    if isinstance(value, str):
        return 'string'
    if isinstance(value, (list, tuple)):
        return 'array'
    return 'object'


def tls_handshake(host, port, timeout):
    """(answered, tls_version, error) of a TLS handshake with host:port; the certificate is not checked, nothing is
    sent. Tests replace this function."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host.strip('[]'), port), timeout=timeout) as raw, \
                context.wrap_socket(raw, server_hostname=host.strip('[]')) as tls:
            return True, tls.version(), None
    except (OSError, ssl.SSLError) as exc:
        return False, None, str(getattr(exc, 'strerror', None) or exc)


def relevel(text, levels):
    """``text`` (the profile YAML) with the ``level:`` of each entry named in ``levels`` ({device name: level})
    replaced, comments and layout kept; None when an entry cannot be found that way."""
    for name, level in levels.items():
        found = re.search(r'\bname:\s*["\']?%s["\']?\s*[,}\n]' % re.escape(name), text)
        if not found:
            return None
        following = re.search(r'\bname:\s', text[found.end():])
        end = found.end() + following.start() if following else len(text)
        current = re.compile(r'(\blevel:\s*)([A-Za-z_]+)').search(text, found.end(), end)
        if not current:
            return None
        text = text[:current.start(2)] + level + text[current.end(2):]
    return text


class ProbeModule(SensingCamModule):
    """Reads every name of the profile from one camera; optionally tests persistence across a restart."""

    argument_spec = dict(
        dest_dir=dict(type='path'),
        tls_check=dict(type='bool', default=True),
        https_port=dict(type='int'),
        probe_persistence=dict(type='bool', default=False),
        reboot_timeout=dict(type='float'),
        poll_interval=dict(type='float', default=5),
    )
    sleep = staticmethod(time.sleep)

    # -- reading ----------------------------------------------------------------------------------------------
    def entries(self):
        """Every variable of the profile, the firmware update state (``firmware.state``) included."""
        return self.profile.fields()

    def is_secret(self, entry):
        if getattr(entry, 'secret', False):
            return True
        name = entry.name.lower()
        return any(fnmatch.fnmatchcase(name, pattern) for pattern in self.profile.secret_keys())

    def probe_entry(self, entry):
        item = {'name': entry.name, 'level': entry.level, 'access': getattr(entry, 'access', None),
                'exists': None, 'json_type': None, 'value': None, 'decoded': None, 'error': None}
        try:
            exists, wire = self.client.probe(entry.name)
        except SensingCamError as exc:
            if exc.kind in FATAL_KINDS:
                raise
            item['error'] = exc.message
            return item, None
        item['exists'] = bool(exists)
        if not exists:
            return item, None
        item['json_type'] = json_type(wire)
        try:
            decoded = entry.decode(wire)
        except Exception as exc:  # device data must never crash the probe; report what the codec said
            decoded, item['error'] = None, 'the profile codec cannot decode the value: %s' % exc
        if self.is_secret(entry):
            item['value'] = item['decoded'] = None if wire in (None, '') else MASK
        else:
            item['value'], item['decoded'] = wire, decoded
        return item, decoded

    def firmware(self, values):
        """The exact firmware strings and the version taken from the first that parses."""
        strings = {
            'firmware_version': values.get('identity.firmware_version'),
            'extended_firmware_version': values.get('identity.extended_firmware_version'),
            'device_ident': values.get('identity.device_ident'),
        }
        version, source, parsed, _read = self.profile.firmware_version(lambda field: values.get(field.key))
        parts = parsed.parts() if parsed is not None else None
        strings.update(version=version, version_source=source, version_parts=parts,
                       covers_firmware=self.profile.covers(version) if source else None)
        return strings

    def api_description(self):
        path = self.profile.api_description_path
        result = {'path': path, 'found': False, 'bytes': None, 'sha256': None, 'yaml_valid': None, 'file': None,
                  'error': None}
        try:
            content = self.client.get_raw(path)
        except SensingCamError as exc:
            if exc.kind in FATAL_KINDS:
                raise
            result['error'] = exc.message
            return result, None
        if content is None:
            return result, None
        result.update(found=True, bytes=len(content), sha256=hashlib.sha256(content).hexdigest())
        try:
            yaml.safe_load(content)
            result['yaml_valid'] = True
        except yaml.YAMLError:
            result['yaml_valid'] = False
        return result, content

    def https(self, variables):
        port = self.params.get('https_port') or self.profile.https_port
        result = {'port': port, 'handshake': None, 'tls_version': None, 'error': None,
                  'status_variable': None}
        status = variables.get('security.https_status')
        if status is not None:
            result['status_variable'] = {'name': status['name'], 'exists': status['exists'],
                                         'value': status['value']}
        if self.params['tls_check']:
            result['handshake'], result['tls_version'], result['error'] = tls_handshake(
                self.params['host'], port, self.params.get('timeout') or 10)
        return result

    # -- persistence ------------------------------------------------------------------------------------------
    def persistence(self):
        if not self.params['probe_persistence']:
            return {'tested': False, 'reason': 'probe_persistence is false (the default)'}
        if self.check_mode:
            return {'tested': False, 'reason': 'check mode: the test writes a value and restarts the camera'}
        field = self.profile.field('identity', 'location_name')
        result = {'tested': True, 'reason': None, 'key': field.key, 'name': field.name, 'marker': None,
                  'reboot_observed': False, 'came_back': False, 'survived': None, 'restored': False,
                  'save_method': self.profile.save_method, 'error': None}
        original = self.client.read_field(field)
        result['marker'] = 'ming-probe-' + secrets.token_hex(4)
        written = False
        try:
            self.write_and_save(field, result['marker'])
            written = True
            if self.client.read_field(field) != result['marker']:
                result['error'] = 'The camera accepted %s=%r but reads back another value; nothing to test.' % (
                    field.name, result['marker'])
                return result
            self.restart_and_wait(field, result)
            if result['came_back'] and result['reboot_observed']:
                result['survived'] = self.client.read_field(field) == result['marker']
        except SensingCamError as exc:
            result['error'] = exc.message
        finally:
            if written:
                self.restore(field, original, result)
        return result

    def write_and_save(self, field, value):
        self.client.write_field(field, value)
        if self.profile.save_method:
            self.client.call(self.profile.save_method)

    def restart_and_wait(self, field, result):
        counter = None
        try:
            counter = self.profile.field('health', 'power_on_count')
            power_on = self.client.read_field(counter)
        except (ProfileError, SensingCamError):
            counter, power_on = None, None
        try:
            self.client.call_method('reboot')
        except SensingCamError as exc:
            if exc.kind not in AWAY_KINDS:  # a connection dropped by the restart is not a failure
                raise
        timeout = self.params.get('reboot_timeout') or self.profile.reboot_timeout_seconds
        interval = max(float(self.params['poll_interval']), 0.0)
        polls = max(1, int(math.ceil(float(timeout) / interval))) if interval else 1
        away = False
        for _poll in range(polls):
            self.sleep(interval)
            try:
                self.client.read_field(field)
            except SensingCamError as exc:
                if exc.kind not in AWAY_KINDS:
                    raise
                away = True
                continue
            if away:
                result['reboot_observed'] = result['came_back'] = True
                return
            if counter is not None and power_on is not None:
                try:
                    if self.client.read_field(counter) > power_on:
                        result['reboot_observed'] = result['came_back'] = True
                        return
                except (SensingCamError, TypeError):
                    pass
        if away:
            result['error'] = ('The camera went away after %s and did not answer again within %s s; check it.'
                               % (self.profile.method('reboot').name, timeout))
        else:
            result['came_back'] = True
            result['error'] = ('The camera answered all the time after %s (%s s); no restart was seen, so persistence '
                               'cannot be told.' % (self.profile.method('reboot').name, timeout))

    def restore(self, field, original, result):
        try:
            if self.client.read_field(field) != original:
                self.write_and_save(field, original)
            result['restored'] = self.client.read_field(field) == original
        except SensingCamError as exc:
            result['error'] = (result['error'] + ' ' if result['error'] else '') + (
                'Could not put %s back to its old value: %s' % (field.name, exc.message))

    # -- files ------------------------------------------------------------------------------------------------
    def candidate_profile(self, variables, header):
        """The profile's text with levels raised to probed / set to missing (see DOCUMENTATION)."""
        levels = {}
        for item in variables.values():
            if item['exists'] is not None:
                levels[item['name']] = PROBED if item['exists'] else MISSING
        with open(self.profile.path, 'r') as handle:
            text = handle.read()
        expected = yaml.safe_load(text)

        def apply(node):
            if isinstance(node, dict):
                if isinstance(node.get('name'), str) and node['name'] in levels and 'level' in node:
                    node['level'] = levels[node['name']]
                for key, child in node.items():
                    if key not in ('methods', 'files'):
                        apply(child)
        apply(expected.get('variables'))
        apply(expected.get('firmware'))
        edited = relevel(text, levels)
        if edited is None or yaml.safe_load(edited) != expected:
            edited = yaml.safe_dump(expected, sort_keys=False, default_flow_style=False)
        lines = edited.split('\n')
        start = 1 if lines and lines[0].strip() == '---' else 0
        return '\n'.join(['---'] + header + lines[start:])

    def write_file(self, path, content):
        """Write ``content`` (str) to ``path`` unless it holds exactly that; True when written."""
        data = content.encode('utf-8')
        try:
            with open(path, 'rb') as handle:
                if handle.read() == data:
                    return False
        except (IOError, OSError):
            pass
        write_file_atomically(path, data, 0o640)
        return True

    def write_files(self, report, variables, description):
        files = {'report': None, 'candidate_profile': None, 'api_description': None, 'rewritten': []}
        dest = self.params.get('dest_dir')
        if not dest:
            return files
        try:
            if not os.path.isdir(dest):
                os.makedirs(dest, 0o750)
            header = ['# Candidate profile written by sensingcam.ming.sensingcam_probe from %s (firmware %s); the'
                      % (self.params['host'], report['firmware']['version']),
                      '# time of the probe is in probe-report.json next to it.',
                      '# Levels: `probed` = the camera answered the name, `missing` = it does not know it (HTTP 404);',
                      '# every other line is the profile the probe used (%s). Review before use.' % self.profile.path]
            contents = [('api_description', DESCRIPTION_FILE, description),
                        ('candidate_profile', CANDIDATE_FILE, self.candidate_profile(variables, header)),
                        ('report', REPORT_FILE, None)]
            for key, name, content in contents:
                if key == 'api_description' and content is None:
                    continue
                path = os.path.join(dest, name)
                files[key] = path
                if key == 'api_description':
                    report['api_description']['file'] = path
                    content = content.decode('utf-8', 'replace') if isinstance(content, bytes) else content
                if key == 'report':
                    content = self.scrub(json.dumps(report, indent=2, sort_keys=True)) + '\n'
                if self.write_file(path, content):
                    files['rewritten'].append(key)
        except (IOError, OSError) as exc:
            self.fail('Cannot write the probe files to dest_dir %s: %s. Give a directory this user may write.'
                      % (dest, exc.strerror or exc))
        return files

    # -- the run ----------------------------------------------------------------------------------------------
    def execute(self):
        params = self.params
        if params['probe_persistence'] and not params.get('password') and not self.check_mode:
            self.fail('probe_persistence=true writes LocationName and restarts the camera, which needs a login: set '
                      'password (and username, default the profile\'s %s).' % self.profile.default_user)
        if params['poll_interval'] <= 0:
            self.fail('poll_interval=%s must be above 0 (seconds between two reads while the camera restarts).'
                      % params['poll_interval'])
        try:
            variables, values = {}, {}
            for entry in self.entries():
                item, decoded = self.probe_entry(entry)
                variables[entry.key] = item
                if item['exists']:
                    values[entry.key] = decoded
            description_result, description = self.api_description()
        except SensingCamError as exc:
            self.fail(exc.message)
        firmware = self.firmware(values)
        missing = sorted(key for key, item in variables.items() if item['exists'] is False)
        errors = sorted(key for key, item in variables.items() if item['exists'] is None)
        for key in missing:
            self.warn('The camera does not know %s (profile key %s); the candidate profile marks it level: missing.'
                      % (variables[key]['name'], key))
        try:
            persistence = self.persistence()
        except SensingCamError as exc:
            self.fail('The persistence test could not start: %s' % exc.message)
        report = {
            'report': 'sensingcam probe',
            'generated_at': datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ'),
            'host': params['host'],
            'profile': {'name': self.profile.name, 'path': self.profile.path},
            'firmware': firmware,
            'api_description': description_result,
            'https': self.https(variables),
            'variables': variables,
            'summary': {'total': len(variables), 'exists': sum(1 for item in variables.values() if item['exists']),
                        'missing': missing, 'errors': errors},
            'persistence': persistence,
        }
        files = self.write_files(report, variables, description)
        changed = bool(params['probe_persistence'])
        if persistence.get('tested') and persistence.get('error') and not persistence.get('came_back'):
            self.fail('Persistence test: ' + persistence['error']
                      + (' Report: %s.' % files['report'] if files['report'] else ''),
                      changed=changed, persistence=persistence, files=files)
        if persistence.get('error'):
            self.warn('Persistence test: ' + persistence['error'])
        self.result['changed'] = changed
        result = dict((key, report[key]) for key in ('firmware', 'api_description', 'https', 'variables', 'summary',
                                                     'persistence'))
        self.exit(files=files, **result)


def main():
    ProbeModule().run()


if __name__ == '__main__':
    main()
