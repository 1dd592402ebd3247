"""Metadata queries with in-memory caches for the hot reads (tag -> manifest, blob sizes).

Manifests and blobs are content-addressed, so cached entries only go stale on delete or re-tag,
and every such write in this process invalidates them. A cache miss is one query.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from sqlalchemy import DateTime, Table, delete, exists, literal, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from registry import counters
from registry.blob_links import link_blob
from registry.lru import LRU
from registry.manifests import ParsedManifest
from registry.reach import REACH_TAGS
from registry.sql import insert_ignore, upsert, write_transaction
from registry.tables import (
    Blob,
    Manifest,
    ManifestReference,
    Repository,
    RepositoryBlob,
    Tag,
    TagHistory,
    Upload,
)

repositories, blobs, repository_blobs = (cast(Table, m.__table__) for m in (Repository, Blob, RepositoryBlob))
manifests, references, tags_t = (cast(Table, m.__table__) for m in (Manifest, ManifestReference, Tag))
tag_history, uploads_t = (cast(Table, m.__table__) for m in (TagHistory, Upload))


@dataclass(frozen=True, slots=True)
class ManifestRecord:
    repository: str
    digest: str
    media_type: str
    content: bytes
    subject: str | None
    index_child: bool = False  # an index of the same repository lists it: fetching it is not a pull of its own


_parents = manifests.alias("parents")
# Whether an index of the manifest's own repository lists it (as usage reports tell pulls from platform fetches).
_INDEX_CHILD = exists(
    select(1)
    .select_from(references.join(_parents, _parents.c.id == references.c.manifest_id))
    .where(
        references.c.digest == manifests.c.digest,
        references.c.is_manifest.is_(True),
        _parents.c.repository_id == manifests.c.repository_id,
    )
).label("index_child")
_MANIFEST_COLUMNS = (manifests.c.digest, manifests.c.media_type, manifests.c.content, manifests.c.subject, _INDEX_CHILD)


def _now() -> datetime:
    return datetime.now(UTC)


class Metadata:
    def __init__(self, engine: AsyncEngine, cache_size: int = 20_000) -> None:
        self.engine = engine
        self._by_tag: LRU[tuple[str, str], ManifestRecord] = LRU(cache_size)
        self._by_digest: LRU[tuple[str, str], ManifestRecord] = LRU(cache_size)
        self._blob_sizes: LRU[tuple[str, str], int] = LRU(cache_size * 5)
        self._reach: LRU[tuple[str, int, str], frozenset[str]] = LRU(cache_size * 5)
        self._generation: dict[str, int] = {}  # bumped by every write to a repository
        self._repository_ids: dict[str, int] = {}
        self._collected = 0  # garbage collection batches seen
        self._clears = 0  # a read that straddles a clear must not cache what it read before it

    async def drop_if_collected(self) -> bool:
        """Forget cached manifests, blob sizes and reach if garbage collection (in any process) deleted
        something since the last look. One query; the app calls it every few seconds."""
        async with self.engine.connect() as conn:
            collected = await counters.value(conn, counters.COLLECTED)
        if collected == self._collected:
            return False
        self._collected = collected
        self._clears += 1
        for cache in (self._by_tag, self._by_digest, self._blob_sizes, self._reach):
            cache.clear()
        return True

    def forget_tags(self, moved: Iterable[tuple[str, str]]) -> None:
        """Drop cached (repository, tag) entries another process moved, and their repositories' reach."""
        for repository, tag in moved:
            self._by_tag.discard((repository, tag))
            self._touched(repository)

    def forget_all_tags(self) -> None:
        self._clears += 1
        self._by_tag.clear()
        self._reach.clear()

    # -- reads ---------------------------------------------------------------------------------
    async def manifest(self, repository: str, reference: str, *, by_digest: bool) -> ManifestRecord | None:
        cache = self._by_digest if by_digest else self._by_tag
        key = (repository, reference)
        record = cache.get(key)
        if record is not None:
            return record
        stmt = select(*_MANIFEST_COLUMNS).join(repositories, repositories.c.id == manifests.c.repository_id)
        if by_digest:
            stmt = stmt.where(repositories.c.name == repository, manifests.c.digest == reference)
        else:
            stmt = stmt.join(tags_t, tags_t.c.manifest_id == manifests.c.id).where(
                repositories.c.name == repository, tags_t.c.name == reference
            )
        clears = self._clears
        async with self.engine.connect() as conn:
            row = (await conn.execute(stmt)).first()
        if row is None:
            return None
        record = ManifestRecord(repository, row.digest, row.media_type, row.content, row.subject, bool(row.index_child))
        if clears == self._clears:
            cache.put(key, record)
        return record

    async def blob_size(self, repository: str, digest: str) -> int | None:
        key = (repository, digest)
        size = self._blob_sizes.get(key)
        if size is not None:
            return size
        stmt = (
            select(blobs.c.size)
            .join(repository_blobs, repository_blobs.c.digest == blobs.c.digest)
            .join(repositories, repositories.c.id == repository_blobs.c.repository_id)
            .where(repositories.c.name == repository, blobs.c.digest == digest)
        )
        clears = self._clears
        async with self.engine.connect() as conn:
            size = (await conn.execute(stmt)).scalar()
        if size is not None and clears == self._clears:
            self._blob_sizes.put(key, size)
        return size

    def forget_blob(self, repository: str, digest: str) -> None:
        """Drop a cached blob size, e.g. when its file turns out to be gone."""
        self._blob_sizes.discard((repository, digest))

    async def reach_tags(self, repository: str, digest: str) -> frozenset[str]:
        """Every tag that ever pointed at `digest`, at an index or manifest containing it, or at the
        subject it refers to: whoever may read one of these tags may read `digest`. One query."""
        key = (repository, self._generation.get(repository, 0), digest)
        cached = self._reach.get(key)
        if cached is not None:
            return cached
        clears = self._clears
        async with self.engine.connect() as conn:
            rows = await conn.execute(REACH_TAGS, {"repository": repository, "digest": digest})
            tags = frozenset(rows.scalars())
        if clears == self._clears:
            self._reach.put(key, tags)
        return tags

    def _touched(self, repository: str) -> None:
        self._generation[repository] = self._generation.get(repository, 0) + 1

    async def tags(self, repository: str, limit: int | None, last: str | None) -> list[str] | None:
        """Tag names in lexical order after `last`; None if the repository does not exist."""
        async with self.engine.connect() as conn:
            repo_id = (await conn.execute(select(repositories.c.id).where(repositories.c.name == repository))).scalar()
            if repo_id is None:
                return None
            stmt = select(tags_t.c.name).where(tags_t.c.repository_id == repo_id).order_by(tags_t.c.name)
            if last:
                stmt = stmt.where(tags_t.c.name > last)
            if limit is not None:
                stmt = stmt.limit(limit)
            return list((await conn.execute(stmt)).scalars())

    async def repositories(self, limit: int, last: str | None) -> list[str]:
        stmt = select(repositories.c.name).order_by(repositories.c.name).limit(limit)
        if last:
            stmt = stmt.where(repositories.c.name > last)
        async with self.engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def referrers(self, repository: str, subject: str, artifact_type: str | None) -> list[dict[str, object]]:
        stmt = (
            select(
                manifests.c.digest,
                manifests.c.media_type,
                manifests.c.size,
                manifests.c.artifact_type,
                manifests.c.annotations,
            )
            .join(repositories, repositories.c.id == manifests.c.repository_id)
            .where(repositories.c.name == repository, manifests.c.subject == subject)
            .order_by(manifests.c.id)
        )
        if artifact_type is not None:
            stmt = stmt.where(manifests.c.artifact_type == artifact_type)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        descriptors: list[dict[str, object]] = []
        for row in rows:
            descriptor: dict[str, object] = {"mediaType": row.media_type, "digest": row.digest, "size": row.size}
            if row.artifact_type:
                descriptor["artifactType"] = row.artifact_type
            if row.annotations:
                descriptor["annotations"] = json.loads(row.annotations)
            descriptors.append(descriptor)
        return descriptors

    # -- writes --------------------------------------------------------------------------------
    async def repository_id(self, conn: AsyncConnection, repository: str) -> int:
        """The repository's id, creating the row on first use. Ids never change and repositories are
        never deleted, so the answer is kept for the life of the process."""
        known = self._repository_ids.get(repository)
        if known is not None:
            return known
        created = await conn.execute(insert_ignore(conn, repositories).values(name=repository))
        repo_id = (await conn.execute(select(repositories.c.id).where(repositories.c.name == repository))).scalar()
        assert repo_id is not None
        if not created.rowcount:  # a committed row: safe to keep (ours could still roll back)
            self._repository_ids[repository] = int(repo_id)
        return int(repo_id)

    async def add_blob(
        self,
        repository: str,
        digest: str,
        size: int,
        finished_upload: str | None = None,
        store_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """Record a blob in a repository, closing the upload that brought it, in one transaction.

        `store_commit` makes the bytes visible only once this transaction holds the blob row (the
        link's foreign key locks it), so a garbage collection deleting the same digest cannot
        remove the file between the two. If collection deleted the row first, try again.
        """
        for attempt in range(3):
            try:
                async with write_transaction(self.engine) as conn:
                    repo_id = await self.repository_id(conn, repository)
                    await conn.execute(insert_ignore(conn, blobs).values(digest=digest, size=size, created_at=_now()))
                    await conn.execute(
                        link_blob(conn, {"repository_id": repo_id, "digest": digest, "created_at": _now()})
                    )
                    if finished_upload is not None:
                        await conn.execute(delete(uploads_t).where(uploads_t.c.id == finished_upload))
                    if store_commit is not None:
                        await store_commit()
                break
            except IntegrityError:
                if attempt == 2:
                    raise
        self._blob_sizes.put((repository, digest), size)

    async def mount_blob(self, repository: str, source: str, digest: str) -> int | None:
        """Link a blob of `source` into `repository`; its size, or None if `source` lacks it.

        The source's link is read in the same transaction (not from the cache), so a blob that
        garbage collection removed is never linked again without its bytes."""
        try:
            async with write_transaction(self.engine) as conn:
                repo_id = await self.repository_id(conn, repository)
                source_link = (
                    select(literal(repo_id), repository_blobs.c.digest, literal(_now(), DateTime(timezone=True)))
                    .join(repositories, repositories.c.id == repository_blobs.c.repository_id)
                    .where(repositories.c.name == source, repository_blobs.c.digest == digest)
                )
                linked = await conn.execute(link_blob(conn, source_link))
                if not linked.rowcount:
                    return None
                size = (await conn.execute(select(blobs.c.size).where(blobs.c.digest == digest))).scalar_one()
        except IntegrityError:  # collected while we linked it: upload it instead
            return None
        self._blob_sizes.put((repository, digest), size)
        return int(size)

    async def repositories_holding(self, digest: str, limit: int = 50) -> list[str]:
        stmt = (
            select(repositories.c.name)
            .join(repository_blobs, repository_blobs.c.repository_id == repositories.c.id)
            .where(repository_blobs.c.digest == digest)
            .order_by(repositories.c.name)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    async def unlink_blob(self, repository: str, digest: str) -> bool:
        async with write_transaction(self.engine) as conn:
            repo_id = (await conn.execute(select(repositories.c.id).where(repositories.c.name == repository))).scalar()
            if repo_id is None:
                return False
            result = await conn.execute(
                delete(repository_blobs).where(
                    repository_blobs.c.repository_id == repo_id, repository_blobs.c.digest == digest
                )
            )
        self._blob_sizes.discard((repository, digest))
        return bool(result.rowcount)

    async def _missing_references(self, conn: AsyncConnection, repo_id: int, parsed: ParsedManifest) -> list[str]:
        """Blobs and child manifests the manifest names that this repository does not hold.

        Asked inside the manifest's write transaction after locking the repository row, so garbage
        collection (which locks it for update) cannot remove them before the manifest commits."""
        lock = select(repositories.c.id).where(repositories.c.id == repo_id).with_for_update(read=True, key_share=True)
        await conn.execute(lock)
        wanted_blobs = set(parsed.blobs)
        wanted_children = {digest for digest, _ in parsed.children}
        found: set[str] = set()
        if wanted_blobs:
            stmt = select(repository_blobs.c.digest).where(
                repository_blobs.c.repository_id == repo_id, repository_blobs.c.digest.in_(wanted_blobs)
            )
            found |= set((await conn.execute(stmt)).scalars())
        if wanted_children:
            stmt = select(manifests.c.digest).where(
                manifests.c.repository_id == repo_id, manifests.c.digest.in_(wanted_children)
            )
            found |= set((await conn.execute(stmt)).scalars())
        return sorted((wanted_blobs | wanted_children) - found)

    async def put_manifest(
        self, repository: str, digest: str, content: bytes, parsed: ParsedManifest, tags: list[str]
    ) -> list[str]:
        """Store a manifest and its tags; if it names blobs or manifests the repository lacks, store
        nothing and return their digests."""
        async with write_transaction(self.engine) as conn:
            repo_id = await self.repository_id(conn, repository)
            missing = await self._missing_references(conn, repo_id, parsed)
            if missing:
                return missing
            inserted = await conn.execute(
                insert_ignore(conn, manifests).values(
                    repository_id=repo_id,
                    digest=digest,
                    media_type=parsed.media_type,
                    artifact_type=parsed.artifact_type,
                    subject=parsed.subject,
                    annotations=json.dumps(parsed.annotations) if parsed.annotations else None,
                    content=content,
                    size=len(content),
                    created_at=_now(),
                )
            )
            found = (
                await conn.execute(
                    select(manifests.c.id, _INDEX_CHILD).where(
                        manifests.c.repository_id == repo_id, manifests.c.digest == digest
                    )
                )
            ).one()
            manifest_id = found.id
            if inserted.rowcount:
                rows = [
                    {"manifest_id": manifest_id, "digest": d, "is_manifest": False, "platform": None}
                    for d in parsed.blobs
                ]
                rows += [
                    {"manifest_id": manifest_id, "digest": d, "is_manifest": True, "platform": str(p) if p else None}
                    for d, p in dict(parsed.children).items()
                ]
                if rows:
                    await conn.execute(insert_ignore(conn, references), rows)
            else:  # pushed again: young again, so garbage collection's grace period covers this push too
                await conn.execute(update(manifests).where(manifests.c.id == manifest_id).values(created_at=_now()))
            now = _now()
            for tag in tags:
                values = {"repository_id": repo_id, "name": tag, "manifest_id": manifest_id, "updated_at": now}
                await conn.execute(upsert(conn, tags_t, ["repository_id", "name"], values))
                await conn.execute(tag_history.insert().values(repository_id=repo_id, tag=tag, digest=digest))
        self._touched(repository)
        record = ManifestRecord(repository, digest, parsed.media_type, content, parsed.subject, bool(found.index_child))
        self._by_digest.put((repository, digest), record)
        for tag in tags:
            self._by_tag.put((repository, tag), record)
        children = {child for child, _ in parsed.children}
        if children:  # now listed by an index: their cached records are platform fetches from here on
            for cache in (self._by_digest, self._by_tag):
                cache.discard_where(lambda k, v: k[0] == repository and v.digest in children)
        return []

    @asynccontextmanager
    async def _writing(self, conn: AsyncConnection | None) -> AsyncIterator[AsyncConnection]:
        """The caller's transaction (a change recorded with the write), or a write transaction of our own."""
        if conn is not None:
            yield conn
            return
        async with write_transaction(self.engine) as own:
            yield own

    async def delete_tag(self, repository: str, tag: str, conn: AsyncConnection | None = None) -> bool:
        async with self._writing(conn) as conn:
            repo_id = (await conn.execute(select(repositories.c.id).where(repositories.c.name == repository))).scalar()
            result = await conn.execute(delete(tags_t).where(tags_t.c.repository_id == repo_id, tags_t.c.name == tag))
            if result.rowcount:
                await counters.bump(conn, counters.TAGS_DELETED)
        self._by_tag.discard((repository, tag))
        self._touched(repository)
        return bool(result.rowcount)

    async def delete_manifest(self, repository: str, digest: str, conn: AsyncConnection | None = None) -> bool:
        """Delete a manifest and the tags pointing to it (in `conn`'s transaction when given)."""
        async with self._writing(conn) as conn:
            repo_id = (await conn.execute(select(repositories.c.id).where(repositories.c.name == repository))).scalar()
            manifest_id = (
                await conn.execute(
                    select(manifests.c.id).where(manifests.c.repository_id == repo_id, manifests.c.digest == digest)
                )
            ).scalar()
            if manifest_id is None:
                return False
            untagged = await conn.execute(delete(tags_t).where(tags_t.c.manifest_id == manifest_id))
            if untagged.rowcount:
                await counters.bump(conn, counters.TAGS_DELETED)
            await conn.execute(delete(references).where(references.c.manifest_id == manifest_id))
            await conn.execute(delete(manifests).where(manifests.c.id == manifest_id))
        self._touched(repository)
        self._by_digest.discard_where(lambda k, v: k[0] == repository and (v.digest == digest or v.index_child))
        self._by_tag.discard_where(lambda k, v: k[0] == repository and (v.digest == digest or v.index_child))
        return True
