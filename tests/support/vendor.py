"""Vendor staff for portal tests, created the real way: the bootstrap admin invites them on the Team page."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from app.models import Membership, Organization, User
from tests.support.smtp import SmtpSink
from tests.support.web import Browser

PASSWORD = "correct-horse"


async def admin_email(wharf: Any, vendor: str = "acme") -> str:
    """The bootstrap admin of `vendor` (its password is PASSWORD)."""
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        return (
            await conn.execute(
                select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .join(Organization, Organization.id == Membership.organization_id)
                .where(Organization.slug == vendor, Organization.kind == "vendor", Membership.role == "admin")
                .order_by(User.id)
                .limit(1)
            )
        ).scalar_one()


async def signed_in(wharf: Any, email: str, password: str = PASSWORD) -> Browser:
    browser = Browser(wharf.app)
    r = await browser.sign_in(email, password)
    assert r.status_code == 303, r.text
    return browser


async def staff_member(wharf: Any, smtp_sink: SmtpSink, role: str) -> str:
    """A new vendor user with `role`, invited by the admin and accepted through the invitation link."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@acme.test"
    async with await signed_in(wharf, await admin_email(wharf)) as admin:
        await admin.get("/vendor/team")
        r = await admin.post("/vendor/team/invitations", {"email": email, "role": role})
        assert r.status_code == 303, r.text
    path = smtp_sink.wait_for(email).link("/portal/invitations/")
    async with Browser(wharf.app) as browser:
        await browser.get(path)
        r = await browser.post(path, {"name": role.title() + " Staff", "password": PASSWORD})
        assert r.status_code == 303, r.text  # accepted, and signed in
    return email
