"""Team: the vendor's people and their roles, invitations (sent, resent, revoked) and removal."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.dependencies import CurrentActor, Invitations, Reader, SignedIn, Team
from app.guards import staff
from app.models import Membership, Token, User
from app.roles import VENDOR_ROLES, Permission, may_grant
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.services.invitations import pending_of
from app.services.team import member_of
from app.services.tokens import VENDOR_KINDS
from app.times import utcnow
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor import invitations as invitation_notes
from portal_vendor.common import Form, Req, confirm, field_error, not_found, page

TEAM = [staff(Permission.MANAGE_TEAM)]
ROLE_HELP = {
    "admin": "everything, including the team and settings",
    "release": "pushes releases, manages tokens",
    "account_manager": "customers, licenses, invitations, pull tokens",
    "support": "reads everything, changes nothing",
    "auditor": "read-only, plus downloads, the audit log and exports",
}


class TeamController(Controller):
    path = "/team"
    include_in_schema = False

    async def _page(
        self, request: Req, user: WebUser, session: AsyncSession, status: int = 200, **extra: object
    ) -> Template:
        members = (
            await session.execute(
                select(User.id, User.email, User.name, User.email_verified_at, Membership.role, Membership.created_at)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.organization_id == user.vendor_id)
                .order_by(User.email)
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
            invitations=await pending_of(session, user.vendor_id),
            roles=roles,
            role_help=ROLE_HELP,
            now=utcnow(),
            **context,
        )

    @get("/", guards=TEAM)
    async def team(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        return await self._page(request, user, reader)

    @post("/invitations", status_code=200, guards=TEAM)
    async def invite(
        self,
        request: Req,
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        invitations: Invitations,
        reader: Reader,
    ) -> Template | Redirect:
        email, role = data.get("email") or "", data.get("role") or ""
        try:
            invited = await invitations.invite_staff(actor, email, role)
        except (Invalid, Conflict) as exc:
            return await self._page(request, user, reader, 400, errors=field_error(exc), email=email, role=role)
        return redirect_with(request, "/vendor/team", *invitation_notes.outcome(invited))

    @post("/invitations/{invitation_id:int}/{action:str}", status_code=200, guards=TEAM)
    async def invitation(
        self,
        request: Req,
        invitation_id: FromPath[int],
        action: FromPath[str],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        invitations: Invitations,
    ) -> Template | Redirect:
        """Resend (a new link, mailed again) or revoke an open invitation."""
        return await invitation_notes.act(
            request, user, actor, invitations, invitation_id, action, data, "/vendor/team"
        )

    @post("/{member_id:int}/role", status_code=200, guards=TEAM)
    async def change_role(
        self, request: Req, member_id: FromPath[int], data: Form, user: SignedIn, actor: CurrentActor, team: Team
    ) -> Redirect:
        role = data.get("role") or ""
        try:
            person, _before = await team.change_role(actor, user.vendor_id, member_id, role)
        except NotFound:
            raise not_found("team member") from None
        except (Forbidden, Invalid, Conflict) as exc:
            return redirect_with(request, "/vendor/team", exc.message, "error")
        return redirect_with(request, "/vendor/team", f"{person.email} is now {role}.")

    @post("/{member_id:int}/remove", status_code=200, guards=TEAM)
    async def remove(
        self,
        request: Req,
        member_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        team: Team,
        reader: Reader,
    ) -> Template | Redirect:
        try:
            _membership, member = await member_of(reader, user.vendor_id, member_id)
        except NotFound:
            raise not_found("team member") from None
        if data.get("confirm") != "yes" and member_id != user.id:
            tokens = await reader.scalar(
                select(func.count()).where(
                    Token.organization_id == user.vendor_id,
                    Token.kind.in_(VENDOR_KINDS),
                    Token.created_by == member_id,
                    Token.revoked_at.is_(None),
                )
            )
            detail = (
                f"{member.email} loses access at once and is signed out everywhere. The {tokens or 0} API and push "
                "token(s) they made are revoked; the pull tokens they issued to customers keep working."
            )
            action = f"/vendor/team/{member_id}/remove"
            return await confirm(request, user, f"Remove {member.email} from the team?", detail, action, "Remove")
        try:
            await team.remove(actor, user.vendor_id, member_id)
        except (Forbidden, Conflict) as exc:
            return redirect_with(request, "/vendor/team", exc.message, "error")
        return redirect_with(request, "/vendor/team", f"{member.email} was removed from the team.")
