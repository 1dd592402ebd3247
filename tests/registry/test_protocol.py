"""The OCI Distribution API over HTTP, endpoint by endpoint, including every error path.

Runs once per database backend (SQLite and PostgreSQL) and blob store (filesystem, S3 with bytes
streamed through Wharf) through the session `wharf` fixture; S3 redirects have their own tests.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from registry.digests import parse_digest
from tests.registry.helpers import error_code, push_blob, push_image, push_manifest
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, descriptor, image, index, sha256

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
BLOB_STORAGES = ["filesystem", "s3"]


async def test_ping_requires_credentials_and_answers_with_api_version(wharf):
    r = await wharf.client.get("/v2/")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == 'Bearer realm="http://testserver.local/token",service="testserver.local"'
    assert error_code(r) == "UNAUTHORIZED"
    r = await wharf.client.get("/v2/", headers=wharf.auth)
    assert r.status_code == 200
    assert r.headers["docker-distribution-api-version"] == "registry/2.0"


async def test_monolithic_upload_then_get_and_head(wharf):
    repo, data = wharf.repo(), b"some layer bytes" * 1000
    digest = await push_blob(wharf, repo, data)
    r = await wharf.client.head(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    assert r.status_code == 200
    assert r.headers["content-length"] == str(len(data))
    assert r.headers["docker-content-digest"] == digest
    assert r.content == b""
    r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    assert r.status_code == 200 and r.content == data


async def test_post_then_put_upload(wharf):
    repo, data = wharf.repo(), b"post then put"
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    assert r.status_code == 202
    location = r.headers["location"]
    assert location.startswith(f"/v2/{repo}/blobs/uploads/")
    assert r.headers["docker-upload-uuid"] in location
    r = await wharf.client.put(location, params={"digest": sha256(data)}, content=data, headers=wharf.auth)
    assert r.status_code == 201, r.text
    assert r.headers["location"] == f"/v2/{repo}/blobs/{sha256(data)}"


async def test_chunked_upload_with_status_and_out_of_order_chunk(wharf):
    repo = wharf.repo()
    parts = [b"a" * 1000, b"b" * 2000, b"c" * 10]
    whole = b"".join(parts)
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    r = await wharf.client.patch(
        location,
        content=parts[0],
        headers={**wharf.auth, "Content-Range": "0-999", "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 202 and r.headers["range"] == "0-999"
    # a chunk that does not start where the upload ends is refused with 416 and the current range
    r = await wharf.client.patch(location, content=b"zz", headers={**wharf.auth, "Content-Range": "5000-5001"})
    assert r.status_code == 416 and error_code(r) == "RANGE_INVALID"
    assert r.headers["range"] == "0-999"
    r = await wharf.client.patch(location, content=parts[1], headers={**wharf.auth, "Content-Range": "1000-2999"})
    assert r.status_code == 202 and r.headers["range"] == "0-2999"
    r = await wharf.client.get(location, headers=wharf.auth)
    assert r.status_code == 204 and r.headers["range"] == "0-2999"
    r = await wharf.client.put(location, params={"digest": sha256(whole)}, content=parts[2], headers=wharf.auth)
    assert r.status_code == 201, r.text
    r = await wharf.client.get(f"/v2/{repo}/blobs/{sha256(whole)}", headers=wharf.auth)
    assert r.content == whole
    # the session is gone once finished
    r = await wharf.client.get(location, headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"


async def test_chunked_upload_without_content_range_appends(wharf):
    repo = wharf.repo()
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    for part in (b"one-", b"two-"):
        r = await wharf.client.patch(location, content=part, headers=wharf.auth)
        assert r.status_code == 202
    r = await wharf.client.put(location, params={"digest": sha256(b"one-two-")}, headers=wharf.auth)
    assert r.status_code == 201


async def test_sha512_upload(wharf):
    repo, data = wharf.repo(), b"sha512 content"
    digest = "sha512:" + hashlib.sha512(data).hexdigest()
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    r = await wharf.client.put(r.headers["location"], params={"digest": digest}, content=data, headers=wharf.auth)
    assert r.status_code == 201, r.text
    r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    assert r.content == data and r.headers["docker-content-digest"] == digest


async def test_digest_mismatch_stores_nothing(wharf):
    repo, data = wharf.repo(), b"the real bytes"
    wrong = sha256(b"other bytes")
    r = await wharf.client.post(
        f"/v2/{repo}/blobs/uploads/", params={"digest": wrong}, content=data, headers=wharf.auth
    )
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    for digest in (wrong, sha256(data)):
        r = await wharf.client.head(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
        assert r.status_code == 404
    store = wharf.app.state.registry.store
    assert not await store.exists(parse_digest(wrong))
    assert not await store.exists(parse_digest(sha256(data)))


async def test_bad_digest_strings(wharf):
    repo = wharf.repo()
    for bad in ("sha256:xyz", "md5:abcd", "sha256:" + "A" * 64, "nonsense"):
        r = await wharf.client.post(
            f"/v2/{repo}/blobs/uploads/", params={"digest": bad}, content=b"x", headers=wharf.auth
        )
        assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID", bad
    r = await wharf.client.get(f"/v2/{repo}/blobs/sha256:short", headers=wharf.auth)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


async def test_put_without_digest_is_refused(wharf):
    repo = wharf.repo()
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    r = await wharf.client.put(r.headers["location"], content=b"x", headers=wharf.auth)
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"


async def test_cancel_upload(wharf):
    repo = wharf.repo()
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    await wharf.client.patch(location, content=b"partial", headers=wharf.auth)
    r = await wharf.client.delete(location, headers=wharf.auth)
    assert r.status_code == 204
    r = await wharf.client.get(location, headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    r = await wharf.client.delete(location, headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"


async def test_upload_session_belongs_to_its_repository(wharf):
    repo, other = wharf.repo(), wharf.repo()
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    upload_id = r.headers["docker-upload-uuid"]
    r = await wharf.client.get(f"/v2/{other}/blobs/uploads/{upload_id}", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"


async def test_blob_range_requests(wharf):
    repo, data = wharf.repo(), bytes(range(256)) * 4
    digest = await push_blob(wharf, repo, data)
    url = f"/v2/{repo}/blobs/{digest}"
    r = await wharf.client.get(url, headers={**wharf.auth, "Range": "bytes=10-19"})
    assert r.status_code == 206 and r.content == data[10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{len(data)}"
    r = await wharf.client.get(url, headers={**wharf.auth, "Range": "bytes=1000-"})
    assert r.status_code == 206 and r.content == data[1000:]
    r = await wharf.client.get(url, headers={**wharf.auth, "Range": "bytes=-4"})
    assert r.status_code == 206 and r.content == data[-4:]
    r = await wharf.client.get(url, headers={**wharf.auth, "Range": "bytes=5000-6000"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{len(data)}"


async def test_unknown_blob(wharf):
    repo = wharf.repo()
    missing = sha256(b"never pushed")
    r = await wharf.client.get(f"/v2/{repo}/blobs/{missing}", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    r = await wharf.client.head(f"/v2/{repo}/blobs/{missing}", headers=wharf.auth)
    assert r.status_code == 404 and r.content == b""


async def test_blob_is_only_readable_through_repositories_holding_it(wharf):
    repo, other = wharf.repo(), wharf.repo()
    digest = await push_blob(wharf, repo, b"private to repo")
    r = await wharf.client.get(f"/v2/{other}/blobs/{digest}", headers=wharf.auth)
    assert r.status_code == 404


async def test_cross_repository_mount(wharf):
    source, target = wharf.repo(), wharf.repo()
    digest = await push_blob(wharf, source, b"mount me")
    r = await wharf.client.post(
        f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": source}, headers=wharf.auth
    )
    assert r.status_code == 201 and r.headers["location"] == f"/v2/{target}/blobs/{digest}"
    r = await wharf.client.get(f"/v2/{target}/blobs/{digest}", headers=wharf.auth)
    assert r.content == b"mount me"


async def test_mount_falls_back_to_upload_when_source_lacks_blob_or_is_not_readable(wharf):
    target = wharf.repo()
    digest = sha256(b"nowhere")
    for source in (wharf.repo(), "othervendor/secret"):
        r = await wharf.client.post(
            f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": source}, headers=wharf.auth
        )
        assert r.status_code == 202 and "/blobs/uploads/" in r.headers["location"]


async def test_manifest_push_get_head_by_tag_and_digest(wharf):
    repo, img = wharf.repo(), image("one")
    for data in img.blobs.values():
        await push_blob(wharf, repo, data)
    r = await push_manifest(wharf, repo, "v1", img.manifest)
    assert r.headers["docker-content-digest"] == img.digest
    assert r.headers["location"] == f"/v2/{repo}/manifests/{img.digest}"
    for ref in ("v1", img.digest):
        r = await wharf.client.get(f"/v2/{repo}/manifests/{ref}", headers={**wharf.auth, "Accept": OCI_MANIFEST})
        assert r.status_code == 200
        assert r.content == img.manifest  # the exact bytes
        assert r.headers["content-type"] == OCI_MANIFEST
        assert r.headers["docker-content-digest"] == img.digest
        r = await wharf.client.head(f"/v2/{repo}/manifests/{ref}", headers=wharf.auth)
        assert r.status_code == 200 and r.content == b""
        assert r.headers["content-length"] == str(len(img.manifest))


async def test_manifest_exact_bytes_are_kept(wharf):
    repo, img = wharf.repo(), image("spacing")
    for data in img.blobs.values():
        await push_blob(wharf, repo, data)
    odd = json.dumps(json.loads(img.manifest), indent=7).encode() + b"\n\n"
    await push_manifest(wharf, repo, "odd", odd)
    r = await wharf.client.get(f"/v2/{repo}/manifests/odd", headers=wharf.auth)
    assert r.content == odd and r.headers["docker-content-digest"] == sha256(odd)


async def test_accept_header_is_honoured(wharf):
    repo, img = wharf.repo(), image("accept")
    await push_image(wharf, repo, img, "v1")
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers={**wharf.auth, "Accept": DOCKER_MANIFEST})
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    r = await wharf.client.get(
        f"/v2/{repo}/manifests/v1", headers={**wharf.auth, "Accept": f"{DOCKER_MANIFEST}, {OCI_MANIFEST};q=0.5"}
    )
    assert r.status_code == 200
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers={**wharf.auth, "Accept": "*/*"})
    assert r.status_code == 200


async def test_manifest_put_with_several_tags(wharf):
    repo, img = wharf.repo(), image("multi-tag")
    for data in img.blobs.values():
        await push_blob(wharf, repo, data)
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/{img.digest}?tag=a&tag=b&tag=c",
        content=img.manifest,
        headers={**wharf.auth, "Content-Type": OCI_MANIFEST},
    )
    assert r.status_code == 201 and r.headers["oci-tag"] == "a, b, c"
    r = await wharf.client.get(f"/v2/{repo}/tags/list", headers=wharf.auth)
    assert r.json() == {"name": repo, "tags": ["a", "b", "c"]}


async def test_manifest_referencing_unknown_blob(wharf):
    repo, img = wharf.repo(), image("missing")
    await push_blob(wharf, repo, img.config)  # the layer is never pushed
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/v1", content=img.manifest, headers={**wharf.auth, "Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    assert r.json()["errors"][0]["detail"]["missing"] == [sha256(img.layers[0])]


async def test_index_requires_its_children(wharf):
    repo, amd, arm = wharf.repo(), image("idx", "amd64"), image("idx", "arm64")
    await push_image(wharf, repo, amd)
    body = index([(amd, "amd64"), (arm, "arm64")])
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/multi", content=body, headers={**wharf.auth, "Content-Type": OCI_INDEX}
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN"
    await push_image(wharf, repo, arm)
    await push_manifest(wharf, repo, "multi", body, OCI_INDEX)
    r = await wharf.client.get(f"/v2/{repo}/manifests/multi", headers={**wharf.auth, "Accept": OCI_INDEX})
    assert r.status_code == 200 and r.headers["content-type"] == OCI_INDEX and r.content == body


async def test_docker_schema2_manifest_and_list(wharf):
    repo, img = wharf.repo(), image("docker")
    for data in img.blobs.values():
        await push_blob(wharf, repo, data)
    doc = json.loads(img.manifest)
    doc["mediaType"] = DOCKER_MANIFEST
    doc["config"]["mediaType"] = "application/vnd.docker.container.image.v1+json"
    doc["layers"][0]["mediaType"] = "application/vnd.docker.image.rootfs.diff.tar.gzip"
    manifest = json.dumps(doc).encode()
    await push_manifest(wharf, repo, "v2", manifest, DOCKER_MANIFEST)
    listing = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_LIST,
            "manifests": [descriptor(DOCKER_MANIFEST, manifest, platform={"os": "linux", "architecture": "amd64"})],
        }
    ).encode()
    await push_manifest(wharf, repo, "list", listing, DOCKER_LIST)
    r = await wharf.client.get(f"/v2/{repo}/manifests/list", headers={**wharf.auth, "Accept": DOCKER_LIST})
    assert r.headers["content-type"] == DOCKER_LIST and r.content == listing


async def test_invalid_manifests(wharf):
    repo, img = wharf.repo(), image("invalid")
    await push_image(wharf, repo, img)
    cases = {
        b"not json": OCI_MANIFEST,
        b"[1, 2]": OCI_MANIFEST,
        json.dumps({"schemaVersion": 1}).encode(): OCI_MANIFEST,
        json.dumps(
            {"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"digest": "nope"}}
        ).encode(): OCI_MANIFEST,
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}).encode(): OCI_MANIFEST,
        json.dumps({"schemaVersion": 2, "mediaType": "text/plain", "layers": []}).encode(): "text/plain",
    }
    for body, media_type in cases.items():
        r = await wharf.client.put(
            f"/v2/{repo}/manifests/bad", content=body, headers={**wharf.auth, "Content-Type": media_type}
        )
        assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID", body


async def test_manifest_digest_mismatch(wharf):
    repo, img = wharf.repo(), image("mismatch")
    for data in img.blobs.values():
        await push_blob(wharf, repo, data)
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/{sha256(b'other')}",
        content=img.manifest,
        headers={**wharf.auth, "Content-Type": OCI_MANIFEST},
    )
    assert r.status_code == 400 and error_code(r) == "DIGEST_INVALID"
    r = await wharf.client.get(f"/v2/{repo}/manifests/{img.digest}", headers=wharf.auth)
    assert r.status_code == 404


async def test_manifest_size_limit(wharf):
    repo = wharf.repo()
    huge = b'{"schemaVersion": 2, "pad": "' + b"x" * (4 * 1024 * 1024) + b'"}'
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/big", content=huge, headers={**wharf.auth, "Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 413 and error_code(r) == "MANIFEST_TOO_LARGE"


async def test_invalid_names_and_tags(wharf):
    for path in ("/v2/acme/UPPER/tags/list", "/v2/acme/a..b/manifests/v1", "/v2/acme/-x/tags/list"):
        r = await wharf.client.get(path, headers=wharf.auth)
        assert r.status_code == 400 and error_code(r) == "NAME_INVALID", path
    repo = wharf.repo()
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/-bad-tag", content=b"{}", headers={**wharf.auth, "Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "TAG_INVALID"


async def test_unknown_manifest_and_unknown_endpoint(wharf):
    repo = wharf.repo()
    r = await wharf.client.get(f"/v2/{repo}/manifests/nope", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    r = await wharf.client.get(f"/v2/{repo}/whatever", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"


async def test_tags_list_pagination(wharf):
    repo, img = wharf.repo(), image("tags")
    await push_image(wharf, repo, img, "t0")
    for i in range(1, 5):
        await push_manifest(wharf, repo, f"t{i}", img.manifest)
    r = await wharf.client.get(f"/v2/{repo}/tags/list", params={"n": 2}, headers=wharf.auth)
    assert r.json()["tags"] == ["t0", "t1"]
    assert r.headers["link"] == f'</v2/{repo}/tags/list?n=2&last=t1>; rel="next"'
    r = await wharf.client.get(f"/v2/{repo}/tags/list", params={"n": 2, "last": "t3"}, headers=wharf.auth)
    assert r.json()["tags"] == ["t4"] and "link" not in r.headers
    r = await wharf.client.get(f"/v2/{repo}/tags/list", params={"n": 0}, headers=wharf.auth)
    assert r.json()["tags"] == []
    r = await wharf.client.get(f"/v2/{repo}/tags/list", params={"n": "-1"}, headers=wharf.auth)
    assert r.status_code == 400 and error_code(r) == "PAGINATION_NUMBER_INVALID"
    r = await wharf.client.get(f"/v2/{wharf.repo()}/tags/list", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "NAME_UNKNOWN"


async def test_catalog_pagination_lists_only_own_repositories(wharf):
    repos = sorted(wharf.repo("cat") for _ in range(3))
    img = image("catalog")
    for repo in repos:
        await push_image(wharf, repo, img, "v1")
    names: list[str] = []
    last = None
    while True:
        params = {"n": 2, **({"last": last} if last else {})}
        r = await wharf.client.get("/v2/_catalog", params=params, headers=wharf.auth)
        assert r.status_code == 200
        page = r.json()["repositories"]
        names += page
        if "link" not in r.headers:
            break
        last = page[-1]
    assert set(repos) <= set(names)
    assert names == sorted(names) and all(n.startswith("acme/") for n in names)


async def test_delete_tag_manifest_and_blob(wharf):
    repo, img = wharf.repo(), image("delete")
    await push_image(wharf, repo, img, "v1")
    await push_manifest(wharf, repo, "v2", img.manifest)
    r = await wharf.client.delete(f"/v2/{repo}/manifests/v1", headers=wharf.auth)
    assert r.status_code == 202
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=wharf.auth)
    assert r.status_code == 404
    r = await wharf.client.get(f"/v2/{repo}/manifests/v2", headers=wharf.auth)
    assert r.status_code == 200
    r = await wharf.client.delete(f"/v2/{repo}/manifests/{img.digest}", headers=wharf.auth)
    assert r.status_code == 202
    for ref in ("v2", img.digest):
        r = await wharf.client.get(f"/v2/{repo}/manifests/{ref}", headers=wharf.auth)
        assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    r = await wharf.client.delete(f"/v2/{repo}/manifests/{img.digest}", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "MANIFEST_UNKNOWN"
    layer_digest = sha256(img.layers[0])
    r = await wharf.client.delete(f"/v2/{repo}/blobs/{layer_digest}", headers=wharf.auth)
    assert r.status_code == 202
    r = await wharf.client.head(f"/v2/{repo}/blobs/{layer_digest}", headers=wharf.auth)
    assert r.status_code == 404
    r = await wharf.client.delete(f"/v2/{repo}/blobs/{layer_digest}", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"


async def test_helm_chart_artifact_and_signature_referrer(wharf):
    repo = wharf.repo("charts")
    chart = b"\x1f\x8b fake chart tarball"
    config = json.dumps({"name": "mychart", "version": "1.2.3", "apiVersion": "v2"}).encode()
    await push_blob(wharf, repo, chart)
    await push_blob(wharf, repo, config)
    helm = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": descriptor("application/vnd.cncf.helm.config.v1+json", config),
            "layers": [descriptor("application/vnd.cncf.helm.chart.content.v1.tar+gzip", chart)],
        }
    ).encode()
    await push_manifest(wharf, repo, "1.2.3", helm)
    r = await wharf.client.get(f"/v2/{repo}/manifests/1.2.3", headers={**wharf.auth, "Accept": OCI_MANIFEST})
    doc = r.json()
    assert doc["config"]["mediaType"] == "application/vnd.cncf.helm.config.v1+json"
    assert doc["layers"][0]["mediaType"] == "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
    r = await wharf.client.get(f"/v2/{repo}/blobs/{doc['layers'][0]['digest']}", headers=wharf.auth)
    assert r.content == chart

    empty = b"{}"
    await push_blob(wharf, repo, empty)
    signature = b"signature payload"
    await push_blob(wharf, repo, signature)
    sig = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "config": descriptor("application/vnd.oci.empty.v1+json", empty),
            "layers": [descriptor("application/vnd.dev.cosign.simplesigning.v1+json", signature)],
            "subject": descriptor(OCI_MANIFEST, helm),
            "annotations": {"created-by": "tests"},
        }
    ).encode()
    r = await push_manifest(wharf, repo, sha256(sig), sig)
    assert r.headers["oci-subject"] == sha256(helm)
    sbom = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/spdx+json",
            "config": descriptor("application/vnd.oci.empty.v1+json", empty),
            "layers": [descriptor("application/spdx+json", signature)],
            "subject": descriptor(OCI_MANIFEST, helm),
        }
    ).encode()
    await push_manifest(wharf, repo, sha256(sbom), sbom)

    r = await wharf.client.get(f"/v2/{repo}/referrers/{sha256(helm)}", headers=wharf.auth)
    assert r.status_code == 200 and r.headers["content-type"] == OCI_INDEX
    found = {d["digest"]: d for d in r.json()["manifests"]}
    assert set(found) == {sha256(sig), sha256(sbom)}
    assert found[sha256(sig)]["artifactType"] == "application/vnd.dev.cosign.simplesigning.v1+json"
    assert found[sha256(sig)]["annotations"] == {"created-by": "tests"}
    assert found[sha256(sig)]["size"] == len(sig)
    r = await wharf.client.get(
        f"/v2/{repo}/referrers/{sha256(helm)}", params={"artifactType": "application/spdx+json"}, headers=wharf.auth
    )
    assert [d["digest"] for d in r.json()["manifests"]] == [sha256(sbom)]
    assert r.headers["oci-filters-applied"] == "artifactType"
    r = await wharf.client.get(f"/v2/{repo}/referrers/{sha256(b'no subject')}", headers=wharf.auth)
    assert r.status_code == 200 and r.json()["manifests"] == []


async def test_referrer_may_be_pushed_before_its_subject(wharf):
    repo = wharf.repo()
    await push_blob(wharf, repo, b"{}")
    ghost = sha256(b"subject not pushed yet")
    ref = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/example",
            "config": descriptor("application/vnd.oci.empty.v1+json", b"{}"),
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": ghost, "size": 10},
        }
    ).encode()
    r = await push_manifest(wharf, repo, sha256(ref), ref)
    assert r.headers["oci-subject"] == ghost


async def test_interrupted_chunk_leaves_the_upload_resumable(wharf):
    """A PATCH whose body breaks off mid-stream keeps nothing of it; the client resumes from the last good range."""
    repo, uploads = wharf.repo(), wharf.app.state.registry.uploads
    first, second = b"1" * 1_500_000, b"2" * 10
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location, upload_id = r.headers["location"], r.headers["docker-upload-uuid"]
    await wharf.client.patch(location, content=first, headers={**wharf.auth, "Content-Range": f"0-{len(first) - 1}"})

    async def broken():
        yield b"x" * 1_200_000  # more than one write buffer reaches the disk and the hasher
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        await uploads.append(repo, upload_id, broken(), None)
    r = await wharf.client.get(location, headers=wharf.auth)
    assert r.headers["range"] == f"0-{len(first) - 1}"
    r = await wharf.client.put(location, params={"digest": sha256(first + second)}, content=second, headers=wharf.auth)
    assert r.status_code == 201, r.text
    r = await wharf.client.get(f"/v2/{repo}/blobs/{sha256(first + second)}", headers=wharf.auth)
    assert r.content == first + second


async def test_mount_without_from_finds_a_readable_source(wharf):
    source, target = wharf.repo(), wharf.repo()
    digest = await push_blob(wharf, source, b"anonymous mount")
    r = await wharf.client.post(f"/v2/{target}/blobs/uploads/", params={"mount": digest}, headers=wharf.auth)
    assert r.status_code == 201 and r.headers["location"] == f"/v2/{target}/blobs/{digest}"
    r = await wharf.client.post(
        f"/v2/{target}/blobs/uploads/", params={"mount": sha256(b"held nowhere")}, headers=wharf.auth
    )
    assert r.status_code == 202
    # a bearer token scoped to the target alone may still mount anonymously from what its principal may read
    other = wharf.repo()
    r = await wharf.client.get("/token", params={"scope": f"repository:{other}:pull,push"}, headers=wharf.auth)
    bearer = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await wharf.client.post(f"/v2/{other}/blobs/uploads/", params={"mount": digest}, headers=bearer)
    assert r.status_code == 201


async def test_out_of_order_final_chunk_on_put_is_refused(wharf):
    repo, data = wharf.repo(), b"0123456789"
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    await wharf.client.patch(location, content=data[:5], headers={**wharf.auth, "Content-Range": "0-4"})
    r = await wharf.client.put(
        location, params={"digest": sha256(data)}, content=data[5:], headers={**wharf.auth, "Content-Range": "7-11"}
    )
    assert r.status_code == 416 and r.headers["range"] == "0-4"
    r = await wharf.client.put(
        location, params={"digest": sha256(data)}, content=data[5:], headers={**wharf.auth, "Content-Range": "5-9"}
    )
    assert r.status_code == 201


async def test_several_accept_header_lines_are_combined(wharf):
    repo, img = wharf.repo(), image("accept-lines")
    await push_image(wharf, repo, img, "v1")
    headers = [("Authorization", wharf.auth["Authorization"]), ("Accept", OCI_INDEX), ("Accept", OCI_MANIFEST)]
    r = await wharf.client.get(f"/v2/{repo}/manifests/v1", headers=headers)
    assert r.status_code == 200 and r.content == img.manifest


async def test_a_chunk_whose_length_disagrees_with_its_content_range_is_refused(wharf):
    """PATCH and PUT: `Content-Range: 0-9` with 5 or 15 bytes is a 416, and nothing of it is kept."""
    repo, data = wharf.repo(), b"0123456789abcdef"
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    for body in (data[:5], data[:15]):
        r = await wharf.client.patch(location, content=body, headers={**wharf.auth, "Content-Range": "0-9"})
        assert r.status_code == 416 and error_code(r) == "RANGE_INVALID", (len(body), r.text)
    r = await wharf.client.get(location, headers=wharf.auth)
    assert r.status_code == 204 and r.headers["range"] == "0-0" and r.headers["docker-upload-uuid"]
    r = await wharf.client.patch(location, content=data[:10], headers={**wharf.auth, "Content-Range": "0-9"})
    assert r.status_code == 202 and r.headers["range"] == "0-9"
    r = await wharf.client.put(
        location, params={"digest": sha256(data)}, content=data[10:], headers={**wharf.auth, "Content-Range": "10-20"}
    )
    assert r.status_code == 416 and error_code(r) == "RANGE_INVALID"
    r = await wharf.client.put(
        location, params={"digest": sha256(data)}, content=data[10:], headers={**wharf.auth, "Content-Range": "10-15"}
    )
    assert r.status_code == 201, r.text


async def test_a_deeply_nested_manifest_is_invalid(wharf):
    repo = wharf.repo()
    body = b'{"schemaVersion": 2, "annotations": {"x": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}"
    r = await wharf.client.put(
        f"/v2/{repo}/manifests/deep", content=body, headers={**wharf.auth, "Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 400 and error_code(r) == "MANIFEST_INVALID", r.text
