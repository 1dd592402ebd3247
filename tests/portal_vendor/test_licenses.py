"""Licenses on the vendor portal: the live preview matches existing tags, edits are validated, recorded and bite
at once; suspend and resume ask first."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.models import AdminAuditEntry
from tests.portal_vendor.test_customers import create_customer
from tests.registry.helpers import push_image
from tests.support.oci import image

TAGS = ("0.9.0", "1.0.0", "1.4.2", "1.9.9-rc.1", "2.0.0", "latest", "1.4.2-lts")


async def pushed_repository(wharf) -> str:
    repo = wharf.repo("licensed")
    for tag in TAGS:
        await push_image(wharf, repo, image(f"{repo}-{tag}"), tag)
    return repo


def grant_form(repo: str, rules: str, **extra: str) -> dict[str, str]:
    return {
        "name": "Globex prod",
        "valid_from": "",
        "valid_until": "",
        "grace_days": "0",
        "notes": "",
        "repository_0": repo,
        "tags_0": rules,
        **extra,
    }


def matched(html: str) -> list[str]:
    return re.findall(r'<span class="tag ok">([^<]+)</span>', html)


async def test_preview_shows_which_existing_tags_each_rule_matches(wharf, admin):
    repo = await pushed_repository(wharf)
    customer_id = await create_customer(admin, "Preview Co")
    page = await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    assert page.status_code == 200 and 'hx-post="/vendor/licenses/preview"' in page.text
    r = await admin.post("/vendor/licenses/preview", grant_form(repo, ">=1.0.0 <2.0.0"), headers={"HX-Request": "true"})
    assert r.status_code == 200 and "<html" not in r.text
    assert sorted(matched(r.text)) == ["1.0.0", "1.4.2"]  # pre-releases and suffixed tags are not in a plain range
    r = await admin.post("/vendor/licenses/preview", grant_form(repo, "*-lts, latest"))
    assert sorted(matched(r.text)) == ["1.4.2-lts", "latest"]
    r = await admin.post("/vendor/licenses/preview", grant_form(repo, ">=banana"))
    assert "error" in r.text and not matched(r.text)
    r = await admin.post("/vendor/licenses/preview", grant_form("other/thing", "*"))
    assert "start with &#39;acme/&#39;" in r.text or "start with 'acme/'" in r.text


async def test_create_edit_and_history_of_a_license(wharf, admin):
    repo = await pushed_repository(wharf)
    customer_id = await create_customer(admin, "Licensed Co")
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    r = await admin.post(
        f"/vendor/customers/{customer_id}/licenses", grant_form(repo, "^1.0", valid_until="2030-01-01", grace_days="7")
    )
    assert r.status_code == 303, r.text
    license_id = int(r.headers["location"].rsplit("/", 1)[1])
    page = await admin.get(f"/vendor/licenses/{license_id}")
    assert (
        "License Globex prod created." in page.text
        and 'value="2030-01-01"' in page.text
        and "license.created" in page.text
    )
    assert sorted(matched(page.text)) == ["1.0.0", "1.4.2"]
    # a customer token can pull what the license grants, and no more
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "ci", "expires": ""})
    secret = re.search(r"wharf_pull_[\w-]+", r.text).group(0)
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.4.2", auth=("x", secret))).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", auth=("x", secret))).status_code == 403
    await admin.get(f"/vendor/licenses/{license_id}")
    r = await admin.post(
        f"/vendor/licenses/{license_id}", grant_form(repo, "^1.0, 2.0.0", valid_until="2030-01-01", grace_days="7")
    )
    assert r.status_code == 303
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", auth=("x", secret))).status_code == 200  # at once
    page = await admin.get(f"/vendor/licenses/{license_id}")
    assert "license.updated" in page.text and "2.0.0" in page.text
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        entry = (
            await conn.execute(
                select(AdminAuditEntry).where(
                    AdminAuditEntry.object_id == str(license_id), AdminAuditEntry.action == "license.updated"
                )
            )
        ).first()
    assert '"2.0.0"' in entry.after and '"2.0.0"' not in entry.before and entry.client_ip == admin.ip


async def test_bad_license_input_is_shown_next_to_the_fields(admin, wharf):
    customer_id = await create_customer(admin, "Typo Co")
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    path = f"/vendor/customers/{customer_id}/licenses"
    cases = [
        (grant_form("acme/app", "*", name=""), "name-error"),
        (grant_form("acme/app", ">=nope"), "tags_0-error"),
        (grant_form("globex/app", "*"), "repository_0-error"),
        (grant_form("acme/app", "*", valid_from="2030-02-01", valid_until="2030-01-01"), "valid_until-error"),
        (grant_form("acme/app", "*", valid_from="yesterday"), "valid_from-error"),
        (grant_form("acme/app", "*", grace_days="-3"), "grace_days-error"),
        (grant_form("acme/app", "*", grace_days="lots"), "grace_days-error"),
    ]
    for data, field in cases:
        r = await admin.post(path, data)
        assert r.status_code == 400 and f'id="{field}"' in r.text, (data, r.text[-500:])
    r = await admin.post(path, {**grant_form("acme/app", "*"), "add_row": "1"})  # no JavaScript: one more row
    assert r.status_code == 200 and 'name="repository_1"' in r.text


async def test_suspend_and_resume_ask_first_and_take_effect(wharf, admin):
    repo = await pushed_repository(wharf)
    customer_id = await create_customer(admin, "Suspended Co")
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    r = await admin.post(f"/vendor/customers/{customer_id}/licenses", grant_form(repo, "*"))
    license_id = int(r.headers["location"].rsplit("/", 1)[1])
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "ci", "expires": ""})
    secret = re.search(r"wharf_pull_[\w-]+", r.text).group(0)
    asked = await admin.post(f"/vendor/licenses/{license_id}/suspend")
    assert asked.status_code == 200 and "Suspend Globex prod?" in asked.text
    assert (await wharf.client.get(f"/v2/{repo}/manifests/latest", auth=("x", secret))).status_code == 200
    r = await admin.post(f"/vendor/licenses/{license_id}/suspend", {"confirm": "yes"})
    assert r.status_code == 303
    denied = await wharf.client.get(f"/v2/{repo}/manifests/latest", auth=("x", secret))
    assert denied.status_code == 403 and "suspended" in denied.text
    page = await admin.get(f"/vendor/licenses/{license_id}")
    assert "suspended" in page.text and "license.suspended" in page.text
    await admin.post(f"/vendor/licenses/{license_id}/resume", {"confirm": "yes"})
    assert (await wharf.client.get(f"/v2/{repo}/manifests/latest", auth=("x", secret))).status_code == 200
    assert (await admin.post(f"/vendor/licenses/{license_id}/explode", {"confirm": "yes"})).status_code == 404
