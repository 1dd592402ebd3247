"""Details of manifests stored before kinds existed: charts and images whose config blob was never read.

Pushes describe their manifest as they store it (registry.http.manifests); this catches up on the rest,
a batch at a time, from the app's start. Idempotent: several processes may run it at once.
"""

from __future__ import annotations

import json
import logging
from typing import cast

from sqlalchemy import Table, select, update

from registry.describe import MAX_CONFIG_READ, describe
from registry.digests import parse_digest
from registry.errors import RegistryError
from registry.manifests import parse_manifest
from registry.metadata import Metadata
from registry.sql import write_transaction
from registry.storage import BlobStore
from registry.tables import Blob, Manifest

log = logging.getLogger(__name__)
manifests, blobs = cast(Table, Manifest.__table__), cast(Table, Blob.__table__)


async def describe_stored(metadata: Metadata, store: BlobStore, batch: int = 100) -> int:
    """Describe up to `batch` undescribed charts and images; how many were looked at (0: all done).

    One that cannot be described (config gone, too large, not JSON) is marked with empty details."""
    stmt = (
        select(manifests.c.id, manifests.c.kind, manifests.c.media_type, manifests.c.content)
        .where(manifests.c.details.is_(None), manifests.c.kind.in_(("image", "helm-chart")))
        .order_by(manifests.c.id)
        .limit(batch)
    )
    async with metadata.engine.connect() as conn:
        rows = (await conn.execute(stmt)).all()
    for row in rows:
        details = describe(row.kind, await _config(metadata, store, bytes(row.content), row.media_type))
        async with write_transaction(metadata.engine) as conn:
            await conn.execute(
                update(manifests).where(manifests.c.id == row.id).values(details=json.dumps(details or {}))
            )
    return len(rows)


async def _config(metadata: Metadata, store: BlobStore, content: bytes, media_type: str) -> bytes | None:
    try:
        config = parse_manifest(content, media_type).config
    except RegistryError:
        return None
    if config is None:
        return None
    async with metadata.engine.connect() as conn:
        size = (await conn.execute(select(blobs.c.size).where(blobs.c.digest == config))).scalar()
    return await read_config(store, config, size)


async def read_config(store: BlobStore, digest: str, size: int | None) -> bytes | None:
    """A config blob's bytes when it exists and is small enough to describe."""
    if size is None or size > MAX_CONFIG_READ:
        return None
    try:
        return b"".join([chunk async for chunk in store.read(parse_digest(digest))])
    except Exception as exc:  # details are a nicety: a store hiccup (or a blob gone) must not fail anything
        log.warning("could not read config %s: %s", digest, exc)
        return None
