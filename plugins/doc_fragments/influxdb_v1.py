# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Connection and login options of the sensingcam.ming modules for InfluxDB 1.x (InfluxQL over /query)."""

    DOCUMENTATION = r'''
options:
  host:
    description:
      - Address (IP or DNS name) of the InfluxDB 1.x server.
    type: str
    required: true
  port:
    description:
      - TCP port of the InfluxDB HTTP API (C([http] bind-address)).
    type: int
    default: 8086
  use_tls:
    description:
      - Talk HTTPS instead of plain HTTP (InfluxDB started with C([http] https-enabled = true)).
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
      - PEM file of the CA that signed InfluxDB's certificate. Setting it always checks the certificate.
    type: path
  timeout:
    description:
      - Seconds to wait for each answer of InfluxDB.
    type: float
    default: 10
  retries:
    description:
      - How often a read is retried after a network error or HTTP 429/503, with exponential back-off
        (0.5 s, 1 s, 2 s, ...). Statements that change something are never retried.
    type: int
    default: 2
  login_user:
    description:
      - InfluxDB user to log in as, usually an admin user (managing databases, retention policies, continuous
        queries, users and grants needs admin rights).
      - Leave unset only on a server without authentication, or to create the first admin user of a server with
        C(auth-enabled = true) and no user yet (see M(sensingcam.ming.influxdb_user)).
    type: str
  login_password:
    description:
      - Password of O(login_user). Sent in the C(Authorization) header (HTTP Basic), never in the URL; never shown in
        output or error messages.
    type: str
notes:
  - The InfluxDB API is HTTP; run these modules with C(delegate_to=localhost) (or on any host that can reach InfluxDB).
  - An error names the object (for example C(retention policy 'machine_events' on database 'ming')), the HTTP status
    and InfluxDB's own message, never a password.
requirements:
  - InfluxDB 1.x (tested against Debian's InfluxDB 1.6.7 server).
'''  # noqa: S105 (documentation, not a secret)
