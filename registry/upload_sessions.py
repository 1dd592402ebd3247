"""Upload sessions in SQL: which repository an upload belongs to and how many bytes it holds."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import delete, select, update

from registry.metadata import Metadata, repositories, uploads_t
from registry.sql import write_transaction


class UploadSessions:
    def __init__(self, metadata: Metadata) -> None:
        self.metadata = metadata

    async def create(self, repository: str) -> str:
        upload_id = str(uuid.uuid4())
        async with write_transaction(self.metadata.engine) as conn:
            repo_id = await self.metadata.repository_id(conn, repository)
            await conn.execute(uploads_t.insert().values(id=upload_id, repository_id=repo_id, size=0))
        return upload_id

    async def size(self, repository: str, upload_id: str) -> int | None:
        stmt = (
            select(uploads_t.c.size)
            .join(repositories, repositories.c.id == uploads_t.c.repository_id)
            .where(uploads_t.c.id == upload_id, repositories.c.name == repository)
        )
        async with self.metadata.engine.connect() as conn:
            return (await conn.execute(stmt)).scalar()

    async def set_size(self, upload_id: str, size: int) -> None:
        async with write_transaction(self.metadata.engine) as conn:
            await conn.execute(
                update(uploads_t).where(uploads_t.c.id == upload_id).values(size=size, updated_at=datetime.now(UTC))
            )

    async def delete(self, upload_id: str) -> bool:
        async with write_transaction(self.metadata.engine) as conn:
            result = await conn.execute(delete(uploads_t).where(uploads_t.c.id == upload_id))
        return bool(result.rowcount)
