"""/api/v1/report-schedules over HTTP, and a schedule missed while no server ran, mailed when one starts."""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import update

from app.main import create_app
from app.models import ReportSchedule
from app.reports.periods import period_start
from app.settings import AuditSettings

API = "/api/v1/report-schedules"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_schedules_are_created_listed_changed_and_deleted(wharf):
    h = bearer(wharf.token)
    to = f"ops-{uuid.uuid4().hex[:6]}@reports.test"
    r = await wharf.client.post(API, json={"name": "Monthly", "recipients": [to]}, headers=h)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["cadence"] == "monthly" and created["group_by"] == "customer" and created["recipients"] == [to]
    assert created["next_run_at"] == period_start("monthly", datetime.now(UTC) + timedelta(days=32)).isoformat()
    assert created["last_sent_at"] is None and created["last_error"] is None
    listed = (await wharf.client.get(API, headers=h)).json()["items"]
    assert created["id"] in [s["id"] for s in listed]
    r = await wharf.client.patch(f"{API}/{created['id']}", json={"cadence": "weekly", "group_by": "day"}, headers=h)
    assert r.status_code == 200 and r.json()["cadence"] == "weekly" and r.json()["recipients"] == [to]
    assert (await wharf.client.get(f"{API}/{created['id']}", headers=h)).json()["group_by"] == "day"
    assert (await wharf.client.delete(f"{API}/{created['id']}", headers=h)).status_code == 204
    assert (await wharf.client.get(f"{API}/{created['id']}", headers=h)).status_code == 404
    assert (await wharf.client.delete(f"{API}/{created['id']}", headers=h)).status_code == 404


async def test_bad_input_is_a_4xx_naming_the_field(wharf):
    h = bearer(wharf.token)
    cases = [
        ({"name": "x", "recipients": []}, "recipients"),
        ({"name": "x", "recipients": ["nobody"]}, "recipients"),
        ({"name": "x", "recipients": ["a@x.test"], "cadence": "daily"}, "cadence"),
        ({"name": "x", "recipients": ["a@x.test"], "group_by": "planet"}, "group_by"),
        ({"name": "", "recipients": ["a@x.test"]}, "name"),
        ({"name": "x", "recipients": [f"p{i}@x.test" for i in range(21)]}, "recipients"),
    ]
    for body, field in cases:
        r = await wharf.client.post(API, json=body, headers=h)
        assert r.status_code == 400, (body, r.text)
        assert field in [e["key"] for e in r.json()["extra"]], r.text
    for body in ({"name": "x"}, {"name": "x", "recipients": "a@x.test"}, {"name": "x", "recipients": [], "to": 1}):
        r = await wharf.client.post(API, json=body, headers=h)
        assert r.status_code == 400 and r.json()["detail"], r.text
    r = await wharf.client.patch(f"{API}/{2**40}", json={"name": "x"}, headers=h)
    assert r.status_code == 404


async def test_only_roles_with_audit_may_schedule(wharf):
    h = bearer(wharf.token)
    made = {}
    for role in ("auditor", "account_manager"):
        r = await wharf.client.post("/api/v1/tokens", json={"name": f"r-{role}", "role": role}, headers=h)
        made[role] = r.json()["token"]
    body = {"name": "x", "recipients": ["a@x.test"]}
    assert (await wharf.client.post(API, json=body, headers=bearer(made["account_manager"]))).status_code == 403
    assert (await wharf.client.get(API, headers=bearer(made["account_manager"]))).status_code == 403
    assert (await wharf.client.post(API, json=body, headers=bearer(made["auditor"]))).status_code == 201


async def test_a_run_missed_while_no_server_ran_is_mailed_when_one_starts(wharf, smtp_sink, tmp_path):
    to = f"late-{uuid.uuid4().hex[:6]}@reports.test"
    r = await wharf.client.post(
        API, json={"name": "Late", "recipients": [to], "cadence": "weekly"}, headers=bearer(wharf.token)
    )
    this_week = period_start("weekly", datetime.now(UTC))
    async with wharf.app.state.registry.metadata.engine.begin() as conn:
        await conn.execute(
            update(ReportSchedule)
            .where(ReportSchedule.id == r.json()["id"])
            .values(next_run_at=this_week - timedelta(weeks=1))  # its last run should have been a week ago
        )
    settings = wharf.app.state.settings
    restarted = create_app(
        dataclasses.replace(
            settings,
            server=dataclasses.replace(settings.server, data_dir=tmp_path),
            audit=AuditSettings(report_seconds=3600),  # the one run that matters is the one at start
        )
    )
    async with AsyncTestClient(app=restarted):
        for _ in range(200):
            if len(smtp_sink.to(to)) >= 2:
                break
            await asyncio.sleep(0.05)
    sent = smtp_sink.to(to)
    assert len(sent) == 2 and all(m.attachments for m in sent)  # the week before last and last week, each once
    assert sorted(m.subject.split(", ")[-1][:8] for m in sent) == [
        f"{week:%G-W%V}" for week in (this_week - timedelta(weeks=2), this_week - timedelta(weeks=1))
    ]
