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

from registry import gc_sql
from registry.digests import parse_digest
from registry.sql import dialect_insert, write_transaction
from registry.storage import BlobStore
from registry.tables import (
    COLLECTED,
    Blob,
    Manifest,
    ManifestReference,
    RegistryCounter,
    Repository,
    RepositoryBlob,
    Tag,
    TagHistory,
)

repositories, blobs, links = (cast(Table, m.__table__) for m in (Repository, Blob, RepositoryBlob))
manifests, references, tags, tag_history = (
    cast(Table, m.__table__) for m in (Manifest, ManifestReference, Tag, TagHistory)
)
counters = cast(Table, RegistryCounter.__table__)
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
    """Collect garbage older than `grace` (in one repository, if named); only report unless `delete`."""
    result = Collection(dry_run=not delete, cutoff=datetime.now(UTC) - grace)
    repo_ids = await _repository_ids(engine, repository)
    scoped = repository is not None
    if not delete:
        await _plan(engine, result, repo_ids[0] if scoped else None)
        return result
    for repo_id in repo_ids:
        await _sweep_manifests(engine, result, repo_id, batch)
        await _sweep_links(engine, result, repo_id, batch)
    if scoped:
        unlinked = sorted({link.digest for link in result.links})
        for start in range(0, len(unlinked), batch):
            await _sweep_blobs(engine, store, result, batch, unlinked[start : start + batch])
    else:
        await _sweep_blobs(engine, store, result, batch, None)
    return result


async def _repository_ids(engine: AsyncEngine, repository: str | None) -> list[int]:
    stmt = select(repositories.c.id).order_by(repositories.c.id)
    if repository is not None:
        stmt = stmt.where(repositories.c.name == repository)
    async with engine.connect() as conn:
        ids = list((await conn.execute(stmt)).scalars())
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
    stmt = dialect_insert(conn, counters).values(name=COLLECTED, value=1)
    await conn.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={"value": counters.c.value + 1}))  # type: ignore[attr-defined]


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


async def _sweep_blobs(
    engine: AsyncEngine, store: BlobStore, result: Collection, batch: int, only: Sequence[str] | None
) -> None:
    """Delete blobs no repository links, older than the cutoff: row and file in one transaction."""
    after = ""
    while True:
        unlinked = ~exists().where(links.c.digest == blobs.c.digest)
        stmt = select(blobs.c.digest, blobs.c.size).where(blobs.c.created_at < result.cutoff, unlinked)
        stmt = stmt.where(blobs.c.digest.in_(only)) if only is not None else stmt.where(blobs.c.digest > after)
        stmt = stmt.order_by(blobs.c.digest).limit(batch).with_for_update()
        async with write_transaction(engine) as conn:
            await _without_jit(conn)
            rows = (await conn.execute(stmt)).all()
            if not rows:
                return
            after = rows[-1].digest
            # Under READ COMMITTED the lock may have waited for an upload that linked the blob; look again.
            candidates = [r.digest for r in rows]
            relinked = set((await conn.execute(select(links.c.digest).where(links.c.digest.in_(candidates)))).scalars())
            doomed = [r for r in rows if r.digest not in relinked]
            await conn.execute(delete(blobs).where(blobs.c.digest.in_([r.digest for r in doomed])))
            await _announce(conn)
            for row in doomed:
                await store.delete(parse_digest(row.digest))
        result.blobs += [Removed(r.digest, r.size) for r in doomed]
        if only is not None:
            return
