"""The outbox: what must leave Wharf (webhooks, mail, scheduled reports) is a row written in the
transaction of the change that caused it. Delivery claims rows with a lease, so one node works a row;
a crash may repeat a delivery (at least once), always with the row's id, never lose one."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import OutboxMessage
from app.times import utcnow


def enqueue(session: AsyncSession, event: str, vendor_id: int | None, payload: dict[str, Any]) -> OutboxMessage:
    """Add a message to the session: it is stored, or dropped, with the change itself."""
    now = utcnow()
    message = OutboxMessage(
        id=uuid.uuid4().hex,
        event=str(event),
        vendor_id=vendor_id,
        payload=json.dumps(payload, default=str, ensure_ascii=False),
        created_at=now,
        available_at=now,
        state="pending",
        attempts=0,
    )
    session.add(message)
    return message
