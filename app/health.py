"""`/healthz` (the process serves) and `/readyz` (the database and the blob store answer): for probes."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from litestar import Response, Router, get
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.storage import BlobStore

log = logging.getLogger(__name__)
CHECK_SECONDS = 3.0  # a probe that hangs is a failed probe


async def database_ready(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


async def _outcome(name: str, check: Callable[[], Awaitable[None]]) -> str:
    """ "ok", or a short reason for the unauthenticated caller; the details go to the log only."""
    try:
        await asyncio.wait_for(check(), CHECK_SECONDS)
    except TimeoutError:
        log.warning("readiness: %s gave no answer within %g s", name, CHECK_SECONDS)
        return f"no answer within {CHECK_SECONDS:g} s"
    except Exception as exc:
        log.warning("readiness: %s failed: %s", name, exc)
        return f"failed ({type(exc).__name__})"
    return "ok"


def build_health_router(engine: AsyncEngine, store: BlobStore) -> Router:
    @get("/healthz")
    async def healthz() -> Response[Any]:
        return Response({"status": "ok"}, headers={"Cache-Control": "no-store"})

    @get("/readyz")
    async def readyz() -> Response[Any]:
        database, storage = await asyncio.gather(
            _outcome("database", lambda: database_ready(engine)), _outcome("storage", store.ready)
        )
        checks = {"database": database, "storage": storage}
        failed = sorted(name for name, outcome in checks.items() if outcome != "ok")
        body = {"status": "unavailable" if failed else "ok", "failed": failed, "checks": checks}
        return Response(body, status_code=503 if failed else 200, headers={"Cache-Control": "no-store"})

    return Router(path="/", route_handlers=[healthz, readyz], include_in_schema=False)
