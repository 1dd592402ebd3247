"""Secrets: token generation and hashing, password hashing, bootstrap of the first vendor."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.models import Membership, Organization, Token, User
from registry.sql import WRITE

TOKEN_PREFIXES = {"api": "wharf_api_", "push": "wharf_push_", "pull": "wharf_pull_"}
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_SCRYPT = {"n": 2**15, "r": 8, "p": 1, "maxmem": 64 * 1024 * 1024}


def hash_secret(secret: str) -> str:
    """Token secrets carry 256 bits of randomness: a plain SHA-256 is enough to store them."""
    return hashlib.sha256(secret.encode()).hexdigest()


def new_secret(kind: str) -> str:
    return TOKEN_PREFIXES[kind] + secrets.token_urlsafe(32)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, dklen=32, **_SCRYPT)
    return f"scrypt${_SCRYPT['n']}${_SCRYPT['r']}${_SCRYPT['p']}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str | None) -> bool:
    if not stored or not stored.startswith("scrypt$"):
        return False
    _, n, r, p, salt, expected = stored.split("$")
    digest = hashlib.scrypt(
        password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32, maxmem=_SCRYPT["maxmem"]
    )
    return hmac.compare_digest(digest.hex(), expected)


class BootstrapError(ValueError):
    pass


@dataclass(frozen=True)
class Bootstrapped:
    vendor_id: int
    user_id: int
    token: str


async def bootstrap_vendor(engine: AsyncEngine, slug: str, email: str, password: str) -> Bootstrapped:
    """Create a vendor organization, its admin user and an admin API token (shown once)."""
    if not SLUG_RE.match(slug) or len(slug) > 64:
        raise BootstrapError(f"vendor slug {slug!r} must be lowercase letters, digits and single dashes")
    if "@" not in email:
        raise BootstrapError(f"{email!r} is not an email address")
    if len(password) < 8:
        raise BootstrapError("the password must have at least 8 characters")
    # a write transaction from the start (BEGIN IMMEDIATE on SQLite): it queues behind a running server's writes
    async with AsyncSession(engine.execution_options(**WRITE), expire_on_commit=False) as session, session.begin():
        taken = await session.scalar(
            select(Organization.id).where(Organization.kind == "vendor", Organization.slug == slug)
        )
        if taken:
            raise BootstrapError(f"vendor {slug!r} already exists")
        user = await session.scalar(select(User).where(User.email == email.lower()))
        if user is None:
            user = User(email=email.lower(), name=email.split("@")[0], password_hash=hash_password(password))
            session.add(user)
        vendor = Organization(kind="vendor", slug=slug, name=slug)
        session.add(vendor)
        await session.flush()
        session.add(Membership(user_id=user.id, organization_id=vendor.id, role="admin"))
        secret = new_secret("api")
        session.add(
            Token(
                kind="api",
                name="bootstrap",
                secret_hash=hash_secret(secret),
                hint=secret[:14],
                organization_id=vendor.id,
                role="admin",
                created_by=user.id,
            )
        )
    return Bootstrapped(vendor.id, user.id, secret)
