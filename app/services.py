"""Vendor-side operations shared by the API and the portals: customers, licenses, tokens, invitations.

Each takes an AsyncSession and the acting vendor's id; objects of other vendors are never found.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app.identity import hash_secret, new_secret
from app.models import AdminAuditEntry, Invitation, License, LicenseGrant, Organization, Token

INVITATION_LIFETIME = timedelta(days=7)


class NotFound(LookupError):
    pass


class Invalid(ValueError):
    """Bad input, with the offending field: the API answers 400 and the portals show it by the field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "customer"


# -- customers ---------------------------------------------------------------------------------
async def customer(session: AsyncSession, vendor_id: int, customer_id: int) -> Organization:
    found = await session.scalar(
        select(Organization).where(
            Organization.id == customer_id, Organization.kind == "customer", Organization.vendor_id == vendor_id
        )
    )
    if found is None:
        raise NotFound(f"customer {customer_id} not found")
    return found


async def create_customer(session: AsyncSession, vendor_id: int, name: str) -> Organization:
    name = name.strip()
    if not name:
        raise Invalid("name", "a customer needs a name")
    base = slugify(name)
    taken = set(
        await session.scalars(
            select(Organization.slug).where(Organization.vendor_id == vendor_id, Organization.slug.startswith(base))
        )
    )
    slug = base if base not in taken else next(f"{base}-{i}" for i in range(2, 10_000) if f"{base}-{i}" not in taken)
    org = Organization(kind="customer", slug=slug, name=name[:200], vendor_id=vendor_id)
    session.add(org)
    await session.flush()
    return org


async def customers(session: AsyncSession, vendor_id: int, limit: int, after: int | None) -> Sequence[Organization]:
    stmt = (
        select(Organization)
        .where(Organization.kind == "customer", Organization.vendor_id == vendor_id)
        .order_by(Organization.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Organization.id > after)
    return (await session.scalars(stmt)).all()


async def delete_customer(session: AsyncSession, vendor_id: int, customer_id: int) -> None:
    """Remove a customer: its licenses, invitations and memberships go; its tokens stop working."""
    org = await customer(session, vendor_id, customer_id)
    await session.execute(
        update(Token).where(Token.organization_id == org.id, Token.revoked_at.is_(None)).values(revoked_at=utcnow())
    )
    await session.delete(org)


# -- licenses ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class GrantInput:
    repository: str
    tags: list[str]


def validate_grants(vendor_slug: str, grants: list[GrantInput]) -> None:
    """Parse every rule now, so the policy never meets an unusable one; messages name the field."""
    for i, grant in enumerate(grants):
        if not grant.repository.startswith(vendor_slug + "/"):
            raise Invalid(f"grants[{i}].repository", f"repositories of this vendor start with '{vendor_slug}/'")
        try:
            licensing.parse_grant(grant.repository, grant.tags)
        except licensing.InvalidRule as exc:
            raise Invalid(f"grants[{i}]", exc.message) from None


def validate_window(valid_from: datetime | None, valid_until: datetime | None, grace_days: int) -> None:
    if grace_days < 0:
        raise Invalid("grace_days", "grace_days cannot be negative")
    if valid_from and valid_until and aware(valid_until) <= aware(valid_from):  # type: ignore[operator]
        raise Invalid("valid_until", "valid_until must be after valid_from")


async def license_(session: AsyncSession, vendor_id: int, license_id: int) -> License:
    found = await session.scalar(select(License).where(License.id == license_id, License.vendor_id == vendor_id))
    if found is None:
        raise NotFound(f"license {license_id} not found")
    return found


async def grants_of(session: AsyncSession, license_ids: Sequence[int]) -> dict[int, list[GrantInput]]:
    rows = await session.execute(
        select(LicenseGrant).where(LicenseGrant.license_id.in_(license_ids)).order_by(LicenseGrant.id)
    )
    result: dict[int, list[GrantInput]] = {i: [] for i in license_ids}
    for (grant,) in rows:
        result[grant.license_id].append(GrantInput(grant.repository, json.loads(grant.tags)))
    return result


def license_snapshot(lic: License, grants: list[GrantInput]) -> dict[str, Any]:
    """What the admin audit log keeps of a license: everything a reviewer compares, no timestamps."""
    return {
        "customer_id": lic.customer_id,
        "name": lic.name,
        "notes": lic.notes,
        "status": lic.status,
        "valid_from": iso(lic.valid_from),
        "valid_until": iso(lic.valid_until),
        "grace_days": lic.grace_days,
        "grants": [{"repository": g.repository, "tags": g.tags} for g in grants],
    }


async def replace_grants(session: AsyncSession, license_id: int, grants: list[GrantInput]) -> None:
    await session.execute(delete(LicenseGrant).where(LicenseGrant.license_id == license_id))
    session.add_all(
        LicenseGrant(license_id=license_id, repository=g.repository, tags=json.dumps(g.tags)) for g in grants
    )


# -- tokens ------------------------------------------------------------------------------------
async def issue_token(
    session: AsyncSession,
    *,
    kind: str,
    name: str,
    organization_id: int,
    role: str,
    expires_at: datetime | None,
    created_by: int | None = None,
) -> tuple[Token, str]:
    name = name.strip()
    if not name:
        raise Invalid("name", "a token needs a name")
    if expires_at is not None and aware(expires_at) <= utcnow():  # type: ignore[operator]
        raise Invalid("expires_at", "expires_at must be in the future")
    secret = new_secret(kind)
    token = Token(
        kind=kind,
        name=name[:200],
        secret_hash=hash_secret(secret),
        hint=secret[:16],
        organization_id=organization_id,
        role=role,
        expires_at=aware(expires_at),
        created_by=created_by,
    )
    session.add(token)
    await session.flush()
    return token, secret


async def revoke_token(session: AsyncSession, token: Token) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()


async def invite(session: AsyncSession, organization_id: int, email: str, role: str) -> tuple[Invitation, str]:
    email = email.strip().lower()
    if not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise Invalid("email", f"{email!r} is not an email address")
    secret = secrets.token_urlsafe(32)
    invitation = Invitation(
        organization_id=organization_id,
        email=email,
        role=role,
        secret_hash=hash_secret(secret),
        expires_at=utcnow() + INVITATION_LIFETIME,
    )
    session.add(invitation)
    await session.flush()
    return invitation, secret


def iso(value: datetime | None) -> Any:
    return aware(value).isoformat() if value is not None else None  # type: ignore[union-attr]


def record_change(
    session: AsyncSession,
    *,
    vendor_id: int,
    actor: str,
    client_ip: str | None,
    action: str,
    object_type: str,
    object_id: object,
    before: Any = None,
    after: Any = None,
) -> None:
    """Add an admin audit entry to the session: it commits, or rolls back, with the change itself."""
    session.add(
        AdminAuditEntry(
            vendor_id=vendor_id,
            actor=actor[:200],
            client_ip=client_ip,
            action=action,
            object_type=object_type,
            object_id=str(object_id),
            before=json.dumps(before, default=str) if before is not None else None,
            after=json.dumps(after, default=str) if after is not None else None,
        )
    )
