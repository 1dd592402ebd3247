"""Tokens: customers' pull tokens and the vendor's own API and push tokens. The secret is returned once
and stored only as a hash; a token never carries more than the role of the person who made it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.credentials import hash_secret, hint_of, new_secret
from app.domain_events import DomainEvent
from app.identity import Actor
from app.limits import Limits, NoOverlap, Restrictions
from app.models import License, Organization, Token
from app.roles import VENDOR_ROLES, Permission, may_grant, permissions, strongest_within
from app.services import customers, validation
from app.services.base import Change, Service, require
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.times import iso, utcnow

VENDOR_KINDS = ("api", "push")
EDITABLE = ("name", "expires_at", "allowed_cidrs", "limits")


def snapshot(token: Token) -> dict[str, Any]:
    found = {
        "name": token.name,
        "kind": token.kind,
        "role": token.role,
        "organization_id": token.organization_id,
        "expires_at": iso(token.expires_at),
        "revoked_at": iso(token.revoked_at),
    }
    if token.kind == "pull":
        found.update(restrictions_of(token).json())
    return found


def restrictions_of(token: Token) -> Restrictions:
    return Restrictions(tuple(json.loads(token.allowed_cidrs or "[]")), Limits.of(token.limits))


def _store(token: Token, restrictions: Restrictions) -> None:
    token.allowed_cidrs = json.dumps(list(restrictions.allowed_cidrs)) if restrictions.allowed_cidrs else None
    token.limits = json.dumps(restrictions.limits.json()) if restrictions.limits else None


async def token_defaults(session: AsyncSession, customer_id: int) -> Restrictions:
    """What a new pull token of the customer starts with: the tightest of its licenses' token defaults."""
    stored = await session.scalars(
        select(License.token_defaults).where(License.customer_id == customer_id, License.token_defaults.is_not(None))
    )
    combined = Restrictions()
    for text in stored:
        try:
            combined = combined.tightest(Restrictions.of(text))
        except NoOverlap as exc:
            raise Invalid(
                "allowed_cidrs",
                f"The networks this customer's licenses allow for tokens do not overlap "
                f"({exc}); the vendor has to change them before a token can be made.",
            ) from None
    return combined


def _expiry(expires_at: datetime | None) -> datetime | None:
    expires_at = validation.moment("expires_at", expires_at)
    if expires_at is not None and expires_at <= utcnow():
        raise Invalid("expires_at", "Choose an expiry date in the future.")
    return expires_at


async def _issue(
    change: Change,
    kind: str,
    name: str,
    org_id: int,
    role: str,
    expires_at: datetime | None,
    restrictions: Restrictions | None = None,
) -> tuple[Token, str]:
    secret = new_secret(kind)
    token = Token(
        kind=kind,
        name=name,
        secret_hash=hash_secret(secret),
        hint=hint_of(secret),
        organization_id=org_id,
        role=role,
        expires_at=expires_at,
        created_by=change.actor.user_id,
    )
    if restrictions is not None:
        _store(token, restrictions)
    change.session.add(token)
    await change.session.flush()
    await change.session.refresh(token)
    return token, secret


def revoke_token(change: Change, token: Token, event: DomainEvent) -> None:
    """Revoke in the change (recorded once; a revoked token stays revoked)."""
    if token.revoked_at is not None:
        return
    before = snapshot(token)
    token.revoked_at = utcnow()
    change.record(event, "token", token.id, before=before, after=snapshot(token))
    change.drops_access = True


async def pull_tokens_of(session: AsyncSession, customer_id: int, created_by: int | None = None) -> Sequence[Token]:
    stmt = select(Token).where(Token.organization_id == customer_id, Token.kind == "pull")
    if created_by is not None:
        stmt = stmt.where(Token.created_by == created_by)
    return (await session.scalars(stmt.order_by(Token.revoked_at.is_not(None), Token.id.desc()))).all()


async def vendor_tokens_of(session: AsyncSession, vendor_id: int) -> Sequence[Token]:
    stmt = select(Token).where(Token.organization_id == vendor_id, Token.kind.in_(VENDOR_KINDS))
    return (await session.scalars(stmt.order_by(Token.revoked_at.is_not(None), Token.id.desc()))).all()


class PullTokenService(Service):
    """Pull tokens belong to a customer. The vendor's account managers issue and revoke them; a customer's
    admins manage all of their organization's, its members only their own."""

    def _customer_of(self, actor: Actor, customer_id: int) -> None:
        if actor.is_vendor_staff:
            require(actor, Permission.MANAGE_CUSTOMERS)
        elif actor.org_kind != "customer" or actor.org_id != customer_id:
            raise NotFound(f"customer {customer_id} not found")

    async def create(
        self,
        actor: Actor,
        customer_id: int,
        name: str,
        expires_at: datetime | None,
        restrictions: Restrictions | None = None,
    ) -> tuple[Token, str]:
        """A new pull token; without `restrictions` (which only the vendor sets) it takes the customer's
        licenses' token defaults."""
        self._customer_of(actor, customer_id)
        if restrictions is not None and not actor.is_vendor_staff:
            raise Forbidden("Only the vendor sets the networks and limits of a token.")
        async with self.change(actor) as change:
            await customers.find(change.session, actor.vendor_id, customer_id)  # another vendor's: not found, first
            name = validation.name("name", name, "token")
            expires_at = _expiry(expires_at)
            if restrictions is None:
                restrictions = await token_defaults(change.session, customer_id)
            restrictions = validation.restrictions("", restrictions)
            token, secret = await _issue(change, "pull", name, customer_id, "pull", expires_at, restrictions)
            change.record(DomainEvent.PULL_TOKEN_CREATED, "token", token.id, after=snapshot(token))
        return token, secret

    async def update(self, actor: Actor, token_id: int, changes: dict[str, Any]) -> Token:
        """Change the given fields (any of EDITABLE): only the vendor's staff who manage customers may.
        Networks and limits apply to the token's next request, on every node within seconds."""
        if not actor.is_vendor_staff:
            raise Forbidden("Only the vendor changes a token's name, expiry, networks and limits.")
        require(actor, Permission.MANAGE_CUSTOMERS)
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise Invalid(sorted(unknown)[0], "This field cannot be changed.")
        async with self.change(actor) as change:
            token = await self.find(change.session, actor, token_id)
            if token.revoked_at is not None:
                raise Conflict("token", f"The token {token.name} is revoked; it cannot be changed.")
            before, current = snapshot(token), restrictions_of(token)
            if "name" in changes:
                token.name = validation.name("name", changes["name"], "token")
            if "expires_at" in changes:
                token.expires_at = _expiry(changes["expires_at"])
            cidrs = validation.networks("allowed_cidrs", changes.get("allowed_cidrs", current.allowed_cidrs))
            _store(token, Restrictions(cidrs, validation.limits("limits", changes.get("limits", current.limits))))
            after = snapshot(token)
            if after != before:
                change.record(DomainEvent.PULL_TOKEN_UPDATED, "token", token.id, before=before, after=after)
                change.drops_access = True
        return token

    async def find(self, session: AsyncSession, actor: Actor, token_id: int) -> Token:
        """A pull token the actor may see: the vendor's customers' (staff), the organization's (customer
        admins), their own (customer members)."""
        stmt = (
            select(Token)
            .join(Organization, Organization.id == Token.organization_id)
            .where(Token.id == token_id, Token.kind == "pull", Organization.vendor_id == actor.vendor_id)
        )
        if not actor.is_vendor_staff:
            stmt = stmt.where(Token.organization_id == actor.org_id)
            if actor.role != "admin":
                stmt = stmt.where(Token.created_by == actor.user_id)
        token = await session.scalar(stmt)
        if token is None:
            raise NotFound(f"pull token {token_id} not found")
        return token

    async def revoke(self, actor: Actor, token_id: int) -> Token:
        if actor.is_vendor_staff:
            require(actor, Permission.MANAGE_CUSTOMERS)
        async with self.change(actor) as change:
            token = await self.find(change.session, actor, token_id)
            revoke_token(change, token, DomainEvent.PULL_TOKEN_REVOKED)
        return token


class VendorTokenService(Service):
    """The vendor's API tokens (automation API and registry) and push tokens (registry only, for CI)."""

    async def create(
        self, actor: Actor, kind: str, name: str, role: str, expires_at: datetime | None
    ) -> tuple[Token, str]:
        require(actor, Permission.MANAGE_TOKENS)
        if kind not in VENDOR_KINDS:
            raise Invalid("kind", "The kind is 'api' or 'push'.")
        if role not in VENDOR_ROLES:
            raise Invalid("role", f"The role is one of {', '.join(VENDOR_ROLES)}.")
        if not may_grant(actor.role, role):
            raise Forbidden(f"A {actor.role} cannot create a token with the role {role}.")
        name = validation.name("name", name, "token")
        expires_at = _expiry(expires_at)
        async with self.change(actor) as change:
            token, secret = await _issue(change, kind, name, actor.vendor_id, role, expires_at)
            change.record(DomainEvent.VENDOR_TOKEN_CREATED, "token", token.id, after=snapshot(token))
        return token, secret

    async def revoke(self, actor: Actor, token_id: int) -> Token:
        require(actor, Permission.MANAGE_TOKENS)
        async with self.change(actor) as change:
            token = await change.session.scalar(
                select(Token).where(
                    Token.id == token_id, Token.organization_id == actor.vendor_id, Token.kind.in_(VENDOR_KINDS)
                )
            )
            if token is None:
                raise NotFound(f"token {token_id} not found")
            if not may_grant(actor.role, token.role):
                raise Forbidden(f"A {actor.role} cannot revoke a {token.role} token.")
            revoke_token(change, token, DomainEvent.VENDOR_TOKEN_REVOKED)
        return token


async def retire_tokens_of(change: Change, person_id: int, vendor_id: int, new_role: str | None) -> int:
    """A person's vendor tokens after they leave (`new_role` None: revoked) or change role: a token keeps
    only what both its role and the new role allow (the strongest role within that), and is revoked when
    no role fits. It never gains a permission it did not have."""
    tokens = await change.session.scalars(
        select(Token).where(
            Token.organization_id == vendor_id,
            Token.kind.in_(VENDOR_KINDS),
            Token.created_by == person_id,
            Token.revoked_at.is_(None),
        )
    )
    touched = 0
    for token in tokens:
        if new_role is None:
            revoke_token(change, token, DomainEvent.VENDOR_TOKEN_REVOKED)
            touched += 1
        elif not may_grant(new_role, token.role):
            capped = strongest_within(permissions(token.role) & permissions(new_role))
            if capped is None:
                revoke_token(change, token, DomainEvent.VENDOR_TOKEN_REVOKED)
            else:
                before = snapshot(token)
                token.role = capped
                change.record(DomainEvent.VENDOR_TOKEN_CAPPED, "token", token.id, before=before, after=snapshot(token))
                change.drops_access = True
            touched += 1
    return touched
