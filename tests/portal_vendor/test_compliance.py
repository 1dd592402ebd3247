"""Compliance on the vendor's pages: a license's compliance section, tokens flagged as shared (license, customer,
dashboard; the threshold a setting), version adoption (a pull by digest reads as its tag), monthly statements."""

from __future__ import annotations

import html
import re
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from app.models import DownloadEvent, Organization
from tests.conftest import basic
from tests.portal_customer.conftest import license_for
from tests.portal_customer.test_software import product_card
from tests.registry.helpers import push_image
from tests.support.oci import image
from tests.support.web import Browser, customer_user


async def _customer_with_license(wharf, repo: str, rules: list[str], **terms) -> tuple[int, int, int, str]:
    api = {"Authorization": f"Bearer {wharf.token}"}
    name = f"Shared {uuid.uuid4().hex[:6]}"
    customer = (await wharf.client.post("/api/v1/customers", json={"name": name}, headers=api)).json()
    body = {"customer_id": customer["id"], "name": f"{name} prod", "grants": [{"repository": repo, "tags": rules}]}
    lic = (await wharf.client.post("/api/v1/licenses", json={**body, **terms}, headers=api)).json()
    token = (
        await wharf.client.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json={"name": "ci"}, headers=api)
    ).json()
    return customer["id"], lic["id"], token["id"], token["token"]


def _settings_form(page: str, **changes: str) -> dict[str, str]:
    values = dict(
        re.findall(r'<input[^>]*name="(name|logo_url|accent_color|sharing_networks)"[^>]*value="([^"]*)"', page)
    )
    values["immutable_tags"] = "off"
    values["welcome_text"] = html.unescape(re.search(r'name="welcome_text"[^>]*>([^<]*)<', page).group(1))
    return {k: html.unescape(v) for k, v in {**values, **changes}.items()}


async def _record_reads(wharf, customer_id: int, license_id: int, token_id: int, repo: str, on: date, ips) -> None:
    engine = wharf.app.state.registry.metadata.engine
    async with engine.begin() as conn:
        vendor_id = await conn.scalar(select(Organization.vendor_id).where(Organization.id == customer_id))
        for n, ip in enumerate(ips):
            at = datetime(on.year, on.month, on.day, 23, 0, tzinfo=UTC) + timedelta(minutes=n)
            await conn.execute(
                DownloadEvent.__table__.insert().values(
                    id=uuid.uuid4().hex,
                    at=at,
                    action="manifest.get",
                    vendor_id=vendor_id,
                    customer_id=customer_id,
                    license_id=license_id,
                    token_id=token_id,
                    token_name="ci",
                    repository=repo,
                    reference="1.0.0",
                    bytes=10,
                    status=200,
                    client_ip=ip,
                )
            )


async def test_a_token_read_from_too_many_networks_in_a_day_is_flagged(wharf, admin):
    repo = wharf.repo("shared")
    await push_image(wharf, repo, image(f"{repo}-1"), "1.0.0")
    customer_id, license_id, token_id, _ = await _customer_with_license(wharf, repo, ["*"])
    first = datetime.now(UTC).date() - timedelta(days=2)
    # six networks in one day (two addresses share a /24, two a /64), five the next day, near midnight UTC
    six = [f"198.51.{n}.1" for n in range(5)] + ["198.51.0.99", "2001:db8:0:1::1", "2001:db8:0:1:ffff::2"]
    await _record_reads(wharf, customer_id, license_id, token_id, repo, first, six)
    five = [f"203.0.{n}.1" for n in range(5)]
    await _record_reads(wharf, customer_id, license_id, token_id, repo, first + timedelta(days=1), five)
    api = {"Authorization": f"Bearer {wharf.token}"}
    period = {"since": first.isoformat()}
    url = f"/api/v1/licenses/{license_id}/compliance"
    body = (await wharf.client.get(url, params=period, headers=api)).json()
    assert [(f["token_id"], f["day"], f["networks"]) for f in body["sharing"]] == [(token_id, first.isoformat(), 6)]
    assert body["distinct_tokens"] == 1 and body["distinct_networks"] == 11
    assert body["sharing"][0]["token_name"] == "ci" and body["sharing"][0]["customer_id"] == customer_id
    flag = f"token <strong>ci</strong> used from 6 networks on {first.isoformat()}"
    assert flag in (await admin.get(f"/vendor/licenses/{license_id}", params=period)).text
    assert flag in (await admin.get(f"/vendor/customers/{customer_id}")).text
    assert 'hx-get="/vendor/dashboard/sharing"' in (await admin.get("/vendor/")).text  # loaded after the page
    dashboard = (await admin.get("/vendor/dashboard/sharing")).text
    assert f'of <a href="/vendor/customers/{customer_id}">' in dashboard and "used from 6 networks" in dashboard

    # the vendor lowers the threshold to 4: the five-network day is flagged too
    settings = await admin.get("/vendor/settings")
    assert 'name="sharing_networks"' in settings.text
    r = await admin.post("/vendor/settings", _settings_form(settings.text, sharing_networks="4"))
    assert r.status_code in (200, 303), r.text
    body = (await wharf.client.get(url, params=period, headers=api)).json()
    assert [f["networks"] for f in body["sharing"]] == [5, 6]  # newest day first
    for bad in ("0", "-1", "many", "100000"):
        r = await admin.post("/vendor/settings", _settings_form(settings.text, sharing_networks=bad))
        assert r.status_code == 400 and "networks" in r.text
    r = await admin.post("/vendor/settings", _settings_form(settings.text, sharing_networks=""))  # the default
    assert r.status_code in (200, 303), r.text
    body = (await wharf.client.get(url, params=period, headers=api)).json()
    assert len(body["sharing"]) == 1


async def test_the_license_page_shows_compliance_for_a_period_and_says_why_a_period_is_unreadable(wharf, admin):
    repo = wharf.repo("page")
    await push_image(wharf, repo, image(f"{repo}-1"), "1.0.0")
    await push_image(wharf, repo, image(f"{repo}-2"), "2.0.0")
    _customer, license_id, _token, secret = await _customer_with_license(wharf, repo, ["^1"])
    pull = {"Authorization": basic("x", secret)}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=pull)).status_code == 200
    await wharf.app.state.audit_writer.drain()
    page = (await admin.get(f"/vendor/licenses/{license_id}")).text
    section = page.split('id="compliance"', 1)[1].split("</section>", 1)[0]
    assert f"{repo}:1.0.0" in section and "<dt>Pulls</dt><dd>1</dd>" in section
    assert re.search(rf"{re.escape(repo)}</td><td[^>]*>1\.0\.0</td>", section)  # entitles 1.0.0, not 2.0.0
    old = (
        await admin.get(f"/vendor/licenses/{license_id}", params={"since": "2020-01-01", "until": "2020-01-31"})
    ).text
    assert "Nothing pulled in this period." in old and "From 2020-01-01 to 2020-01-31" in old
    bad = await admin.get(f"/vendor/licenses/{license_id}", params={"since": "2026-02-30"})
    assert bad.status_code == 200 and 'role="alert">&#39;2026-02-30&#39; is not a date' in bad.text


async def test_adoption_counts_a_pull_by_digest_as_its_tag(wharf, admin):
    repo = wharf.repo("ctr")
    digests = {}
    for tag in ("1.0.0", "1.5.0", "2.0.0"):
        digests[tag] = await push_image(wharf, repo, image(f"{repo}-{tag}"), tag)
    person = await customer_user(wharf, "admin")
    await license_for(wharf, person.customer_id, repo, ["*"], datetime.now(UTC) + timedelta(days=30))
    api = {"Authorization": f"Bearer {wharf.token}"}
    made = await wharf.client.post(
        f"/api/v1/customers/{person.customer_id}/pull-tokens", json={"name": "k"}, headers=api
    )
    pull = {"Authorization": basic("t", made.json()["token"])}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=pull)).status_code == 200
    await wharf.app.state.audit_writer.drain()
    # containerd's ctr: HEAD the tag, then GET by digest; the digest pull is the newest
    assert (await wharf.client.head(f"/v2/{repo}/manifests/1.5.0", headers=pull)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/{digests['1.5.0']}", headers=pull)).status_code == 200
    await wharf.app.state.audit_writer.drain()

    page = (await admin.get("/vendor/adoption")).text
    table = page.split(f">{repo}</a></h2>", 1)[1].split("</section>", 1)[0]
    row = re.search(rf'/vendor/customers/{person.customer_id}".*?</tr>', table, re.S).group(0)
    assert '<td data-label="Last pulled" class="mono">1.5.0</td>' in row and "sha256:" not in row
    assert "2.0.0" in row and "1 release<" in row
    dashboard = (await admin.get("/vendor/dashboard/outdated")).text
    assert re.search(
        r'on <span class="mono">1\.5\.0</span>, may pull <span class="mono">2\.0\.0</span> \(1 release', dashboard
    )
    async with Browser(wharf.app) as browser:
        assert (await browser.sign_in(person.email, person.password)).status_code == 303
        card = product_card((await browser.get("/portal/")).text, repo)
        assert "You last pulled <strong>1.5.0</strong>; <strong>2.0.0</strong> is available" in card


async def test_monthly_statements_for_the_vendor_and_the_customer_admin(wharf, admin):
    repo = wharf.repo("stmt")
    await push_image(wharf, repo, image(f"{repo}-1"), "1.0.0")
    await push_image(wharf, repo, image(f"{repo}-2"), "2.0.0")
    person = await customer_user(wharf, "admin")
    member = await customer_user(wharf, "member", person.customer_id)
    other = await customer_user(wharf, "admin")
    await license_for(wharf, person.customer_id, repo, ["^1"], datetime.now(UTC) + timedelta(days=30))
    api = {"Authorization": f"Bearer {wharf.token}"}
    made = await wharf.client.post(
        f"/api/v1/customers/{person.customer_id}/pull-tokens", json={"name": "s"}, headers=api
    )
    pull = {"Authorization": basic("t", made.json()["token"])}
    assert (await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers=pull)).status_code == 200
    assert (await wharf.client.get(f"/v2/{repo}/manifests/2.0.0", headers=pull)).status_code == 403
    await wharf.app.state.audit_writer.drain()
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        name = await conn.scalar(select(Organization.name).where(Organization.id == person.customer_id))
    month = datetime.now(UTC).strftime("%Y-%m")

    r = await admin.get(f"/vendor/customers/{person.customer_id}/statement")
    assert r.status_code == 200 and f"Usage statement: {name}" in r.text
    assert 'href="/static/statement.css"' in r.text and f'value="{month}"' in r.text
    assert f'<td>{repo}</td><td>1.0.0</td><td class="num">1</td>' in r.text
    assert re.search(r"<dt>Pulls</dt><dd>1</dd>.*<dt>Denials</dt><dd>1</dd>", r.text, re.S)
    assert "nav" not in r.text.split("<main", 1)[0].split("<body>", 1)[1]  # no navigation
    old = await admin.get(f"/vendor/customers/{person.customer_id}/statement", params={"month": "2020-01"})
    assert "January 2020" in old.text and "Nothing pulled this month." in old.text
    for bad in ("2026-13", "last month", "9999-12", "0000-01", "\uff12\uff10\uff12\uff16-11"):
        r = await admin.get(f"/vendor/customers/{person.customer_id}/statement", params={"month": bad})
        assert r.status_code == 400 and 'role="alert"' in r.text
        assert "YYYY-MM" in r.text or "between 2000-01 and 9000-12" in r.text
    assert (await admin.get("/vendor/customers/999999/statement")).status_code == 404
    assert (
        f'href="/vendor/customers/{person.customer_id}/statement"'
        in (await admin.get(f"/vendor/customers/{person.customer_id}")).text
    )

    async with Browser(wharf.app) as browser:
        assert (await browser.sign_in(person.email, person.password)).status_code == 303
        own = await browser.get("/portal/statement", params={"customer_id": other.customer_id})
        assert own.status_code == 200 and f"Usage statement: {name}" in own.text and f"{repo}" in own.text
        assert (await browser.get("/portal/statement", params={"month": "2026-00"})).status_code == 400
        assert 'href="/portal/statement"' in (await browser.get("/portal/downloads")).text
    async with Browser(wharf.app) as browser:
        assert (await browser.sign_in(member.email, member.password)).status_code == 303
        assert (await browser.get("/portal/statement")).status_code == 404  # admins only
    async with Browser(wharf.app) as browser:
        assert (await browser.sign_in(other.email, other.password)).status_code == 303
        theirs = await browser.get("/portal/statement")
        assert theirs.status_code == 200 and name not in theirs.text and repo not in theirs.text
