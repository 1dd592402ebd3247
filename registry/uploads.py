"""Blob upload sessions: stream to storage while hashing, verify, commit atomically."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field

from registry.digests import Digest
from registry.errors import RegistryError
from registry.lru import LRU
from registry.metadata import Metadata
from registry.storage import BlobStore
from registry.upload_sessions import UploadSessions


@dataclass
class _HashState:
    """sha256 over the first `size` bytes of an upload; lost on restart, then we re-read the file."""

    size: int
    hasher: hashlib._Hash = field(default_factory=hashlib.sha256)


def parse_content_range(value: str) -> tuple[int, int]:
    """`<start>-<end>` (also tolerating a `bytes ` / `bytes=` prefix)."""
    raw = value.strip().removeprefix("bytes").lstrip(" =")
    start, sep, end = raw.partition("-")
    if not sep or not start.isdigit() or not end.isdigit() or int(end) < int(start):
        raise RegistryError("RANGE_INVALID", f"invalid Content-Range {value!r}", status=416)
    return int(start), int(end)


class Uploads:
    def __init__(self, metadata: Metadata, store: BlobStore) -> None:
        self.metadata = metadata
        self.sessions = UploadSessions(metadata)
        self.store = store
        self._hashes: LRU[str, _HashState] = LRU(10_000)  # losing one only costs a re-read
        self._locks: dict[str, asyncio.Lock] = {}

    async def start(self, repository: str) -> str:
        return await self.sessions.create(repository)

    async def size(self, repository: str, upload_id: str) -> int:
        size = await self.sessions.size(repository, upload_id)
        if size is None:
            raise RegistryError("BLOB_UPLOAD_UNKNOWN", f"upload {upload_id} is unknown or finished")
        return size

    async def append(
        self, repository: str, upload_id: str, chunks: AsyncIterable[bytes], content_range: str | None
    ) -> int:
        async with self._lock(upload_id):
            size = await self.size(repository, upload_id)
            chunks = _check_range(repository, upload_id, size, content_range, chunks)
            # A fresh upload's chunk without a Content-Range is a whole blob streamed (docker, skopeo).
            return await self._append(upload_id, size, chunks, whole=content_range is None)

    async def _append(
        self, upload_id: str, size: int, chunks: AsyncIterable[bytes], *, whole: bool, digest: Digest | None = None
    ) -> int:
        stream = await _unless_empty(chunks) if size else chunks
        if stream is None:  # nothing to add (the empty PUT after a PATCH): the store need not look
            return size
        state = self._hashes.get(upload_id)
        if state is None or state.size != size:
            # A whole blob named up front is hashed in its own algorithm; otherwise sha256, the usual one.
            state = None if size else _HashState(0, digest.hasher() if digest else hashlib.sha256())
        try:
            hasher = state.hasher if state else None
            whole = whole and size == 0
            new_size = await self.store.append(upload_id, size, stream, hasher, whole=whole, digest=digest)
        except BaseException:
            # The hasher may have seen bytes the upload will not keep; finishing re-reads the file.
            self._hashes.discard(upload_id)
            raise
        if state is not None:
            state.size = new_size
            self._hashes.put(upload_id, state)
        if new_size != size:
            await self.sessions.set_size(upload_id, new_size)
        return new_size

    async def finish(
        self,
        repository: str,
        upload_id: str,
        digest: Digest,
        chunks: AsyncIterable[bytes] | None,
        content_range: str | None = None,
    ) -> int:
        """Append the last chunk, verify `digest`, and make the blob visible in `repository`."""
        async with self._lock(upload_id):
            size = await self.size(repository, upload_id)
            if chunks is not None:
                chunks = _check_range(repository, upload_id, size, content_range, chunks)
                try:
                    size = await self._append(upload_id, size, chunks, whole=True, digest=digest)
                except RegistryError as error:
                    if error.code == "DIGEST_INVALID":  # the store checked it as the bytes arrived: finished
                        await self.store.abort(upload_id)
                        await self.sessions.delete(upload_id)
                    raise
            try:
                actual = await self._digest_of(upload_id, size, digest.algorithm)
                if actual != digest.hex:
                    raise RegistryError(
                        "DIGEST_INVALID", f"content has digest {digest.algorithm}:{actual}, not {digest}"
                    )
                await self.metadata.add_blob(
                    repository,
                    str(digest),
                    size,
                    finished_upload=upload_id,
                    store_commit=lambda: self.store.commit(upload_id, digest),
                )
            except BaseException:
                await self.store.abort(upload_id)
                await self.sessions.delete(upload_id)
                raise
            finally:
                self._hashes.discard(upload_id)
        self._locks.pop(upload_id, None)
        return size

    async def monolithic(self, repository: str, digest: Digest, chunks: AsyncIterable[bytes]) -> int:
        upload_id = await self.start(repository)
        return await self.finish(repository, upload_id, digest, chunks)

    async def cancel(self, repository: str, upload_id: str) -> None:
        await self.size(repository, upload_id)
        async with self._lock(upload_id):
            await self.store.abort(upload_id)
            await self.sessions.delete(upload_id)
            self._hashes.discard(upload_id)
        self._locks.pop(upload_id, None)

    async def _digest_of(self, upload_id: str, size: int, algorithm: str) -> str:
        state = self._hashes.get(upload_id)
        if state is not None and state.hasher.name == algorithm and state.size == size:
            return state.hasher.hexdigest()
        if size == 0:
            return hashlib.new(algorithm).hexdigest()
        known = await self.store.known_digest(upload_id, size, algorithm)
        if known is not None:
            return known
        hasher = hashlib.new(algorithm)
        async for chunk in self.store.read_upload(upload_id):
            hasher.update(chunk)
        return hasher.hexdigest()

    def _lock(self, upload_id: str) -> asyncio.Lock:
        return self._locks.setdefault(upload_id, asyncio.Lock())


async def _unless_empty(chunks: AsyncIterable[bytes]) -> AsyncIterable[bytes] | None:
    """The same stream, or None when it holds no bytes at all."""
    iterator = aiter(chunks)
    async for first in iterator:
        if first:
            return _prepend(first, iterator)
    return None


async def _prepend(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


def _check_range(
    repository: str, upload_id: str, size: int, content_range: str | None, chunks: AsyncIterable[bytes]
) -> AsyncIterable[bytes]:
    """A chunk must start where the upload ends and hold exactly the bytes its range names; otherwise
    416 with the range the server holds (a chunk cut short or overlong is dropped as it streams)."""
    if content_range is None:
        return chunks
    start, end = parse_content_range(content_range)
    if start != size:
        raise _range_invalid(repository, upload_id, size, f"chunk starts at {start} but the upload holds {size} bytes")
    length = end - start + 1
    message = f"Content-Range {content_range.strip()} names {length} bytes but the body holds another number"
    return _exactly(chunks, length, _range_invalid(repository, upload_id, size, message))


async def _exactly(chunks: AsyncIterable[bytes], length: int, mismatch: RegistryError) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in chunks:
        seen += len(chunk)
        if seen > length:
            raise mismatch
        yield chunk
    if seen != length:
        raise mismatch


def _range_invalid(repository: str, upload_id: str, size: int, message: str) -> RegistryError:
    return RegistryError("RANGE_INVALID", message, status=416, headers=upload_headers(repository, upload_id, size))


def upload_headers(repository: str, upload_id: str, size: int) -> dict[str, str]:
    return {
        "Location": f"/v2/{repository}/blobs/uploads/{upload_id}",
        "Range": f"0-{max(size - 1, 0)}",
        "Docker-Upload-UUID": upload_id,
    }
