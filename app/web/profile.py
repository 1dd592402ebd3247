"""Your account, in either portal: your name, your password, and confirming your email address."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.dependencies import Accounts, CurrentActor, SignedIn
from app.guards import PUBLIC, SIGNED_IN
from app.roles import Permission, permissions
from app.services.accounts import AccountService
from app.services.errors import Invalid, NotFound
from app.web.context import web
from app.web.pages import redirect_with, render
from app.web.sessions import sign_in
from app.web.users import WebUser

Form = URLEncodedBody[dict[str, str]]
Req = Request[Any, Any, Any]


async def _page(request: Req, user: WebUser, accounts: AccountService, status: int = 200, **extra: Any) -> Template:
    return await render(
        request,
        "web/profile.html",
        status=status,
        user=user,
        section="",
        mails=accounts.mails,
        can=lambda p: Permission(p) in permissions(user.role) if user.org_kind == "vendor" else False,
        **{"errors": {}, **extra},
    )


class ProfileController(Controller):
    path = "/account"
    include_in_schema = False

    @get("/", guards=[SIGNED_IN])
    async def show(self, request: Req, user: SignedIn, accounts: Accounts) -> Template:
        return await _page(request, user, accounts)

    @post("/name", status_code=200, guards=[SIGNED_IN])
    async def rename(
        self, request: Req, data: Form, user: SignedIn, actor: CurrentActor, accounts: Accounts
    ) -> Template | Redirect:
        try:
            await accounts.rename(actor, data.get("name") or "")
        except Invalid as exc:
            return await _page(request, user, accounts, 400, errors={"name": exc.message})
        return redirect_with(request, "/account", "Your name was saved.")

    @post("/password", status_code=200, guards=[SIGNED_IN])
    async def change_password(
        self, request: Req, data: Form, user: SignedIn, actor: CurrentActor, accounts: Accounts
    ) -> Template | Redirect:
        """Every other session of yours ends; this browser stays signed in under a new session."""
        try:
            await accounts.change_password(
                actor, data.get("current") or "", data.get("password") or "", data.get("password_again") or ""
            )
        except Invalid as exc:
            return await _page(request, user, accounts, 400, errors={exc.field: exc.message})
        await sign_in(request, user.id, user.org_id)
        return redirect_with(request, "/account", "Your password was changed; you were signed out everywhere else.")

    @post("/verification", status_code=303, guards=[SIGNED_IN])
    async def send_verification(self, request: Req, actor: CurrentActor, accounts: Accounts) -> Redirect:
        if await accounts.send_verification(actor):
            return redirect_with(request, "/account", "We mailed you a link to confirm your address.")
        return redirect_with(request, "/account", "No mail could be sent; ask your administrator.", "error")

    @get("/verify/{secret:str}", guards=[PUBLIC])
    async def verify(self, request: Req, secret: FromPath[str], accounts: Accounts) -> Redirect:
        try:
            user = await accounts.verify(secret, web(request).client_ip(request))
        except NotFound:
            message = "This confirmation link no longer works (links work once, for 7 days): ask for a new one here."
            return redirect_with(request, "/account", message, "error")
        return redirect_with(request, "/account", f"Thank you: {user.email} is confirmed.")
