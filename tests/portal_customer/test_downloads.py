"""The customer's pull history: its own pulls only, filterable, and an htmx filter gets just the results."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from tests.conftest import basic
from tests.portal_customer.test_tokens import create_token
from tests.support.web import Browser, customer_user


async def test_history_shows_own_pulls_with_token_and_address_and_filters(wharf, licensed):
    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.member.email, licensed.member.password)
        secret = await create_token(browser, "build-farm")
        pull = {"Authorization": basic("t", secret), "X-Forwarded-For": "203.0.113.9"}
        assert (await wharf.client.get(f"/v2/{licensed.repo}/manifests/1.5.0", headers=pull)).status_code == 200
        assert (await wharf.client.get(f"/v2/{licensed.repo}/manifests/2.0.0", headers=pull)).status_code == 403
        await wharf.app.state.audit_writer.drain()

        r = await browser.get("/portal/downloads")
        assert r.status_code == 200
        assert f"{licensed.repo}:1.5.0" in r.text and f"{licensed.repo}:2.0.0" in r.text
        assert "build-farm" in r.text and "not covered by license" in r.text
        assert "127.0.0.1" in r.text and "203.0.113.9" not in r.text  # no trusted proxy: the peer counts
        # usage over time: the organization's own pulls, as an SVG a screen reader can describe
        today = datetime.now(UTC).date().isoformat()
        assert 'role="img" aria-labelledby="usage-chart-title usage-chart-desc"' in r.text
        assert re.search(rf"<title>{today}: 1 pull</title>", r.text) and "1 pull in all" in r.text
        r = await browser.get("/portal/downloads", params={"decision": "denied"})
        assert f"{licensed.repo}:2.0.0" in r.text and f"{licensed.repo}:1.5.0" not in r.text
        r = await browser.get("/portal/downloads", params={"tag": "1.5.0"}, headers={"HX-Request": "true"})
        assert r.text.lstrip().startswith('<section class="card" id="results">') and "<html" not in r.text
        assert f"{licensed.repo}:1.5.0" in r.text and f"{licensed.repo}:2.0.0" not in r.text
        r = await browser.get("/portal/downloads", params={"since": "2999-01-01"})
        assert "No downloads match these filters" in r.text
        r = await browser.get("/portal/downloads", params={"since": "yesterday", "decision": "bogus"})
        assert r.status_code in (200, 400) and "Traceback" not in r.text

    stranger = await customer_user(wharf, "admin")
    async with Browser(wharf.app) as other:
        await other.sign_in(stranger.email, stranger.password)
        r = await other.get("/portal/downloads")
        assert licensed.repo not in r.text and "No downloads" in r.text
        # another customer's chart is empty: its own usage only, said in words
        assert 'id="usage-chart-empty"' in r.text and "<svg" not in r.text
        r = await other.get("/portal/downloads", params={"repository": licensed.repo})
        assert licensed.repo + ":" not in r.text
