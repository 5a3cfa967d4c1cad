# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SICK's JSON challenge/response login (not RFC 7616 HTTP Digest), as plain functions.

The client asks ``POST /api/getChallenge`` for a realm, a nonce (reusable until the camera
answers a relogin status), an opaque value and maybe a salt, and
sends ``response = sha256("HA1:nonce:HA2")`` instead of the password."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib

# SICK's clients disagree on how a non-ASCII password is hashed (UTF-8, raw bytes, code point modulo 256), so no
# encoding is known to match the camera: camera passwords must be ASCII (../shared/reference/sec100.md 3.4).
NON_ASCII_MESSAGE = ("The camera password in %s contains characters outside ASCII. SICK's own clients disagree "
                     'on how such a password is hashed, so the camera login would fail or differ between tools: set '
                     'an ASCII-only password on the camera and in %s.')


def is_ascii(text):
    """True when every character of ``text`` is ASCII (code point below 128)."""
    return all(ord(char) < 128 for char in text)


def non_ascii_password_message(variable):
    """The message for a non-ASCII password, naming ``variable`` (never the value)."""
    return NON_ASCII_MESSAGE % (variable, variable)


def sha256_hex(data):
    if isinstance(data, str):
        data = data.encode('utf-8')
    return hashlib.sha256(data).hexdigest()


EMPTY_SALT_RULES = ('separator', 'no_salt')


def ha1(user, realm, password, salt=None, empty_salt='separator'):
    """HA1 = sha256("user:realm:password"), or sha256("user:realm:password:" + salt bytes) when salted.

    ``salt`` is the challenge's ``salt`` (a list of byte values) or None when the challenge has no such key. The
    bytes are appended as they are (one byte per value, as SICK's Lua client does with ``string.char``).
    ``empty_salt`` is the profile's rule for a present but empty list: ``separator`` appends the ':' (the SEC100
    clients test ``salt is None``), ``no_salt`` treats it as absent (SICK's sibling-device SDK tests ``empty()``).
    An absent salt (None) is never salted.
    """
    if empty_salt not in EMPTY_SALT_RULES:
        raise ValueError('empty_salt must be one of %s, not %r' % (', '.join(EMPTY_SALT_RULES), empty_salt))
    if not is_ascii(password):
        raise ValueError(non_ascii_password_message('the password argument'))
    data = ('%s:%s:%s' % (user, realm, password)).encode('utf-8')
    if salt is not None and (len(salt) > 0 or empty_salt == 'separator'):
        data += b':' + bytes(bytearray(salt))
    return sha256_hex(data)


def challenge_response(user, realm, password, nonce, name, salt=None, method='POST', empty_salt='separator'):
    """response = sha256("HA1:nonce:HA2") with HA2 = sha256("POST:<name>"); see ``ha1`` for the salt rule."""
    ha2 = sha256_hex('%s:%s' % (method, name))
    return sha256_hex('%s:%s:%s' % (ha1(user, realm, password, salt, empty_salt), nonce, ha2))
