"""Accepting an invitation: the link from the invite opens a page to choose a name and a password."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.params import FromPath, URLEncodedBody
from litestar.response import Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import services
from app.identity import hash_password, hash_secret
from app.models import Invitation, Membership, Organization, User
from app.web.context import web
from app.web.pages import render
from registry.sql import WRITE

PROBLEMS = {
    "unknown": ("This invitation link is not valid", "Check that you copied the whole link, or ask for a new one."),
    "used": ("This invitation was already accepted", "Sign in with the account you created."),
    "expired": ("This invitation has expired", "Ask the person who invited you to send a new one."),
}


def invitation_controller(engine: AsyncEngine) -> type[Controller]:
    writer = engine.execution_options(**WRITE)

    async def find(session: AsyncSession, secret: str) -> tuple[Invitation | None, Organization | None, str | None]:
        invitation = await session.scalar(select(Invitation).where(Invitation.secret_hash == hash_secret(secret)))
        if invitation is None:
            return None, None, "unknown"
        organization = await session.get(Organization, invitation.organization_id)
        if invitation.accepted_at is not None:
            return invitation, organization, "used"
        expires = invitation.expires_at.replace(tzinfo=invitation.expires_at.tzinfo or UTC)
        if expires <= datetime.now(UTC):
            return invitation, organization, "expired"
        return invitation, organization, None

    async def page(
        request: Request[Any, Any, Any],
        invitation: Invitation | None,
        organization: Organization | None,
        problem: str | None,
        status: int = 200,
        **context: Any,
    ) -> Template:
        title, detail = PROBLEMS[problem] if problem else ("", "")
        return await render(
            request,
            "customer/invitation.html",
            status=status,
            vendor_id=(organization.vendor_id or organization.id) if organization else None,
            **{
                "problem": {"title": title, "detail": detail} if problem else None,
                "organization": organization.name if organization else "Wharf",
                "email": invitation.email if invitation else "",
                "role": invitation.role if invitation else "",
                "errors": {},
                **context,
            },
        )

    class InvitationController(Controller):
        path = "/portal/invitations"
        include_in_schema = False

        @get("/{secret:str}")
        async def show(self, request: Request[Any, Any, Any], secret: FromPath[str]) -> Template:
            async with AsyncSession(engine) as session:
                invitation, organization, problem = await find(session, secret)
                return await page(request, invitation, organization, problem, 404 if problem == "unknown" else 200)

        @post("/{secret:str}", status_code=200)
        async def accept(
            self, request: Request[Any, Any, Any], secret: FromPath[str], data: URLEncodedBody[dict[str, str]]
        ) -> Template:
            async with AsyncSession(writer, expire_on_commit=False) as session:
                invitation, organization, problem = await find(session, secret)
                if problem or invitation is None:
                    return await page(request, invitation, organization, problem, 404 if problem == "unknown" else 409)
                name, password = (data.get("name") or "").strip(), data.get("password") or ""
                errors = {}
                if not name:
                    errors["name"] = "Please tell us your name."
                if len(password) < 8:
                    errors["password"] = "Use at least 8 characters."
                if await session.scalar(select(User.id).where(User.email == invitation.email)):
                    errors["name"] = "An account with this email already exists; sign in with it instead."
                if errors:
                    return await page(request, invitation, organization, None, 400, errors=errors, name=name)
                user = User(email=invitation.email, name=name[:200], password_hash=hash_password(password))
                session.add(user)
                await session.flush()
                session.add(
                    Membership(user_id=user.id, organization_id=invitation.organization_id, role=invitation.role)
                )
                invitation.accepted_at = datetime.now(UTC)
                if organization is not None:
                    services.record_change(
                        session,
                        vendor_id=organization.vendor_id or organization.id,
                        actor=f"user:{user.id} ({user.email})",
                        client_ip=web(request).client_ip(request),
                        action="invitation.accept",
                        object_type="invitation",
                        object_id=invitation.id,
                        after={"user_id": user.id, "organization_id": organization.id, "role": invitation.role},
                    )
                await session.commit()
                return await page(request, invitation, organization, None, accepted=True, name=name)

    return InvitationController
