"""Networks and limits on the vendor portal: a license's limits and its defaults for new tokens, a token's
own, each validated next to its field; only roles that manage customers change them."""

from __future__ import annotations

import re

from tests.portal_vendor.test_customers import create_customer
from tests.portal_vendor.test_licenses import grant_form


async def api_get(wharf, path):
    r = await wharf.client.get(f"/api/v1{path}", headers={"Authorization": f"Bearer {wharf.token}"})
    assert r.status_code == 200, r.text
    return r.json()


def limits_form(prefix: str, networks="", day="", month="", size="") -> dict[str, str]:
    return {
        f"{prefix}networks": networks,
        f"{prefix}pulls_per_day": day,
        f"{prefix}pulls_per_month": month,
        f"{prefix}bytes_per_month": size,
    }


async def test_license_limits_and_defaults_then_a_token_made_from_them(wharf, admin):
    customer_id = await create_customer(admin, "Metered Co")
    path = f"/vendor/customers/{customer_id}/licenses"
    page = await admin.get(f"{path}/new")
    assert "Download limits" in page.text and "Defaults for new tokens" in page.text
    form = {
        **grant_form("acme/metered", "*"),
        **limits_form("limit_", month="1,000", size="50 GB"),
        **limits_form("default_", networks="10.0.0.0/8\n2001:db8::/32", day="3"),
    }
    r = await admin.post(path, form)
    assert r.status_code == 303, r.text
    license_id = int(r.headers["location"].rsplit("/", 1)[1])
    lic = await api_get(wharf, f"/licenses/{license_id}")
    assert lic["limits"] == {"pulls_per_day": None, "pulls_per_month": 1000, "bytes_per_month": 50 * 10**9}
    assert lic["token_defaults"]["allowed_cidrs"] == ["10.0.0.0/8", "2001:db8::/32"]
    assert lic["token_defaults"]["limits"]["pulls_per_day"] == 3
    page = await admin.get(f"/vendor/licenses/{license_id}")
    assert 'value="50 GB"' in page.text and "0 of 1,000 pulls this month" in page.text

    # the customer's create form starts from the defaults; what is posted is what the token gets
    page = await admin.get(f"/vendor/customers/{customer_id}")
    assert (
        "10.0.0.0/8\n2001:db8::/32</textarea>" in page.text
        and 'name="token_pulls_per_day" inputmode="numeric" value="3"' in page.text
    )
    r = await admin.post(
        f"/vendor/customers/{customer_id}/pull-tokens",
        {"name": "edge", "expires": "", **limits_form("token_", networks="192.0.2.0/24", day="5", size="1 GB")},
    )
    assert r.status_code == 200 and re.search(r"wharf_pull_[\w-]+", r.text)
    assert 'from <span class="mono">192.0.2.0/24</span> only' in r.text and "0 of 5 pulls today" in r.text
    [token] = (await api_get(wharf, f"/customers/{customer_id}/pull-tokens"))["items"]
    assert token["allowed_cidrs"] == ["192.0.2.0/24"]
    assert token["limits"] == {"pulls_per_day": 5, "pulls_per_month": None, "bytes_per_month": 10**9}

    # the token's own page changes them
    edit = f"/vendor/customers/{customer_id}/pull-tokens/{token['id']}"
    page = await admin.get(edit)
    assert page.status_code == 200 and 'value="1 GB"' in page.text
    r = await admin.post(edit, limits_form("", networks="10.1.0.0/16", month="200"))
    assert r.status_code == 303
    assert "networks and limits saved" in (await admin.get(f"/vendor/customers/{customer_id}")).text
    found = await api_get(wharf, f"/pull-tokens/{token['id']}")
    assert found["allowed_cidrs"] == ["10.1.0.0/16"] and found["limits"]["pulls_per_month"] == 200


async def test_bad_limits_are_shown_next_to_their_fields(wharf, admin):
    customer_id = await create_customer(admin, "Typo Limits Co")
    path = f"/vendor/customers/{customer_id}/licenses"
    await admin.get(f"{path}/new")
    for fields, field in [
        (limits_form("limit_", size="lots"), "limit_bytes_per_month-error"),
        (limits_form("limit_", day="0"), "limit_pulls_per_day-error"),
        (limits_form("default_", networks="10.0.0.0/33"), "default_networks-error"),
        (limits_form("default_", month="many"), "default_pulls_per_month-error"),
    ]:
        r = await admin.post(path, {**grant_form("acme/app", "*"), **fields})
        assert r.status_code == 400 and f'id="{field}"' in r.text, (fields, r.text[-400:])

    await admin.get(f"/vendor/customers/{customer_id}")
    r = await admin.post(
        f"/vendor/customers/{customer_id}/pull-tokens",
        {"name": "x", "expires": "", **limits_form("token_", networks="nope")},
    )
    assert (
        r.status_code == 400
        and 'id="token_networks-error"' in r.text
        and '<details class="token-limits" open>' in r.text
    )
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "ok", "expires": ""})
    [token] = (await api_get(wharf, f"/customers/{customer_id}/pull-tokens"))["items"]
    edit = f"/vendor/customers/{customer_id}/pull-tokens/{token['id']}"
    await admin.get(edit)
    r = await admin.post(edit, limits_form("", size="-5 GB"))
    assert r.status_code == 400 and 'id="bytes_per_month-error"' in r.text


async def test_only_roles_that_manage_customers_change_limits(wharf, admin, as_role):
    customer_id = await create_customer(admin, "Read Only Co")
    await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "ci", "expires": ""})
    [token] = (await api_get(wharf, f"/customers/{customer_id}/pull-tokens"))["items"]
    edit = f"/vendor/customers/{customer_id}/pull-tokens/{token['id']}"
    support = await as_role("support")
    page = await support.get(f"/vendor/customers/{customer_id}")
    assert "0 pulls today" in page.text and edit not in page.text
    assert (await support.get(edit)).status_code == 403
    assert (await admin.get(f"/vendor/customers/{customer_id + 100000}/pull-tokens/{token['id']}")).status_code == 404
