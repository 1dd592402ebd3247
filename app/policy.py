"""The AccessPolicy the registry consults: vendor tokens act under their vendor's slug only."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.identity import hash_secret
from app.models import Organization, Token
from registry.auth import DELETE, PULL, PUSH, Principal

VENDOR_ROLE_ACTIONS = {
    "admin": frozenset({PULL, PUSH, DELETE}),
    "release": frozenset({PULL, PUSH}),
}


class TokenPolicy:
    """Resolves token secrets and subjects with a short cache, so revocations bite within seconds."""

    def __init__(self, engine: AsyncEngine, cache_seconds: float = 2.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._by_hash: dict[str, tuple[float, Principal | None]] = {}
        self._by_subject: dict[str, tuple[float, Principal | None]] = {}

    async def authenticate(self, secret: str) -> Principal | None:
        return await self._cached(self._by_hash, hash_secret(secret), Token.secret_hash)

    async def resolve(self, subject: str) -> Principal | None:
        kind, _, raw_id = subject.partition(":")
        if kind != "token" or not raw_id.isdigit():
            return None
        return await self._cached(self._by_subject, subject, Token.id, int(raw_id))

    async def _cached(
        self, cache: dict[str, tuple[float, Principal | None]], key: str, column: object, value: object = None
    ) -> Principal | None:
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        principal = await self._load(column, key if value is None else value)
        if len(cache) > 100_000:
            cache.clear()
        cache[key] = (now + self.cache_seconds, principal)
        return principal

    async def _load(self, column: object, value: object) -> Principal | None:
        stmt = (
            select(
                Token.id,
                Token.kind,
                Token.role,
                Token.name,
                Token.expires_at,
                Token.revoked_at,
                Organization.kind.label("org_kind"),
                Organization.slug,
            )
            .join(Organization, Organization.id == Token.organization_id)
            .where(cast(Any, column) == value)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and _aware(row.expires_at) <= datetime.now(UTC):
            return None
        return Principal(
            f"token:{row.id}",
            row.name,
            {"org_kind": row.org_kind, "org_slug": row.slug, "role": row.role, "token_kind": row.kind},
        )

    async def allowed_actions(self, principal: Principal, repository: str) -> frozenset[str]:
        attrs = principal.attributes
        if attrs.get("org_kind") != "vendor" or not repository.startswith(attrs["org_slug"] + "/"):
            return frozenset()
        return VENDOR_ROLE_ACTIONS.get(attrs.get("role", ""), frozenset({PULL}))


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)
