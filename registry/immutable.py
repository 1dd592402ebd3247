"""Immutable tags, enforced where the manifest is written: inside its transaction, so two pushes racing
for one tag cannot both move it. Which tags are held is the AccessPolicy's answer (`tag_may_move`)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection

from registry.errors import RegistryError
from registry.tables import Manifest, Tag

manifests, tags_t = cast(Table, Manifest.__table__), cast(Table, Tag.__table__)


async def refuse_moves(conn: AsyncConnection, repo_id: int, digest: str, frozen: dict[str, str]) -> None:
    """DENIED, naming the rule, if a tag of `frozen` (tag -> rule) already points at other content."""
    stmt = (
        select(tags_t.c.name, manifests.c.digest)
        .join(manifests, manifests.c.id == tags_t.c.manifest_id)
        .where(tags_t.c.repository_id == repo_id, tags_t.c.name.in_(frozen))
    )
    for tag, current in (await conn.execute(stmt)).all():
        if current != digest:
            raise RegistryError(
                "DENIED",
                f"tag {tag} is immutable ({frozen[tag]}): it already points to {current}; "
                "delete the tag first to push different content under it",
            )
