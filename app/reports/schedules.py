"""Scheduled usage reports: each node claims due schedules with a lease and puts one `report.due` outbox
message per ended period; a deliverer claims those messages with a lease, builds the CSV and mails it.

Exactly one node enqueues a period (the claim, the messages and the advanced `next_run_at` commit together)
and exactly one node works a message at a time (the outbox lease). A crash after the mail server took the
mail but before the message is marked delivered sends that mail again once the lease runs out: at least
once, always with the same Message-ID. docs/operations.md ("Scheduled reports") says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import outbox
from app.mail import Attachment, Mail, Mailer, MailError
from app.models import Organization, OutboxMessage, ReportSchedule
from app.reports.export import csv_cell, csv_text
from app.reports.periods import Cadence, due_periods, label, next_boundary
from app.reports.usage import DIMENSIONS, usage_report
from app.reports.usage import columns as usage_columns
from app.times import aware, utcnow
from registry.sql import WRITE

log = logging.getLogger(__name__)
REPORT_DUE = "report.due"  # an outbox event only: the admin log records people's changes, not the clock
GROUPINGS: tuple[str, ...] = DIMENSIONS  # the portal's choices; the API also takes a pair (`customer,month`)
CATCH_UP = 12  # after a long outage, each missed period is sent once, up to this many (the latest)
MAX_ATTEMPTS = 10  # then the message is given up (state "failed"); the schedule shows the error
MAX_BACKOFF = timedelta(hours=6)


async def usage_table(
    conn: Any, vendor_id: int, group_by: str, since: datetime, until: datetime
) -> tuple[list[str], list[Sequence[Any]]]:
    """The usage report's columns and rows for one period (names beside ids, as `GET /api/v1/usage` answers):
    the only place the report is asked for."""
    report = await usage_report(conn, vendor_id, group_by, since, until)
    fields = list(usage_columns(report.group_by))
    return fields, [[row[f] for f in fields] for row in report.items]


def csv_bytes(columns: list[str], rows: list[Sequence[Any]]) -> bytes:
    """The report as CSV, cells escaped as every export's are (app.reports.export)."""
    return csv_text([columns, *([csv_cell(_plain(v)) for v in row] for row in rows)]).encode()


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime | date) else value


@dataclass(frozen=True)
class Claimed:
    id: str
    attempts: int
    payload: dict[str, Any]


class ReportRunner:
    """One per process: `tick()` enqueues what is due and delivers what is pending."""

    def __init__(
        self,
        engine: AsyncEngine,
        mailer: Mailer,
        owner: str | None = None,
        lease_seconds: float = 300,
        retry_seconds: float = 60,
    ) -> None:
        self.engine = engine
        self.mailer = mailer
        self.owner = owner or f"node-{uuid.uuid4().hex[:12]}"
        self.lease = timedelta(seconds=lease_seconds)
        self.retry = timedelta(seconds=retry_seconds)

    def _writing(self) -> AsyncSession:
        return AsyncSession(self.engine.execution_options(**WRITE), expire_on_commit=False)

    async def tick(self, now: datetime | None = None) -> int:
        """Enqueue the reports of ended periods, then send pending ones; the number of mails sent."""
        await self.enqueue_due(now)
        return await self.deliver_pending(now)

    async def run(self, interval: float) -> None:
        """Every `interval` seconds (jittered, so nodes need not line up), starting at once."""
        while True:
            try:
                await self.tick()
            except Exception:  # a database or mail hiccup must not end the loop; the next tick retries
                log.exception("could not run scheduled reports")
            await asyncio.sleep(interval * random.uniform(0.9, 1.1))

    async def enqueue_due(self, now: datetime | None = None) -> int:
        now = now or utcnow()
        async with AsyncSession(self.engine) as session:
            due = list(
                await session.scalars(
                    select(ReportSchedule.id).where(ReportSchedule.next_run_at <= now, _lease_free(ReportSchedule, now))
                )
            )
        return sum([await self.enqueue_schedule(schedule_id, now) for schedule_id in due])

    async def enqueue_schedule(self, schedule_id: int, now: datetime) -> int:
        """Claim one schedule (only one node's UPDATE matches), queue its ended periods and move it on."""
        async with self._writing() as session, session.begin():
            claim = (
                update(ReportSchedule)
                .where(
                    ReportSchedule.id == schedule_id,
                    ReportSchedule.next_run_at <= now,
                    _lease_free(ReportSchedule, now),
                )
                .values(lease_owner=self.owner, lease_until=max(now, utcnow()) + self.lease)
            )
            if (await session.execute(claim)).rowcount != 1:  # type: ignore[attr-defined]
                return 0
            schedule = await session.get_one(ReportSchedule, schedule_id, populate_existing=True)
            cadence: Cadence = schedule.cadence  # type: ignore[assignment]
            periods = due_periods(cadence, aware(schedule.next_run_at), now, CATCH_UP)
            for i, (start, end) in enumerate(periods):
                payload = {
                    "schedule_id": schedule.id,
                    "since": start.isoformat(),
                    "until": end.isoformat(),
                    "period": label(cadence, start),
                }
                message = outbox.enqueue(session, REPORT_DUE, schedule.vendor_id, payload)
                # deliverable by the same tick, oldest period first
                message.available_at = now - timedelta(microseconds=len(periods) - i)
            if periods:
                schedule.last_period_end = periods[-1][1]
            schedule.next_run_at = next_boundary(cadence, now)
            schedule.lease_owner, schedule.lease_until = None, None
        return len(periods)

    async def deliver_pending(self, now: datetime | None = None, batch: int = 20) -> int:
        """Send up to `batch` pending reports, claiming each just before it is sent (a lease covers one mail)."""
        now = now or utcnow()
        async with AsyncSession(self.engine) as session:
            ids = list(
                await session.scalars(
                    select(OutboxMessage.id)
                    .where(*_deliverable(now))
                    .order_by(OutboxMessage.available_at, OutboxMessage.created_at)
                    .limit(batch)
                )
            )
        sent = 0
        for message_id in ids:
            message = await self._claim(message_id, now)
            if message is not None:
                sent += await self._deliver(message, now)
        return sent

    async def _claim(self, message_id: str, now: datetime) -> Claimed | None:
        """The message, if this node's UPDATE took its lease (None: another node has it, or it is done)."""
        async with self._writing() as session, session.begin():
            claim = (
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, *_deliverable(now))
                .values(
                    lease_owner=self.owner,
                    lease_until=max(now, utcnow()) + self.lease,
                    attempts=OutboxMessage.attempts + 1,
                )
            )
            if (await session.execute(claim)).rowcount != 1:  # type: ignore[attr-defined]
                return None
            row = (
                await session.execute(
                    select(OutboxMessage.attempts, OutboxMessage.payload).where(OutboxMessage.id == message_id)
                )
            ).one()
        return Claimed(message_id, row.attempts, json.loads(row.payload))

    async def _deliver(self, message: Claimed, now: datetime) -> int:
        try:
            mail = await self._report_mail(message)
        except LookupError as gone:  # the schedule was deleted: nothing to send, ever
            await self._finish(message, "failed", str(gone), None)
            return 0
        except Exception as exc:
            log.exception("could not build scheduled report %s", message.id)
            await self._failed(message, now, f"the report could not be built ({type(exc).__name__})")
            return 0
        try:
            await self.mailer.send(mail)
            if not self.mailer.delivers:
                raise MailError("no mail server is configured (WHARF_SMTP_HOST), so nothing was sent")
        except MailError as exc:
            await self._failed(message, now, str(exc))
            return 0
        except Exception as exc:  # whatever else: retried and given up like a refusal, never claimed forever
            log.exception("could not send scheduled report %s", message.id)
            await self._failed(message, now, f"the report could not be sent ({type(exc).__name__})")
            return 0
        await self._finish(message, "delivered", None, message.payload["schedule_id"])
        return 1

    async def _report_mail(self, message: Claimed) -> Mail:
        p = message.payload
        since, until = datetime.fromisoformat(p["since"]), datetime.fromisoformat(p["until"])
        async with self.engine.connect() as conn:
            schedule = (
                await conn.execute(select(ReportSchedule).where(ReportSchedule.id == p["schedule_id"]))
            ).one_or_none()
            if schedule is None:
                raise LookupError("the schedule was deleted before its report was sent")
            vendor = await conn.scalar(select(Organization.name).where(Organization.id == schedule.vendor_id))
            columns, rows = await usage_table(conn, schedule.vendor_id, schedule.group_by, since, until)
        last_day = (until - timedelta(days=1)).date()
        filename = f"usage-by-{schedule.group_by.replace(',', '-and-')}-{since:%Y-%m-%d}-to-{last_day:%Y-%m-%d}.csv"
        text = (
            f"The usage report '{schedule.name}' of {vendor} for {p['period']}: "
            f"{since:%Y-%m-%d} to {last_day:%Y-%m-%d} (UTC days), grouped by {schedule.group_by}.\n\n"
            f"{len(rows)} row(s) are attached as {filename}. "
            'The columns are described in Wharf\'s documentation (docs/audit.md, "Counting pulls").\n\n'
            f"-- \n{vendor}'s software portal\n"
        )
        return Mail(
            ", ".join(json.loads(schedule.recipients)),
            f"{vendor} usage report: {schedule.name}, {p['period']}",
            text,
            attachments=(Attachment(filename, csv_bytes(columns, rows), "text/csv"),),
            message_id=f"report-{message.id}",
        )

    async def _failed(self, message: Claimed, now: datetime, error: str) -> None:
        if message.attempts >= MAX_ATTEMPTS:
            await self._finish(message, "failed", error, message.payload["schedule_id"], error)
            return
        delay = min(self.retry * 2 ** (message.attempts - 1), MAX_BACKOFF)
        await self._finish(message, "pending", error, message.payload["schedule_id"], error, now + delay)

    async def _finish(
        self,
        message: Claimed,
        state: str,
        error: str | None,
        schedule_id: int | None,
        schedule_error: str | None = None,
        retry_at: datetime | None = None,
    ) -> None:
        """Record the outcome on the message (only while this node holds its lease) and on the schedule."""
        done = utcnow()
        values: dict[str, Any] = {"state": state, "last_error": error, "lease_owner": None, "lease_until": None}
        if state == "delivered":
            values["delivered_at"] = done
        if retry_at is not None:
            values["available_at"] = retry_at
        async with self._writing() as session, session.begin():
            mine = OutboxMessage.id == message.id, OutboxMessage.lease_owner == self.owner
            if (await session.execute(update(OutboxMessage).where(*mine).values(**values))).rowcount != 1:  # type: ignore[attr-defined]
                log.warning("scheduled report %s: the lease ran out before its outcome was recorded", message.id)
            if schedule_id is None:
                return
            period = message.payload.get("period", "")
            outcome: dict[str, Any] = (
                {"last_sent_at": done, "last_error": None}
                if state == "delivered"
                else {"last_error": f"{period}: {schedule_error}"[:2000]}
            )
            await session.execute(update(ReportSchedule).where(ReportSchedule.id == schedule_id).values(**outcome))


def _deliverable(now: datetime) -> tuple[Any, ...]:
    return (
        OutboxMessage.event == REPORT_DUE,
        OutboxMessage.state == "pending",
        OutboxMessage.available_at <= now,
        _lease_free(OutboxMessage, now),
    )


def _lease_free(table: type[ReportSchedule] | type[OutboxMessage], now: datetime) -> Any:
    return or_(table.lease_until.is_(None), table.lease_until < now)
