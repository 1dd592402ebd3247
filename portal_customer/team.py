"""Team (customer admins): invite colleagues, change their roles, remove them."""

from __future__ import annotations

from datetime import UTC, datetime

from litestar import Controller, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import services
from app.mail import send_invitation
from app.models import Invitation, Membership, Organization, User
from app.roles import CUSTOMER_ROLES
from app.web.context import web
from app.web.pages import flash, redirect_with, render
from app.web.sessions import end_sessions_of
from app.web.users import WebUser
from portal_customer.common import Req, admin

Form = URLEncodedBody[dict[str, str]]


async def membership(session: AsyncSession, user: WebUser, user_id: int) -> tuple[Membership, User]:
    row = (
        await session.execute(
            select(Membership, User)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == user.org_id, Membership.user_id == user_id)
        )
    ).first()
    if row is None:
        raise NotFoundException("no such member")
    return row[0], row[1]


async def admins_left(session: AsyncSession, org_id: int) -> int:
    stmt = select(func.count()).where(Membership.organization_id == org_id, Membership.role == "admin")
    return int(await session.scalar(stmt) or 0)


class TeamController(Controller):
    path = "/portal/team"
    include_in_schema = False

    @get("/")
    async def team(self, request: Req) -> Template:
        user = await admin(request)
        async with web(request).session() as session:
            members = (
                await session.execute(
                    select(User, Membership.role, Membership.created_at)
                    .join(Membership, Membership.user_id == User.id)
                    .where(Membership.organization_id == user.org_id)
                    .order_by(User.name, User.email)
                )
            ).all()
            pending = (
                await session.scalars(
                    select(Invitation)
                    .where(Invitation.organization_id == user.org_id, Invitation.accepted_at.is_(None))
                    .where(Invitation.expires_at > datetime.now(UTC))
                    .order_by(Invitation.id.desc())
                )
            ).all()
        return await render(
            request, "customer/team.html", user=user, members=members, pending=pending, roles=CUSTOMER_ROLES
        )

    @post("/invite", status_code=303)
    async def invite(self, request: Req, data: Form) -> Redirect:
        user = await admin(request)
        context = web(request)
        role = data.get("role", "member")
        if role not in CUSTOMER_ROLES:
            return redirect_with(request, "/portal/team", "Choose admin or member as the role.", "error")
        async with context.session() as session:
            try:
                invitation, secret = await services.invite(session, user.org_id, data.get("email", ""), role)
            except services.Invalid as exc:
                return redirect_with(request, "/portal/team", exc.message.capitalize(), "error")
            after = {"customer_id": user.org_id, "email": invitation.email, "role": role}
            context.record(session, request, user, "invitation.create", "invitation", invitation.id, after=after)
            await session.commit()
            vendor = await session.get(Organization, user.vendor_id)
        link = f"{context.public_url}/portal/invitations/{secret}"
        vendor_name = vendor.name if vendor else "Wharf"
        if await send_invitation(context.mailer, invitation.email, user.org_name, vendor_name, link):
            return redirect_with(request, "/portal/team", f"Invitation sent to {invitation.email}.")
        flash(request, f"No mail could be sent; give {invitation.email} this link: {link}", "warning")
        return Redirect("/portal/team", status_code=303)

    @post("/{user_id:int}/role", status_code=303)
    async def change_role(self, request: Req, user_id: FromPath[int], data: Form) -> Redirect:
        user = await admin(request)
        context = web(request)
        role = data.get("role", "")
        async with context.session() as session:
            member, person = await membership(session, user, user_id)
            if role not in CUSTOMER_ROLES:
                return redirect_with(request, "/portal/team", "Choose admin or member as the role.", "error")
            if member.role == "admin" and role != "admin" and await admins_left(session, user.org_id) <= 1:
                return redirect_with(request, "/portal/team", "The team needs at least one admin.", "error")
            before, member.role = member.role, role
            context.record(session, request, user, "member.update", "user", user_id, {"role": before}, {"role": role})
            await session.commit()
        return redirect_with(request, "/portal/team", f"{person.name or person.email} is now {role}.")

    @get("/{user_id:int}/remove")
    async def confirm_remove(self, request: Req, user_id: FromPath[int]) -> Template:
        user = await admin(request)
        async with web(request).session() as session:
            _, person = await membership(session, user, user_id)
        return await render(request, "customer/team_remove.html", user=user, person=person)

    @post("/{user_id:int}/remove", status_code=303)
    async def remove(self, request: Req, user_id: FromPath[int]) -> Redirect:
        user = await admin(request)
        context = web(request)
        async with context.session() as session:
            member, person = await membership(session, user, user_id)
            if member.role == "admin" and await admins_left(session, user.org_id) <= 1:
                return redirect_with(request, "/portal/team", "The team needs at least one admin.", "error")
            before = {"email": person.email, "role": member.role}
            await session.delete(member)
            await session.flush()
            others = await session.scalar(select(func.count()).where(Membership.user_id == user_id))
            if not others:  # nobody else knows this account: remove it, so the address can be invited again
                await session.execute(delete(User).where(User.id == user_id))
            context.record(session, request, user, "member.remove", "user", user_id, before=before)
            await session.commit()
        await end_sessions_of(context.engine, user_id)
        if user_id == user.id:
            request.clear_session()
            return Redirect("/signin?notice=signed_out", status_code=303)
        return redirect_with(request, "/portal/team", f"{person.name or person.email} was removed from the team.")
