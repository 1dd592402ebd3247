"""Outgoing mail (invitations, password resets): SMTP when configured; without it nothing is sent, and the
log says so without the message (its links would let whoever reads the log take over accounts)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from app.settings import MailSettings

log = logging.getLogger(__name__)
TLS_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    text: str


class Mailer(Protocol):
    delivers: bool
    """False when mail only goes to the log: the page then shows the link to the person who asked for it."""

    async def send(self, mail: Mail) -> None: ...


class MailError(RuntimeError):
    pass


class SmtpMailer:
    delivers = True

    def __init__(self, settings: MailSettings) -> None:
        if settings.smtp_tls not in TLS_MODES:
            raise ValueError(f"WHARF_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {settings.smtp_tls!r}")
        self.settings = settings

    async def send(self, mail: Mail) -> None:
        s = self.settings
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = s.mail_from, mail.to, mail.subject
        message.set_content(mail.text)
        try:
            await aiosmtplib.send(
                message,
                hostname=s.smtp_host,
                port=s.smtp_port,
                username=s.smtp_username or None,
                password=s.smtp_password or None,
                use_tls=s.smtp_tls == "tls",
                start_tls=s.smtp_tls == "starttls",
                timeout=15,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.error("could not send mail to %s: %s", mail.to, exc)
            raise MailError(f"the mail server did not accept the message ({exc})") from exc


class LogMailer:
    """No SMTP host configured: only that a mail was not sent is logged, never its text. An inviter is shown
    the invitation link instead; a password reset link comes from `wharf user reset-link EMAIL`."""

    delivers = False

    async def send(self, mail: Mail) -> None:
        log.warning("no WHARF_SMTP_HOST set: mail to %s with subject %r was not sent", mail.to, mail.subject)


def build_mailer(settings: MailSettings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()


def invitation_mail(email: str, organization: str, vendor: str, link: str) -> Mail:
    text = (
        f"You are invited to join {organization} on {vendor}'s software portal.\n\n"
        f"Accept the invitation and choose your password here (the link works once, for 7 days):\n{link}\n"
    )
    return Mail(email, f"Your invitation to join {organization} on {vendor}'s software portal", text)


def reset_mail(email: str, public_url: str, secret: str) -> Mail:
    link = f"{public_url}/password/reset/{secret}"
    text = (
        f"Someone (hopefully you) asked to reset the password of {email} on {public_url}.\n\n"
        f"Choose a new password here (the link works once, for one hour):\n{link}\n\n"
        "If you did not ask for this, ignore this mail: your password stays as it is.\n"
    )
    return Mail(email, "Reset your password", text)


def verification_mail(email: str, link: str) -> Mail:
    text = (
        f"Please confirm that {email} is your address by opening this link (it works once, for 7 days):\n"
        f"{link}\n\nUntil you do, your account stays unconfirmed and can only be used where you were invited.\n"
    )
    return Mail(email, "Confirm your email address", text)


async def send_invitation(mailer: Mailer, email: str, organization: str, vendor: str, link: str) -> bool:
    """Mail an invitation; False when it could not be delivered (the inviter is then shown the link)."""
    try:
        await mailer.send(invitation_mail(email, organization, vendor, link))
    except MailError:
        return False
    return mailer.delivers
