"""Token secrets: random, prefixed by kind, shown once, stored as a SHA-256 hash with a short hint."""

from __future__ import annotations

import hashlib
import secrets

TOKEN_PREFIXES = {"api": "wharf_api_", "push": "wharf_push_", "pull": "wharf_pull_"}
HINT_LENGTH = 16  # the prefix and a few characters: enough to tell tokens apart in a list, useless to a thief


def hash_secret(secret: str) -> str:
    """Token secrets carry 256 bits of randomness: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: str) -> str:
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def hint_of(secret: str) -> str:
    return secret[:HINT_LENGTH]


def link_secret() -> str:
    """The secret part of a single-use link (invitation, password reset, address confirmation)."""
    return secrets.token_urlsafe(32)
