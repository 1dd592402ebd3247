"""Pushing content through the HTTP API in protocol tests."""

from __future__ import annotations

from typing import Any

from tests.support.oci import OCI_MANIFEST, Image, sha256


async def push_blob(wharf: Any, repo: str, data: bytes) -> str:
    digest = sha256(data)
    r = await wharf.client.post(
        f"/v2/{repo}/blobs/uploads/",
        params={"digest": digest},
        content=data,
        headers={**wharf.auth, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text
    return digest


async def push_manifest(
    wharf: Any, repo: str, ref: str, manifest: bytes, media_type: str = OCI_MANIFEST, **params: Any
) -> Any:
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/{ref}",
        content=manifest,
        params=params,
        headers={**wharf.auth, "Content-Type": media_type},
    )
    assert r.status_code == 201, r.text
    return r


async def push_image(wharf: Any, repo: str, img: Image, tag: str | None = None) -> str:
    for data in img.blobs.values():
        await push_blob(wharf, repo, data)
    await push_manifest(wharf, repo, tag or img.digest, img.manifest)
    return img.digest


def error_code(response: Any) -> str:
    body = response.json()
    return str(body["errors"][0]["code"])
