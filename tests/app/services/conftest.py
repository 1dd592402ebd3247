"""Services driven directly, on both databases: an engine on the suite's migrated database, the real SMTP
sink for mail, and actors for a fresh vendor's staff."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from sqlalchemy import select

from app.identity import Actor, Channel
from app.mail import SmtpMailer
from app.models import AdminAuditEntry, OutboxMessage
from app.services import ServiceDeps, Services
from app.services.accounts import bootstrap_vendor
from app.settings import MailSettings
from registry.sql import create_engine


@dataclass
class World:
    services: Services
    vendor_id: int
    slug: str
    admin_id: int
    admin_email: str
    forgotten: list[int] = field(default_factory=list)  # one entry per cache drop after a commit

    def staff(self, role: str = "admin", user_id: int | None = None, via: Channel = Channel.PORTAL) -> Actor:
        uid = self.admin_id if user_id is None else user_id
        return Actor.person(
            uid, self.admin_email, self.vendor_id, "vendor", self.vendor_id, role, vendor_slug=self.slug, via=via
        )

    def customer_person(self, customer_id: int, user_id: int, role: str = "admin") -> Actor:
        return Actor.person(user_id, f"u{user_id}@c.test", customer_id, "customer", self.vendor_id, role)

    async def log(self, action: str, object_id: object) -> list[AdminAuditEntry]:
        async with self.services.deps.engine.connect() as conn:
            rows = await conn.execute(
                select(AdminAuditEntry).where(
                    AdminAuditEntry.vendor_id == self.vendor_id,
                    AdminAuditEntry.action == action,
                    AdminAuditEntry.object_id == str(object_id),
                )
            )
            return list(rows.all())

    async def outbox(self, event: str) -> list[OutboxMessage]:
        async with self.services.deps.engine.connect() as conn:
            rows = await conn.execute(
                select(OutboxMessage).where(OutboxMessage.vendor_id == self.vendor_id, OutboxMessage.event == event)
            )
            return list(rows.all())


@pytest.fixture
async def world(database_url, smtp_sink) -> AsyncIterator[World]:
    engine = create_engine(database_url)
    slug = f"svc{uuid.uuid4().hex[:8]}"
    email = f"admin@{slug}.test"
    created = await bootstrap_vendor(engine, slug, email, "correct-horse")
    forgotten: list[int] = []
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="wharf@svc.test"))
    deps = ServiceDeps(engine, mailer, "http://wharf.test", lambda: forgotten.append(1))
    yield World(Services.build(deps), created.vendor_id, slug, created.user_id, email, forgotten)
    await engine.dispose()
