"""SICK challenge/response login as sec100.md §3.2-§3.4 describes it.

Pure functions plus a small nonce store; no I/O, so they are unit-tested on their own. A refused login is
answered with HTTP 200 and a header.status (§3.3): ``AccessDenied`` (4: wrong user, password or response) or
``InvalidChallenge`` (10: unknown or expired nonce). Nonces may be reused until they expire (§3.4).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass

AUTH_HEADER_KEYS = ("user", "response", "realm", "opaque", "nonce")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def ha1(user: str, realm: str, password: str, salt: list[int] | None = None, empty_salt: str = "separator") -> str:
    """HA1 = sha256 of the bytes "user:realm:password", or with a salt "user:realm:password:" + the raw salt bytes.

    ``salt`` None means the challenge had no salt key. An empty list follows ``empty_salt`` (the profile's
    auth.empty_salt): 'separator' still appends ':', 'no_salt' treats it as no salt. ASCII only (§3.4)."""
    text = f"{user}:{realm}:{password}".encode("ascii")
    if salt is None or (not salt and empty_salt == "no_salt"):
        return sha256_hex(text)
    return sha256_hex(text + b":" + bytes(salt))


def ha2(name: str, method: str = "POST") -> str:
    """HA2 = sha256 of "POST:<Name>", Name being the variable, method or file name."""
    return sha256_hex(f"{method}:{name}".encode())


def response(user: str, realm: str, password: str, nonce: str, name: str, salt: list[int] | None = None,
             empty_salt: str = "separator") -> str:
    """response = sha256 hex of "HA1:nonce:HA2" (lower case)."""
    return sha256_hex(f"{ha1(user, realm, password, salt, empty_salt)}:{nonce}:{ha2(name)}".encode())


@dataclass
class Challenge:
    nonce: str
    opaque: str
    user: str
    expires: float


class AuthError(Exception):
    """Login refused; ``meaning`` is the profile's status name. The message is logged, never sent in detail."""

    meaning = "access_denied"


class AccessDenied(AuthError):
    meaning = "access_denied"


class InvalidChallenge(AuthError):
    meaning = "invalid_challenge"


def is_ascii(text: str) -> bool:
    return all(ord(char) < 128 for char in text)


class NonceStore:
    """Nonces with a time to live, reusable until they expire. Bounded, so a client that only ever asks for
    challenges cannot grow it: the oldest is dropped first."""

    def __init__(self, ttl: float = 60.0, max_outstanding: int = 256, clock=time.monotonic) -> None:
        self.ttl = ttl
        self.max_outstanding = max_outstanding
        self._clock = clock
        self._challenges: OrderedDict[str, Challenge] = OrderedDict()

    def issue(self, user: str) -> Challenge:
        now = self._clock()
        while self._challenges:
            oldest = next(iter(self._challenges.values()))
            if oldest.expires > now and len(self._challenges) < self.max_outstanding:
                break
            self._challenges.popitem(last=False)
        challenge = Challenge(secrets.token_hex(16), secrets.token_hex(16), user, now + self.ttl)
        self._challenges[challenge.nonce] = challenge
        return challenge

    def lookup(self, nonce: str) -> Challenge:
        """The live challenge of ``nonce`` (it stays usable); InvalidChallenge when unknown or expired."""
        challenge = self._challenges.get(nonce)
        if challenge is None:
            raise InvalidChallenge("unknown nonce")
        if challenge.expires <= self._clock():
            del self._challenges[nonce]
            raise InvalidChallenge("nonce expired")
        return challenge

    def clear(self) -> None:
        self._challenges.clear()

    def __len__(self) -> int:
        return len(self._challenges)


def verify(header: object, *, name: str, user: str, password: str, realm: str, salt: list[int] | None,
           nonces: NonceStore, empty_salt: str = "separator") -> str:
    """Check a login header for ``name``; return the user or raise AccessDenied / InvalidChallenge."""
    if not isinstance(header, dict):
        raise AccessDenied("no header object")
    missing = [key for key in AUTH_HEADER_KEYS if not isinstance(header.get(key), str)]
    if missing:
        raise AccessDenied("header lacks " + ", ".join(missing))
    challenge = nonces.lookup(header["nonce"])
    if header["user"] != challenge.user or header["user"] != user:
        raise AccessDenied("unknown user or user differs from the challenge")
    if header["realm"] != realm:
        raise AccessDenied("wrong realm")
    if not hmac.compare_digest(header["opaque"].encode("utf-8", "replace"), challenge.opaque.encode()):
        raise AccessDenied("opaque does not match the challenge")
    expected = response(user, realm, password, challenge.nonce, name, salt, empty_salt)
    if not hmac.compare_digest(header["response"].lower().encode("utf-8", "replace"), expected.encode()):
        raise AccessDenied("wrong response (password or HA2 name)")
    return user
