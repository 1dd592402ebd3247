"""Links between a repository and the blobs it holds (`repository_blobs`)."""

from __future__ import annotations

from datetime import datetime
from typing import cast

from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select
from sqlalchemy.sql.dml import Insert

from registry.sql import dialect_insert
from registry.tables import RepositoryBlob

repository_blobs = cast(Table, RepositoryBlob.__table__)


def link_blob(conn: AsyncConnection, source: dict[str, object] | Select[tuple[int, str, datetime]]) -> Insert:
    """Link a blob to a repository, or refresh the link's time if it exists: a blob pushed or mounted
    again is young again for garbage collection's grace period."""
    stmt = dialect_insert(conn, repository_blobs)
    if isinstance(source, dict):
        stmt = stmt.values(**source)
    else:
        stmt = stmt.from_select(["repository_id", "digest", "created_at"], source)
    return stmt.on_conflict_do_update(  # type: ignore[attr-defined,no-any-return]
        index_elements=["repository_id", "digest"],
        set_={"created_at": stmt.excluded.created_at},  # type: ignore[attr-defined]
    )
