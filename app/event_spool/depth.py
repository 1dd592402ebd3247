"""How many events a spool holds that are not stored yet, counted at scrape time, off the request path."""

from __future__ import annotations

import os
import threading

from app.event_spool.spool import Spool

READ_CHUNK = 1024 * 1024


class _LineCursor:
    """Newlines from the start of a growing file up to an offset that only moves forward; each byte is read
    once over the file's life, so a scrape costs what was written since the last one."""

    def __init__(self) -> None:
        self.inode: int | None = None
        self.offset = 0
        self.lines = 0

    def advance(self, fd: int, inode: int, target: int) -> int:
        if inode != self.inode or target < self.offset:  # the spool was rotated: a new file
            self.inode, self.offset, self.lines = inode, 0, 0
        while self.offset < target:
            chunk = os.pread(fd, min(READ_CHUNK, target - self.offset), self.offset)
            if not chunk:
                break
            self.lines += chunk.count(b"\n")
            self.offset += len(chunk)
        return self.lines


class SpoolDepth:
    def __init__(self, spool: Spool) -> None:
        self.spool = spool
        self._written = _LineCursor()
        self._stored = _LineCursor()
        self._lock = threading.Lock()

    def measure(self) -> tuple[int, int]:
        """(events, bytes) written to the spool but not yet stored in the database."""
        with self._lock:
            try:
                fd = os.open(self.spool.path, os.O_RDONLY)
            except FileNotFoundError:
                return 0, 0
            try:
                info = os.fstat(fd)
                stored = min(self.spool.stored_offset(), info.st_size)
                written = self._written.advance(fd, info.st_ino, info.st_size)
                done = self._stored.advance(fd, info.st_ino, stored)
            finally:
                os.close(fd)
            return max(written - done, 0), info.st_size - stored
