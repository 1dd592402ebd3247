"""Friendly error pages for the portals; the registry and the APIs keep their JSON errors."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.exceptions.responses import create_exception_response
from litestar.response import Redirect, Template

from app.body_limits import BodyRefused
from app.services.errors import Conflict, Forbidden, Invalid, NotFound
from app.web.pages import DEFAULT_ACCENT, Brand
from app.web.users import SignInRequired

log = logging.getLogger(__name__)
# Paths machines call: JSON errors here, and (app/web) no browser session or CSRF.
MACHINE_PREFIXES = ("/v2", "/token", "/api", "/static", "/healthz", "/readyz", "/metrics")
MESSAGES = {
    400: ("That request was not understood", "Please go back and check what you entered."),
    403: ("You may not do that", "Your account does not allow this action."),
    404: ("Page not found", "There is nothing here, or you may not see it. Check the address, or go back home."),
    409: ("That cannot be done now", "Something changed meanwhile. Please go back, reload and try again."),
    405: ("Page not found", "There is nothing here. Check the address, or go back home."),
    413: ("That form is too large", "Please go back and shorten what you entered."),
    429: ("Too many requests", "Please wait a moment and try again."),
    500: ("Something went wrong on our side", "The error was logged. Please try again in a moment."),
}
# A service's refusal that a page did not handle itself (a stale link, another tenant's id).
SERVICE_STATUS: dict[type[Exception], int] = {NotFound: 404, Forbidden: 403, Invalid: 400, Conflict: 409}
CSRF_PROBLEM = ("This form has expired", "Reload the page and submit the form again (your browser must allow cookies).")


def error_page(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    path = request.url.path
    if path.startswith(MACHINE_PREFIXES):
        return create_exception_response(request, exc)
    if isinstance(exc, SignInRequired):
        return Redirect(f"/signin?next={quote(path, safe='/')}", status_code=303)
    status = exc.status_code if isinstance(exc, HTTPException) else SERVICE_STATUS.get(type(exc), 500)
    if status >= 500:
        log.error("error on %s %s", request.method, path, exc_info=exc)
    title, detail = MESSAGES.get(status, MESSAGES[400 if status < 500 else 500])
    if status == 403 and "csrf" in str(getattr(exc, "detail", "")).lower():
        title, detail = CSRF_PROBLEM
    if isinstance(exc, BodyRefused):
        detail = f"{exc.detail[0].upper()}{exc.detail[1:]}. {detail}"
    user = request.state.get("web_user")
    brands = request.app.state.web.brands
    brand = brands.get(user.vendor_id if user else None) or Brand("Wharf", None, DEFAULT_ACCENT, None)
    context = {"user": user, "brand": brand, "status": status, "title": title, "detail": detail, "flashes": []}
    return Template("web/error.html", context=context, status_code=status)
