"""The BlobStore contract, run against the filesystem store (S3 joins this suite with its own issue)."""

from __future__ import annotations

import hashlib
import shutil

import pytest

from registry.digests import parse_digest
from registry.storage.filesystem import FilesystemBlobStore


async def chunks(*parts: bytes):
    for part in parts:
        yield part


@pytest.fixture
def store(tmp_path):
    return FilesystemBlobStore(tmp_path)


async def collect(stream) -> bytes:
    return b"".join([c async for c in stream])


async def test_append_hash_commit_read(store):
    data = b"x" * 3_000_000  # several write buffers
    hasher = hashlib.sha256()
    size = await store.append("u1", 0, chunks(data[:1000], data[1000:]), hasher)
    assert size == len(data) and hasher.hexdigest() == hashlib.sha256(data).hexdigest()
    digest = parse_digest("sha256:" + hasher.hexdigest())
    assert not await store.exists(digest)
    await store.commit("u1", digest)
    assert await store.exists(digest)
    assert await collect(store.read(digest)) == data
    assert await collect(store.read(digest, 10, 19)) == data[10:20]
    assert not (store.uploads / "u1").exists()


async def test_append_at_offset_drops_a_torn_tail(store):
    await store.append("u2", 0, chunks(b"hello"), None)
    (store.uploads / "u2").write_bytes(b"hello-torn-write")  # what a crashed request could leave
    size = await store.append("u2", 5, chunks(b" world"), None)
    assert size == 11
    assert await collect(store.read_upload("u2")) == b"hello world"


async def test_abort_and_delete(store):
    await store.append("u3", 0, chunks(b"gone"), None)
    await store.abort("u3")
    assert not (store.uploads / "u3").exists()
    await store.append("u4", 0, chunks(b"blob"), None)
    digest = parse_digest("sha256:" + hashlib.sha256(b"blob").hexdigest())
    await store.commit("u4", digest)
    await store.delete(digest)
    assert not await store.exists(digest)


async def test_upload_ids_cannot_escape_the_store(store):
    with pytest.raises(ValueError):
        await store.append("../../etc/passwd", 0, chunks(b"x"), None)


async def test_ready_until_the_root_goes_away(store, tmp_path):
    await store.ready()
    assert list(store.uploads.iterdir()) == []  # the probe leaves nothing behind
    shutil.rmtree(store.root)
    with pytest.raises(OSError, match="cannot write under"):
        await store.ready()
