"""Scheduled usage reports on both databases: the service's rules, the lease that lets one node send a report,
missed periods sent once each, a failing mail server retried later, all through a real SMTP server."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select, update

from app.mail import LogMailer, SmtpMailer
from app.models import DownloadEvent, OutboxMessage, ReportSchedule
from app.reports.periods import next_boundary, period_start
from app.reports.rollup import mark_stale
from app.reports.schedules import MAX_ATTEMPTS, REPORT_DUE, ReportRunner
from app.reports.usage import usage_report
from app.services import report_schedules as schedule_rules
from app.services.errors import Forbidden, Invalid
from app.settings import MailSettings
from registry.sql import create_engine
from tests.support.server import free_port


def address() -> str:
    return f"auditor-{uuid.uuid4().hex[:8]}@reports.test"


def runner(world, sink_port: int, **options) -> ReportRunner:
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=sink_port, mail_from="wharf@svc.test"))
    return ReportRunner(world.services.deps.engine, mailer, **options)


async def due_now(world, schedule_id: int, periods_back: int = 0) -> datetime:
    """Make the schedule due: its next run at the latest month boundary (minus `periods_back` months)."""
    boundary = period_start("monthly", datetime.now(UTC))
    for _ in range(periods_back):
        boundary = period_start("monthly", boundary - timedelta(days=1))
    async with world.services.deps.engine.begin() as conn:
        await conn.execute(update(ReportSchedule).where(ReportSchedule.id == schedule_id).values(next_run_at=boundary))
    return boundary


async def store_events(world, customer_id: int, moments: list[tuple[datetime, str]]) -> None:
    """Download events as the writer stores them (rolled-up days they fall in become stale)."""
    rows = [
        {
            "id": uuid.uuid4().hex,
            "at": at,
            "action": action,
            "vendor_id": world.vendor_id,
            "customer_id": customer_id,
            "repository": f"{world.slug}/app",
            "reference": "1.0.0",
            "digest": "sha256:" + "a" * 64,
            "bytes": 1000 if action == "manifest.get" else 0,
            "status": 200,
            "client_ip": "10.0.0.1",
        }
        for at, action in moments
    ]
    async with world.services.deps.engine.begin() as conn:
        await conn.execute(insert(DownloadEvent), rows)
        await mark_stale(conn, {at.date() for at, _ in moments})


async def schedule_row(world, schedule_id: int) -> ReportSchedule:
    async with world.services.deps.engine.connect() as conn:
        return (await conn.execute(select(ReportSchedule).where(ReportSchedule.id == schedule_id))).one()


async def test_a_due_schedule_mails_the_usage_csv_of_the_month_just_ended_once(world, smtp_sink):
    to, cc = address(), address()
    customer = await world.services.customers.create(world.staff(), "Globex")
    schedule = await world.services.report_schedules.create(
        world.staff(), "Monthly usage", "monthly", "customer", [to, cc]
    )
    boundary = await due_now(world, schedule.id)
    last_month = period_start("monthly", boundary - timedelta(days=1))
    await store_events(
        world,
        customer.id,
        [
            (last_month + timedelta(days=2, hours=5), "manifest.get"),
            (last_month + timedelta(days=9, hours=1), "manifest.get"),
            (last_month + timedelta(days=9, hours=2), "manifest.head"),
            (boundary + timedelta(minutes=1), "manifest.get"),  # the month running now: not in this report
            (last_month - timedelta(minutes=1), "manifest.get"),  # the month before: not either
        ],
    )

    assert await runner(world, smtp_sink.port).tick() >= 1
    [mail] = smtp_sink.to(to)
    assert sorted(mail.to) == sorted([to, cc]) and smtp_sink.to(cc) == [mail]  # one mail to both
    assert "Monthly usage" in mail.subject and f"{last_month:%Y-%m}" in mail.subject
    [(filename, content)] = mail.attachments.items()
    assert filename == f"usage-by-customer-{last_month:%Y-%m-%d}-to-{boundary - timedelta(days=1):%Y-%m-%d}.csv"
    rows = list(csv.DictReader(io.StringIO(content.decode())))
    assert rows == [
        {
            "customer_id": str(customer.id),
            "customer_name": customer.name,
            "pulls": "2",
            "version_checks": "1",
            "unique_clients": "1",
            "bytes": "2000",
            "denials": "0",
        }
    ]
    async with world.services.deps.engine.connect() as conn:  # what GET /api/v1/usage answers for the month
        report = await usage_report(conn, world.vendor_id, "customer", last_month, boundary)
    assert [{k: str(v) for k, v in item.items()} for item in report.items] == rows

    after = await schedule_row(world, schedule.id)
    assert after.last_sent_at is not None and after.last_error is None
    assert after.next_run_at.replace(tzinfo=UTC) == next_boundary("monthly", datetime.now(UTC))
    assert after.last_period_end.replace(tzinfo=UTC) == boundary
    await runner(world, smtp_sink.port).tick()  # nothing is due any more
    assert len(smtp_sink.to(to)) == 1


@pytest.mark.parametrize("nodes", [2, 4])
async def test_nodes_racing_for_one_schedule_send_one_mail(world, smtp_sink, database_url, nodes):
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "Race", "monthly", "repository", [to])
    await due_now(world, schedule.id)
    engines = [create_engine(database_url) for _ in range(nodes)]  # a connection pool per node, as across processes
    mailer = SmtpMailer(MailSettings(smtp_host="127.0.0.1", smtp_port=smtp_sink.port, mail_from="w@svc.test"))
    runners = [ReportRunner(engine, mailer, owner=f"node-{i}") for i, engine in enumerate(engines)]
    try:
        # every node saw the schedule due and tries to claim it at once: one wins and queues the month
        now = datetime.now(UTC)
        assert sum(await asyncio.gather(*(r.enqueue_schedule(schedule.id, now) for r in runners))) == 1
        await asyncio.gather(*(r.tick() for r in runners))
        await asyncio.gather(*(r.tick() for r in runners))
    finally:
        for engine in engines:
            await engine.dispose()
    assert len(smtp_sink.to(to)) == 1
    async with world.services.deps.engine.connect() as conn:
        messages = (await conn.execute(select(OutboxMessage).where(OutboxMessage.event == REPORT_DUE))).all()
    mine = [m for m in messages if json.loads(m.payload)["schedule_id"] == schedule.id]
    assert [(m.state, m.attempts) for m in mine] == [("delivered", 1)]


async def test_a_missed_run_is_sent_when_the_runner_starts_each_missed_month_once(world, smtp_sink):
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "Catch-up", "monthly", "day", [to])
    first_missed = await due_now(world, schedule.id, periods_back=2)  # the server was down for two months
    task = asyncio.create_task(runner(world, smtp_sink.port).run(interval=3600))  # its first tick is at once
    try:
        for _ in range(200):
            if len(smtp_sink.to(to)) >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        task.cancel()
    months = [period_start("monthly", first_missed - timedelta(days=1))]
    for _ in range(2):
        months.append(next_boundary("monthly", months[-1]))
    assert sorted(m.subject.rsplit(" ", 1)[1] for m in smtp_sink.to(to)) == [f"{m:%Y-%m}" for m in months]
    assert len({m.message_id for m in smtp_sink.to(to)}) == 3


async def test_a_failing_mail_server_shows_on_the_schedule_and_the_report_is_retried_later(world, smtp_sink):
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "Retry", "monthly", "tag", [to])
    await due_now(world, schedule.id)
    now = datetime.now(UTC)
    assert await runner(world, free_port(), retry_seconds=60).tick(now) == 0  # nothing listens there
    failed = await schedule_row(world, schedule.id)
    assert "did not accept" in failed.last_error and failed.last_sent_at is None

    working = runner(world, smtp_sink.port, retry_seconds=60)
    assert await working.deliver_pending(now + timedelta(seconds=30)) == 0  # backing off: not yet
    assert smtp_sink.to(to) == []
    assert await working.deliver_pending(now + timedelta(seconds=61)) >= 1
    assert len(smtp_sink.to(to)) == 1
    sent = await schedule_row(world, schedule.id)
    assert sent.last_error is None and sent.last_sent_at is not None


async def test_a_report_of_a_deleted_schedule_is_dropped(world, smtp_sink):
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "Gone", "weekly", "customer", [to])
    async with world.services.deps.engine.begin() as conn:
        await conn.execute(
            update(ReportSchedule)
            .where(ReportSchedule.id == schedule.id)
            .values(next_run_at=period_start("weekly", datetime.now(UTC)))
        )
    reports = runner(world, smtp_sink.port)
    assert await reports.enqueue_due() == 1
    await world.services.report_schedules.delete(world.staff(), schedule.id)
    await reports.deliver_pending()
    assert smtp_sink.to(to) == []


async def test_schedules_are_validated_recorded_and_kept_to_auditors(world):
    actor = world.staff()
    with pytest.raises(Invalid) as bad:
        await world.services.report_schedules.create(actor, "", "daily", "planet", ["not-an-address", "a@b.test"])
    assert set(bad.value.fields) == {"name", "cadence", "group_by", "recipients"}
    with pytest.raises(Invalid, match="at most 20"):
        await world.services.report_schedules.create(actor, "x", "weekly", "day", [f"p{i}@x.test" for i in range(21)])
    with pytest.raises(Invalid, match="at least one"):
        await world.services.report_schedules.create(actor, "x", "weekly", "day", [" "])
    with pytest.raises(Invalid):  # would add a recipient to the To: header
        await world.services.report_schedules.create(actor, "x", "weekly", "day", ["a@x.test,b@evil.test"])
    with pytest.raises(Forbidden):
        await world.services.report_schedules.create(world.staff("support"), "x", "weekly", "day", ["a@x.test"])

    created = await world.services.report_schedules.create(
        world.staff("auditor"), "Weekly", "weekly", "day", ["A@X.test", "a@x.test"]
    )
    assert json.loads(created.recipients) == ["a@x.test"]
    assert created.next_run_at == next_boundary("weekly", created.created_at)  # when the running week ends
    changed = await world.services.report_schedules.update(actor, created.id, cadence_="monthly")
    assert changed.next_run_at == next_boundary("monthly", datetime.now(UTC))
    await world.services.report_schedules.delete(actor, created.id)
    [entry] = await world.log("report_schedule.updated", created.id)
    assert json.loads(entry.after)["cadence"] == "monthly"
    assert len(await world.log("report_schedule.created", created.id)) == 1
    assert len(await world.log("report_schedule.deleted", created.id)) == 1
    assert len(await world.outbox("report_schedule.deleted")) >= 1


async def test_without_a_mail_server_the_schedule_says_so_and_the_report_waits(world, smtp_sink):
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "No SMTP", "monthly", "license", [to])
    await due_now(world, schedule.id)
    assert await ReportRunner(world.services.deps.engine, LogMailer()).tick() == 0
    waiting = await schedule_row(world, schedule.id)
    assert "no mail server is configured" in waiting.last_error and waiting.last_sent_at is None
    async with world.services.deps.engine.connect() as conn:
        messages = (await conn.execute(select(OutboxMessage).where(OutboxMessage.event == REPORT_DUE))).all()
    [mine] = [m for m in messages if json.loads(m.payload)["schedule_id"] == schedule.id]
    assert mine.state == "pending" and mine.attempts == 1 and mine.lease_owner is None


def test_a_long_recipient_list_is_refused_without_reading_all_of_it():
    """A 1 MiB API body holds about 75,000 addresses: checking each against every earlier one held the event loop
    for 20 s. The check stops at the first address past the limit."""
    looked_at = 0

    def addresses():
        nonlocal looked_at
        for i in range(75_000):
            looked_at += 1
            yield f"p{i}@x.test"

    with pytest.raises(Invalid, match="at most 20"):
        schedule_rules.recipients(addresses())
    assert looked_at == schedule_rules.MAX_RECIPIENTS + 1


async def test_a_schedule_named_with_a_line_separator_before_they_were_refused_is_still_mailed(world, smtp_sink):
    """A header with a line break made the email package raise a ValueError, which no retry rule caught: the
    report was claimed again every lease, never failed, and held up the rest of each batch."""
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "Old", "monthly", "customer", [to])
    async with world.services.deps.engine.begin() as conn:
        await conn.execute(
            update(ReportSchedule).where(ReportSchedule.id == schedule.id).values(name="Old\u2028Bcc: x@evil.test")
        )
    await due_now(world, schedule.id)
    assert await runner(world, smtp_sink.port).tick() >= 1
    [received] = smtp_sink.to(to)
    assert "Old Bcc: x@evil.test" in received.subject and received.to == [to]
    assert (await schedule_row(world, schedule.id)).last_sent_at is not None


class _BrokenMailer:
    """A mailer failing with something other than a MailError (a bug in a mail library, say)."""

    delivers = True

    async def send(self, mail) -> None:
        raise RuntimeError("unexpected")


async def test_an_unexpected_sending_error_is_retried_then_given_up_like_a_refusal(world, smtp_sink):
    """Only MailError used to be caught: anything else left the message leased, claimed again every lease
    without end (attempts past MAX_ATTEMPTS), and stopped the rest of the batch."""
    to = address()
    schedule = await world.services.report_schedules.create(world.staff(), "Broken", "monthly", "day", [to])
    await due_now(world, schedule.id)
    broken = ReportRunner(world.services.deps.engine, _BrokenMailer(), retry_seconds=0)
    now = datetime.now(UTC)
    for attempt in range(MAX_ATTEMPTS + 2):
        assert await broken.tick(now + timedelta(seconds=attempt)) == 0
    async with world.services.deps.engine.connect() as conn:
        messages = (await conn.execute(select(OutboxMessage).where(OutboxMessage.event == REPORT_DUE))).all()
    [mine] = [m for m in messages if json.loads(m.payload)["schedule_id"] == schedule.id]
    assert mine.state == "failed" and mine.attempts == MAX_ATTEMPTS and mine.lease_owner is None
    assert "RuntimeError" in (await schedule_row(world, schedule.id)).last_error
