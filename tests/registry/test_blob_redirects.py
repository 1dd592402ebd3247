"""Blob GETs on S3 with `WHARF_S3_BLOB_DELIVERY=redirect`: a 307 to a presigned URL, recorded as handed off."""

from __future__ import annotations

import httpx
from sqlalchemy import select

from app.models import DownloadEvent
from tests.conftest import basic
from tests.registry.helpers import error_code, push_blob, push_image
from tests.support.oci import image, sha256

BLOB_STORAGES = ["s3-redirect"]


async def blob_events(wharf, digest: str) -> list:
    await wharf.app.state.audit_writer.drain()
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        stmt = select(DownloadEvent).filter_by(action="blob.get", digest=digest).order_by(DownloadEvent.at)
        return list((await conn.execute(stmt)).all())


async def test_get_redirects_to_a_presigned_url_and_head_answers_from_metadata(wharf):
    repo, data = wharf.repo(), b"redirected layer " * 4096
    digest = await push_blob(wharf, repo, data)
    r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    assert r.status_code == 307 and r.content == b""
    assert r.headers["docker-content-digest"] == digest
    location = r.headers["location"]
    assert location.startswith(wharf.app.state.settings.storage.s3_endpoint_url) and "X-Amz-Signature=" in location
    async with httpx.AsyncClient() as storage:  # no credentials: the URL itself grants the read
        assert (await storage.get(location)).content == data
    r = await wharf.client.head(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    assert r.status_code == 200 and "location" not in r.headers
    assert r.headers["content-length"] == str(len(data)) and r.headers["docker-content-digest"] == digest
    [event] = await blob_events(wharf, digest)
    assert (event.status, event.bytes, event.repository) == (307, len(data), repo)


async def test_a_range_is_handed_off_and_recorded_with_its_length(wharf):
    repo, data = wharf.repo(), bytes(range(256)) * 400
    digest = await push_blob(wharf, repo, data)
    r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers={**wharf.auth, "Range": "bytes=100-1099"})
    assert r.status_code == 307
    async with httpx.AsyncClient() as storage:
        part = await storage.get(r.headers["location"], headers={"Range": "bytes=100-1099"})
        assert part.content == data[100:1100]
        # the URL grants the range that was admitted and counted, not the whole blob nor another range
        assert (await storage.get(r.headers["location"])).status_code == 403
        assert (await storage.get(r.headers["location"], headers={"Range": "bytes=0-"})).status_code == 403
    r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers={**wharf.auth, "Range": "bytes=999999-"})
    assert r.status_code == 416 and error_code(r) == "RANGE_INVALID"
    assert r.headers["content-range"] == f"bytes */{len(data)}"
    [event] = await blob_events(wharf, digest)  # the refused range sent nothing and handed nothing off
    assert (event.status, event.bytes) == (307, 1000)


async def test_a_redirect_carries_the_quota_headers(wharf):
    repo, img = wharf.repo(), image("redirect-quota")
    await push_image(wharf, repo, img, "1.0.0")
    api = {"Authorization": f"Bearer {wharf.token}"}
    customer = (await wharf.client.post("/api/v1/customers", json={"name": "Redirected"}, headers=api)).json()
    body = {"customer_id": customer["id"], "name": "Redirected", "grants": [{"repository": repo, "tags": ["*"]}]}
    assert (await wharf.client.post("/api/v1/licenses", json=body, headers=api)).is_success
    wanted = {"name": "ci", "limits": {"bytes_per_month": 100_000}}
    token = (
        await wharf.client.post(f"/api/v1/customers/{customer['id']}/pull-tokens", json=wanted, headers=api)
    ).json()
    layer = img.layers[0]
    r = await wharf.client.get(
        f"/v2/{repo}/blobs/{sha256(layer)}", headers={"Authorization": basic("x", token["token"])}
    )
    assert r.status_code == 307
    assert r.headers["RateLimit-Policy"].startswith('"token-bytes-month";q=100000;qu="content-bytes"')
    assert r.headers["RateLimit"].startswith(f'"token-bytes-month";r={100_000 - len(layer)};t=')


async def test_unknown_blob_is_not_redirected(wharf):
    repo = wharf.repo()
    await push_blob(wharf, repo, b"present")
    missing = "sha256:" + "0" * 64
    r = await wharf.client.get(f"/v2/{repo}/blobs/{missing}", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"


async def test_head_and_redirected_get_make_no_s3_request(wharf):
    repo, data = wharf.repo(), b"counted"
    digest = await push_blob(wharf, repo, data)
    client = await wharf.app.state.registry.store.client()
    calls: list[str] = []

    def count(event_name: str, **kwargs) -> None:
        calls.append(event_name)

    client.meta.events.register("before-call.s3", count)
    try:
        assert (await wharf.client.head(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)).status_code == 200
        assert (await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)).status_code == 307
    finally:
        client.meta.events.unregister("before-call.s3", count)
    assert calls == []  # HEAD answers from the database; presigning is local computation
