"""What every /api/v1 handler shares: the calling API token, a database session, errors, paging."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network
from typing import Any

from litestar import Request, Response
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import services
from app.policy import WharfPolicy
from app.roles import Permission, permissions
from app.services import Invalid, NotFound
from registry.errors import UNAVAILABLE_RETRY_SECONDS
from registry.http.common import UNAVAILABLE, client_ip
from registry.sql import WRITE

MAX_LIMIT = 200


log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ApiCaller:
    token_id: int
    vendor_id: int
    vendor_slug: str
    role: str
    label: str  # how the admin audit log names the actor
    client_ip: str | None

    def record(
        self,
        session: AsyncSession,
        action: str,
        object_type: str,
        object_id: object,
        before: Any = None,
        after: Any = None,
    ) -> None:
        services.record_change(
            session,
            vendor_id=self.vendor_id,
            actor=self.label,
            client_ip=self.client_ip,
            action=action,
            object_type=object_type,
            object_id=object_id,
            before=before,
            after=after,
        )

    def require(self, permission: Permission) -> None:
        if permission not in permissions(self.role):
            raise PermissionDeniedException(f"the token's role '{self.role}' does not allow {permission.value}")


Caller = NamedDependency[ApiCaller]
Session = NamedDependency[AsyncSession]
Forget = NamedDependency[Callable[[], None]]  # drop the policy's caches after a write
PublicUrl = NamedDependency[str]
Engine = NamedDependency[AsyncEngine]  # for streams that outlive the request's session


def caller_provider(policy: WharfPolicy, trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()) -> Any:
    async def provide_caller(request: Request[Any, Any, Any]) -> ApiCaller:
        scheme, _, secret = (request.headers.get("authorization") or "").partition(" ")
        principal = await policy.authenticate(secret.strip()) if scheme.lower() == "bearer" and secret else None
        if principal is None:
            raise NotAuthorizedException("an API token is required: Authorization: Bearer wharf_api_…")
        attrs = principal.attributes
        if attrs["org_kind"] != "vendor" or attrs["token_kind"] != "api":
            raise PermissionDeniedException("only vendor API tokens may use the automation API")
        label = f"token:{attrs['token_id']} ({principal.display_name})"
        return ApiCaller(
            int(attrs["token_id"]),
            int(attrs["vendor_id"]),
            attrs["vendor_slug"],
            attrs["role"],
            label,
            client_ip(request, trusted_proxies),
        )

    return provide_caller


def session_provider(engine: AsyncEngine) -> Any:
    writer = engine.execution_options(**WRITE)

    async def provide_session() -> AsyncIterator[AsyncSession]:
        async with AsyncSession(writer, expire_on_commit=False) as session:
            yield session

    return provide_session


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit and items else None}


def clamp(limit: int) -> int:
    if limit < 1:
        raise Invalid("limit", "limit must be at least 1")
    return min(limit, MAX_LIMIT)


def not_found(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    return Response({"status_code": 404, "detail": str(exc)}, status_code=404)


def invalid(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    assert isinstance(exc, Invalid)
    body = {"status_code": 400, "detail": exc.message, "extra": [{"key": exc.field, "message": exc.message}]}
    return Response(body, status_code=400)


def unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("%s %s: database unreachable (%s)", request.method, request.url.path, type(exc).__name__)
    body = {"status_code": 503, "detail": "Wharf cannot reach its database; retry shortly"}
    return Response(body, status_code=503, headers={"Retry-After": UNAVAILABLE_RETRY_SECONDS})


EXCEPTION_HANDLERS = {NotFound: not_found, Invalid: invalid, **dict.fromkeys(UNAVAILABLE, unavailable)}
