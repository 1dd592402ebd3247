"""Uploads in progress on S3: fixed-size multipart parts plus one small "tail" object.

Layout of upload `<id>` under the store prefix:

- `uploads/<id>/data`: the key of its S3 multipart upload. Part n always holds bytes
  `[(n-1)*P, n*P)` of the blob, P being the part size (>= 5 MiB, the S3 minimum for all but the
  last part). Parts are only ever uploaded in order, so a server that streams parts (rclone) works.
- `uploads/<id>/tail-<start>`: the bytes past the last whole part (fewer than P), kept between
  requests as an ordinary object so that a chunked upload whose PATCHes are smaller than 5 MiB
  still works. Every append ends with exactly one tail, possibly empty: its start plus its length
  is the upload's size, and it tells which parts belong to the upload. A PATCH re-reads and
  rewrites at most P bytes of tail; memory per request stays at most two parts.
- Sealing (on commit, or when the bytes must be read back to re-hash them, which S3 cannot do for
  parts) uploads the tail as the last part and completes the multipart upload into `data`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from botocore.exceptions import ClientError

from registry.errors import RegistryError
from registry.storage import Hasher

MIN_PART_SIZE = 5 * 1024 * 1024
READ_CHUNK = 1024 * 1024


class StagedUpload(Exception):
    """The upload's bytes wait at a blob key (see `s3_staging`), not in this layout."""


def is_missing(error: ClientError) -> bool:
    return str(error.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NoSuchUpload", "NotFound"}


class UploadArea:
    """The upload half of the S3 store; `client` is a live aiobotocore S3 client."""

    def __init__(self, client: Any, bucket: str, prefix: str, part_size: int) -> None:
        if part_size < MIN_PART_SIZE:
            raise ValueError(f"S3 parts must be at least {MIN_PART_SIZE} bytes, not {part_size}")
        self.client, self.bucket, self.part_size = client, bucket, part_size
        self.root = f"{prefix}uploads/"

    def data_key(self, upload_id: str) -> str:
        return f"{self.root}{upload_id}/data"

    def tail_key(self, upload_id: str, start: int) -> str:
        return f"{self.root}{upload_id}/tail-{start}"

    async def append(self, upload_id: str, offset: int, chunks: AsyncIterable[bytes], hasher: Hasher | None) -> int:
        first_part = offset // self.part_size
        tail_start = first_part * self.part_size
        # At offset 0 nothing stored counts (a retried first request rewrites it), so nothing is read.
        stored = await self._get(self.tail_key(upload_id, tail_start)) if offset else None
        if stored is None and offset and await self.list_keys(f"{self.root}{upload_id}/staged-"):
            raise StagedUpload(upload_id)
        if stored is None and offset and await self._sealed_size(upload_id) is not None:
            async for chunk in chunks:
                if chunk:
                    raise RegistryError("BLOB_UPLOAD_INVALID", "this upload is being finished; start a new one")
            return offset
        if offset > tail_start and (stored is None or len(stored) < offset - tail_start):
            raise RegistryError("BLOB_UPLOAD_INVALID", f"the stored upload lost its bytes {tail_start}-{offset - 1}")
        buffer = bytearray((stored or b"")[: offset - tail_start])
        writer = _PartWriter(self, upload_id, first_part + 1)
        received = 0
        try:
            async for chunk in chunks:
                if hasher is not None:
                    hasher.update(chunk)
                buffer += chunk
                received += len(chunk)
                while len(buffer) >= self.part_size:
                    with memoryview(buffer) as view:
                        part = bytes(view[: self.part_size])  # one copy: a bytearray slice would make two
                    del buffer[: self.part_size]
                    await writer.send(part)
        finally:
            await writer.drain()
        new_tail = (writer.next_part - 1) * self.part_size
        if received or stored is None or len(stored) != len(buffer) or new_tail != tail_start:
            await self.client.put_object(Bucket=self.bucket, Key=self.tail_key(upload_id, new_tail), Body=bytes(buffer))
        await self._delete_tails(upload_id, keep=self.tail_key(upload_id, new_tail))
        return offset + received

    async def seal(self, upload_id: str) -> tuple[str, int]:
        """Make the upload one readable object; return its key and size."""
        tails = await self._tails(upload_id)
        sealed = None if len(tails) == 1 else await self._sealed_size(upload_id)
        if sealed is not None:
            return self.data_key(upload_id), sealed
        if len(tails) != 1:
            raise RegistryError("BLOB_UPLOAD_INVALID", f"upload {upload_id} holds no consistent data")
        start, size = tails[0]
        tail_key = self.tail_key(upload_id, start)
        if start == 0:  # smaller than one part: the tail is the whole upload
            return tail_key, size
        upload = await self.multipart_id(upload_id, create=False)
        if upload is None:  # completed by an earlier attempt that stopped before deleting the tail
            sealed = await self._sealed_size(upload_id)
            if sealed is None:
                raise RegistryError("BLOB_UPLOAD_INVALID", f"upload {upload_id} lost its multipart upload")
            return self.data_key(upload_id), sealed
        tail = await self._get(tail_key) or b""
        last = start // self.part_size
        if tail:
            last += 1
            await self.client.upload_part(
                Bucket=self.bucket, Key=self.data_key(upload_id), UploadId=upload, PartNumber=last, Body=tail
            )
        parts = await self._etags(upload_id, upload, last)
        await self.client.complete_multipart_upload(
            Bucket=self.bucket, Key=self.data_key(upload_id), UploadId=upload, MultipartUpload={"Parts": parts}
        )
        await self.client.delete_object(Bucket=self.bucket, Key=tail_key)
        return self.data_key(upload_id), start + len(tail)

    async def read(self, key: str, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        extra = {"Range": f"bytes={start}-{'' if end is None else end}"} if start or end is not None else {}
        response = await self.client.get_object(Bucket=self.bucket, Key=key, **extra)
        body = response["Body"]
        try:
            async for chunk in body.iter_chunks(READ_CHUNK):
                yield chunk
        finally:
            body.close()  # also when the reader stops early: the connection is not reused half-read

    async def remove(self, upload_id: str) -> None:
        """Abort the multipart upload(s) and delete every object of the upload."""
        for upload in await self._multipart_ids(upload_id):
            try:
                await self.client.abort_multipart_upload(
                    Bucket=self.bucket, Key=self.data_key(upload_id), UploadId=upload
                )
            except ClientError as error:
                if not is_missing(error):
                    raise
        for key in await self.list_keys(f"{self.root}{upload_id}/"):
            await self.client.delete_object(Bucket=self.bucket, Key=key)

    async def multipart_id(self, upload_id: str, *, create: bool) -> str | None:
        """The S3 multipart upload behind `upload_id`, found by listing so any app node can resume it."""
        found = await self._multipart_ids(upload_id)
        if found:
            return found[0]
        if not create:
            return None
        created = await self.client.create_multipart_upload(Bucket=self.bucket, Key=self.data_key(upload_id))
        return str(created["UploadId"])

    async def _multipart_ids(self, upload_id: str) -> list[str]:
        key = self.data_key(upload_id)
        uploads = [(u["Initiated"], str(u["UploadId"])) for u in await self.list_multipart(key) if u["Key"] == key]
        return [upload for _initiated, upload in sorted(uploads)]  # the oldest one is the upload's own

    async def list_multipart(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_multipart_uploads")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
                found += page.get("Uploads", [])
        except ClientError as error:
            if not is_missing(error):  # rclone answers NoSuchUpload while a bucket never had one
                raise
        return found

    async def _etags(self, upload_id: str, upload: str, last: int) -> list[dict[str, Any]]:
        etags: dict[int, str] = {}
        paginator = self.client.get_paginator("list_parts")
        async for page in paginator.paginate(Bucket=self.bucket, Key=self.data_key(upload_id), UploadId=upload):
            etags.update({int(p["PartNumber"]): str(p["ETag"]) for p in page.get("Parts", [])})
        missing = [n for n in range(1, last + 1) if n not in etags]
        if missing:
            raise RegistryError("BLOB_UPLOAD_INVALID", f"upload {upload_id} lost parts {missing[:5]}")
        return [{"PartNumber": n, "ETag": etags[n]} for n in range(1, last + 1)]

    async def part_times(self, key: str, upload: str) -> list[float]:
        """When each part of a multipart upload arrived (epoch seconds)."""
        times: list[float] = []
        paginator = self.client.get_paginator("list_parts")
        try:
            async for page in paginator.paginate(Bucket=self.bucket, Key=key, UploadId=upload):
                times += [p["LastModified"].timestamp() for p in page.get("Parts", [])]
        except ClientError as error:
            if not is_missing(error):  # finished or aborted meanwhile
                raise
        return times

    async def _sealed_size(self, upload_id: str) -> int | None:
        return await self.size_of(self.data_key(upload_id))

    async def size_of(self, key: str) -> int | None:
        """The size of the object at `key`, or None when there is none."""
        try:
            head = await self.client.head_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if is_missing(error):
                return None
            raise
        return int(head["ContentLength"])

    async def get(self, key: str) -> bytes | None:
        return await self._get(key)

    async def _get(self, key: str) -> bytes | None:
        try:
            response = await self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as error:
            if is_missing(error):
                return None
            raise
        body = response["Body"]
        try:
            return bytes(await body.read())
        finally:
            body.close()

    async def _tails(self, upload_id: str) -> list[tuple[int, int]]:
        """(start, size) of each tail object of the upload, by start."""
        marker = f"{self.root}{upload_id}/tail-"
        found = await self.list_objects(marker)
        return sorted((int(str(item["Key"]).removeprefix(marker)), int(item["Size"])) for item in found)

    async def _delete_tails(self, upload_id: str, keep: str) -> None:
        for start, _size in await self._tails(upload_id):
            key = self.tail_key(upload_id, start)
            if key != keep:
                await self.client.delete_object(Bucket=self.bucket, Key=key)

    async def list_keys(self, prefix: str) -> list[str]:
        return [str(item["Key"]) for item in await self.list_objects(prefix)]

    async def list_objects(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_objects_v2")
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            found += page.get("Contents", [])
        return found


class _PartWriter:
    """Uploads whole parts in order, one in flight while the next one fills (two parts of memory)."""

    def __init__(self, area: UploadArea, upload_id: str, next_part: int) -> None:
        self.area, self.upload_id, self.next_part = area, upload_id, next_part
        self._pending: asyncio.Task[None] | None = None
        self._multipart: str | None = None

    async def send(self, part: bytes) -> None:
        await self._wait()
        if self._multipart is None:
            self._multipart = await self.area.multipart_id(self.upload_id, create=True)
        number, self.next_part = self.next_part, self.next_part + 1
        self._pending = asyncio.create_task(self._upload(self._multipart or "", number, part))

    async def _upload(self, multipart: str, number: int, part: bytes) -> None:
        area = self.area
        await area.client.upload_part(
            Bucket=area.bucket, Key=area.data_key(self.upload_id), UploadId=multipart, PartNumber=number, Body=part
        )

    async def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await pending

    async def drain(self) -> None:
        await self._wait()
