"""`/favicon.ico`: browsers ask for it on every site whatever a page links; answer with Wharf's icon."""

from __future__ import annotations

from pathlib import Path

from litestar import Response, get
from litestar.handlers import HTTPRouteHandler

ICON = "favicon.svg"  # in the static directory, linked by every page too


def build_favicon_route(static_dir: Path) -> HTTPRouteHandler:
    icon = (static_dir / ICON).read_bytes()
    headers = {"Cache-Control": "public, max-age=86400", "Content-Security-Policy": "default-src 'none'"}

    @get("/favicon.ico", include_in_schema=False, sync_to_thread=False)
    def favicon() -> Response[bytes]:
        return Response(icon, media_type="image/svg+xml", headers=headers)

    return favicon
