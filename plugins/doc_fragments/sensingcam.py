# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection and login options of every sensingcam.ming.sensingcam_* module."""

    DOCUMENTATION = r'''
options:
  host:
    description:
      - Address (IP or DNS name) of the camera's web API.
    type: str
    required: true
  port:
    description:
      - TCP port of the camera's web API.
      - Defaults to the profile's C(transport.http_port) (80), or C(transport.https_port) (443) when O(use_tls=true).
    type: int
  use_tls:
    description:
      - Talk HTTPS instead of plain HTTP.
    type: bool
    default: false
  validate_certs:
    description:
      - Check the camera's TLS certificate when O(use_tls=true).
      - Set to V(false) only in a lab; give the plant CA in O(ca_path) instead.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed the camera's certificate.
    type: path
  username:
    description:
      - Camera user for the SICK challenge/response login.
      - Defaults to the profile's C(auth.default_user).
    type: str
  password:
    description:
      - Password of O(username). Needed for every change, for file transfers, and for reads when the profile
        says C(auth.reads_require_login).
      - Never shown in output or error messages.
    type: str
  timeout:
    description:
      - Seconds to wait for each answer of the camera. Uploads wait at least 120 seconds.
    type: float
    default: 10
  retries:
    description:
      - How often a read or a login challenge is retried after a network error, with exponential back-off
        (0.5 s, 1 s, 2 s, ...). Changes and uploads are never retried.
    type: int
    default: 2
  profile:
    description:
      - Path of the device profile, the YAML file that names every variable, file endpoint and limit of one
        camera firmware line, for example C(profiles/sensingcam/sec100-fw2.yml) in this collection.
      - If not set, the environment variable E(SENSINGCAM_PROFILE) is used. The module fails when neither is set.
      - The path is read where the module runs (usually the controller, with C(delegate_to=localhost)).
    type: path
requirements:
  - PyYAML
notes:
  - The camera's API is HTTP on the camera itself; run these modules with C(delegate_to=localhost) (or on any host
    that can reach the camera).
  - Device-specific names come from the device profile; a name marked C(status=assumed) there is unverified on
    real hardware. An HTTP 404 from the camera names the profile key to correct.
'''
