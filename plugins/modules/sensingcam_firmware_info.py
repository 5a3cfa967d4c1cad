#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_firmware_info
short_description: Audit the firmware of one SICK sensingCam or of a whole fleet
version_added: 0.1.0
description:
  - Reads the firmware version of a SICK sensingCam (SEC100 family), compares it with O(minimum_version) and
    with the newest firmware in a local archive, and lists the profile's known issues for that version, each with
    the C(level) of its evidence.
  - The version is C(FirmwareVersion); when the camera does not know that name or its string does not read as a
    version, C(ExtendedFirmwareVersion), then C(Version) of C(DeviceIdent) (the profile's
    C(variables.identity) entries). The result says which one was used (C(version_source)) and the exact strings
    read (C(version_strings)); the fallbacks are read only when needed.
  - Fleet mode (O(cameras)) audits many cameras at once, O(parallel) at a time, in one task, and never fails
    because a camera is unreachable; that camera gets C(verdict=unreachable) and an C(error).
  - Single-camera mode (O(host)) does not fail on an unreachable camera either; check C(reachable) or C(verdict).
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.info_module
options:
  host:
    description:
      - Address of the one camera to audit. Use O(cameras) for a fleet.
      - Exactly one of O(host) and O(cameras) is needed.
    required: false
  cameras:
    description:
      - The fleet to audit. Options a camera does not set are taken from this module's own options
        (O(port), O(use_tls), O(validate_certs), O(ca_path), O(username), O(password), O(timeout), O(retries)).
    type: list
    elements: dict
    suboptions:
      name:
        description: Name to report the camera under; defaults to its host.
        type: str
      host:
        description: Address of the camera.
        type: str
        required: true
      port:
        description: TCP port of the camera's web API.
        type: int
      use_tls:
        description: Talk HTTPS.
        type: bool
      validate_certs:
        description: Check the camera's TLS certificate.
        type: bool
      ca_path:
        description: PEM file of the CA that signed the camera's certificate.
        type: path
      username:
        description: Camera user, when reads need a login.
        type: str
      password:
        description: Password of the camera user, when reads need a login.
        type: str
      timeout:
        description: Seconds to wait for each answer of this camera.
        type: float
      retries:
        description: Retries of a read after a network error.
        type: int
      profile:
        description:
          - Device profile of this camera's firmware line; defaults to O(profile). Each distinct file is read once.
        type: path
  parallel:
    description:
      - How many cameras of O(cameras) are audited at the same time.
    type: int
    default: 16
  archive:
    description:
      - Directory with the released firmware files and their C(manifest.yml)
        (C(firmware) list of C(version), C(file), C(sha256), C(device_family)).
      - When given, the newest version for the profile's device family is reported and compared.
    type: path
  minimum_version:
    description:
      - Lowest approved firmware version. Without it every reachable camera gets C(verdict=unknown).
    type: str
notes:
  - Verdicts are V(approved) (at or above O(minimum_version)), V(below_minimum), V(unknown) (no minimum given, the
    version could not be read, or the login was refused) and V(unreachable) (no answer, timeout or TLS failure).
  - With O(timeout=3) and O(retries=0), a fleet with many dead cameras finishes in about
    (dead cameras / O(parallel)) x 3 seconds.
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Audit one camera against the approved minimum and the local archive
  sensingcam.ming.sensingcam_firmware_info:
    host: 192.168.136.100
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    archive: /srv/firmware/sensingcam
    minimum_version: "2.6.0"
  delegate_to: localhost
  register: audit

- name: Audit the whole fleet in one task (one entry per camera; passwords from the vault)
  sensingcam.ming.sensingcam_firmware_info:
    cameras:
      - {name: line1-cam1, host: 10.1.1.10}
      - {name: line1-cam2, host: 10.1.1.11, port: 8080}
      - {name: line2-cam1, host: 10.1.2.10, username: Service, password: "{{ vault_line2_camera_password }}"}
    parallel: 32
    timeout: 3
    retries: 0
    minimum_version: "2.6.0"
    archive: /srv/firmware/sensingcam
  run_once: true
  delegate_to: localhost
  register: fleet_audit

- name: Cameras that need an update
  ansible.builtin.debug:
    msg: "{{ fleet_audit.cameras | selectattr('verdict', 'equalto', 'below_minimum') | map(attribute='name') }}"
'''

RETURN = r'''
reachable:
  description: Whether the camera answered.
  returned: single-camera mode
  type: bool
  sample: true
version:
  description: Firmware version the camera reports; V(null) when it did not answer.
  returned: single-camera mode
  type: str
  sample: "2.5.3"
version_source:
  description:
    - Where RV(version) comes from - V(FirmwareVersion), V(ExtendedFirmwareVersion) or V(DeviceIdent.Version)
      (the device names of the profile); V(null) when no string read as a version.
  returned: single-camera mode
  type: str
  sample: FirmwareVersion
version_strings:
  description: The exact firmware strings read, by source (only those needed to find a version).
  returned: single-camera mode
  type: dict
  sample: {FirmwareVersion: "2.5.3"}
version_parts:
  description:
    - The parts of RV(version) (C(release), C(suffix), C(prerelease), C(build)); V(null) when it is not a version.
  returned: single-camera mode
  type: dict
  sample: {release: "2.5.3", suffix: null, prerelease: null, build: null}
verdict:
  description: V(approved), V(below_minimum), V(unknown) or V(unreachable).
  returned: single-camera mode
  type: str
  sample: below_minimum
known_issues:
  description:
    - Known issues from the profile (C(firmware.known_issues)) that apply to this version, with C(below) (or
      C(from)), C(summary) and C(level) (the evidence behind the issue, for example V(assumed)).
  returned: single-camera mode
  type: list
  elements: dict
  sample: [{below: "2.6.0", summary: "RTSP connections reported to drop intermittently (third-party report);
            workaround RTSP over TCP", level: assumed}]
update_available:
  description: Whether O(archive) holds a newer version; V(null) without archive or version.
  returned: single-camera mode
  type: bool
  sample: true
error:
  description: Why the camera could not be audited; V(null) when it could.
  returned: single-camera mode
  type: str
  sample: null
name:
  description: The camera's host (single-camera mode has no separate name).
  returned: single-camera mode
  type: str
  sample: 192.168.136.100
newest_available:
  description: Newest firmware version in O(archive) for the profile's device family.
  returned: when O(archive) is given
  type: str
  sample: "2.7.0"
cameras:
  description: One entry per camera of O(cameras), in the same order.
  returned: fleet mode
  type: list
  elements: dict
  contains:
    name:
      description: O(cameras[].name), or the host.
      type: str
      sample: line1-cam1
    host:
      description: Address of the camera.
      type: str
      sample: 10.1.1.10
    reachable:
      description: Whether the camera answered.
      type: bool
      sample: true
    version:
      description: Firmware version the camera reports (the string of RV(cameras[].version_source)).
      type: str
      sample: "2.6.1"
    version_source:
      description:
        - V(FirmwareVersion), V(ExtendedFirmwareVersion) or V(DeviceIdent.Version); V(null) when none read as a
          version.
      type: str
      sample: FirmwareVersion
    version_strings:
      description: The exact firmware strings read, by source.
      type: dict
      sample: {FirmwareVersion: "2.6.1"}
    version_parts:
      description:
        - The parts of RV(cameras[].version) as read (V(null) when it is not a version) - C(release) (the numbers
          that are compared), C(suffix) (SICK's letter, for example V(R) of V(2.4.2.0R); it orders only as the
          profile's C(firmware.suffix_order) says), C(prerelease) and C(build).
      type: dict
      sample: {release: "2.4.2.0", suffix: R, prerelease: null, build: null}
    verdict:
      description: V(approved), V(below_minimum), V(unknown) or V(unreachable).
      type: str
      sample: approved
    known_issues:
      description: Known issues from the profile that apply to this version, each with its C(level).
      type: list
      elements: dict
      sample: []
    update_available:
      description: Whether O(archive) holds a newer version.
      type: bool
      sample: false
    error:
      description: Why the camera could not be audited, or V(null).
      type: str
      sample: "Cannot reach the camera at http://10.1.1.12:80 to read 'FirmwareVersion' (Connection refused). ..."
  sample: [{name: line1-cam1, host: 10.1.1.10, reachable: true, version: "2.6.1", version_source: FirmwareVersion,
            version_strings: {FirmwareVersion: "2.6.1"}, verdict: approved, known_issues: [],
            update_available: false, error: null}]
summary:
  description: Number of cameras per verdict, and in total.
  returned: fleet mode
  type: dict
  sample: {total: 500, approved: 480, below_minimum: 12, unknown: 0, unreachable: 8}
'''

from concurrent.futures import ThreadPoolExecutor  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils._api import scrub  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.firmware_version import parse_version  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import (  # noqa: E402
    SensingCamClient,
    SensingCamError,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_firmware_archive import (  # noqa: E402
    load_firmware_archive,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import (  # noqa: E402
    SensingCamModule,
    connection_argument_spec,
)
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import (  # noqa: E402
    DeviceProfile,
    ProfileError,
)


def firmware_verdict(version, minimum_version, suffix_order=None):
    """approved / below_minimum / unknown (no version or no minimum to judge by).

    ``suffix_order`` is the profile's ``firmware.suffix_order``: without it a letter suffix (``2.4.2.0R``) does not
    order, so a camera on ``2.6.0R`` is approved for a minimum of ``2.6.0``.
    """
    current, minimum = parse_version(version, suffix_order), parse_version(minimum_version, suffix_order)
    if current is None or minimum is None:
        return 'unknown'
    return 'approved' if current >= minimum else 'below_minimum'


def read_firmware_version(client, profile):
    """``(version, source, strings)`` of one camera (``DeviceProfile.firmware_version``): a name the camera does not
    know is skipped, but when it knows none of them the first not-found error is raised, naming the profile key."""
    missing = []

    def read(field):
        try:
            return client.read_field(field)
        except SensingCamError as exc:
            if exc.kind != 'not_found':
                raise
            missing.append(exc)
            return None

    text, source, _parsed, strings = profile.firmware_version(read)
    if not strings and missing:
        raise missing[0]
    return text, source, strings


def version_parts(version, profile):
    """The parsed parts of ``version`` for the report (release, suffix, prerelease, build), or None."""
    try:
        parsed = profile.version(version)
    except ProfileError:
        parsed = parse_version(version)
    return None if parsed is None else parsed.parts()


def audit_camera(camera, profile, minimum_version=None, newest_available=None, opener=None):
    """Firmware audit of one camera; never raises for the camera's own faults.

    ``camera`` holds client options: host (required), name, port, use_tls, validate_certs, ca_path, username,
    password, timeout, retries. ``profile`` is a DeviceProfile, or the ProfileError of the camera's own profile.
    ``opener`` stands in for open_url (tests). Returns ``{name, host, reachable, version, version_parts, verdict,
    version_source, version_strings, known_issues, update_available, error}``.
    """
    result = {'name': camera.get('name') or camera['host'], 'host': camera['host'], 'reachable': False,
              'version': None, 'version_source': None, 'version_strings': {}, 'version_parts': None,
              'verdict': 'unreachable', 'known_issues': [], 'update_available': None, 'error': None}
    try:
        if isinstance(profile, ProfileError):
            raise profile
        suffix_order = profile.suffix_order
        client = SensingCamClient(
            camera['host'], profile, port=camera.get('port'), use_tls=camera.get('use_tls') or False,
            validate_certs=camera.get('validate_certs', True) is not False, ca_path=camera.get('ca_path'),
            username=camera.get('username'), password=camera.get('password'),
            timeout=camera.get('timeout') or 10, retries=camera.get('retries', 2), opener=opener)
        version, result['version_source'], result['version_strings'] = read_firmware_version(client, profile)
    except SensingCamError as exc:
        result['error'] = scrub(exc.message, camera.get('password'))
        if exc.kind not in ('timeout', 'unreachable', 'tls'):
            # Answered but refused or misunderstood, or not asked at all (config: e.g. a non-ASCII password).
            result['reachable'] = exc.kind != 'config'
            result['verdict'] = 'unknown'
        return result
    except ProfileError as exc:
        result['error'] = str(exc)
        result['verdict'] = 'unknown'
        return result
    result['reachable'] = True
    result['version'] = None if version is None else str(version)
    result['version_parts'] = version_parts(result['version'], profile)
    result['verdict'] = firmware_verdict(result['version'], minimum_version, suffix_order)
    result['known_issues'] = profile.known_issues(result['version'])
    current, newest = parse_version(result['version'], suffix_order), parse_version(newest_available, suffix_order)
    if current is not None and newest is not None:
        result['update_available'] = newest > current
    return result


def audit_fleet(cameras, profile, minimum_version=None, newest_available=None, parallel=16, opener=None,
                profiles=None):
    """``audit_camera`` for every camera, ``parallel`` at a time; results in the order of ``cameras``.

    A camera with its own ``profile`` path is audited with ``profiles[path]`` (a DeviceProfile or the ProfileError
    of loading it); the others with ``profile``.
    """
    profiles = profiles or {}

    def one(camera):
        own = profiles.get(camera.get('profile'), profile) if camera.get('profile') else profile
        return audit_camera(camera, own, minimum_version, newest_available, opener=opener)

    workers = max(1, min(int(parallel or 1), len(cameras) or 1))
    if workers == 1:
        return [one(camera) for camera in cameras]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, cameras))


FLEET_CAMERA_OPTIONS = ('port', 'use_tls', 'validate_certs', 'ca_path', 'username', 'password', 'timeout', 'retries')


def fleet_camera_spec():
    """Suboptions of ``cameras`` in sensingcam_firmware_info: unset ones inherit the module's top-level value."""
    return dict(
        name=dict(type='str'),
        host=dict(type='str', required=True),
        port=dict(type='int'),
        use_tls=dict(type='bool'),
        validate_certs=dict(type='bool'),
        ca_path=dict(type='path'),
        username=dict(type='str'),
        password=dict(type='str', no_log=True),
        timeout=dict(type='float'),
        retries=dict(type='int'),
        profile=dict(type='path'),
    )


def load_profiles(paths, default_path, default_profile):
    """``{path: DeviceProfile or ProfileError}`` for every distinct camera profile path (each loaded once)."""
    loaded = {default_path: default_profile}
    for path in paths:
        if path and path not in loaded:
            try:
                loaded[path] = DeviceProfile.load(path)
            except ProfileError as exc:
                loaded[path] = exc
    return loaded


class FirmwareAuditModule(SensingCamModule):
    """Firmware audit of one camera (``host``) or of a fleet (``cameras``, ``parallel`` at a time)."""

    connect = False
    argument_spec = dict(
        host=dict(connection_argument_spec()['host'], required=False),
        cameras=dict(type='list', elements='dict', options=fleet_camera_spec()),
        parallel=dict(type='int', default=16),
        archive=dict(type='path'),
        minimum_version=dict(type='str'),
    )
    required_one_of = [('host', 'cameras')]
    mutually_exclusive = [('host', 'cameras')]

    def execute(self):
        params = self.params
        newest = None
        if params.get('archive'):
            try:
                archive = load_firmware_archive(params['archive'], self.profile.device_family)
            except ProfileError as exc:
                self.fail(str(exc))
            newest = archive[0]['version'] if archive else None
            self.result['newest_available'] = newest
        minimum = params.get('minimum_version')
        if minimum is not None and parse_version(minimum, self.profile.suffix_order) is None:
            self.fail('minimum_version %r is not a version number.' % minimum)
        if params.get('cameras') is not None:
            cameras = []
            for camera in params['cameras']:
                merged = dict(camera)
                for key in FLEET_CAMERA_OPTIONS:
                    if merged.get(key) is None:
                        merged[key] = params.get(key)
                cameras.append(merged)
            profiles = load_profiles([camera.get('profile') for camera in cameras], params['profile'], self.profile)
            results = audit_fleet(cameras, self.profile, minimum, newest, parallel=params['parallel'],
                                  profiles=profiles)
            summary = dict((verdict, 0) for verdict in ('approved', 'below_minimum', 'unknown', 'unreachable'))
            for item in results:
                summary[item['verdict']] = summary.get(item['verdict'], 0) + 1
            summary['total'] = len(results)
            self.exit(cameras=results, summary=summary)
        item = audit_camera(params, self.profile, minimum, newest)
        item.pop('host', None)
        self.exit(**item)


def main():
    FirmwareAuditModule().run()


if __name__ == '__main__':
    main()
