"""The vendor's uploaded logo, served from the database (text colours for its accent: app.colors)."""

from __future__ import annotations

from litestar import Controller, Response, get
from litestar.exceptions import NotFoundException
from litestar.params import FromPath

from app.dependencies import Reader
from app.guards import PUBLIC
from app.models import VendorLogo


class BrandingController(Controller):
    path = "/branding"
    include_in_schema = False

    @get("/logo/{vendor_id:int}", guards=[PUBLIC])
    async def logo(self, vendor_id: FromPath[int], reader: Reader) -> Response[bytes]:
        """The vendor's uploaded logo (also on the sign-in page, so it is public, as a logo is)."""
        found = await reader.get(VendorLogo, vendor_id)
        if found is None:
            raise NotFoundException("no such logo")
        headers = {
            "Cache-Control": "public, max-age=86400",
            "ETag": f'"{found.sha256}"',
            "Content-Security-Policy": "default-src 'none'",
        }
        return Response(bytes(found.content), media_type=found.content_type, headers=headers)
