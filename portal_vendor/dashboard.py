"""The dashboard: pulls over 30 days, licenses ending soon, latest pushes, top customers, and per product the
customers on an outdated version (app.adoption: semver among the tags each customer may pull), tokens flagged as
shared (app.reports.compliance); and the adoption page: the version each customer runs, per product."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from litestar import Controller, get
from litestar.response import Template
from sqlalchemy import select

from app import adoption, catalog
from app.dependencies import Reader, SignedIn
from app.guards import staff
from app.models import License, Organization
from app.policy import licenses_by_customer
from app.reports import compliance
from app.reports.usage import usage_query
from app.roles import Permission
from app.times import utcnow
from app.web.charts import daily_bars
from app.web.words import image_ref
from portal_vendor.common import Req, page
from registry.kinds import cosign_subject

EXPIRY_HORIZON = timedelta(days=30)
OUTDATED_WINDOW = timedelta(days=365)  # customers who pulled within a year count as running what they pulled
SHARING_SHOWN = 10  # flags on the dashboard; each customer's page lists its own


async def _customer_names(reader: Reader, vendor_id: int) -> dict[int, str]:
    found = await reader.execute(
        select(Organization.id, Organization.name).where(
            Organization.vendor_id == vendor_id, Organization.kind == "customer"
        )
    )
    return dict(found.all())


@dataclass(frozen=True)
class Push:
    repository: str
    shown: str  # `repo:tag`, or for a cosign tag the image it describes (`repo@sha256:…`)
    kind: str | None  # signature or sbom for cosign's tags, else None
    at: datetime


def _push(repository: str, tag: str, at: datetime) -> Push:
    described = cosign_subject(tag)
    if described is None:
        return Push(repository, image_ref(repository, tag), None, at)
    digest, kind = described
    return Push(repository, image_ref(repository, digest), kind, at)


def _day(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


class DashboardController(Controller):
    path = "/"
    include_in_schema = False

    @get("/", guards=[staff(Permission.READ)])
    async def dashboard(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        now = utcnow()
        since = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=29)
        conn = await reader.connection()
        by_day = await conn.execute(await usage_query(conn, user.vendor_id, "day", since, None, None, None))
        chart = daily_bars({_day(r.day): int(r.pulls) for r in by_day}, now.date())
        by_customer = (
            await conn.execute(await usage_query(conn, user.vendor_id, "customer", since, None, None, None))
        ).all()
        top = sorted((r for r in by_customer if r.customer_id), key=lambda r: -int(r.pulls))[:5]
        names = await _customer_names(reader, user.vendor_id)
        expiring = (
            await reader.execute(
                select(License.id, License.name, License.valid_until, License.customer_id, Organization.name)
                .join(Organization, Organization.id == License.customer_id)
                .where(
                    License.vendor_id == user.vendor_id,
                    License.status == "active",
                    License.valid_until >= now - timedelta(days=1),
                    License.valid_until <= now + EXPIRY_HORIZON,
                )
                .order_by(License.valid_until)
                .limit(10)
            )
        ).all()
        pushes = [_push(repo, tag, at) for repo, tag, at in await catalog.latest_pushes(reader, user.vendor_slug)]
        top_customers = [
            (r.customer_id, names.get(r.customer_id) or r.customer_name or f"customer {r.customer_id}", int(r.pulls))
            for r in top
        ]
        return await page(
            request,
            "vendor/dashboard.html",
            user,
            section="dashboard",
            chart=chart,
            top_customers=top_customers,
            expiring=expiring,
            pushes=pushes,
            customer_count=len(names),
        )

    # The two cards that read a year or a month of events load after the page (htmx), so it opens at once.

    @get("/dashboard/sharing", guards=[staff(Permission.READ)])
    async def sharing(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        """Tokens used from more networks in a day than the vendor's threshold, over the last 30 days."""
        vendor = await reader.get(Organization, user.vendor_id)
        assert vendor is not None
        threshold = compliance.sharing_threshold(vendor)
        flags = await compliance.sharing_flags(reader, user.vendor_id, threshold, *compliance.recent_days(utcnow()))
        return await page(
            request,
            "vendor/dashboard_sharing.html",
            user,
            section="dashboard",
            sharing=flags[:SHARING_SHOWN],
            sharing_threshold=threshold,
            show_customer=True,
        )

    @get("/dashboard/outdated", guards=[staff(Permission.READ)])
    async def outdated(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        """Per product, the customers whose last pull (within a year) is older than the newest they may pull."""
        now = utcnow()
        last_pulls = await adoption.last_pulls(reader, user.vendor_id, since=now - OUTDATED_WINDOW)
        behind = adoption.outdated(
            last_pulls,
            await licenses_by_customer(reader, user.vendor_id),
            await catalog.vendor_tags(reader, user.vendor_slug),
            now,
        )
        return await page(
            request,
            "vendor/dashboard_outdated.html",
            user,
            section="dashboard",
            outdated=sorted(behind.items()),
            anyone_pulled=bool(last_pulls),
            names=await _customer_names(reader, user.vendor_id),
        )

    @get("/adoption", guards=[staff(Permission.READ)])
    async def adoption(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        """Per product, the version each customer last pulled (within a year) and how far behind it is."""
        now = utcnow()
        table = adoption.adoption(
            await adoption.last_pulls(reader, user.vendor_id, since=now - OUTDATED_WINDOW),
            await licenses_by_customer(reader, user.vendor_id),
            await catalog.vendor_tags(reader, user.vendor_slug),
            now,
        )
        names = await _customer_names(reader, user.vendor_id)
        return await page(
            request, "vendor/adoption.html", user, section="dashboard", products=sorted(table.items()), names=names
        )
