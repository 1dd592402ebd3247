"""Signing in and out, and resetting a forgotten password: shared by both portals."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template

from app.dependencies import Accounts, Reader
from app.guards import PUBLIC
from app.services.accounts import Throttled, usable_reset
from app.services.errors import Invalid, NotFound
from app.web.context import web
from app.web.pages import render
from app.web.sessions import sign_in
from app.web.users import current_user

Req = Request[Any, Any, Any]
Form = URLEncodedBody[dict[str, str]]


NOTICES = {
    "signed_out": "You are signed out.",
    "password_changed": "Your password was changed. Sign in with the new one.",
}


def safe_next(target: str | None, default: str) -> str:
    """Only same-site paths: never `//evil.example` or an absolute URL."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return default


def _minutes(seconds: int) -> str:
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes > 1 else ''}"


class AccountController(Controller):
    include_in_schema = False

    @get("/signin", guards=[PUBLIC])
    async def signin_page(
        self, request: Req, next: FromQuery[str | None] = None, notice: FromQuery[str | None] = None
    ) -> Template | Redirect:
        user = await current_user(request)
        if user is not None:
            return Redirect(safe_next(next, user.home))
        notice_text = NOTICES.get(notice or "")
        return await render(request, "web/signin.html", next=next or "", email="", error=None, notice=notice_text)

    @post("/signin", status_code=200, guards=[PUBLIC])
    async def signin(self, request: Req, data: Form, accounts: Accounts) -> Template | Redirect:
        email, target = (data.get("email") or "").strip().lower(), data.get("next") or ""
        outcome = await accounts.sign_in(email, data.get("password") or "", web(request).client_ip(request))
        if outcome.wait_seconds:
            error = f"Too many failed sign-ins. Please wait {_minutes(outcome.wait_seconds)} and try again."
            return await render(request, "web/signin.html", status=429, next=target, email=email, error=error)
        if outcome.user_id is None or outcome.org_id is None:
            error = "That email and password do not match an account."
            return await render(request, "web/signin.html", status=400, next=target, email=email, error=error)
        await sign_in(request, outcome.user_id, outcome.org_id)
        return Redirect(safe_next(target, outcome.home), status_code=303)

    @post("/signout", status_code=303, guards=[PUBLIC])
    async def signout(self, request: Req) -> Redirect:
        request.clear_session()
        return Redirect("/signin?notice=signed_out", status_code=303)

    @get("/password/forgot", guards=[PUBLIC])
    async def forgot_page(self, request: Req, accounts: Accounts) -> Template:
        return await render(request, "web/forgot.html", sent=False, email="", error=None, mails=accounts.mails)

    @post("/password/forgot", status_code=200, guards=[PUBLIC])
    async def forgot(self, request: Req, data: Form, accounts: Accounts) -> Template:
        email = (data.get("email") or "").strip().lower()
        try:
            mail = await accounts.request_reset(email, web(request).client_ip(request))
        except Throttled as throttled:
            error = f"Too many reset requests. Please wait {_minutes(throttled.seconds)} and try again."
            return await render(
                request, "web/forgot.html", status=429, sent=False, email="", error=error, mails=accounts.mails
            )
        page = await render(request, "web/forgot.html", sent=True, email=email, error=None, mails=accounts.mails)
        if mail is not None:  # sent after the answer, so its timing does not tell whether the account exists
            page.background = BackgroundTask(accounts.send, mail)
        return page

    @get("/password/reset/{secret:str}", guards=[PUBLIC])
    async def reset_page(self, request: Req, secret: FromPath[str], reader: Reader) -> Template:
        reset = await usable_reset(reader, secret)
        return await render(
            request, "web/reset.html", status=200 if reset else 404, valid=reset is not None, error=None
        )

    @post("/password/reset/{secret:str}", status_code=200, guards=[PUBLIC])
    async def reset(self, request: Req, secret: FromPath[str], data: Form, accounts: Accounts) -> Template | Redirect:
        password, again = data.get("password") or "", data.get("password_again") or ""
        try:
            await accounts.reset_password(secret, password, again, web(request).client_ip(request))
        except NotFound:
            return await render(request, "web/reset.html", status=404, valid=False, error=None)
        except Invalid as exc:
            return await render(request, "web/reset.html", status=400, valid=True, error=exc.message)
        request.clear_session()
        return Redirect("/signin?notice=password_changed", status_code=303)
