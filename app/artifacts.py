"""What each tag of a repository holds: its kind, chart or image details, platforms, total size, OCI
annotations, and the signatures and SBOMs attached to it (by the referrers API's `subject` or by
cosign's `sha256-<hex>.sig` tags). Shared by /api/v1/repositories and both portals."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.kinds import ATTACHMENTS, cosign_subject, shown_platforms
from registry.tables import Blob, Manifest, ManifestReference, Tag

OCI = "org.opencontainers.image."
SHOWN_ANNOTATIONS = ("title", "description", "version", "source", "revision", "created", "licenses")


@dataclass(frozen=True)
class Chart:
    name: str | None
    version: str | None
    app_version: str | None
    description: str | None
    icon: str | None  # https only (registry.describe)
    kube_version: str | None = None
    dependencies: list[dict[str, Any]] = field(default_factory=list)

    def api(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "app_version": self.app_version,
            "description": self.description,
            "icon": self.icon,
        }


@dataclass(frozen=True)
class Attachment:
    kind: str  # signature | sbom (or artifact: anything else naming the version as its subject)
    digest: str
    artifact_type: str | None
    tag: str | None = None  # cosign's tag, when attached by its tag scheme rather than by `subject`


@dataclass(frozen=True)
class TagInfo:
    tag: str
    digest: str
    media_type: str
    kind: str
    size: int  # the manifest, its config and layers; for an index, with every child's
    platforms: list[str]
    pushed_at: datetime
    annotations: dict[str, str] = field(default_factory=dict)  # the OCI ones shown (title, description…)
    chart: Chart | None = None
    created: str | None = None
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def signed(self) -> bool:
        return any(a.kind == "signature" for a in self.attachments)

    @property
    def cosign_signed(self) -> bool:
        return any(a.kind == "signature" and (a.tag or "cosign" in (a.artifact_type or "")) for a in self.attachments)

    @property
    def sboms(self) -> list[Attachment]:
        return [a for a in self.attachments if a.kind == "sbom"]

    @property
    def description(self) -> str | None:
        return self.annotations.get("description") or (self.chart.description if self.chart else None)


def _annotations(raw: str | None) -> dict[str, str]:
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(found, dict):
        return {}
    return {key: str(found[OCI + key])[:500] for key in SHOWN_ANNOTATIONS if found.get(OCI + key)}


def _details(raw: str | None) -> dict[str, Any]:
    try:
        found = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _chart(details: dict[str, Any]) -> Chart | None:
    raw = details.get("chart")
    if not isinstance(raw, dict):
        return None
    return Chart(
        raw.get("name"),
        raw.get("version"),
        raw.get("app_version"),
        raw.get("description"),
        raw.get("icon"),
        raw.get("kube_version"),
        list(raw.get("dependencies") or []),
    )


async def _totals(session: AsyncSession, manifest_ids: Iterable[int]) -> dict[int, int]:
    """Each manifest's own size plus the blobs it references."""
    ids = set(manifest_ids)
    stmt = (
        select(ManifestReference.manifest_id, func.sum(Blob.size))
        .join(Blob, Blob.digest == ManifestReference.digest)
        .where(ManifestReference.manifest_id.in_(ids))
        .group_by(ManifestReference.manifest_id)
    )
    return {row[0]: int(row[1] or 0) for row in await session.execute(stmt)}


async def _children(session: AsyncSession, repo_id: int, index_ids: set[int]) -> dict[int, list[Any]]:
    """The child manifests of indexes: (id, size, platform, details) each."""
    if not index_ids:
        return {}
    stmt = (
        select(ManifestReference.manifest_id, Manifest.id, Manifest.size, Manifest.details, ManifestReference.platform)
        .join(Manifest, Manifest.digest == ManifestReference.digest)
        .where(
            ManifestReference.manifest_id.in_(index_ids),
            ManifestReference.is_manifest.is_(True),
            Manifest.repository_id == repo_id,
        )
    )
    found: dict[int, list[Any]] = {}
    for row in await session.execute(stmt):
        found.setdefault(row.manifest_id, []).append(row)
    return found


async def attachments(session: AsyncSession, repo_id: int, digests: Iterable[str]) -> dict[str, list[Attachment]]:
    """Signatures, SBOMs and other artifacts naming each of `digests`: by `subject`, or by cosign's tags."""
    wanted = set(digests)
    found: dict[str, list[Attachment]] = {d: [] for d in wanted}
    if not wanted:
        return found
    by_subject = select(Manifest.subject, Manifest.kind, Manifest.digest, Manifest.artifact_type).where(
        Manifest.repository_id == repo_id, Manifest.subject.in_(wanted)
    )
    for row in await session.execute(by_subject.order_by(Manifest.id)):
        kind = row.kind if row.kind in ATTACHMENTS else "artifact"
        found[row.subject].append(Attachment(kind, row.digest, row.artifact_type))
    names = [f"{d.replace(':', '-')}.{suffix}" for d in wanted for suffix in ("sig", "att", "sbom")]
    by_tag = (
        select(Tag.name, Manifest.digest, Manifest.artifact_type)
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(Tag.repository_id == repo_id, Tag.name.in_(names))
        .order_by(Tag.name)
    )
    for name, digest, artifact_type in await session.execute(by_tag):
        described = cosign_subject(name)
        if described is not None and described[0] in found:
            found[described[0]].append(Attachment(described[1], digest, artifact_type, name))
    return found


async def tags(
    session: AsyncSession, repo_id: int, limit: int | None = None, offset: int = 0, only: list[str] | None = None
) -> list[TagInfo]:
    """The repository's tags by name (`only`: just these), each described."""
    stmt = (
        select(
            Tag.name,
            Tag.updated_at,
            Manifest.id,
            Manifest.digest,
            Manifest.media_type,
            Manifest.size,
            Manifest.kind,
            Manifest.annotations,
            Manifest.details,
        )
        .join(Manifest, Manifest.id == Tag.manifest_id)
        .where(Tag.repository_id == repo_id)
        .order_by(Tag.name)
        .offset(offset)
        .limit(limit)
    )
    if only is not None:
        stmt = stmt.where(Tag.name.in_(only))
    rows = (await session.execute(stmt)).all()
    children = await _children(session, repo_id, {r.id for r in rows if r.kind == "index"})
    child_ids = {c.id for found in children.values() for c in found}
    totals = await _totals(session, {r.id for r in rows} | child_ids)
    attached = await attachments(session, repo_id, {r.digest for r in rows})
    described = []
    for r in rows:
        details = _details(r.details)
        size = r.size + totals.get(r.id, 0)
        platforms = [details["platform"]] if details.get("platform") else []
        created = details.get("created")
        for child in children.get(r.id, []):
            size += child.size + totals.get(child.id, 0)
            platforms.append(child.platform or "")
            created = max(filter(None, (created, _details(child.details).get("created"))), default=None)
        annotations = _annotations(r.annotations)
        described.append(
            TagInfo(
                tag=r.name,
                digest=r.digest,
                media_type=r.media_type,
                kind=r.kind,
                size=size,
                platforms=shown_platforms(platforms),
                pushed_at=r.updated_at,
                annotations=annotations,
                chart=_chart(details),
                created=annotations.get("created") or created,
                attachments=attached.get(r.digest, []),
            )
        )
    return described


def api_item(t: TagInfo) -> dict[str, Any]:
    """A tag as /api/v1 shows it."""
    item: dict[str, Any] = {
        "tag": t.tag,
        "digest": t.digest,
        "media_type": t.media_type,
        "kind": t.kind,
        "size": t.size,
        "platforms": t.platforms,
        "created": t.created,
        "annotations": t.annotations,
        "signatures": [a.digest for a in t.attachments if a.kind == "signature"],
        "sboms": [a.digest for a in t.sboms],
    }
    if t.chart is not None:
        item["chart"] = t.chart.api()
    return item
