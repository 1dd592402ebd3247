"""'Your software': the repositories and tags the customer's licenses cover, with ready-to-copy commands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from litestar import get
from litestar.response import Template

import licensing
from app.catalog import entitled_repositories
from app.dependencies import Reader, SignedIn
from app.guards import CUSTOMER
from app.web.context import web
from app.web.pages import render
from portal_customer.common import Req

WARN_DAYS = 14


@dataclass(frozen=True)
class LicenseView:
    name: str
    state: str  # a label: Active, Suspended, Expired, Not yet valid, Grace period
    level: str  # ok | warn | bad: the badge colour
    valid_until: str | None
    warning: str | None


def license_view(lic: licensing.License, now: datetime) -> LicenseView:
    state = lic.state(now)
    until = lic.valid_until.date().isoformat() if lic.valid_until else None
    if state != "in_force":
        label = {"suspended": "Suspended", "expired": "Expired", "not_yet_valid": "Not yet valid"}[state]
        return LicenseView(lic.name, label, "bad", until, licensing.lapse_reason(lic, now).capitalize())
    warning = licensing.expiry_warning(lic, now, WARN_DAYS)
    if lic.in_grace(now):
        return LicenseView(lic.name, "Grace period", "warn", until, (warning or "").capitalize() or None)
    if warning and lic.valid_until is not None:
        days = max(0, (lic.valid_until - now) // timedelta(days=1))
        return LicenseView(lic.name, "Ends soon", "warn", until, f"{warning.capitalize()} (in {days} days)")
    return LicenseView(lic.name, "Active", "ok", until, None)


@get("/portal/", include_in_schema=False, guards=[CUSTOMER])
async def software(request: Req, user: SignedIn, reader: Reader) -> Template:
    context = web(request)
    assert context.policy is not None
    licenses = await context.policy.customer_licenses(user.org_id)
    now = datetime.now(UTC)
    repositories = await entitled_repositories(reader, user.vendor_slug, licenses, now)
    return await render(
        request,
        "customer/software.html",
        user=user,
        repositories=repositories,
        licenses=[license_view(lic, now) for lic in licenses],
        host=context.registry_host,
    )
