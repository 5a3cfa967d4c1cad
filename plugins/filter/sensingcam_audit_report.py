# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Shape the result of a fleet firmware audit (``sensingcam.ming.sensingcam_firmware_info`` with ``cameras``) into
the report that playbooks/firmware_audit.yml writes as JSON and Markdown.

Documentation: the sidecar file ``sensingcam_audit_report.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.sensingcam.ming.plugins.module_utils.firmware_version import parse_version

REPORT_NAME = 'sensingcam firmware audit'
VERDICTS = ('approved', 'below_minimum', 'unknown', 'unreachable')
NOT_AUDITED = ('unreachable', 'unknown')
SUMMARY_KEYS = ('total',) + VERDICTS
# Inventory variables of a camera that the report shows, by report key.
INVENTORY_KEYS = (
    ('port', 'sensingcam_port'),
    ('line', 'sensingcam_line'),
    ('station', 'sensingcam_station'),
    ('ingest', 'sensingcam_ingest'),
)
RTSP_NOTE = ('ingest is rtsp but firmware {version} is below {rtsp_from}, which is reported to drop RTSP: update the '
             'camera or set sensingcam_ingest: websocket')
RTSP_ISSUE_NOTE = ('ingest is rtsp but firmware {version} has a known RTSP issue (level {level}): {summary}. '
                   'Update the camera or set sensingcam_ingest: websocket')
HOW_TO_CALL = (
    'give it the registered result of sensingcam.ming.sensingcam_firmware_info run with cameras (fleet mode), '
    'for example "{{ firmware_audit_result | sensingcam.ming.sensingcam_audit_report(hostvars, profile) }}"')


def _fail(message):
    raise AnsibleFilterError('sensingcam_audit_report: %s' % message)


def _host_variables(hostvars, name):
    """The camera's inventory variables; a camera missing from hostvars has none."""
    try:
        variables = hostvars[name]
    except (KeyError, TypeError):
        return {}
    return variables if isinstance(variables, Mapping) else {}


def _optional(variables, key):
    try:
        value = variables[key]
    except KeyError:
        return None
    return value


def _version_below(version, threshold):
    """True when version is below threshold; False when either is missing or not a version.

    Compared with the collection's firmware parser (SICK's forms: ``2.4.2.0R`` compares on ``2.4.2.0``).
    """
    current, limit = parse_version(version), parse_version(threshold)
    if current is None or limit is None:
        return False
    return current < limit


def rtsp_notes(version, ingest, rtsp_from, known_issues=()):
    """Remarks for a camera set to take RTSP while its firmware has an RTSP problem.

    With ``rtsp_from`` (a version from which RTSP is trusted): one note when the version is below it. Without it:
    one note per known issue of the camera (the audit lists only those that apply to its version) whose summary
    mentions RTSP, with the issue's evidence level.
    """
    if ingest != 'rtsp' or version is None:
        return []
    if rtsp_from:
        return [RTSP_NOTE.format(version=version, rtsp_from=rtsp_from)] if _version_below(version, rtsp_from) else []
    notes = []
    for issue in known_issues or ():
        summary = issue.get('summary') if isinstance(issue, Mapping) else None
        if isinstance(summary, str) and 'rtsp' in summary.lower():
            notes.append(RTSP_ISSUE_NOTE.format(version=version, level=issue.get('level') or 'not given',
                                                summary=summary.rstrip('.')))
    return notes


def _check_result(result):
    if not isinstance(result, Mapping):
        _fail('expected the audit result (a dict), got %s; %s.' % (type(result).__name__, HOW_TO_CALL))
    if result.get('failed'):
        _fail('the audit task failed (%s); a report needs a successful audit.' % result.get('msg', 'no message'))
    cameras = result.get('cameras')
    if not isinstance(cameras, (list, tuple)):
        _fail('the audit result has no "cameras" list (single-camera mode, or another module\'s result); %s.'
              % HOW_TO_CALL)
    summary = result.get('summary')
    if not isinstance(summary, Mapping) or any(key not in summary for key in SUMMARY_KEYS):
        _fail('the audit result has no "summary" with %s; %s.' % (', '.join(SUMMARY_KEYS), HOW_TO_CALL))
    for index, camera in enumerate(cameras):
        if not isinstance(camera, Mapping) or not isinstance(camera.get('name'), str):
            _fail('cameras[%d] of the audit result has no camera name; %s.' % (index, HOW_TO_CALL))
        if camera.get('verdict') not in VERDICTS:
            _fail('camera %s has the verdict %r; expected one of %s.'
                  % (camera['name'], camera.get('verdict'), ', '.join(VERDICTS)))
    return cameras, summary


def _camera_row(camera, hostvars, rtsp_from):
    variables = _host_variables(hostvars, camera['name'])
    row = {'name': camera['name'], 'host': camera.get('host')}
    for key, variable in INVENTORY_KEYS:
        row[key] = _optional(variables, variable)
    parts = camera.get('version_parts')
    known_issues = [dict(issue) for issue in camera.get('known_issues') or [] if isinstance(issue, Mapping)]
    row.update({
        'version': camera.get('version'),
        'version_source': camera.get('version_source'),
        'version_strings': dict(camera.get('version_strings') or {}),
        'version_parts': parts,
        'suffix': parts.get('suffix') if isinstance(parts, Mapping) else None,
        'verdict': camera['verdict'],
        'reachable': camera.get('reachable'),
        'update_available': camera.get('update_available'),
        'known_issues': known_issues,
        'notes': rtsp_notes(camera.get('version'), row['ingest'], rtsp_from, known_issues),
        'error': camera.get('error'),
    })
    return row


def sensingcam_audit_report(result, hostvars, profile, rtsp_from=None, minimum_version=None, generated_at=None,
                            check_mode=False):
    """The firmware audit report (a dict) from the fleet audit's result and the cameras' inventory variables."""
    cameras, summary = _check_result(result)
    if not isinstance(hostvars, Mapping):
        _fail('the second argument must be hostvars (the cameras\' inventory variables by name), got %s.'
              % type(hostvars).__name__)
    if rtsp_from is not None and not isinstance(rtsp_from, str):
        _fail('rtsp_from must be a version string (the firmware from which RTSP is trusted) or null, got %r.'
              % (rtsp_from,))
    return {
        'report': REPORT_NAME,
        'generated_at': generated_at,
        'check_mode': bool(check_mode),
        'profile': profile,
        'minimum_version': minimum_version or None,
        'newest_available': result.get('newest_available'),
        'summary': dict(summary),
        'violations': [camera['name'] for camera in cameras if camera['verdict'] == 'below_minimum'],
        'not_audited': [camera['name'] for camera in cameras if camera['verdict'] in NOT_AUDITED],
        'cameras': [_camera_row(camera, hostvars, rtsp_from) for camera in cameras],
    }


class FilterModule(object):
    """Firmware audit report filter."""

    def filters(self):
        return {
            'sensingcam_audit_report': sensingcam_audit_report,
        }
