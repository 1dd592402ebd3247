"""Blobs as files: `<root>/blobs/<alg>/<xx>/<hex>`, uploads under `<root>/uploads/<id>`."""

from __future__ import annotations

import os
import time
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path

import anyio.to_thread

from registry.digests import Digest
from registry.storage import Hasher

WRITE_BUFFER = 1024 * 1024  # bytes gathered before one write+hash step in a worker thread
READ_CHUNK = 1024 * 1024


class FilesystemBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.uploads = root / "uploads"
        self.blobs = root / "blobs"
        self.uploads.mkdir(parents=True, exist_ok=True)
        self.blobs.mkdir(parents=True, exist_ok=True)

    def _upload_path(self, upload_id: str) -> Path:
        if not upload_id.replace("-", "").isalnum():
            raise ValueError(f"bad upload id {upload_id!r}")
        return self.uploads / upload_id

    def blob_path(self, digest: Digest) -> Path:
        return self.blobs / digest.algorithm / digest.hex[:2] / digest.hex

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
        path = self._upload_path(upload_id)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o640)
        try:
            os.ftruncate(fd, offset)  # drop bytes a crashed request may have left past the known size
            os.lseek(fd, offset, os.SEEK_SET)
            size = offset
            buffer: list[bytes] = []
            buffered = 0
            async for chunk in chunks:
                buffer.append(chunk)
                buffered += len(chunk)
                if buffered >= WRITE_BUFFER:
                    await anyio.to_thread.run_sync(_write, fd, b"".join(buffer), hasher)
                    size += buffered
                    buffer, buffered = [], 0
            if buffered:
                await anyio.to_thread.run_sync(_write, fd, b"".join(buffer), hasher)
                size += buffered
            return size
        finally:
            os.close(fd)

    async def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        async for chunk in _read_file(self._upload_path(upload_id), 0, None):
            yield chunk

    async def known_digest(self, upload_id: str, size: int, algorithm: str) -> str | None:
        return None

    async def commit(self, upload_id: str, digest: Digest) -> None:
        source = self._upload_path(upload_id)
        target = self.blob_path(digest)

        def _commit() -> None:
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(source, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(source, target)  # atomic: readers see the whole blob or none

        await anyio.to_thread.run_sync(_commit)

    async def abort(self, upload_id: str) -> None:
        self._upload_path(upload_id).unlink(missing_ok=True)

    async def exists(self, digest: Digest) -> bool:
        return self.blob_path(digest).is_file()

    async def delete(self, digest: Digest) -> None:
        self.blob_path(digest).unlink(missing_ok=True)

    async def read(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        async for chunk in _read_file(self.blob_path(digest), start, end):
            yield chunk

    def local_path(self, digest: Digest) -> Path | None:
        return self.blob_path(digest)

    async def redirect_url(self, digest: Digest, byte_range: tuple[int, int] | None = None) -> str | None:
        return None

    async def ready(self) -> None:
        """Create and remove a probe file where uploads land: catches a missing, read-only or full root."""
        await anyio.to_thread.run_sync(_probe, self.uploads)

    async def remove_stale_uploads(self, older_than: float) -> list[str]:
        cutoff = time.time() - older_than
        stale = [path for path in self.uploads.iterdir() if path.stat().st_mtime < cutoff]
        for path in stale:
            path.unlink(missing_ok=True)
        return sorted(path.name for path in stale)

    async def close(self) -> None:
        return None


def _probe(directory: Path) -> None:
    probe = directory / f".ready-{os.getpid()}"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            os.write(fd, b"ok")
        finally:
            os.close(fd)
    except OSError as exc:
        raise OSError(f"cannot write under {directory}: {exc.strerror or exc}") from None
    probe.unlink(missing_ok=True)


def _write(fd: int, data: bytes, hasher: Hasher | None) -> None:
    if hasher is not None:
        hasher.update(data)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


async def _read_file(path: Path, start: int, end: int | None) -> AsyncIterator[bytes]:
    fd = os.open(path, os.O_RDONLY)
    try:
        position = start
        while end is None or position <= end:
            length = READ_CHUNK if end is None else min(READ_CHUNK, end - position + 1)
            data = await anyio.to_thread.run_sync(os.pread, fd, length, position)
            if not data:
                break
            position += len(data)
            yield data
    finally:
        os.close(fd)
