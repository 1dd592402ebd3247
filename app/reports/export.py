"""Streamed CSV/JSON exports over a server-side cursor: no row cap, constant memory. Each export is recorded
(app/services/exports.py): the response names its record in `Wharf-Export-Id`, and the row count and SHA-256
of exactly the bytes sent are kept when the stream ends."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

import anyio
from litestar.response import Stream
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.identity import Actor
from app.reports import usage
from app.services.exports import ExportService, Sent
from app.times import utcnow

EXPORT_ID_HEADER = "Wharf-Export-Id"
# A cell a spreadsheet would run as a formula (OWASP, "CSV injection"): it gets a leading apostrophe.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def export_response(
    engine: AsyncEngine,
    stmt: Select[Any],
    columns: Sequence[str],
    to_json: Callable[[Any], dict[str, Any]],
    format: str,
    kind: str,
    *,
    actor: Actor,
    exports: ExportService,
    filters: dict[str, Any],
) -> Stream:
    """The streamed file `<kind>-<UTC stamp>.<format>`, recorded as an export of `kind` with `filters`."""
    export_id = secrets.token_hex(16)
    rows = stream_rows(engine, stmt.execution_options(yield_per=1000), columns, to_json, format)
    body = recorded(rows, exports, actor, export_id, kind, format, filters)
    filename = f"{kind}-{utcnow():%Y%m%dT%H%M%SZ}.{format}"
    return Stream(
        body,
        media_type="text/csv" if format == "csv" else "application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"', EXPORT_ID_HEADER: export_id},
    )


async def usage_export(
    conn: Any,
    engine: AsyncEngine,
    actor: Actor,
    exports: ExportService,
    dims: Sequence[usage.Dimension],
    since: datetime | None,
    until: datetime | None,
    customer_id: int | None,
    repository: str | None,
) -> Stream:
    """The usage report as a recorded CSV export (the API's `format=csv` and the downloads page's link): the
    fields of /api/v1/usage, one row per group, its concrete period in the export's filters."""
    span = await usage.period(conn, actor.vendor_id, since, until)
    names = await usage.current_names(conn, actor.vendor_id)
    stmt = await usage.usage_query(conn, actor.vendor_id, dims, span.since, span.until, customer_id, repository)
    filters = {
        "group_by": ",".join(dims),
        "since": span.since.isoformat(),
        "until": span.until.isoformat(),
        "customer_id": customer_id,
        "repository": repository,
    }

    def to_json(row: Any) -> dict[str, Any]:
        return usage.item(row, names)

    return export_response(
        engine, stmt, usage.columns(dims), to_json, "csv", "usage", actor=actor, exports=exports, filters=filters
    )


async def recorded(
    chunks: AsyncIterator[tuple[bytes, int]],
    exports: ExportService,
    actor: Actor,
    export_id: str,
    kind: str,
    format: str,
    filters: dict[str, Any],
) -> AsyncIterator[bytes]:
    """The chunks, each (bytes, rows in it), passed on while their SHA-256, size and rows are counted once
    sent; the export's record is opened before the first byte and closed after the last (or the cut)."""
    await exports.start(actor, export_id, kind, format, filters)
    digest, size, rows, complete = hashlib.sha256(), 0, 0, False
    try:
        async for chunk, count in chunks:
            yield chunk
            digest.update(chunk)  # counted once the chunk has left: a cut stream counts what was sent
            size += len(chunk)
            rows += count
        complete = True
    finally:
        with anyio.CancelScope(shield=True):  # a client gone cancels the stream; the record still closes
            await exports.finish(actor, export_id, Sent(rows, size, digest.hexdigest()), complete=complete)


def csv_cell(value: Any) -> str:
    """A value as a CSV cell: nothing for None, JSON for a dict, and a formula start escaped with `'`."""
    if value is None:
        return ""
    text = json.dumps(value) if isinstance(value, dict) else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(rows: Iterable[Sequence[Any]]) -> str:
    """Rows as CSV with RFC 4180 line ends: with them the writer also quotes a cell holding a lone CR (a
    spreadsheet would end the row there)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue()


async def stream_rows(
    engine: AsyncEngine,
    stmt: Select[Any],
    columns: Sequence[str],
    to_json: Callable[[Any], dict[str, Any]],
    format: str,
) -> AsyncIterator[tuple[bytes, int]]:
    """The file in chunks, each with the number of rows it holds (a header or bracket holds none)."""
    first = True
    yield (csv_text([columns]).encode() if format == "csv" else b"["), 0
    async with engine.connect() as conn:
        result = await conn.stream(stmt)
        async for partition in result.partitions(1000):
            records = [to_json(row) for row in partition]
            if format == "csv":
                yield csv_text([[csv_cell(v) for v in record.values()] for record in records]).encode(), len(records)
            else:
                chunk = ",".join(json.dumps(record) for record in records)
                yield (chunk if first else "," + chunk).encode(), len(records)
                first = False
    if format == "json":
        yield b"]", 0
