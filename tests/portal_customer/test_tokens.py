"""Pull tokens in the portal: shown once, listed by role, revoked after confirmation, audited."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AdminAuditEntry
from tests.conftest import basic
from tests.support.web import Browser

SECRET = re.compile(r"wharf_pull_[A-Za-z0-9_-]{20,}")


async def create_token(browser: Browser, name: str, expires: str = "") -> str:
    await browser.get("/portal/tokens")
    r = await browser.post("/portal/tokens", {"name": name, "expires_at": expires})
    assert r.status_code == 200, r.text
    secret = SECRET.search(r.text)
    assert secret and f"echo {secret.group(0)} | docker login testserver.local -u token --password-stdin" in r.text
    return secret.group(0)


async def token_id(browser: Browser, name: str) -> int:
    r = await browser.get("/portal/tokens")
    found = re.search(rf"<strong>{name}</strong>.*?/portal/tokens/(\d+)/revoke", r.text, re.S)
    assert found, f"{name} not listed"
    return int(found.group(1))


async def test_tokens_are_shown_once_listed_by_role_and_revoked(wharf, licensed):
    async with Browser(wharf.app) as admin, Browser(wharf.app) as member:
        await admin.sign_in(licensed.admin.email, licensed.admin.password)
        await member.sign_in(licensed.member.email, licensed.member.password)
        admin_secret = await create_token(admin, "admin-ci", "2099-01-31")
        member_secret = await create_token(member, "member-laptop")
        r = await member.get("/portal/tokens")
        assert "member-laptop" in r.text and "admin-ci" not in r.text
        assert member_secret not in r.text, "a secret is shown once only"
        r = await admin.get("/portal/tokens")
        assert "member-laptop" in r.text and "admin-ci" in r.text and "2099-01-31" in r.text
        admin_token = await token_id(admin, "admin-ci")
        assert (await member.get(f"/portal/tokens/{admin_token}/revoke")).status_code == 404
        await member.get("/portal/tokens")
        assert (await member.post(f"/portal/tokens/{admin_token}/revoke")).status_code == 404

        r = await wharf.client.get(
            "/token", params={"service": "testserver.local"}, headers={"Authorization": basic("t", member_secret)}
        )
        assert r.status_code == 200
        member_token = await token_id(admin, "member-laptop")
        r = await admin.get(f"/portal/tokens/{member_token}/revoke")
        assert "cannot be undone" in r.text
        r = await admin.post(f"/portal/tokens/{member_token}/revoke")
        assert r.status_code == 303
        r = await admin.get("/portal/tokens")
        assert "was revoked" in r.text and "revoked</span>" in r.text
        r = await wharf.client.get(
            "/token", params={"service": "testserver.local"}, headers={"Authorization": basic("t", member_secret)}
        )
        assert r.status_code == 401
        assert admin_secret

    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        entries = (
            await conn.execute(
                select(AdminAuditEntry.action, AdminAuditEntry.actor, AdminAuditEntry.client_ip)
                .where(AdminAuditEntry.object_type == "token", AdminAuditEntry.object_id == str(member_token))
                .order_by(AdminAuditEntry.id)
            )
        ).all()
    assert [e.action for e in entries] == ["pull_token.created", "pull_token.revoked"]
    assert entries[0].actor.endswith(f"({licensed.member.email})") and entries[0].client_ip == member.ip
    assert entries[1].actor.endswith(f"({licensed.admin.email})") and entries[1].client_ip == admin.ip


async def test_bad_token_input_is_explained(wharf, licensed):
    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.member.email, licensed.member.password)
        await browser.get("/portal/tokens")
        r = await browser.post("/portal/tokens", {"name": " ", "expires_at": ""})
        assert r.status_code == 400 and "A token needs a name." in r.text
        r = await browser.post("/portal/tokens", {"name": "x", "expires_at": "2001-01-01"})
        assert r.status_code == 400 and "Choose an expiry date in the future." in r.text
        r = await browser.post("/portal/tokens", {"name": "x", "expires_at": "next week"})
        assert r.status_code == 400 and "as a date" in r.text


async def test_right_after_creation_every_command_carries_the_token(wharf, licensed):
    import html
    import subprocess

    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.member.email, licensed.member.password)
        await browser.get("/portal/tokens")
        r = await browser.post("/portal/tokens", {"name": "laptop", "expires_at": ""})
    secret = SECRET.search(r.text).group(0)
    card = r.text.split('<section class="card created"', 1)[1].split("</section>", 1)[0]
    commands = [html.unescape(c) for c in re.findall(r"<pre><code>(.*?)</code></pre>", card, re.S)]
    assert commands[0] == secret and commands[1] == f"export WHARF_TOKEN={secret}"
    for command in commands[1:]:
        assert secret in command and "$WHARF_TOKEN" not in command, command
        assert subprocess.run(["bash", "-n"], input=command, text=True).returncode == 0, command
    joined = "\n".join(commands)
    assert (
        "docker login" in joined and "podman login --tls-verify=false" in joined and "kubectl create secret" in joined
    )
    assert "helm registry login" not in joined  # the license covers images only
