"""Every read and write the registry serves is handed to an EventSink; the app decides what to keep."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

MAX_USER_AGENT = 512  # characters kept of a client's User-Agent: enough for any real client, bounded storage


@dataclass(frozen=True, slots=True)
class RegistryEvent:
    action: str  # manifest.get, manifest.head, blob.get, manifest.put, blob.put, *.delete, denied
    repository: str
    subject: str | None
    reference: str | None = None
    digest: str | None = None
    media_type: str | None = None
    bytes: int = 0
    status: int = 200
    reason: str | None = None
    client_ip: str | None = None
    user_agent: str | None = None
    license: str | None = None  # what the policy said allowed the read (Decision.license)
    actor: Mapping[str, str] = field(default_factory=dict)  # the principal's attributes, opaque here
    at: datetime = field(default_factory=lambda: datetime.now(UTC))


class EventSink(Protocol):
    def emit(self, event: RegistryEvent) -> None:
        """Record an event without blocking the request (no database round trip here)."""
        ...


class DiscardingSink:
    """For a registry run without audit (tests of the engine alone)."""

    def emit(self, event: RegistryEvent) -> None:
        return None
