"""/api/v1/repositories: what the vendor has pushed, with tags, digests, sizes and platforms."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath
from sqlalchemy import func, select

from app import services
from app.api.common import Caller, Session
from app.roles import Permission
from registry.tables import Blob, Manifest, ManifestReference, Repository, Tag


class RepositoryController(Controller):
    path = "/api/v1/repositories"
    tags = ["repositories"]

    @get("/")
    async def list_(self, caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.READ)
        stmt = (
            select(Repository.name, func.count(Tag.name).label("tag_count"), func.max(Tag.updated_at).label("last"))
            .join(Tag, Tag.repository_id == Repository.id, isouter=True)
            .where(Repository.name.startswith(caller.vendor_slug + "/", autoescape=True))
            .group_by(Repository.name)
            .order_by(Repository.name)
        )
        rows = (await session.execute(stmt)).all()
        return {
            "items": [{"name": r.name, "tag_count": r.tag_count, "last_pushed_at": services.iso(r.last)} for r in rows]
        }

    @get("/{name:path}")
    async def tags_(self, name: FromPath[str], caller: Caller, session: Session) -> dict[str, Any]:
        """`GET /api/v1/repositories/<name>/tags`: the tags of one repository."""
        caller.require(Permission.READ)
        repository, _, suffix = name.strip("/").rpartition("/")
        if suffix != "tags" or not repository.startswith(caller.vendor_slug + "/"):
            raise services.NotFound(f"repository {repository or name} not found")
        stmt = (
            select(Tag.name, Tag.updated_at, Manifest.id, Manifest.digest, Manifest.media_type, Manifest.size)
            .join(Manifest, Manifest.id == Tag.manifest_id)
            .join(Repository, Repository.id == Tag.repository_id)
            .where(Repository.name == repository)
            .order_by(Tag.name)
        )
        rows = (await session.execute(stmt)).all()
        if not rows and await session.scalar(select(Repository.id).where(Repository.name == repository)) is None:
            raise services.NotFound(f"repository {repository} not found")
        refs = (
            await session.execute(
                select(ManifestReference.manifest_id, ManifestReference.platform, Blob.size)
                .join(Blob, Blob.digest == ManifestReference.digest, isouter=True)
                .where(ManifestReference.manifest_id.in_({r.id for r in rows}))
            )
        ).all()
        sizes: dict[int, int] = {}
        platforms: dict[int, list[str]] = {}
        for ref in refs:
            sizes[ref.manifest_id] = sizes.get(ref.manifest_id, 0) + (ref.size or 0)
            if ref.platform:
                platforms.setdefault(ref.manifest_id, []).append(ref.platform)
        return {
            "items": [
                {
                    "tag": r.name,
                    "digest": r.digest,
                    "media_type": r.media_type,
                    "size": r.size + sizes.get(r.id, 0),
                    "platforms": sorted(platforms.get(r.id, [])),
                    "pushed_at": services.iso(r.updated_at),
                }
                for r in rows
            ]
        }
