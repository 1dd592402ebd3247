"""Team: the vendor's users and their roles, invitations, and removal."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from app import services
from app.models import Invitation, Membership, User
from app.roles import VENDOR_ROLES, Permission, may_grant
from app.web.context import web
from app.web.pages import redirect_with
from app.web.sessions import end_sessions_of
from app.web.users import WebUser
from portal_vendor import invitations
from portal_vendor.common import Form, Req, confirm, not_found, page, reading, record, staff

ROLE_HELP = {
    "admin": "everything, including the team and settings",
    "release": "pushes releases, manages tokens",
    "account_manager": "customers, licenses, invitations, pull tokens",
    "support": "reads everything, changes nothing",
    "auditor": "read-only, plus downloads and the audit log",
}


class TeamController(Controller):
    path = "/team"
    include_in_schema = False

    async def _page(self, request: Req, user: WebUser, status: int = 200, **extra: object) -> Template:
        async with reading(request) as session:
            members = (
                await session.execute(
                    select(User.id, User.email, User.name, Membership.role, Membership.created_at)
                    .join(Membership, Membership.user_id == User.id)
                    .where(Membership.organization_id == user.vendor_id)
                    .order_by(User.email)
                )
            ).all()
            pending = (
                await session.scalars(
                    select(Invitation)
                    .where(Invitation.organization_id == user.vendor_id, Invitation.accepted_at.is_(None))
                    .order_by(Invitation.id.desc())
                )
            ).all()
        roles = [r for r in VENDOR_ROLES if may_grant(user.role, r)]
        context = {"errors": {}, "email": "", "role": "support", **extra}
        return await page(
            request,
            "vendor/team.html",
            user,
            section="team",
            status=status,
            members=members,
            invitations=pending,
            roles=roles,
            role_help=ROLE_HELP,
            now=services.utcnow(),
            aware=services.aware,
            **context,
        )

    @get("/")
    async def team(self, request: Req) -> Template:
        return await self._page(request, await staff(request, Permission.MANAGE_TEAM))

    @post("/invitations", status_code=200)
    async def invite(self, request: Req, data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_TEAM)
        email, role = (data.get("email") or "").strip(), data.get("role") or ""
        if not may_grant(user.role, role):
            return await self._page(request, user, 400, errors={"role": "Choose one of the roles listed."}, email=email)
        async with web(request).session() as session:
            try:
                invitation, secret = await services.invite(session, user.vendor_id, email, role)
            except services.Invalid:
                errors = {"email": "Enter an email address like name@example.com."}
                return await self._page(request, user, 400, errors=errors, email=email, role=role)
            after = {"organization_id": user.vendor_id, "email": invitation.email, "role": role}
            record(session, request, user, "invitation.create", "invitation", invitation.id, after=after)
            await session.commit()
        message, category = await invitations.send(request, invitation.email, user.org_name, secret)
        return redirect_with(request, "/vendor/team", message, category)

    @post("/{member_id:int}/role", status_code=200)
    async def change_role(self, request: Req, member_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_TEAM)
        role = data.get("role") or ""
        async with web(request).session() as session:
            membership = await session.get(Membership, (member_id, user.vendor_id))
            if membership is None:
                raise not_found("team member")
            if member_id == user.id:
                return redirect_with(
                    request, "/vendor/team", "You cannot change your own role; ask another admin.", "error"
                )
            if not (may_grant(user.role, role) and may_grant(user.role, membership.role)):
                return redirect_with(request, "/vendor/team", "Choose one of the roles listed.", "error")
            before = {"role": membership.role}
            membership.role = role  # every request re-reads the membership: the new role applies at once
            record(session, request, user, "member.update", "user", member_id, before=before, after={"role": role})
            await session.commit()
        return redirect_with(request, "/vendor/team", f"Role changed to {role}.")

    @post("/{member_id:int}/remove", status_code=200)
    async def remove(self, request: Req, member_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_TEAM)
        async with web(request).session() as session:
            membership = await session.get(Membership, (member_id, user.vendor_id))
            member = await session.get(User, member_id)
            if membership is None or member is None:
                raise not_found("team member")
            if member_id == user.id:
                return redirect_with(request, "/vendor/team", "You cannot remove yourself; ask another admin.", "error")
            if data.get("confirm") != "yes":
                detail = f"{member.email} loses access at once and is signed out everywhere."
                action = f"/vendor/team/{member_id}/remove"
                return await confirm(request, user, f"Remove {member.email} from the team?", detail, action, "Remove")
            before = {"email": member.email, "role": membership.role}
            await session.delete(membership)
            record(session, request, user, "member.remove", "user", member_id, before=before)
            await session.commit()
        await end_sessions_of(web(request).engine, member_id)
        return redirect_with(request, "/vendor/team", f"{member.email} was removed from the team.")
