"""Pinned query counts of the hot requests: the pull path reads at most once per cache miss, never writes."""

from __future__ import annotations

import pytest

from tests.conftest import basic
from tests.registry.helpers import push_image
from tests.support.oci import image


@pytest.fixture
def cached_credentials(wharf):
    policy = wharf.app.state.registry.auth.policy
    saved = policy.cache_seconds
    policy.cache_seconds = 60.0
    yield
    policy.cache_seconds = saved


async def test_manifest_get_queries(wharf, count_queries, cached_credentials):
    repo, img = wharf.repo(), image("counted")
    await push_image(wharf, repo, img, "v1")
    wharf.app.state.registry.metadata._by_tag.clear()
    count_queries.statements.clear()
    await wharf.client.get("/v2/", headers=wharf.auth)  # warm the credential cache
    count_queries.statements.clear()

    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)
    assert r.status_code == 200
    assert len(count_queries.statements) == 1, count_queries.statements  # cache miss: one joined query
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)
    r = await wharf.client.head(f"/v2/{repo}/manifests/{img.digest}", headers=wharf.auth)
    assert r.status_code == 200
    assert len(count_queries.statements) == 1, count_queries.statements  # warm: memory only


async def test_blob_get_queries(wharf, count_queries, cached_credentials):
    repo, img = wharf.repo(), image("counted-blob")
    await push_image(wharf, repo, img, "v1")
    layer = next(iter(img.blobs))
    wharf.app.state.registry.metadata._blob_sizes.clear()
    await wharf.client.get("/v2/", headers=wharf.auth)
    count_queries.statements.clear()

    r = await wharf.client.get(f"/v2/{repo}/blobs/{layer}", headers=wharf.auth)
    assert r.status_code == 200
    assert len(count_queries.statements) == 1, count_queries.statements
    await wharf.client.get(f"/v2/{repo}/blobs/{layer}", headers=wharf.auth)
    await wharf.client.head(f"/v2/{repo}/blobs/{layer}", headers=wharf.auth)
    assert len(count_queries.statements) == 1, count_queries.statements


async def test_pull_path_never_writes(wharf, count_queries):
    repo, img = wharf.repo(), image("no-writes")
    await push_image(wharf, repo, img, "v1")
    count_queries.statements.clear()
    await wharf.client.get("/token", params={"scope": f"repository:{repo}:pull"}, headers=wharf.auth)
    await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)
    for digest in img.blobs:
        await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    await wharf.client.get(f"/v2/{repo}/tags/list", headers=wharf.auth)
    writes = [s for s in count_queries.statements if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    assert count_queries.statements and writes == []


async def test_quotas_count_in_memory_and_merge_in_the_background(wharf, count_queries, cached_credentials):
    repo, img = wharf.repo(), image("quota-counted")
    await push_image(wharf, repo, img, "v1")
    api = {"Authorization": f"Bearer {wharf.token}"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Counted"}, headers=api)).json()
    limits = {"pulls_per_day": 100, "pulls_per_month": 1000, "bytes_per_month": 10**9}
    grants = [{"repository": repo, "tags": ["*"]}]
    lic = {"customer_id": customer["id"], "name": "Counted", "grants": grants, "limits": limits}
    assert (await wharf.client.post("/api/v1/licenses", json=lic, headers=api)).status_code == 201
    path = f"/api/v1/customers/{customer['id']}/pull-tokens"
    token = (await wharf.client.post(path, json={"name": "ci", "limits": limits}, headers=api)).json()
    auth = {"Authorization": basic("x", token["token"])}

    async def pull() -> None:
        r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=auth)
        assert r.status_code == 200 and "RateLimit" in r.headers
        for digest in img.blobs:
            assert (await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=auth)).status_code == 200

    await pull()  # caches warm
    count_queries.statements.clear()
    await pull()
    assert count_queries.statements == []  # a warm pull under quotas: memory only
    await wharf.app.state.quotas.merge()
    writes = [s for s in count_queries.statements if s.lstrip().upper().startswith("INSERT")]
    assert len(writes) == 1 and "quota_usage" in writes[0]  # one batch, off the request path
