"""Accepting an invitation: the link opens a page to choose a name and a password; accepting signs the
new person in. An account made from a link that was shown rather than mailed starts unconfirmed."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath
from litestar.response import Redirect, Template

from app.dependencies import Invitations, Reader
from app.guards import PUBLIC
from app.services.errors import Conflict, Invalid
from app.services.invitations import InvitationProblem, InvitationView, lookup, view_of
from app.web.context import web
from app.web.pages import flash, render
from app.web.sessions import sign_in
from portal_customer.common import Form, Req

PROBLEMS = {
    "unknown": ("This invitation link is not valid", "Check that you copied the whole link, or ask for a new one."),
    "replaced": (
        "This invitation link was replaced by a newer invitation",
        "Use the link in the newest invitation message, or ask the person who invited you to send it again.",
    ),
    "used": ("This invitation was already accepted", "Sign in with the account you created."),
    "revoked": ("This invitation was withdrawn", "Ask the person who invited you to send a new one."),
    "expired": ("This invitation has expired", "Ask the person who invited you to send a new one."),
}


async def _page(
    request: Req, view: InvitationView | None, problem: str | None, status: int = 200, **context: Any
) -> Template:
    title, detail = PROBLEMS[problem] if problem else ("", "")
    return await render(
        request,
        "customer/invitation.html",
        status=status,
        vendor_id=view.vendor_id if view else None,
        **{
            "problem": {"title": title, "detail": detail} if problem else None,
            "organization": view.organization if view else "Wharf",
            "email": view.email if view else "",
            "role": view.role if view else "",
            "errors": {},
            **context,
        },
    )


async def _problem_page(request: Req, problem: InvitationProblem, method: str) -> Template:
    status = 404 if problem.kind == "unknown" else (409 if method == "POST" else 200)
    return await _page(request, problem.view, problem.kind, status)


class InvitationController(Controller):
    path = "/portal/invitations"
    include_in_schema = False

    @get("/{secret:str}", guards=[PUBLIC])
    async def show(self, request: Req, secret: FromPath[str], reader: Reader) -> Template:
        try:
            invitation, organization = await lookup(reader, secret)
        except InvitationProblem as problem:
            return await _problem_page(request, problem, "GET")
        return await _page(request, view_of(invitation, organization), None)

    @post("/{secret:str}", status_code=200, guards=[PUBLIC])
    async def accept(
        self, request: Req, secret: FromPath[str], data: Form, invitations: Invitations, reader: Reader
    ) -> Template | Redirect:
        name, password = data.get("name") or "", data.get("password") or ""
        try:
            accepted = await invitations.accept(secret, name, password, web(request).client_ip(request))
        except InvitationProblem as problem:
            return await _problem_page(request, problem, "POST")
        except (Invalid, Conflict) as exc:
            try:
                view = view_of(*await lookup(reader, secret))
            except InvitationProblem as problem:
                return await _problem_page(request, problem, "POST")
            field = "name" if exc.field == "email" else exc.field
            return await _page(request, view, None, 400, errors={field: exc.message}, name=name)
        await sign_in(request, accepted.user.id, accepted.organization.id)
        flash(request, f"Welcome, {accepted.user.name}: you joined {accepted.organization.name}.")
        if not accepted.verified:
            flash(
                request,
                "Please confirm your email address with the link we mailed you: until then your account "
                "cannot join another organization."
                if accepted.verification_mailed
                else "Your email address is not confirmed yet (this server could not mail you a link): see "
                "your account page.",
                "warning",
            )
        return Redirect("/vendor/" if accepted.organization.kind == "vendor" else "/portal/", status_code=303)
