"""Every read and write the registry serves is handed to an EventSink; the app decides what to keep."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol


class RegistryAction(StrEnum):
    """What a registry event records: reads, writes and denials (the admin log has its own names)."""

    MANIFEST_GET = "manifest.get"  # a pull
    MANIFEST_HEAD = "manifest.head"  # a version check
    BLOB_GET = "blob.get"
    MANIFEST_PUT = "manifest.put"
    BLOB_PUT = "blob.put"
    BLOB_MOUNT = "blob.mount"
    MANIFEST_DELETE = "manifest.delete"
    BLOB_DELETE = "blob.delete"
    DENIED = "denied"


MAX_USER_AGENT = 512  # characters kept of a client's User-Agent: enough for any real client, bounded storage


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    action: RegistryAction
    repository: str
    subject: str | None
    reference: str | None = None
    digest: str | None = None
    media_type: str | None = None
    bytes: int = 0
    status: int = 200
    reason: str | None = None
    reason_code: str | None = None  # a denial's reason, machine-readable (docs/audit.md lists them)
    client_ip: str | None = None
    user_agent: str | None = None
    license: str | None = None  # what the policy said allowed the read (Decision.license)
    actor: Any = None  # the principal's identity (Principal.identity), opaque here
    # a platform manifest GET: True when part of a pull (its index fetched just before), False when fetched
    # on its own (a pull of its own); None for anything else
    part_of_pull: bool | None = None
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventSink(Protocol):
    def emit(self, event: RegistryEvent) -> None:
        """Record an event without blocking the request (no database round trip here)."""
        ...


class DiscardingSink:
    """For a registry run without audit (tests of the engine alone)."""

    def emit(self, event: RegistryEvent) -> None:
        return None
