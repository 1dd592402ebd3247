"""The customer's own pull history: what, when, with which token, from which address; filterable."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlencode

from litestar import get
from litestar.params import FromQuery
from litestar.response import Template
from sqlalchemy import select

from app.dependencies import Reader, SignedIn
from app.guards import CUSTOMER
from app.models import DownloadEvent, Token
from app.reports.events import PullFilters, pull_events
from app.times import BadMoment, Edge, parse_moment
from app.web.charts import pulls_chart
from app.web.pages import render
from portal_customer.common import Req

PAGE_SIZE = 50
SHOWN_ACTIONS = ("manifest.get", "manifest.head", "denied")
ACTION_LABELS = {"manifest.get": "pull", "manifest.head": "version check", "denied": "denied"}


def day(value: str | None, edge: Edge = "start") -> datetime | None:
    """A filter date (YYYY-MM-DD); an end date includes the whole day. Unreadable dates are ignored."""
    try:
        return parse_moment(value, edge)
    except BadMoment:
        return None


@get("/portal/downloads", include_in_schema=False, guards=[CUSTOMER])
async def downloads(
    request: Req,
    user: SignedIn,
    reader: Reader,
    repository: FromQuery[str] = "",
    tag: FromQuery[str] = "",
    decision: FromQuery[Literal["", "allowed", "denied"]] = "",
    since: FromQuery[str] = "",
    until: FromQuery[str] = "",
    token: FromQuery[str] = "",
    page: FromQuery[int] = 1,
) -> Template:
    page = min(max(page, 1), 100_000)
    token_id = int(token) if token.isdigit() and len(token) < 10 else None
    wanted = PullFilters(
        since=day(since),
        until=day(until, "end"),
        customer_id=user.org_id,  # never another customer's events, whatever the query says
        repository=repository.strip() or None,
        tag=tag.strip() or None,
        decision=decision or None,
        # a pull is its manifest read; the layer downloads behind it would only bury it
        actions=SHOWN_ACTIONS,
        token_id=token_id,
    )
    stmt = pull_events(user.vendor_id, wanted)
    stmt = stmt.order_by(DownloadEvent.at.desc(), DownloadEvent.id.desc())
    rows = (await reader.execute(stmt.limit(PAGE_SIZE + 1).offset((page - 1) * PAGE_SIZE))).all()
    tokens = dict(
        (await reader.execute(select(Token.id, Token.name).where(Token.organization_id == user.org_id))).all()
    )
    # the organization's own usage only: the customer is the signed-in one, never from the query
    chart = await pulls_chart(
        await reader.connection(), user.vendor_id, f"Pulls by {user.org_name} per day", customer_id=user.org_id
    )
    filters = {"repository": repository, "tag": tag, "decision": decision, "since": since, "until": until}
    return await render(
        request,
        "customer/downloads.html",
        block="results",
        user=user,
        rows=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page=page,
        tokens=tokens,
        labels=ACTION_LABELS,
        pulls_chart=chart,
        filters={**filters, "token": token},
        query=urlencode({k: v for k, v in {**filters, "token": token}.items() if v}),
    )
