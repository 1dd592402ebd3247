"""The entitlement scenario with real clients, against a live `wharf serve` (SQLite; one test on PostgreSQL).

The vendor pushes `acme/app-X` tags v1.0.0, v1.5.0, v2.0.0 (distinct images, each with its own layer), a
multi-arch index v1.6.0 (amd64 + arm64) and signature referrers of v1.5.0 and v2.0.0; it also pushes
`acme/other-X` (never licensed), `acme/extra-X` (licensed, all tags), `acme/app-X/nested` and `acme/app-X-beta` (not licensed).
Customer "Globex" holds license "Globex Prod": `acme/app-X` tags `>=1.0.0 <2.0.0`, `acme/extra-X` tags `*`,
and a pull token made through /api/v1. skopeo and podman pull what is licensed; everything else is refused
with the answer the design promises.

Attack cases ("someone trying to read what they did not pay for"), one test each:
 1. v2.0.0 by tag (skopeo and HTTP): 403 DENIED naming the tag and the license
 2. v2.0.0 by manifest digest, by its unique layer and config blobs, its signature and the signature's payload
 3. the denied digests through another repository the customer IS licensed for (MANIFEST_/BLOB_UNKNOWN),
    also once the vendor has linked the v2.0.0 layer into that repository without a manifest using it
 4. path tricks on the wire: `..`, `%2e%2e`, `%2F`, `//`, upper case, a nested repository under a licensed name,
    a repository whose name merely starts with the licensed one; repository globs staying within a segment
 5. an unlicensed repository answers byte-for-byte like a missing one (Basic and bearer, GET and HEAD)
 6. the token endpoint asked for push/delete/`*`/catalog/unlicensed scopes with a pull token (GET and POST)
 7. a refresh token used as an access token
 8. forged JWTs: edited `access` claim, `alg: none`, a self-made key with the server's `kid`
 9. the vendor's own expired and revoked tokens (Basic, JWT, /token, /api/v1)
10. a pull token pushing, mounting, deleting (Basic and bearer), and the content staying intact
11. mounting the v2.0.0 layer into a repository the attacker can push to (a rival vendor), or claiming it
    by digest without its bytes, or referencing it from a manifest
12. the referrers API on the denied subject (with and without artifactType filter)
13. HEAD vs GET on every denied or hidden reference: same status, no digest or size leaked
14. Range requests on denied blobs (including unsatisfiable ranges: no 416 that would reveal the size)
    and other spellings of the denied digests: upper-case hex, sha512, the manifest asked for as a blob, `?tag=`
15. a pull token, or a JWT, on /api/v1
16. a second customer without license; a rival vendor's API token on acme's customers, licenses and pull
    tokens; the rival pulling acme's content and acme's customer pulling the rival's
17. an upload session of the vendor's, its id leaked, driven by the customer or by the rival vendor
18. changes that bite within 5 s, JWTs issued before included: expiry, expiry warning, grace, not-yet-valid,
    suspension, grant edit, pull-token revocation (JWT and refresh token), pull-token expiry, customer
    deletion, license deletion; and on a second node sharing the database
19. a deleted customer's JWT and refresh token, once a new token is created (ids are reused on SQLite)
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt as jose_jwt
from joserfc.jwk import ECKey

from tests.conftest import in_thread
from tests.scenarios.licensed_world import (
    DEADLINE,
    SIGNATURE,
    Customer,
    World,
    b64url,
    b64url_decode,
    bootstrap_vendor,
    build_world,
    error,
    eventually,
    jwt_claims,
    layout_blob,
    layout_top,
    podman,
    raw_request,
    skopeo_copy,
)
from tests.support import postgres
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, image, index, sha256
from tests.support.server import start_server

pytestmark = pytest.mark.clients
DELAYS: dict[str, float] = {}  # what each "within 5 s" check measured, printed at the end


@pytest.fixture(scope="module")
def world(live_server: Any) -> Any:
    w = build_world(live_server)
    yield w
    w.close()
    if DELAYS:
        print("\nmeasured delays: " + ", ".join(f"{k} {v:.2f} s" for k, v in DELAYS.items()))


@pytest.fixture(scope="module")
def globex(world: World) -> Customer:
    return world.customer(
        "Globex",
        [
            {"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]},
            {"repository": world.extra_repo, "tags": ["*"]},
        ],
    )


@pytest.fixture(scope="module")
def rival(world: World) -> dict[str, Any]:
    """A second vendor on the same instance, with a repository of its own."""
    slug = f"rival{uuid.uuid4().hex[:6]}"
    token = bootstrap_vendor(world.server, slug)
    img = image(f"{slug}-app")
    repo = f"{slug}/app"
    with httpx.Client(base_url=world.server.url, auth=("ci", token), timeout=30) as c:
        for data in img.blobs.values():
            assert (
                c.post(f"/v2/{repo}/blobs/uploads/", params={"digest": sha256(data)}, content=data).status_code == 201
            )
        r = c.put(f"/v2/{repo}/manifests/v1.0.0", content=img.manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 201, r.text
    return {"slug": slug, "token": token, "repo": repo, "image": img}


def measured(name: str, seconds: float, record_property: Any) -> None:
    DELAYS[name] = seconds
    record_property(name, round(seconds, 3))
    assert seconds < DEADLINE


# -- the API contract the scenario relies on ----------------------------------------------------
def test_setup_through_the_api(world: World, globex: Customer) -> None:
    lic = globex.license
    assert lic is not None and lic["status"] == "active" and lic["customer_id"] == globex.id
    assert lic["grants"][0] == {"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}
    assert globex.token.startswith("wharf_pull_")
    listed = world.api.get("/licenses", params={"customer_id": globex.id}).json()["items"]
    assert [item["id"] for item in listed] == [lic["id"]]
    tokens = world.api.get(f"/customers/{globex.id}/pull-tokens").json()["items"]
    assert [t["id"] for t in tokens] == [globex.pull_token["id"]]
    assert globex.token not in json.dumps(tokens)  # the secret is shown once
    tags = {t["tag"]: t for t in world.api.get(f"/repositories/{world.repo}/tags").json()["items"]}
    assert set(tags) == {"v1.0.0", "v1.5.0", "v1.6.0", "v2.0.0"}
    assert tags["v2.0.0"]["digest"] == world.images["v2.0.0"].digest
    assert tags["v1.6.0"]["digest"] == sha256(world.multi)
    r = world.api.post(
        "/licenses",
        json={"customer_id": globex.id, "name": "bad", "grants": [{"repository": world.repo, "tags": [">=x"]}]},
    )
    assert r.status_code == 400 and "grants" in r.text


# -- what the customer paid for, with real clients ---------------------------------------------
def test_skopeo_pulls_the_licensed_tags(world: World, globex: Customer, tmp_path: Path) -> None:
    for tag in ("v1.0.0", "v1.5.0"):
        layout = tmp_path / tag
        result = skopeo_copy(world.server, globex.token, f"{world.repo}:{tag}", layout, tag)
        assert result.returncode == 0, result.stderr
        img = world.images[tag]
        assert layout_top(layout, tag)["digest"] == img.digest
        assert layout_blob(layout, sha256(img.layers[0])) == img.layers[0]
    layout = tmp_path / "multi"
    result = skopeo_copy(world.server, globex.token, f"{world.repo}:v1.6.0", layout, "v1.6.0", "--all")
    assert result.returncode == 0, result.stderr
    assert layout_top(layout, "v1.6.0")["digest"] == sha256(world.multi)
    for child in (world.amd, world.arm):
        assert layout_blob(layout, child.digest) == child.manifest
        assert layout_blob(layout, sha256(child.layers[0])) == child.layers[0]


def test_podman_pulls_a_licensed_tag(world: World, globex: Customer, tmp_path: Path) -> None:
    root, creds = tmp_path / "root", f"x:{globex.token}"
    with tempfile.TemporaryDirectory(prefix="wp-") as runroot:  # short: podman limits socket path lengths
        ref = f"{world.server.host}/{world.repo}:v1.5.0"
        pulled = podman(root, runroot, "pull", "--tls-verify=false", "--creds", creds, ref, home=tmp_path)
        assert pulled.returncode == 0, pulled.stderr
        label = podman(root, runroot, "image", "inspect", "--format", "{{.Labels.label}}", ref, home=tmp_path)
        assert label.returncode == 0, label.stderr
        assert label.stdout.strip() == json.loads(world.images["v1.5.0"].config)["config"]["Labels"]["label"]
        denied_ref = f"{world.server.host}/{world.repo}:v2.0.0"
        denied = podman(root, runroot, "pull", "--tls-verify=false", "--creds", creds, denied_ref, home=tmp_path)
        assert denied.returncode != 0 and "tag v2.0.0 is not covered by license 'Globex Prod'" in denied.stderr


# -- 1, 2: v2.0.0 by every road -------------------------------------------------------------------
def test_v2_by_tag_is_denied_naming_tag_and_license(world: World, globex: Customer, tmp_path: Path) -> None:
    result = skopeo_copy(world.server, globex.token, f"{world.repo}:v2.0.0", tmp_path / "no", "v2.0.0")
    assert result.returncode != 0
    assert "tag v2.0.0 is not covered by license 'Globex Prod'" in result.stderr
    r = globex.http.get(f"/v2/{world.repo}/manifests/v2.0.0")
    assert r.status_code == 403
    assert error(r) | {"detail": None} == {
        "code": "DENIED",
        "message": "tag v2.0.0 is not covered by license 'Globex Prod'",
        "detail": None,
    }
    assert "docker-content-digest" not in r.headers


def test_v2_by_digest_blob_and_signature_is_denied(world: World, globex: Customer) -> None:
    c, v2 = globex.http, world.images["v2.0.0"]
    sig, payload = world.signatures["v2.0.0"], world.signature_payloads["v2.0.0"]
    for path in (
        f"/v2/{world.repo}/manifests/{v2.digest}",
        f"/v2/{world.repo}/blobs/{sha256(v2.layers[0])}",
        f"/v2/{world.repo}/blobs/{sha256(v2.config)}",
        f"/v2/{world.repo}/manifests/{sha256(sig)}",
        f"/v2/{world.repo}/blobs/{sha256(payload)}",
    ):
        r = c.get(path)
        assert r.status_code == 403, (path, r.status_code, r.text)
        assert error(r)["code"] == "DENIED", path
        # the denial names what was asked for, never the tag v2.0.0 the customer cannot list
        digest = path.rsplit("/", 1)[1]
        assert error(r)["message"] == f"digest {digest} is not covered by license 'Globex Prod'", (path, r.text)


def test_a_denial_by_digest_names_no_tag_the_customer_cannot_list(world: World) -> None:
    """A customer licensed for 1.x asks by digest for a child of the index tagged 2.1.0 (a tag it cannot
    list): the denial names the digest asked for, never the tag."""
    repo = f"acme/hidden-{uuid.uuid4().hex[:8]}"
    child = image(f"hidden-child-{uuid.uuid4().hex[:6]}", "s390x")
    world.push_image(repo, child)
    world.push_image(repo, image("hidden-v1"), "1.0.0")
    world.put_manifest(repo, "2.1.0", index([(child, "s390x")]), OCI_INDEX)
    initech = world.customer("Initech", [{"repository": repo, "tags": [">=1.0.0 <2.0.0"]}])
    assert initech.http.get(f"/v2/{repo}/tags/list").json()["tags"] == ["1.0.0"]
    for path in (f"/v2/{repo}/manifests/{child.digest}", f"/v2/{repo}/blobs/{sha256(child.layers[0])}"):
        r = initech.http.get(path)
        assert r.status_code == 403, (path, r.status_code)
        asked = path.rsplit("/", 1)[1]
        assert error(r)["message"] == f"digest {asked} is not covered by license '{initech.license['name']}'"
        assert "2.1.0" not in r.text and "2.1.0" not in str(r.headers)
        assert initech.http.head(path).status_code == 403


def test_licensed_content_is_readable_by_digest_too(world: World, globex: Customer) -> None:
    """The positive side of the rules above: without it, the denials could be a blanket refusal."""
    c = globex.http
    v1 = world.images["v1.0.0"]
    assert c.get(f"/v2/{world.repo}/manifests/{v1.digest}").content == v1.manifest
    assert c.get(f"/v2/{world.repo}/blobs/{sha256(v1.layers[0])}").content == v1.layers[0]
    assert c.get(f"/v2/{world.repo}/manifests/{world.arm.digest}").content == world.arm.manifest  # index child
    assert c.get(f"/v2/{world.repo}/blobs/{sha256(world.arm.layers[0])}").content == world.arm.layers[0]
    sig, payload = world.signatures["v1.5.0"], world.signature_payloads["v1.5.0"]
    assert c.get(f"/v2/{world.repo}/manifests/{sha256(sig)}").content == sig  # referrer of an allowed subject
    assert c.get(f"/v2/{world.repo}/blobs/{sha256(payload)}").content == payload
    assert c.get(f"/v2/{world.extra_repo}/manifests/v1.0.0").content == world.extra_image.manifest


# -- listings -------------------------------------------------------------------------------------
def test_tags_list_shows_only_v1(world: World, globex: Customer) -> None:
    c = globex.http
    assert c.get(f"/v2/{world.repo}/tags/list").json() == {"name": world.repo, "tags": ["v1.0.0", "v1.5.0", "v1.6.0"]}
    first = c.get(f"/v2/{world.repo}/tags/list", params={"n": 2})
    assert first.json()["tags"] == ["v1.0.0", "v1.5.0"] and "last=v1.5.0" in first.headers["link"]
    assert c.get(f"/v2/{world.repo}/tags/list", params={"n": 2, "last": "v1.5.0"}).json()["tags"] == ["v1.6.0"]
    assert c.get(f"/v2/{world.repo}/tags/list", params={"last": "v1.6.0"}).json()["tags"] == []
    # the vendor sees all four: the filter is the license, not missing data
    assert world.vendor.get(f"/v2/{world.repo}/tags/list").json()["tags"] == ["v1.0.0", "v1.5.0", "v1.6.0", "v2.0.0"]


def test_catalog_shows_only_licensed_repositories(world: World, globex: Customer) -> None:
    expected = sorted([world.repo, world.extra_repo])
    assert globex.http.get("/v2/_catalog").json()["repositories"] == expected
    jwt = world.bearer(globex.token, "registry:catalog:*")
    assert world.with_bearer("GET", "/v2/_catalog", jwt).json()["repositories"] == expected
    paged = globex.http.get("/v2/_catalog", params={"n": 1}).json()["repositories"]
    assert paged == expected[:1]
    vendor_view = world.vendor.get("/v2/_catalog", params={"n": 1000}).json()["repositories"]
    assert {world.other_repo, world.nested_repo} <= set(vendor_view)


def test_referrers_list_only_readable_subjects(world: World, globex: Customer) -> None:
    c = globex.http
    listed = c.get(f"/v2/{world.repo}/referrers/{world.images['v1.5.0'].digest}")
    assert listed.status_code == 200
    assert [d["digest"] for d in listed.json()["manifests"]] == [sha256(world.signatures["v1.5.0"])]
    # 12: the denied subject
    for params in ({}, {"artifactType": SIGNATURE}):
        r = c.get(f"/v2/{world.repo}/referrers/{world.images['v2.0.0'].digest}", params=params)
        assert r.status_code == 200 and r.json()["manifests"] == [], r.text
    vendor = world.vendor.get(f"/v2/{world.repo}/referrers/{world.images['v2.0.0'].digest}").json()["manifests"]
    assert [d["digest"] for d in vendor] == [sha256(world.signatures["v2.0.0"])]


# -- 3: content is per repository ------------------------------------------------------------------
def test_denied_digests_through_another_licensed_repository(world: World, globex: Customer) -> None:
    c, v2 = globex.http, world.images["v2.0.0"]
    r = c.get(f"/v2/{world.extra_repo}/manifests/{v2.digest}")
    assert r.status_code == 404 and error(r)["code"] == "MANIFEST_UNKNOWN", r.text
    for blob in (sha256(v2.layers[0]), sha256(v2.config)):
        r = c.get(f"/v2/{world.extra_repo}/blobs/{blob}")
        assert r.status_code == 404 and error(r)["code"] == "BLOB_UNKNOWN", r.text
    r = c.get(f"/v2/{world.extra_repo}/manifests/{sha256(world.signatures['v2.0.0'])}")
    assert r.status_code == 404 and error(r)["code"] == "MANIFEST_UNKNOWN", r.text


def test_a_blob_linked_without_a_readable_manifest_stays_closed(world: World, globex: Customer) -> None:
    """The vendor's CI mounts the v2.0.0 layer into the licensed `extra` repository (as a push of a new
    image would, before its manifest lands): the customer's `*` grant there must not open it."""
    layer = sha256(world.images["v2.0.0"].layers[0])
    r = world.vendor.post(f"/v2/{world.extra_repo}/blobs/uploads/", params={"mount": layer, "from": world.repo})
    assert r.status_code == 201, r.text
    got = globex.http.get(f"/v2/{world.extra_repo}/blobs/{layer}")
    assert got.status_code in (403, 404), (got.status_code, got.text[:200])
    assert got.content != world.images["v2.0.0"].layers[0]
    assert globex.http.head(f"/v2/{world.extra_repo}/blobs/{layer}").status_code == got.status_code


def test_other_spellings_of_the_denied_digests(world: World, globex: Customer) -> None:
    """Upper-case hex, sha512 of the same bytes, the manifest asked for as a blob, a `?tag=` riding along."""
    c, v2 = globex.http, world.images["v2.0.0"]
    hex_part = v2.digest.split(":")[1]
    sha512 = "sha512:" + hashlib.sha512(v2.manifest).hexdigest()
    for path, params in (
        (f"/v2/{world.repo}/manifests/sha256:{hex_part.upper()}", {}),
        (f"/v2/{world.repo}/manifests/{sha512}", {}),
        (f"/v2/{world.repo}/blobs/{sha512}", {}),
        (f"/v2/{world.repo}/blobs/{v2.digest}", {}),
        (f"/v2/{world.repo}/blobs/{sha256(world.signatures['v2.0.0'])}", {}),
        (f"/v2/{world.repo}/blobs/sha256:{sha256(v2.layers[0]).split(':')[1].upper()}", {}),
        (f"/v2/{world.repo}/manifests/{v2.digest}", {"tag": "v1.0.0"}),
        (f"/v2/{world.repo}/manifests/v2.0.0", {"tag": "v1.0.0"}),
    ):
        for method in ("GET", "HEAD"):
            r = c.request(method, path, params=params)
            assert r.status_code in (400, 403, 404), (method, path, r.status_code)
            assert v2.manifest not in r.content and v2.layers[0] not in r.content


def test_upload_sessions_cannot_be_taken_over(world: World, globex: Customer, rival: dict[str, Any]) -> None:
    """The vendor is midway through uploading the v2.0.0 layer again; its session id leaks. Neither the
    customer nor the rival vendor can finish it into a repository of theirs, read its state or cancel it."""
    layer = world.images["v2.0.0"].layers[0]
    started = world.vendor.post(f"/v2/{world.repo}/blobs/uploads/")
    assert started.status_code == 202, started.text
    location = started.headers["location"]
    upload_id = location.rstrip("/").rsplit("/", 1)[1]
    r = world.vendor.patch(location, content=layer[:10], headers={"Content-Type": "application/octet-stream"})
    assert r.status_code == 202, r.text
    rival_target = f"{rival['slug']}/hijack"
    with httpx.Client(base_url=world.server.url, auth=("ci", rival["token"]), timeout=30) as rc:
        for method, kwargs in (
            ("GET", {}),
            ("PATCH", {"content": layer[10:]}),
            ("PUT", {"params": {"digest": sha256(layer)}, "content": layer[10:]}),
            ("DELETE", {}),
        ):
            r = rc.request(method, f"/v2/{rival_target}/blobs/uploads/{upload_id}", **kwargs)
            assert r.status_code == 404 and error(r)["code"] == "BLOB_UPLOAD_UNKNOWN", (method, r.status_code, r.text)
            r = rc.request(method, f"/v2/{world.repo}/blobs/uploads/{upload_id}", **kwargs)
            assert r.status_code == 403 and error(r)["code"] == "DENIED", (method, r.status_code, r.text)
        assert rc.get(f"/v2/{rival_target}/blobs/{sha256(layer)}").status_code == 404
    for method in ("GET", "PATCH", "PUT", "DELETE"):
        r = globex.http.request(method, f"/v2/{world.repo}/blobs/uploads/{upload_id}", params={"digest": sha256(layer)})
        assert r.status_code == 403 and error(r)["code"] == "DENIED", (method, r.status_code)
    # the vendor's session is untouched: 10 bytes in, and it can finish it
    status = world.vendor.get(location)
    assert status.status_code == 204 and status.headers["range"] == "0-9"
    done = world.vendor.put(location, params={"digest": sha256(layer)}, content=layer[10:])
    assert done.status_code == 201, done.text


def test_repository_globs_stay_within_their_segment(world: World) -> None:
    star = world.customer("Star", [{"repository": world.repo + "*", "tags": ["*"]}])
    assert star.http.get("/v2/_catalog", params={"n": 1000}).json()["repositories"] == sorted(
        [world.repo, world.prefix_repo]
    )
    assert star.http.get(f"/v2/{world.nested_repo}/tags/list").status_code == 404
    assert star.http.get(f"/v2/{world.prefix_repo}/manifests/v1.0.0").status_code == 200
    deep = world.customer("Deep", [{"repository": "acme/**", "tags": ["v1.0.0"]}])
    listed = deep.http.get("/v2/_catalog", params={"n": 1000}).json()["repositories"]
    assert {world.repo, world.other_repo, world.nested_repo, world.prefix_repo, world.extra_repo} <= set(listed)
    assert all(name.startswith("acme/") for name in listed)
    assert deep.http.get(f"/v2/{world.nested_repo}/manifests/v1.0.0").status_code == 200
    assert deep.http.get(f"/v2/{world.repo}/tags/list").json()["tags"] == ["v1.0.0"]


# -- 4, 5: names ------------------------------------------------------------------------------------
def test_path_tricks_reach_nothing_else(world: World, globex: Customer) -> None:
    other, repo = world.other_repo, world.repo
    leaf = other.split("/", 1)[1]
    secret_tag = "v1.0.0"
    for path in (
        f"/v2/{repo}/../../{other}/tags/list",
        f"/v2/{repo}/../{leaf}/tags/list",
        f"/v2/{repo}/%2e%2e/{leaf}/tags/list",
        f"/v2/{repo}/%2E%2E/%2E%2E/{other}/manifests/{secret_tag}",
        f"/v2/{repo}/..%2F{leaf}/manifests/{secret_tag}",
        f"/v2/{other.replace('/', '%2F')}/manifests/{secret_tag}",
        f"/v2/{other.replace('/', '%2f')}/tags/list",
        f"/v2/acme//{leaf}/tags/list",
        f"/v2/{other.upper()}/tags/list",
        f"/v2/{world.nested_repo}/tags/list",
        f"/v2/{world.prefix_repo}/tags/list",
        f"/v2/{world.prefix_repo}/manifests/v1.0.0",
        f"/v2/{world.nested_repo}/manifests/v1.0.0",
        f"/v2/{repo}/nested/../../{leaf}/manifests/v1.0.0",
    ):
        r = raw_request(world.server, "GET", path, globex.token)
        assert r.status in (400, 404), (path, r.status, r.body[:200])
        assert world.other_image.manifest not in r.body and b'"tags"' not in r.body, path
    # upper case of the licensed name is not a second door either
    r = raw_request(world.server, "GET", f"/v2/{repo.upper()}/manifests/v2.0.0", globex.token)
    assert r.status in (400, 404), r.status
    r = raw_request(world.server, "GET", f"/v2/{repo.upper()}/manifests/v1.0.0", globex.token)
    assert r.status in (400, 404), r.status


def _same_answer(a: httpx.Response, b: httpx.Response, a_name: str, b_name: str) -> None:
    assert a.status_code == b.status_code, (a.status_code, b.status_code)
    assert a.text.replace(a_name, "NAME") == b.text.replace(b_name, "NAME")
    ignore = {"date", "content-length"}
    assert {k: v.replace(a_name, "NAME") for k, v in a.headers.items() if k not in ignore} == {
        k: v.replace(b_name, "NAME") for k, v in b.headers.items() if k not in ignore
    }


def test_an_unlicensed_repository_answers_like_a_missing_one(world: World, globex: Customer) -> None:
    other = world.other_repo
    ghost = other.replace("/other-", "/ghost-")  # same length: responses compare byte for byte
    digest, layer = world.other_image.digest, sha256(world.other_image.layers[0])
    c = globex.http
    for method, tail in (
        ("GET", "/tags/list"),
        ("GET", "/manifests/v1.0.0"),
        ("HEAD", "/manifests/v1.0.0"),
        ("GET", f"/manifests/{digest}"),
        ("HEAD", f"/manifests/{digest}"),
        ("GET", f"/blobs/{layer}"),
        ("HEAD", f"/blobs/{layer}"),
        ("GET", f"/referrers/{digest}"),
    ):
        a, b = c.request(method, f"/v2/{other}{tail}"), c.request(method, f"/v2/{ghost}{tail}")
        _same_answer(a, b, other, ghost)
        assert a.status_code in (200, 404) if tail.startswith("/referrers") else a.status_code == 404
    assert error(c.get(f"/v2/{other}/tags/list"))["code"] == "NAME_UNKNOWN"
    assert error(c.get(f"/v2/{other}/manifests/v1.0.0"))["code"] == "MANIFEST_UNKNOWN"
    assert error(c.get(f"/v2/{other}/blobs/{layer}"))["code"] == "BLOB_UNKNOWN"
    # with the token flow: nothing is granted, and the registry answers as if neither existed (a challenge
    # for a scope the token endpoint never gives would leave the client without a reason)
    for name in (other, ghost):
        r = world.token_response(globex.token, f"repository:{name}:pull")
        assert r.status_code == 200 and jwt_claims(r.json()["token"])["access"] == []
    a = world.with_bearer(
        "GET", f"/v2/{other}/manifests/v1.0.0", world.bearer(globex.token, f"repository:{other}:pull")
    )
    b = world.with_bearer(
        "GET", f"/v2/{ghost}/manifests/v1.0.0", world.bearer(globex.token, f"repository:{ghost}:pull")
    )
    assert a.status_code == 404 and error(a)["code"] == "MANIFEST_UNKNOWN" and "www-authenticate" not in a.headers
    _same_answer(a, b, other, ghost)


# -- 6, 7, 8: tokens --------------------------------------------------------------------------------
def test_token_endpoint_never_grants_more_than_pull(world: World, globex: Customer) -> None:
    repo = world.repo
    asks = {
        f"repository:{repo}:pull,push,delete": [{"type": "repository", "name": repo, "actions": ["pull"]}],
        f"repository:{repo}:*": [{"type": "repository", "name": repo, "actions": ["pull"]}],
        f"repository:{repo}:push": [],
        f"repository:{repo}:delete": [],
        f"repository:{world.other_repo}:pull,push": [],
        f"repository:{world.nested_repo}:pull": [],
        f"repository:{repo}/../{world.other_repo}:pull": [],
        f"repository:{repo.upper()}:pull": [],
    }
    for scope, expected in asks.items():
        access = jwt_claims(world.bearer(globex.token, scope))["access"]
        assert access == expected, (scope, access)
    posted = httpx.post(
        f"{world.server.url}/token",
        data={
            "grant_type": "password",
            "username": "x",
            "password": globex.token,
            "service": world.server.host,
            "scope": f"repository:{repo}:pull,push,delete registry:catalog:*",
        },
        timeout=30,
    )
    assert posted.status_code == 200, posted.text
    access = jwt_claims(posted.json()["access_token"])["access"]
    repo_grants = [a for a in access if a["type"] == "repository"]
    assert repo_grants == [{"type": "repository", "name": repo, "actions": ["pull"]}]
    # a catalog grant is harmless: the catalog still lists only licensed repositories
    jwt = posted.json()["access_token"]
    assert world.with_bearer("GET", "/v2/_catalog", jwt).json()["repositories"] == sorted([repo, world.extra_repo])
    # and the pull-only JWT is refused a push, saying why: no new token would carry it
    data = b"sneaky"
    r = world.with_bearer("POST", f"/v2/{repo}/blobs/uploads/", jwt, params={"digest": sha256(data)}, content=data)
    assert r.status_code == 403 and error(r) == {
        "code": "DENIED",
        "message": f"push access to repository {repo} is denied",
    }


def test_a_refresh_token_is_not_an_access_token(world: World, globex: Customer) -> None:
    r = world.token_response(globex.token, f"repository:{world.repo}:pull", offline_token="true")
    refresh = r.json()["refresh_token"]
    assert jwt_claims(refresh).get("access") is None
    answer = world.with_bearer("GET", f"/v2/{world.repo}/manifests/v1.0.0", refresh)
    assert answer.status_code == 401 and 'error="invalid_token"' in answer.headers["www-authenticate"]
    # but it does mint a fresh access token, capped like any other
    minted = httpx.post(
        f"{world.server.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "scope": f"repository:{world.repo}:push,pull"},
        timeout=30,
    )
    assert minted.status_code == 200
    assert jwt_claims(minted.json()["access_token"])["access"][0]["actions"] == ["pull"]


def test_forged_jwts_are_refused(world: World, globex: Customer) -> None:
    jwt = world.bearer(globex.token, f"repository:{world.repo}:pull")
    head, payload, signature = jwt.split(".")
    claims = jwt_claims(jwt)
    path = f"/v2/{world.other_repo}/manifests/v1.0.0"
    assert world.with_bearer("GET", f"/v2/{world.repo}/manifests/v1.0.0", jwt).status_code == 200  # the original works

    edited = {**claims, "access": [{"type": "repository", "name": world.other_repo, "actions": ["*"]}]}
    forged = f"{head}.{b64url(json.dumps(edited).encode())}.{signature}"
    assert world.with_bearer("GET", path, forged).status_code == 401

    none_header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    for unsigned in (f"{none_header}.{b64url(json.dumps(edited).encode())}.", f"{none_header}.{payload}."):
        assert world.with_bearer("GET", path, unsigned).status_code == 401

    kid = json.loads(b64url_decode(head))["kid"]
    key = ECKey.generate_key("P-256", parameters={"kid": kid})
    own = jose_jwt.encode({"alg": "ES256", "kid": kid, "typ": "JWT"}, edited, key)
    assert world.with_bearer("GET", path, own).status_code == 401
    assert world.with_bearer("GET", f"/v2/{world.repo}/manifests/v2.0.0", own).status_code == 401


def test_the_vendors_expired_and_revoked_tokens_stop_working(world: World, record_property: Any) -> None:
    path = f"/v2/{world.repo}/manifests/v2.0.0"
    expires = datetime.now(UTC) + timedelta(seconds=3)
    r = world.api.post(
        "/tokens", json={"name": "short", "role": "release", "kind": "push", "expires_at": expires.isoformat()}
    )
    assert r.status_code == 201, r.text
    short = r.json()["token"]
    assert world.as_basic("GET", path, short).status_code == 200
    jwt = world.bearer(short, f"repository:{world.repo}:pull,push")
    assert world.with_bearer("GET", path, jwt).status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()))
    measured(
        "vendor token expiry",
        eventually(lambda: world.as_basic("GET", path, short).status_code == 401),
        record_property,
    )
    assert world.with_bearer("GET", path, jwt).status_code == 401
    assert world.token_response(short, f"repository:{world.repo}:pull").status_code == 401

    r = world.api.post("/tokens", json={"name": "revoked", "role": "admin"})
    assert r.status_code == 201, r.text
    revoked, revoked_id = r.json()["token"], r.json()["id"]
    jwt = world.bearer(revoked, f"repository:{world.repo}:pull,push,delete")
    api = {"Authorization": f"Bearer {revoked}"}
    assert httpx.get(f"{world.server.url}/api/v1/customers", headers=api).status_code == 200
    assert world.api.delete(f"/tokens/{revoked_id}").status_code == 204
    measured(
        "vendor token revocation (JWT)",
        eventually(lambda: world.with_bearer("GET", path, jwt).status_code == 401),
        record_property,
    )
    assert world.as_basic("GET", path, revoked).status_code == 401
    assert httpx.get(f"{world.server.url}/api/v1/customers", headers=api).status_code == 401
    data = b"after revocation"
    pushed = world.with_bearer(
        "POST", f"/v2/{world.repo}/blobs/uploads/", jwt, params={"digest": sha256(data)}, content=data
    )
    assert pushed.status_code == 401


# -- 10, 11: writes ------------------------------------------------------------------------------
def test_a_pull_token_cannot_push_mount_or_delete(world: World, globex: Customer) -> None:
    c, repo = globex.http, world.repo
    v1, v2 = world.images["v1.0.0"], world.images["v2.0.0"]
    data = b"customer bytes"
    attempts = [
        ("POST", f"/v2/{repo}/blobs/uploads/", {"params": {"digest": sha256(data)}, "content": data}, "push"),
        ("POST", f"/v2/{repo}/blobs/uploads/", {}, "push"),
        ("POST", f"/v2/{repo}/blobs/uploads/", {"params": {"mount": sha256(v2.layers[0]), "from": repo}}, "push"),
        ("POST", f"/v2/{world.extra_repo}/blobs/uploads/", {"params": {"mount": sha256(v2.layers[0])}}, "push"),
        (
            "POST",
            f"/v2/{world.extra_repo}/blobs/uploads/",
            {"params": {"mount": sha256(v2.layers[0]), "from": repo}},
            "push",
        ),
        (
            "PUT",
            f"/v2/{repo}/manifests/v1.9.9",
            {"content": v1.manifest, "headers": {"Content-Type": OCI_MANIFEST}},
            "push",
        ),
        (
            "PUT",
            f"/v2/{repo}/manifests/v1.0.0",
            {"content": v2.manifest, "headers": {"Content-Type": OCI_MANIFEST}},
            "push",
        ),
        ("DELETE", f"/v2/{repo}/manifests/v1.0.0", {}, "delete"),
        ("DELETE", f"/v2/{repo}/manifests/{v1.digest}", {}, "delete"),
        ("DELETE", f"/v2/{repo}/blobs/{sha256(v1.layers[0])}", {}, "delete"),
        ("DELETE", f"/v2/{repo}/manifests/v2.0.0", {}, "delete"),
    ]
    for method, path, kwargs, action in attempts:
        r = c.request(method, path, **kwargs)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert error(r)["code"] == "DENIED", (method, path)
        repository = path.split("/v2/")[1].split("/blobs/")[0].split("/manifests/")[0]
        assert error(r)["message"] == f"{action} access to repository {repository} is denied", r.text
    # the same with a bearer JWT: DENIED with the reason, not a challenge for a scope it could never get
    jwt = world.bearer(globex.token, f"repository:{repo}:pull,push,delete")
    r = world.with_bearer("DELETE", f"/v2/{repo}/manifests/v1.0.0", jwt)
    assert r.status_code == 403 and error(r)["message"] == f"delete access to repository {repo} is denied"
    r = world.with_bearer(
        "PUT", f"/v2/{repo}/manifests/v1.9.9", jwt, content=v1.manifest, headers={"Content-Type": OCI_MANIFEST}
    )
    assert r.status_code == 403 and error(r)["message"] == f"push access to repository {repo} is denied"
    # nothing moved
    assert world.vendor.get(f"/v2/{repo}/manifests/v1.0.0").content == v1.manifest
    assert world.vendor.get(f"/v2/{repo}/manifests/v1.9.9").status_code == 404
    assert world.vendor.head(f"/v2/{repo}/blobs/{sha256(v1.layers[0])}").status_code == 200
    assert world.vendor.head(f"/v2/{repo}/blobs/{sha256(data)}").status_code == 404


def test_a_rival_who_can_push_cannot_mount_claim_or_reference_the_v2_layer(world: World, rival: dict[str, Any]) -> None:
    v2 = world.images["v2.0.0"]
    layer, size = sha256(v2.layers[0]), len(v2.layers[0])
    target = f"{rival['slug']}/loot"
    with httpx.Client(base_url=world.server.url, auth=("ci", rival["token"]), timeout=30) as c:
        for params in ({"mount": layer, "from": world.repo}, {"mount": layer}):
            r = c.post(f"/v2/{target}/blobs/uploads/", params=params)
            assert r.status_code == 202, (params, r.status_code, r.text)  # an upload session, not a mount
            assert "docker-content-digest" not in r.headers
        # claiming the blob by its digest without sending its bytes
        r = c.post(f"/v2/{target}/blobs/uploads/", params={"digest": layer}, content=b"")
        assert r.status_code == 400 and error(r)["code"] == "DIGEST_INVALID", r.text
        started = c.post(f"/v2/{target}/blobs/uploads/")
        assert started.status_code == 202
        r = c.put(started.headers["location"], params={"digest": layer})
        assert r.status_code == 400 and error(r)["code"] == "DIGEST_INVALID", r.text
        # referencing it from a manifest
        config = b'{"architecture":"amd64","os":"linux"}'
        assert (
            c.post(f"/v2/{target}/blobs/uploads/", params={"digest": sha256(config)}, content=config).status_code == 201
        )
        manifest = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": OCI_MANIFEST,
                "config": {
                    "mediaType": "application/vnd.oci.image.config.v1+json",
                    "digest": sha256(config),
                    "size": len(config),
                },
                "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer, "size": size}],
            }
        ).encode()
        r = c.put(f"/v2/{target}/manifests/loot", content=manifest, headers={"Content-Type": OCI_MANIFEST})
        assert r.status_code == 400 and error(r)["code"] == "MANIFEST_BLOB_UNKNOWN", r.text
        for method in ("GET", "HEAD"):
            assert c.request(method, f"/v2/{target}/blobs/{layer}").status_code == 404
            assert c.request(method, f"/v2/{world.repo}/blobs/{layer}").status_code == 404
        # and pushing into acme's namespace is refused outright
        r = c.post(f"/v2/{world.repo}/blobs/uploads/", params={"mount": layer, "from": world.repo})
        assert r.status_code == 403 and error(r)["code"] == "DENIED"


# -- 13, 14: HEAD, GET, Range ------------------------------------------------------------------------
def test_head_and_get_agree_on_denied_and_hidden_content(world: World, globex: Customer) -> None:
    c, v2 = globex.http, world.images["v2.0.0"]
    cases = {
        f"/v2/{world.repo}/manifests/v2.0.0": 403,
        f"/v2/{world.repo}/manifests/{v2.digest}": 403,
        f"/v2/{world.repo}/blobs/{sha256(v2.layers[0])}": 403,
        f"/v2/{world.repo}/manifests/{sha256(world.signatures['v2.0.0'])}": 403,
        f"/v2/{world.other_repo}/manifests/v1.0.0": 404,
        f"/v2/{world.other_repo}/blobs/{sha256(world.other_image.layers[0])}": 404,
        f"/v2/{world.extra_repo}/manifests/{v2.digest}": 404,
        f"/v2/{world.repo}/manifests/v1.0.0": 200,
    }
    sizes = {str(len(v2.manifest)), str(len(v2.layers[0])), str(len(world.signatures["v2.0.0"]))}
    for path, status in cases.items():
        get, head = c.get(path), c.head(path)
        assert (get.status_code, head.status_code) == (status, status), (path, get.status_code, head.status_code)
        assert head.content == b""
        if status != 200:
            for r in (get, head):
                assert "docker-content-digest" not in r.headers and "etag" not in r.headers, path
                assert r.headers.get("content-length") not in sizes, path
        else:
            assert head.headers["docker-content-digest"] == get.headers["docker-content-digest"]


def test_range_requests_on_denied_blobs(world: World, globex: Customer) -> None:
    c, v2 = globex.http, world.images["v2.0.0"]
    layer = sha256(v2.layers[0])
    for rng in ("bytes=0-10", "bytes=-5", "bytes=1-", f"bytes={len(v2.layers[0]) + 100}-", "bytes=0-0,5-9", "bytes=x"):
        r = c.get(f"/v2/{world.repo}/blobs/{layer}", headers={"Range": rng})
        assert r.status_code == 403, (rng, r.status_code)  # never 206, never a 416 revealing the size
        assert "content-range" not in r.headers and v2.layers[0][:5] not in r.content
    allowed = world.images["v1.0.0"].layers[0]
    r = c.get(f"/v2/{world.repo}/blobs/{sha256(allowed)}", headers={"Range": "bytes=0-9"})
    assert r.status_code == 206 and r.content == allowed[:10]


# -- 15: the automation API ---------------------------------------------------------------------------
def test_customer_credentials_do_not_open_the_api(world: World, globex: Customer) -> None:
    assert globex.license is not None
    license_path = f"/api/v1/licenses/{globex.license['id']}"
    jwt = world.bearer(globex.token, f"repository:{world.repo}:pull")
    for bearer in (globex.token, jwt):
        headers = {"Authorization": f"Bearer {bearer}"}
        for path in ("/api/v1/customers", license_path, "/api/v1/repositories"):
            r = httpx.get(world.server.url + path, headers=headers)
            assert r.status_code in (401, 403), (path, r.status_code)
        r = httpx.patch(
            world.server.url + license_path,
            headers=headers,
            json={"grants": [{"repository": "acme/**", "tags": ["*"]}]},
        )
        assert r.status_code in (401, 403)
    assert world.api.get(license_path.removeprefix("/api/v1")).json()["grants"][0]["tags"] == [">=1.0.0 <2.0.0"]


# -- 16: isolation ------------------------------------------------------------------------------------
def test_a_customer_without_a_license_sees_nothing(world: World) -> None:
    stranger = world.customer("Stranger")
    s = stranger.http
    assert s.get("/v2/_catalog").json()["repositories"] == []
    assert error(s.get(f"/v2/{world.repo}/tags/list"))["code"] == "NAME_UNKNOWN"
    for path, code in (
        (f"/v2/{world.repo}/manifests/v1.0.0", "MANIFEST_UNKNOWN"),
        (f"/v2/{world.repo}/manifests/{world.images['v1.0.0'].digest}", "MANIFEST_UNKNOWN"),
        (f"/v2/{world.repo}/blobs/{sha256(world.images['v1.0.0'].layers[0])}", "BLOB_UNKNOWN"),
    ):
        r = s.get(path)
        assert r.status_code == 404 and error(r)["code"] == code, path
    assert s.get(f"/v2/{world.repo}/referrers/{world.images['v1.5.0'].digest}").json()["manifests"] == []
    assert jwt_claims(world.bearer(stranger.token, f"repository:{world.repo}:pull"))["access"] == []


def test_a_rival_vendor_cannot_see_or_touch_acmes_customers(
    world: World, globex: Customer, rival: dict[str, Any]
) -> None:
    assert globex.license is not None
    lic_id, token_id = globex.license["id"], globex.pull_token["id"]
    with httpx.Client(
        base_url=world.server.url + "/api/v1", headers={"Authorization": f"Bearer {rival['token']}"}, timeout=30
    ) as r_api:
        assert r_api.get("/customers").json()["items"] == []
        assert r_api.get("/licenses").json()["items"] == []
        assert r_api.get("/licenses", params={"customer_id": globex.id}).json()["items"] == []
        assert world.repo not in json.dumps(r_api.get("/repositories").json())
        for method, path, body in (
            ("GET", f"/customers/{globex.id}", None),
            ("PATCH", f"/customers/{globex.id}", {"name": "pwned"}),
            ("GET", f"/customers/{globex.id}/pull-tokens", None),
            ("POST", f"/customers/{globex.id}/pull-tokens", {"name": "mine"}),
            ("POST", f"/customers/{globex.id}/invitations", {"email": "spy@rival.test", "role": "admin"}),
            ("GET", f"/licenses/{lic_id}", None),
            ("PATCH", f"/licenses/{lic_id}", {"grants": [{"repository": world.repo, "tags": ["*"]}]}),
            ("DELETE", f"/licenses/{lic_id}", None),
            ("DELETE", f"/pull-tokens/{token_id}", None),
            ("POST", "/licenses", {"customer_id": globex.id, "name": "x", "grants": []}),
            ("GET", f"/repositories/{world.repo}/tags", None),
            ("DELETE", f"/customers/{globex.id}", None),
        ):
            r = r_api.request(method, path, json=body)
            assert r.status_code == 404, (method, path, r.status_code, r.text)
        # a license of its own over acme's repositories is refused on input
        mine = r_api.post("/customers", json={"name": "Mole"}).json()
        r = r_api.post(
            "/licenses",
            json={"customer_id": mine["id"], "name": "x", "grants": [{"repository": "acme/**", "tags": ["*"]}]},
        )
        assert r.status_code == 400 and "grants[0].repository" in r.text
        r = r_api.post(
            "/licenses", json={"customer_id": mine["id"], "name": "x", "grants": [{"repository": "**", "tags": ["*"]}]}
        )
        assert r.status_code == 400
    # nothing changed for acme's customer
    assert globex.http.get(f"/v2/{world.repo}/manifests/v1.0.0").status_code == 200
    assert world.api.get(f"/customers/{globex.id}").json()["name"] == globex.name


def test_rival_and_acme_registries_are_sealed_from_each_other(
    world: World, globex: Customer, rival: dict[str, Any]
) -> None:
    rival_token, rival_repo = rival["token"], rival["repo"]
    v1 = world.images["v1.0.0"]
    for path in (
        f"/v2/{world.repo}/manifests/v1.0.0",
        f"/v2/{world.repo}/manifests/{v1.digest}",
        f"/v2/{world.repo}/blobs/{sha256(v1.layers[0])}",
        f"/v2/{world.repo}/tags/list",
    ):
        assert world.as_basic("GET", path, rival_token).status_code == 404, path
    catalog = world.as_basic("GET", "/v2/_catalog", rival_token, params={"n": 1000}).json()["repositories"]
    assert rival_repo in catalog and all(name.startswith(rival["slug"] + "/") for name in catalog), catalog
    assert jwt_claims(world.bearer(rival_token, f"repository:{world.repo}:pull,push"))["access"] == []
    # acme's customer and acme's vendor token cannot reach the rival's repository
    rival_img = rival["image"]
    for secret in (globex.token, world.server.token):
        for path in (
            f"/v2/{rival_repo}/manifests/v1.0.0",
            f"/v2/{rival_repo}/blobs/{sha256(rival_img.layers[0])}",
            f"/v2/{rival_repo}/tags/list",
        ):
            assert world.as_basic("GET", path, secret).status_code == 404, path
        assert rival_repo not in world.as_basic("GET", "/v2/_catalog", secret, params={"n": 1000}).text
    assert world.as_basic("GET", f"/v2/{rival_repo}/manifests/v1.0.0", rival_token).content == rival_img.manifest


# -- 18: changes bite within seconds -----------------------------------------------------------------
def test_expiry_denies_within_seconds(world: World, record_property: Any) -> None:
    cust = world.customer("Expiring", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    url = f"/v2/{world.repo}/manifests/v1.5.0"
    jwt = world.bearer(cust.token, f"repository:{world.repo}:pull")
    assert cust.http.get(url).status_code == 200
    past = (datetime.now(UTC) - timedelta(days=1)).replace(microsecond=0)
    world.patch_license(cust, valid_until=past.isoformat())
    measured("expiry", eventually(lambda: cust.http.get(url).status_code == 403), record_property)
    measured("expiry (JWT)", eventually(lambda: world.with_bearer("GET", url, jwt).status_code == 403), record_property)
    r = cust.http.get(url)
    assert error(r)["message"] == f"license 'Expiring Prod' expired on {past:%Y-%m-%d}"
    assert cust.http.get(f"/v2/{world.repo}/blobs/{sha256(world.images['v1.5.0'].layers[0])}").status_code == 403
    assert cust.http.get("/v2/_catalog").json()["repositories"] == []
    assert cust.http.get(f"/v2/{world.repo}/tags/list").json()["tags"] == []
    # grace days bring access back, with a warning saying the license expired
    world.patch_license(cust, grace_days=3)
    measured("grace", eventually(lambda: cust.http.get(url).status_code == 200), record_property)
    assert f"expired on {past:%Y-%m-%d}" in cust.http.get(url).headers["warning"]
    # a start date in the future closes it again
    start = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    world.patch_license(cust, valid_from=start.isoformat(), valid_until=None, grace_days=0)
    measured("not yet valid", eventually(lambda: cust.http.get(url).status_code == 403), record_property)
    assert error(cust.http.get(url))["message"] == f"license 'Expiring Prod' is not valid before {start:%Y-%m-%d}"


def test_expiry_warning_appears_within_14_days(world: World, record_property: Any) -> None:
    far = datetime.now(UTC) + timedelta(days=60)
    cust = world.customer(
        "Warned", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}], valid_until=far.isoformat()
    )
    url = f"/v2/{world.repo}/manifests/v1.5.0"
    assert "warning" not in cust.http.get(url).headers
    soon = (datetime.now(UTC) + timedelta(days=10)).replace(microsecond=0)
    world.patch_license(cust, valid_until=soon.isoformat())
    measured("expiry warning", eventually(lambda: "warning" in cust.http.get(url).headers), record_property)
    expected = f"299 - \"license 'Warned Prod' expires on {soon:%Y-%m-%d}\""
    assert cust.http.get(url).headers["warning"] == expected
    assert cust.http.head(url).headers["warning"] == expected
    assert (
        cust.http.get(f"/v2/{world.repo}/blobs/{sha256(world.images['v1.5.0'].layers[0])}").headers["warning"]
        == expected
    )


def test_suspension_denies_within_seconds_also_for_issued_jwts(
    world: World, record_property: Any, tmp_path: Path
) -> None:
    cust = world.customer("Suspended", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    url = f"/v2/{world.repo}/manifests/v1.5.0"
    jwt = world.bearer(cust.token, f"repository:{world.repo}:pull")
    assert world.with_bearer("GET", url, jwt).status_code == 200
    world.patch_license(cust, status="suspended")
    measured(
        "suspension (JWT)", eventually(lambda: world.with_bearer("GET", url, jwt).status_code == 403), record_property
    )
    assert error(world.with_bearer("GET", url, jwt))["message"] == "license 'Suspended Prod' is suspended"
    assert error(cust.http.get(url))["message"] == "license 'Suspended Prod' is suspended"
    skopeo = skopeo_copy(world.server, cust.token, f"{world.repo}:v1.0.0", tmp_path / "layout", "v1.0.0")
    assert skopeo.returncode != 0 and "is suspended" in skopeo.stderr
    world.patch_license(cust, status="active")
    measured(
        "reactivation (JWT)", eventually(lambda: world.with_bearer("GET", url, jwt).status_code == 200), record_property
    )


def test_grant_edit_bites_within_seconds(world: World, record_property: Any) -> None:
    cust = world.customer("Edited", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    jwt = world.bearer(cust.token, f"repository:{world.repo}:pull")
    v1, v2 = f"/v2/{world.repo}/manifests/v1.0.0", f"/v2/{world.repo}/manifests/v2.0.0"
    assert cust.http.get(v2).status_code == 403
    world.patch_license(cust, grants=[{"repository": world.repo, "tags": [">=2.0.0"]}])
    measured("grant edit", eventually(lambda: cust.http.get(v2).status_code == 200), record_property)
    assert cust.http.get(v2).content == world.images["v2.0.0"].manifest
    assert world.with_bearer("GET", v2, jwt).status_code == 200
    r = cust.http.get(v1)
    assert r.status_code == 403 and error(r)["message"] == "tag v1.0.0 is not covered by license 'Edited Prod'"
    assert world.with_bearer("GET", v1, jwt).status_code == 403
    assert cust.http.get(f"/v2/{world.repo}/tags/list").json()["tags"] == ["v2.0.0"]
    referrers = cust.http.get(f"/v2/{world.repo}/referrers/{world.images['v2.0.0'].digest}").json()["manifests"]
    assert [d["digest"] for d in referrers] == [sha256(world.signatures["v2.0.0"])]


def test_pull_token_revocation_bites_within_seconds(world: World, record_property: Any) -> None:
    cust = world.customer("Revoked", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    url = f"/v2/{world.repo}/manifests/v1.5.0"
    got = world.token_response(cust.token, f"repository:{world.repo}:pull", offline_token="true").json()
    jwt, refresh = got["token"], got["refresh_token"]
    assert world.with_bearer("GET", url, jwt).status_code == 200
    assert world.api.delete(f"/pull-tokens/{cust.pull_token['id']}").status_code == 204
    measured("revocation", eventually(lambda: cust.http.get(url).status_code == 401), record_property)
    measured(
        "revocation (JWT)", eventually(lambda: world.with_bearer("GET", url, jwt).status_code == 401), record_property
    )
    assert world.token_response(cust.token, f"repository:{world.repo}:pull").status_code == 401
    minted = httpx.post(
        f"{world.server.url}/token", data={"grant_type": "refresh_token", "refresh_token": refresh}, timeout=30
    )
    assert minted.status_code == 401
    listed = world.api.get(f"/customers/{cust.id}/pull-tokens").json()["items"]
    assert listed[0]["revoked_at"] is not None
    assert world.api.delete(f"/pull-tokens/{cust.pull_token['id']}").status_code in (204, 404)


def test_pull_token_expiry_bites_within_seconds(world: World, record_property: Any) -> None:
    cust = world.customer("Timed", [{"repository": world.repo, "tags": ["*"]}])
    expires = datetime.now(UTC) + timedelta(seconds=3)
    r = world.api.post(f"/customers/{cust.id}/pull-tokens", json={"name": "short", "expires_at": expires.isoformat()})
    assert r.status_code == 201, r.text
    short = r.json()["token"]
    url = f"/v2/{world.repo}/manifests/v1.0.0"
    jwt = world.bearer(short, f"repository:{world.repo}:pull")
    assert world.as_basic("GET", url, short).status_code == 200
    time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()))
    measured(
        "pull token expiry", eventually(lambda: world.as_basic("GET", url, short).status_code == 401), record_property
    )
    assert world.with_bearer("GET", url, jwt).status_code == 401


def test_customer_deletion_revokes_its_tokens(world: World, record_property: Any) -> None:
    cust = world.customer("Deleted", [{"repository": world.repo, "tags": ["*"]}])
    url = f"/v2/{world.repo}/manifests/v2.0.0"
    jwt = world.bearer(cust.token, f"repository:{world.repo}:pull")
    assert cust.http.get(url).status_code == 200
    assert world.api.delete(f"/customers/{cust.id}").status_code == 204
    measured("customer deletion", eventually(lambda: cust.http.get(url).status_code == 401), record_property)
    assert world.with_bearer("GET", url, jwt).status_code == 401
    assert world.api.get(f"/customers/{cust.id}").status_code == 404
    assert cust.license is not None
    assert world.api.get(f"/licenses/{cust.license['id']}").status_code == 404
    assert world.api.get("/licenses", params={"customer_id": cust.id}).json()["items"] == []


def test_license_deletion_hides_the_repository_within_seconds(world: World, record_property: Any) -> None:
    cust = world.customer("Unlicensed", [{"repository": world.repo, "tags": ["*"]}])
    jwt = world.bearer(cust.token, f"repository:{world.repo}:pull")
    url = f"/v2/{world.repo}/manifests/v1.0.0"
    assert world.with_bearer("GET", url, jwt).status_code == 200
    assert cust.license is not None
    assert world.api.delete(f"/licenses/{cust.license['id']}").status_code == 204
    measured("license deletion", eventually(lambda: cust.http.get(url).status_code == 404), record_property)
    assert error(cust.http.get(url))["code"] == "MANIFEST_UNKNOWN"
    assert world.with_bearer("GET", url, jwt).status_code == 404
    assert cust.http.get("/v2/_catalog").json()["repositories"] == []


def test_a_deleted_customers_jwt_never_becomes_someone_elses(world: World) -> None:
    """JWTs name their token by id (`sub: token:N`). Once a customer is deleted, a JWT or refresh token issued
    to its pull token must stay dead, even when a new token is created afterwards (and, on SQLite, could be
    given the same id as the deleted row)."""
    cust = world.customer("Gone", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    got = world.token_response(cust.token, f"repository:{world.repo}:pull", offline_token="true").json()
    jwt, refresh = got["token"], got["refresh_token"]
    v2 = f"/v2/{world.repo}/manifests/v2.0.0"
    assert world.with_bearer("GET", v2, jwt).status_code == 403
    assert world.api.delete(f"/customers/{cust.id}").status_code == 204
    r = world.api.post("/tokens", json={"name": "ci after the deletion", "role": "release", "kind": "push"})
    assert r.status_code == 201, r.text
    ids = f"the new vendor token got id {r.json()['id']}, the deleted pull token's was {cust.pull_token['id']}"
    problems = []
    answer = world.with_bearer("GET", v2, jwt)
    if answer.status_code != 401:
        problems.append(f"the deleted customer's JWT: GET {v2} -> {answer.status_code}, expected 401")
    minted = httpx.post(
        f"{world.server.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "scope": f"repository:{world.repo}:pull,push"},
        timeout=30,
    )
    if minted.status_code != 401:
        access = jwt_claims(minted.json()["access_token"])["access"] if minted.status_code == 200 else minted.text
        problems.append(f"the deleted customer's refresh token: POST /token -> {minted.status_code} {access}")
    assert not problems, f"{'; '.join(problems)} ({ids})"


def test_a_second_node_enforces_changes_within_seconds(world: World, live_server: Any, record_property: Any) -> None:
    """Another process on the same database learns of a suspension, a grant edit and a revocation only
    through its own short caches (WHARF_CREDENTIAL_CACHE_SECONDS, 2 s by default)."""
    cust = world.customer("TwoNodes", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
    data_dir = Path(live_server.env["WHARF_DATA_DIR"])
    node_b = start_server(data_dir, live_server.env["WHARF_DATABASE_URL"], vendor=f"node{uuid.uuid4().hex[:4]}")
    try:
        base = f"{node_b.url}/v2/{world.repo}/manifests"
        token = cust.token
        jwt = httpx.get(
            f"{node_b.url}/token", params={"scope": f"repository:{world.repo}:pull"}, auth=("x", token)
        ).json()["token"]

        def on_b(ref: str, bearer: bool = False) -> int:
            if bearer:
                return httpx.get(f"{base}/{ref}", headers={"Authorization": f"Bearer {jwt}"}).status_code
            return httpx.get(f"{base}/{ref}", auth=("x", token)).status_code

        assert on_b("v1.5.0") == 200 and on_b("v1.5.0", bearer=True) == 200  # node B caches the good state
        world.patch_license(cust, status="suspended")
        measured(
            "second node: suspension (JWT)", eventually(lambda: on_b("v1.5.0", bearer=True) == 403), record_property
        )
        world.patch_license(cust, status="active", grants=[{"repository": world.repo, "tags": [">=2.0.0"]}])
        measured("second node: grant edit", eventually(lambda: on_b("v2.0.0") == 200), record_property)
        assert on_b("v1.5.0") == 403
        assert on_b("v2.0.0", bearer=True) == 200  # node B's credential cache is fresh: the bound is measured
        assert world.api.delete(f"/pull-tokens/{cust.pull_token['id']}").status_code == 204
        measured(
            "second node: revocation (JWT)", eventually(lambda: on_b("v2.0.0", bearer=True) == 401), record_property
        )
    finally:
        node_b.stop()


# -- the same core on PostgreSQL ---------------------------------------------------------------------
def test_core_scenario_on_postgresql(postgres_base: str, tmp_path: Path, record_property: Any) -> None:
    name = f"wharf_ent_{uuid.uuid4().hex[:10]}"
    url = in_thread(asyncio.run, postgres.create_database(postgres_base, name))
    server = start_server(tmp_path, url)
    try:
        world = build_world(server)
        try:
            cust = world.customer("PgCo", [{"repository": world.repo, "tags": [">=1.0.0 <2.0.0"]}])
            result = skopeo_copy(server, cust.token, f"{world.repo}:v1.6.0", tmp_path / "multi", "v1.6.0", "--all")
            assert result.returncode == 0, result.stderr
            r = cust.http.get(f"/v2/{world.repo}/manifests/v2.0.0")
            assert r.status_code == 403 and error(r)["message"] == "tag v2.0.0 is not covered by license 'PgCo Prod'"
            assert (
                cust.http.get(f"/v2/{world.repo}/blobs/{sha256(world.images['v2.0.0'].layers[0])}").status_code == 403
            )
            assert cust.http.get("/v2/_catalog").json()["repositories"] == [world.repo]
            assert cust.http.get(f"/v2/{world.other_repo}/tags/list").status_code == 404
            jwt = world.bearer(cust.token, f"repository:{world.repo}:pull")
            world.patch_license(cust, status="suspended")
            path = f"/v2/{world.repo}/manifests/v1.0.0"
            measured(
                "postgresql: suspension (JWT)",
                eventually(lambda: world.with_bearer("GET", path, jwt).status_code == 403),
                record_property,
            )
            assert world.api.delete(f"/pull-tokens/{cust.pull_token['id']}").status_code == 204
            measured(
                "postgresql: revocation", eventually(lambda: cust.http.get(path).status_code == 401), record_property
            )
        finally:
            world.close()
    finally:
        server.stop()
        in_thread(asyncio.run, postgres.drop_database(postgres_base, name))


def test_index_media_type_sanity(world: World) -> None:
    """The v1.6.0 index is what the vendor pushed (guards the multi-arch assertions above)."""
    r = world.vendor.get(f"/v2/{world.repo}/manifests/v1.6.0", headers={"Accept": OCI_INDEX})
    assert r.headers["content-type"] == OCI_INDEX and r.content == world.multi
