"""skopeo pushes and pulls single-arch images and multi-arch indexes through the token flow."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from tests.clients.conftest import Skopeo, layout_blob, layout_manifest, unique
from tests.conftest import in_thread
from tests.support import postgres
from tests.support.oci import image, index, sha256, write_layout
from tests.support.server import start_server

pytestmark = pytest.mark.clients


def single_arch_round_trip(client: Skopeo, tmp_path: Path, label: str) -> tuple[str, bytes]:
    """Push a one-platform image with skopeo, inspect it, list its tags, pull it back byte for byte."""
    img = image(label, "amd64")
    src = write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs)
    repo = unique(label)
    client.push(src, "v1", f"{repo}:v1")

    info = client.inspect(f"{repo}:v1")
    assert info["Digest"] == img.digest
    assert info["RepoTags"] == ["v1"]
    assert (info["Architecture"], info["Os"]) == ("amd64", "linux")
    assert info["Labels"] == {"label": label}
    tags = client.list_tags(repo)
    assert tags == {"Repository": f"{client.host}/{repo}", "Tags": ["v1"]}

    out = tmp_path / "out"
    client.pull(f"{repo}:v1", out, "v1")
    pulled = layout_manifest(out, "v1")
    assert pulled == img.manifest
    assert sha256(pulled) == img.digest
    manifest = json.loads(pulled)
    assert layout_blob(out, manifest["config"]["digest"]) == img.config
    assert [layout_blob(out, d["digest"]) for d in manifest["layers"]] == img.layers
    return repo, img.manifest


def test_single_arch_round_trip(skopeo, tmp_path):
    single_arch_round_trip(skopeo, tmp_path, "skopeo-single")


def test_multi_arch_index_round_trip(skopeo, tmp_path):
    amd, arm = image("skopeo-multi", "amd64"), image("skopeo-multi", "arm64")
    top = index([(amd, "amd64"), (arm, "arm64")])
    children = {amd.digest: amd.manifest, arm.digest: arm.manifest}
    src = write_layout(tmp_path / "src", {"v2": top}, {**amd.blobs, **arm.blobs, **children})
    repo = unique("multi")
    skopeo.push(src, "v2", f"{repo}:v2", "--all")

    raw = skopeo.inspect_raw(f"{repo}:v2")
    assert raw == top
    assert sha256(raw) == sha256(top)
    info = skopeo.inspect(f"{repo}:v2")  # the index's digest, this host's platform
    assert info["Digest"] == sha256(top) and info["Architecture"] == "amd64"
    for img, arch in ((amd, "amd64"), (arm, "arm64")):
        assert skopeo.inspect_raw(f"{repo}@{img.digest}") == img.manifest
        assert skopeo.inspect(f"{repo}@{img.digest}")["Architecture"] == arch

    out = tmp_path / "out"
    skopeo.pull(f"{repo}:v2", out, "v2", "--all")
    assert layout_manifest(out, "v2") == top
    for img in (amd, arm):
        assert layout_blob(out, img.digest) == img.manifest
        assert layout_blob(out, sha256(img.config)) == img.config
        assert layout_blob(out, sha256(img.layers[0])) == img.layers[0]


def test_skopeo_follows_the_bearer_challenge(skopeo, live_server, tmp_path):
    challenge = httpx.get(f"{live_server.url}/v2/")
    assert challenge.status_code == 401
    assert challenge.headers["www-authenticate"] == (
        f'Bearer realm="{live_server.url}/token",service="{live_server.host}"'
    )

    img = image("skopeo-bearer")
    src = write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs)
    repo = unique("bearer")
    pushed = skopeo.push(src, "v1", f"{repo}:v1", debug=True)
    log = pushed.stderr
    assert f"Ping {live_server.url}/v2/ status 401" in log
    assert f"GET {live_server.url}/token?" in log
    assert "scope=" + quote(f"repository:{repo}:pull,push", safe="") in log
    assert f"PUT {live_server.url}/v2/{repo}/manifests/v1" in log
    assert skopeo.inspect(f"{repo}:v1")["Digest"] == img.digest


def test_bad_credentials_and_foreign_repositories_fail(skopeo, tmp_path):
    img = image("skopeo-denied")
    src = write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs)
    repo = unique("denied")
    wrong = skopeo.push(src, "v1", f"{repo}:v1", creds="ci:wharf_api_wrong", check=False)
    assert wrong.returncode != 0
    assert "unauthorized" in wrong.stderr.lower() or "authentication" in wrong.stderr.lower(), wrong.stderr
    pull = skopeo.pull(f"{repo}:v1", tmp_path / "out", "v1", creds="ci:wharf_api_wrong", check=False)
    assert pull.returncode != 0
    assert "unauthorized" in pull.stderr.lower() or "authentication" in pull.stderr.lower(), pull.stderr

    foreign_repo = f"other/thing-{uuid.uuid4().hex[:8]}"
    foreign = skopeo.push(src, "v1", f"{foreign_repo}:v1", check=False)
    assert foreign.returncode != 0
    # the refusal reaches the user with its reason (no challenge for a scope no token would carry)
    assert f"push access to repository {foreign_repo} is denied" in foreign.stderr, foreign.stderr
    assert "unexpected end of JSON input" not in foreign.stderr, foreign.stderr
    plain = skopeo.push(src, "v1", "other/thing:v1", check=False)
    assert plain.returncode != 0
    # the refused push left nothing behind, even for the vendor's own token
    missing = skopeo.run(
        "inspect", "--tls-verify=false", "--creds", skopeo.creds, f"docker://{skopeo.host}/{repo}:v1", check=False
    )
    assert missing.returncode != 0 and "manifest unknown" in missing.stderr.lower(), missing.stderr


async def stored_manifest(url: str, repository: str) -> bytes | None:
    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await conn.fetchval(
            "SELECT m.content FROM manifests m JOIN repositories r ON r.id = m.repository_id WHERE r.name = $1",
            repository,
        )
    finally:
        await conn.close()


def test_round_trip_on_postgresql(postgres_base, tmp_path):
    name = f"wharf_clients_{uuid.uuid4().hex[:10]}"
    url = in_thread(asyncio.run, postgres.create_database(postgres_base, name))
    try:
        server = start_server(tmp_path / "data", url)
        try:
            repo, manifest = single_arch_round_trip(Skopeo(server.host, server.token), tmp_path, "skopeo-pg")
        finally:
            server.stop()
        # the second server really kept its metadata in PostgreSQL, with the exact manifest bytes
        assert in_thread(asyncio.run, stored_manifest(url, repo)) == manifest
    finally:
        in_thread(asyncio.run, postgres.drop_database(postgres_base, name))


def test_round_trip_on_s3_follows_blob_redirects(s3_server, tmp_path):
    prefix = f"skopeo-{uuid.uuid4().hex[:8]}/"
    data = tmp_path / "data"
    server = start_server(data, f"sqlite+aiosqlite:///{data / 'wharf.db'}", extra_env=s3_server.env(prefix))
    try:
        repo, manifest = single_arch_round_trip(Skopeo(server.host, server.token), tmp_path, "skopeo-s3")
        layer = json.loads(manifest)["layers"][0]["digest"]
        r = httpx.get(f"{server.url}/v2/{repo}/blobs/{layer}", auth=("ci", server.token))
        assert r.status_code == 307 and r.headers["location"].startswith(s3_server.endpoint_url)
    finally:
        server.stop()
    stored = s3_server.root / "data" / s3_server.bucket / prefix / "blobs" / "sha256" / layer[7:9] / layer[7:]
    assert stored.is_file()  # the layer lives in S3, not under the data dir
    assert not (data / "storage" / "blobs" / "sha256").exists()
    with sqlite3.connect(data / "wharf.db") as conn:  # skopeo's blob GETs were answered with redirects
        statuses = {row[0] for row in conn.execute("SELECT status FROM download_events WHERE action = 'blob.get'")}
    assert statuses == {307}
