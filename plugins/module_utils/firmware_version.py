# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Firmware versions that compare like versions, not like strings (``2.10.0 > 2.9.1``)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_VERSION_RE = re.compile(
    r'^\s*[vV]?(?P<release>\d+(?:\.\d+)*)'
    r'(?:[-._]?(?P<pre>dev|alpha|a|beta|b|pre|rc|c)[-._]?(?P<pre_number>\d*))?'
    r'(?:\+[0-9A-Za-z.\-]*)?\s*$',
    re.IGNORECASE,
)
_PRE_RELEASE_RANK = {'dev': 0, 'alpha': 1, 'a': 1, 'beta': 2, 'b': 2, 'pre': 3, 'rc': 3, 'c': 3}


class FirmwareVersion:
    """A firmware version that compares like a version, not like a string.

    ``2.10.0 > 2.9.1``; ``2.6 == 2.6.0``; pre-releases sort before their release (``2.6.0-rc1 < 2.6.0``,
    ``dev < alpha < beta < rc``); build metadata after ``+`` is ignored. Raises ValueError on anything else.
    """

    __slots__ = ('text', '_key')

    def __init__(self, text):
        if isinstance(text, FirmwareVersion):
            self.text, self._key = text.text, text._key
            return
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise ValueError('not a version: %r' % (text,))
        match = _VERSION_RE.match(text)
        if not match:
            raise ValueError('not a version: %r' % (text,))
        release = [int(part) for part in match.group('release').split('.')]
        while len(release) > 1 and release[-1] == 0:
            release.pop()
        if match.group('pre'):
            pre = (0, _PRE_RELEASE_RANK[match.group('pre').lower()], int(match.group('pre_number') or 0))
        else:
            pre = (1, 0, 0)
        self.text = text.strip()
        self._key = (tuple(release), pre)

    def __eq__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key == other._key

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key < other._key

    def __le__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key <= other._key

    def __gt__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key > other._key

    def __ge__(self, other):
        other = _as_version(other)
        return NotImplemented if other is None else self._key >= other._key

    def __hash__(self):
        return hash(self._key)

    def __str__(self):
        return self.text

    def __repr__(self):
        return 'FirmwareVersion(%r)' % self.text


def _as_version(value):
    if isinstance(value, FirmwareVersion):
        return value
    try:
        return FirmwareVersion(value)
    except ValueError:
        return None


def parse_version(text):
    """Return a FirmwareVersion, or None when ``text`` is not a version."""
    if text is None:
        return None
    return _as_version(text)
