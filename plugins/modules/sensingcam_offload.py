#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_offload
short_description: Set where a SICK sensingCam sends its event clips (FTP or sFTP, Samba share)
version_added: 0.2.0
description:
  - Sets the clip offload of a SICK sensingCam SEC100 (the C(Ftp*) variables and C(SetSambaEnabled) of the device
    profile's C(variables.offload)), that is protocol, server, port, directory, login, passive and fallback mode.
  - The server's port, user and password are O(server_port), O(server_username) and O(server_password); O(port),
    O(username) and O(password) are the camera's own connection options.
  - Every value you set is checked against the device profile before anything is sent; an error names the option
    and what the camera accepts.
  - Only the options you set are read and compared; each differing one is written with its own login.
  - The server password is write-only, the camera's copy is never read or shown. Whether it differs is decided by a
    salted hash the module keeps of the last password it wrote to this camera, in a file under O(secret_state_dir)
    on the host the module runs on; a first run writes it once, the same password again is no change, a new one is
    one write. After a factory reset of the camera, delete that file so the next run writes the password again.
  - With O(test_connection), the camera tries to log in to the server after the settings are written
    (C(FtpConnectToServer)); a failed test fails the task with the camera's answer. Not run in check mode.
  - V(ftp) sends the server login and the clips in clear text; the module warns when you choose it.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.sensingcam.secret_state
  - sensingcam.ming.attributes
attributes:
  check_mode:
    support: full
    details:
      - O(test_connection) is skipped in check mode.
  diff_mode:
    support: full
    details:
      - The password shows as C(********) in the diff and the results.
  idempotent:
    support: full
options:
  protocol:
    description:
      - V(sftp) (SSH file transfer) or V(ftp) (clear text) (C(FtpProtocol)).
    type: str
    choices: [ftp, sftp]
  server:
    description:
      - The server, as an IPv4 address like V(192.168.136.20) (C(FtpServerAddress)); the camera takes no host name.
    type: str
  server_port:
    description:
      - TCP port of the server (C(FtpPort)), 1 to 65535. Not O(port), which is the camera's own web API port.
    type: int
  directory:
    description:
      - Directory on the server the clips go to (C(FtpServerDirectory)).
    type: str
  server_username:
    description:
      - Login on the server (C(FtpUserName)). Not O(username), which is the camera's own login.
    type: str
  server_password:
    description:
      - Password of O(server_username) on the server (C(FtpPassword)). Write-only; never shown. Keep it in a vault.
      - Not O(password), which is the camera's own login.
    type: str
  passive_mode:
    description:
      - Passive FTP (C(FtpEnablePassiveMode)), for servers behind a firewall or NAT.
    type: bool
  fallback_mode:
    description:
      - Whether the camera falls back to its other transfer mode when the first fails (C(FtpEnableFallbackMode)).
    type: bool
  samba_enabled:
    description:
      - Whether the camera shares its clips over Samba (C(SetSambaEnabled)).
    type: bool
  test_connection:
    description:
      - After writing, have the camera log in to the server (C(FtpConnectToServer)) and fail the task when it cannot.
    type: bool
    default: false
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: Clips to the plant's sFTP server, and prove the camera can log in
  sensingcam.ming.sensingcam_offload:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    protocol: sftp
    server: 192.168.136.20
    server_port: 22
    directory: /clips/line3
    server_username: sec100
    server_password: "{{ vault_clip_server_password }}"
    test_connection: true
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description:
    - The options you set, as the camera reports them after the run (as they would be, in check mode). The server
      password shows as C(********).
  returned: always
  type: dict
  sample: {protocol: sftp, server: 192.168.136.20, server_port: 22, server_username: sec100,
           server_password: '********'}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [directory]
connection_test:
  description: The camera's answer to the connection test (C(ok)); only with O(test_connection), not in check mode.
  returned: when test_connection is true and not in check mode
  type: str
  sample: ok
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_client import SensingCamError  # noqa: E402
from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import FieldSettingsModule  # noqa: E402

CLEAR_TEXT_WARNING = ('protocol ftp sends the offload login and the clips in clear text over the plant network; use '
                      'protocol: sftp where the server offers it.')


class SensingCamOffload(FieldSettingsModule):
    argument_spec = dict(
        protocol=dict(type='str', choices=['ftp', 'sftp']),
        server=dict(type='str'),
        server_port=dict(type='int'),
        directory=dict(type='str'),
        server_username=dict(type='str'),
        server_password=dict(type='str', no_log=True),
        passive_mode=dict(type='bool'),
        fallback_mode=dict(type='bool'),
        samba_enabled=dict(type='bool'),
        test_connection=dict(type='bool', default=False),
    )
    # The server password is write-only: compared with the hash kept under secret_state_dir.
    secret_state = True
    settings = ('protocol', 'server', 'server_port', 'directory', 'server_username', 'server_password', 'passive_mode',
                'fallback_mode', 'samba_enabled')
    # Module option -> the device profile's key under variables.offload.
    profile_keys = {'server_port': 'port', 'server_username': 'username', 'server_password': 'password'}

    def option_fields(self):
        group = self.profile.group('offload')
        return dict((option, group[self.profile_keys.get(option, option)]) for option in self.settings)

    def exit(self, **kwargs):
        if self.params.get('protocol') == 'ftp':
            self.warn(CLEAR_TEXT_WARNING)
        if self.params['test_connection'] and not self.check_mode:
            try:
                kwargs['connection_test'] = self.client.call_method('ftp_test')
            except SensingCamError as exc:
                self.fail('The camera at %s could not reach the offload server: %s Check server, server_port, '
                          'server_username, server_password and protocol, and that the server lets the camera in.'
                          % (self.params['host'], exc))
        super(SensingCamOffload, self).exit(**kwargs)


def main():
    SensingCamOffload().run()


if __name__ == '__main__':
    main()
