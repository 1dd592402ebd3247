"""Garbage collection against the real app, store and database (SQLite and PostgreSQL).

Runs are scoped to the test's own repositories (the session database is shared with other tests),
except in the last test, which has a database of its own.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.db import upgrade
from registry.digests import parse_digest
from registry.gc import Collection, collect
from registry.manifests import parse_manifest
from registry.metadata import Metadata, blobs, manifests, repositories, repository_blobs, tag_history
from registry.sql import create_engine
from registry.storage.filesystem import FilesystemBlobStore
from registry.uploads import Uploads
from tests.conftest import in_thread
from tests.registry.helpers import error_code, push_blob, push_image, push_manifest
from tests.support import postgres
from tests.support.oci import OCI_INDEX, OCI_MANIFEST, Image, descriptor, image, index, sha256


async def gc(wharf, repo: str, *, delete: bool = True, grace: timedelta = timedelta(0)) -> Collection:
    """Collect in `repo`, then let the app notice, as its background check does every few seconds."""
    registry = wharf.app.state.registry
    result = await collect(registry.metadata.engine, registry.store, grace, repository=repo, delete=delete)
    removed = bool(result.manifests or result.links or result.blobs)
    assert await registry.metadata.drop_if_collected() == (delete and removed)
    return result


def unique(label: str) -> Image:
    return image(f"{label}-{uuid.uuid4().hex}")


async def status(wharf, repo: str, kind: str, digest: str) -> int:
    return (await wharf.client.get(f"/v2/{repo}/{kind}/{digest}", headers=wharf.auth)).status_code


async def pullable(wharf, repo: str, img: Image) -> bool:
    codes = [await status(wharf, repo, "manifests", img.digest)]
    codes += [await status(wharf, repo, "blobs", digest) for digest in img.blobs]
    return codes == [200] * len(codes)


async def untag(wharf, repo: str, tag: str) -> None:
    r = await wharf.client.delete(f"/v2/{repo}/manifests/{tag}", headers=wharf.auth)
    assert r.status_code == 202, r.text


async def age(wharf, repo: str, by: timedelta) -> None:
    """Pretend everything in `repo` was pushed `by` ago."""
    then = datetime.now(UTC) - by
    engine = wharf.app.state.registry.metadata.engine
    repo_id = select(repositories.c.id).where(repositories.c.name == repo).scalar_subquery()
    linked = select(repository_blobs.c.digest).where(repository_blobs.c.repository_id == repo_id)
    async with engine.begin() as conn:
        await conn.execute(update(manifests).where(manifests.c.repository_id == repo_id).values(created_at=then))
        await conn.execute(update(blobs).where(blobs.c.digest.in_(linked)).values(created_at=then))
        await conn.execute(
            update(repository_blobs).where(repository_blobs.c.repository_id == repo_id).values(created_at=then)
        )


async def test_untagged_manifest_and_its_unique_blobs_go_shared_layers_stay(wharf):
    repo, files = wharf.repo(), {"shared.txt": uuid.uuid4().bytes}
    kept = image(f"kept-{uuid.uuid4().hex}", layer_files=files)
    dropped = image(f"dropped-{uuid.uuid4().hex}", layer_files=files)
    assert kept.layers == dropped.layers and kept.config != dropped.config
    await push_image(wharf, repo, kept, "1.0")
    await push_image(wharf, repo, dropped, "2.0")
    await untag(wharf, repo, "2.0")

    result = await gc(wharf, repo)

    assert [m.digest for m in result.manifests] == [dropped.digest]
    assert [b.digest for b in result.blobs] == [sha256(dropped.config)]
    assert result.blob_bytes == len(dropped.config)
    assert await pullable(wharf, repo, kept)
    assert await status(wharf, repo, "manifests", dropped.digest) == 404
    r = await wharf.client.get(f"/v2/{repo}/blobs/{sha256(dropped.config)}", headers=wharf.auth)
    assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN"
    store = wharf.app.state.registry.store
    assert not await store.exists(parse_digest(sha256(dropped.config)))
    assert await store.exists(parse_digest(sha256(kept.layers[0])))
    async with wharf.app.state.registry.metadata.engine.connect() as conn:
        history = select(func.count()).where(tag_history.c.digest == dropped.digest)
        assert (await conn.execute(history)).scalar() == 0
    assert (await gc(wharf, repo)).manifests == []  # nothing left to do


async def test_index_children_stay_while_the_index_is_tagged_and_go_with_it(wharf):
    repo, amd, arm = wharf.repo(), unique("amd"), unique("arm")
    for img in (amd, arm):
        await push_image(wharf, repo, img)
    multi = index([(amd, "amd64"), (arm, "arm64")])
    await push_manifest(wharf, repo, "1.0", multi, media_type=OCI_INDEX)

    assert (await gc(wharf, repo)).manifests == []
    assert await pullable(wharf, repo, amd) and await pullable(wharf, repo, arm)

    await untag(wharf, repo, "1.0")
    result = await gc(wharf, repo)
    assert {m.digest for m in result.manifests} == {sha256(multi), amd.digest, arm.digest}
    assert {b.digest for b in result.blobs} == set(amd.blobs) | set(arm.blobs)


async def test_referrers_stay_while_their_subject_is_tagged_and_go_with_it(wharf):
    repo, subject = wharf.repo(), unique("signed")
    await push_image(wharf, repo, subject, "1.0")
    empty, payload = b"{}", f"signature {uuid.uuid4()}".encode()
    await push_blob(wharf, repo, empty)
    await push_blob(wharf, repo, payload)
    signature = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "artifactType": "application/vnd.dev.cosign.simplesigning.v1+json",
            "config": descriptor("application/vnd.oci.empty.v1+json", empty),
            "layers": [descriptor("application/vnd.dev.cosign.simplesigning.v1+json", payload)],
            "subject": descriptor(OCI_MANIFEST, subject.manifest),
        }
    ).encode()
    await push_manifest(wharf, repo, sha256(signature), signature)

    assert (await gc(wharf, repo)).manifests == []
    assert await status(wharf, repo, "manifests", sha256(signature)) == 200

    await untag(wharf, repo, "1.0")
    result = await gc(wharf, repo)
    assert {m.digest for m in result.manifests} == {subject.digest, sha256(signature)}
    assert sha256(payload) in {b.digest for b in result.blobs}
    assert await status(wharf, repo, "blobs", sha256(payload)) == 404


async def test_the_grace_period_spares_fresh_content(wharf):
    repo, img = wharf.repo(), unique("fresh")
    await push_image(wharf, repo, img)  # by digest: no tag keeps it

    for delete in (False, True):
        result = await gc(wharf, repo, delete=delete, grace=timedelta(hours=1))
        assert (result.manifests, result.links, result.blobs) == ([], [], [])
    assert await pullable(wharf, repo, img)

    await age(wharf, repo, timedelta(hours=2))
    result = await gc(wharf, repo, grace=timedelta(hours=1))
    assert [m.digest for m in result.manifests] == [img.digest]
    assert {b.digest for b in result.blobs} == set(img.blobs)


async def test_a_dry_run_changes_nothing_and_predicts_the_deletion(wharf):
    repo, kept, dropped = wharf.repo(), unique("kept"), unique("dropped")
    await push_image(wharf, repo, kept, "1.0")
    await push_image(wharf, repo, dropped)

    plan = await gc(wharf, repo, delete=False)
    assert plan.dry_run and [m.digest for m in plan.manifests] == [dropped.digest]
    assert {b.digest for b in plan.blobs} == set(dropped.blobs)
    assert plan.blob_bytes == sum(len(data) for data in dropped.blobs.values())
    assert await pullable(wharf, repo, dropped) and await pullable(wharf, repo, kept)

    done = await gc(wharf, repo)
    assert not done.dry_run
    assert (done.manifests, sorted(done.links, key=str), sorted(done.blobs, key=str)) == (
        plan.manifests,
        sorted(plan.links, key=str),
        sorted(plan.blobs, key=str),
    )


async def test_a_blob_another_repository_links_stays(wharf):
    here, there, img = wharf.repo(), wharf.repo(), unique("twice")
    await push_image(wharf, here, img)
    await push_image(wharf, there, img, "1.0")

    plan = await gc(wharf, here, delete=False)
    assert plan.blobs == [] and len(plan.links) == 2
    result = await gc(wharf, here)
    assert [m.digest for m in result.manifests] == [img.digest] and len(result.links) == 2 and result.blobs == []
    assert await pullable(wharf, there, img)
    assert await status(wharf, here, "blobs", img.digest) == 404
    for digest in img.blobs:
        assert await status(wharf, here, "blobs", digest) == 404


async def test_a_blob_served_from_a_stale_cache_answers_blob_unknown(wharf):
    repo, img = wharf.repo(), unique("cached")
    await push_image(wharf, repo, img)
    assert await pullable(wharf, repo, img)  # sizes now cached in this process
    registry = wharf.app.state.registry
    # As from another process: the same database and files, none of this app's caches.
    other_store = FilesystemBlobStore(registry.store.root)
    await collect(registry.metadata.engine, other_store, timedelta(0), repository=repo, delete=True)

    for digest in img.blobs:  # before the app's next check: the file is gone, the answer is 404
        r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers={**wharf.auth, "Range": "bytes=0-1"})
        assert r.status_code == 404 and error_code(r) == "BLOB_UNKNOWN", r.text
    assert await registry.metadata.drop_if_collected()  # the app's periodic check
    assert await status(wharf, repo, "manifests", img.digest) == 404
    for digest in img.blobs:
        assert (await wharf.client.head(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)).status_code == 404


async def test_a_mount_from_a_collected_blob_falls_back_to_an_upload(wharf):
    source, target, data = wharf.repo(), wharf.repo(), uuid.uuid4().bytes
    digest = await push_blob(wharf, source, data)
    assert await status(wharf, source, "blobs", digest) == 200  # cached size in the source
    assert [b.digest for b in (await gc(wharf, source)).blobs] == [digest]

    r = await wharf.client.post(
        f"/v2/{target}/blobs/uploads/", params={"mount": digest, "from": source}, headers=wharf.auth
    )
    assert r.status_code == 202, r.text
    assert await status(wharf, target, "blobs", digest) == 404


async def test_an_upload_in_flight_survives_a_collection_of_the_same_blob(wharf):
    """A chunked upload of content that is garbage elsewhere finishes with its bytes in place."""
    old, repo, data = wharf.repo(), wharf.repo(), uuid.uuid4().bytes * 100
    digest = await push_blob(wharf, old, data)
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    r = await wharf.client.patch(location, content=data, headers={**wharf.auth, "Content-Range": f"0-{len(data) - 1}"})
    assert r.status_code == 202

    assert [b.digest for b in (await gc(wharf, old)).blobs] == [digest]  # deletes the file the upload will become

    r = await wharf.client.put(location, params={"digest": digest}, headers=wharf.auth)
    assert r.status_code == 201, r.text
    r = await wharf.client.get(f"/v2/{repo}/blobs/{digest}", headers=wharf.auth)
    assert r.status_code == 200 and r.content == data
    assert (await gc(wharf, repo, grace=timedelta(hours=1))).blobs == []


@pytest.fixture
def empty_database(database_url, request, tmp_path):
    """A database of the same backend that only this test uses, so it may collect everywhere."""
    if database_url.startswith("sqlite"):
        url = f"sqlite+aiosqlite:///{tmp_path / 'alone.db'}"
        in_thread(upgrade, url)
        yield url
        return
    base, name = request.getfixturevalue("postgres_base"), f"wharf_gc_{uuid.uuid4().hex[:10]}"
    url = in_thread(asyncio.run, postgres.create_database(base, name))
    in_thread(upgrade, url)
    yield url
    in_thread(asyncio.run, postgres.drop_database(base, name))


async def push(metadata: Metadata, uploads: Uploads, repo: str, img: Image, tags: list[str]) -> None:
    for digest, data in img.blobs.items():
        await uploads.monolithic(repo, parse_digest(digest), _once(data))
    assert await metadata.put_manifest(repo, img.digest, img.manifest, parse_manifest(img.manifest, None), tags) == []


async def _once(data: bytes):  # type: ignore[no-untyped-def]
    yield data


async def test_collecting_everywhere_in_small_batches(empty_database, tmp_path):
    engine, store = create_engine(empty_database), FilesystemBlobStore(tmp_path / "store")
    metadata = Metadata(engine)
    uploads = Uploads(metadata, store)
    kept, dropped = unique("kept"), unique("dropped")
    await push(metadata, uploads, "acme/a", kept, ["1.0"])
    await push(metadata, uploads, "acme/a", dropped, [])
    await push(metadata, uploads, "acme/b", dropped, [])
    orphan = uuid.uuid4().bytes
    await uploads.monolithic("acme/c", parse_digest(sha256(orphan)), _once(orphan))
    assert await metadata.unlink_blob("acme/c", sha256(orphan))  # DELETE of a blob: its row stays behind
    try:
        plan = await collect(engine, store, timedelta(0), batch=1)
        done = await collect(engine, store, timedelta(0), delete=True, batch=1)
        assert sorted((m.repository, m.digest) for m in done.manifests) == [
            ("acme/a", dropped.digest),
            ("acme/b", dropped.digest),
        ]
        assert len(done.links) == 4
        assert {b.digest for b in done.blobs} == {*dropped.blobs, sha256(orphan)}
        assert sorted(plan.manifests, key=str) == sorted(done.manifests, key=str)
        assert sorted(plan.blobs, key=str) == sorted(done.blobs, key=str)
        for digest in kept.blobs:
            assert await store.exists(parse_digest(digest))
        for digest in [*dropped.blobs, sha256(orphan)]:
            assert not await store.exists(parse_digest(digest))
        assert await metadata.manifest("acme/a", "1.0", by_digest=False) is not None
        again = await collect(engine, store, timedelta(0), delete=True)
        assert (again.manifests, again.links, again.blobs) == ([], [], [])
    finally:
        await engine.dispose()
