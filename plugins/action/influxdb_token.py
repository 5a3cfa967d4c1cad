# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Action plugin of sensingcam.ming.influxdb_token: keeps the token's value in the store on the controller.

1. Checks the store options before anything is sent: ``store_path`` with ``state: present``; with
   ``store_format: vault`` a vault secret (``store_vault_id`` when given) must be loaded.
2. Tells the module whether the store already holds a value (``value_stored``) and runs it.
3. Takes a new token's value out of the module result, writes it to ``store_path`` (plain: mode 0600, directory
   0700, atomic; vault: encrypted with the play's vault secret), and only then lets the module delete a replaced
   token (``retire_id``). With ``state: absent`` it removes the stored value.
4. Returns the result without the value. In check mode nothing is stored.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_bytes, to_native, to_text
from ansible.plugins.action import ActionBase

from ansible_collections.sensingcam.ming.plugins.module_utils._api import scrub
from ansible_collections.sensingcam.ming.plugins.module_utils.atomic_write import write_file_atomically

MODULE = 'sensingcam.ming.influxdb_token'
VALUE_KEY = 'new_token_value'
INTERNAL_OPTIONS = ('value_stored', 'retire_id')


class ActionModule(ActionBase):

    TRANSFERS_FILES = False

    def run(self, tmp=None, task_vars=None):
        result = super(ActionModule, self).run(tmp, task_vars)
        args = dict(self._task.args)
        state = args.get('state') or 'present'
        store_format = args.get('store_format') or 'plain'

        def failed(msg):
            result.update(failed=True, changed=False, msg=msg)
            return result

        for option in INTERNAL_OPTIONS:
            if args.get(option) not in (None, False):
                return failed('%s is set by the influxdb_token action plugin; remove it from the task.' % option)
        store_path = args.get('store_path')
        if state == 'present' and not store_path:
            return failed('store_path is required with state: present; it names the file on the controller that '
                          'keeps the token value (InfluxDB 2.9 cannot show it again).')
        if store_path:
            store_path = self._loader.path_dwim(os.path.expanduser(to_text(store_path)))
            args['store_path'] = store_path
        vault = None
        if store_format == 'vault' and state == 'present':
            vault = self.vault_secret(args.get('store_vault_id'))
            if isinstance(vault, str):
                return failed(vault)

        args['value_stored'] = bool(store_path) and os.path.isfile(store_path) and os.path.getsize(store_path) > 0
        module_result = self._execute_module(module_name=MODULE, module_args=args, task_vars=task_vars)
        value = module_result.pop(VALUE_KEY, None)
        retire_id = module_result.pop('retire_id', None)
        result.update(module_result)
        if result.get('failed'):
            result['msg'] = scrub(result.get('msg'), value)
            return result

        if state == 'absent':
            if store_path and os.path.lexists(store_path):
                if not self._task.check_mode:
                    os.unlink(store_path)
                result['changed'] = True
            return result

        if value and not self._task.check_mode:
            authorization_id = (result.get('authorization') or {}).get('id')
            try:
                self.store(store_path, value, store_format, vault)
            except (OSError, AnsibleError) as exc:
                return failed(scrub(
                    "InfluxDB created the API token '%s' (authorization ID %s), but its value could not be stored at "
                    '%s: %s. The value is lost; fix the store and re-run with rotate: true (it replaces '
                    'authorization %s).%s' % (args.get('description'), authorization_id, store_path, to_native(exc),
                                              authorization_id,
                                              ' The replaced token %s is still in InfluxDB.' % retire_id
                                              if retire_id else ''), value))
            result['stored'] = True
            if retire_id:
                retire_args = dict(args, retire_id=retire_id)
                retired = self._execute_module(module_name=MODULE, module_args=retire_args, task_vars=task_vars)
                if retired.get('failed'):
                    return failed("The new value of API token '%s' is stored at %s, but the replaced authorization "
                                  '%s could not be deleted: %s' % (args.get('description'), store_path, retire_id,
                                                                   retired.get('msg')))
                result['retired_id'] = retire_id
        return result

    # -- the store --------------------------------------------------------------------------------------------
    def vault_secret(self, vault_id):
        """(vault_id, secret) to encrypt with, or a message saying why there is none."""
        from ansible.parsing.vault import match_encrypt_secret

        vault = getattr(self._loader, '_vault', None)
        secrets = list(getattr(vault, 'secrets', None) or [])
        if not secrets:
            return ('store_format: vault needs a vault secret, and this play has none: run with --vault-id or '
                    '--vault-password-file (or set ANSIBLE_VAULT_PASSWORD_FILE), or use store_format: plain.')
        try:
            return match_encrypt_secret(secrets, encrypt_vault_id=vault_id)
        except AnsibleError:
            return ("store_vault_id='%s': no vault secret with that ID is loaded (loaded: %s). Pass it with --vault-id "
                    '%s@<source>.' % (vault_id, ', '.join(sorted(set(str(s[0]) for s in secrets))), vault_id))

    def store(self, path, value, store_format, vault):
        directory = os.path.dirname(path) or '.'
        if not os.path.isdir(directory):
            os.makedirs(directory, mode=0o700)
        if store_format == 'vault':
            from ansible.parsing.vault import VaultLib

            vault_id, secret = vault
            data = VaultLib([vault]).encrypt(to_bytes(value), secret=secret, vault_id=vault_id)
        else:
            data = to_bytes(value)
        write_file_atomically(path, data, 0o600)
