"""Pinned query counts of a customer's pulls: decisions come from memory once warm, and nothing is written."""

from __future__ import annotations

from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image


async def test_customer_manifest_and_blob_get_queries(wharf, count_queries):
    repo, img = wharf.repo("counted"), image("customer-counted")
    await push_image(wharf, repo, img, "1.2.0")
    api = {"Authorization": f"Bearer {wharf.token}"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Counted"}, headers=api)).json()
    await wharf.client.post(
        "/api/v1/licenses",
        headers=api,
        json={"customer_id": customer["id"], "name": "Counted", "grants": [{"repository": repo, "tags": ["^1"]}]},
    )
    token = (
        await wharf.client.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json={"name": "c"}, headers=api)
    ).json()["token"]
    auth = {"Authorization": basic("x", token)}
    policy = wharf.app.state.registry.auth.policy
    saved, policy.cache_seconds = policy.cache_seconds, 60.0
    try:
        layer = next(iter(img.blobs))
        metadata = wharf.app.state.registry.metadata
        for cache in (metadata._by_tag, metadata._blob_sizes, metadata._reach):
            cache.clear()  # as on a node that did not see the push
        cold = []
        for path in (f"/v2/{repo}/manifests/1.2.0", f"/v2/{repo}/blobs/{layer}"):
            count_queries.statements.clear()
            assert (await wharf.client.get(path, headers=auth)).status_code == 200
            cold.append(len(count_queries.statements))
        # manifest: token, licenses, manifest by tag; blob: its size, then the tags that reach it
        assert cold == [3, 2], cold
        count_queries.statements.clear()
        for _ in range(3):
            assert (await wharf.client.get(f"/v2/{repo}/manifests/1.2.0", headers=auth)).status_code == 200
            assert (await wharf.client.get(f"/v2/{repo}/blobs/{layer}", headers=auth)).status_code == 200
        assert count_queries.statements == []  # warm: memory only
    finally:
        policy.cache_seconds = saved
