"""Retention of download events: delete what is older than the configured number of days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import DownloadEvent, UsageDaily, UsageRolledUpDay
from registry.sql import write_transaction


async def prune(engine: AsyncEngine, days: int) -> int:
    """Delete raw events before the cutoff, and the daily usage rows of days wholly before it (they name
    client addresses too); returns how many raw events went."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    async with write_transaction(engine) as conn:
        result = await conn.execute(delete(DownloadEvent).where(DownloadEvent.at < cutoff))
        await conn.execute(delete(UsageDaily).where(UsageDaily.day < cutoff.date()))
        await conn.execute(delete(UsageRolledUpDay).where(UsageRolledUpDay.day < cutoff.date()))
    return int(result.rowcount or 0)
