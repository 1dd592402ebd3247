"""Garbage collection: mark from tags, then sweep dead manifests, dead blob links and unlinked blobs.

Each sweep runs in small write transactions. Manifest and link batches lock their repository row
for update, the lock every push takes (`FOR KEY SHARE`) before it checks what its manifest
references, so a push and a batch never interleave. Blob batches lock the blob rows; an upload
commits its file only while holding its blob row. Rows that point at blobs go first; a blob's
file is deleted inside the transaction that deletes its row, so a crash leaves at worst a row
with no links and no file, which the next run removes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, exists, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from registry import counters, gc_sql
from registry.digests import parse_digest
from registry.sql import write_transaction
from registry.storage import BlobStore
from registry.tables import (
    Blob,
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
    TagHistory,
)

repositories, blobs, links = (cast(Table, m.__table__) for m in (Repository, Blob, RepositoryBlob))
manifests, references, tags, tag_history = (
    cast(Table, m.__table__) for m in (Manifest, ManifestReference, Tag, TagHistory)
)
BATCH = 500


class UnknownRepository(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Removed:
    digest: str
    size: int
    repository: str | None = None


@dataclass
class Collection:
    """What a run removed, or with `dry_run` what it would remove."""

    dry_run: bool
    cutoff: datetime
    manifests: list[Removed] = field(default_factory=list)
    links: list[Removed] = field(default_factory=list)
    blobs: list[Removed] = field(default_factory=list)

    @property
    def blob_bytes(self) -> int:
        return sum(b.size for b in self.blobs)

    @property
    def manifest_bytes(self) -> int:
        return sum(m.size for m in self.manifests)


async def collect(
    engine: AsyncEngine,
    store: BlobStore,
    grace: timedelta,
    *,
    repository: str | None = None,
    delete: bool = False,
    batch: int = BATCH,
) -> Collection:
    """Collect garbage older than `grace` (in one repository, if named); only report unless `delete`.

    Deleting starts from the report: only repositories and blobs it names are locked, and each batch
    checks again under its lock, so what became live meanwhile stays (and new garbage waits for the
    next run)."""
    plan = Collection(dry_run=True, cutoff=datetime.now(UTC) - grace)
    repo_ids = await _repository_ids(engine, repository)
    await _plan(engine, plan, repo_ids[repository] if repository is not None else None)
    if not delete:
        return plan
    result = Collection(dry_run=False, cutoff=plan.cutoff)
    for name in sorted({item.repository for item in [*plan.manifests, *plan.links] if item.repository}):
        await _sweep_manifests(engine, result, repo_ids[name], batch)
        await _sweep_links(engine, result, repo_ids[name], batch)
    doomed = [b.digest for b in plan.blobs]
    for start in range(0, len(doomed), batch):
        await _sweep_blobs(engine, store, result, doomed[start : start + batch])
    return result


async def _repository_ids(engine: AsyncEngine, repository: str | None) -> dict[str, int]:
    stmt = select(repositories.c.name, repositories.c.id)
    if repository is not None:
        stmt = stmt.where(repositories.c.name == repository)
    async with engine.connect() as conn:
        ids = {row.name: row.id for row in await conn.execute(stmt)}
    if repository is not None and not ids:
        raise UnknownRepository(f"repository {repository!r} does not exist")
    return ids


async def _without_jit(conn: AsyncConnection) -> None:
    """The planner overestimates the recursive walk badly enough that PostgreSQL would JIT-compile each
    query: over a second of compiling for a few hundred milliseconds of work."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SET LOCAL jit = off"))


async def _plan(engine: AsyncEngine, result: Collection, repo_id: int | None) -> None:
    scoped = repo_id is not None
    params = {"cutoff": result.cutoff, **({"repo": repo_id} if scoped else {})}
    async with engine.connect() as conn:
        await _without_jit(conn)
        rows = await conn.execute(gc_sql.dead_manifests(scoped, None), params)
        result.manifests = [Removed(r.digest, r.size, r.repository) for r in rows]
        rows = await conn.execute(gc_sql.dead_links(scoped, None), params)
        result.links = [Removed(r.digest, 0, r.repository) for r in rows]
        rows = await conn.execute(gc_sql.doomed_blobs(scoped), params)
        result.blobs = [Removed(r.digest, r.size) for r in rows]


async def _lock_repository(conn: AsyncConnection, repo_id: int) -> None:
    """Wait for pushes to this repository to finish and keep new ones out until the batch commits."""
    await conn.execute(select(repositories.c.id).where(repositories.c.id == repo_id).with_for_update())


async def _announce(conn: AsyncConnection) -> None:
    """Count this batch, in its own transaction: serving processes watch the counter to drop their caches."""
    await counters.bump(conn, counters.COLLECTED)


async def _sweep_manifests(engine: AsyncEngine, result: Collection, repo_id: int, batch: int) -> None:
    params = {"cutoff": result.cutoff, "repo": repo_id}
    while True:
        async with write_transaction(engine) as conn:
            await _without_jit(conn)
            await _lock_repository(conn, repo_id)
            rows = (await conn.execute(gc_sql.dead_manifests(True, batch), params)).all()
            if not rows:
                return
            ids, digests = [r.id for r in rows], [r.digest for r in rows]
            # A deleted digest is gone for good: its tag history no longer grants anything.
            await conn.execute(
                delete(tag_history).where(tag_history.c.repository_id == repo_id, tag_history.c.digest.in_(digests))
            )
            await conn.execute(delete(tags).where(tags.c.manifest_id.in_(ids)))
            await conn.execute(delete(references).where(references.c.manifest_id.in_(ids)))
            await conn.execute(delete(manifests).where(manifests.c.id.in_(ids)))
            await _announce(conn)
        result.manifests += [Removed(r.digest, r.size, r.repository) for r in rows]


async def _sweep_links(engine: AsyncEngine, result: Collection, repo_id: int, batch: int) -> None:
    params = {"cutoff": result.cutoff, "repo": repo_id}
    while True:
        async with write_transaction(engine) as conn:
            await _without_jit(conn)
            await _lock_repository(conn, repo_id)
            rows = (await conn.execute(gc_sql.dead_links(True, batch), params)).all()
            if not rows:
                return
            digests = [r.digest for r in rows]
            await conn.execute(delete(links).where(links.c.repository_id == repo_id, links.c.digest.in_(digests)))
            await _announce(conn)
        result.links += [Removed(r.digest, 0, r.repository) for r in rows]


async def _sweep_blobs(engine: AsyncEngine, store: BlobStore, result: Collection, digests: Sequence[str]) -> None:
    """Delete those of `digests` no repository links that are older than the cutoff: rows and files."""
    unlinked = ~exists().where(links.c.digest == blobs.c.digest)
    stmt = select(blobs.c.digest, blobs.c.size).where(
        blobs.c.digest.in_(digests), blobs.c.created_at < result.cutoff, unlinked
    )
    async with write_transaction(engine) as conn:
        await _without_jit(conn)
        rows = (await conn.execute(stmt.with_for_update())).all()
        # Under READ COMMITTED the lock may have waited for an upload that linked the blob; look again.
        candidates = [r.digest for r in rows]
        relinked = set((await conn.execute(select(links.c.digest).where(links.c.digest.in_(candidates)))).scalars())
        doomed = [r for r in rows if r.digest not in relinked]
        if not doomed:
            return
        await conn.execute(delete(blobs).where(blobs.c.digest.in_([r.digest for r in doomed])))
        await _announce(conn)
        for row in doomed:
            await store.delete(parse_digest(row.digest))
    result.blobs += [Removed(r.digest, r.size) for r in doomed]
