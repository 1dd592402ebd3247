"""Blobs on S3 (AWS or any S3-compatible server): `<prefix>blobs/<alg>/<xx>/<hex>`.

A blob streamed whole in one request (the common case) is written once, straight to its
content-addressed key, as a multipart upload that commit completes (see `s3_staging`). Chunked
uploads stream into a multipart upload beside the blobs (see `s3_uploads`); their key cannot be the
blob's own (the digest is known only at the end), so commit completes the multipart upload at
`uploads/<id>/data` and then copies it server-side to the content-addressed key. Either way the blob
appears whole or not at all, and only after `Uploads` has verified its digest.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aioboto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from registry.digests import Digest
from registry.errors import RegistryError
from registry.storage import Hasher
from registry.storage.s3_staging import Staging
from registry.storage.s3_uploads import StagedUpload, UploadArea, is_missing

log = logging.getLogger(__name__)
DEFAULT_PART_SIZE = 8 * 1024 * 1024
COPY_IN_ONE_REQUEST = 5 * 1024**3  # CopyObject's limit; larger blobs are copied part by part
COPY_PART_SIZE = 512 * 1024**2
DEFAULT_SPOOL_LIMIT = 1024**3


@dataclass(frozen=True)
class S3Options:
    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str = "us-east-1"
    access_key_id: str | None = None
    secret_access_key: str | None = None
    path_style: bool = False
    redirect: bool = True
    """Answer blob GETs with a presigned URL (True) or stream the bytes through Wharf (False)."""
    url_ttl: int = 900
    part_size: int = DEFAULT_PART_SIZE
    attempts: int = 5
    """Tries per S3 request (botocore's standard retry mode: throttling and 5xx are retried with backoff)."""
    spool_limit: int = DEFAULT_SPOOL_LIMIT
    """Largest blob streamed in one request that is spooled (in TMPDIR) to be written once at its own key;
    a larger one streams to S3 as it arrives and is copied to its key at commit."""


class S3BlobStore:
    def __init__(self, options: S3Options) -> None:
        if not options.bucket:
            raise ValueError("an S3 blob store needs a bucket")
        self.options = options
        self.bucket = options.bucket
        self.prefix = options.prefix
        self._stack = AsyncExitStack()
        self._client: Any = None
        self._uploads: UploadArea | None = None
        self._staging: Staging | None = None
        self._opening = asyncio.Lock()

    async def client(self) -> Any:
        """The store's one S3 client, opened on first use and kept until `close()`."""
        if self._client is None:
            async with self._opening:
                if self._client is None:
                    self._client = await self._stack.enter_async_context(self._new_client())
        return self._client

    def _new_client(self) -> Any:
        o = self.options
        session = aioboto3.Session(
            aws_access_key_id=o.access_key_id or None,
            aws_secret_access_key=o.secret_access_key or None,
            region_name=o.region,
        )
        config = Config(
            s3={"addressing_style": "path" if o.path_style else "auto"},
            signature_version="s3v4",
            # CRC checksums on every request are not understood by every S3-compatible server.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            retries={"max_attempts": o.attempts, "mode": "standard"},
        )
        return session.client("s3", endpoint_url=o.endpoint_url or None, config=config)

    async def ready(self) -> None:
        """Write and delete a probe object in the upload area: the bucket is there and takes writes."""
        key = f"{self.prefix}uploads/.ready-{uuid.uuid4().hex}"
        try:
            client = await self.client()
            await client.put_object(Bucket=self.bucket, Key=key, Body=b"ok")
            await client.delete_object(Bucket=self.bucket, Key=key)
        except (BotoCoreError, ClientError) as error:
            raise OSError(f"cannot write to s3://{self.bucket}/{self.prefix}: {error}") from None

    async def close(self) -> None:
        await self._stack.aclose()
        self._client, self._uploads, self._staging = None, None, None

    async def uploads(self) -> UploadArea:
        if self._uploads is None:
            self._uploads = UploadArea(await self.client(), self.bucket, self.prefix, self.options.part_size)
        return self._uploads

    async def staging(self) -> Staging:
        if self._staging is None:
            self._staging = Staging(await self.uploads(), self.blob_key, self.options.spool_limit)
        return self._staging

    def blob_key(self, digest: Digest) -> str:
        return f"{self.prefix}blobs/{digest.algorithm}/{digest.hex[:2]}/{digest.hex}"

    async def append(
        self,
        upload_id: str,
        offset: int,
        chunks: AsyncIterable[bytes],
        hasher: Hasher | None,
        *,
        whole: bool = False,
        digest: Digest | None = None,
    ) -> int:
        async with _storage_errors():
            area, staging = await self.uploads(), await self.staging()
            if whole and offset == 0 and digest is not None:
                return await staging.stage_expected(_checked(upload_id), digest, chunks, hasher)
            if whole and offset == 0:
                return await staging.stage(_checked(upload_id), chunks, hasher)
            try:
                return await area.append(_checked(upload_id), offset, chunks, hasher)
            except StagedUpload:  # more bytes after a whole-looking stream: back to the chunked layout
                await staging.unstage(upload_id)
                return await area.append(upload_id, offset, chunks, hasher)

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        async with _storage_errors():
            area = await self.uploads()
            await (await self.staging()).unstage(_checked(upload_id))
            key, _size = await area.seal(upload_id)
            async for chunk in area.read(key):
                yield chunk

    async def known_digest(self, upload_id: str, size: int, algorithm: str) -> str | None:
        async with _storage_errors():
            staged = await (await self.staging()).find(_checked(upload_id), with_id=False)
        if staged is None or staged.size != size or staged.digest.algorithm != algorithm:
            return None
        return staged.digest.hex

    async def commit(self, upload_id: str, digest: Digest) -> None:
        async with _storage_errors():
            if await (await self.staging()).commit(_checked(upload_id), digest):
                return
            area = await self.uploads()
            key, size = await area.seal(_checked(upload_id))
            client = await self.client()
            source = {"Bucket": self.bucket, "Key": key}
            if size <= COPY_IN_ONE_REQUEST:
                await client.copy_object(Bucket=self.bucket, Key=self.blob_key(digest), CopySource=source)
            else:
                config = TransferConfig(multipart_threshold=COPY_IN_ONE_REQUEST, multipart_chunksize=COPY_PART_SIZE)
                await client.copy(source, self.bucket, self.blob_key(digest), Config=config)
            # Only the sealed object is left; what a crashed request may have added is for remove_stale_uploads.
            await client.delete_object(Bucket=self.bucket, Key=key)

    async def abort(self, upload_id: str) -> None:
        async with _storage_errors():
            await (await self.staging()).discard(_checked(upload_id))
            await (await self.uploads()).remove(upload_id)

    async def exists(self, digest: Digest) -> bool:
        async with _storage_errors():
            try:
                await (await self.client()).head_object(Bucket=self.bucket, Key=self.blob_key(digest))
            except ClientError as error:
                if is_missing(error):
                    return False
                raise
            return True

    async def delete(self, digest: Digest) -> None:
        async with _storage_errors():
            await (await self.client()).delete_object(Bucket=self.bucket, Key=self.blob_key(digest))

    async def read(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async with _storage_errors():
            async for chunk in (await self.uploads()).read(self.blob_key(digest), start, end):
                yield chunk

    def local_path(self, digest: Digest) -> Path | None:
        return None

    async def redirect_url(self, digest: Digest, byte_range: tuple[int, int] | None = None) -> str | None:
        if not self.options.redirect:
            return None
        params = {"Bucket": self.bucket, "Key": self.blob_key(digest)}
        if byte_range is not None:  # signed as a header: the URL is good for exactly this Range
            params["Range"] = f"bytes={byte_range[0]}-{byte_range[1]}"
        url = await (await self.client()).generate_presigned_url(
            "get_object",
            Params=params,
            ExpiresIn=self.options.url_ttl,
        )
        return str(url)

    async def remove_stale_uploads(self, older_than: float) -> list[str]:
        """Abort multipart uploads and delete upload objects with no activity for `older_than` seconds.

        Activity is the newest tail, part or multipart start: a long request uploading parts stays fresh."""
        area = await self.uploads()
        cutoff = time.time() - older_than
        last_seen: dict[str, float] = {}

        def seen(key: str, when: float) -> None:
            upload_id = key.removeprefix(area.root).split("/", 1)[0]
            last_seen[upload_id] = max(last_seen.get(upload_id, 0.0), when)

        for item in await area.list_objects(area.root):
            seen(str(item["Key"]), item["LastModified"].timestamp())
        multipart = await area.list_multipart(area.root)
        for upload in multipart:
            seen(str(upload["Key"]), upload["Initiated"].timestamp())
        for upload in multipart:  # only old-looking ones need their parts listed
            if last_seen[str(upload["Key"]).removeprefix(area.root).split("/", 1)[0]] < cutoff:
                for when in await area.part_times(str(upload["Key"]), str(upload["UploadId"])):
                    seen(str(upload["Key"]), when)
        stale = sorted(upload_id for upload_id, when in last_seen.items() if when < cutoff)
        for upload_id in stale:
            await self.abort(upload_id)
        staging = await self.staging()
        live = set()
        for upload_id in set(last_seen) - set(stale):
            live |= await staging.multipart_ids(upload_id)
        await staging.remove_orphans(f"{self.prefix}blobs/", cutoff, live)
        return stale


@asynccontextmanager
async def _storage_errors() -> AsyncIterator[None]:
    """S3 failures (unreachable, throttled, refused) become a 503 the client may retry; details go to the log."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        log.warning("S3 request failed: %s", error)
        raise RegistryError("UNAVAILABLE", "blob storage is unavailable; try again later") from error


def _checked(upload_id: str) -> str:
    if not upload_id or not upload_id.replace("-", "").isalnum():
        raise ValueError(f"bad upload id {upload_id!r}")
    return upload_id
