"""The dashboard: a bar per day of pulls, licenses ending soon, latest pushes and top customers."""

from __future__ import annotations

import dataclasses
import re
import uuid
from datetime import UTC, datetime, timedelta

from tests.portal_vendor.test_customers import create_customer
from tests.portal_vendor.test_licenses import grant_form, pushed_repository


async def test_dashboard_shows_pulls_expiring_licenses_pushes_and_top_customers(wharf, admin):
    repo = await pushed_repository(wharf)
    name = f"Busy {uuid.uuid4().hex[:6]}"
    customer_id = await create_customer(admin, name)
    # ends tomorrow: listed ahead of the licenses other tests leave in the shared database (the list shows 10)
    ends = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    await admin.get(f"/vendor/customers/{customer_id}/licenses/new")
    await admin.post(
        f"/vendor/customers/{customer_id}/licenses", grant_form(repo, "*", name="Ends soon", valid_until=ends)
    )
    r = await admin.post(f"/vendor/customers/{customer_id}/pull-tokens", {"name": "ci", "expires": ""})
    secret = re.search(r"wharf_pull_[\w-]+", r.text).group(0)
    for tag in ("1.0.0", "2.0.0", "latest"):
        assert (await wharf.client.get(f"/v2/{repo}/manifests/{tag}", auth=("x", secret))).status_code == 200
    await wharf.app.state.audit_writer.drain()
    # a cosign signature pushed by tag (`sha256-<hex>.sig`) shows as the signature of the image it describes
    from tests.registry.helpers import push_image
    from tests.support.oci import image

    signed = await push_image(wharf, repo, image(f"{repo}-signed"))
    await push_image(wharf, repo, image(f"{repo}-signature"), signed.replace(":", "-") + ".sig")
    page = await admin.get("/vendor/")
    today = datetime.now(UTC).date().isoformat()
    bar = re.search(rf"<title>{today}: (\d+) pulls?</title>", page.text)
    assert bar and int(bar.group(1)) >= 3
    assert "Ends soon" in page.text and f"ends {ends}" in page.text
    top = re.search(r'<ol class="ranked">(.*?)</ol>', page.text, re.S).group(1)
    assert name in top
    assert f"{repo}:latest" in page.text
    pushes = page.text.split("<h2>Latest pushes</h2>", 1)[1].split("</section>", 1)[0]
    shown = f'<span class="badge">signature</span> of <a href="/vendor/repositories/{repo}"><span class="mono wrap">'
    assert shown + f"{repo}@{signed[:19]}…</span>" in pushes
    assert ".sig" not in pushes


async def test_customers_on_an_outdated_version_per_product(wharf, admin):
    from tests.conftest import basic
    from tests.portal_customer.conftest import license_for
    from tests.registry.helpers import push_image
    from tests.support.oci import image
    from tests.support.web import customer_user

    repo = wharf.repo("adopt")
    for tag in ("1.1.0", "1.5.0", "2.0.0-rc.1", "latest"):
        await push_image(wharf, repo, image(f"{repo}-{tag}"), tag)
    api = {"Authorization": f"Bearer {wharf.token}"}
    behind, current = await customer_user(wharf, "admin"), await customer_user(wharf, "admin")
    for person, pulls in ((behind, ["1.5.0", "1.1.0"]), (current, ["1.1.0", "1.5.0", "latest"])):
        await license_for(wharf, person.customer_id, repo, ["*"], datetime.now(UTC) + timedelta(days=30))
        made = await wharf.client.post(
            f"/api/v1/customers/{person.customer_id}/pull-tokens", json={"name": "ci"}, headers=api
        )
        for tag in pulls:  # the last pull counts: `behind` went back to 1.1.0; `latest` is not a version
            r = await wharf.client.get(
                f"/v2/{repo}/manifests/{tag}", headers={"Authorization": basic("t", made.json()["token"])}
            )
            assert r.status_code == 200
            await wharf.app.state.audit_writer.drain()
    # the page opens with a placeholder that loads the card (it reads a year of events)
    assert 'hx-get="/vendor/dashboard/outdated" hx-trigger="load"' in (await admin.get("/vendor/")).text
    page = await admin.get("/vendor/dashboard/outdated")
    card = page.text.split('class="card outdated"', 1)[1].split("</section>", 1)[0]
    entry = re.search(rf"{re.escape(repo)}</a>.*?</ul>", card, re.S)
    assert entry and "1 customer<" in entry.group(0)
    assert re.search(
        r'on <span class="mono">1\.1\.0</span>, may pull <span class="mono">1\.5\.0</span>', entry.group(0)
    )
    assert f"/vendor/customers/{behind.customer_id}" in entry.group(0)
    assert f"/vendor/customers/{current.customer_id}" not in entry.group(0)  # `latest` says nothing, 1.5.0 is newest


async def test_outdated_card_says_when_nobody_pulled_and_when_nobody_is_behind(wharf):
    from app.services.accounts import bootstrap_vendor
    from tests.conftest import basic
    from tests.portal_customer.conftest import license_for
    from tests.registry.helpers import push_image
    from tests.support.oci import image
    from tests.support.vendor import signed_in
    from tests.support.web import customer_user

    slug = f"fresh{uuid.uuid4().hex[:6]}"
    booted = await bootstrap_vendor(wharf.app.state.registry.metadata.engine, slug, f"a@{slug}.test", "correct-horse")
    fresh = dataclasses.replace(wharf, token=booted.token, vendor=slug)

    def card(text: str) -> str:
        return text.split('class="card outdated"', 1)[1].split("</section>", 1)[0]

    async with await signed_in(wharf, f"a@{slug}.test") as admin:
        assert "No customer has pulled yet" in card((await admin.get("/vendor/dashboard/outdated")).text)
        repo = fresh.repo("app")
        for tag in ("1.0.0", "1.1.0"):
            await push_image(fresh, repo, image(f"{repo}-{tag}"), tag)
        person = await customer_user(fresh, "admin")
        await license_for(fresh, person.customer_id, repo, ["*"], datetime.now(UTC) + timedelta(days=30))
        made = await wharf.client.post(
            f"/api/v1/customers/{person.customer_id}/pull-tokens",
            json={"name": "ci"},
            headers={"Authorization": f"Bearer {fresh.token}"},
        )
        auth = {"Authorization": basic("t", made.json()["token"])}
        assert (await wharf.client.get(f"/v2/{repo}/manifests/1.1.0", headers=auth)).status_code == 200
        await wharf.app.state.audit_writer.drain()
        shown = card((await admin.get("/vendor/dashboard/outdated")).text)
        assert "Every customer who pulled is on the newest version they may pull." in shown
        assert "No customer has pulled" not in shown
