"""The invitation link: a page to choose a name and password; used, expired and unknown links explain themselves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import select, update

from app.models import Invitation, Membership, User
from app.passwords import verify_password
from tests.support.web import Browser


async def invite(wharf, email: str, role: str = "admin") -> str:
    api = {"Authorization": f"Bearer {wharf.token}"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Invited Co"}, headers=api)).json()
    r = await wharf.client.post(
        f"/api/v1/customers/{customer['id']}/invitations", json={"email": email, "role": role}, headers=api
    )
    return urlsplit(r.json()["accept_url"]).path


async def test_accepting_an_invitation_creates_the_account(wharf, smtp_sink):
    email = f"new-{datetime.now(UTC).timestamp()}@invited.test"
    path = await invite(wharf, email)
    browser = Browser(wharf.app)
    r = await browser.get(path)
    assert r.status_code == 200 and "Join Invited Co" in r.text and email in r.text
    r = await browser.post(path, data={"name": "Ada", "password": "short"})
    assert r.status_code == 400 and "at least 8 characters" in r.text
    r = await browser.post(path, data={"name": "Ada", "password": "long enough"})
    assert r.status_code == 303 and r.headers["location"] == "/portal/"  # accepting signs the person in
    r = await browser.get("/portal/")
    assert "Welcome, Ada" in r.text and "confirm your email address" in r.text
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        user = (await conn.execute(select(User).where(User.email == email))).one()
        role = (await conn.execute(select(Membership.role).where(Membership.user_id == user.id))).scalar()
    assert verify_password("long enough", user.password_hash) and role == "admin"
    # the API handed the link to automation, so the account waits for its owner to confirm the address
    assert user.email_verified_at is None
    smtp_sink.wait_for(email, "Confirm your email address")
    r = await browser.get(path)
    assert "already accepted" in r.text
    r = await browser.post(path, data={"name": "Eve", "password": "long enough"})
    assert r.status_code == 409


async def test_unknown_and_expired_links_explain_themselves(wharf):
    for secret in ("not-a-real-secret", "3000000000-x", "9" * 5000 + "-x", "0-x", "\u00b2-x"):
        r = await wharf.client.get(f"/portal/invitations/{secret}")
        assert r.status_code == 404 and "not valid" in r.text, secret
    path = await invite(wharf, "late@invited.test", "member")
    engine = wharf.app.state.registry.metadata.engine
    async with engine.begin() as conn:
        await conn.execute(
            update(Invitation)
            .where(Invitation.email == "late@invited.test")
            .values(expires_at=datetime.now(UTC) - timedelta(minutes=1))
        )
    browser = Browser(wharf.app)
    r = await browser.get(path)
    assert "expired" in r.text
    r = await browser.post(path, data={"name": "Late", "password": "long enough"})
    assert r.status_code == 409
