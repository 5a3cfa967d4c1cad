#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: mosquitto_passwd
short_description: Manage the users of a Mosquitto 2 password file idempotently
version_added: 0.1.0
description:
  - Keeps the users of a Mosquitto C(password_file) in the state you declare, without the C(mosquitto_passwd) binary.
  - New entries are written in the Mosquitto 2 C($7$) format (PBKDF2-HMAC-SHA512, 12-byte random salt, standard
    base64), as C(mosquitto_passwd) 2.0 writes them, with O(iterations) rounds (default V(20000), where
    C(mosquitto_passwd) writes V(101)). Existing C($7$) entries of any round count and legacy C($6$) (salted
    SHA-512) entries are verified against the declared password.
  - An entry is rewritten only when its password changed (or with O(hash_upgrade=true), when its hash is weaker
    than requested). Every other line, comments included, keeps its exact bytes and its place; new users are
    appended. A second run with the same passwords therefore reports no change and leaves the file untouched.
  - The file is replaced atomically. Send the broker a C(SIGHUP) afterwards to load it; connected clients stay.
  - Passwords and hashes never appear in messages, results or diffs.
extends_documentation_fragment:
  - sensingcam.ming.attributes
  - ansible.builtin.files
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
    details:
      - The diff lists user names, marking changed passwords and upgraded hashes; it never shows a hash.
  idempotent:
    support: full
    details:
      - Passwords are compared by verifying them against the stored hashes, so a re-run is not a change.
options:
  path:
    description:
      - Path of the password file. It is created when missing (mode C(0600) unless O(mode) is set); its directory
        must exist.
    type: path
    required: true
  users:
    description:
      - Users that must be able to log in, each with its password.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - User name. It must not contain C(:) or line breaks, start with C(#) or start or end with white space
            (the broker could not read it back).
        type: str
        required: true
      password:
        description:
          - Clear-text password; only its hash is written.
        type: str
        required: true
  absent_users:
    description:
      - Users to remove from the file. A name may not appear in both O(users) and O(absent_users).
    type: list
    elements: str
    default: []
  remove_unlisted:
    description:
      - Remove every user of the file that is not in O(users).
    type: bool
    default: false
  iterations:
    description:
      - PBKDF2 iteration count for entries this module writes (new users and changed passwords). Mosquitto 2.0
        C(mosquitto_passwd) uses V(101), cheap to brute-force from a stolen file; the broker runs this many rounds
        on every CONNECT, and V(20000) keeps that well under 50 ms on a small server
        (C(tests/bench/bench_mosquitto_password_iterations.py) measures it).
      - Existing entries that verify are kept whatever their count, unless O(hash_upgrade=true).
    type: int
    default: 20000
  hash_upgrade:
    description:
      - Also rewrite entries whose password is right but whose hash is legacy C($6$) or has fewer than
        O(iterations) rounds, as C($7$) with O(iterations) rounds.
    type: bool
    default: false
notes:
  - The broker reads the file at start and on C(SIGHUP); notify a reload handler when RV(ignore:changed) is true.
  - Verifying a C($7$) entry costs one PBKDF2 run per declared user; that is what makes re-runs idempotent.
seealso:
  - name: mosquitto_passwd manual
    description: The Mosquitto tool whose file format this module writes.
    link: https://mosquitto.org/man/mosquitto_passwd-1.html
  - name: mosquitto.conf password_file
    description: How the broker reads the password file.
    link: https://mosquitto.org/man/mosquitto-conf-5.html
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Declare the broker clients (only changed passwords are rewritten)
  sensingcam.ming.mosquitto_passwd:
    path: /opt/ming/mosquitto/config/passwd
    users:
      - name: plc-line1
        password: "{{ vault_mqtt_plc_line1_password }}"
      - name: nodered
        password: "{{ vault_mqtt_nodered_password }}"
    remove_unlisted: true
    owner: "1883"
    group: "1883"
    mode: "0600"
  notify: Reload mosquitto

- name: Retire a client and move legacy $6$ entries to $7$
  sensingcam.ming.mosquitto_passwd:
    path: /etc/mosquitto/passwd
    users:
      - name: frigate
        password: "{{ vault_mqtt_frigate_password }}"
    absent_users:
      - old-scada
    hash_upgrade: true
'''

RETURN = r'''
added:
  description: Users that were not in the file and were (or would be, in check mode) added.
  returned: always
  type: list
  elements: str
  sample: [cam-line1-st1]
updated:
  description: Users whose entry was (or would be) rewritten, because the password changed or the hash was upgraded.
  returned: always
  type: list
  elements: str
  sample: [nodered]
removed:
  description: Users that were (or would be) removed, by O(absent_users) or O(remove_unlisted).
  returned: always
  type: list
  elements: str
  sample: [old-scada]
users:
  description: User names in the file after the run (as they would be, in check mode), in file order.
  returned: always
  type: list
  elements: str
  sample: [plc-line1, nodered, cam-line1-st1]
path:
  description: Path of the password file.
  returned: always
  type: str
  sample: /opt/ming/mosquitto/config/passwd
'''

import os  # noqa: E402
import tempfile  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible.module_utils.common.text.converters import to_bytes, to_text  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.mosquitto_passwd import (  # noqa: E402
    DEFAULT_ITERATIONS,
    PasswordFile,
    PasswordFileError,
    check_user_name,
)


def argument_spec():
    return dict(
        path=dict(type='path', required=True),
        users=dict(type='list', elements='dict', default=[], options=dict(
            name=dict(type='str', required=True),
            password=dict(type='str', required=True, no_log=True),
        )),
        absent_users=dict(type='list', elements='str', default=[]),
        remove_unlisted=dict(type='bool', default=False),
        iterations=dict(type='int', default=DEFAULT_ITERATIONS),
        hash_upgrade=dict(type='bool', default=False),
    )


def check_arguments(module):
    names = [user['name'] for user in module.params['users']]
    for name in names + module.params['absent_users']:
        try:
            check_user_name(name)
        except PasswordFileError as error:
            module.fail_json(msg='Invalid user name: %s.' % error)
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        module.fail_json(msg='users declares %s more than once; keep one entry per user.' % ', '.join(duplicates))
    both = sorted(set(names) & set(module.params['absent_users']))
    if both:
        module.fail_json(msg='%s in both users and absent_users; remove it from one of them.' % ', '.join(both))
    for user in module.params['users']:
        if not user['password']:
            module.fail_json(msg='User %s has an empty password; Mosquitto clients need one.' % user['name'])
    if module.params['iterations'] < 1:
        module.fail_json(msg='iterations must be 1 or more (default %d).' % DEFAULT_ITERATIONS)


def read_file(module, path):
    """Return the file's bytes, or None when it does not exist."""
    if os.path.isdir(path):
        module.fail_json(msg='%s is a directory; path must name the password file.' % path)
    if not os.path.exists(path):
        directory = os.path.dirname(path) or '.'
        # In check mode an earlier task of the same run may be the one that would create the directory.
        if not os.path.isdir(directory) and not module.check_mode:
            module.fail_json(msg='The directory %s of the password file does not exist.' % directory)
        return None
    try:
        with open(path, 'rb') as handle:
            return handle.read()
    except (IOError, OSError) as error:
        module.fail_json(msg='Cannot read %s: %s.' % (path, to_text(error.strerror or error)))


def write_file(module, path, content, created):
    directory = os.path.dirname(path) or '.'
    try:
        handle, temporary = tempfile.mkstemp(prefix='.mosquitto_passwd.', dir=directory)
        with os.fdopen(handle, 'wb') as stream:
            stream.write(content)
    except (IOError, OSError) as error:
        module.fail_json(msg='Cannot write a temporary file in %s: %s.' % (directory, to_text(error.strerror or error)))
    module.atomic_move(temporary, path, unsafe_writes=module.params['unsafe_writes'])
    if created and module.params['mode'] is None:
        os.chmod(path, 0o600)


def main():
    module = AnsibleModule(argument_spec=argument_spec(), add_file_common_args=True, supports_check_mode=True)
    check_arguments(module)
    path = module.params['path']

    original = read_file(module, path)
    try:
        text = to_text(original or b'', errors='surrogate_or_strict')
    except UnicodeError:
        module.fail_json(msg='%s is not UTF-8 text; is it a Mosquitto password file?' % path)
    try:
        passwords = PasswordFile(text)
        for user in module.params['users']:
            passwords.set_password(user['name'], user['password'], module.params['iterations'],
                                   upgrade=module.params['hash_upgrade'])
        declared = {user['name'] for user in module.params['users']}
        for name in module.params['absent_users']:
            passwords.remove(name)
        if module.params['remove_unlisted']:
            for name in passwords.names():
                if name not in declared:
                    passwords.remove(name)
    except PasswordFileError as error:
        module.fail_json(msg='%s: %s.' % (path, error))

    content = to_bytes(passwords.render())
    created = original is None
    changed = created or content != original
    added, updated, removed = passwords.changes()
    result = dict(changed=changed, path=path, added=added, updated=updated, removed=removed,
                  users=passwords.names())
    if module._diff:
        result['diff'] = dict(
            before_header=path if not created else '%s (absent)' % path,
            after_header=path,
            before=passwords.diff_lines(after=False),
            after=passwords.diff_lines(after=True),
        )

    if changed and not module.check_mode:
        write_file(module, path, content, created)

    file_args = module.load_file_common_arguments(module.params, path=path)
    if os.path.exists(path):
        result['changed'] = module.set_fs_attributes_if_different(file_args, result['changed'])
    module.exit_json(**result)


if __name__ == '__main__':
    main()
