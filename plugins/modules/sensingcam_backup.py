#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_backup
short_description: Back up or restore the configuration of a SICK sensingCam
version_added: 0.1.0
description:
  - O(state=exported) downloads the camera's configuration (profile C(files.config_export)) and writes it to
    O(dest) as C(<name>-<UTC timestamp>.json), with C(<name>-latest.json) pointing to it (a symlink, or a copy
    where symlinks are not possible). When the download equals the latest backup, no file is written.
  - O(state=restored) compares O(src) with the camera's current export and, only when they differ, uploads it
    once (profile C(files.config_import)).
  - JSON exports are compared by content (key order and whitespace do not count); other formats byte for byte.
  - Backup files are created with mode 0600; they may hold settings a plant treats as confidential.
  - A backup is first written to a new C(<file>.part), created exclusively and never through an existing file or
    a symlink (a stale one is removed, not followed), then renamed into place in one step.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff shows the latest backup against the new export, or the camera's export against O(src).
      - Values the device profile marks secret (C(files.config_export.secret_keys), and entries with
        C(secret) set to V(true)) show as C(********) at any depth of a JSON export; the backup file keeps the real
        value. A non-JSON export is not shown in the diff at all when the profile marks secret keys.
  idempotent:
    support: full
options:
  state:
    description:
      - V(exported) writes a backup; V(restored) puts O(src) back on the camera.
    type: str
    choices: [exported, restored]
    default: exported
  dest:
    description:
      - Directory for the backup files; created (mode 0700) when missing.
      - Required with O(state=exported).
    type: path
  src:
    description:
      - Backup file to restore. Required with O(state=restored).
    type: path
  name:
    description:
      - Name the backup files start with; defaults to O(host). Characters other than letters, digits, C(.), C(_)
        and C(-) become C(_).
    type: str
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Back up every camera's configuration on the controller
  sensingcam.ming.sensingcam_backup:
    host: "{{ camera_host }}"
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    name: "{{ inventory_hostname }}"
    dest: /srv/backups/cameras
  delegate_to: localhost

- name: Restore the last good configuration
  sensingcam.ming.sensingcam_backup:
    host: "{{ camera_host }}"
    password: "{{ vault_camera_password }}"
    state: restored
    src: "/srv/backups/cameras/{{ inventory_hostname }}-latest.json"
  delegate_to: localhost
'''

RETURN = r'''
backup_file:
  description:
    - The backup file written (or that would be written, in check mode); when nothing changed, the file that
      C(<name>-latest.json) points to.
  returned: O(state=exported)
  type: str
  sample: /srv/backups/cameras/line3-cam-20251127T101500Z.json
latest_file:
  description: Path of the stable C(<name>-latest.json).
  returned: O(state=exported)
  type: str
  sample: /srv/backups/cameras/line3-cam-latest.json
size:
  description: Size of the export in bytes.
  returned: O(state=exported)
  type: int
  sample: 4711
sha256:
  description: SHA-256 of the export.
  returned: O(state=exported)
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
src:
  description: The file restored from.
  returned: O(state=restored)
  type: str
  sample: /srv/backups/cameras/line3-cam-latest.json
'''

import errno  # noqa: E402
import fnmatch  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import time  # noqa: E402

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sick_login import sha256_hex  # noqa: E402

REDACTED = '********'


def _safe_path_part(text):
    return re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('._') or 'camera'


def utc_timestamp(now=None):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))


def _normalized(content):
    """Bytes to compare two configuration exports by: canonical JSON when it is JSON, else the raw bytes."""
    try:
        return json.dumps(json.loads(content), sort_keys=True, separators=(',', ':')).encode('utf-8')
    except (TypeError, ValueError):
        return bytes(content)


def _as_text(content):
    try:
        return content.decode('utf-8')
    except UnicodeDecodeError:
        return '<%d bytes of binary data>' % len(content)


def redact(value, secret_keys):
    """``value`` (parsed JSON) with the value of every key matching ``secret_keys`` (lower-case fnmatch patterns)
    replaced by ``********``, at any depth; the input is not changed."""
    if isinstance(value, dict):
        return dict((key, REDACTED if any(fnmatch.fnmatchcase(str(key).lower(), pattern) for pattern in secret_keys)
                     else redact(child, secret_keys)) for key, child in value.items())
    if isinstance(value, list):
        return [redact(child, secret_keys) for child in value]
    return value


def diff_text(content, secret_keys):
    """The export as the diff shows it: as is without secret keys; else the JSON with secret values redacted
    (re-indented), and no content at all for an export that is not JSON (its secrets cannot be found)."""
    if not secret_keys:
        return _as_text(content)
    try:
        document = json.loads(content)
    except (TypeError, ValueError):
        return '<%d bytes, not JSON: not shown, as the device profile marks secret keys>' % len(content)
    return json.dumps(redact(document, secret_keys), indent=2, ensure_ascii=False) + '\n'


def remove_stale(path):
    """Remove what a crashed earlier run (or anyone else) left at ``path``: the entry itself, never what a symlink
    there points to (unlink does not follow links)."""
    if os.path.lexists(path):
        os.unlink(path)


def write_new_file(path, content):
    """Write ``content`` to a file created here, mode 0600: O_CREAT|O_EXCL|O_NOFOLLOW, so an existing file or a
    symlink planted at ``path`` is never written through. A stale entry is removed (not followed) and the create is
    tried once more; if something reappears in between, the error stops the module."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, 'O_NOFOLLOW', 0) | getattr(os, 'O_CLOEXEC', 0)
    try:
        fd = os.open(path, flags, 0o600)
    except OSError as exc:
        if exc.errno != errno.EEXIST:
            raise
        remove_stale(path)
        fd = os.open(path, flags, 0o600)
    with os.fdopen(fd, 'wb') as handle:
        handle.write(content)


class ConfigBackupModule(SensingCamModule):
    """Export the camera configuration to a file (kept only when it changed) or restore one."""

    argument_spec = dict(
        state=dict(type='str', choices=['exported', 'restored'], default='exported'),
        dest=dict(type='path'),
        src=dict(type='path'),
        name=dict(type='str'),
    )
    required_if = [('state', 'exported', ('dest',)), ('state', 'restored', ('src',))]

    def execute(self):
        try:
            if self.params['state'] == 'exported':
                self.export()
            else:
                self.restore()
        except (IOError, OSError) as exc:
            self.fail('Cannot write or read the backup file: %s' % exc)

    def diff_text(self, content):
        try:
            secret_keys = self.profile.secret_keys()
        except ProfileError as exc:
            self.fail(str(exc))
        return diff_text(content, secret_keys)

    def backup_name(self):
        return _safe_path_part(self.params.get('name') or self.params['host'])

    def export(self):
        dest, name = self.params['dest'], self.backup_name()
        content = self.client.download('config_export')
        latest = os.path.join(dest, '%s-latest.json' % name)
        previous = None
        if os.path.exists(latest):
            with open(latest, 'rb') as handle:
                previous = handle.read()
        self.result['latest_file'] = latest
        if previous is not None and _normalized(previous) == _normalized(content):
            self.exit(changed=False, backup_file=os.path.realpath(latest), size=len(content),
                      sha256=sha256_hex(content), msg='The configuration equals the latest backup; no new file.')
        path = os.path.join(dest, '%s-%s.json' % (name, utc_timestamp()))
        counter = 1
        while os.path.exists(path):
            path = os.path.join(dest, '%s-%s-%d.json' % (name, utc_timestamp(), counter))
            counter += 1
        if self.diff_mode:
            self.result['diff'] = {'before': '' if previous is None else self.diff_text(previous),
                                   'after': self.diff_text(content), 'before_header': latest, 'after_header': path}
        if self.check_mode:
            self.exit(changed=True, backup_file=path, size=len(content), sha256=sha256_hex(content),
                      msg='Would write a new backup %s.' % path)
        if not os.path.isdir(dest):
            os.makedirs(dest, 0o700)
        temporary = path + '.part'
        write_new_file(temporary, content)
        os.rename(temporary, path)
        link = latest + '.part'
        remove_stale(link)
        try:
            os.symlink(os.path.basename(path), link)
        except (OSError, NotImplementedError):
            write_new_file(link, content)
        os.rename(link, latest)
        self.exit(changed=True, backup_file=path, size=len(content), sha256=sha256_hex(content),
                  msg='Wrote the backup %s.' % path)

    def restore(self):
        src = self.params['src']
        with open(src, 'rb') as handle:
            wanted = handle.read()
        current = self.client.download('config_export')
        self.result['src'] = src
        if _normalized(current) == _normalized(wanted):
            self.exit(changed=False, msg='The camera configuration already equals %s.' % src)
        if self.diff_mode:
            self.result['diff'] = {'before': self.diff_text(current), 'after': self.diff_text(wanted),
                                   'before_header': 'camera %s' % self.params['host'], 'after_header': src}
        if self.check_mode:
            self.exit(changed=True, msg='Would restore the camera configuration from %s.' % src)
        self.client.upload('config_import', wanted, os.path.basename(src))
        after = self.client.download('config_export')
        if _normalized(after) != _normalized(wanted):
            self.warn('The camera accepted %s, but its configuration export now differs from that file; '
                      'it may have adjusted some values.' % src)
        self.exit(changed=True, msg='Restored the camera configuration from %s.' % src)


def main():
    ConfigBackupModule().run()


if __name__ == '__main__':
    main()
