"""Password hashing with ``hashlib.scrypt``: salted, self-describing, compared in constant time."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# Cost parameters are stored with each hash, so they can be raised later without a migration.
N, R, P = 2**14, 8, 1
SALT_BYTES = 16
KEY_BYTES = 32
MAX_PASSWORD_CHARS = 256


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=N, r=R, p=P, dklen=KEY_BYTES)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches; malformed hashes and absurd inputs are simply False."""
    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


# Checked against when the username is unknown, so a wrong name costs as long as a wrong password.
DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def new_password() -> str:
    """A random password a person can type: 16 URL-safe characters."""
    return secrets.token_urlsafe(12)
