"""The front door and the first run: `/` leads to the right place; a fresh instance prints a one-time setup
link whose page creates the first vendor and closes for good; without the link's secret nothing happens."""

from __future__ import annotations

import logging
import re

import httpx
from sqlalchemy import func, select

from app.db import upgrade
from app.main import create_app
from app.models import Organization, Token, User
from app.settings import DatabaseSettings, ServerSettings, Settings
from tests.conftest import in_thread
from tests.support.web import Browser


async def test_a_fresh_instance_is_claimed_only_through_its_setup_link(tmp_path, caplog):
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}"
    in_thread(upgrade, url)
    settings = Settings(
        server=ServerSettings(public_url="http://testserver.local", data_dir=tmp_path),
        database=DatabaseSettings(url=url, auto_migrate=False),
    )
    app = create_app(settings)
    engine = app.state.registry.metadata.engine
    with caplog.at_level(logging.WARNING, logger="app.main"):
        await app.state.startup()
    printed = re.search(r"http://testserver\.local(/setup/\w+)", caplog.text)
    assert printed, caplog.text
    setup = printed.group(1)
    try:
        async with Browser(app) as browser:
            front = await browser.get("/")
            assert front.status_code == 200 and "not set up yet" in front.text
            assert (await browser.get("/setup/" + "0" * 32)).status_code == 404  # a guessed secret
            await browser.get(setup)
            bad = await browser.post(setup, {"slug": "Not A Slug", "email": "ops@first.test", "password": "first pw!"})
            assert bad.status_code == 400 and "lowercase letters" in bad.text
            form = {"vendor_name": "First Software Ltd", "slug": "first", "person_name": "Olu Ops"}
            r = await browser.post(setup, {**form, "email": "ops@first.test", "password": "first pw!"})
            assert r.status_code == 303 and r.headers["location"] == "/vendor/"
            assert "create a push or API token" in (await browser.get("/vendor/")).text  # signed in as the new admin
            assert (await browser.get("/")).headers["location"] == "/vendor/"
            assert (await browser.get(setup)).status_code == 404  # closed for good
            again = await browser.post(setup, {"slug": "second", "email": "b@first.test", "password": "first pw!"})
            assert again.status_code == 404
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as anonymous:
            assert (await anonymous.get("/")).headers["location"] == "/signin"
        async with engine.connect() as conn:
            assert await conn.scalar(select(func.count()).where(Organization.kind == "vendor")) == 1
            assert (
                await conn.scalar(select(Organization.name).where(Organization.slug == "first")) == "First Software Ltd"
            )
            assert await conn.scalar(select(User.name).where(User.email == "ops@first.test")) == "Olu Ops"
            assert await conn.scalar(select(func.count()).select_from(Token)) == 0  # no secret nobody was shown
    finally:
        app.state.audit_writer.spool.close()
        await engine.dispose()
