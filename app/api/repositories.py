"""/api/v1/repositories: what the vendor has pushed, with tags, digests, sizes and platforms."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath

from app import catalog, services
from app.api.common import Caller, Session
from app.roles import Permission


class RepositoryController(Controller):
    path = "/api/v1/repositories"
    tags = ["repositories"]

    @get("/")
    async def list_(self, caller: Caller, session: Session) -> dict[str, Any]:
        caller.require(Permission.READ)
        found = await catalog.repositories(session, caller.vendor_slug)
        return {
            "items": [
                {"name": r.name, "tag_count": r.tag_count, "last_pushed_at": services.iso(r.last_pushed_at)}
                for r in found
            ]
        }

    @get("/{name:path}")
    async def tags_(self, name: FromPath[str], caller: Caller, session: Session) -> dict[str, Any]:
        """`GET /api/v1/repositories/<name>/tags`: the tags of one repository."""
        caller.require(Permission.READ)
        repository, _, suffix = name.strip("/").rpartition("/")
        repo_id = await catalog.repository_id(session, caller.vendor_slug, repository) if suffix == "tags" else None
        if repo_id is None:
            raise services.NotFound(f"repository {repository or name} not found")
        return {
            "items": [
                {
                    "tag": t.tag,
                    "digest": t.digest,
                    "media_type": t.media_type,
                    "size": t.size,
                    "platforms": t.platforms,
                    "pushed_at": services.iso(t.pushed_at),
                }
                for t in await catalog.tags(session, repo_id)
            ]
        }
