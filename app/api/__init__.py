"""The automation API, /api/v1: JSON for vendor CI pipelines and scripts (OpenAPI at /api/schema)."""

from __future__ import annotations

from typing import Any

from litestar import Router
from litestar.di import Provide
from sqlalchemy.ext.asyncio import AsyncEngine

from app.api.audit_log import AuditLogController
from app.api.common import EXCEPTION_HANDLERS, caller_provider, session_provider
from app.api.customers import CustomerController, PullTokenController
from app.api.licenses import LicenseController
from app.api.pulls import PullController
from app.api.repositories import RepositoryController
from app.api.tokens import TokenController
from app.api.usage import UsageController
from app.policy import WharfPolicy


def build_api_router(
    engine: AsyncEngine, policy: WharfPolicy, public_url: str, trusted_proxies: tuple[Any, ...] = ()
) -> Router:
    return Router(
        path="/",
        route_handlers=[
            CustomerController,
            PullTokenController,
            LicenseController,
            TokenController,
            RepositoryController,
            PullController,
            UsageController,
            AuditLogController,
        ],
        dependencies={
            "caller": Provide(caller_provider(policy, trusted_proxies)),
            "session": Provide(session_provider(engine)),
            "forget": Provide(lambda: policy.forget, sync_to_thread=False),
            "public_url": Provide(lambda: public_url, sync_to_thread=False),
            "engine": Provide(lambda: engine, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,  # type: ignore[arg-type]
    )
