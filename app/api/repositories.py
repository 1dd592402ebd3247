"""/api/v1/repositories: what the vendor has pushed, with tags, digests, sizes and platforms."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get
from litestar.params import FromPath

from app import catalog
from app.dependencies import CurrentActor, Reader
from app.guards import api
from app.roles import Permission
from app.services.errors import NotFound
from app.times import iso


class RepositoryController(Controller):
    path = "/api/v1/repositories"
    tags = ["repositories"]

    @get("/", guards=[api(Permission.READ)])
    async def list_(self, actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        found = await catalog.repositories(reader, actor.vendor_slug)
        return {
            "items": [
                {"name": r.name, "tag_count": r.tag_count, "last_pushed_at": iso(r.last_pushed_at)} for r in found
            ]
        }

    @get("/{name:path}", guards=[api(Permission.READ)])
    async def tags_(self, name: FromPath[str], actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        """`GET /api/v1/repositories/<name>/tags`: the tags of one repository."""
        repository, _, suffix = name.strip("/").rpartition("/")
        repo_id = await catalog.repository_id(reader, actor.vendor_slug, repository) if suffix == "tags" else None
        if repo_id is None:
            raise NotFound(f"repository {repository or name} not found")
        return {
            "items": [
                {
                    "tag": t.tag,
                    "digest": t.digest,
                    "media_type": t.media_type,
                    "size": t.size,
                    "platforms": t.platforms,
                    "pushed_at": iso(t.pushed_at),
                }
                for t in await catalog.tags(reader, repo_id)
            ]
        }
