"""Request bodies are bounded before anything parses them: size, form fields and JSON nesting.

Litestar's form parsing grows faster than linearly with the number of fields, the CSRF check parses
every anonymous form, and json decoders recurse per nesting level; so every body (registry uploads
excepted: they stream to storage) is read whole up to its limit and checked before the CSRF middleware
or a handler sees it. Errors are raised as HTTP exceptions, so each surface answers in its own shape."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.exceptions import ClientException
from litestar.types import ASGIApp, Receive, Scope, Send

from registry.strict_json import MAX_DEPTH, nesting_exceeds


@dataclass(frozen=True)
class BodyLimit:
    max_bytes: int
    max_fields: int
    json_always: bool = False  # the handlers decode every body as JSON, whatever its Content-Type says


TOKEN = BodyLimit(8 * 1024, 50)  # /token: a grant type, a secret, a few scopes
API = BodyLimit(1024 * 1024, 1_000, json_always=True)  # /api/v1 JSON
PAGES = BodyLimit(256 * 1024, 1_000)  # portal and sign-in forms (a 50-row license form has ~110 fields)
WITHOUT_BODY = frozenset({"GET", "HEAD", "OPTIONS"})
# PostgreSQL cannot store or compare text holding NUL: a sign-in with one in the email was a 500.
NUL_REFUSED = "a field cannot contain a NUL character"


class BodyRefused(ClientException):
    """A body with too many form fields or nested too deep (400); portals show its detail."""


class BodyTooLarge(BodyRefused):
    status_code = 413


def limit_for(path: str) -> BodyLimit | None:
    """None for the registry: blob uploads stream unbounded, manifests are capped by the registry itself."""
    if path.startswith("/v2"):
        return None
    if path == "/token":
        return TOKEN
    return API if path.startswith("/api/") else PAGES


class BodyLimits:
    """Reads a request's body (up to its limit), checks it, and hands it on unchanged."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request: dict[str, Any] = scope  # type: ignore[assignment]
        limit = limit_for(request["path"]) if request["type"] == "http" else None
        if limit is None or request["method"] in WITHOUT_BODY:
            await self.app(scope, receive, send)
            return
        headers = {name: value for name, value in request["headers"] if name in (b"content-length", b"content-type")}
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit.max_bytes:
            raise too_large(limit)
        body, last = await _read(receive, limit)
        check_body(body, headers.get(b"content-type", b"").decode("latin-1"), limit)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return last if last["type"] == "http.disconnect" else {**last, "body": body, "more_body": False}

        await self.app(scope, replay, send)


async def _read(receive: Receive, limit: BodyLimit) -> tuple[bytes, Any]:
    """The whole body and the last message (a disconnect is passed on as it came)."""
    parts: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(parts), message
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit.max_bytes:
            raise too_large(limit)
        parts.append(chunk)
        if not message.get("more_body", False):
            return b"".join(parts), message


def check_body(body: bytes, content_type: str, limit: BodyLimit) -> None:
    media_type, _, params = content_type.partition(";")
    media_type = media_type.strip().lower()
    if limit.json_always:
        media_type = "application/json"
    if media_type == "application/x-www-form-urlencoded":
        if b"%00" in body or b"\x00" in body:
            raise BodyRefused(NUL_REFUSED)
        fields = body.count(b"&") + 1 if body else 0
    elif media_type == "multipart/form-data":
        boundary = params.partition("boundary=")[2].strip().strip('"').encode("latin-1")
        fields = body.count(b"--" + boundary) - 1 if boundary else 0
    else:  # JSON, or whatever a handler may decode as JSON
        if nesting_exceeds(body):
            raise BodyRefused(f"the request body is nested deeper than {MAX_DEPTH} levels")
        if b"\\u0000" in body or b"\x00" in body:
            raise BodyRefused(NUL_REFUSED)
        return
    if fields > limit.max_fields:
        raise BodyRefused(f"the form has {fields} fields; at most {limit.max_fields} are accepted")


def too_large(limit: BodyLimit) -> BodyTooLarge:
    return BodyTooLarge(f"the request body is too large: at most {limit.max_bytes} bytes are accepted")
