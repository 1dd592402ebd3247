"""Upload sessions never finished nor cancelled are removed (rows and bytes) once old; fresh ones stay."""

from __future__ import annotations

import os
import time
from datetime import timedelta

from sqlalchemy import update

from registry.abandoned_uploads import remove_abandoned_uploads, uploads_t
from tests.registry.helpers import error_code


async def start_upload(wharf, repo: str, data: bytes) -> str:
    r = await wharf.client.post(f"/v2/{repo}/blobs/uploads/", headers=wharf.auth)
    location = r.headers["location"]
    r = await wharf.client.patch(location, content=data, headers={**wharf.auth, "Content-Range": f"0-{len(data) - 1}"})
    assert r.status_code == 202
    return location


async def test_abandoned_upload_sessions_go_and_fresh_ones_stay(wharf):
    registry = wharf.app.state.registry
    repo = wharf.repo("abandoned")
    old, fresh = await start_upload(wharf, repo, b"left behind"), await start_upload(wharf, repo, b"in flight")
    old_id = old.rstrip("/").rsplit("/", 1)[-1]
    async with registry.metadata.engine.begin() as conn:  # as if the client went away eight days ago
        await conn.execute(
            update(uploads_t)
            .where(uploads_t.c.id == old_id)
            .values(updated_at=uploads_t.c.updated_at - timedelta(days=8))
        )
    week_ago = time.time() - 8 * 86400
    os.utime(registry.store.uploads / old_id, (week_ago, week_ago))

    removed = await remove_abandoned_uploads(registry.metadata.engine, registry.store, timedelta(days=7))
    assert old_id in removed and fresh.rstrip("/").rsplit("/", 1)[-1] not in removed
    assert not (registry.store.uploads / old_id).exists()
    r = await wharf.client.patch(old, content=b"more", headers={**wharf.auth, "Content-Range": "11-14"})
    assert r.status_code == 404 and error_code(r) == "BLOB_UPLOAD_UNKNOWN"
    r = await wharf.client.patch(fresh, content=b"!", headers={**wharf.auth, "Content-Range": "9-9"})
    assert r.status_code == 202  # the upload in flight goes on
