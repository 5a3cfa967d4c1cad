"""SICK challenge/response login, as documented in SICK's public client code (see docs/camera-simulator.md).

Pure functions plus a small nonce store; no I/O, so they are unit-tested on their own.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

AUTH_HEADER_KEYS = ("user", "response", "realm", "opaque", "nonce")


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("latin-1")).hexdigest()


def ha1(user: str, realm: str, password: str, salt: list[int] | None = None) -> str:
    """HA1 = sha256_hex("user:realm:password"), or with a salt "user:realm:password:<salt bytes as latin-1>"."""
    if salt:
        return sha256_hex(f"{user}:{realm}:{password}:" + bytes(salt).decode("latin-1"))
    return sha256_hex(f"{user}:{realm}:{password}")


def ha2(name: str, method: str = "POST") -> str:
    """HA2 = sha256_hex("POST:<Name>"), Name being the variable, method or file `auth_name`."""
    return sha256_hex(f"{method}:{name}")


def response(user: str, realm: str, password: str, nonce: str, name: str, salt: list[int] | None = None) -> str:
    """response = sha256_hex("HA1:nonce:HA2")."""
    return sha256_hex(f"{ha1(user, realm, password, salt)}:{nonce}:{ha2(name)}")


@dataclass
class Challenge:
    nonce: str
    opaque: str
    user: str
    expires: float


class AuthError(Exception):
    """Login refused; the message says why (logged by the simulator, not sent to the client in detail)."""


class NonAsciiCredentials(AuthError):
    """A user or password outside ASCII. SICK's clients hash such passwords differently (UTF-8, raw bytes,
    code point modulo 256), so no one answer is right: the simulator refuses the login the way the device answers a
    failed login, HTTP 200 with ``header.status`` ``device_status`` (4, access denied), never a 500."""

    device_status = 4


def is_ascii(text: str) -> bool:
    return all(ord(char) < 128 for char in text)


class NonceStore:
    """Single-use nonces with a time to live. Bounded, so a client that never logs in cannot grow it."""

    def __init__(self, ttl: float = 60.0, max_outstanding: int = 256, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.max_outstanding = max_outstanding
        self._clock = clock
        self._challenges: OrderedDict[str, Challenge] = OrderedDict()

    def issue(self, user: str) -> Challenge:
        now = self._clock()
        while self._challenges:  # drop expired ones (oldest first) and keep the store bounded
            oldest = next(iter(self._challenges.values()))
            if oldest.expires > now and len(self._challenges) < self.max_outstanding:
                break
            self._challenges.popitem(last=False)
        challenge = Challenge(secrets.token_hex(16), secrets.token_hex(16), user, now + self.ttl)
        self._challenges[challenge.nonce] = challenge
        return challenge

    def consume(self, nonce: str) -> Challenge:
        """Take a nonce out of the store (single use); raise AuthError when unknown, used or expired."""
        challenge = self._challenges.pop(nonce, None)
        if challenge is None:
            raise AuthError("unknown or already used nonce")
        if challenge.expires <= self._clock():
            raise AuthError("nonce expired")
        return challenge

    def clear(self) -> None:
        self._challenges.clear()

    def __len__(self) -> int:
        return len(self._challenges)


def verify(header: object, *, name: str, user: str, password: str, realm: str, salt: list[int] | None,
           nonces: NonceStore) -> str:
    """Check an auth header for the endpoint ``name``; return the user name or raise AuthError."""
    if not isinstance(header, dict):
        raise AuthError("missing header object")
    missing = [key for key in AUTH_HEADER_KEYS if not isinstance(header.get(key), str)]
    if missing:
        raise AuthError("header lacks " + ", ".join(missing))
    challenge = nonces.consume(header["nonce"])  # consumed even when the rest is wrong: single use
    if not is_ascii(header["user"]) or not is_ascii(password):
        raise NonAsciiCredentials("user or password is not ASCII (the camera's password must be ASCII)")
    if header["user"] != challenge.user or header["user"] != user:
        raise AuthError("unknown user or user differs from the challenge")
    if header["realm"] != realm:
        raise AuthError("wrong realm")
    if not hmac.compare_digest(header["opaque"], challenge.opaque):
        raise AuthError("opaque does not match the challenge")
    expected = response(user, realm, password, challenge.nonce, name, salt)
    if not hmac.compare_digest(header["response"].lower(), expected):
        raise AuthError("wrong response (password or HA2 name)")
    return user
