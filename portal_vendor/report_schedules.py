"""Scheduled reports: usage reports mailed weekly or monthly (the runner is app.reports.schedules)."""

from __future__ import annotations

import re

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.dependencies import CurrentActor, Reader, ReportSchedules, SignedIn
from app.guards import staff
from app.reports.periods import CADENCES
from app.reports.schedules import GROUPINGS
from app.roles import Permission
from app.services import report_schedules as schedule_queries
from app.services.errors import Invalid, NotFound
from app.services.report_schedules import MAX_RECIPIENTS
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, confirm, field_error, not_found, page

AUDIT = [staff(Permission.AUDIT)]
PATH = "/vendor/reports/schedules"


def addresses(text: str) -> list[str]:
    """Addresses as typed in the form: separated by commas, semicolons, spaces or lines."""
    return [part for part in re.split(r"[,;\s]+", text) if part]


class ReportScheduleController(Controller):
    path = "/reports/schedules"
    include_in_schema = False

    async def _page(
        self, request: Req, user: WebUser, session: AsyncSession, status: int = 200, **form: object
    ) -> Template:
        context = {"errors": {}, "name": "", "cadence": "monthly", "group_by": "customer", "recipients": "", **form}
        return await page(
            request,
            "vendor/report_schedules.html",
            user,
            section="downloads",
            status=status,
            schedules=[
                (s, schedule_queries.recipients_of(s))
                for s in await schedule_queries.schedules_of(session, user.vendor_id)
            ],
            cadences=CADENCES,
            groupings=GROUPINGS,
            max_recipients=MAX_RECIPIENTS,
            **context,
        )

    @get("/", guards=AUDIT)
    async def list_(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        return await self._page(request, user, reader)

    @post("/", status_code=200, guards=AUDIT)
    async def create(
        self,
        request: Req,
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        report_schedules: ReportSchedules,
        reader: Reader,
    ) -> Template | Redirect:
        form = {k: (data.get(k) or "").strip() for k in ("name", "cadence", "group_by", "recipients")}
        try:
            created = await report_schedules.create(
                actor, form["name"], form["cadence"], form["group_by"], addresses(form["recipients"])
            )
        except Invalid as exc:
            return await self._page(request, user, reader, 400, errors=field_error(exc), **form)
        return redirect_with(request, PATH, f"The report {created.name} is scheduled.")

    @post("/{schedule_id:int}/delete", status_code=200, guards=AUDIT)
    async def delete(
        self,
        request: Req,
        schedule_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        report_schedules: ReportSchedules,
        reader: Reader,
    ) -> Template | Redirect:
        try:
            schedule = await schedule_queries.find(reader, user.vendor_id, schedule_id)
        except NotFound:
            raise not_found("report schedule") from None
        if data.get("confirm") != "yes":
            return await confirm(
                request,
                user,
                f"Stop the report {schedule.name}?",
                "No more mail is sent for it; reports already mailed stay with their recipients.",
                f"{PATH}/{schedule_id}/delete",
                "Stop and delete",
            )
        try:
            await report_schedules.delete(actor, schedule_id)
        except NotFound:
            raise not_found("report schedule") from None
        return redirect_with(request, PATH, f"The report {schedule.name} is no longer sent.")
