"""Which tags reach a digest: the graph the entitlement decision by digest stands on."""

from __future__ import annotations

import json

from tests.registry.helpers import push_blob, push_image, push_manifest
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, descriptor, image, index, sha256


async def test_reach_tags_through_history_indexes_and_subjects(wharf):
    repo, metadata = wharf.repo(), wharf.app.state.registry.metadata
    old, new = image("reach-old"), image("reach-new")
    await push_image(wharf, repo, old, "1.0.0")
    await push_image(wharf, repo, new, "1.0.0")  # 1.0.0 moves on; old keeps its history
    await push_manifest(wharf, repo, "latest", new.manifest)
    amd, arm = image("reach-multi", "amd64"), image("reach-multi", "arm64")
    await push_image(wharf, repo, amd)
    await push_image(wharf, repo, arm)
    multi = index([(amd, "amd64"), (arm, "arm64")])
    await push_manifest(wharf, repo, "2.0.0", multi, OCI_INDEX)
    await push_blob(wharf, repo, b"{}")
    sig = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/x.sig",
            "config": descriptor("application/vnd.oci.empty.v1+json", b"{}"),
            "layers": [],
            "subject": descriptor(OCI_INDEX, multi),
        }
    ).encode()
    await push_manifest(wharf, repo, sha256(sig), sig)
    untagged = image("reach-untagged")
    await push_image(wharf, repo, untagged)

    assert await metadata.reach_tags(repo, old.digest) == {"1.0.0"}
    assert await metadata.reach_tags(repo, new.digest) == {"1.0.0", "latest"}
    assert await metadata.reach_tags(repo, arm.digest) == {"2.0.0"}  # child of an index
    assert await metadata.reach_tags(repo, sha256(arm.layers[0])) == {"2.0.0"}  # blob of a child
    assert await metadata.reach_tags(repo, sha256(sig)) == {"2.0.0"}  # referrer of a tagged subject
    assert await metadata.reach_tags(repo, untagged.digest) == frozenset()
    assert await metadata.reach_tags(repo, sha256(b"unknown")) == frozenset()
    # a later tag extends what reaches the content (the cache follows writes)
    await push_manifest(wharf, repo, "2.0.1", multi, OCI_INDEX)
    assert await metadata.reach_tags(repo, sha256(sig)) == {"2.0.0", "2.0.1"}
