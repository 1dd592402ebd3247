"""Invitations: a link that lets a person join an organization (the vendor's staff or a customer).

An invitation mailed to its address proves the address when accepted. One whose link was shown to
someone else (no mail server, a failed mail, or the API's `accept_url`) makes an unverified account,
which holds only that membership until its owner follows a link mailed to the address.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.credentials import hash_secret, link_secret
from app.domain_events import DomainEvent
from app.identity import Actor, Channel
from app.mail import MailBrand, invitation_mail, verification_mail
from app.models import EmailVerification, Invitation, Membership, Organization, User, WebSession
from app.passwords import hashed
from app.passwords import problem as password_problem
from app.roles import CUSTOMER_ROLES, VENDOR_ROLES, Permission, may_grant
from app.services import validation
from app.services.base import Change, Service, ServiceDeps, require
from app.services.errors import Conflict, Invalid, NotFound
from app.services.settings import COLOR_RE
from app.times import aware, iso, utcnow

INVITATION_LIFETIME = timedelta(days=7)
VERIFICATION_LIFETIME = timedelta(days=7)
LARGEST_ID = 2**31 - 1  # ids are int4 on PostgreSQL: a larger number in a link names no invitation


@dataclass(frozen=True)
class Invited:
    invitation: Invitation
    link: str
    mailed: bool  # the mail server accepted the invitation mail
    mail_configured: bool = True  # False: no mail server is set up, so nothing was even tried


@dataclass(frozen=True)
class Accepted:
    user: User
    organization: Organization
    verified: bool
    verification_mailed: bool


@dataclass(frozen=True)
class InvitationView:
    """What the invitation page shows (plain values: they outlive the session that read them)."""

    email: str
    role: str
    organization: str
    vendor_id: int


def view_of(invitation: Invitation, org: Organization) -> InvitationView:
    return InvitationView(invitation.email, invitation.role, org.name, org.vendor_id or org.id)


def invitation_secret(invitation_id: int) -> str:
    """A link's secret, naming its invitation, so that a link a resend replaced can say so."""
    return f"{invitation_id}-{link_secret()}"


class InvitationProblem(Exception):
    """An invitation link that cannot be used; `kind` is unknown, replaced, used, revoked or expired."""

    def __init__(self, kind: str, view: InvitationView | None = None) -> None:
        super().__init__(kind)
        self.kind, self.view = kind, view


def snapshot(invitation: Invitation) -> dict[str, object]:
    return {
        "organization_id": invitation.organization_id,
        "email": invitation.email,
        "role": invitation.role,
        "expires_at": iso(invitation.expires_at),
    }


async def pending_of(session: AsyncSession, org_id: int) -> Sequence[Invitation]:
    """Invitations of an organization neither accepted nor revoked (expired ones included, marked by date)."""
    stmt = select(Invitation).where(
        Invitation.organization_id == org_id, Invitation.accepted_at.is_(None), Invitation.revoked_at.is_(None)
    )
    return (await session.scalars(stmt.order_by(Invitation.id.desc()))).all()


async def lookup(session: AsyncSession, secret: str) -> tuple[Invitation, Organization]:
    """The usable invitation behind a link, or InvitationProblem saying why not."""
    invitation = await session.scalar(select(Invitation).where(Invitation.secret_hash == hash_secret(secret)))
    if invitation is None:
        # A link names its invitation (`<id>-<secret>`): a link to one that exists was replaced by a newer
        # link (a resend). Nothing of the invitation is shown: the id alone proves nothing.
        number = secret.partition("-")[0]
        named = int(number) if number.isascii() and number.isdigit() and len(number) <= 10 else 0
        if 0 < named <= LARGEST_ID and await session.get(Invitation, named) is not None:
            raise InvitationProblem("replaced")
        raise InvitationProblem("unknown")
    org = await session.get(Organization, invitation.organization_id)
    assert org is not None
    if invitation.accepted_at is not None:
        raise InvitationProblem("used", view_of(invitation, org))
    if invitation.revoked_at is not None:
        raise InvitationProblem("revoked", view_of(invitation, org))
    if aware(invitation.expires_at) <= utcnow():
        raise InvitationProblem("expired", view_of(invitation, org))
    return invitation, org


class InvitationService(Service):
    def link(self, secret: str) -> str:
        return f"{self.deps.public_url}/portal/invitations/{secret}"

    async def _organization(self, session: AsyncSession, actor: Actor, org_id: int, role: str) -> Organization:
        """The organization the actor may invite to (its vendor, or one of the vendor's customers), with
        `role` checked for it (after the organization is found, so another vendor's answers "not found")."""
        org = await session.get(Organization, org_id)
        if org is None or (org.id != actor.vendor_id and org.vendor_id != actor.vendor_id):
            raise NotFound(f"customer {org_id} not found")
        if org.kind == "vendor":
            require(actor, Permission.MANAGE_TEAM)
            if role not in VENDOR_ROLES or not may_grant(actor.role, role):
                raise Invalid("role", "Choose one of the roles listed (never above your own).")
        else:
            if actor.is_vendor_staff:
                require(actor, Permission.MANAGE_CUSTOMERS)
            elif actor.org_id != org.id or actor.role != "admin":
                raise NotFound(f"customer {org_id} not found")
            if role not in CUSTOMER_ROLES:
                raise Invalid("role", "Choose admin or member as the role.")
        return org

    async def _refuse_duplicates(self, session: AsyncSession, actor: Actor, org: Organization, email: str) -> None:
        member = await session.scalar(
            select(User.id)
            .join(Membership, Membership.user_id == User.id)
            .where(User.email == email, Membership.organization_id == org.id)
        )
        if member is not None:
            raise Conflict("email", f"{email} is already a member of {org.name}.")
        pending = await session.scalar(
            select(Invitation).where(
                Invitation.organization_id == org.id,
                Invitation.email == email,
                Invitation.accepted_at.is_(None),
                Invitation.revoked_at.is_(None),
                Invitation.expires_at > utcnow(),
            )
        )
        if pending is not None:
            raise Conflict("email", f"{email} already has a pending invitation; resend it instead.")
        if org.kind == "customer":
            staff = await session.scalar(
                select(User.id)
                .join(Membership, Membership.user_id == User.id)
                .where(User.email == email, Membership.organization_id == actor.vendor_id)
            )
            if staff is not None:
                message = (
                    f"{email} belongs to your own team; staff cannot join a customer."
                    if actor.is_vendor_staff
                    else f"{email} cannot be invited here."
                )
                raise Conflict("email", message)

    async def invite_staff(self, actor: Actor, email: str, role: str) -> Invited:
        """Invite a person to the vendor's own team, with a role no higher than the inviter's."""
        return await self._invite(actor, actor.vendor_id, "vendor", email, role)

    async def invite_customer_person(self, actor: Actor, customer_id: int, email: str, role: str) -> Invited:
        """Invite a person to a customer (by the vendor's account managers, or the customer's admins)."""
        return await self._invite(actor, customer_id, "customer", email, role)

    async def _invite(self, actor: Actor, org_id: int, kind: str, email: str, role: str) -> Invited:
        """Create the invitation, then mail it; refused for members, pending invitees and vendor staff."""
        async with self.change(actor) as change:
            org = await self._organization(change.session, actor, org_id, role)
            if org.kind != kind:
                raise NotFound(f"customer {org_id} not found")
            email = validation.email("email", email)
            await self._refuse_duplicates(change.session, actor, org, email)
            invitation = Invitation(
                organization_id=org.id,
                email=email,
                role=role,
                secret_hash=hash_secret(link_secret()),  # a placeholder until the id is known
                expires_at=utcnow() + INVITATION_LIFETIME,
                delivery="shown",
                invited_by=actor.user_id,
            )
            change.session.add(invitation)
            await change.session.flush()
            secret = invitation_secret(invitation.id)
            invitation.secret_hash = hash_secret(secret)
            change.record(DomainEvent.INVITATION_CREATED, "invitation", invitation.id, after=snapshot(invitation))
            brand = await self._mail_brand(change.session, actor.vendor_id)
        return await self._deliver(actor, invitation, org, brand, secret)

    async def _mail_brand(self, session: AsyncSession, vendor_id: int) -> MailBrand:
        """The vendor's name and branding, as its invitation mails carry them."""
        vendor = await session.get(Organization, vendor_id)
        if vendor is None:
            return MailBrand("Wharf")
        logo = vendor.logo_url
        if logo and logo.startswith("/"):
            logo = self.deps.public_url + logo
        accent = vendor.accent_color if vendor.accent_color and COLOR_RE.match(vendor.accent_color) else None
        return MailBrand(vendor.name, accent or MailBrand.accent, logo if logo and logo.startswith("http") else None)

    async def _deliver(
        self, actor: Actor, invitation: Invitation, org: Organization, brand: MailBrand, secret: str
    ) -> Invited:
        """Mail the link; an invitation counts as mailed only if nobody but the invitee saw the link."""
        link = self.link(secret)
        mailed = await self.deps.mail(invitation_mail(invitation.email, org.name, brand, link))
        if mailed and actor.via != Channel.API:  # the API hands `accept_url` to automation: it was shown
            async with self.change(actor) as change:
                current = await change.session.get(Invitation, invitation.id)
                if current is not None and current.secret_hash == invitation.secret_hash:
                    current.delivery = invitation.delivery = "mailed"
        return Invited(invitation, link, mailed, self.deps.mailer.delivers)

    async def _manageable(
        self, session: AsyncSession, actor: Actor, invitation_id: int
    ) -> tuple[Invitation, Organization]:
        invitation = await session.get(Invitation, invitation_id)
        if invitation is None or invitation.accepted_at is not None or invitation.revoked_at is not None:
            raise NotFound(f"invitation {invitation_id} not found")
        org = await self._organization(session, actor, invitation.organization_id, invitation.role)
        return invitation, org

    async def resend(self, actor: Actor, invitation_id: int) -> Invited:
        """A new link (the old one stops working, and says it was replaced) valid for another 7 days, mailed again."""
        async with self.change(actor) as change:
            invitation, org = await self._manageable(change.session, actor, invitation_id)
            secret = invitation_secret(invitation.id)
            before = snapshot(invitation)
            invitation.secret_hash = hash_secret(secret)
            invitation.expires_at = utcnow() + INVITATION_LIFETIME
            invitation.delivery = "shown"
            invitation.invited_by = actor.user_id  # now the resender's: their leaving revokes it
            change.record(DomainEvent.INVITATION_RESENT, "invitation", invitation.id, before, snapshot(invitation))
            brand = await self._mail_brand(change.session, actor.vendor_id)
        return await self._deliver(actor, invitation, org, brand, secret)

    async def revoke(self, actor: Actor, invitation_id: int) -> Invitation:
        async with self.change(actor) as change:
            invitation, _org = await self._manageable(change.session, actor, invitation_id)
            invitation.revoked_at = utcnow()
            change.record(DomainEvent.INVITATION_REVOKED, "invitation", invitation.id, before=snapshot(invitation))
        return invitation

    async def accept(self, secret: str, name: str, password: str, address: str | None) -> Accepted:
        """Create the invitee's account and membership; mail an address check when the link was shown.

        An address that already has an account is refused, with one exception: an unconfirmed account (made
        from a link someone was shown) gives way to a mailed invitation, which proves the address. Whoever
        made it loses it: its memberships and sessions end and the address's owner takes it over."""
        name = validation.name("name", name, "person")
        if problem := password_problem(password):
            raise Invalid("password", problem)
        verify_secret = link_secret()
        async with self.reading() as session:
            await lookup(session, secret)  # a dead link costs no password hashing
        password_hash = await hashed(password)
        async with self.change(Actor.anonymous(address)) as change:
            invitation, org = await lookup(change.session, secret)
            verified = invitation.delivery == "mailed"
            user = await change.session.scalar(select(User).where(User.email == invitation.email))
            replaced = user is not None
            if user is not None and (user.email_verified_at is not None or not verified):
                raise Conflict(
                    "email",
                    "This address already has an account, which cannot join another organization: sign in "
                    "with it, or ask whoever invited you for help.",
                )
            if user is None:
                user = User(email=invitation.email)
                change.session.add(user)
            else:  # an unconfirmed account gives way to the address's proven owner
                await change.session.execute(delete(Membership).where(Membership.user_id == user.id))
                await change.session.execute(delete(WebSession).where(WebSession.user_id == user.id))
            user.name, user.password_hash = name, password_hash
            user.email_verified_at = utcnow() if verified else None
            await change.session.flush()
            change.session.add(Membership(user_id=user.id, organization_id=org.id, role=invitation.role))
            invitation.accepted_at = utcnow()
            vendor_id = org.id if org.kind == "vendor" else (org.vendor_id or 0)
            change.actor = Actor.person(
                user.id, user.email, org.id, org.kind, vendor_id, invitation.role, address=address
            )
            after = {"user_id": user.id, "organization_id": org.id, "role": invitation.role, "verified": verified}
            if replaced:
                after["replaced_unconfirmed_account"] = True
            change.record(DomainEvent.INVITATION_ACCEPTED, "invitation", invitation.id, after=after)
            if not verified:
                add_verification(change, user.id, verify_secret)
        mailed = False if verified else await mail_verification(self.deps, user, verify_secret)
        return Accepted(user, org, verified, mailed)


async def mail_verification(deps: ServiceDeps, user: User, secret: str) -> bool:
    """Mail an address confirmation link; False when it could not be delivered."""
    return await deps.mail(verification_mail(user.email, f"{deps.public_url}/account/verify/{secret}"))


async def revoke_sent_by(change: Change, sender_id: int, vendor_id: int, keep: Callable[[Invitation], bool]) -> int:
    """Revoke the open invitations `sender_id` sent within the vendor (its team and its customers) that `keep`
    does not keep: a person who leaves, or may no longer invite with that role, takes their invitations along."""
    open_ones = await change.session.scalars(
        select(Invitation)
        .join(Organization, Organization.id == Invitation.organization_id)
        .where(
            Invitation.invited_by == sender_id,
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            (Organization.id == vendor_id) | (Organization.vendor_id == vendor_id),
        )
    )
    revoked = 0
    for invitation in open_ones:
        if not keep(invitation):
            invitation.revoked_at = utcnow()
            change.record(DomainEvent.INVITATION_REVOKED, "invitation", invitation.id, before=snapshot(invitation))
            revoked += 1
    return revoked


def add_verification(change: Change, user_id: int, secret: str) -> None:
    change.session.add(
        EmailVerification(user_id=user_id, secret_hash=hash_secret(secret), expires_at=utcnow() + VERIFICATION_LIFETIME)
    )
