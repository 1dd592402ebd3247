"""Repositories on the vendor portal: kinds, versions with size, platforms, who is entitled and who pulled,
how customers get the newest version, settings, one version's page with release notes, paging."""

from __future__ import annotations

import html
import json
import re
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from app.catalog import kind_noun
from app.models import AdminAuditEntry
from tests.conftest import basic
from tests.portal_customer.conftest import license_for
from tests.registry.helpers import push_blob, push_image, push_manifest
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, descriptor, helm_chart, image, index, sha256
from tests.support.web import customer_user

SIGNATURE = "application/vnd.dev.sigstore.bundle.v0.3+json"


async def test_repository_page_shows_versions_kinds_referrers_and_pull_commands(wharf, admin):
    repo = wharf.repo("shown")
    amd, arm = image("multi", "amd64"), image("multi", "arm64")
    for img in (amd, arm):
        await push_image(wharf, repo, img)
    multi = index([(amd, "amd64"), (arm, "arm64")])
    await push_manifest(wharf, repo, "2.0.0", multi, OCI_INDEX)
    single = image("single")
    await push_image(wharf, repo, single, "1.0.0")
    empty = b"{}"
    await push_blob(wharf, repo, empty)
    payload = b"signature bytes"
    await push_blob(wharf, repo, payload)
    signature = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": SIGNATURE,
        "config": descriptor("application/vnd.oci.empty.v1+json", empty),
        "layers": [descriptor(SIGNATURE, payload)],
        "subject": descriptor(OCI_MANIFEST, single.manifest),
    }).encode()  # fmt: skip
    await push_manifest(wharf, repo, sha256(signature), signature)

    listing = await admin.get("/vendor/repositories")
    row = re.search(rf"{re.escape(repo)}</a></td>\s*<td[^>]*>(.*?)</td>\s*<td[^>]*>(.*?)</td>", listing.text, re.S)
    assert row and row.group(2) == "2 images" and "image" in row.group(1) and "multi-platform" in row.group(1)
    page = await admin.get(f"/vendor/repositories/{repo}")
    assert page.status_code == 200 and "2 images" in page.text and "<h2>Images</h2>" in page.text
    assert "linux/amd64, linux/arm64" in page.text
    assert "signature" in page.text and SIGNATURE in page.text
    text = html.unescape(page.text)
    assert "How customers get 2.0.0" in text  # the newest release, by semver
    assert f"docker pull testserver.local/{repo}:2.0.0" in text and "helm " not in text


async def test_a_chart_repository_offers_helm(wharf, admin):
    repo = wharf.repo("chart")
    await push_image(wharf, repo, helm_chart("web", "1.4.0", appVersion="2.0"), "1.4.0")
    text = html.unescape((await admin.get(f"/vendor/repositories/{repo}")).text)
    assert "Helm chart" in text and "chart 1.4.0 · app 2.0" in text
    assert f"helm install web oci://testserver.local/{repo} --version 1.4.0 --plain-http" in text
    assert "docker pull" not in text
    assert "1 chart</p>" in text and "<h2>Charts</h2>" in text and "image" not in text.lower().replace("image/", "")
    listing = await admin.get("/vendor/repositories")
    assert re.search(rf"{re.escape(repo)}</a></td>\s*<td[^>]*>.*?</td>\s*<td[^>]*>1 chart</td>", listing.text, re.S)


def test_a_repository_is_named_by_the_kinds_it_holds():
    assert kind_noun(["helm-chart"]) == "charts" and kind_noun(["helm-chart"], 1) == "chart"
    assert kind_noun(["image", "index", "signature", "sbom"]) == "images"  # attachments do not count
    assert kind_noun(["artifact"], 3) == "artifacts" and kind_noun(["signature"]) == "artifacts"
    assert kind_noun(["image", "helm-chart"]) == "versions" and kind_noun([]) == "versions"


async def test_tags_are_paged(wharf, admin):
    repo = wharf.repo("paged")
    for i in range(27):
        await push_image(wharf, repo, image(f"{repo}-{i}"), f"1.0.{i:02d}")
    tag_cell = r'<td class="mono"><a href="[^"]+">(1\.0\.\d\d)</a>'
    first = await admin.get(f"/vendor/repositories/{repo}")
    assert len(re.findall(tag_cell, first.text)) == 25 and "page=2" in first.text
    second = await admin.get(f"/vendor/repositories/{repo}", params={"page": "2"})
    assert re.findall(tag_cell, second.text) == ["1.0.25", "1.0.26"]


async def test_another_vendors_repository_answers_404(admin):
    assert (await admin.get("/vendor/repositories/globex/app")).status_code == 404
    assert (await admin.get("/vendor/repositories/globex/app/tags/1.0.0")).status_code == 404


async def test_settings_are_saved_validated_and_recorded(wharf, admin, as_role):
    repo = wharf.repo("set")
    await push_image(wharf, repo, image("set"), "1.0.0")
    await admin.get(f"/vendor/repositories/{repo}")
    form = {"repository": repo, "display_name": "Set", "description": "", "icon_url": "", "immutable_tags": "semver"}
    r = await admin.post("/vendor/repositories/settings", form)
    assert r.status_code == 303
    page = await admin.get(f"/vendor/repositories/{repo}")
    assert "Shown to customers as <strong>Set</strong>" in page.text
    assert '<option value="semver" selected>' in page.text
    r = await admin.post("/vendor/repositories/settings", {**form, "icon_url": "http://x.test/i.png"})
    assert r.status_code == 400 and "https://" in r.text
    support = await as_role("support")
    page = await support.get(f"/vendor/repositories/{repo}")
    assert page.status_code == 200 and 'action="/vendor/repositories/settings"' not in page.text
    assert (await support.post("/vendor/repositories/settings", form)).status_code == 403
    engine = wharf.app.state.registry.metadata.engine
    async with engine.connect() as conn:
        actions = (
            await conn.execute(select(AdminAuditEntry.action).where(AdminAuditEntry.object_id == repo[:64]))
        ).scalars()
        assert list(actions) == ["repository.updated"]


async def test_the_description_is_shown_as_markdown(wharf, admin, as_role):
    repo = wharf.repo("described")
    await push_image(wharf, repo, image("described"), "1.0.0")
    await admin.get(f"/vendor/repositories/{repo}")
    text = "Runs **the web tier**.\n<script>alert(1)</script>"
    form = {"repository": repo, "display_name": "", "description": text, "icon_url": "", "immutable_tags": "default"}
    assert (await admin.post("/vendor/repositories/settings", form)).status_code == 303
    page = await admin.get(f"/vendor/repositories/{repo}")
    head = page.text.split('<section class="card', 1)[0]
    assert "Runs <strong>the web tier</strong>." in head and "<script>" not in page.text
    facts = (await (await as_role("support")).get(f"/vendor/repositories/{repo}")).text.split("<dt>Description</dt>")[1]
    assert facts.startswith('<dd><div class="description"><p>Runs <strong>the web tier</strong>.')


async def test_a_version_page_names_entitled_customers_and_who_pulled(wharf, admin):
    repo = wharf.repo("version")
    for tag in ("1.0.0", "2.0.0"):
        await push_image(wharf, repo, image(f"{repo}-{tag}"), tag)
    api = {"Authorization": f"Bearer {wharf.token}"}
    entitled, other = await customer_user(wharf, "admin"), await customer_user(wharf, "admin")
    await license_for(wharf, entitled.customer_id, repo, ["1.*"], datetime.now(UTC) + timedelta(days=30))
    await license_for(wharf, other.customer_id, repo, ["2.*"], datetime.now(UTC) + timedelta(days=30))
    token = (
        await wharf.client.post(
            f"/api/v1/customers/{entitled.customer_id}/pull-tokens", json={"name": "ci"}, headers=api
        )
    ).json()["token"]
    assert (
        await wharf.client.get(f"/v2/{repo}/manifests/1.0.0", headers={"Authorization": basic("t", token)})
    ).status_code == 200
    await wharf.app.state.audit_writer.drain()

    listing = await admin.get(f"/vendor/repositories/{repo}")
    row = re.search(r">1\.0\.0</a>.*?</tr>", listing.text, re.S).group(0)
    assert re.findall(r'<td data-label="(?:Entitled|Pulled by)">(\d+)</td>', row) == [
        "1",
        "1",
    ]  # one entitled, one pulled
    page = await admin.get(f"/vendor/repositories/{repo}/tags/1.0.0")
    assert page.status_code == 200
    rows = re.findall(r'<a href="/vendor/customers/(\d+)">.*?</tr>', page.text, re.S)
    assert rows == [str(entitled.customer_id)]
    assert "1 time, last" in page.text and '<span class="badge ok">yes</span>' in page.text
    assert (await admin.get(f"/vendor/repositories/{repo}/tags/9.9.9")).status_code == 404

    r = await admin.post("/vendor/repositories/notes", {"repository": repo, "tag": "1.0.0", "notes": "*First* release"})
    assert r.status_code == 303
    page = await admin.get(f"/vendor/repositories/{repo}/tags/1.0.0")
    assert "<em>First</em> release" in page.text
