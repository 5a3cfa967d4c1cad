# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Render the firmware audit report (the dict of ``sensingcam_audit_report``) as the Markdown page that
playbooks/firmware_audit.yml writes. Python rather than a Jinja template: a template loop over thousands of cameras
costs seconds per file.

Documentation: the sidecar file ``sensingcam_audit_markdown.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

HEADER = ('| Camera | Line | Station | Ingest | Version | Verdict | Known issues and notes |\n'
          '| --- | --- | --- | --- | --- | --- | --- |')


def _text(value, empty='-'):
    """A table cell: ``empty`` for nothing, never a '|' or a line break that would break the row."""
    if value is None or value == '' or value == []:
        return empty
    return str(value).replace('|', '/').replace('\r', ' ').replace('\n', ' ')


def _remarks(camera):
    remarks = []
    for issue in camera.get('known_issues') or []:
        level = issue.get('level')
        remarks.append('%s%s' % (issue.get('summary'), ' (level %s)' % level if level else ''))
    source = camera.get('version_source')
    if source and source != 'FirmwareVersion':
        remarks.append('version from %s' % source)
    parts = camera.get('version_parts') or {}
    if parts.get('suffix'):
        remarks.append('firmware suffix %s (compared on %s)' % (parts['suffix'], parts.get('release')))
    remarks.extend(camera.get('notes') or [])
    if camera.get('error'):
        remarks.append(camera['error'])
    if camera.get('update_available'):
        remarks.append('newer firmware in the archive')
    return '; '.join(str(remark) for remark in remarks)


def sensingcam_audit_markdown(report):
    """The Markdown page of ``report``."""
    if not isinstance(report, Mapping) or not isinstance(report.get('summary'), Mapping) \
            or not isinstance(report.get('cameras'), list):
        raise AnsibleFilterError('sensingcam_audit_markdown: give it the report of sensingcam_audit_report (a dict '
                                 'with summary and cameras), got %s.' % type(report).__name__)
    summary = report['summary']
    lines = [
        '# Camera firmware audit',
        '',
        '- Generated: %s%s' % (report.get('generated_at'),
                               ' (check mode: cameras were only read, as always)' if report.get('check_mode') else ''),
        '- Approved minimum: %s' % (report.get('minimum_version')
                                    or 'none set: every reachable camera is "unknown"'),
        '- Newest firmware in the archive: %s' % (report.get('newest_available') or 'no archive given'),
        '- Device profile: `%s`' % report.get('profile'),
        '- Cameras: %s in total, %s approved, %s below minimum, %s unknown, %s unreachable'
        % (summary.get('total'), summary.get('approved'), summary.get('below_minimum'), summary.get('unknown'),
           summary.get('unreachable')),
        '',
        HEADER,
    ]
    for camera in report['cameras']:
        lines.append('| %s |' % ' | '.join((
            _text(camera.get('name')), _text(camera.get('line')), _text(camera.get('station')),
            _text(camera.get('ingest')), _text(camera.get('version')),
            _text(str(camera.get('verdict') or '').replace('_', ' ')), _text(_remarks(camera)))))
    return '\n'.join(lines) + '\n'


class FilterModule(object):
    def filters(self):
        return {'sensingcam_audit_markdown': sensingcam_audit_markdown}
