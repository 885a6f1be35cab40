"""PIN hashing: salted scrypt, encoded with its parameters so they can be raised later.

A 4-digit PIN has only 10,000 values, so the hash must be slow (an attacker with a copy
of ``store.sqlite3`` has to pay ~50 ms per guess, per operator) and salted (the same PIN
gives different hashes). Verification is constant-time. Hashing blocks for tens of
milliseconds: the GUI calls it through the store's worker thread.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SCHEME = "scrypt"
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_pin(pin: str, *, n: int = N, r: int = R, p: int = P) -> str:
    """``scrypt$n$r$p$salt$hash`` (base64 fields)."""
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_BYTES)
    return f"{SCHEME}${n}${r}${p}${_b64(salt)}${_b64(key)}"


def verify_pin(pin: str, encoded: str) -> bool:
    """True when ``pin`` matches ``encoded``; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt64, key64 = encoded.split("$")
        if scheme != SCHEME:
            return False
        salt = base64.b64decode(salt64, validate=True)
        expected = base64.b64decode(key64, validate=True)
        key = hashlib.scrypt(
            pin.encode("utf-8"), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(key, expected)


def needs_rehash(encoded: str) -> bool:
    """True when ``encoded`` used weaker parameters than today's."""
    try:
        scheme, n, r, p, *_ = encoded.split("$")
        return scheme != SCHEME or (int(n), int(r), int(p)) < (N, R, P)
    except ValueError:
        return True
