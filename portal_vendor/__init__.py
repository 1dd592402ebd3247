"""The vendor portal, /vendor/…: server-rendered pages for the vendor's staff (Jinja2 + htmx)."""

from __future__ import annotations

from litestar import Router

from portal_vendor.customers import CustomerController
from portal_vendor.dashboard import DashboardController
from portal_vendor.downloads import DownloadsController
from portal_vendor.licenses import LicenseController
from portal_vendor.repositories import RepositoryController
from portal_vendor.settings import SettingsController
from portal_vendor.team import TeamController
from portal_vendor.tokens import TokenController


def vendor_router() -> Router:
    return Router(
        path="/vendor",
        route_handlers=[
            DashboardController,
            RepositoryController,
            CustomerController,
            LicenseController,
            DownloadsController,
            TeamController,
            TokenController,
            SettingsController,
        ],
        include_in_schema=False,
    )
