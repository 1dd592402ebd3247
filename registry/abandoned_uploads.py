"""Upload sessions a client started and never finished (nor cancelled): their rows and stored bytes go."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.sql import write_transaction
from registry.storage import BlobStore
from registry.tables import Upload

uploads_t = cast(Table, Upload.__table__)


async def remove_abandoned_uploads(engine: AsyncEngine, store: BlobStore, older_than: timedelta) -> list[str]:
    """Delete sessions untouched for `older_than`, then whatever the store still holds for uploads that old
    (an S3 multipart upload is aborted); returns the upload ids removed. Rows go first, so no session
    ever points at bytes already gone."""
    cutoff = datetime.now(UTC) - older_than
    async with write_transaction(engine) as conn:
        stale = list((await conn.execute(select(uploads_t.c.id).where(uploads_t.c.updated_at < cutoff))).scalars())
        if stale:
            await conn.execute(delete(uploads_t).where(uploads_t.c.id.in_(stale)))
    removed = await store.remove_stale_uploads(older_than.total_seconds())
    return sorted(set(stale) | set(removed))
