"""Licenses: write and edit grants with a live preview of the tags each rule matches, suspend and resume,
delete, the license's compliance over a period (app.reports.compliance), and its history from the admin log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from litestar import Controller, get, post
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect, Template
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app import admin_log
from app.dependencies import CurrentActor, Licenses, Reader, SignedIn
from app.guards import staff
from app.limits import Limits, Restrictions, summary
from app.models import AdminAuditEntry, License, Organization, Token
from app.quotas import usage_of
from app.reports import compliance
from app.roles import Permission
from app.services import customers as customer_queries
from app.services import licenses as license_queries
from app.services.errors import Invalid, NotFound
from app.services.licenses import LicenseInput
from app.times import day_text, utcnow
from app.web.pages import flash, redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, confirm, not_found, page, parse_day, parse_int
from portal_vendor.license_form import LicenseForm, form_field, preview
from portal_vendor.limits_form import LimitsFields

MANAGE = [staff(Permission.MANAGE_CUSTOMERS)]


async def _license(session: AsyncSession, user: WebUser, license_id: int) -> License:
    try:
        return await license_queries.find(session, user.vendor_id, license_id)
    except NotFound:
        raise not_found("license") from None


async def _customer(session: AsyncSession, user: WebUser, customer_id: int) -> Organization:
    try:
        return await customer_queries.find(session, user.vendor_id, customer_id)
    except NotFound:
        raise not_found("customer") from None


def _fields(form: LicenseForm, errors: dict[str, str]) -> dict[str, Any]:
    """The form's values as the service takes them; unreadable dates and numbers are marked in `errors`."""
    return {
        "limits": form.limits.parse(errors).limits,
        "token_defaults": form.defaults.parse(errors),
        "name": form.name,
        "notes": form.notes,
        "grants": form.grants(),
        "valid_from": parse_day(form.valid_from, "valid_from", errors, "start"),
        "valid_until": parse_day(form.valid_until, "valid_until", errors, "end"),
        "grace_days": parse_int(form.grace_days, "grace_days", errors),
    }


class LicenseController(Controller):
    path = "/"
    include_in_schema = False

    async def _form_page(
        self,
        request: Req,
        user: WebUser,
        session: AsyncSession,
        customer: Organization,
        form: LicenseForm,
        lic: License | None = None,
        errors: dict[str, str] | None = None,
        status: int = 200,
        report: dict[str, Any] | None = None,
    ) -> Template:
        history, use = [], None
        if lic is not None:
            stmt = admin_log.entries(user.vendor_id, object_type="license", object_id=str(lic.id))
            history = [admin_log.entry_json(r) for r in await session.execute(stmt.order_by(AdminAuditEntry.id.desc()))]
            usage = (await usage_of(session, "license", [lic.id]))[lic.id]
            use = summary(Restrictions(limits=Limits.of(lic.limits)), usage)
        return await page(
            request,
            "vendor/license.html",
            user,
            section="customers",
            status=status,
            customer=customer,
            lic=lic,
            form=form,
            errors=errors or {},
            slug=user.vendor_slug,
            preview=await preview(session, user.vendor_slug, form, utcnow()),
            history=history,
            use=use,
            report=report,
        )

    @get("/customers/{customer_id:int}/licenses/new", guards=MANAGE)
    async def new(self, request: Req, customer_id: FromPath[int], user: SignedIn, reader: Reader) -> Template:
        customer = await _customer(reader, user, customer_id)
        form = LicenseForm(name=f"{customer.name} production", rows=[(f"{user.vendor_slug}/", "")])
        return await self._form_page(request, user, reader, customer, form)

    @post("/customers/{customer_id:int}/licenses", status_code=200, guards=MANAGE)
    async def create(
        self,
        request: Req,
        customer_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        licenses: Licenses,
        reader: Reader,
    ) -> Template | Redirect:
        form, errors = LicenseForm.from_data(data), dict[str, str]()
        customer = await _customer(reader, user, customer_id)
        if "add_row" in data:
            return await self._form_page(request, user, reader, customer, form.with_blank_row())
        fields = _fields(form, errors)
        if not errors:
            try:
                lic = await licenses.create(actor, LicenseInput(customer_id=customer.id, **fields))
            except Invalid as exc:
                errors[form_field(exc.field, form)] = exc.message
        if errors:
            return await self._form_page(request, user, reader, customer, form, None, errors, 400)
        if not fields["grants"]:
            flash(request, "This license grants nothing yet: add a repository and its tag rules.", "warning")
        return redirect_with(request, f"/vendor/licenses/{lic.id}", f"License {lic.name} created.")

    @get("/licenses/{license_id:int}", guards=[staff(Permission.READ)])
    async def detail(
        self,
        request: Req,
        license_id: FromPath[int],
        user: SignedIn,
        reader: Reader,
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
    ) -> Template:
        lic = await _license(reader, user, license_id)
        report = await _compliance(reader, user, lic, since, until)
        grants = (await license_queries.grants_of(reader, [lic.id]))[lic.id]
        form = LicenseForm(
            lic.name,
            lic.notes,
            day_text(lic.valid_from),
            day_text(lic.valid_until),
            str(lic.grace_days),
            [(g.repository, ", ".join(g.tags)) for g in grants],
            LimitsFields.of(Restrictions(limits=Limits.of(lic.limits)), "limit_"),
            LimitsFields.of(Restrictions.of(lic.token_defaults), "default_"),
        )
        customer = await _customer(reader, user, lic.customer_id)
        return await self._form_page(request, user, reader, customer, form, lic, report=report)

    @post("/licenses/{license_id:int}", status_code=200, guards=MANAGE)
    async def update(
        self,
        request: Req,
        license_id: FromPath[int],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        licenses: Licenses,
        reader: Reader,
    ) -> Template | Redirect:
        form, errors = LicenseForm.from_data(data), dict[str, str]()
        lic = await _license(reader, user, license_id)
        customer = await _customer(reader, user, lic.customer_id)
        if "add_row" in data:
            return await self._form_page(request, user, reader, customer, form.with_blank_row(), lic)
        fields = _fields(form, errors)
        changed = False
        if not errors:
            try:
                changed = await licenses.update(actor, license_id, fields)
            except Invalid as exc:
                errors[form_field(exc.field, form)] = exc.message
        if errors:
            return await self._form_page(request, user, reader, customer, form, lic, errors, 400)
        return redirect_with(
            request, f"/vendor/licenses/{license_id}", "License saved." if changed else "Nothing changed."
        )

    @post("/licenses/preview", status_code=200, guards=[staff(Permission.READ)])
    async def live_preview(self, request: Req, data: Form, user: SignedIn, reader: Reader) -> Template:
        """The preview block alone, as the form is typed (htmx)."""
        found = await preview(reader, user.vendor_slug, LicenseForm.from_data(data), utcnow())
        return await page(
            request, "vendor/license_preview.html", user, section="customers", preview=found, slug=user.vendor_slug
        )

    @post("/licenses/{license_id:int}/{action:str}", status_code=200, guards=MANAGE)
    async def set_status(
        self,
        request: Req,
        license_id: FromPath[int],
        action: FromPath[str],
        data: Form,
        user: SignedIn,
        actor: CurrentActor,
        licenses: Licenses,
        reader: Reader,
    ) -> Template | Redirect:
        """Suspend, resume or delete, after a confirmation."""
        if action not in ("suspend", "resume", "delete"):
            raise not_found("action")
        lic = await _license(reader, user, license_id)
        if data.get("confirm") != "yes":
            path = f"/vendor/licenses/{license_id}/{action}"
            if action == "suspend":
                detail = "Every pull under this license is refused within seconds, until you resume it."
                return await confirm(request, user, f"Suspend {lic.name}?", detail, path, "Suspend license")
            if action == "resume":
                detail = "Pulls under this license work again within seconds."
                return await confirm(request, user, f"Resume {lic.name}?", detail, path, "Resume license")
            return await confirm(
                request, user, f"Delete {lic.name}?", await _delete_detail(reader, lic), path, "Delete"
            )
        if action == "delete":
            await licenses.delete(actor, license_id)
            return redirect_with(request, f"/vendor/customers/{lic.customer_id}", f"License {lic.name} deleted.")
        await licenses.set_status(actor, license_id, "suspended" if action == "suspend" else "active")
        done = "suspended" if action == "suspend" else "resumed"
        return redirect_with(request, f"/vendor/licenses/{license_id}", f"License {lic.name} {done}.")


async def _compliance(session: AsyncSession, user: WebUser, lic: License, since: str, until: str) -> dict[str, Any]:
    """The license's compliance over the period asked for (default: this UTC month), or why it cannot be shown."""
    asked = {"since": since.strip(), "until": until.strip()}
    now = utcnow()
    try:
        start, end = compliance.parse_period(since, until, now)
    except Invalid as exc:
        return {"error": exc.message, "asked": asked}
    vendor = await session.get(Organization, user.vendor_id)
    assert vendor is not None
    found = await compliance.license_compliance(session, vendor, lic, start, end, now)
    return {"c": found, "asked": asked, "last_day": end - timedelta(microseconds=1)}


async def _delete_detail(session: AsyncSession, lic: License) -> str:
    tokens = await session.scalar(
        select(func.count()).where(Token.organization_id == lic.customer_id, Token.revoked_at.is_(None))
    )
    others = await session.scalar(
        select(func.count()).where(License.customer_id == lic.customer_id, License.id != lic.id)
    )
    return (
        f"Pulls that only this license allowed are refused within seconds. The customer's {tokens or 0} pull "
        f"token(s) keep working for what its {others or 0} other license(s) grant. Its download history and "
        "its entries in the audit log stay. This cannot be undone."
    )
