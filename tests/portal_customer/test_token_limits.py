"""Customers see their tokens' networks, limits and use; the tokens they make take their license's token
defaults, and nothing in the portal loosens them."""

from __future__ import annotations

from ipaddress import ip_network

from tests.conftest import basic
from tests.portal_customer.test_tokens import create_token, token_id
from tests.support.web import Browser


async def test_a_customers_token_takes_the_license_defaults_and_shows_its_use(wharf, licensed):
    api = {"Authorization": f"Bearer {wharf.token}"}
    body = {
        "customer_id": licensed.admin.customer_id,
        "name": "Metered",
        "grants": [{"repository": licensed.repo, "tags": ["*"]}],
        "token_defaults": {"allowed_cidrs": ["10.0.0.0/8"], "limits": {"pulls_per_day": 3, "bytes_per_month": 10**9}},
    }
    assert (await wharf.client.post("/api/v1/licenses", json=body, headers=api)).status_code == 201

    async with Browser(wharf.app) as admin:
        await admin.sign_in(licensed.admin.email, licensed.admin.password)
        page = await admin.get("/portal/tokens")
        assert "New tokens are limited by your license" in page.text and "3 pulls a day" in page.text
        secret = await create_token(admin, "cluster")
        page = await admin.get("/portal/tokens")
        assert 'from <span class="mono">10.0.0.0/8</span> only' in page.text
        assert "0 of 3 pulls today" in page.text and "0 B of 1.0 GB downloaded this month" in page.text

        registry = wharf.app.state.registry
        saved = registry.trusted_proxies
        registry.trusted_proxies = (ip_network("127.0.0.0/8"),)
        try:
            headers = {"Authorization": basic("x", secret), "X-Forwarded-For": "10.2.3.4"}
            assert (await wharf.client.get(f"/v2/{licensed.repo}/manifests/1.0.0", headers=headers)).status_code == 200
            headers["X-Forwarded-For"] = "198.51.100.1"
            assert (await wharf.client.get(f"/v2/{licensed.repo}/manifests/1.5.0", headers=headers)).status_code == 403
        finally:
            registry.trusted_proxies = saved
        await wharf.app.state.quotas.merge()
        page = await admin.get("/portal/tokens")
        assert "1 of 3 pulls today" in page.text and "1 pull this month" in page.text

        # nothing here changes a token's networks or limits: the form has no such fields, the services refuse
        assert 'name="allowed_cidrs"' not in page.text and 'name="pulls_per_day"' not in page.text
        assert await token_id(admin, "cluster")
        r = await admin.post("/portal/tokens", {"name": "loose", "expires_at": "", "allowed_cidrs": "0.0.0.0/0"})
        assert r.status_code == 200
        path = f"/api/v1/customers/{licensed.admin.customer_id}/pull-tokens"
        tokens = (await wharf.client.get(path, headers=api)).json()["items"]
        assert {t["name"]: t["allowed_cidrs"] for t in tokens} == {"cluster": ["10.0.0.0/8"], "loose": ["10.0.0.0/8"]}
