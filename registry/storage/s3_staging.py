"""A blob streamed whole in one request, written once, straight to its content-addressed key.

A PUT or POST carrying the whole body names its digest up front: its parts go to that blob's key as
a multipart upload while the stream arrives, and a mismatch at the end aborts it (the same request
commits it, so it needs no marker; one smaller than a part is held in memory and PUT at commit). A fresh upload's
first chunk sent without a Content-Range (docker, skopeo: one PATCH, then an empty PUT) usually holds
the whole blob too, but its digest is known only at the end of the stream, and an S3 multipart
upload's key is fixed when it starts. So that stream is spooled (memory up to one part, then a
temporary file) while it is hashed, and at its end the bytes go as a multipart upload to the key of
the digest they hash to. Either way the multipart upload is left incomplete: readers see nothing
there yet, and nothing can replace a good object. A marker `uploads/<id>/staged-<alg>-<hex>-<size>`,
whose body is the multipart upload's id, lets any node finish, resume or abort the upload.

Commit runs while the metadata transaction holds the blob's row: it completes the multipart upload,
or aborts it when the key already holds the blob (the same bytes, by construction). No server-side
copy. If the upload goes on instead (another chunk, or a digest of another algorithm to check), it is
unstaged: completed at its key (right for that key, whatever the upload ends as) and read back into
the chunked layout of `s3_uploads`; that object may stay without a metadata row, a leak on a rare path.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio.to_thread
from botocore.exceptions import ClientError

from registry.digests import Digest
from registry.errors import RegistryError
from registry.lru import LRU
from registry.storage import Hasher
from registry.storage.s3_uploads import UploadArea, is_missing
from registry.storage.spool import Spool

MARKER = "staged-"
BATCH = 1024 * 1024  # bytes gathered before one hash-and-spool step
PARTS_IN_FLIGHT = 2
_EXISTS = {"PreconditionFailed", "412", "ConditionalRequestConflict"}


@dataclass(frozen=True)
class Staged:
    digest: Digest
    size: int
    multipart: str
    parts: tuple[tuple[int, str], ...] = ()
    """(number, ETag) of each part when this process sent them; otherwise listed at commit."""
    body: bytes | None = None
    """A blob smaller than a part whose digest was named and checked: kept for the commit that follows
    in the same request (one PUT, no multipart upload, no marker)."""
    marked: bool = True
    """Whether a marker names it. A blob whose digest was named is committed by the same request, so it
    needs none: if that request dies, the sweep of orphaned multipart uploads finds it."""


class Staging:
    def __init__(self, area: UploadArea, blob_key: Callable[[Digest], str], spool_limit: int) -> None:
        self.area, self.blob_key, self.spool_limit = area, blob_key, spool_limit
        self._known: LRU[str, Staged] = LRU(10_000)  # a miss costs a listing and a GET

    def marker_key(self, upload_id: str, staged: Staged) -> str:
        return f"{self.area.root}{upload_id}/{MARKER}{staged.digest.algorithm}-{staged.digest.hex}-{staged.size}"

    async def stage(self, upload_id: str, chunks: AsyncIterable[bytes], hasher: Hasher | None) -> int:
        """Spool and hash the whole stream, then send it to its blob key as an incomplete multipart upload."""
        own = _sha256_of(hasher)
        hashers = [h for h in (hasher, None if own is hasher else own) if h is not None]
        spool = Spool(self.area.part_size)
        stream = aiter(_batched(chunks))
        try:
            async for batch in stream:
                if spool.size + len(batch) > self.spool_limit:  # too big to spool: stream it as chunks
                    return await self.area.append(upload_id, 0, _replay(spool, batch, stream, hasher), None)
                await spool.write(batch, hashers)
            if spool.size == 0:
                return await self.area.append(upload_id, 0, _empty(), None)
            await self._send(upload_id, spool, Digest("sha256", own.hexdigest()))
            return spool.size
        finally:
            spool.close()

    async def stage_expected(
        self, upload_id: str, digest: Digest, chunks: AsyncIterable[bytes], hasher: Hasher | None
    ) -> int:
        """A whole stream whose digest the client named up front (a PUT or POST with the body): parts go to
        the blob's key as they fill, while the stream is still arriving; a mismatch aborts them."""
        own = _sha256_of(hasher) if digest.algorithm == "sha256" else digest.hasher()
        hashers = [h for h in (hasher, None if own is hasher else own) if h is not None]
        key, part_size = self.blob_key(digest), self.area.part_size
        client, bucket = self.area.client, self.area.bucket
        buffer, size, multipart = bytearray(), 0, ""
        sent: list[asyncio.Task[tuple[int, str]]] = []

        async def send(number: int, body: bytes) -> tuple[int, str]:
            answer = await client.upload_part(Bucket=bucket, Key=key, UploadId=multipart, PartNumber=number, Body=body)
            return number, str(answer["ETag"])

        async def flush(body: bytes) -> None:
            nonlocal multipart
            if not multipart:
                multipart = str((await client.create_multipart_upload(Bucket=bucket, Key=key))["UploadId"])
            if len(sent) >= PARTS_IN_FLIGHT:
                await sent[-PARTS_IN_FLIGHT]  # at most this many parts in memory
            sent.append(asyncio.create_task(send(len(sent) + 1, body)))

        try:
            async for batch in _batched(chunks):
                await anyio.to_thread.run_sync(_update, hashers, batch)  # hashlib lets go of the GIL meanwhile
                buffer += batch
                size += len(batch)
                while len(buffer) >= part_size:
                    with memoryview(buffer) as view:
                        part = bytes(view[:part_size])
                    del buffer[:part_size]
                    await flush(part)
            if size == 0:
                return await self.area.append(upload_id, 0, _empty(), None)
            if own.hexdigest() != digest.hex:
                raise RegistryError(
                    "DIGEST_INVALID", f"content has digest {digest.algorithm}:{own.hexdigest()}, not {digest}"
                )
            if not multipart:  # smaller than a part: held for the commit of this same request
                self._known.put(upload_id, Staged(digest, size, "", body=bytes(buffer), marked=False))
                return size
            if buffer:
                await flush(bytes(buffer))
            staged = Staged(digest, size, multipart, tuple([await task for task in sent]), marked=False)
        except BaseException:
            for task in sent:
                task.cancel()
            await asyncio.gather(*sent, return_exceptions=True)
            if multipart:
                await asyncio.shield(self._abort(key, multipart))
            raise
        self._known.put(upload_id, staged)
        return size

    async def _send(self, upload_id: str, spool: Spool, digest: Digest) -> None:
        client, bucket, key = self.area.client, self.area.bucket, self.blob_key(digest)
        created = await client.create_multipart_upload(Bucket=bucket, Key=key)
        staged = Staged(digest, spool.size, str(created["UploadId"]))
        try:
            async with _first_error(), asyncio.TaskGroup() as group:  # a failure stops the other task too
                marker_key = self.marker_key(upload_id, staged)
                group.create_task(client.put_object(Bucket=bucket, Key=marker_key, Body=staged.multipart.encode()))
                sending = group.create_task(self._send_parts(key, staged.multipart, spool))
            parts = sending.result()
        except BaseException:
            await asyncio.shield(self._withdraw(key, staged.multipart, self.marker_key(upload_id, staged)))
            raise
        self._known.put(upload_id, Staged(digest, spool.size, staged.multipart, parts))

    async def _send_parts(self, key: str, multipart: str, spool: Spool) -> tuple[tuple[int, str], ...]:
        size, part = spool.size, self.area.part_size
        slots = asyncio.Semaphore(PARTS_IN_FLIGHT)  # at most this many parts in memory

        async def send(number: int) -> tuple[int, str]:
            async with slots:
                body = await spool.read((number - 1) * part, part)
                sent = await self.area.client.upload_part(
                    Bucket=self.area.bucket, Key=key, UploadId=multipart, PartNumber=number, Body=body
                )
                return number, str(sent["ETag"])

        async with _first_error(), asyncio.TaskGroup() as group:
            tasks = [group.create_task(send(n)) for n in range(1, (size + part - 1) // part + 1)]
        return tuple(task.result() for task in tasks)

    async def find(self, upload_id: str, digest: Digest | None = None, *, with_id: bool = True) -> Staged | None:
        """The upload's staged blob (the one for `digest`, when named), or None if it has none; without
        `with_id`, its multipart upload's id is not fetched (the marker's name says the rest)."""
        known = self._known.get(upload_id)
        if known is not None and (digest is None or known.digest == digest):
            return known
        prefix = f"{self.area.root}{upload_id}/{MARKER}"
        for key in await self.area.list_keys(prefix):
            algorithm, hex_, size = key.removeprefix(prefix).split("-")
            if not with_id:
                return Staged(Digest(algorithm, hex_), int(size), "")
            if digest is None or digest == Digest(algorithm, hex_):
                body = await self.area.get(key)
                if body is not None:
                    return Staged(Digest(algorithm, hex_), int(size), body.decode())
        return None

    async def commit(self, upload_id: str, digest: Digest) -> bool:
        """Make a staged upload of `digest` visible as that blob; False when the upload is not staged."""
        staged = await self.find(upload_id, digest)
        if staged is None:
            return False
        key = self.blob_key(digest)
        try:
            await self._publish(key, staged)
        except ClientError as error:
            if not is_missing(error) or staged.parts == ():
                raise
            self._known.discard(upload_id)  # finished or unstaged elsewhere: look again in S3
            return await self.commit(upload_id, digest)
        if staged.marked:
            await self.area.client.delete_object(Bucket=self.area.bucket, Key=self.marker_key(upload_id, staged))
        self._known.discard(upload_id)
        return True

    async def _put_new(self, key: str, body: bytes) -> None:
        try:
            await self.area.client.put_object(Bucket=self.area.bucket, Key=key, Body=body, IfNoneMatch="*")
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) not in _EXISTS:
                raise

    async def _publish(self, key: str, staged: Staged) -> None:
        """Complete the multipart upload at its key, or abort it when the key already holds the blob."""
        if staged.body is not None:
            if await self.area.size_of(key) is None:
                await self._put_new(key, staged.body)
            return
        if await self.area.size_of(key) is not None:
            await self._abort(key, staged.multipart)
            return
        parts = staged.parts or await self._list_parts(key, staged.multipart)
        try:
            await self.area.client.complete_multipart_upload(
                Bucket=self.area.bucket,
                Key=key,
                UploadId=staged.multipart,
                MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etag} for n, etag in parts]},
                IfNoneMatch="*",  # where the server checks it (AWS does): another upload was faster, same bytes
            )
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) not in _EXISTS:
                raise
            await self._abort(key, staged.multipart)

    async def unstage(self, upload_id: str) -> bool:
        """Turn a staged upload back into the chunked layout (to append to it or re-hash it); False if not staged."""
        staged = await self.find(upload_id)
        if staged is None:
            return False
        if staged.body is not None:
            await self.area.append(upload_id, 0, _once(staged.body), None)
            self._known.discard(upload_id)
            return True
        key = self.blob_key(staged.digest)
        await self._publish(key, staged)
        await self.area.append(upload_id, 0, self.area.read(key), None)
        if staged.marked:
            await self.area.client.delete_object(Bucket=self.area.bucket, Key=self.marker_key(upload_id, staged))
        self._known.discard(upload_id)
        return True

    async def discard(self, upload_id: str) -> None:
        """Abort the upload's staged multipart uploads (its markers go with the rest of the upload's objects)."""
        known = self._known.get(upload_id)
        self._known.discard(upload_id)
        if known is not None and known.multipart:
            await self._abort(self.blob_key(known.digest), known.multipart)
        prefix = f"{self.area.root}{upload_id}/{MARKER}"
        for key in await self.area.list_keys(prefix):
            algorithm, hex_, _size = key.removeprefix(prefix).split("-")
            body = await self.area.get(key)
            if body is not None:
                await self._abort(self.blob_key(Digest(algorithm, hex_)), body.decode())

    async def remove_orphans(self, blobs_root: str, older_than: float, live: set[str]) -> None:
        """Abort multipart uploads under the blob keys with no activity since `older_than` (epoch seconds)
        that no live upload's marker names: a request that died before its marker or its commit."""
        for upload in await self.area.list_multipart(blobs_root):
            key, multipart = str(upload["Key"]), str(upload["UploadId"])
            if upload["Initiated"].timestamp() >= older_than or multipart in live:
                continue
            if max(await self.area.part_times(key, multipart), default=0.0) < older_than:  # a long PUT stays
                await self._abort(key, multipart)

    async def multipart_ids(self, upload_id: str) -> set[str]:
        found = set()
        for key in await self.area.list_keys(f"{self.area.root}{upload_id}/{MARKER}"):
            body = await self.area.get(key)
            if body is not None:
                found.add(body.decode())
        return found

    async def _list_parts(self, key: str, multipart: str) -> tuple[tuple[int, str], ...]:
        parts: dict[int, str] = {}
        paginator = self.area.client.get_paginator("list_parts")
        async for page in paginator.paginate(Bucket=self.area.bucket, Key=key, UploadId=multipart):
            parts.update({int(p["PartNumber"]): str(p["ETag"]) for p in page.get("Parts", [])})
        return tuple(sorted(parts.items()))

    async def _withdraw(self, key: str, multipart: str, marker: str) -> None:
        await self._abort(key, multipart)
        await self.area.client.delete_object(Bucket=self.area.bucket, Key=marker)

    async def _abort(self, key: str, multipart: str) -> None:
        try:
            await self.area.client.abort_multipart_upload(Bucket=self.area.bucket, Key=key, UploadId=multipart)
        except ClientError as error:
            if not is_missing(error):
                raise


def _sha256_of(hasher: Hasher | None) -> Any:
    """The caller's hasher when it is already a sha256 (no second pass over the bytes), else a new one."""
    if getattr(hasher, "name", None) == "sha256" and hasattr(hasher, "copy"):
        return hasher
    return hashlib.sha256()


async def _batched(chunks: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    pending: list[bytes] = []
    size = 0
    async for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= BATCH:
            yield b"".join(pending)
            pending, size = [], 0
    if size:
        yield b"".join(pending)


async def _replay(
    spool: Spool, batch: bytes, rest: AsyncIterator[bytes], hasher: Hasher | None
) -> AsyncIterator[bytes]:
    """What was spooled (already hashed), then the rest of the stream, hashed as it passes."""
    for start in range(0, spool.size, BATCH):
        yield await spool.read(start, BATCH)
    for data in (batch,):
        if hasher is not None:
            hasher.update(data)
        yield data
    async for data in rest:
        if hasher is not None:
            hasher.update(data)
        yield data


@asynccontextmanager
async def _first_error() -> AsyncIterator[None]:
    """A task group's failure as its first exception (an S3 error stays one, so it is still a 503)."""
    try:
        yield
    except BaseExceptionGroup as group:
        first = group.exceptions[0]
        while isinstance(first, BaseExceptionGroup):
            first = first.exceptions[0]
        raise first from None


def _update(hashers: list[Hasher], data: bytes) -> None:
    for hasher in hashers:
        hasher.update(data)


async def _once(body: bytes) -> AsyncIterator[bytes]:
    yield body


async def _empty() -> AsyncIterator[bytes]:
    return
    yield b""
