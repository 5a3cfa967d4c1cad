# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """Descriptions of the attributes every module of this collection declares; modules set C(support)."""

    DOCUMENTATION = r'''
attributes:
  check_mode:
    description: Can run in check mode and return the changed status prediction without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check mode), when in diff mode.
  idempotent:
    description:
      - When run twice in a row with the same arguments, the second run reports no change and changes nothing.
'''

    INFO_MODULE = r'''
attributes:
  check_mode:
    support: full
    details:
      - This module never changes anything, so it runs the same in check mode.
  diff_mode:
    support: N/A
    details:
      - This module never changes anything.
  idempotent:
    support: full
'''

    # Settings modules (FieldSettingsModule): compare only what is set, write the difference, show it.
    SETTINGS_MODULE = r'''
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
'''
