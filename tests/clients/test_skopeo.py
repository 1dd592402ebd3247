"""skopeo pushes and pulls single-arch images and multi-arch indexes through the token flow."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.clients.conftest import Skopeo, layout_manifest, unique
from tests.conftest import in_thread
from tests.support import postgres
from tests.support.oci import image, index, sha256, write_layout
from tests.support.server import start_server

pytestmark = pytest.mark.clients


def test_single_arch_round_trip(skopeo, tmp_path):
    img = image("skopeo-single")
    src = write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs)
    repo = unique("single")
    skopeo.push(src, "v1", f"{repo}:v1")

    info = skopeo.inspect(f"{repo}:v1")
    assert info["Digest"] == img.digest and info["RepoTags"] == ["v1"] and info["Architecture"] == "amd64"
    tags = json.loads(
        skopeo.run("list-tags", "--tls-verify=false", "--creds", skopeo.creds, f"docker://{skopeo.host}/{repo}").stdout
    )
    assert tags["Tags"] == ["v1"]

    out = tmp_path / "out"
    skopeo.pull(f"{repo}:v1", out, "v1")
    pulled = layout_manifest(out, "v1")
    assert sha256(pulled) == img.digest
    layer = json.loads(pulled)["layers"][0]["digest"]
    assert (out / "blobs" / "sha256" / layer.split(":")[1]).read_bytes() == img.layers[0]


def test_multi_arch_index_round_trip(skopeo, tmp_path):
    amd, arm = image("skopeo-multi", "amd64"), image("skopeo-multi", "arm64")
    top = index([(amd, "amd64"), (arm, "arm64")])
    src = write_layout(
        tmp_path / "src",
        {"v2": top},
        {**amd.blobs, **arm.blobs, sha256(amd.manifest): amd.manifest, sha256(arm.manifest): arm.manifest},
    )
    repo = unique("multi")
    skopeo.push(src, "v2", f"{repo}:v2", "--all")
    raw = skopeo.run(
        "inspect", "--raw", "--tls-verify=false", "--creds", skopeo.creds, f"docker://{skopeo.host}/{repo}:v2"
    ).stdout.encode()
    assert raw == top
    out = tmp_path / "out"
    skopeo.pull(f"{repo}:v2", out, "v2", "--all")
    assert layout_manifest(out, "v2") == top
    for img in (amd, arm):
        assert (out / "blobs" / "sha256" / img.digest.split(":")[1]).read_bytes() == img.manifest
    arm_info = skopeo.inspect(f"{repo}@{arm.digest}")
    assert arm_info["Architecture"] == "arm64"


def test_bad_credentials_and_foreign_repositories_fail(skopeo, tmp_path):
    img = image("skopeo-denied")
    src = write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs)
    wrong = skopeo.push(src, "v1", f"{unique('denied')}:v1", creds="ci:wharf_api_wrong", check=False)
    assert wrong.returncode != 0 and ("unauthorized" in wrong.stderr.lower() or "authentication" in wrong.stderr)
    foreign = skopeo.push(src, "v1", "other/thing:v1", check=False)
    assert foreign.returncode != 0
    assert "denied" in foreign.stderr.lower() or "unauthorized" in foreign.stderr.lower()


def test_round_trip_on_postgresql(postgres_base, tmp_path):
    name = f"wharf_clients_{tmp_path.name[-8:].replace('-', '_')}"
    url = in_thread(asyncio.run, postgres.create_database(postgres_base, name))
    server = start_server(tmp_path / "data", url)
    try:
        client = Skopeo(server.host, server.token)
        img = image("skopeo-pg")
        src = write_layout(tmp_path / "src", {"v1": img.manifest}, img.blobs)
        client.push(src, "v1", "acme/pg:v1")
        assert client.inspect("acme/pg:v1")["Digest"] == img.digest
        client.pull("acme/pg:v1", tmp_path / "out", "v1")
        assert sha256(layout_manifest(tmp_path / "out", "v1")) == img.digest
    finally:
        server.stop()
        in_thread(asyncio.run, postgres.drop_database(postgres_base, name))
