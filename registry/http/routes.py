"""The Litestar router: one `/v2/{rest:path}` handler per method dispatching on the parsed route."""

from __future__ import annotations

from typing import Any

from litestar import Response, Router, delete, get, head, patch, post, put
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.types import ExceptionHandlersMap

from registry.errors import RegistryError
from registry.http import blobs, listing, manifests
from registry.http.common import API_VERSION, UNAVAILABLE, Registry, Req, registry_error_response, route_of


def _unsupported(method: str, what: str) -> RegistryError:
    return RegistryError("UNSUPPORTED", f"{method} is only for {what}")


def build_router(reg: Registry) -> Router:
    @get("/v2/")
    async def ping(request: Req) -> Response[Any]:
        await reg.caller(request, None, "")
        return Response(content={}, headers=API_VERSION)

    @get("/v2/{rest:path}")
    async def v2_get(request: Req, rest: FromPath[str]) -> Response[Any]:
        if rest.strip("/") == "_catalog":
            return await listing.catalog(reg, request)
        route = route_of(rest)
        if route.kind == "manifest":
            return await manifests.get_manifest(reg, request, route)
        if route.kind == "blob":
            return await blobs.get_blob(reg, request, route)
        if route.kind == "tags":
            return await listing.list_tags(reg, request, route)
        if route.kind == "referrers":
            return await listing.referrers(reg, request, route)
        if route.ref:
            return await blobs.upload_status(reg, request, route)
        raise _unsupported("GET", "reading manifests, blobs, tags, referrers and upload status")

    @head("/v2/{rest:path}")
    async def v2_head(request: Req, rest: FromPath[str]) -> Response[None]:
        route = route_of(rest)
        if route.kind == "manifest":
            return await manifests.head_manifest(reg, request, route)
        if route.kind == "blob":
            return await blobs.head_blob(reg, request, route)
        raise _unsupported("HEAD", "manifests and blobs")

    @post("/v2/{rest:path}", request_max_body_size=None, status_code=202)
    async def v2_post(request: Req, rest: FromPath[str]) -> Response[Any]:
        route = route_of(rest)
        if route.kind != "upload" or route.ref is not None:
            raise _unsupported("POST", "starting blob uploads")
        return await blobs.start_upload(reg, request, route)

    @patch("/v2/{rest:path}", request_max_body_size=None, status_code=202)
    async def v2_patch(request: Req, rest: FromPath[str]) -> Response[Any]:
        route = route_of(rest)
        if route.kind != "upload" or not route.ref:
            raise _unsupported("PATCH", "blob upload sessions")
        return await blobs.upload_chunk(reg, request, route)

    @put("/v2/{rest:path}", request_max_body_size=None, status_code=201)
    async def v2_put(request: Req, rest: FromPath[str]) -> Response[Any]:
        route = route_of(rest)
        if route.kind == "upload" and route.ref:
            return await blobs.finish_upload(reg, request, route)
        if route.kind == "manifest":
            return await manifests.put_manifest(reg, request, route)
        raise _unsupported("PUT", "manifests and finishing uploads")

    @delete("/v2/{rest:path}", status_code=202)
    async def v2_delete(request: Req, rest: FromPath[str]) -> Response[Any]:
        route = route_of(rest)
        if route.kind == "upload" and route.ref:
            return await blobs.cancel_upload(reg, request, route)
        if route.kind == "manifest":
            return await manifests.delete_manifest(reg, request, route)
        if route.kind == "blob":
            return await blobs.delete_blob(reg, request, route)
        raise _unsupported("DELETE", "manifests, tags, blobs and uploads")

    handlers: ExceptionHandlersMap = {RegistryError: registry_error_response, HTTPException: registry_error_response}
    handlers.update(dict.fromkeys(UNAVAILABLE, registry_error_response))
    return Router(
        path="/",
        route_handlers=[ping, v2_get, v2_head, v2_post, v2_patch, v2_put, v2_delete],
        exception_handlers=handlers,
        include_in_schema=False,
    )
