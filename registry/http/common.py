"""What every /v2 handler shares: the Registry services, the caller, events, errors, paging."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from ipaddress import IPv4Network, IPv6Network, ip_address
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from registry.access import Authenticator, Caller
from registry.auth import Admission
from registry.errors import UNAVAILABLE_RETRY_SECONDS, ClientGone, RegistryError
from registry.events import MAX_USER_AGENT, EventSink, RegistryAction, RegistryEvent
from registry.metadata import Metadata
from registry.names import Route, parse_route
from registry.pull_groups import PullGroups
from registry.storage import BlobStore
from registry.uploads import Uploads

Req = Request[Any, Any, Any]
log = logging.getLogger(__name__)
# An unreachable database (or a connection to it failing): the answer is "retry", never a 500.
UNAVAILABLE = (OperationalError, InterfaceError, PoolTimeout, ConnectionError, TimeoutError)
API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}
MAX_PAGE = 10_000
_PRINTABLE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")


@dataclass
class Registry:
    """Everything the /v2 handlers need, built once by the application."""

    metadata: Metadata
    store: BlobStore
    uploads: Uploads
    auth: Authenticator
    events: EventSink
    trusted_proxies: tuple[IPv4Network | IPv6Network, ...] = ()
    pull_groups: PullGroups = field(default_factory=PullGroups)

    async def caller(self, request: Req, route: Route | None, action: str) -> Caller:
        """The authenticated caller, once the policy admits it from its address at this moment."""
        scope = f"repository:{route.name}:{action}" if route else None
        caller = await self.auth.caller(request.headers.get("authorization"), scope)
        admission = self.auth.policy.admit(caller.principal, client_ip(request, self.trusted_proxies))
        if not admission.allowed:
            if admission.status == 403 and route is not None:  # a runaway client's 429s are not recorded one by one
                self.emit(
                    request,
                    caller,
                    RegistryAction.DENIED,
                    route.name,
                    reference=route.ref,
                    status=403,
                    reason=admission.reason,
                    reason_code=admission.code,
                )
            raise refusal(admission)
        return caller

    async def require(self, request: Req, caller: Caller, route: Route, action: str) -> None:
        """The Authenticator's check for a write (push or delete), recording a refusal (403) as a denied event."""
        try:
            await self.auth.require(caller, route.name, action)
        except RegistryError as exc:
            if exc.code == "DENIED":
                code = f"no_{action}_permission"
                self.emit(
                    request,
                    caller,
                    RegistryAction.DENIED,
                    route.name,
                    reference=route.ref,
                    status=403,
                    reason=exc.message,
                    reason_code=code,
                )
            raise

    def emit(self, request: Req, caller: Caller, action: RegistryAction, repository: str, **fields: Any) -> None:
        self.events.emit(
            RegistryEvent(
                action=action,
                repository=repository,
                subject=caller.principal.subject,
                actor=caller.principal.identity,
                client_ip=client_ip(request, self.trusted_proxies),
                user_agent=(request.headers.get("user-agent") or "")[:MAX_USER_AGENT] or None,
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
    if not trusted:  # the common case costs no header look-up and no address parsing
        return peer
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


def header_text(text: str) -> str:
    """Text for a quoted header value (a license name in a Warning): printable ASCII as it is, `"` and `\\`
    backslash-escaped; anything else (non-ASCII, CR, LF and other controls, and `%` itself) percent-encoded
    as UTF-8. Latin-1 cannot carry most names, and a line break would end the header."""
    return quote(text, safe=_PRINTABLE).replace("\\", "\\\\").replace('"', '\\"')


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


async def body_chunks(request: Req) -> AsyncIterator[bytes]:
    """A request body as it arrives, raising ClientGone if the client leaves first (Litestar's own stream
    calls that a server error). For uploads: an unbounded stream, written to storage as it comes."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            raise ClientGone()
        body: bytes = message.get("body", b"")  # type: ignore[assignment]
        if body:
            yield body
        if not message.get("more_body", False):
            return


def registry_error_response(request: Req, exc: Exception) -> Response[Any]:
    """Answer errors, including the framework's own 404/405/413, in the OCI JSON form."""
    if isinstance(exc, ClientGone):  # an interrupted push: the client resumes the upload, if it comes back
        log.info(
            "%s %s: the client went away mid-body; the upload keeps what was stored", request.method, request.url.path
        )
    if isinstance(exc, RegistryError):
        error = exc
    elif isinstance(exc, HTTPException) and exc.status_code == 404:
        error = RegistryError("NAME_UNKNOWN", "no such registry endpoint")
    elif isinstance(exc, HTTPException) and exc.status_code == 405:
        error = RegistryError("UNSUPPORTED", "method not allowed")
    elif isinstance(exc, HTTPException) and exc.status_code == 413:
        error = RegistryError("SIZE_INVALID", str(exc.detail or "request body too large"), status=413)
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
