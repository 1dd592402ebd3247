"""The scheduled reports page: empty state, a readable refusal of bad addresses, the schedule with its next
run and last error, deletion after confirmation, and only for roles that may audit."""

from __future__ import annotations

import html
import uuid

from sqlalchemy import update

from app.models import ReportSchedule

PAGE = "/vendor/reports/schedules"


async def clear_schedules(wharf) -> None:
    h = {"Authorization": f"Bearer {wharf.token}"}
    for schedule in (await wharf.client.get("/api/v1/report-schedules", headers=h)).json()["items"]:
        await wharf.client.delete(f"/api/v1/report-schedules/{schedule['id']}", headers=h)


async def test_schedules_page_from_empty_to_scheduled_to_deleted(wharf, admin):
    await clear_schedules(wharf)
    empty = await admin.get(PAGE)
    assert empty.status_code == 200 and "No scheduled reports yet" in empty.text
    assert PAGE in (await admin.get("/vendor/downloads")).text

    bad = await admin.post(
        PAGE, {"name": "Monthly", "cadence": "monthly", "group_by": "customer", "recipients": "ann@x.test, nobody"}
    )
    assert bad.status_code == 400
    assert "&#39;nobody&#39; is not an email address like name@example.com." in bad.text
    assert "ann@x.test, nobody" in bad.text  # what was typed stays in the form

    to = f"c-{uuid.uuid4().hex[:6]}@reports.test"
    done = await admin.post(
        PAGE, {"name": "Compliance", "cadence": "weekly", "group_by": "day", "recipients": f"{to}\nbob@x.test"}
    )
    assert done.status_code == 303 and done.headers["location"] == PAGE
    listed = await admin.get(PAGE)
    assert "Compliance" in listed.text and to in listed.text and "bob@x.test" in listed.text
    assert "weekly, by day" in listed.text and "never" in listed.text and "No scheduled reports yet" not in listed.text

    schedule_id = (
        await wharf.client.get("/api/v1/report-schedules", headers={"Authorization": f"Bearer {wharf.token}"})
    ).json()["items"][0]["id"]
    async with wharf.app.state.registry.metadata.engine.begin() as conn:
        await conn.execute(
            update(ReportSchedule)
            .where(ReportSchedule.id == schedule_id)
            .values(last_error="2026-W47: the mail server did not accept the message")
        )
    assert "Last attempt failed: 2026-W47: the mail server did not accept" in (await admin.get(PAGE)).text

    asked = await admin.post(f"{PAGE}/{schedule_id}/delete")
    assert asked.status_code == 200 and html.escape("Stop the report Compliance?") in asked.text
    assert "Compliance" in (await admin.get(PAGE)).text  # not deleted before it is confirmed
    gone = await admin.post(f"{PAGE}/{schedule_id}/delete", {"confirm": "yes"})
    assert gone.status_code == 303
    assert "No scheduled reports yet" in (await admin.get(PAGE)).text
    assert (await admin.post(f"{PAGE}/{schedule_id}/delete", {"confirm": "yes"})).status_code == 404


async def test_only_roles_that_audit_see_scheduled_reports(as_role):
    auditor = await as_role("auditor")
    assert (await auditor.get(PAGE)).status_code == 200
    for role in ("support", "account_manager"):
        browser = await as_role(role)
        assert (await browser.get(PAGE)).status_code == 403, role
        assert (await browser.post(PAGE, {"name": "x", "recipients": "a@x.test"})).status_code == 403, role
        assert PAGE not in (await browser.get("/vendor/downloads")).text
