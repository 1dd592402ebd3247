"""Pinned query counts of the hot requests: the pull path reads at most once per cache miss, never writes."""

from __future__ import annotations

import pytest

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
