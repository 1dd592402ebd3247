"""What a vendor has pushed (repositories with tag counts and kinds, referrers) and what a customer may
pull of it. Shared by /api/v1/repositories and both portals; each tag's details are app.artifacts'."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import licensing
from app.models import RepositorySettings
from registry.kinds import ATTACHMENTS, KINDS
from registry.tables import Manifest, Repository, Tag


@dataclass(frozen=True)
class RepositorySummary:
    name: str
    tag_count: int
    last_pushed_at: datetime | None
    kinds: list[str] = field(default_factory=list)  # of its tagged manifests, in registry.kinds.KINDS order
    display_name: str | None = None  # the vendor's (repository settings)
    description: str | None = None


@dataclass(frozen=True)
class Referrer:
    digest: str
    artifact_type: str | None
    media_type: str
    subject: str
    created_at: datetime


def _own(vendor_slug: str) -> Any:
    return Repository.name.startswith(vendor_slug + "/", autoescape=True)


async def repositories(session: AsyncSession, vendor_slug: str) -> list[RepositorySummary]:
    stmt = (
        select(Repository.name, func.count(Tag.name).label("tag_count"), func.max(Tag.updated_at).label("last"))
        .join(Tag, Tag.repository_id == Repository.id, isouter=True)
        .where(_own(vendor_slug))
        .group_by(Repository.name)
        .order_by(Repository.name)
    )
    rows = (await session.execute(stmt)).all()
    kinds = await kinds_of(session, vendor_slug)
    settings = {
        s.repository: s
        for s in await session.scalars(
            select(RepositorySettings).where(RepositorySettings.repository.in_([r.name for r in rows]))
        )
    }
    return [
        RepositorySummary(
            r.name,
            r.tag_count,
            r.last,
            kinds.get(r.name, []),
            getattr(settings.get(r.name), "display_name", None),
            getattr(settings.get(r.name), "description", None),
        )
        for r in rows
    ]


async def kinds_of(session: AsyncSession, vendor_slug: str) -> dict[str, list[str]]:
    """The kinds of each repository's tagged manifests."""
    stmt = (
        select(Repository.name, Manifest.kind)
        .join(Tag, Tag.repository_id == Repository.id)
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(_own(vendor_slug))
        .distinct()
    )
    found: dict[str, set[str]] = {}
    for row in await session.execute(stmt):
        found.setdefault(row.name, set()).add(row.kind)
    return {name: [k for k in KINDS if k in kinds] for name, kinds in found.items()}


async def kinds_in(session: AsyncSession, repo_id: int) -> list[str]:
    """The kinds of one repository's tagged manifests, in registry.kinds.KINDS order."""
    stmt = select(Manifest.kind).join(Tag, Tag.manifest_id == Manifest.id).where(Tag.repository_id == repo_id)
    found = set((await session.scalars(stmt.distinct())).all())
    return [k for k in KINDS if k in found]


_NOUNS = (
    (frozenset({"helm-chart"}), "chart"),
    (frozenset({"image", "index"}), "image"),
    (ATTACHMENTS | {"artifact"}, "artifact"),
)


def kind_noun(kinds: Iterable[str], count: int = 2) -> str:
    """What a repository holding `kinds` calls its tagged versions: charts, images or artifacts, versions when
    it mixes them (signatures and SBOMs beside them do not count), singular for a count of one."""
    held = set(kinds)
    main = held - ATTACHMENTS or held
    noun = next((word for group, word in _NOUNS if main and main <= group), "version")
    return noun if count == 1 else noun + "s"


async def repository_id(session: AsyncSession, vendor_slug: str, name: str) -> int | None:
    """The id of the vendor's repository `name`; None for an unknown one or another vendor's."""
    if not name.startswith(vendor_slug + "/"):
        return None
    return await session.scalar(select(Repository.id).where(Repository.name == name))


async def ids_of(session: AsyncSession, names: list[str]) -> dict[str, int]:
    rows = await session.execute(select(Repository.name, Repository.id).where(Repository.name.in_(names)))
    return {r.name: r.id for r in rows}


async def tag_names(session: AsyncSession, repository_ids: list[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(Tag.repository_id, Tag.name).where(Tag.repository_id.in_(repository_ids)).order_by(Tag.name)
    )
    found: dict[int, list[str]] = {i: [] for i in repository_ids}
    for row in rows:
        found[row.repository_id].append(row.name)
    return found


async def tag_count(session: AsyncSession, repo_id: int) -> int:
    return await session.scalar(select(func.count()).select_from(Tag).where(Tag.repository_id == repo_id)) or 0


async def referrers(session: AsyncSession, repo_id: int, limit: int = 100) -> list[Referrer]:
    """Signatures, SBOMs and other artifacts that name a subject in this repository, newest first."""
    stmt = (
        select(Manifest.digest, Manifest.artifact_type, Manifest.media_type, Manifest.subject, Manifest.created_at)
        .where(Manifest.repository_id == repo_id, Manifest.subject.is_not(None))
        .order_by(Manifest.created_at.desc(), Manifest.id.desc())
        .limit(limit)
    )
    return [
        Referrer(r.digest, r.artifact_type, r.media_type, r.subject, r.created_at) for r in await session.execute(stmt)
    ]


async def latest_pushes(session: AsyncSession, vendor_slug: str, limit: int = 8) -> list[tuple[str, str, datetime]]:
    """(repository, tag, pushed at) of the most recently moved tags."""
    stmt = (
        select(Repository.name, Tag.name.label("tag"), Tag.updated_at)
        .join(Tag, Tag.repository_id == Repository.id)
        .where(_own(vendor_slug))
        .order_by(Tag.updated_at.desc())
        .limit(limit)
    )
    return [(r.name, r.tag, r.updated_at) for r in await session.execute(stmt)]


@dataclass(frozen=True)
class EntitledRepository:
    name: str
    tags: list[str]  # only those the licenses allow, newest push first


async def vendor_tags(session: AsyncSession, vendor_slug: str) -> dict[str, list[str]]:
    """Every repository under the vendor's slug with its tags, most recently pushed first."""
    stmt = (
        select(Repository.name, Tag.name.label("tag"))
        .join(Tag, Tag.repository_id == Repository.id, isouter=True)
        .where(Repository.name.startswith(vendor_slug + "/", autoescape=True))
        .order_by(Repository.name, Tag.updated_at.desc(), Tag.name)
    )
    found: dict[str, list[str]] = {}
    for row in await session.execute(stmt):
        tags = found.setdefault(row.name, [])
        if row.tag is not None:
            tags.append(row.tag)
    return found


async def entitled_repositories(
    session: AsyncSession, vendor_slug: str, licenses: Sequence[licensing.License], now: datetime
) -> list[EntitledRepository]:
    """Repositories a license in force covers, each with exactly the tags `licensing.decide` would allow."""
    return [
        EntitledRepository(name, licensing.allowed_tags(licenses, name, tags, now))
        for name, tags in (await vendor_tags(session, vendor_slug)).items()
        if licensing.repository_visible(licenses, name, now)
    ]
