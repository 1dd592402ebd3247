"""Who runs which version: each customer's last pull of each repository (from its own download events)
and whether a newer release is available under its license. "Newer" is licensing.newer_releases: semver
among the tags the customer may pull, the one definition both portals use."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app.models import DownloadEvent
from app.times import aware
from registry.kinds import cosign_subject
from registry.tables import Manifest, ManifestReference, Repository, TagHistory

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


def is_digest(reference: str | None) -> bool:
    return reference is not None and reference.startswith(("sha256:", "sha512:"))


def version_of(tags: Iterable[str]) -> str | None:
    """The one tag that names a digest's version: its newest release, else the first of its tags by name."""
    named = sorted(set(versions(tags)))
    return licensing.newest_release(named) or (named[0] if named else None)


@dataclass(frozen=True)
class DigestVersion:
    tag: str
    via_index: bool  # the digest is a platform manifest of an index that the tag names (not a pull of its own)


async def digest_versions(
    session: AsyncSession, wanted: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], DigestVersion]:
    """For (repository, digest) pairs, the tag that pointed (or points) at the digest, from the tag history;
    a platform manifest maps to the tag of its index. Digests no tag ever named are left out."""
    pairs = sorted(set(wanted))
    found: dict[tuple[str, str], DigestVersion] = {}
    for start in range(0, len(pairs), 500):
        chunk = pairs[start : start + 500]
        direct: dict[tuple[str, str], list[str]] = {}
        stmt = (
            select(Repository.name, TagHistory.digest, TagHistory.tag)
            .join(TagHistory, TagHistory.repository_id == Repository.id)
            .where(tuple_(Repository.name, TagHistory.digest).in_(chunk))
        )
        for name, digest, tag in await session.execute(stmt):
            direct.setdefault((name, digest), []).append(tag)
        for key, tags in direct.items():
            if (named := version_of(tags)) is not None:
                found[key] = DigestVersion(named, via_index=False)
        rest = [key for key in chunk if key not in found]
        if not rest:
            continue
        parent = (
            select(Repository.name, ManifestReference.digest, TagHistory.tag)
            .join(Manifest, Manifest.repository_id == Repository.id)
            .join(ManifestReference, ManifestReference.manifest_id == Manifest.id)
            .join(TagHistory, and_(TagHistory.repository_id == Repository.id, TagHistory.digest == Manifest.digest))
            .where(ManifestReference.is_manifest.is_(True), tuple_(Repository.name, ManifestReference.digest).in_(rest))
        )
        via: dict[tuple[str, str], list[str]] = {}
        for name, digest, tag in await session.execute(parent):
            via.setdefault((name, digest), []).append(tag)
        for key, tags in via.items():
            if (named := version_of(tags)) is not None:
                found[key] = DigestVersion(named, via_index=True)
    return found


async def last_pulls(
    session: AsyncSession,
    vendor_id: int,
    customer_id: int | None = None,
    repository: str | None = None,
    since: datetime | None = None,
) -> dict[tuple[int, str], LastPull]:
    """The version of each customer's most recent pull of each repository of the vendor. A pull by digest
    (containerd resolves the tag, then fetches by digest) counts as the tag that named that digest."""
    where = [*_customer_pulls(vendor_id), DownloadEvent.reference.is_not(None)]
    if customer_id is not None:
        where.append(DownloadEvent.customer_id == customer_id)
    if repository is not None:
        where.append(DownloadEvent.repository == repository)
    if since is not None:
        where.append(DownloadEvent.at >= aware(since))
    by_digest = or_(DownloadEvent.reference.like("sha256:%"), DownloadEvent.reference.like("sha512:%"))
    found: dict[tuple[int, str], LastPull] = {}
    for by_tag in (True, False):  # the newest pull by tag, then the newest by digest if it is later
        kind = [~by_digest] if by_tag else [by_digest]
        latest = (
            select(DownloadEvent.customer_id, DownloadEvent.repository, func.max(DownloadEvent.at).label("at"))
            .where(*where, *kind)
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
            .where(*where, *kind)
        )
        rows = (await session.execute(stmt)).all()
        if by_tag:
            for row in rows:
                key = (int(row.customer_id), row.repository)
                found[key] = LastPull(key[0], row.repository, row.reference, aware(row.at))
            continue
        later = [r for r in rows if (k := (int(r.customer_id), r.repository)) not in found or aware(r.at) > found[k].at]
        tags = await digest_versions(session, [(r.repository, r.reference) for r in later])
        for row in later:
            if (mapped := tags.get((row.repository, row.reference))) is not None:
                key = (int(row.customer_id), row.repository)
                found[key] = LastPull(key[0], row.repository, mapped.tag, aware(row.at))
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
    behind: int = 1  # how many releases it may pull are newer than `on`


def adoption(
    last: dict[tuple[int, str], LastPull],
    licenses: dict[int, tuple[licensing.License, ...]],
    tags: dict[str, list[str]],
    now: datetime,
) -> dict[str, list[tuple[LastPull, Outdated | None]]]:
    """Per repository, each customer's last pull and, when a newer release is allowed, how far behind it is."""
    found: dict[str, list[tuple[LastPull, Outdated | None]]] = {}
    for (customer_id, repository), pull in sorted(last.items()):
        pullable = licensing.allowed_tags(licenses.get(customer_id, ()), repository, tags.get(repository, []), now)
        newer = licensing.newer_releases(pull.tag, versions(pullable))
        behind = Outdated(customer_id, pull.tag, newer[0], len(newer)) if newer else None
        found.setdefault(repository, []).append((pull, behind))
    return found


def outdated(
    last: dict[tuple[int, str], LastPull],
    licenses: dict[int, tuple[licensing.License, ...]],
    tags: dict[str, list[str]],
    now: datetime,
) -> dict[str, list[Outdated]]:
    """Per repository, the customers whose last pull is older than the newest release they may pull."""
    found: dict[str, list[Outdated]] = {}
    for repository, rows in adoption(last, licenses, tags, now).items():
        behind = [o for _pull, o in rows if o is not None]
        if behind:
            found[repository] = behind
    return found
