"""What every service shares: a write transaction per change, the admin-log entry and the outbox
event written inside it, and after commit the cache drops that make the change bite at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import outbox
from app.domain_events import DomainEvent
from app.identity import Actor
from app.mail import Mail, Mailer, MailError
from app.models import AdminAuditEntry
from app.roles import Permission
from app.services.errors import Forbidden
from registry.metadata import Metadata
from registry.sql import WRITE


@dataclass
class ServiceDeps:
    """Built once by create_app (or the CLI); every service of a process shares it."""

    engine: AsyncEngine
    mailer: Mailer
    public_url: str
    # Called after a commit that changes what a token may pull: drops this process's cached answers
    # (other processes notice within their cache lifetime).
    forget_access: Callable[[], None] = lambda: None
    metadata: Metadata | None = None  # the registry's, for content the vendor deletes from the portal

    async def mail(self, mail: Mail) -> bool:
        """Send a mail; True only if a mail server accepted it (without one, nothing is sent)."""
        try:
            await self.mailer.send(mail)
        except MailError:
            return False
        return self.mailer.delivers


@dataclass
class Change:
    """One change in progress: its session (inside a write transaction) and what it will record."""

    session: AsyncSession
    actor: Actor
    drops_access: bool = False  # set when the change alters what some token may read

    def record(
        self,
        event: DomainEvent,
        object_type: str,
        object_id: object,
        before: Any = None,
        after: Any = None,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """The admin-log entry and the outbox event, committed (or rolled back) with the change."""
        actor = self.actor
        self.session.add(
            AdminAuditEntry(
                vendor_id=actor.vendor_id,
                actor=actor.label[:200],
                client_ip=actor.address,
                via=str(actor.via),
                action=str(event),
                object_type=object_type,
                object_id=str(object_id)[:64],  # the full names are in before/after
                before=_json(before),
                after=_json(after),
            )
        )
        message = {
            "object": {"type": object_type, "id": str(object_id)},
            "actor": {"label": actor.label, "via": str(actor.via), "user_id": actor.user_id},
            **(payload if payload is not None else {"before": before, "after": after}),
        }
        outbox.enqueue(self.session, event, actor.vendor_id, message)


def _json(value: Any) -> str | None:
    return json.dumps(value, default=str, ensure_ascii=False) if value is not None else None


class Service:
    def __init__(self, deps: ServiceDeps) -> None:
        self.deps = deps

    @asynccontextmanager
    async def change(self, actor: Actor) -> AsyncIterator[Change]:
        """A write transaction (BEGIN IMMEDIATE on SQLite); commits when the block ends without error."""
        writer = self.deps.engine.execution_options(**WRITE)
        async with AsyncSession(writer, expire_on_commit=False) as session, session.begin():
            change = Change(session, actor)
            yield change
        if change.drops_access:
            self.deps.forget_access()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        async with read_session(self.deps.engine) as session:
            yield session


@asynccontextmanager
async def read_session(engine: AsyncEngine) -> AsyncIterator[AsyncSession]:
    """A session for reads only: no write lock on SQLite, a READ ONLY transaction on PostgreSQL."""
    options = {"postgresql_readonly": True} if engine.dialect.name == "postgresql" else {}
    async with AsyncSession(engine.execution_options(**options), expire_on_commit=False) as session:
        yield session


def require(actor: Actor, permission: Permission) -> None:
    """The service's own check (routes have guards too; the CLI, Stripe and SSO have none)."""
    if not actor.may(permission):
        raise Forbidden(f"the role '{actor.role}' does not allow {permission.value.replace('_', ' ')}")
