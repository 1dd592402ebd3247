"""Who may do what on the vendor portal: CSRF on every form, roles on every page and form, vendors apart."""

from __future__ import annotations

import re
import uuid

import pytest

from app.services.accounts import bootstrap_vendor
from tests.portal_vendor.test_customers import create_customer
from tests.support.vendor import signed_in
from tests.support.web import Browser, customer_user


async def test_a_form_without_the_csrf_token_is_refused(admin):
    await admin.get("/vendor/customers/new")
    r = await admin.client.post("/vendor/customers", data={"name": "Forged"})
    assert r.status_code == 403 and "This form has expired" in r.text
    r = await admin.client.post("/vendor/customers", data={"name": "Forged", "_csrf_token": "not-the-token"})
    assert r.status_code == 403
    listing = await admin.get("/vendor/customers", params={"q": "Forged"})
    assert "No customer matches" in listing.text


READ_ONLY = ["/vendor/", "/vendor/repositories", "/vendor/customers", "/vendor/downloads"]


@pytest.mark.parametrize(
    ("role", "allowed", "forbidden"),
    [
        (
            "support",
            READ_ONLY,
            ["/vendor/audit-log", "/vendor/team", "/vendor/tokens", "/vendor/settings", "/vendor/customers/new"],
        ),
        (
            "auditor",
            [*READ_ONLY, "/vendor/audit-log", "/vendor/audit-log/export"],
            ["/vendor/team", "/vendor/tokens", "/vendor/settings", "/vendor/customers/new"],
        ),
        (
            "account_manager",
            [*READ_ONLY, "/vendor/customers/new", "/vendor/tokens"],
            ["/vendor/audit-log", "/vendor/team", "/vendor/settings"],
        ),
        (
            "release",
            [*READ_ONLY, "/vendor/tokens"],
            ["/vendor/audit-log", "/vendor/team", "/vendor/settings", "/vendor/customers/new"],
        ),
    ],
)
async def test_pages_each_role_may_see(as_role, role, allowed, forbidden):
    browser = await as_role(role)
    for path in allowed:
        assert (await browser.get(path)).status_code == 200, path
    for path in forbidden:
        r = await browser.get(path)
        assert r.status_code == 403 and "You may not do that" in r.text, path
    nav = (await browser.get("/vendor/")).text
    assert ('href="/vendor/team"' in nav) is False and ('href="/vendor/settings"' in nav) is False


@pytest.mark.parametrize("role", ["support", "auditor"])
async def test_read_only_roles_cannot_change_anything(admin, as_role, role):
    customer_id = await create_customer(admin, "Read-only target")
    await admin.get(f"/vendor/customers/{customer_id}")
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "k8s", "expires": ""})
    token_id = re.search(r"/pull-tokens/(\d+)/revoke", r.text).group(1)
    browser = await as_role(role)
    page = await browser.get(f"/vendor/customers/{customer_id}")
    assert page.status_code == 200 and "Create pull token" not in page.text and "Revoke" not in page.text
    attempts = [
        ("/vendor/customers", {"name": "Sneaky"}),
        (f"/vendor/customers/{customer_id}/name", {"name": "Renamed"}),
        (f"/vendor/customers/{customer_id}/invitations", {"email": "a@b.test", "role": "admin"}),
        (f"/vendor/customers/{customer_id}/pull-tokens", {"name": "mine"}),
        (f"/vendor/customers/{customer_id}/pull-tokens/{token_id}/revoke", {"confirm": "yes"}),
        (f"/vendor/customers/{customer_id}/licenses", {"name": "x", "repository_0": "acme/app", "tags_0": "*"}),
        ("/vendor/team/invitations", {"email": "a@b.test", "role": "support"}),
        ("/vendor/tokens", {"name": "t", "kind": "api", "role": "support"}),
        ("/vendor/settings", {"name": "Hijacked"}),
    ]
    for path, data in attempts:
        r = await browser.post(path, data)
        assert r.status_code == 403, (path, r.status_code)
    assert "Read-only target" in (await admin.get(f"/vendor/customers/{customer_id}")).text
    assert 'class="badge ok">active' in (await admin.get(f"/vendor/customers/{customer_id}")).text


async def test_another_vendors_objects_answer_404(wharf, admin):
    customer_id = await create_customer(admin, "Acme only")
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    r = await admin.post(
        f"/vendor/customers/{customer_id}/licenses", {"name": "L", "repository_0": "acme/x", "tags_0": "*"}
    )
    license_id = int(r.headers["location"].rsplit("/", 1)[1])
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "k8s", "expires": ""})
    token_id = re.search(r"/pull-tokens/(\d+)/revoke", r.text).group(1)
    engine = wharf.app.state.registry.metadata.engine
    slug = f"rival{uuid.uuid4().hex[:6]}"
    await bootstrap_vendor(engine, slug, f"admin@{slug}.test", "correct-horse")
    async with await signed_in(wharf, f"admin@{slug}.test") as rival:
        for path in (
            f"/vendor/customers/{customer_id}",
            f"/vendor/licenses/{license_id}",
            f"/vendor/customers/{customer_id}/licenses/new",
        ):
            assert (await rival.get(path)).status_code == 404, path
        await rival.get("/vendor/")
        for path, data in (
            (f"/vendor/customers/{customer_id}/name", {"name": "Stolen"}),
            (f"/vendor/licenses/{license_id}", {"name": "Stolen", "repository_0": f"{slug}/x", "tags_0": "*"}),
            (f"/vendor/licenses/{license_id}/suspend", {"confirm": "yes"}),
            (f"/vendor/customers/{customer_id}/pull-tokens/{token_id}/revoke", {"confirm": "yes"}),
            (f"/vendor/customers/{customer_id}/invitations", {"email": "a@b.test", "role": "admin"}),
        ):
            assert (await rival.post(path, data)).status_code == 404, path
        assert "Acme only" not in (await rival.get("/vendor/customers")).text
    page = await admin.get(f"/vendor/customers/{customer_id}")
    assert "Acme only" in page.text and 'class="badge ok">active' in page.text


async def test_customer_users_cannot_reach_the_vendor_portal(wharf):
    person = await customer_user(wharf, "admin")
    async with Browser(wharf.app) as browser:
        await browser.sign_in(person.email, person.password)
        assert (await browser.get("/vendor/")).status_code == 404
        assert (await browser.get("/vendor/customers")).status_code == 404
