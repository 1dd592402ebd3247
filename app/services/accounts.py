"""Accounts: the first vendor and its admin (`wharf bootstrap`, or the one-time setup page), a person's
own profile and password, address confirmation and password resets."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.credentials import hash_secret, hint_of, link_secret, new_secret
from app.domain_events import DomainEvent
from app.identity import Actor, Channel
from app.mail import LogMailer, Mail, reset_mail
from app.models import EmailVerification, Membership, Organization, PasswordReset, Token, User
from app.passwords import hashed, matches
from app.passwords import problem as password_problem
from app.services import validation
from app.services.base import Service, ServiceDeps, read_session
from app.services.errors import Conflict, Invalid, NotFound
from app.services.invitations import add_verification, mail_verification
from app.services.team import end_sessions
from app.throttle import SignInThrottle
from app.times import aware, utcnow

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*\Z")
RESET_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: the person and organization to start a session for, or why not."""

    user_id: int | None = None
    org_id: int | None = None
    home: str = "/"
    wait_seconds: int = 0  # > 0: too many failures from here; try again after this long


class Throttled(Exception):
    def __init__(self, seconds: int) -> None:
        super().__init__(f"try again in {seconds} s")
        self.seconds = seconds


@dataclass(frozen=True)
class NewVendor:
    vendor_id: int
    user_id: int
    token: str | None  # an admin API token, shown once (made for the command line only)
    adopted: bool  # an existing account was made the admin


async def usable_reset(session: AsyncSession, secret: str) -> PasswordReset | None:
    """The reset link behind `secret` while it still works (unused, under an hour old)."""
    reset = await session.scalar(select(PasswordReset).where(PasswordReset.secret_hash == hash_secret(secret)))
    if reset is None or reset.used_at is not None or aware(reset.expires_at) <= utcnow():
        return None
    return reset


async def vendor_exists(session: AsyncSession) -> bool:
    return await session.scalar(select(Organization.id).where(Organization.kind == "vendor").limit(1)) is not None


class AccountService(Service):
    def __init__(self, deps: ServiceDeps) -> None:
        super().__init__(deps)
        self.throttle = SignInThrottle()  # counts live in the database; this only paces pruning

    async def sign_in(self, email: str, password: str, address: str | None) -> SignIn:
        """Check a password, within the sign-in throttle; the same answer for an unknown account."""
        email, engine = email.strip().lower(), self.deps.engine
        wait = await self.throttle.wait_seconds(engine, email, address)
        if wait:
            return SignIn(wait_seconds=wait)
        async with read_session(engine) as session:
            found = (await session.execute(select(User.id, User.password_hash).where(User.email == email))).first()
            stored = found.password_hash if found is not None else None
            ok = await matches(password, stored)
            membership = (
                (
                    await session.execute(
                        select(Membership.organization_id, Organization.kind)
                        .join(Organization, Organization.id == Membership.organization_id)
                        .where(Membership.user_id == found.id)
                        .order_by(Membership.created_at, Organization.id)
                        .limit(1)
                    )
                ).first()
                if ok and found is not None
                else None
            )
        if found is None or membership is None:
            await self.throttle.failed(engine, email, address)
            return SignIn()
        await self.throttle.succeeded(engine, email, address)
        home = "/vendor/" if membership.kind == "vendor" else "/portal/"
        return SignIn(found.id, membership.organization_id, home)

    async def create_vendor(
        self,
        slug: str,
        email: str,
        password: str,
        *,
        via: Channel,
        adopt_existing: bool = False,
        only_if_first: bool = False,
        address: str | None = None,
        vendor_name: str = "",
        person_name: str = "",
        with_token: bool = True,
    ) -> NewVendor:
        """A vendor organization, its admin and (`with_token`, for the command line, which prints it) an
        admin API token. An address that already has an account is refused unless `adopt_existing`: then its
        password is reset, its sessions end and, if it was unverified (made from a shown link), the
        membership it held is removed."""
        if not SLUG_RE.match(slug) or len(slug) > 64:
            raise Invalid("slug", f"The vendor slug {slug[:80]!r} must be lowercase letters, digits and single dashes.")
        vendor_name = validation.name("vendor_name", vendor_name, "vendor") if vendor_name.strip() else slug
        person_name = validation.name("person_name", person_name, "person") if person_name.strip() else ""
        email = validation.email("email", email)
        if problem := password_problem(password):
            raise Invalid("password", problem)
        password_hash = await hashed(password)
        async with self.change(Actor.system(0, slug, via)) as change:
            session = change.session
            if only_if_first and await vendor_exists(session):
                raise Conflict("slug", "Wharf is already set up.")
            if await session.scalar(
                select(Organization.id).where(Organization.kind == "vendor", Organization.slug == slug)
            ):
                raise Conflict("slug", f"The vendor {slug!r} already exists.")
            user = await session.scalar(select(User).where(User.email == email))
            adopted = user is not None
            if user is not None and not adopt_existing:
                raise Conflict(
                    "email",
                    f"An account with {email} already exists. Choose another address, or adopt it with "
                    "--adopt-existing (its password is reset and its sessions end).",
                )
            vendor = Organization(kind="vendor", slug=slug, name=vendor_name)
            session.add(vendor)
            await session.flush()
            if user is None:
                user = User(email=email, name=person_name or email.split("@")[0], password_hash=password_hash)
                session.add(user)
            else:
                if user.email_verified_at is None:  # whoever made it from a shown link loses what it held
                    await session.execute(delete(Membership).where(Membership.user_id == user.id))
                user.password_hash = password_hash
                await end_sessions(session, user.id)
            user.email_verified_at = user.email_verified_at or utcnow()  # the operator vouches for the address
            await session.flush()
            session.add(Membership(user_id=user.id, organization_id=vendor.id, role="admin"))
            secret = new_secret("api") if with_token else None
            if secret is not None:
                session.add(
                    Token(
                        kind="api",
                        name="bootstrap",
                        secret_hash=hash_secret(secret),
                        hint=hint_of(secret),
                        organization_id=vendor.id,
                        role="admin",
                        created_by=user.id,
                    )
                )
            change.actor = Actor.person(
                user.id, email, vendor.id, "vendor", vendor.id, "admin", vendor_slug=slug, via=via, address=address
            )
            change.record(DomainEvent.VENDOR_CREATED, "vendor", vendor.id, after={"slug": slug, "admin": email})
            if adopted:
                change.record(DomainEvent.USER_ADOPTED, "user", user.id, after={"email": email})
        return NewVendor(vendor.id, user.id, secret, adopted)

    async def request_reset(self, email: str, address: str | None) -> Mail | None:
        """A one-hour, single-use reset link for the account with this address, as the mail to send
        (None: no such account). The caller sends it with `send` after answering, so the answer's timing
        does not tell whether the account exists. Requests are counted by the address typed (existing or
        not) and by the requester's address; past the limit, Throttled."""
        email = email.strip().lower()
        wait = await self.throttle.reset_wait_seconds(self.deps.engine, email, address)
        if wait:
            raise Throttled(wait)
        await self.throttle.reset_requested(self.deps.engine, email, address)
        secret = await self.issue_reset(email)
        return None if secret is None else reset_mail(email, self.deps.public_url, secret)

    async def issue_reset(self, email: str) -> str | None:
        """The secret of a new one-hour, single-use reset link for the account with this address (None: no
        such account); `wharf user reset-link` prints its link when there is no mail server."""
        email = email.strip().lower()
        if "@" not in email:
            return None
        secret = link_secret()
        async with self.change(Actor.anonymous(None)) as change:
            user = await change.session.scalar(select(User).where(User.email == email))
            if user is None:
                return None
            change.session.add(
                PasswordReset(user_id=user.id, secret_hash=hash_secret(secret), expires_at=utcnow() + RESET_LIFETIME)
            )
        return secret

    async def send(self, mail: Mail) -> bool:
        return await self.deps.mail(mail)

    async def rename(self, actor: Actor, name: str) -> None:
        name = validation.name("name", name, "person")
        async with self.change(actor) as change:
            user = await change.session.get(User, actor.user_id)
            if user is None:
                raise NotFound("no such account")
            user.name = name

    async def change_password(self, actor: Actor, current: str, new: str, again: str) -> None:
        """The person's own password; every other session of theirs ends. Wrong current passwords count
        against the sign-in throttle, so a stolen session cannot guess the password freely."""
        if problem := password_problem(new):
            raise Invalid("password", problem)
        if new != again:
            raise Invalid("password_again", "The two passwords differ.")
        async with self.reading() as session:
            user = await session.get(User, actor.user_id)
        if user is None:
            raise NotFound("no such account")
        engine = self.deps.engine
        if wait := await self.throttle.wait_seconds(engine, user.email, actor.address):
            raise Invalid("current", f"Too many wrong passwords; try again in {(wait + 59) // 60} minutes.")
        if not await matches(current, user.password_hash):
            await self.throttle.failed(engine, user.email, actor.address)
            raise Invalid("current", "That is not your current password.")
        password_hash = await hashed(new)
        async with self.change(actor) as change:
            changed = await change.session.get(User, actor.user_id)
            if changed is None:
                raise NotFound("no such account")
            changed.password_hash = password_hash
            await end_sessions(change.session, changed.id)
            change.record(DomainEvent.USER_PASSWORD_CHANGED, "user", changed.id)

    async def reset_password(self, secret: str, password: str, again: str, address: str | None) -> User:
        """Set a new password from a reset link; this link and every other open one are spent."""
        if problem := password_problem(password):
            raise Invalid("password", problem)
        if password != again:
            raise Invalid("password_again", "The two passwords differ.")
        async with self.reading() as session:
            if await usable_reset(session, secret) is None:  # a dead link costs no password hashing
                raise NotFound("this reset link is not valid")
        password_hash = await hashed(password)
        async with self.change(Actor.anonymous(address)) as change:
            session = change.session
            reset = await usable_reset(session, secret)
            if reset is None:
                raise NotFound("this reset link is not valid")
            user = await session.get(User, reset.user_id)
            assert user is not None
            user.password_hash = password_hash
            await session.execute(
                update(PasswordReset)
                .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None))
                .values(used_at=utcnow())
            )
            await end_sessions(session, user.id)
            actor = await self._actor_of(session, user, address)
            if actor is not None:
                change.actor = actor
                change.record(DomainEvent.USER_PASSWORD_RESET, "user", user.id)
        return user

    async def verify(self, secret: str, address: str | None) -> User:
        """Follow a mailed confirmation link: the account's address is proven."""
        async with self.change(Actor.anonymous(address)) as change:
            session = change.session
            link = await session.scalar(
                select(EmailVerification).where(EmailVerification.secret_hash == hash_secret(secret))
            )
            if link is None or link.used_at is not None or aware(link.expires_at) <= utcnow():
                raise NotFound("this confirmation link is not valid")
            user = await session.get(User, link.user_id)
            assert user is not None
            link.used_at = utcnow()
            if user.email_verified_at is None:
                user.email_verified_at = utcnow()
                actor = await self._actor_of(session, user, address)
                if actor is not None:
                    change.actor = actor
                    change.record(DomainEvent.USER_VERIFIED, "user", user.id, after={"email": user.email})
        return user

    @property
    def mails(self) -> bool:
        """Whether this server can send mail at all (a mail server is configured)."""
        return self.deps.mailer.delivers

    async def confirm_address(self, email: str, via: Channel = Channel.CLI) -> User:
        """The operator vouches for an account's address (`wharf user confirm`, for servers without mail)."""
        email = email.strip().lower()
        async with self.change(Actor.anonymous(None)) as change:
            user = await change.session.scalar(select(User).where(User.email == email))
            if user is None:
                raise NotFound(f"no account has the email {email}")
            if user.email_verified_at is None:
                user.email_verified_at = utcnow()
                actor = await self._actor_of(change.session, user, None)
                if actor is not None:
                    change.actor = replace(actor, via=via, label=f"operator ({via})")
                    change.record(DomainEvent.USER_VERIFIED, "user", user.id, after={"email": email, "by": "operator"})
        return user

    async def send_verification(self, actor: Actor) -> bool:
        """Mail the person a new confirmation link; False when no mail could be sent."""
        secret = link_secret()
        async with self.change(actor) as change:
            user = await change.session.get(User, actor.user_id)
            if user is None:
                raise NotFound("no such account")
            if user.email_verified_at is not None:
                return True
            add_verification(change, user.id, secret)
        return await mail_verification(self.deps, user, secret)

    async def _actor_of(self, session: AsyncSession, user: User, address: str | None) -> Actor | None:
        row = (
            await session.execute(
                select(Membership.role, Organization)
                .join(Organization, Organization.id == Membership.organization_id)
                .where(Membership.user_id == user.id)
                .order_by(Membership.created_at)
                .limit(1)
            )
        ).first()
        if row is None:
            return None
        org: Organization = row[1]
        vendor_id = org.id if org.kind == "vendor" else (org.vendor_id or 0)
        return Actor.person(user.id, user.email, org.id, org.kind, vendor_id, row[0], address=address)


async def bootstrap_vendor(
    engine: AsyncEngine, slug: str, email: str, password: str, *, adopt_existing: bool = False
) -> NewVendor:
    """`wharf bootstrap`: the first (or another) vendor and its admin, as the operator at the command line."""
    deps = ServiceDeps(engine, LogMailer(), public_url="")
    return await AccountService(deps).create_vendor(
        slug, email, password, via=Channel.CLI, adopt_existing=adopt_existing
    )
