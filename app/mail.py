"""Outgoing mail (invitations, password resets, scheduled reports): SMTP when configured; without it nothing
is sent, and the log says so without the message (its links would let whoever reads the log take over accounts)."""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

import aiosmtplib

from app.colors import text_on
from app.settings import MailSettings

log = logging.getLogger(__name__)
TLS_MODES = ("none", "starttls", "tls")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content: bytes
    media_type: str = "application/octet-stream"


@dataclass(frozen=True)
class Mail:
    to: str  # one address, or several separated by ", "
    subject: str
    text: str
    html: str | None = None  # an alternative to the text, for mail clients that show HTML
    attachments: tuple[Attachment, ...] = ()
    message_id: str | None = None  # the same on every attempt, so a receiver can drop a repeat


@dataclass(frozen=True)
class MailBrand:
    """How the vendor's mail looks: its name, accent colour and logo (an absolute URL)."""

    name: str
    accent: str = "#2457d6"
    logo_url: str | None = None


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
        try:
            message = self._message(mail)
        except ValueError as exc:  # a header the email package refuses (a line break in it): never sent
            log.error("could not compose mail to %s: %s", mail.to, exc)
            raise MailError(f"the message could not be composed ({exc})") from exc
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

    def _message(self, mail: Mail) -> EmailMessage:
        s = self.settings
        message = EmailMessage()
        # A subject is one line: names stored before line separators were refused in them still make a mail.
        message["From"], message["To"] = s.mail_from, mail.to
        message["Subject"] = " ".join(mail.subject.splitlines())
        message.set_content(mail.text)
        if mail.html is not None:
            message.add_alternative(mail.html, subtype="html")
        if mail.message_id is not None:
            message["Message-ID"] = f"<{mail.message_id}@{s.mail_from.rpartition('@')[2] or 'wharf'}>"
        for attachment in mail.attachments:
            maintype, _, subtype = attachment.media_type.partition("/")
            message.add_attachment(attachment.content, maintype=maintype, subtype=subtype, filename=attachment.filename)
        return message


class LogMailer:
    """No SMTP host configured: only that a mail was not sent is logged, never its text. An inviter is shown
    the invitation link instead; a password reset link comes from `wharf user reset-link EMAIL`."""

    delivers = False

    async def send(self, mail: Mail) -> None:
        attached = f" ({', '.join(a.filename for a in mail.attachments)} attached)" if mail.attachments else ""
        log.warning(
            "no WHARF_SMTP_HOST set: mail to %s with subject %r%s was not sent", mail.to, mail.subject, attached
        )


def build_mailer(settings: MailSettings) -> Mailer:
    return SmtpMailer(settings) if settings.smtp_host else LogMailer()


def invitation_mail(email: str, organization: str, vendor: str | MailBrand, link: str) -> Mail:
    brand = vendor if isinstance(vendor, MailBrand) else MailBrand(vendor)
    invited = (
        f"You are invited to join {organization} on {brand.name}'s software portal"
        if organization != brand.name
        else f"You are invited to join {brand.name}'s team on its software portal"
    )
    text = (
        f"{invited}.\n\n"
        f"Accept the invitation and choose your password here (the link works once, for 7 days):\n{link}\n\n"
        f"-- \n{brand.name}\n"
    )
    subject = f"Your invitation to join {organization} on {brand.name}'s software portal"
    return Mail(email, subject, text, invitation_html(brand, invited, link))


def invitation_html(brand: MailBrand, invited: str, link: str) -> str:
    """The invitation as HTML, in the vendor's colours (inline styles: mail clients ignore style sheets)."""
    e = html.escape
    logo = (
        f'<img src="{e(brand.logo_url)}" alt="" height="40" style="height:40px;width:auto;margin-bottom:12px">'
        if brand.logo_url
        else ""
    )
    return (
        '<!doctype html><html><body style="margin:0;padding:24px;background:#f5f6f8;'
        'font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;color:#1d2330">'
        '<div style="max-width:520px;margin:0 auto;background:#ffffff;border-radius:10px;padding:24px;'
        f'border-top:4px solid {e(brand.accent)}">{logo}'
        f'<h1 style="font-size:20px;margin:0 0 12px">{e(brand.name)}</h1>'
        f'<p style="margin:0 0 20px;line-height:1.5">{e(invited)}.</p>'
        f'<p style="margin:0 0 20px"><a href="{e(link)}" style="display:inline-block;padding:10px 18px;'
        f"border-radius:6px;background:{e(brand.accent)};color:{text_on(brand.accent)};font-weight:600;"
        'text-decoration:none">Accept the invitation</a></p>'
        '<p style="margin:0;color:#5b6372;font-size:13px;line-height:1.5">The link works once, for 7 days. '
        "If the button does not work, open this address:<br>"
        f'<a href="{e(link)}" style="color:#5b6372">{e(link)}</a></p>'
        "</div></body></html>"
    )


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


async def send_invitation(mailer: Mailer, email: str, organization: str, vendor: str | MailBrand, link: str) -> bool:
    """Mail an invitation; False when it could not be delivered (the inviter is then shown the link)."""
    try:
        await mailer.send(invitation_mail(email, organization, vendor, link))
    except MailError:
        return False
    return mailer.delivers
