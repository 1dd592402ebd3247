"""Settings: the vendor's name, logo (an https address or an uploaded file), accent colour and welcome text
(Markdown), shown on both portals, the default immutability rule of its repositories, and the token sharing
threshold (networks a day)."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template

from app import immutability
from app.dependencies import CurrentActor, Reader, SignedIn, VendorSettings
from app.guards import staff
from app.models import Organization
from app.reports.compliance import DEFAULT_SHARING_NETWORKS
from app.roles import Permission
from app.services.errors import Invalid
from app.services.settings import FIELDS, MAX_LOGO_BYTES
from app.web.pages import DEFAULT_ACCENT, redirect_with
from app.web.users import WebUser
from portal_vendor.common import Form, Req, field_error, page

SETTINGS = [staff(Permission.MANAGE_TEAM)]
LogoForm = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.MULTI_PART)]  # the file and the CSRF field


class SettingsController(Controller):
    path = "/settings"
    include_in_schema = False

    async def _page(
        self, request: Req, user: WebUser, values: dict[str, str], errors: dict[str, str], status: int = 200
    ) -> Template:
        return await page(
            request,
            "vendor/settings.html",
            user,
            section="settings",
            status=status,
            values=values,
            errors=errors,
            rules=immutability.RULES,
            max_logo_kib=MAX_LOGO_BYTES // 1024,
            default_sharing=DEFAULT_SHARING_NETWORKS,
        )

    async def _saved_values(self, reader: Reader, user: WebUser) -> dict[str, str]:
        org = await reader.get(Organization, user.vendor_id)
        assert org is not None
        values = {f: str(getattr(org, f) or "") for f in FIELDS}
        values["accent_color"] = values["accent_color"] or DEFAULT_ACCENT
        return values

    @get("/", guards=SETTINGS)
    async def show(self, request: Req, user: SignedIn, reader: Reader) -> Template:
        return await self._page(request, user, await self._saved_values(reader, user), {})

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

    @post("/logo", status_code=200, guards=SETTINGS, request_max_body_size=MAX_LOGO_BYTES * 2)
    async def upload_logo(
        self,
        request: Req,
        data: LogoForm,
        user: SignedIn,
        actor: CurrentActor,
        settings_service: VendorSettings,
        reader: Reader,
    ) -> Template | Redirect:
        upload = data.get("logo")
        content = await upload.read() if isinstance(upload, UploadFile) else b""
        try:
            await settings_service.set_logo(actor, content)
        except Invalid as exc:
            return await self._page(request, user, await self._saved_values(reader, user), field_error(exc), 400)
        return redirect_with(request, "/vendor/settings", "Logo uploaded.")
