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


def archive_file_path(directory, manifest, index, item):
    """The path of entry ``index``'s ``file:`` inside the archive ``directory``.

    A manifest names files relative to its own directory: an absolute path, a ``..`` component, or a name that
    resolves (through a symlink) to a file outside the archive directory is refused with a ProfileError naming the
    manifest and the entry, so a manifest can never point the module at another file on the controller.
    """
    name = item['file']
    where = 'Entry %d (version %s) of the firmware manifest %s' % (index, item.get('version'), manifest)
    if not isinstance(name, str):
        raise ProfileError('%s: file must be a file name, not %r.' % (where, name))
    if os.path.isabs(name):
        raise ProfileError('%s: file %r is an absolute path; name the file relative to the archive directory %s.'
                           % (where, name, directory))
    if '..' in name.replace('\\', '/').split('/'):
        raise ProfileError('%s: file %r contains "..": the file must lie inside the archive directory %s.'
                           % (where, name, directory))
    path = os.path.join(directory, name)
    root = os.path.realpath(directory)
    resolved = os.path.realpath(path)
    if os.path.commonpath([root, resolved]) != root:
        raise ProfileError('%s: file %r resolves to %s, outside the archive directory %s (a symlink leaving the '
                           'archive); copy the image into the archive instead.' % (where, name, resolved, root))
    return path


def load_firmware_archive(directory, device_family=None, suffix_order=None):
    """Entries of ``<directory>/manifest.yml`` (``firmware: [{version, file, sha256, device_family}]``).

    Returns a list of dicts with ``version`` (str), ``parsed`` (FirmwareVersion, under the device profile's
    ``suffix_order`` when given, so it compares with the camera's version as the profile says), ``path``
    (absolute), ``sha256`` and ``device_family``, restricted to ``device_family`` when given, newest first.
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
        parsed = parse_version(str(item['version']), suffix_order)
        if parsed is None:
            raise ProfileError('Entry %d of the firmware manifest %s has an unreadable version %r.'
                               % (index, manifest, item['version']))
        path = archive_file_path(directory, manifest, index, item)
        family = item.get('device_family')
        if device_family and family and family != device_family:
            continue
        entries.append({
            'version': str(item['version']),
            'parsed': parsed,
            'file': item['file'],
            'path': path,
            'sha256': str(item['sha256']).lower(),
            'device_family': family,
        })
    entries.sort(key=lambda e: e['parsed'], reverse=True)
    return entries


def read_image(path):
    """The bytes of a firmware image (whole: the chunked upload slices it)."""
    with open(path, 'rb') as handle:
        return handle.read()


def file_sha256(path, chunk_size=1024 * 1024):
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for chunk in iter(lambda: handle.read(chunk_size), b''):
            digest.update(chunk)
    return digest.hexdigest()
