# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""Mosquitto 2.x password files, in pure Python.

Formats, as the real ``mosquitto_passwd`` 2.0.11 writes them and the broker reads them (checked against the
binaries; the broker drops an entry whose salt is not 12 bytes or whose hash is not 64 bytes):

- ``user:$7$<iterations>$<salt>$<hash>``: PBKDF2-HMAC-SHA512 over the password, 12-byte random salt,
  64-byte hash; salt and hash in standard base64 with ``=`` padding. ``mosquitto_passwd`` 2.0 writes 101 iterations
  (``MOSQUITTO_PASSWD_ITERATIONS``); the broker reads any count. This module writes ``DEFAULT_ITERATIONS``,
  measured on the real broker to keep a CONNECT well under 50 ms (tests/bench/bench_mosquitto_password_iterations.py).
- ``user:$6$<salt>$<hash>``: legacy (Mosquitto 1.6 and older) SHA-512 of the password followed by the salt.

The broker skips lines that start with ``#`` and lines without ``:``; it takes the user name up to the first ``:``
(trimmed) and the hash up to the next ``:``. ``PasswordFile`` keeps every line it does not have to change
byte-for-byte, so a re-run with the same passwords writes nothing.

Nothing here ever puts a password or a hash in an error message.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import hashlib
import hmac
import os

SALT_LENGTH = 12
HASH_LENGTH = 64
MOSQUITTO_PASSWD_ITERATIONS = 101
DEFAULT_ITERATIONS = 20000
PBKDF2 = '7'
SHA512 = '6'


class PasswordFileError(ValueError):
    """A password file or a declared user that cannot be handled; the message holds no secret."""


def _b64encode(data):
    return base64.b64encode(data).decode('ascii')


def _b64decode(text):
    try:
        return base64.b64decode(text.encode('ascii'), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return None


def hash_password(password, iterations=DEFAULT_ITERATIONS, salt=None):
    """Return a ``$7$`` (PBKDF2-HMAC-SHA512) hash string of ``password`` as mosquitto_passwd writes it."""
    if iterations < 1:
        raise PasswordFileError('iterations must be 1 or more')
    if salt is None:
        salt = os.urandom(SALT_LENGTH)
    if len(salt) != SALT_LENGTH:
        raise PasswordFileError('the salt must be %d bytes' % SALT_LENGTH)
    digest = hashlib.pbkdf2_hmac('sha512', password.encode('utf-8'), salt, iterations)
    return '$%s$%d$%s$%s' % (PBKDF2, iterations, _b64encode(salt), _b64encode(digest))


def parse_hash(stored):
    """Split a stored hash into (kind, iterations, salt, digest); kind is '7' or '6' (iterations None).

    Raises PasswordFileError when the broker would not accept it (the message names the problem, not the hash).
    """
    fields = stored.split('$')
    if len(fields) < 2 or fields[0] != '':
        raise PasswordFileError('the hash does not start with $6$ or $7$ (a plain text password?)')
    kind = fields[1]
    if kind == PBKDF2:
        if len(fields) != 5:
            raise PasswordFileError('a $7$ hash has the form $7$<iterations>$<salt>$<hash>')
        if not fields[2].isdigit() or int(fields[2]) < 1:
            raise PasswordFileError('the iteration count of the $7$ hash is not a positive number')
        iterations = int(fields[2])
        salt_text, digest_text = fields[3], fields[4]
    elif kind == SHA512:
        if len(fields) != 4:
            raise PasswordFileError('a $6$ hash has the form $6$<salt>$<hash>')
        iterations = None
        salt_text, digest_text = fields[2], fields[3]
    else:
        raise PasswordFileError('unknown hash type (Mosquitto reads only $6$ and $7$)')
    salt = _b64decode(salt_text)
    if salt is None or len(salt) != SALT_LENGTH:
        raise PasswordFileError('the salt is not %d bytes of base64' % SALT_LENGTH)
    digest = _b64decode(digest_text)
    if digest is None or len(digest) != HASH_LENGTH:
        raise PasswordFileError('the hash is not %d bytes of base64' % HASH_LENGTH)
    return kind, iterations, salt, digest


def verify_password(password, stored):
    """True when ``password`` matches the stored ``$7$`` or ``$6$`` hash (constant-time comparison)."""
    kind, iterations, salt, digest = parse_hash(stored)
    secret = password.encode('utf-8')
    if kind == PBKDF2:
        candidate = hashlib.pbkdf2_hmac('sha512', secret, salt, iterations)
    else:
        candidate = hashlib.sha512(secret + salt).digest()
    return hmac.compare_digest(candidate, digest)


def needs_upgrade(stored, iterations):
    """True when the stored hash is weaker than a ``$7$`` hash with ``iterations`` rounds."""
    kind, stored_iterations = parse_hash(stored)[:2]
    return kind != PBKDF2 or stored_iterations < iterations


def check_user_name(name):
    """Raise PasswordFileError when the broker could not read ``name`` back from the file."""
    if not isinstance(name, str) or not name:
        raise PasswordFileError('a user name is empty')
    if ':' in name:
        raise PasswordFileError("user name '%s' contains ':', which separates name and hash in the file" % name)
    if '\n' in name or '\r' in name or '\0' in name:
        raise PasswordFileError('a user name contains a line break or NUL character')
    if name != name.strip():
        raise PasswordFileError("user name '%s' starts or ends with white space, which Mosquitto trims" % name)
    if name.startswith('#'):
        raise PasswordFileError("user name '%s' starts with '#', which Mosquitto reads as a comment" % name)


class Entry:
    """One line of the file: a user entry (name and hash set) or a line the broker ignores (comment, blank)."""

    __slots__ = ('raw', 'name', 'hash', 'status')

    def __init__(self, raw, name=None, stored_hash=None, status=None):
        self.raw = raw
        self.name = name
        self.hash = stored_hash
        self.status = status  # None (untouched), 'added', 'updated', 'upgraded'


class PasswordFile:
    """The lines of a password file, edited in place so unchanged lines keep their exact bytes."""

    def __init__(self, text=''):
        self.entries = []
        self.removed = []
        self._original_names = []
        for number, raw in enumerate(text.splitlines(True), start=1):
            self.entries.append(self._parse_line(number, raw))
        seen = {}
        for number, entry in enumerate(self.entries, start=1):
            if entry.name is None:
                continue
            if entry.name in seen:
                raise PasswordFileError('lines %d and %d both declare user %s; keep one of them'
                                        % (seen[entry.name], number, entry.name))
            seen[entry.name] = number
        self._original_names = list(seen)

    @staticmethod
    def _parse_line(number, raw):
        line = raw.rstrip('\r\n')
        if line.startswith('#') or not line.strip():
            return Entry(raw)
        if ':' not in line:
            raise PasswordFileError("line %d has no ':' between user name and hash" % number)
        name, rest = line.split(':', 1)
        name = name.strip()
        stored = rest.split(':', 1)[0].strip()
        if not name:
            raise PasswordFileError('line %d has no user name before the first ":"' % number)
        try:
            parse_hash(stored)
        except PasswordFileError as error:
            raise PasswordFileError('line %d: %s' % (number, error)) from None
        return Entry(raw, name, stored)

    def names(self):
        return [entry.name for entry in self.entries if entry.name is not None]

    def original_names(self):
        return list(self._original_names)

    def find(self, name):
        for entry in self.entries:
            if entry.name == name:
                return entry
        return None

    def set_password(self, name, password, iterations=DEFAULT_ITERATIONS, upgrade=False):
        """Make ``name`` log in with ``password``; returns 'added', 'updated', 'upgraded' or None (unchanged)."""
        check_user_name(name)
        entry = self.find(name)
        if entry is None:
            self._ensure_final_newline()
            stored = hash_password(password, iterations)
            self.entries.append(Entry('%s:%s\n' % (name, stored), name, stored, 'added'))
            return 'added'
        if verify_password(password, entry.hash):
            if not (upgrade and needs_upgrade(entry.hash, iterations)):
                return None
            status = 'upgraded'
        else:
            status = 'updated'
        entry.hash = hash_password(password, iterations)
        ending = entry.raw[len(entry.raw.rstrip('\r\n')):] or '\n'
        entry.raw = '%s:%s%s' % (name, entry.hash, ending)
        entry.status = status
        return status

    def remove(self, name):
        """Remove ``name``; True when it was there."""
        for index, entry in enumerate(self.entries):
            if entry.name == name:
                del self.entries[index]
                self.removed.append(name)
                return True
        return False

    def _ensure_final_newline(self):
        if self.entries and not self.entries[-1].raw.endswith('\n'):
            self.entries[-1].raw += '\n'

    def render(self):
        return ''.join(entry.raw for entry in self.entries)

    def changes(self):
        """(added, updated, removed) user names; updated holds changed passwords and upgraded hashes."""
        added = [e.name for e in self.entries if e.status == 'added']
        updated = [e.name for e in self.entries if e.status in ('updated', 'upgraded')]
        return added, updated, list(self.removed)

    def diff_lines(self, after):
        """One line per user, for diff mode: names and what happened to them, never a hash."""
        if not after:
            return ''.join('%s\n' % name for name in self._original_names)
        labels = {'updated': ' (password changed)', 'upgraded': ' (hash upgraded)'}
        return ''.join('%s%s\n' % (e.name, labels.get(e.status, '')) for e in self.entries if e.name is not None)
