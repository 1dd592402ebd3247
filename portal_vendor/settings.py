"""Settings: the vendor's name, logo, accent colour and welcome text, shown on both portals."""

from __future__ import annotations

from litestar import Controller, get, post
from litestar.response import Redirect, Template

from app.dependencies import CurrentActor, Reader, SignedIn, VendorSettings
from app.guards import staff
from app.models import Organization
from app.roles import Permission
from app.services.errors import Invalid
from app.services.settings import FIELDS
from app.web.pages import DEFAULT_ACCENT, redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, field_error, page

SETTINGS = [staff(Permission.MANAGE_TEAM)]


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    async def _page(
        self, request: Req, user: WebUser, values: dict[str, str], errors: dict[str, str], status: int = 200
    ) -> Template:
        return await page(
            request, "vendor/settings.html", user, section="settings", status=status, values=values, errors=errors
        )

    @get("/", guards=SETTINGS)
    async def show(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        org = await reader.get(Organization, user.vendor_id)
        assert org is not None
        values = {f: getattr(org, f) or "" for f in FIELDS}
        values["accent_color"] = values["accent_color"] or DEFAULT_ACCENT
        return await self._page(request, user, values, {})

    @post("/", status_code=200, guards=SETTINGS)
    async def save(
        self, request: Req, data: Form, user: SignedIn, actor: CurrentActor, settings_service: VendorSettings
    ) -> Template | Redirect:
        values = {f: data.get(f) or "" for f in FIELDS}
        try:
            changed = await settings_service.update(actor, values)
        except Invalid as exc:
            return await self._page(request, user, values, field_error(exc), 400)
        return redirect_with(request, "/vendor/settings", "Settings saved." if changed else "Nothing changed.")
