# -*- coding: utf-8 -*-
# Copyright (c) 2025, sensingcam.ming maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""SICK's JSON challenge/response login (not RFC 7616 HTTP Digest), as plain functions.

The client asks ``POST /api/getChallenge`` for a realm, a single-use nonce, an opaque value and maybe a salt, and
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


def ha1(user, realm, password, salt=None):
    """HA1 = sha256("user:realm:password"), or sha256("user:realm:password:<salt>") when the device sent a salt.

    The salt arrives as a list of byte values; its bytes are appended as they are (latin-1: one char per byte),
    as SICK's own Lua client does with ``string.char``.
    """
    if not is_ascii(password):
        raise ValueError(non_ascii_password_message('the password argument'))
    data = ('%s:%s:%s' % (user, realm, password)).encode('utf-8')
    if salt:
        data += b':' + bytes(bytearray(salt))
    return sha256_hex(data)


def challenge_response(user, realm, password, nonce, name, salt=None, method='POST'):
    """response = sha256("HA1:nonce:HA2") with HA2 = sha256("POST:<name>")."""
    ha2 = sha256_hex('%s:%s' % (method, name))
    return sha256_hex('%s:%s:%s' % (ha1(user, realm, password, salt), nonce, ha2))
