#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: sensingcam_security
short_description: Keep a SICK sensingCam's authentication-free API off and set RTSP authentication
version_added: 0.2.0
description:
  - Sets the security switches of a SICK sensingCam SEC100. C(SetAuthenticationFreeApiEnabled) opens
    C(/authenticationFree/) endpoints that trigger recordings and serve live JPEG pictures without any login; this
    module turns it B(off) unless told otherwise. C(RtspAuthenticationEnabled) makes RTSP clients log in.
  - Only the options set are read and compared; each differing one is written with its own login.
  - Reports in C(transport) how the module talked to the camera. Over plain HTTP it warns once, as SICK's login signs
    only C(POST:<name>), not the request body, so anyone on the path can rewrite a write (or a configuration or
    firmware upload) and a recorded exchange allows an offline guess of the camera password.
extends_documentation_fragment:
  - sensingcam.ming.sensingcam
  - sensingcam.ming.attributes
  - sensingcam.ming.attributes.settings_module
options:
  authentication_free_api:
    description:
      - Whether the camera serves its C(/authenticationFree/) trigger and live-picture endpoints without a login.
      - Defaults to V(false), so running the module without options switches them off.
    type: bool
    default: false
  rtsp_authentication:
    description:
      - Whether RTSP clients must log in (camera-wide; also an option of M(sensingcam.ming.sensingcam_stream)).
    type: bool
  warn_plain_http:
    description:
      - Whether to warn when the camera is reached over plain HTTP. The role C(sensingcam.ming.sensingcam) sets it
        for the first such camera of a play only, so a roll-out warns once, not once per camera; C(transport) is
        returned either way.
    type: bool
    default: true
seealso:
  - module: sensingcam.ming.sensingcam_stream
author:
  - sensingcam.ming maintainers (@sensingcam)
'''

EXAMPLES = r'''
- name: No unauthenticated endpoints, RTSP with login
  sensingcam.ming.sensingcam_security:
    host: 192.168.136.100
    password: "{{ vault_camera_password }}"
    profile: "{{ playbook_dir }}/../profiles/sensingcam/sec100-fw2.yml"
    rtsp_authentication: true
  delegate_to: localhost

- name: A plant that relays live JPEG pictures on a closed cell network opens them on purpose
  sensingcam.ming.sensingcam_security:
    host: 192.168.136.101
    password: "{{ vault_camera_password }}"
    authentication_free_api: true
  delegate_to: localhost
'''

RETURN = r'''
settings:
  description: The options set, as the camera reports them after the run (as they would be, in check mode).
  returned: always
  type: dict
  sample: {authentication_free_api: false, rtsp_authentication: true}
changed_settings:
  description: Names of the options that differed and were (or would be) written.
  returned: always
  type: list
  elements: str
  sample: [authentication_free_api]
transport:
  description: How this module talked to the camera.
  returned: success
  type: dict
  contains:
    https:
      description: Whether the camera was reached over HTTPS (O(use_tls)).
      type: bool
    certificate_validated:
      description: Whether the camera's certificate was checked (HTTPS with O(validate_certs)).
      type: bool
    login_signs_body:
      description: Always V(false) for this camera family; SICK's login signs only C(POST:<name>).
      type: bool
    login_signs:
      description: What SICK's login signs of each write.
      type: str
      sample: "POST:<name>"
  sample: {https: false, certificate_validated: false, login_signs_body: false, login_signs: "POST:<name>"}
'''

from ansible_collections.sensingcam.ming.plugins.module_utils.sensingcam_module import FieldSettingsModule  # noqa: E402

PLAIN_HTTP_WARNING = (
    "The camera at %s is managed over plain HTTP: SICK's login signs only \"POST:<name>\", not the request body, so "
    'anyone on the network path can rewrite the values written (and configuration or firmware uploads), and a '
    'recorded login allows an offline guess of the camera password. Keep cameras on a separate network, and use '
    'use_tls: true where the camera serves HTTPS.')
UNVALIDATED_TLS_WARNING = (
    "The camera at %s is reached over HTTPS without checking its certificate (validate_certs: false): anyone on the "
    'path can pose as the camera. Give the CA in ca_path and set validate_certs: true.')


class SensingCamSecurity(FieldSettingsModule):
    argument_spec = dict(
        authentication_free_api=dict(type='bool', default=False),
        rtsp_authentication=dict(type='bool'),
        warn_plain_http=dict(type='bool', default=True),
    )
    settings = ('authentication_free_api', 'rtsp_authentication')

    def option_fields(self):
        return {
            'authentication_free_api': self.profile.field('security', 'authentication_free_api'),
            'rtsp_authentication': self.profile.field('rtsp', 'authentication'),
        }

    def transport(self):
        https = bool(self.params.get('use_tls'))
        validated = https and self.params.get('validate_certs') is not False
        return {'https': https, 'certificate_validated': validated, 'login_signs_body': False,
                'login_signs': 'POST:<name>'}

    def exit(self, **kwargs):
        transport = self.transport()
        if not transport['https']:
            if self.params['warn_plain_http']:
                self.warn(PLAIN_HTTP_WARNING % self.client.base_url)
        elif not transport['certificate_validated']:
            self.warn(UNVALIDATED_TLS_WARNING % self.client.base_url)
        kwargs['transport'] = transport
        super(SensingCamSecurity, self).exit(**kwargs)


def main():
    SensingCamSecurity().run()


if __name__ == '__main__':
    main()
