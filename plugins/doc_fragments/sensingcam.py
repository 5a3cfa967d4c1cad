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
      - Password of O(username). Needed for every change, method call and file transfer, and for reads when the
        profile says C(auth.reads_require_login).
      - ASCII characters only; SICK's clients disagree on how other characters are hashed, so the module refuses
        them before it contacts the camera.
      - Never shown in output or error messages, never sent to the camera (only the challenge response is).
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
      - A busy camera (HTTP 400) is handled apart from this; reads are retried every
        C(response.busy_retry_seconds) of the profile, at most C(response.busy_retries) times.
    type: int
    default: 2
  profile:
    description:
      - Path of the device profile, the YAML file (C(profile_format=2)) that names every variable, value codec,
        method, file and protocol rule of one camera firmware line, for example
        C(profiles/sensingcam/sec100-fw2.yml) in this collection. Format-1 profiles are refused.
      - If not set, the environment variable E(SENSINGCAM_PROFILE) is used. The module fails when neither is set.
      - The path is read where the module runs (usually the controller, with C(delegate_to=localhost)).
    type: path
requirements:
  - PyYAML
notes:
  - The camera's API is HTTP on the camera itself; run these modules with C(delegate_to=localhost) (or on any host
    that can reach the camera).
  - Device-specific names come from the device profile; each entry carries its evidence C(level)
    (verified, observed, family, assumed, probed); an C(assumed) one is unverified on real hardware. An HTTP 404
    (or header status 5) from the camera names the profile key to correct.
'''

    # Modules with write-only secrets (FieldSettingsModule with secret_state = True).
    SECRET_STATE = r'''
options:
  secret_state_dir:
    description:
      - Directory for the hashes of write-only secrets (for example the FTP password) this module wrote. The
        camera is not asked for a secret, so the module remembers a salted PBKDF2-SHA256 hash of the last value it
        wrote, one JSON file per camera and variable (C(secret-<host>-<port>-<variable>.json), mode 0600, in a
        directory created with mode 0700). A re-run with the same secret reports no change; a different secret,
        or no file yet, writes once.
      - The path is on the host the module runs on (the controller with C(delegate_to=localhost)); keep it on
        persistent storage. Delete a camera's file to make the next run write the secret again, for example after
        a factory reset of the camera.
      - Defaults to C(~/.cache/sensingcam.ming).
    type: path
notes:
  - Secrets are never read back from the camera, never shown (C(********) in results and diffs) and never stored;
    only their salted hash is kept in O(secret_state_dir).
'''  # noqa: S105 (documentation, not a secret)
