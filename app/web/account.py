"""Signing in and out, and resetting a forgotten password: shared by both portals."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, FromQuery, URLEncodedBody
from litestar.response import Redirect, Template
from sqlalchemy import select

from app.dependencies import Accounts, Reader
from app.guards import PUBLIC
from app.models import User
from app.passwords import DUMMY_HASH, verify_password
from app.services.accounts import usable_reset
from app.services.errors import Invalid, NotFound
from app.web.context import web
from app.web.pages import render
from app.web.sessions import sign_in
from app.web.users import current_user, load_user

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


async def _check_password(password: str, stored: str | None) -> bool:
    return await anyio.to_thread.run_sync(verify_password, password, stored or DUMMY_HASH)


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
    async def signin(self, request: Req, data: Form) -> Template | Redirect:
        context = web(request)
        email, password = (data.get("email") or "").strip().lower(), data.get("password") or ""
        target, ip = data.get("next") or "", context.client_ip(request)
        wait = await context.throttle.wait_seconds(context.engine, email, ip)
        if wait:
            error = f"Too many failed sign-ins. Please wait {_minutes(wait)} and try again."
            return await render(request, "web/signin.html", status=429, next=target, email=email, error=error)
        async with context.engine.connect() as conn:
            row = (await conn.execute(select(User.id, User.password_hash).where(User.email == email))).first()
        ok = await _check_password(password, row.password_hash if row else None) and row is not None
        user = await load_user(context.engine, row.id, None) if ok and row is not None else None
        if user is None:
            await context.throttle.failed(context.engine, email, ip)
            error = "That email and password do not match an account."
            return await render(request, "web/signin.html", status=400, next=target, email=email, error=error)
        await context.throttle.succeeded(context.engine, email, ip)
        await sign_in(request, user.id, user.org_id)
        return Redirect(safe_next(target, user.home), status_code=303)

    @post("/signout", status_code=303, guards=[PUBLIC])
    async def signout(self, request: Req) -> Redirect:
        request.clear_session()
        return Redirect("/signin?notice=signed_out", status_code=303)

    @get("/password/forgot", guards=[PUBLIC])
    async def forgot_page(self, request: Req) -> Template:
        return await render(request, "web/forgot.html", sent=False, email="", error=None)

    @post("/password/forgot", status_code=200, guards=[PUBLIC])
    async def forgot(self, request: Req, data: Form, accounts: Accounts) -> Template:
        context = web(request)
        email, ip = (data.get("email") or "").strip().lower(), context.client_ip(request)
        # counted by the address typed, so the answer is the same whether an account has it
        wait = await context.throttle.reset_wait_seconds(context.engine, email, ip)
        if wait:
            error = f"Too many reset requests. Please wait {_minutes(wait)} and try again."
            return await render(request, "web/forgot.html", status=429, sent=False, email="", error=error)
        await context.throttle.reset_requested(context.engine, email, ip)
        mail = await accounts.request_reset(email)
        page = await render(request, "web/forgot.html", sent=True, email=email, error=None)
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
