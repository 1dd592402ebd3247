"""Browser sessions kept in the database: the cookie carries only a random id, so signing out,
removing a user or resetting a password really ends the sessions concerned, on every node."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from cachetools import LRUCache
from litestar.connection import ASGIConnection
from litestar.middleware.session.server_side import ServerSideSessionBackend, ServerSideSessionConfig
from litestar.stores.base import Store
from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncEngine

from app.models import WebSession
from app.times import aware
from registry.sql import upsert, write_transaction

SESSION_COOKIE = "wharf_session"
SESSION_STORE = "web_sessions"
ROTATE_KEY = "wharf.new_session_id"  # set in the scope to give a signed-in browser a fresh id


def _expiry(expires_in: int | timedelta | None) -> datetime:
    seconds = expires_in.total_seconds() if isinstance(expires_in, timedelta) else (expires_in or 14 * 86400)
    return datetime.now(UTC) + timedelta(seconds=seconds)


def _user_id(value: bytes) -> int | None:
    try:
        uid = json.loads(value).get("uid")
    except (ValueError, AttributeError):
        return None
    return uid if isinstance(uid, int) else None


class DatabaseSessionStore(Store):
    """Litestar's Store over the web_sessions table; empty sessions are never written."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # What each session held when last read or written here: a page view that changes nothing
        # writes nothing (so a session ends at most max_age after its last change, not its last view).
        self._known: LRUCache[str, bytes] = LRUCache(50_000)

    async def set(self, key: str, value: str | bytes, expires_in: int | timedelta | None = None) -> None:
        data = value.encode() if isinstance(value, str) else value
        if data in (b"{}", b""):
            if key in self._known:
                await self.delete(key)
            return
        if self._known.get(key) == data:
            return
        row = {"data": data, "user_id": _user_id(data), "expires_at": _expiry(expires_in)}
        async with write_transaction(self.engine) as conn:
            await conn.execute(upsert(conn, cast(Table, WebSession.__table__), ["id"], {"id": key, **row}))
        self._remember(key, data)

    def _remember(self, key: str, data: bytes | None) -> None:
        if data is None:
            self._known.pop(key, None)
            return
        self._known[key] = data

    async def get(self, key: str, renew_for: int | timedelta | None = None) -> bytes | None:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(WebSession.data, WebSession.expires_at).where(WebSession.id == key))
            ).first()
        expires = None if row is None else aware(row.expires_at)
        data = bytes(row.data) if row is not None and expires is not None and expires > datetime.now(UTC) else None
        self._remember(key, data)
        return data

    async def delete(self, key: str) -> None:
        self._remember(key, None)
        async with write_transaction(self.engine) as conn:
            await conn.execute(delete(WebSession).where(WebSession.id == key))

    async def delete_expired(self) -> int:
        """Forget sessions past their expiry (run at start; a lapsed row is never honoured anyway)."""
        async with write_transaction(self.engine) as conn:
            result = await conn.execute(delete(WebSession).where(WebSession.expires_at <= datetime.now(UTC)))
        return int(result.rowcount or 0)

    async def delete_all(self) -> None:
        async with write_transaction(self.engine) as conn:
            await conn.execute(delete(WebSession))

    async def exists(self, key: str) -> bool:
        return await self.get(key) is not None

    async def expires_in(self, key: str) -> int | None:
        async with self.engine.connect() as conn:
            expires = await conn.scalar(select(WebSession.expires_at).where(WebSession.id == key))
        if expires is None:
            return None
        expires = aware(expires)
        return max(0, int((expires - datetime.now(UTC)).total_seconds()))


async def sign_in(request: Any, user_id: int, org_id: int) -> None:
    """Start a signed-in session under a new id (a planted id is never promoted); the old one is deleted."""
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        await request.app.stores.get(SESSION_STORE).delete(old)
    request.scope[ROTATE_KEY] = secrets.token_hex(32)
    request.set_session({"uid": user_id, "org": org_id})


async def end_sessions_of(engine: AsyncEngine, user_id: int) -> None:
    """Sign a user out everywhere (password reset, removal from an organization)."""
    async with write_transaction(engine) as conn:
        await conn.execute(delete(WebSession).where(WebSession.user_id == user_id))


class RotatingSessionBackend(ServerSideSessionBackend):
    """Gives the browser a new session id when asked (at sign-in), so a planted id is never promoted."""

    def get_session_id(self, connection: ASGIConnection[Any, Any, Any, Any]) -> str:
        rotated = connection.scope.get(ROTATE_KEY)
        return str(rotated) if rotated else super().get_session_id(connection)


@dataclass
class DatabaseSessionConfig(ServerSideSessionConfig):
    _backend_class = RotatingSessionBackend
