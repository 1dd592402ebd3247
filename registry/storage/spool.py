"""A request body held for the length of one request: in memory up to a limit, then in a temporary file."""

from __future__ import annotations

import logging
import os
import tempfile

import anyio.to_thread

from registry.errors import RegistryError
from registry.storage import Hasher

log = logging.getLogger(__name__)


class Spool:
    """Append-only bytes, hashed as they arrive; memory stays under `in_memory` whatever the size."""

    def __init__(self, in_memory: int) -> None:
        self.in_memory = in_memory
        self.size = 0
        self._buffer = bytearray()
        self._fd: int | None = None

    async def write(self, data: bytes, hashers: list[Hasher]) -> None:
        """Hash and keep `data`; batches of about 1 MiB keep the thread hops cheap."""
        if self._fd is None and len(self._buffer) + len(data) <= self.in_memory:
            for hasher in hashers:
                hasher.update(data)
            self._buffer += data
        else:
            try:
                if self._fd is None:
                    self._fd = await anyio.to_thread.run_sync(_temporary_file)
                    buffered, self._buffer = bytes(self._buffer), bytearray()
                    await anyio.to_thread.run_sync(_write, self._fd, buffered, [])
                await anyio.to_thread.run_sync(_write, self._fd, data, hashers)
            except OSError as error:  # a full or missing TMPDIR: the server's trouble, for a while
                log.warning("cannot spool an upload in %s: %s", tempfile.gettempdir(), error)
                raise RegistryError("UNAVAILABLE", "no room to take this upload now; try again later") from error
        self.size += len(data)

    async def read(self, start: int, length: int) -> bytes:
        if self._fd is None:
            return bytes(self._buffer[start : start + length])
        return await anyio.to_thread.run_sync(os.pread, self._fd, length, start)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._buffer = bytearray()


def _temporary_file() -> int:
    """An unnamed file in the temporary directory (TMPDIR): nothing to clean up after a crash."""
    fd, path = tempfile.mkstemp(prefix="wharf-spool-")
    os.unlink(path)
    return fd


def _write(fd: int, data: bytes, hashers: list[Hasher]) -> None:
    for hasher in hashers:
        hasher.update(data)
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
