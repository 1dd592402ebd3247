"""S3 only: a blob streamed whole is written once at its own key; what it costs and what failure leaves."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from app.db import upgrade
from registry.errors import RegistryError
from registry.metadata import Metadata
from registry.sql import create_engine
from registry.storage.s3 import S3BlobStore
from registry.uploads import Uploads
from tests.conftest import in_thread
from tests.registry.test_blob_store_contract import (
    PART,
    MiB,
    chunks,
    collect,
    digest_of,
    payload,
    stored_blobs,
    stored_upload_state,
)


@pytest.fixture
async def store(s3_server) -> AsyncIterator[S3BlobStore]:
    backend = S3BlobStore(s3_server.options(part_size=PART))
    yield backend
    await backend.close()


@pytest.fixture
async def uploads(store, tmp_path: Path) -> AsyncIterator[Uploads]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'meta.db'}"
    in_thread(upgrade, url)
    engine = create_engine(url)
    yield Uploads(Metadata(engine), store)
    await engine.dispose()


async def count_requests(store: S3BlobStore) -> Counter[str]:
    """S3 operations the store's client sends from now on, by name (botocore's own event hook)."""
    sent: Counter[str] = Counter()

    def record(model: Any, **_: Any) -> None:
        sent[model.name] += 1

    (await store.client()).meta.events.register("before-call.s3", record)
    return sent


async def test_a_small_blob_pushed_with_patch_then_put_costs_six_requests_and_no_copy(store, uploads):
    data = payload(MiB)
    sent = await count_requests(store)
    upload = await uploads.start("acme/app")
    await uploads.append("acme/app", upload, chunks(data), None)  # docker, skopeo: one PATCH, no Content-Range
    await uploads.finish("acme/app", upload, digest_of(data), chunks())  # then a PUT with no body
    assert sent == Counter(
        CreateMultipartUpload=1, UploadPart=1, PutObject=1, HeadObject=1, CompleteMultipartUpload=1, DeleteObject=1
    )
    assert await collect(store.read(digest_of(data))) == data
    assert await stored_upload_state(store) == []


async def test_a_small_blob_put_whole_costs_two_requests(store, uploads):
    data = payload(MiB)
    sent = await count_requests(store)
    await uploads.monolithic("acme/app", digest_of(data), chunks(data))  # POST+PUT or PUT with the body
    assert sent == Counter(HeadObject=1, PutObject=1)
    assert await collect(store.read(digest_of(data))) == data
    assert await stored_upload_state(store) == []


async def test_a_big_blob_put_whole_goes_to_its_key_while_it_arrives(store, uploads):
    data = payload(3 * PART + 11)
    area = await store.uploads()
    seen_while_streaming: list[list[Any]] = []

    async def arriving() -> AsyncIterator[bytes]:
        for start in range(0, len(data), MiB):
            if start == 3 * PART:  # three parts in: they are already at the blob's key, incomplete
                seen_while_streaming.append(await area.list_multipart(store.blob_key(digest_of(data))))
            yield data[start : start + MiB]

    sent = await count_requests(store)
    await uploads.monolithic("acme/app", digest_of(data), arriving())
    assert len(seen_while_streaming[0]) == 1
    probe = Counter(ListMultipartUploads=1)  # the test's own look while streaming
    assert sent == probe + Counter(CreateMultipartUpload=1, UploadPart=4, HeadObject=1, CompleteMultipartUpload=1)
    assert await collect(store.read(digest_of(data))) == data
    assert await stored_upload_state(store) == []


async def test_a_blob_already_stored_is_not_written_again(store, uploads):
    small, big = payload(2 * MiB), payload(PART + 3)
    await uploads.monolithic("acme/app", digest_of(small), chunks(small))
    await uploads.monolithic("acme/app", digest_of(big), chunks(big))
    client = await store.client()
    before = [
        (await client.head_object(Bucket=store.bucket, Key=store.blob_key(digest_of(d))))["LastModified"]
        for d in (small, big)
    ]
    sent = await count_requests(store)
    await uploads.monolithic("acme/other", digest_of(small), chunks(small))
    assert sent == Counter(HeadObject=1)
    upload = await uploads.start("acme/other")
    await uploads.append("acme/other", upload, chunks(big), None)
    await uploads.finish("acme/other", upload, digest_of(big), chunks())
    assert sent["CompleteMultipartUpload"] == 0 and sent["AbortMultipartUpload"] == 1 and sent["CopyObject"] == 0
    after = [
        (await client.head_object(Bucket=store.bucket, Key=store.blob_key(digest_of(d))))["LastModified"]
        for d in (small, big)
    ]
    assert after == before
    assert await stored_upload_state(store) == []


async def test_a_wrong_digest_named_up_front_leaves_nothing(store, uploads):
    data = payload(2 * PART + 1)  # two parts reach S3 before the mismatch shows
    with pytest.raises(RegistryError) as raised:
        await uploads.monolithic("acme/app", digest_of(b"other"), chunks(data))
    assert raised.value.code == "DIGEST_INVALID"
    assert await stored_upload_state(store) == []
    assert await stored_blobs(store) == []


async def test_an_interrupted_send_leaves_nothing_at_the_blob_key(store):
    data = payload(4 * PART)
    started = asyncio.Event()

    def first_part(**_: Any) -> None:
        started.set()

    (await store.client()).meta.events.register("before-call.s3.UploadPart", first_part)
    task = asyncio.create_task(store.append("cut", 0, chunks(data), None, whole=True))
    await started.wait()
    task.cancel()  # the client went away while the parts were on their way
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not await store.exists(digest_of(data))
    area = await store.uploads()
    assert await area.list_multipart(f"{store.prefix}blobs/") == []
    await store.abort("cut")
    assert await stored_upload_state(store) == []


@pytest.mark.parametrize("named", [False, True])
async def test_an_s3_failure_during_the_parts_is_a_503_and_leaves_nothing(store, named):
    data = payload(3 * PART)
    calls = Counter[str]()

    def second_part_fails(**_: Any) -> None:
        calls["part"] += 1
        if calls["part"] == 2:
            raise ClientError({"Error": {"Code": "SlowDown", "Message": "slow down"}}, "UploadPart")

    (await store.client()).meta.events.register("before-call.s3.UploadPart", second_part_fails)
    with pytest.raises(RegistryError) as raised:
        await store.append("failing", 0, chunks(data), None, whole=True, digest=digest_of(data) if named else None)
    assert (raised.value.code, raised.value.status) == ("UNAVAILABLE", 503)
    assert await stored_upload_state(store) == []
    assert not await store.exists(digest_of(data))


async def test_another_node_finishes_a_staged_upload_without_reading_it_back(store, s3_server, uploads):
    other = S3BlobStore(s3_server.options(prefix=store.prefix, part_size=PART))  # no memory of the upload
    node_b = Uploads(uploads.metadata, other)
    try:
        for data in (payload(PART + 7), payload(MiB)):
            upload = await uploads.start("acme/app")
            await uploads.append("acme/app", upload, chunks(data), None)  # the PATCH reaches node A
            sent = await count_requests(other)
            await node_b.finish("acme/app", upload, digest_of(data), chunks())  # the PUT reaches node B
            assert sent["GetObject"] == 1 and sent["CompleteMultipartUpload"] == 1  # the marker, then the blob
            assert sent["CopyObject"] == sent["UploadPart"] == 0
            assert await collect(store.read(digest_of(data))) == data
        staged = payload(MiB + 3)  # a node asked to read the bytes back (another algorithm) still can
        await store.append("handover", 0, chunks(staged), None, whole=True)
        assert await collect(other.read_upload("handover")) == staged
        await other.commit("handover", digest_of(staged, "sha512"))
        assert await collect(other.read(digest_of(staged, "sha512"))) == staged
    finally:
        await other.close()
    assert await stored_upload_state(store) == []


async def test_a_stream_too_big_to_spool_goes_the_chunked_way(store, s3_server):
    big = S3BlobStore(replace(s3_server.options(prefix=store.prefix, part_size=PART), spool_limit=PART + 1))
    try:
        data = payload(3 * PART)
        hasher = hashlib.sha256()
        assert await big.append("big", 0, chunks(data), hasher, whole=True) == len(data)
        assert hasher.hexdigest() == digest_of(data).hex
        area = await big.uploads()
        assert await area.multipart_id("big", create=False) is not None  # streamed to the upload's own key
        await big.commit("big", digest_of(data))
        assert await collect(big.read(digest_of(data))) == data
    finally:
        await big.close()
    assert await stored_upload_state(store) == []


async def test_stale_staged_uploads_and_orphaned_multipart_uploads_are_removed(store):
    await store.append("waiting", 0, chunks(payload(MiB)), None, whole=True)
    area = await store.uploads()
    client = await store.client()
    orphan = digest_of(b"a request that died before its marker")
    await client.create_multipart_upload(Bucket=store.bucket, Key=store.blob_key(orphan))
    long_put = digest_of(b"a long PUT still sending parts")
    started = await client.create_multipart_upload(Bucket=store.bucket, Key=store.blob_key(long_put))
    await asyncio.sleep(1.5)
    await client.upload_part(
        Bucket=store.bucket, Key=store.blob_key(long_put), UploadId=started["UploadId"], PartNumber=1, Body=b"x"
    )
    fresh = payload(MiB + 1)
    await store.append("fresh", 0, chunks(fresh), None, whole=True)
    assert await store.remove_stale_uploads(older_than=3600) == []
    assert len(await area.list_multipart(f"{store.prefix}blobs/")) == 4
    assert await store.remove_stale_uploads(older_than=1.0) == ["waiting"]
    remaining = sorted(u["Key"] for u in await area.list_multipart(f"{store.prefix}blobs/"))
    assert remaining == sorted([store.blob_key(digest_of(fresh)), store.blob_key(long_put)])
    await store.commit("fresh", digest_of(fresh))
    await client.abort_multipart_upload(Bucket=store.bucket, Key=store.blob_key(long_put), UploadId=started["UploadId"])
    assert await stored_upload_state(store) == []
    assert await stored_blobs(store) == [digest_of(fresh).hex]


async def test_no_room_to_spool_is_a_503_and_sends_nothing(store, tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "no-such-directory"))
    with pytest.raises(RegistryError) as raised:
        await store.append("no-room", 0, chunks(payload(2 * PART)), None, whole=True)  # past memory: a file
    assert (raised.value.code, raised.value.status) == ("UNAVAILABLE", 503)
    assert await stored_upload_state(store) == []
