"""/api/v1/report-schedules: usage reports mailed weekly or monthly with the CSV attached."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Controller, delete, get, patch, post
from litestar.params import FromPath, JSONBody

from app.dependencies import CurrentActor, Reader, ReportSchedules
from app.guards import api
from app.roles import Permission
from app.services import report_schedules as schedule_queries
from app.services.report_schedules import schedule_json

AUDIT = [api(Permission.AUDIT)]


class ScheduleIn(msgspec.Struct, forbid_unknown_fields=True):
    name: str
    recipients: list[str]  # 1 to 20 addresses
    cadence: str = "monthly"  # weekly (Monday to Sunday, UTC) or monthly
    group_by: str = "customer"  # a grouping of GET /api/v1/usage


class SchedulePatch(msgspec.Struct, forbid_unknown_fields=True):
    name: str | None = None
    recipients: list[str] | None = None
    cadence: str | None = None
    group_by: str | None = None


class ReportScheduleController(Controller):
    path = "/api/v1/report-schedules"
    tags = ["downloads"]

    @get("/", guards=AUDIT)
    async def list_(self, actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        return {"items": [schedule_json(s) for s in await schedule_queries.schedules_of(reader, actor.vendor_id)]}

    @post("/", guards=AUDIT)
    async def create(
        self, data: JSONBody[ScheduleIn], actor: CurrentActor, report_schedules: ReportSchedules
    ) -> dict[str, Any]:
        """The first report covers the period running now and goes out when it ends."""
        created = await report_schedules.create(actor, data.name, data.cadence, data.group_by, data.recipients)
        return schedule_json(created)

    @get("/{schedule_id:int}", guards=AUDIT)
    async def detail(self, schedule_id: FromPath[int], actor: CurrentActor, reader: Reader) -> dict[str, Any]:
        return schedule_json(await schedule_queries.find(reader, actor.vendor_id, schedule_id))

    @patch("/{schedule_id:int}", guards=AUDIT)
    async def update(
        self,
        schedule_id: FromPath[int],
        data: JSONBody[SchedulePatch],
        actor: CurrentActor,
        report_schedules: ReportSchedules,
    ) -> dict[str, Any]:
        """The fields given change; a new cadence starts with the period running now."""
        changed = await report_schedules.update(
            actor, schedule_id, data.name, data.cadence, data.group_by, data.recipients
        )
        return schedule_json(changed)

    @delete("/{schedule_id:int}", guards=AUDIT)
    async def remove(self, schedule_id: FromPath[int], actor: CurrentActor, report_schedules: ReportSchedules) -> None:
        await report_schedules.delete(actor, schedule_id)
