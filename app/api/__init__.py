"""The automation API, /api/v1: JSON for vendor CI pipelines and scripts (OpenAPI at /api/schema)."""

from __future__ import annotations

from litestar import Router
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.audit_log import AuditLogController
from app.api.common import EXCEPTION_HANDLERS, ids_in_range
from app.api.customers import CustomerController, PullTokenController
from app.api.exports import ExportController
from app.api.licenses import LicenseController
from app.api.pulls import ActivityController, PullController
from app.api.report_schedules import ReportScheduleController
from app.api.repositories import RepositoryController
from app.api.tokens import TokenController
from app.api.usage import UsageController


def build_api_router(engine: AsyncEngine) -> Router:
    return Router(
        path="/",
        route_handlers=[
            CustomerController,
            PullTokenController,
            LicenseController,
            TokenController,
            RepositoryController,
            PullController,
            ActivityController,
            ExportController,
            UsageController,
            ReportScheduleController,
            AuditLogController,
        ],
        before_request=ids_in_range,
        # exports stream past the request's own session, each on a connection of its own
        dependencies={"engine": Provide(lambda: engine, sync_to_thread=False, use_cache=True)},
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
