"""Who is signed in: the session names a user and one of their organizations; every request re-reads
both, so a removed membership ends access at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import aliased

from app.identity import Actor, Channel
from app.models import Membership, Organization, User

Vendor = aliased(Organization)


@dataclass(frozen=True)
class WebUser:
    id: int
    email: str
    name: str
    org_id: int
    org_kind: str  # vendor | customer
    org_name: str
    role: str
    vendor_id: int
    vendor_slug: str
    verified: bool  # the address was proven by a mailed link

    @property
    def label(self) -> str:
        """How the admin audit log names this person."""
        return f"user:{self.id} ({self.email})"

    def actor(self, address: str | None) -> Actor:
        return Actor.person(
            self.id,
            self.email,
            self.org_id,
            self.org_kind,
            self.vendor_id,
            self.role,
            vendor_slug=self.vendor_slug,
            via=Channel.PORTAL,
            address=address,
        )

    @property
    def home(self) -> str:
        return "/vendor/" if self.org_kind == "vendor" else "/portal/"


class SignInRequired(NotAuthorizedException):
    """Raised by pages that need a signed-in user of a given kind; answered with a redirect to /signin."""


async def load_user(engine: AsyncEngine, user_id: int, org_id: int | None) -> WebUser | None:
    stmt = (
        select(User.id, User.email, User.name, User.email_verified_at, Membership.role)
        .add_columns(Organization.id.label("org_id"), Organization.kind, Organization.name.label("org_name"))
        .add_columns(Organization.slug, Vendor.id.label("vendor_id"), Vendor.slug.label("vendor_slug"))
        .join(Membership, Membership.user_id == User.id)
        .join(Organization, Organization.id == Membership.organization_id)
        .join(Vendor, Vendor.id == Organization.vendor_id, isouter=True)
        .where(User.id == user_id)
        .order_by(Membership.created_at, Organization.id)
    )
    if org_id is not None:
        stmt = stmt.where(Organization.id == org_id)
    async with engine.connect() as conn:
        row = (await conn.execute(stmt.limit(1))).first()
    if row is None:
        return None
    vendor = (row.org_id, row.slug) if row.kind == "vendor" else (row.vendor_id, row.vendor_slug)
    return WebUser(
        row.id,
        row.email,
        row.name,
        row.org_id,
        row.kind,
        row.org_name,
        row.role,
        vendor[0],
        vendor[1],
        row.email_verified_at is not None,
    )


async def current_user(request: ASGIConnection[Any, Any, Any, Any]) -> WebUser | None:
    """The signed-in user, read once per request (cached in the request's state)."""
    if "web_user" not in request.state:
        session = request.session if "session" in request.scope else {}
        uid, org = session.get("uid"), session.get("org")
        engine = request.app.state.web.engine
        request.state.web_user = await load_user(engine, uid, org) if isinstance(uid, int) else None
    user: WebUser | None = request.state.web_user
    return user


async def require_user(request: ASGIConnection[Any, Any, Any, Any], kind: str) -> WebUser:
    """The signed-in user of an organization of `kind`; anyone else's pages answer 404, as if absent."""
    user = await current_user(request)
    if user is None:
        raise SignInRequired("please sign in")
    if user.org_kind != kind:
        raise NotFoundException("no such page")
    return user
