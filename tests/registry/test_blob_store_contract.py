"""The BlobStore contract, run against every store: the filesystem and S3 (a real `rclone serve s3`)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.db import upgrade
from registry.digests import Digest, parse_digest
from registry.errors import RegistryError
from registry.metadata import Metadata
from registry.sql import create_engine
from registry.storage.filesystem import FilesystemBlobStore
from registry.storage.s3 import S3BlobStore
from registry.uploads import Uploads
from tests.conftest import in_thread

MiB = 1024 * 1024
PART = 5 * MiB  # the smallest part S3 allows, so a few MiB of test data crosses part boundaries


async def chunks(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def collect(stream: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in stream])


def digest_of(data: bytes, algorithm: str = "sha256") -> Digest:
    return parse_digest(f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}")


def payload(size: int) -> bytes:
    """Bytes that differ from one MiB to the next, so a misplaced part changes the content."""
    block = hashlib.sha256(str(size).encode()).digest() * (MiB // 32)
    return b"".join(bytes([i % 251]) + block[1:] for i in range(size // MiB + 1))[:size]


@pytest.fixture(params=["filesystem", "s3"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    if request.param == "filesystem":
        backend: Any = FilesystemBlobStore(tmp_path)
    else:
        backend = S3BlobStore(request.getfixturevalue("s3_server").options(part_size=PART))
    yield backend
    await backend.close()


async def stored_upload_state(store: Any) -> list[str]:
    """Everything an in-progress or aborted upload could leave behind: files, objects, multipart uploads."""
    if isinstance(store, FilesystemBlobStore):
        return sorted(p.name for p in store.uploads.iterdir())
    area = await store.uploads()
    keys = await area.list_keys(area.root)
    # A whole-stream upload waits as a multipart upload at its blob's key: those count too.
    multipart = await area.list_multipart(area.root) + await area.list_multipart(f"{store.prefix}blobs/")
    return sorted(keys + [f"multipart:{u['Key']}" for u in multipart])


async def stored_blobs(store: Any) -> list[str]:
    if isinstance(store, FilesystemBlobStore):
        return sorted(p.name for p in store.blobs.rglob("*") if p.is_file())
    area = await store.uploads()
    return sorted(key.rsplit("/", 1)[1] for key in await area.list_keys(f"{store.prefix}blobs/"))


async def test_monolithic_upload_hashes_commits_and_reads(store):
    data = payload(12 * MiB + 3)
    hasher = hashlib.sha256()
    size = await store.append("mono", 0, chunks(data[:1000], data[1000:]), hasher)
    assert size == len(data) and hasher.hexdigest() == hashlib.sha256(data).hexdigest()
    if isinstance(store, S3BlobStore):  # two whole 5 MiB parts went to S3; the 2 MiB rest waits as the tail
        area = await store.uploads()
        multipart = await area.multipart_id("mono", create=False)
        client = await store.client()
        listed = await client.list_parts(Bucket=store.bucket, Key=area.data_key("mono"), UploadId=multipart)
        assert [(p["PartNumber"], p["Size"]) for p in listed["Parts"]] == [(1, PART), (2, PART)]
        assert await area.list_keys(f"{area.root}mono/tail-") == [area.tail_key("mono", 2 * PART)]
    digest = digest_of(data)
    assert not await store.exists(digest)
    await store.commit("mono", digest)
    assert await store.exists(digest)
    assert await collect(store.read(digest)) == data
    assert await stored_upload_state(store) == []


async def test_chunked_upload_across_requests_with_small_chunks(store):
    pieces = [payload(MiB), payload(3 * MiB), payload(2 * MiB), b"x" * 100, payload(6 * MiB), payload(700_000)]
    whole = b"".join(pieces)
    size = 0
    for piece in pieces:  # one append per request, no hasher kept: the bytes are read back to hash them
        size = await store.append("chunked", size, chunks(piece[: len(piece) // 2], piece[len(piece) // 2 :]), None)
    assert size == len(whole) > 2 * PART
    assert await collect(store.read_upload("chunked")) == whole
    digest = digest_of(whole, "sha512")
    await store.commit("chunked", digest)
    assert await collect(store.read(digest)) == whole
    assert await stored_upload_state(store) == []


async def test_chunks_ending_on_a_part_boundary(store):
    first, second = payload(PART), payload(PART + 10)
    size = await store.append("edge", 0, chunks(first), None)
    size = await store.append("edge", size, chunks(second), None)
    assert await collect(store.read_upload("edge")) == first + second
    await store.commit("edge", digest_of(first + second))
    assert await collect(store.read(digest_of(first + second))) == first + second


async def test_empty_blob(store):
    assert await store.append("empty", 0, chunks(), None) == 0
    digest = digest_of(b"")
    await store.commit("empty", digest)
    assert await store.exists(digest)
    assert await collect(store.read(digest)) == b""


async def test_an_interrupted_append_resumes_at_the_known_offset(store):
    head = payload(3 * MiB)
    await store.append("torn", 0, chunks(head), None)

    async def broken() -> AsyncIterator[bytes]:
        yield payload(4 * MiB)  # fills a part, which reaches S3 before the request dies
        raise ConnectionError("client went away")

    with pytest.raises(ConnectionError):
        await store.append("torn", len(head), broken(), None)
    rest = payload(4 * MiB)  # the client resends the same bytes from the offset the server confirmed
    size = await store.append("torn", len(head), chunks(rest), None)
    assert size == len(head) + len(rest)
    assert await collect(store.read_upload("torn")) == head + rest


async def test_a_whole_stream_commits_as_its_blob(store):
    data = payload(12 * MiB + 3)  # more than two parts on S3
    hasher = hashlib.sha256()
    assert await store.append("whole", 0, chunks(data[:1000], data[1000:]), hasher, whole=True) == len(data)
    digest = digest_of(data)
    assert hasher.hexdigest() == digest.hex
    assert not await store.exists(digest)  # nothing readable before commit
    await store.commit("whole", digest)
    assert await collect(store.read(digest)) == data
    assert await stored_upload_state(store) == []


async def test_a_whole_stream_can_still_take_more_chunks_and_another_algorithm(store):
    first, second = payload(6 * MiB), payload(MiB + 5)
    size = await store.append("more", 0, chunks(first), None, whole=True)
    assert await store.append("more", size, chunks(second), None) == len(first) + len(second)
    assert await collect(store.read_upload("more")) == first + second
    digest = digest_of(first + second, "sha512")
    await store.commit("more", digest)
    assert await collect(store.read(digest)) == first + second
    assert await stored_upload_state(store) == []


async def test_an_aborted_whole_stream_leaves_nothing(store):
    await store.append("dropped", 0, chunks(payload(7 * MiB)), None, whole=True)
    assert await stored_upload_state(store) != []
    await store.abort("dropped")
    assert await stored_upload_state(store) == []
    assert await stored_blobs(store) == []


async def test_ranges(store):
    data = payload(11 * MiB)
    await store.append("ranges", 0, chunks(data), None)
    digest = digest_of(data)
    await store.commit("ranges", digest)
    assert await collect(store.read(digest, 10, 19)) == data[10:20]
    assert await collect(store.read(digest, PART - 5, PART + 4)) == data[PART - 5 : PART + 5]
    assert await collect(store.read(digest, len(data) - 3)) == data[-3:]


async def test_exists_and_delete(store):
    await store.append("gone", 0, chunks(b"blob"), None)
    digest = digest_of(b"blob")
    await store.commit("gone", digest)
    assert await store.exists(digest)
    await store.delete(digest)
    assert not await store.exists(digest)
    assert await stored_blobs(store) == []
    await store.delete(digest)  # deleting what is gone is not an error


async def test_abort_removes_parts_tail_and_multipart_upload(store):
    await store.append("aborted", 0, chunks(payload(7 * MiB)), None)
    assert await stored_upload_state(store) != []
    await store.abort("aborted")
    assert await stored_upload_state(store) == []
    await store.abort("aborted")  # twice is harmless


async def test_digest_mismatch_stores_nothing(store, tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'meta.db'}"
    in_thread(upgrade, url)
    engine = create_engine(url)
    uploads = Uploads(Metadata(engine), store)
    data = payload(6 * MiB)
    try:
        with pytest.raises(RegistryError) as raised:
            await uploads.monolithic("acme/app", digest_of(b"something else"), chunks(data))
        assert raised.value.code == "DIGEST_INVALID"
        assert await stored_blobs(store) == []
        assert await stored_upload_state(store) == []
        assert await uploads.monolithic("acme/app", digest_of(data), chunks(data)) == len(data)
        assert await stored_blobs(store) == [digest_of(data).hex]
        # The same with a PATCH streaming the whole blob and a PUT naming another digest.
        upload = await uploads.start("acme/app")
        await uploads.append("acme/app", upload, chunks(b"streamed " + data), None)
        with pytest.raises(RegistryError) as raised:
            await uploads.finish("acme/app", upload, digest_of(b"something else"), chunks())
        assert raised.value.code == "DIGEST_INVALID"
        assert await stored_blobs(store) == [digest_of(data).hex]
        assert await stored_upload_state(store) == []
    finally:
        await engine.dispose()


async def test_redirect_url_is_a_working_presigned_download(store, request):
    await store.append("shared", 0, chunks(b"presigned bytes"), None)
    digest = digest_of(b"presigned bytes")
    await store.commit("shared", digest)
    url = await store.redirect_url(digest)
    if isinstance(store, FilesystemBlobStore):
        assert url is None and store.local_path(digest) is not None
        return
    assert url is not None and store.local_path(digest) is None
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).content == b"presigned bytes"
        tampered = url.replace(store.blob_key(digest), store.blob_key(digest_of(b"other")))
        assert (await client.get(tampered)).status_code == 403
    streaming = S3BlobStore(request.getfixturevalue("s3_server").options(prefix=store.prefix, redirect=False))
    try:
        assert await streaming.redirect_url(digest) is None
        assert await collect(streaming.read(digest)) == b"presigned bytes"
    finally:
        await streaming.close()


async def still_writing(store: Any, upload_id: str, size: int) -> None:
    """What a long request in progress does: on S3 it uploads parts before it writes its tail."""
    if isinstance(store, FilesystemBlobStore):
        with (store.uploads / upload_id).open("ab") as file:
            file.write(b"more")
        return
    area = await store.uploads()
    multipart = await area.multipart_id(upload_id, create=False)
    client = await store.client()
    number = size // PART + 1
    body = payload(PART)
    await client.upload_part(
        Bucket=store.bucket, Key=area.data_key(upload_id), UploadId=multipart, PartNumber=number, Body=body
    )


async def test_stale_uploads_are_removed_after_the_grace_period(store):
    await store.append("old", 0, chunks(payload(6 * MiB)), None)  # a part on S3: a multipart upload to abort
    await store.append("busy", 0, chunks(payload(6 * MiB)), None)
    await asyncio.sleep(1.5)
    await store.append("fresh", 0, chunks(b"still uploading"), None)
    await still_writing(store, "busy", 6 * MiB)
    assert await store.remove_stale_uploads(older_than=3600) == []
    assert await store.remove_stale_uploads(older_than=1.0) == ["old"]
    remaining = await stored_upload_state(store)
    assert remaining and all("fresh" in entry or "busy" in entry for entry in remaining)
    assert await store.append("fresh", 15, chunks(b"!"), None) == 16


async def test_upload_ids_cannot_escape_the_store(store):
    with pytest.raises(ValueError):
        await store.append("../../etc/passwd", 0, chunks(b"x"), None)
    with pytest.raises(ValueError):
        await store.append(f"a/{uuid.uuid4().hex}", 0, chunks(b"x"), None)


async def test_unreachable_s3_is_a_retryable_503(s3_server):
    from dataclasses import replace

    from tests.support.server import free_port

    dead = replace(s3_server.options(), endpoint_url=f"http://127.0.0.1:{free_port()}", attempts=1)
    store = S3BlobStore(dead)
    try:
        for attempt in (
            store.append("down", 0, chunks(b"bytes"), None),
            store.exists(digest_of(b"bytes")),
            collect(store.read(digest_of(b"bytes"))),
        ):
            with pytest.raises(RegistryError) as raised:
                await attempt
            assert (raised.value.code, raised.value.status) == ("UNAVAILABLE", 503)
    finally:
        await store.close()


async def test_ready_leaves_nothing_and_names_a_store_that_cannot_take_writes(store, s3_server, tmp_path):
    from dataclasses import replace

    await store.ready()
    assert await stored_upload_state(store) == []  # the probe leaves nothing behind
    if isinstance(store, FilesystemBlobStore):
        shutil.rmtree(store.root)
        broken: Any = store
    else:
        broken = S3BlobStore(replace(s3_server.options(), bucket="no-such-bucket", attempts=1))
    try:
        with pytest.raises(OSError, match="cannot write"):
            await broken.ready()
    finally:
        if broken is not store:
            await broken.close()
