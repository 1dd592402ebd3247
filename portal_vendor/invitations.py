"""Sending an invitation: by mail through the configured SMTP server, else the link is shown (and logged)."""

from __future__ import annotations

from app.mail import Mail, MailError
from app.web.context import web
from portal_vendor.common import Req


def accept_url(request: Req, secret: str) -> str:
    return f"{web(request).public_url}/portal/invitations/{secret}"


async def send(request: Req, email: str, organization: str, secret: str) -> tuple[str, str]:
    """Mail the invitation; the flash message (and its category) tells the inviter what happened."""
    context, link = web(request), accept_url(request, secret)
    text = (
        f"You are invited to join {organization} on {context.public_url}.\n\n"
        f"Accept the invitation and choose your password here (the link works for 7 days):\n{link}\n"
    )
    if not context.mailer.delivers:
        await context.mailer.send(Mail(email, f"Your invitation to {organization}", text))
        return f"No mail server is configured, so send {email} this invitation link yourself: {link}", "warning"
    try:
        await context.mailer.send(Mail(email, f"Your invitation to {organization}", text))
    except MailError:
        return f"The mail to {email} could not be sent. Send them this invitation link yourself: {link}", "warning"
    return f"Invitation sent to {email}.", "success"
