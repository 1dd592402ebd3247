"""What every /api/v1 handler shares: errors in one JSON shape, paging, and integers a column can hold."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response
from litestar.exceptions import NotFoundException, ValidationException
from litestar.params import Parameter

from app.services.errors import Conflict, Forbidden, Invalid, NotFound, ServiceError
from app.times import BadMoment, Edge, parse_moment
from registry.errors import UNAVAILABLE_RETRY_SECONDS
from registry.http.common import UNAVAILABLE

MAX_LIMIT = 200
MAX_ID = 2**31 - 1  # the largest id any table holds (int4 on PostgreSQL)
# An id in a body or query: larger values could not name anything, and would break a database query.
DbId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
QueryId = Annotated[int | None, Parameter(ge=0, le=MAX_ID)]  # an optional id or cursor in the query string
Limit = Annotated[int, Parameter(ge=1)]  # more than MAX_LIMIT is served as MAX_LIMIT

log = logging.getLogger(__name__)


def page(items: list[dict[str, Any]], limit: int) -> dict[str, Any]:
    return {"items": items, "next_after": items[-1]["id"] if len(items) == limit and items else None}


def clamp(limit: int) -> int:
    return min(limit, MAX_LIMIT)


def moment(field: str, text: str | None, edge: Edge) -> datetime | None:
    """A date or a date and time from a request: a date that ends something means the end of that UTC day."""
    try:
        return parse_moment(text, edge)
    except BadMoment as exc:
        raise Invalid(field, str(exc)) from None


async def ids_in_range(request: Request[Any, Any, Any]) -> None:
    """A path id no column can hold names nothing: 404, as for any id that does not exist. Text with a NUL
    character is refused (400): PostgreSQL cannot compare text holding one, so a query naming it failed (500)."""
    if any(isinstance(v, int) and not 0 <= v <= MAX_ID for v in request.path_params.values()):
        raise NotFoundException("no such object")
    refuse_nul(request)


def refuse_nul(request: Request[Any, Any, Any]) -> None:
    """400 for a path or query parameter (name or value) holding a NUL character."""
    texts = [v for v in request.path_params.values() if isinstance(v, str)]
    texts.extend(text for pair in request.query_params.multi_items() for text in pair)
    if any("\x00" in text for text in texts):
        raise ValidationException("a path or query parameter cannot contain a NUL character (%00)")


def _error(status: int, exc: ServiceError, fields: dict[str, str] | None = None) -> Response[Any]:
    body: dict[str, Any] = {"status_code": status, "detail": exc.message}
    if fields:
        body["extra"] = [{"key": key, "message": message} for key, message in fields.items()]
    return Response(body, status_code=status)


def service_error(_request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, Invalid):
        return _error(400, exc, exc.fields)
    if isinstance(exc, Conflict):
        return _error(409, exc, {exc.field: exc.message})
    if isinstance(exc, Forbidden):
        return _error(403, exc)
    assert isinstance(exc, NotFound)
    return _error(404, exc)


def unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("%s %s: database unreachable (%s)", request.method, request.url.path, type(exc).__name__)
    body = {"status_code": 503, "detail": "Wharf cannot reach its database; retry shortly"}
    return Response(body, status_code=503, headers={"Retry-After": UNAVAILABLE_RETRY_SECONDS})


EXCEPTION_HANDLERS = {ServiceError: service_error, **dict.fromkeys(UNAVAILABLE, unavailable)}
