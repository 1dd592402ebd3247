"""The vendor portal, /vendor/…: server-rendered pages for the vendor's staff (Jinja2 + htmx)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Router
from litestar.exceptions import NotFoundException

from app.api.common import refuse_nul
from portal_vendor.customers import CustomerController
from portal_vendor.dashboard import DashboardController
from portal_vendor.downloads import DownloadsController
from portal_vendor.licenses import LicenseController
from portal_vendor.report_schedules import ReportScheduleController
from portal_vendor.repositories import RepositoryController
from portal_vendor.settings import SettingsController
from portal_vendor.team import TeamController
from portal_vendor.token_limits import TokenLimitsController
from portal_vendor.tokens import TokenController

MAX_ID = 2**31 - 1


async def ids_in_range(request: Request[Any, Any, Any]) -> None:
    """An id no database column can hold names nothing: 404, not a database error."""
    if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in request.path_params.values()):
        raise NotFoundException("no such page")
    if request.query_params.get("customer_id", "").isdigit() and int(request.query_params["customer_id"]) > MAX_ID:
        raise NotFoundException("no such customer")
    refuse_nul(request)


def vendor_router() -> Router:
    return Router(
        path="/vendor",
        before_request=ids_in_range,
        route_handlers=[
            DashboardController,
            RepositoryController,
            CustomerController,
            TokenLimitsController,
            LicenseController,
            DownloadsController,
            ReportScheduleController,
            TeamController,
            TokenController,
            SettingsController,
        ],
        include_in_schema=False,
    )
