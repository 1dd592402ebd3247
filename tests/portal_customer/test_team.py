"""Team management by customer admins: invitations by mail, roles, removal; members never see it."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AdminAuditEntry
from tests.support.web import Browser


def member_id(page: str, email: str) -> int:
    found = re.search(rf"{re.escape(email)}.*?/portal/team/(\d+)/role", page, re.S)
    assert found, f"{email} not on the team page"
    return int(found.group(1))


async def test_admin_invites_by_mail_changes_roles_and_removes(wharf, licensed, smtp_sink):
    colleague = f"colleague-{licensed.admin.customer_id}@customer.test"
    async with Browser(wharf.app) as admin:
        await admin.sign_in(licensed.admin.email, licensed.admin.password)
        r = await admin.get("/portal/team")
        assert r.status_code == 200 and licensed.member.email in r.text
        r = await admin.post("/portal/team/invite", {"email": colleague, "role": "member"})
        assert r.status_code == 303
        r = await admin.get("/portal/team")
        assert f"Invitation sent to {colleague}" in r.text and "Open invitations" in r.text

        link = smtp_sink.wait_for(colleague, "invitation").link("/portal/invitations/")
        async with Browser(wharf.app) as newcomer:
            await newcomer.get(link)
            r = await newcomer.post(link, {"name": "Colleague", "password": "colleague pw"})
            assert r.status_code == 303  # accepted, and signed in
            r = await newcomer.get("/portal/")
            assert "Welcome, Colleague" in r.text and "confirm your email" not in r.text  # a mailed link proves it
            assert (await newcomer.sign_in(colleague, "colleague pw")).status_code == 303
            assert (await newcomer.get("/portal/team")).status_code == 404  # members have no team page

            page = (await admin.get("/portal/team")).text
            newcomer_id = member_id(page, colleague)
            r = await admin.post(f"/portal/team/{newcomer_id}/role", {"role": "admin"})
            assert r.status_code == 303
            assert (await newcomer.get("/portal/team")).status_code == 200  # the new role applies at once
            r = await admin.post(f"/portal/team/{newcomer_id}/role", {"role": "owner"})
            assert "Choose admin or member" in (await admin.get("/portal/team")).text

            r = await admin.get(f"/portal/team/{newcomer_id}/remove")
            assert "loses access" in r.text
            assert (await admin.post(f"/portal/team/{newcomer_id}/remove")).status_code == 303
            r = await newcomer.get("/portal/")
            assert r.status_code == 303, "a removed user's session ends"
            assert (await newcomer.sign_in(colleague, "colleague pw")).status_code == 400

    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        actions = (
            await conn.scalars(
                select(AdminAuditEntry.action).where(AdminAuditEntry.actor.endswith(f"({licensed.admin.email})"))
            )
        ).all()
    assert {"invitation.created", "member.role_changed", "member.removed"} <= set(actions)


async def test_the_last_admin_stays(wharf, licensed):
    async with Browser(wharf.app) as admin:
        await admin.sign_in(licensed.admin.email, licensed.admin.password)
        page = (await admin.get("/portal/team")).text
        me = member_id(page, licensed.admin.email)
        await admin.post(f"/portal/team/{me}/role", {"role": "member"})
        assert "at least one admin" in (await admin.get("/portal/team")).text
        await admin.post(f"/portal/team/{me}/remove")
        assert "at least one admin" in (await admin.get("/portal/team")).text
