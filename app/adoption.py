"""Who runs which version: each customer's last pull of each repository (from its own download events)
and whether a newer release is available under its license. "Newer" is licensing.newer_releases: semver
among the tags the customer may pull, the one definition both portals use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app.models import DownloadEvent
from app.times import aware
from registry.kinds import cosign_subject

PULL = "manifest.get"


@dataclass(frozen=True)
class LastPull:
    customer_id: int
    repository: str
    tag: str
    at: datetime


def _customer_pulls(vendor_id: int) -> list[Any]:
    """Successful pulls (manifest GETs) by the vendor's customers."""
    return [
        DownloadEvent.vendor_id == vendor_id,
        DownloadEvent.action == PULL,
        DownloadEvent.status < 400,
        DownloadEvent.customer_id.is_not(None),
    ]


def versions(tags: Iterable[str]) -> list[str]:
    """Tags that name versions a customer installs: no cosign signature tags."""
    return [t for t in tags if cosign_subject(t) is None]


def newer_available(last: str | None, pullable: Sequence[str]) -> str | None:
    """The newest release among `pullable` that is newer than `last`; None when `last` is current or unknown."""
    if last is None:
        return None
    newer = licensing.newer_releases(last, versions(pullable))
    return newer[0] if newer else None


async def last_pulls(
    session: AsyncSession,
    vendor_id: int,
    customer_id: int | None = None,
    repository: str | None = None,
    since: datetime | None = None,
) -> dict[tuple[int, str], LastPull]:
    """The tag of each customer's most recent pull (by tag) of each repository of the vendor."""
    where = [
        *_customer_pulls(vendor_id),
        DownloadEvent.reference.is_not(None),
        DownloadEvent.reference.not_like("sha256:%"),
        DownloadEvent.reference.not_like("sha512:%"),
    ]
    if customer_id is not None:
        where.append(DownloadEvent.customer_id == customer_id)
    if repository is not None:
        where.append(DownloadEvent.repository == repository)
    if since is not None:
        where.append(DownloadEvent.at >= aware(since))
    latest = (
        select(DownloadEvent.customer_id, DownloadEvent.repository, func.max(DownloadEvent.at).label("at"))
        .where(*where)
        .group_by(DownloadEvent.customer_id, DownloadEvent.repository)
        .subquery()
    )
    stmt = (
        select(DownloadEvent.customer_id, DownloadEvent.repository, DownloadEvent.reference, DownloadEvent.at)
        .join(
            latest,
            and_(
                latest.c.customer_id == DownloadEvent.customer_id,
                latest.c.repository == DownloadEvent.repository,
                latest.c.at == DownloadEvent.at,
            ),
        )
        .where(*where)
    )
    found: dict[tuple[int, str], LastPull] = {}
    for row in await session.execute(stmt):
        key = (int(row.customer_id), row.repository)
        found[key] = LastPull(key[0], row.repository, row.reference, row.at)
    return found


@dataclass(frozen=True)
class VersionPulls:
    customer_id: int
    pulls: int
    last_at: datetime


async def version_pulls(session: AsyncSession, vendor_id: int, repository: str, tag: str) -> dict[int, VersionPulls]:
    """Which customers pulled this version (by tag), how often and when last."""
    stmt = (
        select(DownloadEvent.customer_id, func.count(), func.max(DownloadEvent.at))
        .where(*_customer_pulls(vendor_id), DownloadEvent.repository == repository, DownloadEvent.reference == tag)
        .group_by(DownloadEvent.customer_id)
    )
    return {int(c or 0): VersionPulls(int(c or 0), int(n), at) for c, n, at in await session.execute(stmt)}


async def pulling_customers(session: AsyncSession, vendor_id: int, repository: str) -> dict[str, int]:
    """How many customers pulled each tag of the repository."""
    stmt = (
        select(DownloadEvent.reference, func.count(func.distinct(DownloadEvent.customer_id)))
        .where(*_customer_pulls(vendor_id), DownloadEvent.repository == repository)
        .group_by(DownloadEvent.reference)
    )
    return {str(tag): int(n) for tag, n in await session.execute(stmt) if tag}


def entitled_customers(
    licenses: dict[int, tuple[licensing.License, ...]], repository: str, tags: list[str], now: datetime
) -> dict[str, set[int]]:
    """For each of `tags`, the customers whose licenses allow it now (licensing.allowed_tags decides)."""
    found: dict[str, set[int]] = {tag: set() for tag in tags}
    for customer_id, held in licenses.items():
        for tag in licensing.allowed_tags(held, repository, tags, now):
            found[tag].add(customer_id)
    return found


@dataclass(frozen=True)
class Outdated:
    customer_id: int
    on: str  # the version last pulled
    newest: str  # the newest release its license allows


def outdated(
    last: dict[tuple[int, str], LastPull],
    licenses: dict[int, tuple[licensing.License, ...]],
    tags: dict[str, list[str]],
    now: datetime,
) -> dict[str, list[Outdated]]:
    """Per repository, the customers whose last pull is older than the newest release they may pull."""
    found: dict[str, list[Outdated]] = {}
    for (customer_id, repository), pull in sorted(last.items()):
        pullable = licensing.allowed_tags(licenses.get(customer_id, ()), repository, tags.get(repository, []), now)
        newer = newer_available(pull.tag, pullable)
        if newer is not None:
            found.setdefault(repository, []).append(Outdated(customer_id, pull.tag, newer))
    return found
