"""The front door and the first run.

`/` sends people to their portal, or to sign in. On a fresh instance (no vendor yet) the server prints a
one-time setup link at start; its page creates the first vendor and its admin, as `wharf bootstrap` does,
and closes for good once a vendor exists. The link's secret is derived from the instance's signing key,
so every node prints and accepts the same link and nobody without it can claim the instance.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Redirect, Template

from app.dependencies import Accounts, Reader
from app.guards import PUBLIC
from app.identity import Channel
from app.services.accounts import vendor_exists
from app.services.errors import Conflict, Invalid
from app.web.context import web
from app.web.pages import flash, render
from app.web.sessions import sign_in
from app.web.users import current_user

Form = URLEncodedBody[dict[str, str]]
Req = Request[Any, Any, Any]


def setup_secret(signing_key_pem: str) -> str:
    return hmac.new(signing_key_pem.encode(), b"wharf first-run setup", hashlib.sha256).hexdigest()[:32]


def _check(request: Req, secret: str) -> None:
    expected = web(request).setup_secret
    if not expected or not hmac.compare_digest(secret, expected):
        raise NotFoundException("no such page")


class SetupController(Controller):
    include_in_schema = False

    @get("/", guards=[PUBLIC])
    async def home(self, request: Req, reader: Reader) -> Template | Redirect:
        user = await current_user(request)
        if user is not None:
            return Redirect(user.home)
        if await vendor_exists(reader):
            return Redirect("/signin")
        return await render(request, "web/setup.html", form=None, errors={})

    @get("/setup/{secret:str}", guards=[PUBLIC])
    async def form(self, request: Req, secret: FromPath[str], reader: Reader) -> Template | Redirect:
        _check(request, secret)
        if await vendor_exists(reader):
            raise NotFoundException("no such page")
        return await render(
            request, "web/setup.html", form={"vendor_name": "", "slug": "", "person_name": "", "email": ""}, errors={}
        )

    @post("/setup/{secret:str}", status_code=200, guards=[PUBLIC])
    async def create(self, request: Req, secret: FromPath[str], data: Form, accounts: Accounts) -> Template | Redirect:
        _check(request, secret)
        form = {key: (data.get(key) or "").strip() for key in ("vendor_name", "slug", "person_name", "email")}
        try:
            created = await accounts.create_vendor(
                form["slug"],
                form["email"],
                data.get("password") or "",
                via=Channel.PORTAL,
                only_if_first=True,
                address=web(request).client_ip(request),
                vendor_name=form["vendor_name"],
                person_name=form["person_name"],
                with_token=False,  # the browser never shows a secret it did not ask for: the Tokens page makes them
            )
        except Conflict as exc:
            if exc.field == "slug" and "already set up" in exc.message:
                raise NotFoundException("no such page") from None
            return await render(request, "web/setup.html", status=400, form=form, errors={exc.field: exc.message})
        except Invalid as exc:
            return await render(request, "web/setup.html", status=400, form=form, errors={exc.field: exc.message})
        await sign_in(request, created.user_id, created.vendor_id)
        slug = form["slug"]
        flash(request, f"Welcome! To push releases under {slug}/…, create a push or API token on the Tokens page.")
        return Redirect("/vendor/", status_code=303)
