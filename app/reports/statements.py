"""A customer's monthly statement: its licenses with their pulls, the versions pulled, clients, bytes and
denials over a UTC month, for the printable page on both portals (app.web.statements)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import DownloadEvent as E
from app.models import License, Organization
from app.policy import licenses_by_customer
from app.reports import compliance
from app.reports.usage import usage_report
from app.times import aware


@dataclass(frozen=True)
class LicenseLine:
    license_id: int
    name: str
    state: str
    valid_from: datetime | None
    valid_until: datetime | None
    pulls: int
    clients: int
    bytes: int
    denials: int


@dataclass
class Statement:
    customer_id: int
    customer_name: str
    vendor_name: str
    since: datetime
    until: datetime
    generated_at: datetime
    licenses: list[LicenseLine]
    pulled: list[compliance.VersionPulled]
    pulls: int
    version_checks: int
    clients: int
    bytes: int
    denials: dict[str, int]


async def statement(
    session: AsyncSession, vendor: Organization, customer: Organization, since: datetime, until: datetime, now: datetime
) -> Statement:
    """One customer's month: its licenses with their pulls, the versions pulled, clients, bytes, denials.
    Pulls, clients and bytes are the usage report's figures (docs/audit.md, "Counting pulls")."""
    conn = await session.connection()
    report = await usage_report(conn, vendor.id, "license", since, until, customer.id)
    by_license = {int(r["license_id"] or 0): r for r in report.items}
    total = report.totals  # clients distinct over the month, not summed over licenses
    held = {int(x.id): x for x in (await licenses_by_customer(session, vendor.id)).get(customer.id, ())}
    rows = (await session.scalars(select(License).where(License.customer_id == customer.id).order_by(License.id))).all()
    lines = []
    for lic in rows:
        used = by_license.get(lic.id)
        domain = held.get(lic.id)
        lines.append(
            LicenseLine(
                lic.id,
                lic.name,
                domain.state(now) if domain is not None else lic.status,
                aware(lic.valid_from),
                aware(lic.valid_until),
                used["pulls"] if used else 0,
                used["unique_clients"] if used else 0,
                used["bytes"] if used else 0,
                used["denials"] if used else 0,
            )
        )
    mine = [E.vendor_id == vendor.id, E.customer_id == customer.id, *compliance.in_period(since, until)]
    refused = await compliance.denials_by_repository(session, vendor.id, since, until, E.customer_id == customer.id)
    return Statement(
        customer_id=customer.id,
        customer_name=customer.name,
        vendor_name=vendor.name,
        since=since,
        until=until,
        generated_at=now,
        licenses=lines,
        pulled=await compliance.versions_pulled(session, mine),
        pulls=total["pulls"],
        version_checks=total["version_checks"],
        clients=total["unique_clients"],
        bytes=total["bytes"],
        denials=compliance.by_reason(refused),
    )
