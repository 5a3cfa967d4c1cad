# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection options of every sensingcam.ming.influxdb_* module for InfluxDB OSS 2.x (HTTP API /api/v2)."""

    DOCUMENTATION = r'''
options:
  host:
    description:
      - Address (IP or DNS name) of the InfluxDB 2.x server.
    type: str
    required: true
  port:
    description:
      - TCP port of the InfluxDB HTTP API.
    type: int
    default: 8086
  use_tls:
    description:
      - Talk HTTPS instead of plain HTTP (InfluxDB started with C(tls-cert) and C(tls-key)).
    type: bool
    default: false
  validate_certs:
    description:
      - Check InfluxDB's TLS certificate when O(use_tls=true).
      - Set to V(false) only in a lab; give the plant CA in O(ca_path) instead.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of the CA that signed InfluxDB's certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of InfluxDB.
    type: float
    default: 10
  retries:
    description:
      - How often a read is retried after a network error or HTTP 429/503, with exponential back-off
        (0.5 s, 1 s, 2 s, ...). Changes are never retried.
    type: int
    default: 2
  token:
    description:
      - The API token to authenticate with (sent in the C(Authorization) header), for example the operator token
        created by M(sensingcam.ming.influxdb_setup) or an all-access token of O(org).
      - Never shown in output or error messages.
    type: str
    required: true
  org:
    description:
      - Name of the InfluxDB organization the objects belong to.
    type: str
    required: true
notes:
  - The InfluxDB API is HTTP; run these modules with C(delegate_to=localhost) (or on any host that can reach InfluxDB).
  - An API error names the object, the HTTP status and InfluxDB's own message, never the token.
requirements:
  - InfluxDB OSS 2.x (tested against a double of the 2.x API that follows InfluxData's OpenAPI document).
'''  # noqa: S105 (documentation, not a secret)
