# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Firmware versions that compare like versions, not like strings (``2.10.0 > 2.9.1``).

Forms read (docs/cameras.md, "Firmware version strings"):

- a numeric release of any number of parts: ``2.6``, ``2.6.0``, ``2.4.2.0`` (trailing zeros do not count:
  ``2.4.2.0 == 2.4.2``), with an optional leading ``v``;
- SICK's letter suffix right after the release: ``2.4.2.0R``, ``1.0.0.0A``. Its meaning is not documented, so by
  default it does not order: ``2.4.2.0R == 2.4.2.0 == 2.4.2.0A``. The device profile can give an order
  (``firmware.suffix_order``, lowest first), passed here as ``suffix_order``;
- a pre-release: ``2.6.0-rc1``, ``2.6.0rc1``, ``2.6.0a1``, ``2.6.0.dev1``, ``0.1.0-beta``, sorting before its
  release (``dev < alpha < beta < pre/rc``);
- build metadata after ``+`` (``0.1.0-beta+local_build``), kept and reported, never compared.

The suffix, pre-release and build parts are kept (``suffix``, ``prerelease``, ``build``) so an audit can report
them. Anything else raises ValueError.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

_VERSION_RE = re.compile(
    r'^\s*[vV]?(?P<release>\d+(?:\.\d+)*)'
    # SICK's letter suffix: one letter, directly after the last number, not followed by a digit (2.6.0a1 is alpha 1).
    r'(?P<suffix>[A-Za-z](?![A-Za-z0-9]))?'
    r'(?:[-._]?(?P<pre>dev|alpha|a|beta|b|pre|rc|c)(?:[-._]?(?P<pre_number>\d+))?)?'
    r'(?:\+(?P<build>[0-9A-Za-z._\-]+))?\s*$',
    re.IGNORECASE,
)
_PRE_RELEASE_RANK = {'dev': 0, 'alpha': 1, 'a': 1, 'beta': 2, 'b': 2, 'pre': 3, 'rc': 3, 'c': 3}
_RELEASED = (1, 0, 0)


def _suffix_rank(suffix, suffix_order, text):
    """Rank of a letter suffix in the profile's order (lowest first); no suffix ranks below every listed one
    unless the order lists '' itself. Raises ValueError for a suffix the order does not list."""
    if not suffix_order:
        return 0
    order = [str(item).upper() for item in suffix_order]
    key = (suffix or '').upper()
    if key in order:
        return order.index(key) + 1
    if not key:
        return 0
    raise ValueError('not a version under the profile\'s firmware.suffix_order (%s): %r has the suffix %r'
                     % (', '.join(order), text, suffix))


class FirmwareVersion:
    """A firmware version that compares like a version, not like a string.

    ``2.10.0 > 2.9.1``; ``2.6 == 2.6.0``; ``2.4.2.0R == 2.4.2`` unless ``suffix_order`` orders suffixes;
    pre-releases sort before their release (``2.6.0-rc1 < 2.6.0``, ``dev < alpha < beta < rc``); build metadata
    after ``+`` is kept in ``build`` and ignored by comparisons. Raises ValueError on anything else.
    """

    __slots__ = ('text', 'release', 'suffix', 'prerelease', 'build', 'suffix_order', '_key')

    def __init__(self, text, suffix_order=None):
        if isinstance(text, FirmwareVersion):
            suffix_order = text.suffix_order if suffix_order is None else suffix_order
            text = text.text
        if isinstance(text, (int, float)) and not isinstance(text, bool):
            text = str(text)
        if not isinstance(text, str):
            raise ValueError('not a version: %r' % (text,))
        match = _VERSION_RE.match(text)
        if not match:
            raise ValueError('not a version: %r' % (text,))
        self.text = text.strip()
        self.release = match.group('release')
        self.suffix = match.group('suffix')
        pre = match.group('pre')
        self.prerelease = None if pre is None else pre + (match.group('pre_number') or '')
        self.build = match.group('build')
        self.suffix_order = tuple(suffix_order) if suffix_order else None
        numbers = [int(part) for part in self.release.split('.')]
        while len(numbers) > 1 and numbers[-1] == 0:
            numbers.pop()
        rank = _suffix_rank(self.suffix, self.suffix_order, self.text)
        pre_key = (0, _PRE_RELEASE_RANK[pre.lower()], int(match.group('pre_number') or 0)) if pre else _RELEASED
        self._key = (tuple(numbers), rank, pre_key)

    def parts(self):
        """What an audit reports: ``{release, suffix, prerelease, build}`` (absent parts are None)."""
        return {'release': self.release, 'suffix': self.suffix, 'prerelease': self.prerelease, 'build': self.build}

    def _other(self, other):
        return _as_version(other, self.suffix_order)

    def __eq__(self, other):
        other = self._other(other)
        return NotImplemented if other is None else self._key == other._key

    def __ne__(self, other):
        result = self.__eq__(other)
        return result if result is NotImplemented else not result

    def __lt__(self, other):
        other = self._other(other)
        return NotImplemented if other is None else self._key < other._key

    def __le__(self, other):
        other = self._other(other)
        return NotImplemented if other is None else self._key <= other._key

    def __gt__(self, other):
        other = self._other(other)
        return NotImplemented if other is None else self._key > other._key

    def __ge__(self, other):
        other = self._other(other)
        return NotImplemented if other is None else self._key >= other._key

    def __hash__(self):
        return hash(self._key)

    def __str__(self):
        return self.text

    def __repr__(self):
        return 'FirmwareVersion(%r)' % self.text


def _as_version(value, suffix_order=None):
    if isinstance(value, FirmwareVersion) and (suffix_order is None or value.suffix_order == tuple(suffix_order)):
        return value
    try:
        return FirmwareVersion(value, suffix_order)
    except ValueError:
        return None


def parse_version(text, suffix_order=None):
    """Return a FirmwareVersion, or None when ``text`` is not a version (under ``suffix_order``, when given)."""
    if text is None:
        return None
    return _as_version(text, suffix_order)
