#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_backup
short_description: Back up or restore the parameters of a SICK sensingCam
version_added: 0.1.0
description:
  - "Uses the parameter-backup flow the device profile names (profile format 2, section C(backup:)): the method
    C(backup.create_method) (CreateParameterBackup, with the O(passphrase) as its argument) makes the camera build
    its backup; an authenticated POST to C(backup.path) (C(/api/parameterbackup)) exports it; a restore PUTs a backup
    to C(backup.path), then calls C(backup.restore_method) (RestoreParameterBackup) and, when the profile names one,
    C(persistence.save_method)."
  - These steps follow SICK's flow on sibling devices and are assumed for the SEC100; if a real camera differs,
    correct the C(backup:) section of the device profile.
  - O(state=exported) writes the camera's backup (a JSON object of device variable names and values) to O(dest) as
    C(<name>-<UTC timestamp>.json), with C(<name>-latest.json) pointing to it (a symlink, or a copy where symlinks
    are not possible). When the export equals the latest backup, no file is written.
  - O(state=restored) compares O(src) with the camera's current export and, only when they differ, puts it on the
    camera once.
  - Backups are compared by content (key order and whitespace do not count).
  - Backup files are created with mode 0600; they hold settings a plant treats as confidential, and the values of
    secret settings (for example the FTP password) as the camera exports them.
  - A backup is first written to a new C(<file>.part), created exclusively and never through an existing file or
    a symlink (a stale one is removed, not followed), then renamed into place in one step.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode still calls C(backup.create_method) and exports the backup (the camera builds it; no setting
        changes), so it can compare; it writes no file and puts nothing on the camera.
  diff_mode:
    support: full
    details:
      - The diff shows the latest backup against the new export, or the camera's export against O(src).
      - Values of keys the device profile marks secret (C(backup.secret_keys), and variables with C(secret) set to
        V(true)) show as C(********) at any depth; the backup file keeps the real value.
  idempotent:
    support: full
    details:
      - A second export of an unchanged camera writes no file; a second restore of the same O(src) sends nothing.
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
      - Backup file to restore (one this module wrote). Required with O(state=restored).
    type: path
  name:
    description:
      - Name the backup files start with; defaults to O(host). Characters other than letters, digits, C(.), C(_)
        and C(-) become C(_).
    type: str
  passphrase:
    description:
      - The passphrase C(backup.create_method) takes (its C(argument), C(Passphrase) in the shipped profile).
        Required when the profile's create method names an argument.
      - Never shown in output or error messages. Keep it in a vault.
    type: str
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Back up every camera's parameters on the controller
  sensingcam.ming.sensingcam_backup:
    host: "{{ camera_host }}"
    password: "{{ vault_camera_password }}"
    passphrase: "{{ vault_camera_backup_passphrase }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    name: "{{ inventory_hostname }}"
    dest: /srv/backups/cameras
  delegate_to: localhost

- name: Restore the last good parameters
  sensingcam.ming.sensingcam_backup:
    host: "{{ camera_host }}"
    password: "{{ vault_camera_password }}"
    passphrase: "{{ vault_camera_backup_passphrase }}"
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
  description: Size of the backup file content in bytes.
  returned: O(state=exported)
  type: int
  sample: 4711
sha256:
  description: SHA-256 of the backup file content.
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

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import SensingCamModule  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_profile import ProfileError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sick_login import sha256_hex  # noqa: E402

REDACTED = '********'


def _safe_path_part(text):
    return re.sub(r'[^A-Za-z0-9._-]+', '_', text).strip('._') or 'camera'


def utc_timestamp(now=None):
    return time.strftime('%Y%m%dT%H%M%SZ', time.gmtime(now))


def file_content(document):
    """The bytes a backup file holds: the exported document as indented JSON with sorted keys."""
    return (json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + '\n').encode('utf-8')


def canonical(document):
    """What two backups are compared by: their JSON with sorted keys and no whitespace."""
    return json.dumps(document, sort_keys=True, separators=(',', ':'))


def redact(value, secret_keys):
    """``value`` (parsed JSON) with the value of every key matching ``secret_keys`` (lower-case fnmatch patterns)
    replaced by ``********``, at any depth; the input is not changed."""
    if isinstance(value, dict):
        return dict((key, REDACTED if any(fnmatch.fnmatchcase(str(key).lower(), pattern) for pattern in secret_keys)
                     else redact(child, secret_keys)) for key, child in value.items())
    if isinstance(value, list):
        return [redact(child, secret_keys) for child in value]
    return value


def diff_text(document, secret_keys):
    """A backup as the diff shows it: indented JSON with the values of secret keys redacted."""
    return json.dumps(redact(document, secret_keys), indent=2, sort_keys=True, ensure_ascii=False) + '\n'


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


class ParameterBackupModule(SensingCamModule):
    """Export the camera's parameter backup to a file (kept only when it changed) or restore one."""

    argument_spec = dict(
        state=dict(type='str', choices=['exported', 'restored'], default='exported'),
        dest=dict(type='path'),
        src=dict(type='path'),
        name=dict(type='str'),
        passphrase=dict(type='str', no_log=True),
    )
    required_if = [('state', 'exported', ('dest',)), ('state', 'restored', ('src',))]

    def execute(self):
        try:
            self.create = self.profile.method('backup.create_method')
            self.restore_method = self.profile.method('backup.restore_method')
            self.path = str(self.profile.setting('backup', 'path'))
            self.secret_keys = self.profile.secret_keys()
        except ProfileError as exc:
            self.fail(str(exc))
        # The file name the camera's login covers (HA2 POST:<name>) and the key of the backup in data.
        self.backup_name = self.path.rstrip('/').rsplit('/', 1)[-1]
        if self.create.argument and not self.params.get('passphrase'):
            self.fail('passphrase is required: the device profile %s names %s (backup.create_method) with the '
                      'argument %s. Give the backup passphrase (from a vault) in the passphrase option.'
                      % (self.profile.path, self.create.name, self.create.argument))
        try:
            if self.params['state'] == 'exported':
                self.export()
            else:
                self.restore()
        except (IOError, OSError) as exc:
            self.fail('Cannot write or read the backup file: %s' % exc)

    # -- the camera's side ------------------------------------------------------------------------------------
    def what(self, action):
        return '%s the parameter backup (%s, profile `backup.path`)' % (action, self.path)

    def export_from_camera(self):
        """Let the camera build its backup (create method), then export it: the backup document (a dict)."""
        self.client.call_method('backup.create_method', self.params.get('passphrase'))
        what = self.what('export')
        data = self._send('POST', {}, what)
        if not isinstance(data, dict) or not isinstance(data.get(self.backup_name), dict):
            raise SensingCamError('The reply of the camera at %s to %s holds no object under %s.%s; check '
                                  '`backup:` in the device profile %s.'
                                  % (self.client.base_url, what, self.profile.data_key, self.backup_name,
                                     self.profile.path), 'protocol')
        return data[self.backup_name]

    def put_on_camera(self, document, src):
        """PUT the backup document, call the restore method and, when the profile names one, the save method.
        A failure says how far the camera got."""
        try:
            self._send('PUT', {self.profile.data_key: {self.backup_name: document}}, self.what('import'))
        except SensingCamError as exc:
            self.fail('The camera did not take %s; its parameters are unchanged: %s' % (src, exc.message))
        try:
            self.client.call_method('backup.restore_method')
        except SensingCamError as exc:
            self.fail('The camera took %s but did not restore it with %s (profile `backup.restore_method`); its '
                      'parameters should be unchanged, check them: %s' % (src, self.restore_method.name, exc.message))
        if self.profile.save_method:
            try:
                self.client.call(self.profile.save_method)
            except SensingCamError as exc:
                self.fail('The camera restored %s but did not save it with %s (profile `persistence.save_method`); '
                          'the restored parameters may be lost at the next power cycle: %s'
                          % (src, self.profile.save_method, exc.message), changed=True)

    def _send(self, method, body, what):
        """One authenticated request to backup.path with ``body`` plus the login header; the envelope's data.

        The client's ``send``: on a relogin status one new challenge and one resend (the camera refused before
        acting); a second refusal is a login error. Never retried otherwise."""
        return self.client.send(method, self.path, self.backup_name, body, what=what)

    # -- files ------------------------------------------------------------------------------------------------
    def backup_file_name(self):
        return _safe_path_part(self.params.get('name') or self.params['host'])

    def read_backup_file(self, path):
        with open(path, 'rb') as handle:
            content = handle.read()
        try:
            document = json.loads(content.decode('utf-8'))
        except (UnicodeDecodeError, ValueError):
            document = None
        if not isinstance(document, dict):
            self.fail('%s is not a parameter backup of this collection (a JSON object of device variable names and '
                      'values, as state=exported writes it). Backups of the retired configuration export cannot '
                      'be restored.' % path)
        return document

    def export(self):
        dest, name = self.params['dest'], self.backup_file_name()
        document = self.export_from_camera()
        content = file_content(document)
        latest = os.path.join(dest, '%s-latest.json' % name)
        previous = self.read_backup_file(latest) if os.path.exists(latest) else None
        self.result['latest_file'] = latest
        if previous is not None and canonical(previous) == canonical(document):
            self.exit(changed=False, backup_file=os.path.realpath(latest), size=len(content),
                      sha256=sha256_hex(content), msg='The parameters equal the latest backup; no new file.')
        path = os.path.join(dest, '%s-%s.json' % (name, utc_timestamp()))
        counter = 1
        while os.path.exists(path):
            path = os.path.join(dest, '%s-%s-%d.json' % (name, utc_timestamp(), counter))
            counter += 1
        if self.diff_mode:
            self.result['diff'] = {'before': '' if previous is None else diff_text(previous, self.secret_keys),
                                   'after': diff_text(document, self.secret_keys), 'before_header': latest,
                                   'after_header': path}
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
        wanted = self.read_backup_file(src)
        self.result['src'] = src
        current = self.export_from_camera()
        if canonical(current) == canonical(wanted):
            self.exit(changed=False, msg='The camera parameters already equal %s.' % src)
        if self.diff_mode:
            self.result['diff'] = {'before': diff_text(current, self.secret_keys),
                                   'after': diff_text(wanted, self.secret_keys),
                                   'before_header': 'camera %s' % self.params['host'], 'after_header': src}
        if self.check_mode:
            self.exit(changed=True, msg='Would restore the camera parameters from %s.' % src)
        self.put_on_camera(wanted, src)
        after = self.export_from_camera()
        if canonical(after) != canonical(wanted):
            differ = sorted(k for k in set(after) | set(wanted) if canonical(after.get(k)) != canonical(wanted.get(k)))
            self.warn('The camera accepted %s, but its backup now differs from that file in: %s; it may have '
                      'adjusted some values.' % (src, ', '.join(str(k) for k in differ)))
        self.exit(changed=True, msg='Restored the camera parameters from %s.' % src)


def main():
    ParameterBackupModule().run()


if __name__ == '__main__':
    main()
