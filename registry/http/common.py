"""What every /v2 handler shares: the Registry services, the caller, events, errors, paging."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from registry.access import Authenticator, Caller
from registry.auth import Admission
from registry.errors import UNAVAILABLE_RETRY_SECONDS, RegistryError
from registry.events import EventSink, RegistryAction, RegistryEvent
from registry.metadata import Metadata
from registry.names import Route, parse_route
from registry.storage import BlobStore
from registry.uploads import Uploads

Req = Request[Any, Any, Any]
log = logging.getLogger(__name__)
# An unreachable database (or a connection to it failing): the answer is "retry", never a 500.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}
MAX_PAGE = 10_000


@dataclass
class Registry:
    """Everything the /v2 handlers need, built once by the application."""

    metadata: Metadata
    store: BlobStore
    uploads: Uploads
    auth: Authenticator
    events: EventSink
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()

    async def caller(self, request: Req, route: Route | None, action: str) -> Caller:
        """The authenticated caller, once the policy admits it from its address at this moment."""
        scope = f"repository:{route.name}:{action}" if route else None
        caller = await self.auth.caller(request.headers.get("authorization"), scope)
        admission = self.auth.policy.admit(caller.principal, client_ip(request, self.trusted_proxies))
        if not admission.allowed:
            if admission.status == 403 and route is not None:  # a runaway client's 429s are not recorded one by one
                reason = admission.reason
                self.emit(
                    request, caller, RegistryAction.DENIED, route.name, reference=route.ref, status=403, reason=reason
                )
            raise refusal(admission)
        return caller

    def emit(self, request: Req, caller: Caller, action: RegistryAction, repository: str, **fields: Any) -> None:
        self.events.emit(
            RegistryEvent(
                action=action,
                repository=repository,
                subject=caller.principal.subject,
                actor=caller.principal.identity,
                client_ip=client_ip(request, self.trusted_proxies),
                user_agent=request.headers.get("user-agent"),
                **fields,
            )
        )


def refusal(admission: Admission) -> RegistryError:
    """The OCI error for a refused admission: DENIED (403) or TOOMANYREQUESTS (429), with its headers."""
    code = "TOOMANYREQUESTS" if admission.status == 429 else "DENIED"
    return RegistryError(code, admission.reason, status=admission.status, headers=dict(admission.headers))


def client_ip(request: Req, trusted: tuple[IPv4Network | IPv6Network, ...]) -> str | None:
    """The peer's address, or, when the peer is a trusted proxy, the right-most X-Forwarded-For hop
    that is not itself a trusted proxy. Untrusted peers cannot choose the address recorded."""
    peer = request.client.host if request.client else None
    hops = [h.strip() for h in ",".join(request.headers.getall("x-forwarded-for", [])).split(",") if h.strip()]
    address = peer
    while address is not None and _trusted(address, trusted) and hops:
        address = hops.pop()
    return address


def _trusted(address: str, trusted: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        ip = ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def route_of(rest: str) -> Route:
    route = parse_route(rest)
    if route is None:
        raise RegistryError("NAME_UNKNOWN", "no such registry endpoint")
    return route


def page_size(request: Req) -> int | None:
    raw = request.query_params.get("n")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", f"n must be a non-negative integer, not {raw!r}")
    return min(int(raw), MAX_PAGE)


def empty(status: int, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(content=b"", status_code=status, headers={**API_VERSION, "Content-Length": "0", **(headers or {})})


def registry_error_response(request: Req, exc: Exception) -> Response[Any]:
    """Answer errors, including the framework's own 404/405/413, in the OCI JSON form."""
    if isinstance(exc, RegistryError):
        error = exc
    elif isinstance(exc, HTTPException) and exc.status_code == 404:
        error = RegistryError("NAME_UNKNOWN", "no such registry endpoint")
    elif isinstance(exc, HTTPException) and exc.status_code == 405:
        error = RegistryError("UNSUPPORTED", "method not allowed")
    elif isinstance(exc, HTTPException) and exc.status_code == 413:
        error = RegistryError("SIZE_INVALID", "request body too large", status=413)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        error = RegistryError("UNSUPPORTED", str(exc.detail), status=exc.status_code)
    elif isinstance(exc, UNAVAILABLE):
        log.warning("%s %s: database unreachable (%s)", request.method, request.url.path, type(exc).__name__)
        message = "the registry cannot reach its database; retry shortly"
        error = RegistryError("UNAVAILABLE", message, headers={"Retry-After": UNAVAILABLE_RETRY_SECONDS})
    else:
        raise exc
    headers = {**API_VERSION, **error.headers}
    if request.method == "HEAD":
        return Response(content=b"", status_code=error.status, headers=headers)
    return Response(content=error.body(), status_code=error.status, headers=headers, media_type="application/json")
