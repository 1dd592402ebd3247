"""'Your software': only entitled repositories and tags, commands for every client, license warnings."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

from tests.portal_customer.conftest import license_for
from tests.support.web import Browser, customer_user


async def test_a_member_sees_exactly_the_tags_the_license_allows(wharf, licensed):
    async with Browser(wharf.app) as browser:
        assert (await browser.sign_in(licensed.member.email, licensed.member.password)).status_code == 303
        r = await browser.get("/portal/")
    assert r.status_code == 200
    tags = re.findall(r'<span class="tag">([^<]+)</span>', r.text)
    assert tags == ["1.5.0", "1.0.0"]  # newest push first; 2.0.0 is outside the range
    assert licensed.secret_repo not in r.text
    host = "testserver.local"
    for command in (
        f"docker pull {host}/{licensed.repo}:1.5.0",
        f"podman pull {host}/{licensed.repo}:1.0.0",
        f"helm registry login {host}",
        f"helm pull oci://{host}/{licensed.repo} --version 1.5.0",
        f"oras pull {host}/{licensed.repo}:1.5.0",
        "kubectl create secret docker-registry",
        "imagePullSecrets",
    ):
        assert command in r.text, command
    assert ":2.0.0" not in r.text and "--version 2.0.0" not in r.text
    assert "Ends soon" in r.text and re.search(r"expires on \d{4}-\d\d-\d\d \(in [45] days\)", r.text)


async def test_an_ended_license_shows_why_and_lists_nothing(wharf):
    person = await customer_user(wharf, "admin")
    repo = wharf.repo("old")
    await license_for(wharf, person.customer_id, repo, ["*"], datetime.now(UTC) - timedelta(days=2))
    async with Browser(wharf.app) as browser:
        await browser.sign_in(person.email, person.password)
        r = await browser.get("/portal/")
    assert "Expired" in r.text and re.search(r"License '[^']+' expired on", html.unescape(r.text))
    assert "Nothing to pull yet" in r.text


async def test_a_customer_without_a_license_gets_an_empty_state(wharf):
    person = await customer_user(wharf, "member")
    async with Browser(wharf.app) as browser:
        await browser.sign_in(person.email, person.password)
        r = await browser.get("/portal/")
    assert "has no license yet" in r.text and "Nothing to pull yet" in r.text


async def test_signed_out_visitors_are_sent_to_sign_in_and_come_back(wharf, licensed):
    async with Browser(wharf.app) as browser:
        r = await browser.get("/portal/tokens")
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/portal/tokens"
        await browser.get(r.headers["location"])
        data = {"email": licensed.member.email, "password": licensed.member.password, "next": "/portal/tokens"}
        r = await browser.post("/signin", data)
        assert r.headers["location"] == "/portal/tokens"


async def test_pages_carry_the_vendors_branding(wharf, licensed):
    from sqlalchemy import update

    from app.models import Organization

    engine = wharf.app.state.registry.metadata.engine

    async def brand(**values):
        async with engine.begin() as conn:
            await conn.execute(
                update(Organization).where(Organization.kind == "vendor", Organization.slug == "acme").values(**values)
            )

    await brand(logo_url="https://cdn.acme.test/logo.svg", accent_color="#aa3311", welcome_text="Hello from Acme")
    try:
        async with Browser(wharf.app) as browser:
            await browser.sign_in(licensed.member.email, licensed.member.password)
            r = await browser.get("/portal/")
            assert '<img src="https://cdn.acme.test/logo.svg"' in r.text and "--accent: #aa3311" in r.text
            assert "Hello from Acme" in r.text
            await brand(logo_url="javascript:alert(1)", accent_color="red;}")
            r = await browser.get("/portal/")
            assert "javascript:" not in r.text and "--accent: #2457d6" in r.text
    finally:
        await brand(logo_url=None, accent_color=None, welcome_text=None)
