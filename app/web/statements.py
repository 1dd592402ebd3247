"""The printable monthly statement of one customer (app.reports.statements.statement), one page for both
portals: the vendor's for any of its customers, the customer admin's for its own organization only."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Organization
from app.reports import statements
from app.reports.compliance import month_period
from app.services.errors import Invalid
from app.sizes import human_size
from app.times import shown, utcnow
from app.web.pages import render
from app.web.users import WebUser

TEMPLATE = "partials/statement.html"


async def statement_page(
    request: Request[Any, Any, Any],
    user: WebUser,
    session: AsyncSession,
    customer: Organization,
    month: str,
    back: str,
) -> Template:
    """The statement for `month` (YYYY-MM, empty: this UTC month); a month that is not one answers 400."""
    now = utcnow()
    context: dict[str, Any] = {"customer": customer, "month": month.strip(), "back": back, "when": shown}
    try:
        since, until = month_period(month, now)
    except Invalid as exc:
        return await render(request, TEMPLATE, user=user, status=400, error=exc.message, **context)
    vendor = await session.get(Organization, user.vendor_id)
    assert vendor is not None
    found = await statements.statement(session, vendor, customer, since, until, now)
    return await render(
        request,
        TEMPLATE,
        user=user,
        s=found,
        label=since.strftime("%B %Y"),
        human_size=human_size,
        **{**context, "month": since.strftime("%Y-%m")},
    )
