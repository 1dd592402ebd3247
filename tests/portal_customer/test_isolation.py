"""A customer user never reaches another customer's or the vendor's pages: others' ids answer 404."""

from __future__ import annotations

import re

from tests.portal_customer.test_tokens import create_token, token_id
from tests.support.web import Browser, customer_user


async def test_other_customers_ids_answer_404(wharf, licensed):
    stranger = await customer_user(wharf, "admin")
    async with Browser(wharf.app) as owner, Browser(wharf.app) as other:
        await owner.sign_in(licensed.admin.email, licensed.admin.password)
        await other.sign_in(stranger.email, stranger.password)
        await create_token(owner, "owners-token")
        theirs = await token_id(owner, "owners-token")
        page = (await owner.get("/portal/team")).text
        their_member = int(re.search(r"/portal/team/(\d+)/role", page).group(1))

        await other.get("/portal/tokens")
        for method, path in (
            ("get", f"/portal/tokens/{theirs}/revoke"),
            ("post", f"/portal/tokens/{theirs}/revoke"),
            ("get", f"/portal/team/{their_member}/remove"),
            ("post", f"/portal/team/{their_member}/remove"),
            ("post", f"/portal/team/{their_member}/role"),
        ):
            r = await (other.get(path) if method == "get" else other.post(path, {"role": "member"}))
            assert r.status_code == 404, (method, path, r.status_code)
            assert "Page not found" in r.text and "Sign out" in r.text  # still the signed-in layout
        assert "owners-token" in (await owner.get("/portal/tokens")).text  # untouched
        r = await other.get("/portal/")
        assert licensed.repo not in r.text


async def test_vendor_staff_and_customers_keep_to_their_own_portal(wharf, licensed):
    async with Browser(wharf.app) as vendor:
        r = await vendor.sign_in(wharf.admin_email, "correct-horse")
        assert r.status_code == 303 and r.headers["location"] == "/vendor/"
        assert (await vendor.get("/portal/")).status_code == 404
        assert (await vendor.get("/portal/tokens")).status_code == 404
    async with Browser(wharf.app) as customer:
        await customer.sign_in(licensed.member.email, licensed.member.password)
        assert (await customer.get("/vendor/")).status_code == 404
        assert (await customer.get("/api/v1/customers")).status_code == 401  # session cookies open no API


async def test_numbers_no_column_holds_answer_404_or_are_ignored(wharf, licensed):
    async with Browser(wharf.app) as browser:
        await browser.sign_in(licensed.admin.email, licensed.admin.password)
        for huge in (3_000_000_000, 2**63, 10**30):
            for path in (f"/portal/tokens/{huge}/revoke", f"/portal/team/{huge}/remove"):
                assert (await browser.get(path)).status_code == 404, path
            assert (await browser.post(f"/portal/team/{huge}/role", {"role": "member"})).status_code == 404
            r = await browser.get("/portal/downloads", params={"token": str(huge), "page": str(huge)})
            assert r.status_code == 200
