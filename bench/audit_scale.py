"""Download audit at scale: N events in PostgreSQL, then a month's usage report and a full export.

Run: .venv/bin/python -m bench.audit_scale [--events 10000000] [--shape uniform|pulls] [--keep | --reuse DB]
The database is created (and dropped afterwards unless --keep) on the server given, default the local one.

Two shapes of traffic: `uniform` draws every event independently (customer, repository, tag, client address
out of 250 per customer): the worst case for any summary, since hardly two events of a day share a row;
`pulls` generates whole pulls as clients make them (a version check, or a manifest GET and its layers, from
one of a customer's few cluster addresses, recent tags more often than old ones).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import random
import resource
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from app.db import upgrade
from app.reports.events import COLUMNS
from app.reports.rollup import roll_up_pending
from app.reports.usage import usage_report

CUSTOMERS, REPOSITORIES, TAGS = 500, 40, 60
# what a generated record holds, in order
RECORD_COLUMNS = (
    *("id", "at", "action", "vendor_id", "customer_id", "license_id", "token_id", "repository", "reference"),
    *("digest", "media_type", "bytes", "status", "reason", "client_ip", "user_agent", "customer_name", "license_name"),
)
REPORT_GROUPS = ("customer", "license", "repository", "tag", "day", "month", "customer,month", "repository,tag")


def rows(count: int, start: datetime, span_days: float, seed: int, shape: str = "uniform"):  # type: ignore[no-untyped-def]
    if shape == "pulls":
        yield from pull_rows(count, start, span_days, seed)
        return
    rng = random.Random(seed)
    span = max(int(span_days * 86400), 1)
    for _ in range(count):
        customer = rng.randrange(1, CUSTOMERS + 1)
        action = rng.choices(("manifest.get", "manifest.head", "blob.get", "denied"), (50, 20, 28, 2))[0]
        yield (
            uuid.uuid4().hex,
            start + timedelta(seconds=rng.randrange(span)),
            action,
            1,
            customer,
            customer * 2,
            customer * 3,
            f"acme/product-{rng.randrange(REPOSITORIES)}",
            f"1.{rng.randrange(TAGS)}.0",
            f"sha256:{rng.getrandbits(256):064x}",
            None,
            rng.randrange(100, 50_000_000) if action == "blob.get" else 900,
            403 if action == "denied" else 200,
            "tag not covered" if action == "denied" else None,
            f"10.{customer % 250}.0.{rng.randrange(250)}",
            "containerd/1.7",
            f"Customer {customer}",
            f"License {customer * 2}",
        )


def pull_rows(count: int, start: datetime, span_days: float, seed: int):  # type: ignore[no-untyped-def]
    rng = random.Random(seed)
    span = max(int(span_days * 86400), 1)
    made = 0
    while made < count:
        customer = rng.randrange(1, CUSTOMERS + 1)
        crng = random.Random(customer)  # a customer's own repositories and cluster addresses
        repository = (
            f"acme/product-{crng.choice(range(REPOSITORIES))}"
            if rng.random() < 0.7
            else (f"acme/product-{crng.randrange(REPOSITORIES)}")
        )
        address = f"10.{customer % 250}.{customer // 250}.{rng.randrange(1, crng.randrange(2, 9))}"
        tag = f"1.{TAGS - 1 - min(int(rng.expovariate(0.4)), TAGS - 1)}.0"  # recent tags more often
        at = start + timedelta(seconds=rng.randrange(span))
        manifest = "sha256:" + hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()
        denied = rng.random() < 0.02
        if denied:
            events = [("denied", 403, 0)]
        elif rng.random() < 0.5:
            events = [("manifest.head", 200, 0)]  # up to date: a version check only
        else:
            events = [("manifest.get", 200, 1500)] + [
                ("blob.get", 200, rng.randrange(100, 50_000_000))
            ] * rng.randrange(2, 8)
        for action, status, size in events[: count - made]:
            yield (
                uuid.uuid4().hex,
                at,
                action,
                1,
                customer,
                customer * 2,
                customer * 3,
                repository,
                tag,
                manifest,
                None,
                size,
                status,
                "tag not covered" if action == "denied" else None,
                address,
                "containerd/1.7",
                f"Customer {customer}",
                f"License {customer * 2}",
            )
            made += 1


async def load(dsn: str, count: int, span_days: int, shape: str) -> float:
    start = datetime.now(UTC) - timedelta(days=span_days)
    conn = await asyncpg.connect(dsn)
    started = time.perf_counter()
    try:
        chunk = 200_000
        days_per_chunk = span_days / -(-count // chunk)
        slice_ = timedelta(days=days_per_chunk)
        for offset in range(0, count, chunk):
            await conn.copy_records_to_table(
                "download_events",
                # each chunk covers its own slice of time, in order: the table's physical order follows
                # time as it does when events arrive in production
                records=sorted(
                    rows(min(chunk, count - offset), start + slice_ * (offset // chunk), days_per_chunk, offset, shape),
                    key=lambda record: record[1],
                ),
                columns=list(RECORD_COLUMNS),
            )
            print(f"  {offset + chunk:>10,} events", end="\r", flush=True)
        await conn.execute("ANALYZE download_events")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def _streamed(engine, stmt, columns, to_json) -> tuple[int, int, float, float]:  # type: ignore[no-untyped-def]
    """Stream `stmt` as CSV the way the exports do: (rows, bytes, seconds, peak RSS growth in MiB)."""
    from app.reports.export import stream_rows

    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started, size, rows = time.perf_counter(), 0, 0
    async for chunk, count in stream_rows(engine, stmt.execution_options(yield_per=1000), columns, to_json, "csv"):
        size += len(chunk)
        rows += count
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    return rows, size, time.perf_counter() - started, growth


async def export_month(url: str) -> None:
    """Stream a month of events as CSV the way /api/v1/pulls/export does, watching this process's memory."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.models import DownloadEvent
    from app.reports.events import PullFilters, event_json, pull_events

    engine = create_async_engine(url)
    since = datetime.now(UTC) - timedelta(days=30)
    stmt = pull_events(1, PullFilters(since=since)).order_by(DownloadEvent.at, DownloadEvent.id)
    try:
        rows, size, seconds, growth = await _streamed(engine, stmt, COLUMNS, event_json)
    finally:
        await engine.dispose()
    print(
        f"  export of a month: {rows:,} rows, {size / 2**20:.0f} MiB in {seconds:.1f} s "
        f"({rows / seconds:,.0f} rows/s), peak RSS growth {growth:.0f} MiB"
    )


async def usage_seconds(url: str, group_by: str, raw_only: bool = False, days: int = 30) -> float:
    """Median of three reports over the last `days` (rolled-up days from `usage_daily`, the rest from raw
    events), as /api/v1/usage answers them: items with names, and totals; with `raw_only`, as before any
    rollup (the rollup markers are deleted inside a transaction rolled back after)."""
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    since = datetime.now(UTC) - timedelta(days=days)
    try:
        times = []
        for _ in range(3):
            async with engine.connect() as conn:
                if raw_only:
                    await conn.execute(text("DELETE FROM usage_rolled_up_days"))
                started = time.perf_counter()
                report = await usage_report(conn, 1, group_by, since)
                times.append(time.perf_counter() - started)
                await conn.rollback()
        median = statistics.median(times)
        shown = [i[f] for i in report.items for f in ("customer_name", "license_name") if f in i]
        named = bool(shown) and all(name.startswith(("Customer", "License", "(")) for name in shown)
        print(
            f"  {days:>3} days by {group_by:<15} {len(report.items):>6} groups{' named' if named else ''}: "
            f"median {median:.2f} s, runs {_runs(times)}"
        )
        return median
    finally:
        await engine.dispose()


async def export_usage(url: str, group_by: str, days: int) -> None:
    """Stream a usage report as CSV the way /api/v1/usage?format=csv does, watching this process's memory."""
    from sqlalchemy.ext.asyncio import create_async_engine

    from app.reports import usage

    engine = create_async_engine(url)
    since = datetime.now(UTC) - timedelta(days=days)
    try:
        async with engine.connect() as conn:
            names = await usage.current_names(conn, 1)
            stmt = await usage.usage_query(conn, 1, group_by, since, None, None, None)
        columns = usage.columns(usage.parse_group_by(group_by))
        rows, size, seconds, growth = await _streamed(engine, stmt, columns, lambda r: usage.item(r, names))
    finally:
        await engine.dispose()
    print(
        f"  usage export by {group_by} over {days} days: {rows:,} rows, {size / 2**20:.1f} MiB in "
        f"{seconds:.1f} s, peak RSS growth {growth:.0f} MiB"
    )


async def roll_up(url: str, days: int) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    started = time.perf_counter()
    try:
        done = await roll_up_pending(engine, limit=days + 1)
        async with engine.connect() as conn:  # as autovacuum does after a bulk insert: the planner's row counts
            await conn.execute(text("ANALYZE usage_daily"))
    finally:
        await engine.dispose()
    seconds = time.perf_counter() - started
    print(f"  rolled up {len(done)} days in {seconds:.1f} s ({seconds / max(len(done), 1) * 1000:.0f} ms a day)")


def _runs(times: list[float]) -> str:
    return ", ".join(f"{t:.2f}" for t in times)


async def drop_unless_kept(admin: str, name: str, kept: bool) -> None:
    """Drop the benchmark's database at the end, unless it is to be kept or was reused."""
    if kept:
        print(f"kept database {name}")
        return
    conn = await asyncpg.connect(admin)
    await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=365, help="the events spread over this many days")
    parser.add_argument("--shape", choices=("uniform", "pulls"), default="uniform")
    parser.add_argument("--server", default="postgresql+asyncpg://postgres@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--reuse", metavar="DB", help="measure a database kept by an earlier --keep run")
    args = parser.parse_args()
    name = args.reuse or f"wharf_audit_scale_{uuid.uuid4().hex[:6]}"
    admin = args.server.replace("postgresql+asyncpg", "postgresql") + "/postgres"

    async def run() -> None:
        url = f"{args.server}/{name}"
        if not args.reuse:
            conn = await asyncpg.connect(admin)
            await conn.execute(f'CREATE DATABASE "{name}"')
            await conn.close()
        try:
            await asyncio.to_thread(upgrade, url)
            if not args.reuse:
                print(f"loading {args.events:,} {args.shape} events over {args.days} days into {name} …")
                seconds = await load(
                    url.replace("postgresql+asyncpg", "postgresql"), args.events, args.days, args.shape
                )
                print(f"\n  loaded in {seconds:.0f} s")
            print("month report from raw events only (as before any rollup):")
            for group in ("customer", "repository", "day"):
                await usage_seconds(url, group, raw_only=True)
            await roll_up(url, args.days)
            print("month report with daily rollups (today and the first partial day from raw events):")
            for group in REPORT_GROUPS:
                await usage_seconds(url, group)
            print("year report with daily rollups:")
            for group in REPORT_GROUPS:
                await usage_seconds(url, group, days=365)
            await export_month(url)
            await export_usage(url, "customer,day", 365)
        finally:
            await drop_unless_kept(admin, name, args.keep or args.reuse)

    asyncio.run(run())


if __name__ == "__main__":
    main()
