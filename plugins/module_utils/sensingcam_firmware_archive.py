# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The local firmware archive: released images and their ``manifest.yml``, read by sensingcam_firmware (which
installs from it) and sensingcam_firmware_info (which reports the newest version in it)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import os

from ansible_collections.sensingcam.ming.plugins.module_utils.firmware_version import parse_version
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError, load_yaml_file


def load_firmware_archive(directory, device_family=None):
    """Entries of ``<directory>/manifest.yml`` (``firmware: [{version, file, sha256, device_family}]``).

    Returns a list of dicts with ``version`` (str), ``parsed`` (FirmwareVersion), ``path`` (absolute),
    ``sha256`` and ``device_family``, restricted to ``device_family`` when given, newest first.
    Raises ProfileError with a readable message when the manifest is missing or malformed.
    """
    manifest = os.path.join(directory, 'manifest.yml')
    data = load_yaml_file(manifest, 'firmware manifest')
    items = data.get('firmware') if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ProfileError('The firmware manifest %s needs a `firmware:` list.' % manifest)
    entries = []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not all(item.get(k) for k in ('version', 'file', 'sha256')):
            raise ProfileError('Entry %d of the firmware manifest %s needs version, file and sha256.'
                               % (index, manifest))
        parsed = parse_version(str(item['version']))
        if parsed is None:
            raise ProfileError('Entry %d of the firmware manifest %s has an unreadable version %r.'
                               % (index, manifest, item['version']))
        family = item.get('device_family')
        if device_family and family and family != device_family:
            continue
        entries.append({
            'version': str(item['version']),
            'parsed': parsed,
            'file': item['file'],
            'path': os.path.join(directory, item['file']),
            'sha256': str(item['sha256']).lower(),
            'device_family': family,
        })
    entries.sort(key=lambda e: e['parsed'], reverse=True)
    return entries


def file_sha256(path, chunk_size=1024 * 1024):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()
