# -*- coding: utf-8 -*-
# Copyright (c) 2026, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""``nodered_bcrypt``: the nodered role's bcrypt hashes (adminAuth users, httpNodeAuth), made on the controller.

A hash is kept while its password still verifies against it, so a re-run writes the same file (a new salt on every
run would change the file, and so restart Node-RED, on every run). Documentation: the sidecar file
``nodered_bcrypt.yml``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

try:
    import bcrypt
    HAS_BCRYPT = True
except ImportError:
    HAS_BCRYPT = False

INSTALL_HINT = ("nodered_bcrypt needs the Python package bcrypt on the controller: install it in the interpreter "
                "that runs ansible-playbook (pip install 'bcrypt==5.0.0', pinned in requirements-dev.txt)")


def nodered_bcrypt(password, existing='', rounds=10, option='password'):
    """bcrypt hash of ``password``: ``existing`` when the password verifies against it, else a new one ($2b$, which
    Node-RED's bcryptjs reads). ``option`` names the setting in an error; the password is never shown."""
    if not HAS_BCRYPT:
        raise AnsibleFilterError(INSTALL_HINT)
    if not isinstance(password, str) or password == '':
        raise AnsibleFilterError('%s is empty: set it (vault-encrypted in a plant, from the lab secret store)' % option)
    secret = password.encode('utf-8')
    if len(secret) > 72:
        raise AnsibleFilterError('%s is longer than 72 bytes, past which bcrypt ignores the rest: use a shorter one'
                                 % option)
    if isinstance(existing, str) and existing.startswith('$2'):
        try:
            if bcrypt.checkpw(secret, existing.encode('ascii')):
                return existing
        except ValueError:
            pass  # not a bcrypt hash after all: make a new one
    return bcrypt.hashpw(secret, bcrypt.gensalt(int(rounds))).decode('ascii')


class FilterModule(object):
    """Node-RED bcrypt filter."""

    def filters(self):
        return {'nodered_bcrypt': nodered_bcrypt}
