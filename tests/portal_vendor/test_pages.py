"""Every vendor page answers for a signed-in admin, and the landing after sign-in is /vendor/."""

from __future__ import annotations

import pytest

from tests.support.vendor import admin_email
from tests.support.web import Browser

PAGES = [
    "/vendor/",
    "/vendor/repositories",
    "/vendor/customers",
    "/vendor/customers/new",
    "/vendor/downloads",
    "/vendor/audit-log",
    "/vendor/team",
    "/vendor/tokens",
    "/vendor/settings",
]


async def test_the_bootstrap_admin_lands_on_the_vendor_dashboard(wharf):
    async with Browser(wharf.app) as browser:
        r = await browser.sign_in(await admin_email(wharf), "correct-horse")
        assert r.status_code == 303 and r.headers["location"] == "/vendor/"
        r = await browser.get("/vendor/")
        assert r.status_code == 200 and "Pulls over the last 30 days" in r.text


@pytest.mark.parametrize("path", PAGES)
async def test_each_page_renders_for_an_admin(admin, path):
    r = await admin.get(path)
    assert r.status_code == 200, r.text
    assert 'aria-current="page"' in r.text or path == "/vendor/customers/new"


async def test_signed_out_visitors_are_sent_to_sign_in(wharf):
    async with Browser(wharf.app) as browser:
        r = await browser.get("/vendor/customers")
        assert r.status_code == 303 and r.headers["location"] == "/signin?next=/vendor/customers"


async def test_bad_input_in_addresses_never_answers_500(admin):
    huge = "9" * 30
    for path in (f"/vendor/customers/{huge}", f"/vendor/licenses/{2**31}", f"/vendor/customers/{2**40}/licenses/new"):
        assert (await admin.get(path)).status_code == 404, path
    for params in ({"customer_id": huge}, {"page": huge}, {"since": "2026-13-01"}, {"until": "x"}, {"kind": "?"}):
        assert (await admin.get("/vendor/downloads", params=params)).status_code in (200, 404), params
    assert (await admin.get("/vendor/customers", params={"page": huge})).status_code == 200
    assert (await admin.get("/vendor/repositories/acme/" + "x" * 600)).status_code == 404
    await admin.get("/vendor/")
    r = await admin.post(f"/vendor/licenses/{2**33}/suspend", {"confirm": "yes"})
    assert r.status_code == 404


async def test_unknown_pages_and_objects_answer_a_friendly_404(admin):
    for path in (
        "/vendor/nowhere",
        "/vendor/customers/999999",
        "/vendor/licenses/999999",
        "/vendor/repositories/acme/none",
    ):
        r = await admin.get(path)
        assert r.status_code == 404, path
        assert "Page not found" in r.text
        if path != "/vendor/nowhere":  # a signed-in page's error keeps the vendor's branding
            assert "<span>Wharf</span>" not in r.text
