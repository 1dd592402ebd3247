"""Pushes through the HTTP app while another process collects garbage in the same repository.

With no grace period a push may fail cleanly (its uploaded but not yet referenced blobs are garbage
by definition), but whatever was accepted is complete. With a grace period longer than a push,
every push succeeds while old garbage is still collected around it.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from registry.digests import parse_digest
from registry.metadata import blobs, manifests, references, repositories, repository_blobs
from tests.registry.helpers import error_code, push_blob, push_image
from tests.registry.test_gc import age
from tests.support.oci import OCI_LAYER, OCI_MANIFEST, Image, descriptor, image, sha256

ROUNDS = 30
RETRIES = 5
ROOT = Path(__file__).resolve().parents[2]


def racing_image(reused_layer: bytes | None) -> Image:
    """A fresh image; with `reused_layer`, one whose only layer is that (garbage) blob."""
    fresh = image(f"race-{uuid.uuid4().hex}")
    if reused_layer is None:
        return fresh
    document = json.loads(fresh.manifest)
    document["layers"] = [descriptor(OCI_LAYER, reused_layer)]
    blobs_ = {sha256(fresh.config): fresh.config, sha256(reused_layer): reused_layer}
    return Image(fresh.config, [reused_layer], json.dumps(document).encode(), blobs_)


async def race(wharf, database_url: str, tmp_path: Path, grace: timedelta, age_garbage: bool):
    """Seed garbage, start collecting in another process, push ROUNDS images; return results."""
    repo = wharf.repo("race")
    garbage = [image(f"garbage-{uuid.uuid4().hex}") for _ in range(5)]
    for img in garbage:
        await push_image(wharf, repo, img)  # untagged
    if age_garbage:
        await age(wharf, repo, timedelta(hours=2))
    stop = tmp_path / "stop"
    collector = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tests.support.gc_loop",
        database_url,
        str(wharf.app.state.registry.store.root),
        repo,
        str(grace.total_seconds()),
        str(stop),
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
    )
    accepted, refused = [], 0
    try:
        await asyncio.sleep(1.0)  # let the collector get going
        for i in range(ROUNDS):
            img = racing_image(garbage[i % 5].layers[0] if i % 2 else None)
            for _attempt in range(RETRIES):  # as a client does after MANIFEST_BLOB_UNKNOWN: push again
                for data in img.blobs.values():
                    await push_blob(wharf, repo, data)
                r = await wharf.client.put(
                    f"/v2/{repo}/manifests/v{i}",
                    content=img.manifest,
                    headers={**wharf.auth, "Content-Type": OCI_MANIFEST},
                )
                if r.status_code == 201:
                    accepted.append(img)
                    break
                assert r.status_code == 400 and error_code(r) == "MANIFEST_BLOB_UNKNOWN", r.text
                refused += 1
    finally:
        stop.touch()
        out, _ = await asyncio.wait_for(collector.communicate(), 120)
    assert collector.returncode == 0
    totals = json.loads(out)
    await wharf.app.state.registry.metadata.drop_if_collected()
    return repo, accepted, refused, totals


async def assert_complete(wharf, repo: str, accepted: list[Image]) -> None:
    """Every accepted image pulls whole; every blob a remaining manifest names is linked and stored."""
    for img in accepted:
        r = await wharf.client.get(f"/v2/{repo}/manifests/{img.digest}", headers=wharf.auth)
        assert r.status_code == 200 and r.content == img.manifest
        for digest, data in img.blobs.items():
            r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
            assert r.status_code == 200 and r.content == data, (digest, r.status_code)
    named = (
        select(references.c.digest, repository_blobs.c.digest.label("linked"), blobs.c.digest.label("stored"))
        .join(manifests, manifests.c.id == references.c.manifest_id)
        .join(repositories, repositories.c.id == manifests.c.repository_id)
        .outerjoin(
            repository_blobs,
            (repository_blobs.c.repository_id == manifests.c.repository_id)
            & (repository_blobs.c.digest == references.c.digest),
        )
        .outerjoin(blobs, blobs.c.digest == references.c.digest)
        .where(repositories.c.name == repo, ~references.c.is_manifest)
    )
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        rows = (await conn.execute(named)).all()
    store = wharf.app.state.registry.store
    assert rows
    for row in rows:
        assert row.linked and row.stored and await store.exists(parse_digest(row.digest)), row.digest


async def test_pushes_racing_collections_with_no_grace_never_leave_a_broken_image(wharf, database_url, tmp_path):
    repo, accepted, refused, totals = await race(wharf, database_url, tmp_path, timedelta(0), age_garbage=False)
    print(f"no grace: {len(accepted)} pushes accepted, {refused} refused cleanly, collector {totals}")
    assert totals["runs"] > 1 and totals["manifests"] >= 5  # the collector really ran alongside
    assert accepted and len(accepted) + refused >= ROUNDS  # every round accepted or refused cleanly
    await assert_complete(wharf, repo, accepted)


async def test_with_a_grace_period_every_racing_push_succeeds(wharf, database_url, tmp_path):
    repo, accepted, refused, totals = await race(wharf, database_url, tmp_path, timedelta(minutes=10), age_garbage=True)
    print(f"grace 10m: {len(accepted)} pushes accepted, {refused} refused, collector {totals}")
    assert totals["runs"] > 1 and totals["manifests"] == 5  # the aged garbage went, concurrently
    assert refused == 0 and len(accepted) == ROUNDS  # never a retry
    await assert_complete(wharf, repo, accepted)
