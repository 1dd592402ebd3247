"""Passwords: one rule for their length, and a slow KDF (scrypt) to store them."""

from __future__ import annotations

import hashlib
import hmac
import secrets

import anyio.to_thread

MIN_LENGTH = 8
MAX_LENGTH = 1024  # scrypt reads it all; nobody types more
_SCRYPT = {"n": 2**15, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024}
# Verifying against this for unknown accounts keeps the answer time the same whether the account exists.
DUMMY_HASH = "scrypt$32768$8$1$" + "00" * 16 + "$" + "00" * 32


def problem(password: str) -> str | None:
    """What is wrong with a new password, in words for the person choosing it; None when it will do."""
    if len(password) < MIN_LENGTH:
        return f"Use at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"Use at most {MAX_LENGTH} characters."
    return None


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$") or len(password) > MAX_LENGTH:
        return False
    _, n, r, p, salt, expected = stored.split("$")
    digest = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32, maxmem=_SCRYPT["maxmem"]
    )
    return hmac.compare_digest(digest.hex(), expected)


async def hashed(password: str) -> str:
    """hash_password off the event loop: scrypt takes a quarter second of CPU that no request should wait on."""
    return await anyio.to_thread.run_sync(hash_password, password)


async def matches(password: str, stored: str | None) -> bool:
    """verify_password off the event loop (an unknown account is checked against DUMMY_HASH, as long)."""
    return await anyio.to_thread.run_sync(verify_password, password, stored or DUMMY_HASH)
