"""Team (customer admins): invite colleagues (and resend or withdraw invitations), change roles, remove."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy import select

from app.dependencies import CurrentActor, Invitations, Reader, SignedIn, Team
from app.guards import CUSTOMER_ADMIN
from app.models import Membership, User
from app.roles import CUSTOMER_ROLES
from app.services.errors import Conflict, Invalid, NotFound, ServiceError
from app.services.invitations import pending_of
from app.services.team import member_of, open_pull_tokens
from app.times import aware, utcnow
from app.web.pages import redirect_with, render
from portal_customer.common import Form, Req

ADMIN = [CUSTOMER_ADMIN]


class TeamController(Controller):
    path = "/portal/team"
    include_in_schema = False

    @get("/", guards=ADMIN)
    async def team(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        members = (
            await reader.execute(
                select(User, Membership.role, Membership.created_at)
                .join(Membership, Membership.user_id == User.id)
                .where(Membership.organization_id == user.org_id)
                .order_by(User.name, User.email)
            )
        ).all()
        pending = [i for i in await pending_of(reader, user.org_id) if aware(i.expires_at) > utcnow()]
        return await render(
            request, "customer/team.html", user=user, members=members, pending=pending, roles=CUSTOMER_ROLES
        )

    @post("/invite", status_code=303, guards=ADMIN)
    async def invite(
        self, request: Req, data: Form, user: SignedIn, actor: CurrentActor, invitations: Invitations
    ) -> Redirect:
        try:
            invited = await invitations.invite_customer_person(
                actor, user.org_id, data.get("email", ""), data.get("role", "member")
            )
        except (Invalid, Conflict) as exc:
            return redirect_with(request, "/portal/team", exc.message, "error")
        if invited.mailed:
            return redirect_with(request, "/portal/team", f"Invitation sent to {invited.invitation.email}.")
        message = (
            f"No mail could be sent; give {invited.invitation.email} this link: {invited.link} (the account made "
            "from it stays unconfirmed until its owner confirms the address by mail)"
        )
        return redirect_with(request, "/portal/team", message, "warning")

    @post("/invitations/{invitation_id:int}/{action:str}", status_code=303, guards=ADMIN)
    async def invitation(
        self,
        request: Req,
        invitation_id: FromPath[int],
        action: FromPath[str],
        actor: CurrentActor,
        invitations: Invitations,
    ) -> Redirect:
        """Resend (a new link, mailed again) or withdraw an open invitation."""
        try:
            if action == "resend":
                invited = await invitations.resend(actor, invitation_id)
                if invited.mailed:
                    return redirect_with(
                        request, "/portal/team", f"Invitation sent again to {invited.invitation.email}."
                    )
                return redirect_with(
                    request, "/portal/team", f"No mail could be sent; give them this link: {invited.link}", "warning"
                )
            if action == "revoke":
                revoked = await invitations.revoke(actor, invitation_id)
                return redirect_with(request, "/portal/team", f"The invitation of {revoked.email} was withdrawn.")
        except NotFound:
            pass
        return redirect_with(request, "/portal/team", "That invitation is no longer open.", "error")

    @post("/{user_id:int}/role", status_code=303, guards=ADMIN)
    async def change_role(
        self, request: Req, user_id: FromPath[int], data: Form, actor: CurrentActor, team: Team
    ) -> Redirect:
        role = data.get("role", "")
        try:
            person, _before = await team.change_role(actor, actor.org_id, user_id, role)
        except NotFound:
            raise
        except ServiceError as exc:
            return redirect_with(request, "/portal/team", exc.message, "error")
        return redirect_with(request, "/portal/team", f"{person.name or person.email} is now {role}.")

    @get("/{user_id:int}/remove", guards=ADMIN)
    async def confirm_remove(self, request: Req, user_id: FromPath[int], user: SignedIn, reader: Reader) -> Template:
        _, person = await member_of(reader, user.org_id, user_id)
        tokens = await open_pull_tokens(reader, user.org_id, user_id)
        return await render(request, "customer/team_remove.html", user=user, person=person, tokens=tokens)

    @post("/{user_id:int}/remove", status_code=303, guards=ADMIN)
    async def remove(
        self, request: Req, user_id: FromPath[int], data: Form, user: SignedIn, actor: CurrentActor, team: Team
    ) -> Redirect:
        revoke = data.get("revoke_tokens") == "yes"
        try:
            person = await team.remove(actor, user.org_id, user_id, revoke_pull_tokens=revoke)
        except NotFound:
            raise
        except ServiceError as exc:
            return redirect_with(request, "/portal/team", exc.message, "error")
        if user_id == user.id:
            request.clear_session()
            return Redirect("/signin?notice=signed_out", status_code=303)
        done = " and their tokens revoked" if revoke else ""
        return redirect_with(request, "/portal/team", f"{person.name or person.email} was removed from the team{done}.")
