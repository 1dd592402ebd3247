"""Invitations as the vendor pages show them: what happened to the mail, and resending or revoking one."""

from __future__ import annotations

from litestar.response import Redirect, Template

from app.identity import Actor
from app.services.errors import NotFound
from app.services.invitations import InvitationService, Invited
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, confirm, not_found


def outcome(invited: Invited) -> tuple[str, str]:
    """The flash message (and its category) that tells the inviter what happened to the mail."""
    email = invited.invitation.email
    if invited.mailed:
        return f"Invitation sent to {email}.", "success"
    why = (
        f"No mail server is configured, so send {email} this invitation link yourself"
        if not invited.mail_configured
        else f"The mail to {email} could not be sent. Send them this invitation link yourself"
    )
    note = "The account made from it stays unconfirmed until its owner confirms the address by mail."
    return f"{why}: {invited.link} — {note}", "warning"


async def act(
    request: Req,
    user: WebUser,
    actor: Actor,
    invitations: InvitationService,
    invitation_id: int,
    action: str,
    data: Form,
    back: str,
) -> Template | Redirect:
    """Resend or withdraw (after a confirmation) an open invitation, then go `back`."""
    try:
        if action == "resend":
            return redirect_with(request, back, *outcome(await invitations.resend(actor, invitation_id)))
        if action != "revoke":
            raise not_found("action")
        if data.get("confirm") != "yes":
            path = request.url.path
            detail = "The link in the invitation stops working at once."
            return await confirm(request, user, "Withdraw this invitation?", detail, path, "Withdraw invitation")
        invitation = await invitations.revoke(actor, invitation_id)
    except NotFound:
        raise not_found("invitation") from None
    return redirect_with(request, back, f"The invitation of {invitation.email} was withdrawn.")
