"""Customers: the organizations a vendor licenses software to."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import License, Membership, Organization, Token, User
from app.roles import Permission
from app.services import validation
from app.services.base import Service, require
from app.services.errors import NotFound
from app.times import utcnow


def slugify(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:64] or "customer"


async def find(session: AsyncSession, vendor_id: int, customer_id: int) -> Organization:
    """The vendor's customer; another vendor's (or no) customer is not found."""
    found = await session.scalar(
        select(Organization).where(
            Organization.id == customer_id, Organization.kind == "customer", Organization.vendor_id == vendor_id
        )
    )
    if found is None:
        raise NotFound(f"customer {customer_id} not found")
    return found


async def page(session: AsyncSession, vendor_id: int, limit: int, after: int | None) -> Sequence[Organization]:
    stmt = (
        select(Organization)
        .where(Organization.kind == "customer", Organization.vendor_id == vendor_id)
        .order_by(Organization.id)
        .limit(limit)
    )
    if after is not None:
        stmt = stmt.where(Organization.id > after)
    return (await session.scalars(stmt)).all()


def snapshot(org: Organization) -> dict[str, str]:
    return {"name": org.name, "slug": org.slug}


class CustomerService(Service):
    async def create(self, actor: Actor, name: str) -> Organization:
        require(actor, Permission.MANAGE_CUSTOMERS)
        name = validation.name("name", name, "customer")
        async with self.change(actor) as change:
            base = slugify(name)
            taken = set(
                await change.session.scalars(
                    select(Organization.slug).where(
                        Organization.vendor_id == actor.vendor_id, Organization.slug.startswith(base)
                    )
                )
            )
            slug = (
                base
                if base not in taken
                else next(f"{base}-{i}" for i in range(2, 10**6) if f"{base}-{i}" not in taken)
            )
            org = Organization(kind="customer", slug=slug, name=name, vendor_id=actor.vendor_id)
            change.session.add(org)
            await change.session.flush()
            await change.session.refresh(org)
            change.record(DomainEvent.CUSTOMER_CREATED, "customer", org.id, after=snapshot(org))
        return org

    async def rename(self, actor: Actor, customer_id: int, name: str) -> Organization:
        require(actor, Permission.MANAGE_CUSTOMERS)
        async with self.change(actor) as change:
            org = await find(change.session, actor.vendor_id, customer_id)  # another vendor's: not found, first
            name = validation.name("name", name, "customer")
            if org.name != name:
                before = snapshot(org)
                org.name = name
                change.record(DomainEvent.CUSTOMER_UPDATED, "customer", org.id, before=before, after=snapshot(org))
        return org

    async def delete(self, actor: Actor, customer_id: int) -> Organization:
        """Remove a customer: its tokens stop working; its licenses, invitations and memberships go, and so
        do the accounts of its people that belong nowhere else. Its download history stays (ids are never
        reused, so nothing else will ever be shown that history)."""
        require(actor, Permission.MANAGE_CUSTOMERS)
        async with self.change(actor) as change:
            session = change.session
            org = await find(session, actor.vendor_id, customer_id)
            await session.execute(
                update(Token)
                .where(Token.organization_id == org.id, Token.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            people = list(await session.scalars(select(Membership.user_id).where(Membership.organization_id == org.id)))
            change.record(DomainEvent.CUSTOMER_DELETED, "customer", org.id, before=snapshot(org))
            await session.delete(org)
            await session.flush()
            if people:
                elsewhere = select(Membership.user_id).where(Membership.user_id.in_(people))
                await session.execute(delete(User).where(User.id.in_(people), User.id.not_in(elsewhere)))
            change.drops_access = True
        return org


async def counts(session: AsyncSession, customer_id: int) -> dict[str, int]:
    """What deleting a customer takes with it, for the confirmation page."""
    tokens = select(func.count()).where(Token.organization_id == customer_id, Token.revoked_at.is_(None))
    licenses = select(func.count()).where(License.customer_id == customer_id)
    people = select(func.count()).where(Membership.organization_id == customer_id)
    return {
        "tokens": int(await session.scalar(tokens) or 0),
        "licenses": int(await session.scalar(licenses) or 0),
        "people": int(await session.scalar(people) or 0),
    }
