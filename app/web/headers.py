"""Security headers on every page Wharf serves (portals, sign-in, error pages, static files, API docs).

Pages load scripts from Wharf only (no inline script: the handlers live in static/wharf.js), may be framed
by nobody, and post forms only to Wharf. Two allowances, each for a reason:
- `style-src-attr 'unsafe-inline'`: templates set a few `style="..."` attributes (the vendor's accent colour);
  `<style>` elements stay refused (htmx's own indicator style is off, its rules are in wharf.css);
- `img-src https:`: a vendor's logo is an external https image.
The API docs page (Swagger UI, served from static/swagger-ui) needs `data:` images (its stylesheet's icons)
and no external image, nor style attributes (React sets styles through the DOM, which CSP allows).
The registry and the probes are left alone: machines read them, and the pull path stays lean."""

from __future__ import annotations

from typing import Any

from litestar.types import ASGIApp, Message, Receive, Send

COMMON = "default-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
PAGES_POLICY = f"{COMMON}; script-src 'self'; style-src 'self'; style-src-attr 'unsafe-inline'; img-src 'self' https:"
DOCS_POLICY = f"{COMMON}; script-src 'self'; style-src 'self'; img-src 'self' data:"
DOCS_PATH = "/api/schema"
UNGUARDED = ("/v2", "/token", "/healthz", "/readyz", "/metrics")


def _headers(policy: str) -> list[tuple[bytes, bytes]]:
    return [
        (b"content-security-policy", policy.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"same-origin"),
        (b"x-frame-options", b"DENY"),  # frame-ancestors for browsers that predate it
    ]


PAGE_HEADERS, DOCS_HEADERS = _headers(PAGES_POLICY), _headers(DOCS_POLICY)


class SecurityHeaders:
    """Outermost ASGI layer, so unrouted pages (404s) and error pages get the headers too."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(UNGUARDED):
            await self.app(scope, receive, send)  # type: ignore[arg-type]
            return
        extra = DOCS_HEADERS if path.startswith(DOCS_PATH) else PAGE_HEADERS

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                own = {name.lower() for name, _value in headers}  # a response's own policy (a logo's) stands
                message["headers"] = [*headers, *(h for h in extra if h[0] not in own)]
            await send(message)

        await self.app(scope, receive, send_with_headers)  # type: ignore[arg-type]
