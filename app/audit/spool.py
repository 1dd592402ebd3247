"""The append-only local spool. The request path only appends one line with one write(2): no database,
no waiting. What the writer has stored is remembered as an offset, so a restart replays the rest."""

from __future__ import annotations

import fcntl
import json
import os
import uuid
from pathlib import Path
from typing import Any

from app.identity import TokenIdentity
from registry.events import RegistryEvent

ROTATE_AT = 64 * 1024 * 1024  # once everything before it is stored, start a fresh spool file


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def record_of(event: RegistryEvent) -> dict[str, Any]:
    who: TokenIdentity | None = event.actor
    return {
        "id": uuid.uuid4().hex,
        "at": event.at.isoformat(),
        "action": str(event.action),
        "vendor_id": who.vendor_id if who else None,
        "customer_id": who.customer_id if who else None,
        "license_id": _int(event.license),
        "token_id": who.token_id if who else None,
        "repository": event.repository,
        "reference": event.reference,
        "digest": event.digest,
        "media_type": event.media_type,
        "bytes": event.bytes,
        "status": event.status,
        "reason": event.reason,
        "client_ip": event.client_ip,
        "user_agent": event.user_agent,
    }


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

    def emit(self, event: RegistryEvent) -> None:
        """The EventSink: one complete line per write, so a crash leaves whole lines or none."""
        line = json.dumps(record_of(event), separators=(",", ":")) + "\n"
        os.write(self._fd, line.encode())

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
                    records.append(json.loads(line))
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
