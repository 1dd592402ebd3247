"""Password reset links: random, single-use, one hour long; only their SHA-256 is stored."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.identity import hash_password, hash_secret
from app.models import PasswordReset, User

RESET_LIFETIME = timedelta(hours=1)
MIN_PASSWORD = 8


async def create_reset(session: AsyncSession, email: str) -> tuple[User, str] | None:
    """A new reset secret for the account with this email, or None when there is no such account."""
    user = await session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        return None
    secret = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    session.add(PasswordReset(user_id=user.id, secret_hash=hash_secret(secret), expires_at=now + RESET_LIFETIME))
    return user, secret


async def usable_reset(session: AsyncSession, secret: str) -> PasswordReset | None:
    reset = await session.scalar(select(PasswordReset).where(PasswordReset.secret_hash == hash_secret(secret)))
    if reset is None or reset.used_at is not None:
        return None
    expires = reset.expires_at if reset.expires_at.tzinfo else reset.expires_at.replace(tzinfo=UTC)
    return reset if expires > datetime.now(UTC) else None


async def use_reset(session: AsyncSession, reset: PasswordReset, password: str) -> User:
    """Set the new password and spend this link and every other open link of the account."""
    user = await session.get(User, reset.user_id)
    assert user is not None
    user.password_hash = hash_password(password)
    await session.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
        .values(used_at=datetime.now(UTC))
    )
    return user
