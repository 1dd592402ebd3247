"""Streamed CSV/JSON exports over a server-side cursor: no row cap, constant memory."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from litestar.response import Stream
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.times import utcnow


def export_response(
    engine: AsyncEngine,
    stmt: Select[Any],
    columns: Sequence[str],
    to_json: Callable[[Any], dict[str, Any]],
    format: str,
    name: str,
) -> Stream:
    body = stream_rows(engine, stmt.execution_options(yield_per=1000), columns, to_json, format)
    filename = f"{name}-{utcnow():%Y%m%dT%H%M%SZ}.{format}"
    return Stream(
        body,
        media_type="text/csv" if format == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, dict) else value


async def stream_rows(
    engine: AsyncEngine,
    stmt: Select[Any],
    columns: Sequence[str],
    to_json: Callable[[Any], dict[str, Any]],
    format: str,
) -> AsyncIterator[bytes]:
    buffer, first = io.StringIO(), True
    writer = csv.writer(buffer, lineterminator="\n")
    yield (",".join(columns) + "\n").encode() if format == "csv" else b"["
    async with engine.connect() as conn:
        result = await conn.stream(stmt)
        async for partition in result.partitions(1000):
            records = [to_json(row) for row in partition]
            if format == "csv":
                writer.writerows([[_cell(v) for v in record.values()] for record in records])
                yield buffer.getvalue().encode()
                buffer.seek(0)
                buffer.truncate()
            else:
                chunk = ",".join(json.dumps(record) for record in records)
                yield (chunk if first else "," + chunk).encode()
                first = False
    if format == "json":
        yield b"]"
