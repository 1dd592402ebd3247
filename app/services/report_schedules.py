"""Report schedules: a usage report mailed weekly or monthly, CSV attached (app.reports.schedules sends it)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.domain_events import DomainEvent
from app.identity import Actor
from app.models import ReportSchedule
from app.reports.periods import CADENCES, Cadence, next_boundary
from app.reports.schedules import GROUPINGS
from app.reports.usage import parse_group_by
from app.roles import Permission
from app.services import validation
from app.services.base import Service, require
from app.services.errors import Invalid, NotFound
from app.times import iso, utcnow

MAX_RECIPIENTS = 20
MAX_SCHEDULES = 100  # per vendor
# Characters an address may hold in general but that would split or quote a To: header listing several
_HEADER_SPECIALS = set(',;<>()[]":\\')


def recipients_of(schedule: ReportSchedule) -> list[str]:
    return list(json.loads(schedule.recipients or "[]"))


def snapshot(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "cadence": schedule.cadence,
        "group_by": schedule.group_by,
        "recipients": recipients_of(schedule),
    }


def schedule_json(schedule: ReportSchedule) -> dict[str, Any]:
    return {
        "id": schedule.id,
        **snapshot(schedule),
        "created_at": iso(schedule.created_at),
        "next_run_at": iso(schedule.next_run_at),
        "last_period_end": iso(schedule.last_period_end),
        "last_sent_at": iso(schedule.last_sent_at),
        "last_error": schedule.last_error,
    }


async def schedules_of(session: AsyncSession, vendor_id: int) -> Sequence[ReportSchedule]:
    stmt = select(ReportSchedule).where(ReportSchedule.vendor_id == vendor_id).order_by(ReportSchedule.id)
    return (await session.scalars(stmt)).all()


async def find(session: AsyncSession, vendor_id: int, schedule_id: int) -> ReportSchedule:
    found = await session.scalar(
        select(ReportSchedule).where(ReportSchedule.id == schedule_id, ReportSchedule.vendor_id == vendor_id)
    )
    if found is None:
        raise NotFound(f"report schedule {schedule_id} not found")
    return found


def cadence(value: str) -> Cadence:
    if value not in CADENCES:
        raise Invalid("cadence", f"Choose how often: {' or '.join(CADENCES)}.")
    return value


def group_by(value: str) -> str:
    """One grouping of the usage report, or two comma-separated, as `GET /api/v1/usage` takes them."""
    try:
        return ",".join(parse_group_by(value))
    except Invalid:
        raise Invalid(
            "group_by", f"Group the report by one of: {', '.join(GROUPINGS)}, or two of them comma-separated."
        ) from None


def recipients(values: Iterable[str]) -> list[str]:
    """1 to 20 addresses, lowercased, without repeats."""
    found: list[str] = []
    for value in (v.strip() for v in values):
        if not value:
            continue
        if _HEADER_SPECIALS & set(value):
            raise Invalid("recipients", f"{value[:80]!r} is not an email address like name@example.com.")
        address = validation.email("recipients", value)
        if address not in found:
            found.append(address)
        if len(found) > MAX_RECIPIENTS:  # stop here: checking all of a long list held the event loop for seconds
            raise Invalid("recipients", f"Mail the report to at most {MAX_RECIPIENTS} addresses.")
    if not found:
        raise Invalid("recipients", "Give at least one address to mail the report to.")
    return found


def _checked(errors: dict[str, str], check: Callable[[], Any]) -> Any:
    try:
        return check()
    except Invalid as exc:
        errors.update(exc.fields)
        return None


class ReportScheduleService(Service):
    async def create(
        self, actor: Actor, name: str, cadence_: str, group_by_: str, recipients_: Iterable[str]
    ) -> ReportSchedule:
        require(actor, Permission.AUDIT)
        errors: dict[str, str] = {}  # every field's problem at once, as a form shows them
        checked = {
            "name": _checked(errors, lambda: validation.name("name", name, "report")),
            "cadence": _checked(errors, lambda: cadence(cadence_)),
            "group_by": _checked(errors, lambda: group_by(group_by_)),
            "recipients": _checked(errors, lambda: recipients(recipients_)),
        }
        if errors:
            raise Invalid.of(errors)
        async with self.change(actor) as change:
            count = select(func.count()).where(ReportSchedule.vendor_id == actor.vendor_id)
            if int(await change.session.scalar(count) or 0) >= MAX_SCHEDULES:
                raise Invalid("name", f"A vendor keeps at most {MAX_SCHEDULES} report schedules.")
            now = utcnow()
            schedule = ReportSchedule(
                vendor_id=actor.vendor_id,
                name=checked["name"],
                cadence=checked["cadence"],
                group_by=checked["group_by"],
                recipients=json.dumps(checked["recipients"]),
                created_by=actor.user_id,
                created_at=now,
                next_run_at=next_boundary(checked["cadence"], now),  # the current period, once it has ended
            )
            change.session.add(schedule)
            await change.session.flush()
            change.record(DomainEvent.REPORT_SCHEDULE_CREATED, "report_schedule", schedule.id, after=snapshot(schedule))
        return schedule

    async def update(
        self,
        actor: Actor,
        schedule_id: int,
        name: str | None = None,
        cadence_: str | None = None,
        group_by_: str | None = None,
        recipients_: Iterable[str] | None = None,
    ) -> ReportSchedule:
        """Change what is given; a new cadence starts with the period running now."""
        require(actor, Permission.AUDIT)
        async with self.change(actor) as change:
            schedule = await find(change.session, actor.vendor_id, schedule_id)
            before = snapshot(schedule)
            if name is not None:
                schedule.name = validation.name("name", name, "report")
            if group_by_ is not None:
                schedule.group_by = group_by(group_by_)
            if recipients_ is not None:
                schedule.recipients = json.dumps(recipients(recipients_))
            if cadence_ is not None and cadence(cadence_) != schedule.cadence:
                schedule.cadence = cadence_
                schedule.next_run_at = next_boundary(cadence(cadence_), utcnow())
            if snapshot(schedule) != before:
                change.record(
                    DomainEvent.REPORT_SCHEDULE_UPDATED, "report_schedule", schedule.id, before, snapshot(schedule)
                )
        return schedule

    async def delete(self, actor: Actor, schedule_id: int) -> ReportSchedule:
        """No more mail; a report already due but not yet sent is dropped."""
        require(actor, Permission.AUDIT)
        async with self.change(actor) as change:
            schedule = await find(change.session, actor.vendor_id, schedule_id)
            change.record(
                DomainEvent.REPORT_SCHEDULE_DELETED, "report_schedule", schedule.id, before=snapshot(schedule)
            )
            await change.session.delete(schedule)
        return schedule
