"""Repositories on the vendor portal: counts, tags with digest, size, platforms and pulls, referrers, paging."""

from __future__ import annotations

import json
import re

from tests.registry.helpers import push_blob, push_image, push_manifest
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, descriptor, image, index, sha256

SIGNATURE = "application/vnd.dev.sigstore.bundle.v0.3+json"


async def test_repository_page_shows_tags_platforms_referrers_and_pull_commands(wharf, admin):
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
    row = re.search(rf"{re.escape(repo)}</a></td><td>(\d+)</td>", listing.text)
    assert row and row.group(1) == "2"
    page = await admin.get(f"/vendor/repositories/{repo}")
    assert page.status_code == 200 and "2 tags" in page.text
    assert "linux/amd64, linux/arm64" in page.text and single.digest[:19] in page.text
    assert "signature" in page.text and SIGNATURE in page.text
    assert re.search(rf"docker pull testserver.local/{re.escape(repo)}:1\.0\.0", page.text)  # the newest tag


async def test_tags_are_paged(wharf, admin):
    repo = wharf.repo("paged")
    for i in range(27):
        await push_image(wharf, repo, image(f"{repo}-{i}"), f"1.0.{i:02d}")
    first = await admin.get(f"/vendor/repositories/{repo}")
    assert len(re.findall(r'<td class="mono">1\.0\.\d\d</td>', first.text)) == 25 and "page=2" in first.text
    second = await admin.get(f"/vendor/repositories/{repo}", params={"page": "2"})
    assert re.findall(r'<td class="mono">(1\.0\.\d\d)</td>', second.text) == ["1.0.25", "1.0.26"]


async def test_another_vendors_repository_answers_404(admin):
    assert (await admin.get("/vendor/repositories/globex/app")).status_code == 404
