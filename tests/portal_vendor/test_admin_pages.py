"""Team, tokens, settings, downloads and the audit log on the vendor portal."""

from __future__ import annotations

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime

from tests.portal_vendor.test_customers import create_customer, last_audit
from tests.portal_vendor.test_licenses import grant_form, pushed_repository
from tests.support.vendor import PASSWORD, signed_in, staff_member
from tests.support.web import Browser


async def test_team_role_change_applies_at_once_and_removal_ends_the_persons_sessions(wharf, admin, smtp_sink):
    email = await staff_member(wharf, smtp_sink, "support")
    page = await admin.get("/vendor/team")
    assert email in page.text
    member_id = re.search(rf'/vendor/team/(\d+)/role"[^>]*>(?:(?!</form>).)*{re.escape(email)}', page.text, re.S).group(
        1
    )
    colleague = await signed_in(wharf, email)
    assert (await colleague.get("/vendor/customers/new")).status_code == 403
    r = await admin.post(f"/vendor/team/{member_id}/role", {"role": "account_manager"})
    assert r.status_code == 303 and (await last_audit(wharf, "member.role_changed")).object_id == member_id
    assert (await colleague.get("/vendor/customers/new")).status_code == 200  # at once, in the same session
    asked = await admin.post(f"/vendor/team/{member_id}/remove")
    assert asked.status_code == 200 and "Remove " in asked.text and "from the team?" in asked.text
    r = await admin.post(f"/vendor/team/{member_id}/remove", {"confirm": "yes"})
    page = (await admin.get("/vendor/team")).text
    assert (
        r.status_code == 303
        and f"{email} was removed" in page
        and f'<div class="muted small">{email}</div>' not in page
    )
    assert (await colleague.get("/vendor/")).status_code == 303
    async with Browser(wharf.app) as again:
        r = await again.sign_in(email, PASSWORD)
        assert r.status_code == 400  # no organization left to sign in to
    await colleague.__aexit__()


async def test_team_refuses_bad_invitations_and_changing_yourself(admin, staff_emails):
    await admin.get("/vendor/team")
    r = await admin.post("/vendor/team/invitations", {"email": "nobody", "role": "support"})
    assert r.status_code == 400 and 'id="email-error"' in r.text
    r = await admin.post("/vendor/team/invitations", {"email": "a@b.test", "role": "emperor"})
    assert r.status_code == 400 and 'id="role-error"' in r.text
    page = await admin.get("/vendor/team")
    assert "(you)" in page.text


async def test_account_manager_creates_tokens_only_up_to_their_role(wharf, as_role):
    browser = await as_role("account_manager")
    page = await browser.get("/vendor/tokens")
    assert '<option value="admin"' not in page.text
    r = await browser.post("/vendor/tokens", {"name": "sneaky", "kind": "api", "role": "admin"})
    assert r.status_code == 400 and 'id="role-error"' in r.text
    r = await browser.post("/vendor/tokens", {"name": "", "kind": "api", "role": "support"})
    assert r.status_code == 400 and 'id="name-error"' in r.text
    r = await browser.post("/vendor/tokens", {"name": "scripts", "kind": "api", "role": "support"})
    assert r.status_code == 200 and "shown only once" in r.text
    secret = re.search(r"wharf_api_[\w-]+", r.text).group(0)
    assert f"Bearer {secret}&#39; http://testserver.local/api/v1/customers" in r.text
    api = {"Authorization": f"Bearer {secret}"}
    assert (await wharf.client.get("/api/v1/customers", headers=api)).status_code == 200
    token_id = re.search(r"/vendor/tokens/(\d+)/revoke", r.text).group(1)
    assert (await browser.post(f"/vendor/tokens/{token_id}/revoke")).status_code == 200  # asks first
    assert (await wharf.client.get("/api/v1/customers", headers=api)).status_code == 200
    r = await browser.post(f"/vendor/tokens/{token_id}/revoke", {"confirm": "yes"})
    assert r.status_code == 303
    assert (await wharf.client.get("/api/v1/customers", headers=api)).status_code == 401
    entry = await last_audit(wharf, "vendor_token.revoked")
    assert entry.object_id == token_id and "account_manager-" in entry.actor


async def test_push_token_from_the_portal_can_push(wharf, admin):
    await admin.get("/vendor/tokens")
    r = await admin.post("/vendor/tokens", {"name": "ci", "kind": "push", "role": "release", "expires": "2099-01-01"})
    secret = re.search(r"wharf_push_[\w-]+", r.text).group(0)
    repo = wharf.repo("pushed")
    assert (await wharf.client.post(f"/v2/{repo}/blobs/uploads/", auth=("ci", secret))).status_code == 202


async def test_settings_brand_the_portals_and_check_their_input(wharf, admin):
    await admin.get("/vendor/settings")
    r = await admin.post(
        "/vendor/settings", {"name": "", "logo_url": "javascript:alert(1)", "accent_color": "red", "welcome_text": ""}
    )
    assert r.status_code == 400
    for field in ("name", "logo_url", "accent_color"):
        assert f'id="{field}-error"' in r.text
    values = {
        "name": "Acme Software",
        "logo_url": "https://acme.test/logo.svg",
        "accent_color": "#aa3300",
        "welcome_text": "Welcome, partners.",
    }
    r = await admin.post("/vendor/settings", values)
    assert r.status_code == 303
    page = await admin.get("/vendor/settings")
    assert (
        "--accent: #aa3300" in page.text
        and "Settings saved." in page.text
        and 'src="https://acme.test/logo.svg"' in page.text
    )
    assert "<span>Acme Software</span>" in (await admin.get("/vendor/")).text  # the top bar carries the new name
    entry = await last_audit(wharf, "settings.updated")
    assert "#aa3300" in entry.after and entry.client_ip == admin.ip
    await admin.post("/vendor/settings", {"name": "acme", "logo_url": "", "accent_color": "", "welcome_text": ""})


async def test_settings_refuse_logos_that_are_not_https(admin):
    await admin.get("/vendor/settings")
    for logo in ("http://acme.test/logo.png", "//acme.test/logo.png", "/\\acme.test/logo.png", 'https://a.test/"x'):
        r = await admin.post("/vendor/settings", {"name": "acme", "logo_url": logo})
        assert r.status_code == 400 and 'id="logo_url-error"' in r.text, logo


async def test_an_uploaded_logo_is_stored_served_and_shown(wharf, admin):
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    await admin.get("/vendor/settings")
    r = await admin.post("/vendor/settings/logo", files={"logo": ("logo.png", png, "image/png")})
    assert r.status_code == 303, r.text
    page = await admin.get("/vendor/settings")
    src = re.search(r'<img src="(/branding/logo/\d+\?v=[0-9a-f]{12})"', page.text)
    assert src and "Logo uploaded." in page.text
    served = await wharf.client.get(src.group(1))
    assert served.status_code == 200 and served.content == png
    assert served.headers["content-type"] == "image/png" and served.headers["x-content-type-options"] == "nosniff"
    for name, content, message in (
        ("logo.svg", b"<svg onload=alert(1)>", "PNG, JPEG or WebP"),
        ("big.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200 * 1024, "under 192 KiB"),
    ):
        r = await admin.post("/vendor/settings/logo", files={"logo": (name, content, "image/png")})
        assert r.status_code == 400 and message in r.text, name
    entry = await last_audit(wharf, "settings.updated")
    assert "image/png" in entry.after and "logo_url" in entry.before
    await admin.post("/vendor/settings", {"name": "acme", "logo_url": "", "accent_color": "", "welcome_text": ""})


async def test_the_default_immutability_rule_is_a_setting(wharf, admin):
    await admin.get("/vendor/settings")
    r = await admin.post("/vendor/settings", {"name": "acme", "immutable_tags": "semver"})
    assert r.status_code == 303
    assert '<option value="semver" selected>' in (await admin.get("/vendor/settings")).text
    r = await admin.post("/vendor/settings", {"name": "acme", "immutable_tags": "forever"})
    assert r.status_code == 400 and 'id="immutable_tags-error"' in r.text
    await admin.post("/vendor/settings", {"name": "acme", "immutable_tags": "off"})


async def test_downloads_filters_pages_and_exports(wharf, admin):
    repo = await pushed_repository(wharf)
    customer_id = await create_customer(admin, f"Puller {uuid.uuid4().hex[:4]}")
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    await admin.post(f"/vendor/customers/{customer_id}/licenses", grant_form(repo, "^1.0"))
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "ci", "expires": ""})
    secret = re.search(r"wharf_pull_[\w-]+", r.text).group(0)
    for tag in ("1.0.0", "1.4.2", "2.0.0"):
        await wharf.client.get(f"/v2/{repo}/manifests/{tag}", auth=("x", secret))
    await wharf.app.state.audit_writer.drain()
    # the page opens on the usage report: the same figures as the API, for a stated period
    page = await admin.get("/vendor/downloads", params={"customer_id": str(customer_id)})
    assert page.status_code == 200 and "Usage by customer" in page.text and 'id="period"' in page.text
    api = await wharf.client.get(
        "/api/v1/usage", params={"customer_id": customer_id}, headers={"Authorization": f"Bearer {wharf.token}"}
    )
    (row,) = api.json()["items"]
    assert row["pulls"] == 2 and row["denials"] == 1
    cells = re.search(
        rf'href="/vendor/customers/{customer_id}">[^<]+</a></td>\s*<td data-label="Pulls">(\d+)</td>', page.text
    )
    assert cells and int(cells.group(1)) == row["pulls"]
    assert "manifest.get" not in page.text  # protocol detail is one click away
    assert 'href="/vendor/downloads/events?customer_id=' in page.text
    by_month = await admin.get("/vendor/downloads", params={"group_by": "customer,month"})
    assert "Usage by customer and month" in by_month.text and "<th>Month</th>" in by_month.text
    r = await admin.get("/vendor/downloads/usage/export", params={"customer_id": str(customer_id), "group_by": "tag"})
    usage_rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["content-disposition"].startswith("attachment") and "usage-" in r.headers["content-disposition"]
    assert {row["tag"]: int(row["pulls"]) for row in usage_rows} == {"1.0.0": 1, "1.4.2": 1, "2.0.0": 0}

    # the registry events, with actions in words
    events = "/vendor/downloads/events"
    page = await admin.get(events, params={"customer_id": str(customer_id)})
    assert page.status_code == 200 and page.text.count('title="manifest.get">Pull<') == 2 and ">Denied<" in page.text
    assert "not covered by license" in page.text and "badge ok" not in page.text
    page = await admin.get(events, params={"customer_id": str(customer_id), "decision": "denied"})
    assert ">Pull<" not in page.text and "2.0.0" in page.text
    page = await admin.get(events, params={"customer_id": str(customer_id), "kind": "pulls"})
    assert page.text.count(">Pull<") == 2 and 'title="denied"' not in page.text
    page = await admin.get(events, params={"kind": "pushes", "repository": repo})
    assert ">Push<" in page.text and ">Pull<" not in page.text
    page = await admin.get("/vendor/customers/" + str(customer_id))
    assert f"{repo}:1.4.2" in page.text
    today = datetime.now(UTC).date().isoformat()
    for chart_page in (page, await admin.get(f"/vendor/repositories/{repo}")):  # usage over time, as the report
        assert f"<title>{today}: 2 pulls</title>" in chart_page.text and "<desc id=" in chart_page.text
    bad_values = ({"since": "soon"}, {"customer_id": "x"}, {"cursor": "garbage"}, {"group_by": "planet"})
    for bad in (*bad_values, {"since": "0001-01-01"}, {"until": "9999-12-31"}):
        assert (await admin.get("/vendor/downloads", params=bad)).status_code == 200, bad
        assert (await admin.get(events, params=bad)).status_code == 200, bad
        assert (await admin.get("/vendor/downloads/usage/export", params=bad)).status_code == 200, bad
    r = await admin.get("/vendor/downloads/export", params={"customer_id": str(customer_id), "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert r.headers["content-disposition"].startswith("attachment") and len(rows) == 3
    assert {row["reference"] for row in rows} == {"1.0.0", "1.4.2", "2.0.0"}
    r = await admin.get("/vendor/downloads/export", params={"customer_id": str(customer_id), "format": "json"})
    assert len(json.loads(r.text)) == 3
    assert r.headers["content-disposition"].startswith('attachment; filename="pulls-')
    api = {"Authorization": f"Bearer {wharf.token}"}
    record = (await wharf.client.get(f"/api/v1/exports/{r.headers['wharf-export-id']}", headers=api)).json()
    assert (record["kind"], record["channel"], record["rows"]) == ("pulls", "portal", 3)
    r = await admin.get("/vendor/downloads/export", params={"kind": "pushes", "repository": repo})
    assert r.headers["content-disposition"].startswith('attachment; filename="activity-')
    actions = {row["action"] for row in csv.DictReader(io.StringIO(r.text))}
    assert "manifest.put" in actions and not actions & {"manifest.get", "blob.get"}
    page = await admin.get("/vendor/downloads", params={"customer_id": str(customer_id), "group_by": "tag"})
    assert "Usage by tag" in page.text


async def test_audit_log_lists_filters_pages_and_exports(wharf, admin):
    for i in range(26):
        await create_customer(admin, f"Audited {i}")
    page = await admin.get("/vendor/audit-log")
    assert page.status_code == 200 and page.text.count('class="badge">') == 25 and "before_id=" in page.text
    older = re.search(r'href="(/vendor/audit-log\?before_id=\d+)"', page.text).group(1)
    assert (await admin.get(older)).status_code == 200
    page = await admin.get("/vendor/audit-log", params={"action": "customer.created"}, headers={"HX-Request": "true"})
    assert "<html" not in page.text and "customer.created" in page.text and "settings.update</span>" not in page.text
    r = await admin.get("/vendor/audit-log/export", params={"format": "json", "action": "customer.created"})
    entries = json.loads(r.text)
    assert entries and all(e["action"] == "customer.created" and e["client_ip"] for e in entries)
    assert (await admin.get("/vendor/audit-log", params={"before_id": "abc"})).status_code == 200
