"""The BlobStore interface: content-addressed blobs plus in-progress uploads."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path
from typing import Protocol

from registry.digests import Digest


class Hasher(Protocol):
    def update(self, data: bytes, /) -> None: ...


class BlobStore(Protocol):
    """Where blob bytes live. Metadata (which repository holds what) lives in SQL, not here."""

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
        """Write `chunks` to the upload at `offset` (dropping anything past it); return the new size.

        `whole` says the stream likely completes the upload (a store may then write it at its blob's own
        key at once); more chunks or another digest must still work. `digest`, with `whole`, is the one
        the client named for it: a store may refuse a stream that does not match (DIGEST_INVALID)."""
        ...

    def read_upload(self, upload_id: str) -> AsyncIterator[bytes]:
        """Stream back what an upload holds so far (to re-hash it when no hasher survived)."""
        ...

    async def known_digest(self, upload_id: str, size: int, algorithm: str) -> str | None:
        """The hex digest of the upload's `size` bytes when the store already knows it (a whole blob it
        hashed and staged itself), so that another node need not read the bytes back; else None."""
        ...

    async def commit(self, upload_id: str, digest: Digest) -> None:
        """Atomically make the upload visible as blob `digest`; the upload is gone afterwards."""
        ...

    async def abort(self, upload_id: str) -> None: ...

    async def exists(self, digest: Digest) -> bool: ...

    async def delete(self, digest: Digest) -> None: ...

    def read(self, digest: Digest, start: int = 0, end: int | None = None) -> AsyncIterator[bytes]:
        """Stream bytes [start, end] (inclusive) of a blob."""
        ...

    def local_path(self, digest: Digest) -> Path | None:
        """A file path the web server may send directly, when the store has one."""
        ...

    async def redirect_url(self, digest: Digest, byte_range: tuple[int, int] | None = None) -> str | None:
        """A URL the client may fetch the blob from instead, when the store offers one; with `byte_range`
        (inclusive) the URL grants those bytes only, since they are what the read was admitted and counted for."""
        ...

    async def ready(self) -> None:
        """Raise (naming the problem) unless the store can take writes now; for readiness probes."""
        ...

    async def remove_stale_uploads(self, older_than: float) -> list[str]:
        """Drop uploads untouched for `older_than` seconds (abandoned or aborted); return their ids."""
        ...

    async def close(self) -> None:
        """Release connections at shutdown."""
        ...
