"""Team: the people of an organization (the vendor's staff, a customer's people), their roles, removal.

A vendor person who leaves loses the API and push tokens they made; one whose role drops keeps them,
capped to the new role. The pull tokens they issued belong to the customers and stay. A customer's
admin may also revoke the pull tokens of a person they remove.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import Invitation, Membership, Organization, Token, User, WebSession
from app.roles import CUSTOMER_ROLES, Permission, may_grant, permissions
from app.services.base import Change, Service, require
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.invitations import revoke_sent_by
from app.services.tokens import retire_tokens_of, revoke_token


async def member_of(session: AsyncSession, org_id: int, user_id: int) -> tuple[Membership, User]:
    row = (
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == org_id, Membership.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFound(f"member {user_id} not found")
    return row[0], row[1]


async def admins_left(session: AsyncSession, org_id: int) -> int:
    stmt = select(func.count()).where(Membership.organization_id == org_id, Membership.role == "admin")
    return int(await session.scalar(stmt) or 0)


async def end_sessions(session: AsyncSession, user_id: int) -> None:
    """Sign a person out everywhere, in the change's transaction."""
    await session.execute(delete(WebSession).where(WebSession.user_id == user_id))


class TeamService(Service):
    async def _org(self, session: AsyncSession, actor: Actor, org_id: int) -> Organization:
        """Vendor staff manage the vendor's team (MANAGE_TEAM); a customer's admins their own organization."""
        org = await session.get(Organization, org_id)
        if org is None:
            raise NotFound(f"organization {org_id} not found")
        if org.kind == "vendor" and org.id == actor.vendor_id and actor.is_vendor_staff:
            require(actor, Permission.MANAGE_TEAM)
            return org
        if org.kind == "customer" and actor.org_id == org.id and actor.role == "admin":
            return org
        raise NotFound(f"organization {org_id} not found")

    async def change_role(self, actor: Actor, org_id: int, user_id: int, role: str) -> tuple[User, str]:
        async with self.change(actor) as change:
            org = await self._org(change.session, actor, org_id)
            membership, person = await member_of(change.session, org.id, user_id)
            before = membership.role
            if org.kind == "vendor":
                if user_id == actor.user_id:
                    raise Forbidden("You cannot change your own role; ask another admin.")
                if not (may_grant(actor.role, role) and may_grant(actor.role, before)):
                    raise Invalid("role", "Choose one of the roles listed (never above your own).")
            else:
                if role not in CUSTOMER_ROLES:
                    raise Invalid("role", "Choose admin or member as the role.")
                if before == "admin" and role != "admin" and await admins_left(change.session, org.id) <= 1:
                    raise Conflict("role", "The team needs at least one admin.")
            if role != before:
                membership.role = role  # every request re-reads the membership: the new role applies at once
                after = {"email": person.email, "role": role}
                change.record(
                    DomainEvent.MEMBER_ROLE_CHANGED, "user", user_id, {"email": person.email, "role": before}, after
                )
                if org.kind == "vendor":
                    await retire_tokens_of(change, user_id, org.id, role)
                await revoke_sent_by(change, user_id, actor.vendor_id, lambda i: may_still_send(i, org, role))
        return person, before

    async def remove(self, actor: Actor, org_id: int, user_id: int, revoke_pull_tokens: bool = False) -> User:
        """Remove a person; they are signed out everywhere at once. An account that belongs nowhere else
        is deleted, so its address can be invited again."""
        async with self.change(actor) as change:
            session = change.session
            org = await self._org(session, actor, org_id)
            membership, person = await member_of(session, org.id, user_id)
            if org.kind == "vendor" and user_id == actor.user_id:
                raise Forbidden("You cannot remove yourself; ask another admin.")
            if membership.role == "admin" and org.kind == "customer" and await admins_left(session, org.id) <= 1:
                raise Conflict("user", "The team needs at least one admin.")
            change.record(
                DomainEvent.MEMBER_REMOVED, "user", user_id, before={"email": person.email, "role": membership.role}
            )
            await revoke_sent_by(change, user_id, actor.vendor_id, lambda _i: False)
            if org.kind == "vendor":
                await retire_tokens_of(change, user_id, org.id, None)
            elif revoke_pull_tokens:
                await self._revoke_pull_tokens(change, org.id, user_id)
            await session.delete(membership)
            await session.flush()
            await end_sessions(session, user_id)
            others = await session.scalar(select(func.count()).where(Membership.user_id == user_id))
            if not others:
                await session.execute(delete(User).where(User.id == user_id))
        return person

    async def _revoke_pull_tokens(self, change: Change, org_id: int, user_id: int) -> None:
        tokens = await change.session.scalars(
            select(Token).where(
                Token.organization_id == org_id, Token.created_by == user_id, Token.revoked_at.is_(None)
            )
        )
        for token in tokens:
            revoke_token(change, token, DomainEvent.PULL_TOKEN_REVOKED)


def may_still_send(invitation: Invitation, org: Organization, role: str) -> bool:
    """Whether a person now holding `role` in `org` could send `invitation` today."""
    if org.kind == "customer":
        return role == "admin"
    if invitation.organization_id == org.id:  # to the vendor's own team
        return Permission.MANAGE_TEAM in permissions(role) and may_grant(role, invitation.role)
    return Permission.MANAGE_CUSTOMERS in permissions(role)  # to a customer


async def open_pull_tokens(session: AsyncSession, org_id: int, user_id: int) -> int:
    """How many working pull tokens a customer's person made (the removal page offers to revoke them)."""
    stmt = select(func.count()).where(
        Token.organization_id == org_id, Token.created_by == user_id, Token.revoked_at.is_(None)
    )
    return int(await session.scalar(stmt) or 0)
