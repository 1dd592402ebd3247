"""The append-only local spool. The request path only appends one line with one write(2): no database,
no waiting. What the writer has stored is remembered as an offset, so a restart replays the rest.

A line costs a few microseconds: an id from a per-process random prefix and a counter (no uuid4), and
msgspec's encoder (the time included) instead of json.dumps and isoformat. The writer reads lines as JSON."""

from __future__ import annotations

import fcntl
import itertools
import os
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

import msgspec

from app.identity import TokenIdentity
from registry.events import RegistryEvent

ROTATE_AT = 64 * 1024 * 1024  # once everything before it is stored, start a fresh spool file
MAX_WORKER_SPOOLS = 4  # per worker: a few spare names in case a slot is briefly held by an orphan drain


class SpoolRecord(msgspec.Struct):
    """One line of the spool: a download event as `download_events` stores it (less what the writer adds)."""

    id: str
    at: datetime
    action: str
    vendor_id: int | None
    customer_id: int | None
    license_id: int | None
    token_id: int | None
    repository: str
    reference: str | None
    digest: str | None
    media_type: str | None
    bytes: int
    status: int
    reason: str | None
    client_ip: str | None
    user_agent: str | None
    reason_code: str | None = None  # last and optional: lines spooled before it existed still load
    part_of_pull: bool | None = None  # optional too, after reason_code


_encode = msgspec.json.Encoder().encode


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


class EventIds:
    """32 hex characters, unique across processes: 80 random bits per process, then a 48-bit counter."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(10)
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):012x}"


def record_of(event: RegistryEvent, event_id: str) -> SpoolRecord:
    who: TokenIdentity | None = event.actor
    return SpoolRecord(
        event_id,
        event.at,
        event.action,
        who.vendor_id if who else None,
        who.customer_id if who else None,
        _int(event.license),
        who.token_id if who else None,
        event.repository,
        event.reference,
        event.digest,
        event.media_type,
        event.bytes,
        event.status,
        event.reason,
        event.client_ip,
        event.user_agent,
        event.reason_code,
        event.part_of_pull,
    )


def claim(directory: Path, workers: int) -> Spool:
    """This process's spool: `directory` itself for a single process (a second process on it fails);
    for one of several workers the first of `<directory>-1`, `<directory>-2`, … no running process holds,
    so a worker that replaces a dead one takes over (and replays) the spool it left."""
    if workers <= 1:
        return Spool(directory)
    for n in range(1, MAX_WORKER_SPOOLS * workers + 1):
        try:
            return Spool(directory.with_name(f"{directory.name}-{n}"))
        except SpoolBusy:
            continue
    raise SpoolBusy(f"every worker spool under {directory.parent} is in use")


class Spool:
    """`<dir>/events.jsonl` plus `<dir>/stored`, the byte offset up to which lines are in the database."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.path = directory / "events.jsonl"
        self.offset_path = directory / "stored"
        # One process owns a spool at a time; the lock dies with the process, even on SIGKILL.
        self._lock = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock)
            raise SpoolBusy(f"another running process uses the audit spool {directory}") from None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        self._ids = EventIds()

    def emit(self, event: RegistryEvent) -> None:
        """The EventSink: one complete line per write, so a crash leaves whole lines or none."""
        os.write(self._fd, _encode(record_of(event, self._ids.next())) + b"\n")

    def stored_offset(self) -> int:
        try:
            return int(self.offset_path.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def mark_stored(self, offset: int) -> None:
        tmp = self.offset_path.with_suffix(".tmp")
        tmp.write_text(str(offset))
        os.replace(tmp, self.offset_path)

    def pending(self, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Up to `limit` complete lines after the stored offset, and the offset just past them."""
        offset = self.stored_offset()
        records: list[dict[str, Any]] = []
        with open(self.path, "rb") as spool:
            spool.seek(offset)
            for line in spool:
                if not line.endswith(b"\n") or len(records) >= limit:
                    break  # a line still being written, or enough for one batch
                offset += len(line)
                if line.strip():
                    record = msgspec.json.decode(line)
                    record.setdefault("part_of_pull", None)  # every row of a batch has every column
                    records.append(record)
        return records, offset

    def rotate_if_drained(self) -> None:
        """Start a new file when the current one is large and fully stored (same thread as emit())."""
        size = os.fstat(self._fd).st_size
        if size >= ROTATE_AT and self.stored_offset() >= size:
            os.close(self._fd)
            self.path.unlink()
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
            self.mark_stored(0)

    def depth(self) -> int:
        """Bytes written but not yet stored."""
        return os.fstat(self._fd).st_size - self.stored_offset()

    def close(self) -> None:
        os.close(self._fd)
        os.close(self._lock)

    def orphans(self) -> list[Spool]:
        """Sibling spools no running process owns (a node that crashed or came back under another
        name): their events are drained by this node. The caller closes them."""
        found = []
        for sibling in sorted(self.directory.parent.iterdir()):
            if sibling != self.directory and (sibling / "events.jsonl").exists():
                try:
                    found.append(Spool(sibling))
                except SpoolBusy:
                    continue
        return found


class SpoolBusy(RuntimeError):
    pass
