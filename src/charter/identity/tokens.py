"""Secrets handed to clients (API tokens, session cookies) and how they are stored.

A secret is 32 random bytes (256 bits) from the OS, written in base62 after a short prefix
that says what it is (``chr_`` for API tokens, ``chs_`` for sessions), so a leaked one is easy
to recognise. Only its SHA-256 is stored: a slow password hash buys nothing against a
256-bit random secret and would cost every request.
"""

from __future__ import annotations

import hashlib
import re
import secrets

from charter.errors import InvalidArgument

TOKEN_PREFIX = "chr_"  # noqa: S105 - the public marker of API tokens, not a secret
SESSION_PREFIX = "chs_"
SECRET_BYTES = 32
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
# 62**43 > 2**256: 43 characters always hold 32 bytes; shorter values are left-padded.
_SECRET_CHARS = 43
_SECRET_BODY = re.compile(rf"^[0-9A-Za-z]{{{_SECRET_CHARS}}}$")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_DURATION_SECONDS = 10 * 365 * 86400


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits)).rjust(_SECRET_CHARS, "0")


def generate(prefix: str = TOKEN_PREFIX) -> str:
    """A new secret: the prefix and 256 random bits in base62."""
    return prefix + _base62(secrets.token_bytes(SECRET_BYTES))


def hash_secret(secret: str) -> str:
    """What is stored and looked up: the SHA-256 of the whole secret, in hex."""
    return hashlib.sha256(secret.encode()).hexdigest()


def is_well_formed(secret: str, prefix: str = TOKEN_PREFIX) -> bool:
    """Whether the text could be a secret of this kind; a cheap check before any lookup."""
    return secret.startswith(prefix) and bool(_SECRET_BODY.match(secret[len(prefix) :]))


def parse_duration(text: str, field: str = "expires_in") -> int:
    """Seconds in a duration such as ``90s``, ``15m``, ``12h``, ``30d`` or ``2w``."""
    match = _DURATION.match(text)
    if match is None:
        raise InvalidArgument(
            f"{field} {text!r} is not a duration such as 30d, 12h, 15m or 90s", field=field
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds <= 0 or seconds > MAX_DURATION_SECONDS:
        raise InvalidArgument(
            f"{field} must be between 1 second and {MAX_DURATION_SECONDS // 86400} days",
            field=field,
        )
    return seconds
