"""The AccessPolicy the registry consults: vendor staff act under their vendor's slug by role;
customer tokens read what their licenses grant, decided per tag by licensing.decide, from the networks
their token allows and within its and their license's quotas (app.admission); every token within the
server's request rate (app.rate_limit).

Credentials and licenses are cached in memory for `cache_seconds`, so a revocation, suspension, grant
or limit edit made on any node bites within that time, even for bearer JWTs already handed out.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, cast

from cachetools import LRUCache
from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from sqlalchemy.orm import aliased

import licensing
from app import immutability
from app.admission import QuotaGate, network_refusal
from app.credentials import hash_secret
from app.identity import TokenIdentity
from app.limits import Limits, networks
from app.models import License, LicenseGrant, Organization, RepositorySettings, Token
from app.quotas import QuotaCounters
from app.rate_limit import RateLimiter
from app.roles import Permission, permissions
from app.times import aware
from registry.auth import ADMITTED, ALLOWED, DELETE, PULL, PUSH, Admission, Decision, Principal, Read
from registry.sql import write_transaction

log = logging.getLogger(__name__)
CACHE_ENTRIES = 100_000  # per cache; past it the least recently used answers go first
RULE_SETS = 64  # distinct sets of tag rules whose answers per tag are remembered
MATCHES_PER_RULE_SET = 50_000  # tags remembered per rule set; past it the set starts again
_ROLE_ACTIONS = {Permission.PULL: PULL, Permission.PUSH: PUSH, Permission.DELETE: DELETE}
Vendor = aliased(Organization)
# While the database is away, pulls go on with the last answers known (the audit spool keeps the record).
DB_UNREACHABLE = (DBAPIError, OSError)


class WharfPolicy:
    def __init__(
        self,
        engine: AsyncEngine,
        cache_seconds: float = 2.0,
        warn_days: int = 14,
        quotas: QuotaCounters | None = None,
        rate_limit: RateLimiter | None = None,
    ) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self.warn_days = warn_days
        self.quotas = QuotaGate(quotas or QuotaCounters(engine))
        self.rate_limit = rate_limit  # None: off
        # (expires at, answer): an expired answer is kept, to be used while the database is away
        self._by_hash: LRUCache[str, tuple[float, Principal | None]] = LRUCache(CACHE_ENTRIES)
        self._by_subject: LRUCache[str, tuple[float, Principal | None]] = LRUCache(CACHE_ENTRIES)
        self._licenses: LRUCache[int, tuple[float, tuple[licensing.License, ...]]] = LRUCache(CACHE_ENTRIES)
        self._tag_matches: LRUCache[tuple[licensing.TagRule, ...], dict[str, bool]] = LRUCache(RULE_SETS)
        self._license_limits: LRUCache[int, tuple[str, Limits]] = LRUCache(CACHE_ENTRIES)  # id -> (name, limits)
        self._tag_rules: LRUCache[str, tuple[float, str | None]] = LRUCache(CACHE_ENTRIES)
        self._hits = self._misses = 0
        self._last_used: dict[int, datetime] = {}  # token id -> last use, written by flush_last_used()

    def forget(self) -> None:
        """Drop every cached answer (called after writes on this node; other nodes expire theirs)."""
        self._by_hash.clear()
        self._by_subject.clear()
        self._licenses.clear()
        self._tag_rules.clear()

    def cache_stats(self) -> dict[str, int]:
        """Credential cache hits, misses (database look-ups) and entries, for the metrics page."""
        return {"hits": self._hits, "misses": self._misses, "entries": len(self._by_hash) + len(self._by_subject)}

    # -- who ------------------------------------------------------------------------------------
    async def authenticate(self, secret: str) -> Principal | None:
        return self._used(await self._cached_principal(self._by_hash, hash_secret(secret), Token.secret_hash))

    async def resolve(self, subject: str) -> Principal | None:
        # `token:<id>:<hash prefix>`: ids can be reused after a delete (SQLite), the hash never is
        kind, raw_id, tag = [*subject.split(":"), "", ""][:3]
        if kind != "token" or not raw_id.isdigit() or len(tag) != 16:
            return None
        principal = await self._cached_principal(self._by_subject, subject, Token.id, int(raw_id))
        return self._used(principal if principal is not None and principal.subject == subject else None)

    def _used(self, principal: Principal | None) -> Principal | None:
        if principal is not None:
            self._last_used[principal.identity.token_id] = datetime.now(UTC)
        return principal

    async def flush_last_used(self) -> int:
        """Write the tokens' last-use times gathered in memory: one batch, never on a request's path."""
        pending, self._last_used = self._last_used, {}
        if pending:
            tokens = cast(Table, Token.__table__)
            stmt = update(tokens).where(tokens.c.id == bindparam("token_id")).values(last_used_at=bindparam("at"))
            async with write_transaction(self.engine) as conn:
                await conn.execute(stmt, [{"token_id": k, "at": v} for k, v in pending.items()])
        return len(pending)

    async def _cached_principal(
        self, cache: LRUCache[str, tuple[float, Principal | None]], key: str, column: object, value: object = None
    ) -> Principal | None:
        now = time.monotonic()
        hit = cache.get(key)
        if hit is not None and hit[0] > now:
            self._hits += 1
            return hit[1]
        self._misses += 1
        try:
            principal = await self._load_principal(column, key if value is None else value)
        except DB_UNREACHABLE:
            if hit is None:
                raise
            log.warning("database unreachable: using the last known answer for a token")
            return hit[1]
        cache[key] = (now + self.cache_seconds, principal)
        return principal

    async def _load_principal(self, column: object, value: object) -> Principal | None:
        stmt = (
            select(
                Token.id,
                Token.secret_hash,
                Token.kind,
                Token.role,
                Token.name,
                Token.expires_at,
                Token.revoked_at,
                Token.created_by,
                Token.allowed_cidrs,
                Token.limits,
                Organization.id.label("org_id"),
                Organization.kind.label("org_kind"),
                Organization.slug,
                Vendor.id.label("vendor_id"),
                Vendor.slug.label("vendor_slug"),
            )
            .join(Organization, Organization.id == Token.organization_id)
            .join(Vendor, Vendor.id == Organization.vendor_id, isouter=True)
            .where(cast(Any, column) == value)
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None or row.revoked_at is not None:
            return None
        if row.expires_at is not None and aware(row.expires_at) <= datetime.now(UTC):
            return None
        vendor = (row.org_id, row.slug) if row.org_kind == "vendor" else (row.vendor_id, row.vendor_slug)
        identity = TokenIdentity(
            token_id=row.id,
            token_kind=row.kind,
            name=row.name,
            role=row.role,
            org_id=row.org_id,
            org_kind=row.org_kind,
            org_slug=row.slug,
            vendor_id=vendor[0],
            vendor_slug=vendor[1],
            created_by=row.created_by,
            networks=networks(tuple(json.loads(row.allowed_cidrs or "[]"))),
            limits=Limits.of(row.limits),
        )
        return Principal(f"token:{row.id}:{row.secret_hash[:16]}", row.name, identity)

    # -- from where, how much, how fast ---------------------------------------------------------
    def admit(self, principal: Principal, address: str | None) -> Admission:
        who: TokenIdentity = principal.identity
        if who.networks and (refused := network_refusal(who.name, who.networks, address)):
            return refused
        if self.rate_limit is not None and (wait := self.rate_limit.take(who.token_id)):
            reason = f"token '{who.name}' sent more than {self.rate_limit.describe()}; slow down"
            return Admission(False, reason, 429, self.rate_limit.headers(wait), code="rate_limited")
        return ADMITTED

    def admit_read(self, principal: Principal, read: Read) -> Admission:
        who: TokenIdentity = principal.identity
        if who.token_kind != "pull":
            return ADMITTED  # quotas are for customers' pull tokens
        license_id = int(read.license) if read.license and read.license.isdigit() else None
        terms = self._license_limits.get(license_id) if license_id is not None else None
        lic = (license_id, terms[0], terms[1]) if license_id is not None and terms is not None else None
        return self.quotas.admit(read, (who.token_id, who.name, who.limits), lic)

    def release_unsent(self, principal: Principal, license: str | None, size: int) -> None:
        who: TokenIdentity = principal.identity
        if who.token_kind == "pull" and size > 0:
            self.quotas.release(who.token_id, int(license) if license and license.isdigit() else None, size)

    # -- what -----------------------------------------------------------------------------------
    async def allowed_actions(self, principal: Principal, repository: str) -> frozenset[str]:
        who: TokenIdentity = principal.identity
        if not repository.startswith(who.vendor_slug + "/"):
            return frozenset()  # vendors never see each other's anything
        if who.org_kind == "vendor":
            return frozenset(action for p, action in _ROLE_ACTIONS.items() if p in permissions(who.role))
        licenses = await self.customer_licenses(who.org_id)
        # A repository named by any of the customer's licenses is visible, even once the license has
        # lapsed, so that the denial can say why; anything else answers as if it did not exist.
        return frozenset({PULL}) if any(lic.covers_repository(repository) for lic in licenses) else frozenset()

    async def lists_repository(self, principal: Principal, repository: str) -> bool:
        who: TokenIdentity = principal.identity
        if who.org_kind == "vendor":
            return PULL in await self.allowed_actions(principal, repository)
        if not repository.startswith(who.vendor_slug + "/"):
            return False
        licenses = await self.customer_licenses(who.org_id)
        return licensing.repository_visible(licenses, repository, datetime.now(UTC))

    def restricts_tags(self, principal: Principal) -> bool:
        return bool(principal.identity.org_kind != "vendor")

    async def decide_tags(self, principal: Principal, repository: str, tags: frozenset[str], *, asked: str) -> Decision:
        if not self.restricts_tags(principal):
            return ALLOWED
        licenses = await self.customer_licenses(principal.identity.org_id)
        result = licensing.decide_reachable(
            licenses, repository, sorted(tags), datetime.now(UTC), asked=asked, warn_days=self.warn_days
        )
        if isinstance(result, licensing.Allowed):
            return Decision(True, warning=result.warning, license=result.license_id)
        return Decision(False, reason=result.reason, code=result.code)

    async def readable_tags(self, principal: Principal, repository: str, tags: list[str]) -> list[str]:
        if not self.restricts_tags(principal):
            return tags
        licenses = await self.customer_licenses(principal.identity.org_id)
        rules = licensing.tag_rules_in_force(licenses, repository, datetime.now(UTC))
        if not rules:
            return []
        # A tag matches a rule set or not, forever: remember it, so a listing of 10,000 tags costs
        # dictionary look-ups, and only tags new since the last listing are matched.
        known = self._tag_matches.get(rules)
        if known is None or len(known) > MATCHES_PER_RULE_SET:
            known = self._tag_matches[rules] = {}
        unknown = [tag for tag in tags if tag not in known]
        if unknown:
            matching = set(licensing.tags_matching(rules, unknown))
            known.update((tag, tag in matching) for tag in unknown)
        return [tag for tag in tags if known[tag]]

    async def tag_may_move(self, principal: Principal, repository: str, tag: str) -> Decision:
        rule = await self.immutability_rule(principal.identity.vendor_id, repository)
        if not immutability.holds(rule, tag):
            return ALLOWED
        return Decision(False, reason=f"{immutability.RULES[str(rule)]} in {repository}", code="immutable_tag")

    async def immutability_rule(self, vendor_id: int, repository: str) -> str | None:
        """The rule in force for `repository` (its own setting, else the vendor's default), cached briefly."""
        now = time.monotonic()
        hit = self._tag_rules.get(repository)
        if hit is not None and hit[0] > now:
            return hit[1]
        own = (
            select(RepositorySettings.immutable_tags)
            .where(RepositorySettings.repository == repository, RepositorySettings.vendor_id == vendor_id)
            .scalar_subquery()
        )
        stmt = select(Organization.immutable_tags, own.label("own")).where(Organization.id == vendor_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        rule = immutability.effective(row.own, row.immutable_tags) if row is not None else None
        self._tag_rules[repository] = (now + self.cache_seconds, rule)
        return rule

    async def customer_licenses(self, customer_id: int) -> tuple[licensing.License, ...]:
        now = time.monotonic()
        hit = self._licenses.get(customer_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        stmt = _license_rows().where(License.customer_id == customer_id)
        try:
            async with self.engine.connect() as conn:
                rows = (await conn.execute(stmt)).all()
        except DB_UNREACHABLE:
            if hit is None:
                raise
            log.warning("database unreachable: using the last known licenses of customer %s", customer_id)
            return hit[1]
        licenses = _build_licenses(customer_id, rows)
        self._licenses[customer_id] = (now + self.cache_seconds, licenses)
        for row in rows:
            self._license_limits[row.id] = (row.name, Limits.of(row.limits))
        return licenses


def _license_rows() -> Any:
    return (
        select(
            License.id,
            License.customer_id,
            License.name,
            License.status,
            License.valid_from,
            License.valid_until,
            License.grace_days,
            License.limits,
            LicenseGrant.repository,
            LicenseGrant.tags,
        )
        .join(LicenseGrant, LicenseGrant.license_id == License.id, isouter=True)
        .order_by(License.id, LicenseGrant.id)
    )


async def licenses_by_customer(session: AsyncSession, vendor_id: int) -> dict[int, tuple[licensing.License, ...]]:
    """Every customer's licenses of the vendor, as the registry decides with them (one query)."""
    rows = (await session.execute(_license_rows().where(License.vendor_id == vendor_id))).all()
    by_customer: dict[int, list[Any]] = {}
    for row in rows:
        by_customer.setdefault(row.customer_id, []).append(row)
    return {customer_id: _build_licenses(customer_id, found) for customer_id, found in by_customer.items()}


def _build_licenses(customer_id: int, rows: Sequence[Any]) -> tuple[licensing.License, ...]:
    grouped: dict[int, tuple[Any, list[licensing.Grant]]] = {}
    for row in rows:
        _, grants = grouped.setdefault(row.id, (row, []))
        if row.repository is None:
            continue
        try:
            grants.append(licensing.parse_grant(row.repository, json.loads(row.tags)))
        except (licensing.InvalidRule, ValueError) as exc:  # stored rules were validated on write
            log.error("license %s: unusable grant %r: %s", row.id, row.repository, exc)
    return tuple(
        licensing.License(
            id=str(row.id),
            customer_id=str(customer_id),
            name=row.name,
            grants=tuple(grants),
            valid_from=aware(row.valid_from),
            valid_until=aware(row.valid_until),
            grace_days=row.grace_days,
            status=row.status,
        )
        for row, grants in grouped.values()
    )
