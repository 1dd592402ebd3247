"""Customers: search and list, create, and one customer's licenses, users, invitations, pull tokens and pulls."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import services
from app.downloads import PullFilters, newest_first, pull_events
from app.models import DownloadEvent, Invitation, License, Membership, Organization, Token, User
from app.roles import Permission
from app.web.context import web
from app.web.pages import redirect_with
from app.web.users import WebUser
from portal_vendor import invitations
from portal_vendor.common import (
    PAGE_SIZE,
    Form,
    Pager,
    Req,
    confirm,
    forget_cached_access,
    not_found,
    page,
    page_number,
    parse_day,
    reading,
    record,
    staff,
)


async def _customer(session: AsyncSession, user: WebUser, customer_id: int) -> Organization:
    try:
        return await services.customer(session, user.vendor_id, customer_id)
    except services.NotFound:
        raise not_found("customer") from None


class CustomerController(Controller):
    path = "/customers"
    include_in_schema = False

    @get("/")
    async def list_(self, request: Req, q: FromQuery[str] = "") -> Template:
        user = await staff(request)
        number, q = page_number(request.query_params.get("page")), q.strip()
        licenses = select(func.count()).where(License.customer_id == Organization.id).scalar_subquery()
        stmt = (
            select(Organization.id, Organization.name, Organization.slug, Organization.created_at)
            .add_columns(licenses.label("licenses"))
            .where(Organization.kind == "customer", Organization.vendor_id == user.vendor_id)
            .order_by(func.lower(Organization.name), Organization.id)
            .offset((number - 1) * PAGE_SIZE)
            .limit(PAGE_SIZE + 1)
        )
        if q:
            pattern = f"%{q.lower()}%"
            stmt = stmt.where(func.lower(Organization.name).like(pattern) | Organization.slug.like(pattern))
        async with reading(request) as session:
            rows = (await session.execute(stmt)).all()
        pager = Pager(number, len(rows) > PAGE_SIZE, "/vendor/customers", {"q": q})
        return await page(
            request,
            "vendor/customers.html",
            user,
            section="customers",
            block="results",
            customers=rows[:PAGE_SIZE],
            q=q,
            pager=pager,
        )

    @get("/new")
    async def new(self, request: Req) -> Template:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        return await page(request, "vendor/customer_new.html", user, section="customers", name="", errors={})

    @post("/", status_code=200)
    async def create(self, request: Req, data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        name = (data.get("name") or "").strip()
        async with web(request).session() as session:
            try:
                org = await services.create_customer(session, user.vendor_id, name)
            except services.Invalid as exc:
                errors = {exc.field: "Give the customer a name."}
                return await page(
                    request, "vendor/customer_new.html", user, section="customers", status=400, name=name, errors=errors
                )
            record(
                session,
                request,
                user,
                "customer.create",
                "customer",
                org.id,
                after={"name": org.name, "slug": org.slug},
            )
            await session.commit()
        return redirect_with(request, f"/vendor/customers/{org.id}", f"Customer {org.name} created.")

    @get("/{customer_id:int}")
    async def detail(self, request: Req, customer_id: FromPath[int]) -> Template:
        user = await staff(request)
        return await self._detail(request, user, customer_id)

    async def _detail(
        self, request: Req, user: WebUser, customer_id: int, status: int = 200, **extra: object
    ) -> Template:
        async with reading(request) as session:
            org = await _customer(session, user, customer_id)
            licenses = (
                await session.scalars(select(License).where(License.customer_id == org.id).order_by(License.id))
            ).all()
            grants = await services.grants_of(session, [lic.id for lic in licenses])
            users = (
                await session.execute(
                    select(User.id, User.email, User.name, Membership.role, Membership.created_at)
                    .join(Membership, Membership.user_id == User.id)
                    .where(Membership.organization_id == org.id)
                    .order_by(User.email)
                )
            ).all()
            pending = (
                await session.scalars(
                    select(Invitation)
                    .where(Invitation.organization_id == org.id, Invitation.accepted_at.is_(None))
                    .order_by(Invitation.id.desc())
                )
            ).all()
            tokens = (
                await session.scalars(
                    select(Token)
                    .where(Token.organization_id == org.id)
                    .order_by(Token.revoked_at.is_not(None), Token.id.desc())
                )
            ).all()
            pulls_and_denials = pull_events(user.vendor_id, PullFilters(customer_id=org.id)).where(
                DownloadEvent.action.in_(("manifest.get", "denied"))
            )
            pulls = (await session.execute(newest_first(pulls_and_denials, None, 20))).all()
        return await page(
            request,
            "vendor/customer.html",
            user,
            section="customers",
            status=status,
            customer=org,
            licenses=licenses,
            grants=grants,
            users=users,
            invitations=pending,
            tokens=tokens,
            pulls=pulls,
            now=services.utcnow(),
            aware=services.aware,
            **{"errors": {}, "invite_email": "", "token_name": "", **extra},
        )

    @post("/{customer_id:int}/name", status_code=200)
    async def rename(self, request: Req, customer_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        name = (data.get("name") or "").strip()
        if not name:
            return await self._detail(request, user, customer_id, 400, errors={"name": "A customer needs a name."})
        async with web(request).session() as session:
            org = await _customer(session, user, customer_id)
            before = {"name": org.name}
            org.name = name[:200]
            record(
                session, request, user, "customer.update", "customer", org.id, before=before, after={"name": org.name}
            )
            await session.commit()
        return redirect_with(request, f"/vendor/customers/{customer_id}", "Name saved.")

    @post("/{customer_id:int}/invitations", status_code=200)
    async def invite(self, request: Req, customer_id: FromPath[int], data: Form) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        email, role = (data.get("email") or "").strip(), data.get("role") or "member"
        if role not in ("admin", "member"):
            return await self._detail(
                request, user, customer_id, 400, errors={"role": "Choose admin or member."}, invite_email=email
            )
        async with web(request).session() as session:
            org = await _customer(session, user, customer_id)
            try:
                invitation, secret = await services.invite(session, org.id, email, role)
            except services.Invalid:
                errors = {"email": "Enter an email address like name@example.com."}
                return await self._detail(request, user, customer_id, 400, errors=errors, invite_email=email)
            after = {"customer_id": org.id, "email": invitation.email, "role": invitation.role}
            record(session, request, user, "invitation.create", "invitation", invitation.id, after=after)
            await session.commit()
        message, category = await invitations.send(request, invitation.email, org.name, secret)
        return redirect_with(request, f"/vendor/customers/{customer_id}", message, category)

    @post("/{customer_id:int}/pull-tokens", status_code=200)
    async def create_token(self, request: Req, customer_id: FromPath[int], data: Form) -> Template:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        name, errors = (data.get("name") or "").strip(), dict[str, str]()
        expires = parse_day(data.get("expires") or "", "expires", errors, end_of_day=True)
        async with web(request).session() as session:
            org = await _customer(session, user, customer_id)
            if not errors:
                try:
                    token, secret = await services.issue_token(
                        session,
                        kind="pull",
                        name=name,
                        organization_id=org.id,
                        role="pull",
                        expires_at=expires,
                        created_by=user.id,
                    )
                except services.Invalid as exc:
                    errors["token_name" if exc.field == "name" else "expires"] = (
                        "Give the token a name, e.g. the cluster it is for."
                        if exc.field == "name"
                        else "Choose a day in the future."
                    )
            if errors:
                return await self._detail(request, user, customer_id, 400, errors=errors, token_name=name)
            after = {"customer_id": org.id, "name": token.name, "expires_at": token.expires_at}
            record(session, request, user, "pull_token.create", "token", token.id, after=after)
            await session.commit()
        return await self._detail(request, user, customer_id, new_token={"name": token.name, "secret": secret})

    @post("/{customer_id:int}/pull-tokens/{token_id:int}/revoke", status_code=200)
    async def revoke_token(
        self, request: Req, customer_id: FromPath[int], token_id: FromPath[int], data: Form
    ) -> Template | Redirect:
        user = await staff(request, Permission.MANAGE_CUSTOMERS)
        async with web(request).session() as session:
            org = await _customer(session, user, customer_id)
            token = await session.scalar(select(Token).where(Token.id == token_id, Token.organization_id == org.id))
            if token is None:
                raise not_found("token")
            action = f"/vendor/customers/{customer_id}/pull-tokens/{token_id}/revoke"
            if data.get("confirm") != "yes":
                detail = f"Pulls with {token.name} ({token.hint}…) stop working within seconds. This cannot be undone."
                return await confirm(request, user, f"Revoke the token {token.name}?", detail, action, "Revoke token")
            before = token.revoked_at
            await services.revoke_token(session, token)
            after = {"revoked_at": token.revoked_at}
            record(
                session,
                request,
                user,
                "pull_token.revoke",
                "token",
                token.id,
                before={"revoked_at": before},
                after=after,
            )
            await session.commit()
        forget_cached_access(request)
        return redirect_with(request, f"/vendor/customers/{customer_id}", f"Token {token.name} revoked.")
