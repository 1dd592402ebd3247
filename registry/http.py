"""The /v2 HTTP layer: parse -> decide -> act -> respond. One catch-all route per method."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from litestar import Request, Response, Router, delete, get, head, patch, post, put
from litestar.exceptions import HTTPException
from litestar.params import FromPath
from litestar.response import Stream
from litestar.types import ExceptionHandlersMap

from registry.access import Authenticator, Caller, can_read
from registry.auth import DELETE, PULL, PUSH
from registry.digests import digest_of, looks_like_digest, parse_digest
from registry.errors import RegistryError
from registry.events import EventSink, RegistryEvent
from registry.manifests import MAX_MANIFEST_SIZE, OCI_INDEX, parse_manifest
from registry.metadata import Metadata
from registry.names import Route, parse_route, validate_name, validate_tag
from registry.storage import BlobStore
from registry.uploads import Uploads, upload_headers

API_VERSION = {"Docker-Distribution-API-Version": "registry/2.0"}
MAX_PAGE = 10_000


@dataclass
class Registry:
    """Everything the /v2 handlers need, built once by the application."""

    metadata: Metadata
    store: BlobStore
    uploads: Uploads
    auth: Authenticator
    events: EventSink


def registry_error_response(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, RegistryError):
        error = exc
    elif isinstance(exc, HTTPException) and exc.status_code == 404:
        error = RegistryError("NAME_UNKNOWN", "no such registry endpoint")
    elif isinstance(exc, HTTPException) and exc.status_code == 405:
        error = RegistryError("UNSUPPORTED", "method not allowed")
    elif isinstance(exc, HTTPException) and exc.status_code == 413:
        error = RegistryError("SIZE_INVALID", "request body too large", status=413)
    elif isinstance(exc, HTTPException) and exc.status_code < 500:
        error = RegistryError("UNSUPPORTED", str(exc.detail), status=exc.status_code)
    else:
        raise exc
    headers = {**API_VERSION, **error.headers}
    if request.method == "HEAD":
        return Response(content=b"", status_code=error.status, headers=headers)
    return Response(content=error.body(), status_code=error.status, headers=headers, media_type="application/json")


def _route(rest: str) -> Route:
    route = parse_route(rest)
    if route is None:
        raise RegistryError("NAME_UNKNOWN", "no such registry endpoint")
    return route


def _page_size(request: Request[Any, Any, Any]) -> int | None:
    raw = request.query_params.get("n")
    if raw is None or raw == "":
        return None
    if not raw.isdigit():
        raise RegistryError("PAGINATION_NUMBER_INVALID", f"n must be a non-negative integer, not {raw!r}")
    return min(int(raw), MAX_PAGE)


def build_router(reg: Registry) -> Router:
    auth, metadata, uploads = reg.auth, reg.metadata, reg.uploads

    def emit(request: Request[Any, Any, Any], caller: Caller, action: str, repository: str, **fields: Any) -> None:
        client = request.client.host if request.client else None
        reg.events.emit(
            RegistryEvent(
                action=action,
                repository=repository,
                subject=caller.principal.subject,
                client_ip=client,
                user_agent=request.headers.get("user-agent"),
                **fields,
            )
        )

    async def caller_for(request: Request[Any, Any, Any], route: Route | None, action: str) -> Caller:
        scope = f"repository:{route.name}:{action}" if route else None
        return await auth.caller(request.headers.get("authorization"), scope)

    async def manifest_record(request: Request[Any, Any, Any], route: Route) -> tuple[Caller, Any]:
        caller = await caller_for(request, route, PULL)
        ref = route.ref or ""
        record = None
        if await can_read(auth, caller, route.name):
            if looks_like_digest(ref):
                record = await metadata.manifest(route.name, str(parse_digest(ref)), by_digest=True)
            else:
                record = await metadata.manifest(route.name, validate_tag(ref), by_digest=False)
        if record is None:
            raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} not found in {route.name}")
        accept = request.headers.get("accept")
        if accept and not _accepts(accept, record.media_type):
            raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} is {record.media_type}, not an accepted type")
        return caller, record

    def manifest_headers(record: Any) -> dict[str, str]:
        return {
            **API_VERSION,
            "Docker-Content-Digest": record.digest,
            "ETag": f'"{record.digest}"',
            "Content-Length": str(len(record.content)),
        }

    async def blob_size(request: Request[Any, Any, Any], route: Route) -> tuple[Caller, str, int]:
        caller = await caller_for(request, route, PULL)
        digest = str(parse_digest(route.ref or ""))
        size = await metadata.blob_size(route.name, digest) if await can_read(auth, caller, route.name) else None
        if size is None:
            raise RegistryError("BLOB_UNKNOWN", f"blob {digest} not found in {route.name}")
        return caller, digest, size

    @get("/v2/")
    async def ping(request: Request[Any, Any, Any]) -> Response[Any]:
        await auth.caller(request.headers.get("authorization"))
        return Response(content={}, headers=API_VERSION)

    @get("/v2/{rest:path}")
    async def v2_get(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[Any]:
        if rest.strip("/") == "_catalog":
            return await catalog(request)
        route = _route(rest)
        if route.kind == "manifest":
            caller, record = await manifest_record(request, route)
            emit(
                request,
                caller,
                "manifest.get",
                route.name,
                reference=route.ref,
                digest=record.digest,
                media_type=record.media_type,
                bytes=len(record.content),
            )
            return Response(content=record.content, media_type=record.media_type, headers=manifest_headers(record))
        if route.kind == "blob":
            return await get_blob(request, route)
        if route.kind == "tags":
            return await list_tags(request, route)
        if route.kind == "referrers":
            return await referrers(request, route)
        caller = await caller_for(request, route, PUSH)
        await auth.require(caller, route.name, PUSH)
        size = await uploads.size(route.name, route.ref or "")
        return Response(
            content=b"", status_code=204, headers={**API_VERSION, **upload_headers(route.name, route.ref or "", size)}
        )

    @head("/v2/{rest:path}")
    async def v2_head(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[None]:
        route = _route(rest)
        if route.kind == "manifest":
            caller, record = await manifest_record(request, route)
            emit(
                request,
                caller,
                "manifest.head",
                route.name,
                reference=route.ref,
                digest=record.digest,
                media_type=record.media_type,
            )
            return Response(content=None, headers={**manifest_headers(record), "Content-Type": record.media_type})
        if route.kind == "blob":
            caller, digest, size = await blob_size(request, route)
            return Response(
                content=None,
                headers={
                    **API_VERSION,
                    "Docker-Content-Digest": digest,
                    "Content-Length": str(size),
                    "Content-Type": "application/octet-stream",
                    "Accept-Ranges": "bytes",
                },
            )
        raise RegistryError("UNSUPPORTED", "HEAD is not supported here")

    async def get_blob(request: Request[Any, Any, Any], route: Route) -> Response[Any]:
        caller, digest, size = await blob_size(request, route)
        parsed = parse_digest(digest)
        headers = {**API_VERSION, "Docker-Content-Digest": digest, "Accept-Ranges": "bytes"}
        url = await reg.store.redirect_url(parsed)
        if url is not None:
            emit(request, caller, "blob.get", route.name, digest=digest, bytes=size, status=307)
            return Response(content=b"", status_code=307, headers={**headers, "Location": url})
        start, end, status = 0, size - 1, 200
        range_header = request.headers.get("range")
        if range_header:
            parsed_range = _byte_range(range_header, size)
            if parsed_range is None:
                raise RegistryError(
                    "RANGE_INVALID",
                    f"range {range_header!r} not satisfiable for {size} bytes",
                    status=416,
                    headers={"Content-Range": f"bytes */{size}"},
                )
            start, end = parsed_range
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        headers["Content-Length"] = str(end - start + 1)

        async def body() -> AsyncIterator[bytes]:
            sent = 0
            try:
                if end >= start:
                    async for chunk in reg.store.read(parsed, start, end):
                        sent += len(chunk)
                        yield chunk
            finally:
                emit(request, caller, "blob.get", route.name, digest=digest, bytes=sent, status=status)

        return Stream(body(), status_code=status, media_type="application/octet-stream", headers=headers)

    async def list_tags(request: Request[Any, Any, Any], route: Route) -> Response[Any]:
        caller = await caller_for(request, route, PULL)
        limit, last = _page_size(request), request.query_params.get("last")
        names = await metadata.tags(route.name, limit, last) if await can_read(auth, caller, route.name) else None
        if names is None:
            raise RegistryError("NAME_UNKNOWN", f"repository {route.name} not found")
        headers = dict(API_VERSION)
        if limit and len(names) == limit:
            headers["Link"] = f'</v2/{route.name}/tags/list?n={limit}&last={names[-1]}>; rel="next"'
        return Response(content={"name": route.name, "tags": names}, headers=headers)

    async def catalog(request: Request[Any, Any, Any]) -> Response[Any]:
        caller = await auth.caller(request.headers.get("authorization"), "registry:catalog:*")
        if caller.token_access is not None and not caller.token_access.get(("registry", "catalog")):
            raise auth.challenge("registry:catalog:*", "insufficient_scope")
        limit = _page_size(request)
        limit = MAX_PAGE if limit is None else limit
        names = await visible_repositories(caller, limit, request.query_params.get("last"))
        headers = dict(API_VERSION)
        if limit and len(names) == limit:
            headers["Link"] = f'</v2/_catalog?n={limit}&last={names[-1]}>; rel="next"'
        return Response(content={"repositories": names}, headers=headers)

    async def visible_repositories(caller: Caller, limit: int, last: str | None) -> list[str]:
        names: list[str] = []
        while len(names) < limit:
            page = await metadata.repositories(max(limit, 100), last)
            for name in page:
                if PULL in await auth.policy.allowed_actions(caller.principal, name):
                    names.append(name)
            if len(page) < max(limit, 100):
                break
            last = page[-1]
        return names[:limit]

    async def referrers(request: Request[Any, Any, Any], route: Route) -> Response[Any]:
        caller = await caller_for(request, route, PULL)
        subject = str(parse_digest(route.ref or "", code="DIGEST_INVALID"))
        artifact_type = request.query_params.get("artifactType")
        found = (
            await metadata.referrers(route.name, subject, artifact_type)
            if await can_read(auth, caller, route.name)
            else []
        )
        headers = dict(API_VERSION)
        if artifact_type is not None:
            headers["OCI-Filters-Applied"] = "artifactType"
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
        return Response(content=json.dumps(index).encode(), media_type=OCI_INDEX, headers=headers)

    @post("/v2/{rest:path}", request_max_body_size=None, status_code=202)
    async def v2_post(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[Any]:
        route = _route(rest)
        if route.kind != "upload" or route.ref is not None:
            raise RegistryError("UNSUPPORTED", "POST is only for starting blob uploads")
        caller = await caller_for(request, route, PUSH)
        await auth.require(caller, route.name, PUSH)
        params = request.query_params
        mount, source = params.get("mount"), params.get("from")
        if mount and source:
            mounted = await try_mount(caller, route.name, mount, source)
            if mounted is not None:
                emit(request, caller, "blob.mount", route.name, digest=mounted)
                return _blob_created(route.name, mounted)
        if params.get("digest"):
            digest = parse_digest(params["digest"])
            size = await uploads.monolithic(route.name, digest, request.stream())
            emit(request, caller, "blob.put", route.name, digest=str(digest), bytes=size, status=201)
            return _blob_created(route.name, str(digest))
        upload_id = await uploads.start(route.name)
        return Response(
            content=b"",
            status_code=202,
            headers={**API_VERSION, **upload_headers(route.name, upload_id, 0), "Content-Length": "0"},
        )

    async def try_mount(caller: Caller, repository: str, digest: str, source: str) -> str | None:
        try:
            validate_name(source)
            parsed = str(parse_digest(digest))
        except RegistryError:
            return None
        if PULL not in await auth.actions(caller, source):
            return None  # not readable: the client gets an upload session, as if the blob were absent
        return parsed if await metadata.mount_blob(repository, source, parsed) is not None else None

    @patch("/v2/{rest:path}", request_max_body_size=None, status_code=202)
    async def v2_patch(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[Any]:
        route = _route(rest)
        if route.kind != "upload" or not route.ref:
            raise RegistryError("UNSUPPORTED", "PATCH is only for blob upload sessions")
        caller = await caller_for(request, route, PUSH)
        await auth.require(caller, route.name, PUSH)
        size = await uploads.append(route.name, route.ref, request.stream(), request.headers.get("content-range"))
        return Response(
            content=b"",
            status_code=202,
            headers={**API_VERSION, **upload_headers(route.name, route.ref, size), "Content-Length": "0"},
        )

    @put("/v2/{rest:path}", request_max_body_size=None, status_code=201)
    async def v2_put(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[Any]:
        route = _route(rest)
        caller = await caller_for(request, route, PUSH)
        await auth.require(caller, route.name, PUSH)
        if route.kind == "upload" and route.ref:
            raw = request.query_params.get("digest")
            if not raw:
                raise RegistryError("DIGEST_INVALID", "the digest query parameter is required to finish an upload")
            digest = parse_digest(raw)
            size = await uploads.finish(route.name, route.ref, digest, request.stream())
            emit(request, caller, "blob.put", route.name, digest=str(digest), bytes=size, status=201)
            return _blob_created(route.name, str(digest))
        if route.kind == "manifest":
            return await put_manifest(request, caller, route)
        raise RegistryError("UNSUPPORTED", "PUT is only for manifests and finishing uploads")

    async def put_manifest(request: Request[Any, Any, Any], caller: Caller, route: Route) -> Response[Any]:
        ref = route.ref or ""
        content = await _read_limited(request, MAX_MANIFEST_SIZE)
        tags = [validate_tag(t) for t in request.query_params.getall("tag", [])]
        if looks_like_digest(ref):
            wanted = parse_digest(ref)
            digest = digest_of(content, wanted.algorithm)
            if digest != str(wanted):
                raise RegistryError("DIGEST_INVALID", f"manifest content has digest {digest}, not {wanted}")
        else:
            tags.insert(0, validate_tag(ref))
            digest = digest_of(content)
        parsed = parse_manifest(content, request.headers.get("content-type"))
        missing = await metadata.missing_references(route.name, parsed)
        if missing:
            raise RegistryError(
                "MANIFEST_BLOB_UNKNOWN", f"manifest references unknown {missing[0]}", detail={"missing": missing}
            )
        await metadata.put_manifest(route.name, digest, content, parsed, tags)
        emit(
            request,
            caller,
            "manifest.put",
            route.name,
            reference=ref,
            digest=digest,
            media_type=parsed.media_type,
            bytes=len(content),
            status=201,
        )
        headers = {
            **API_VERSION,
            "Location": f"/v2/{route.name}/manifests/{digest}",
            "Docker-Content-Digest": digest,
            "Content-Length": "0",
        }
        if parsed.subject:
            headers["OCI-Subject"] = parsed.subject
        return Response(content=b"", status_code=201, headers=headers)

    @delete("/v2/{rest:path}", status_code=202)
    async def v2_delete(request: Request[Any, Any, Any], rest: FromPath[str]) -> Response[Any]:
        route = _route(rest)
        ref = route.ref or ""
        if route.kind == "upload" and ref:
            caller = await caller_for(request, route, PUSH)
            await auth.require(caller, route.name, PUSH)
            await uploads.cancel(route.name, ref)
            return Response(content=b"", status_code=204, headers=API_VERSION)
        caller = await caller_for(request, route, DELETE)
        await auth.require(caller, route.name, DELETE)
        if route.kind == "manifest":
            if looks_like_digest(ref):
                found = await metadata.delete_manifest(route.name, str(parse_digest(ref)))
            else:
                found = await metadata.delete_tag(route.name, validate_tag(ref))
            if not found:
                raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} not found in {route.name}")
            emit(request, caller, "manifest.delete", route.name, reference=ref, status=202)
        elif route.kind == "blob":
            digest = str(parse_digest(ref))
            if not await metadata.unlink_blob(route.name, digest):
                raise RegistryError("BLOB_UNKNOWN", f"blob {digest} not found in {route.name}")
            emit(request, caller, "blob.delete", route.name, digest=digest, status=202)
        else:
            raise RegistryError("UNSUPPORTED", "DELETE is only for manifests, tags, blobs and uploads")
        return Response(content=b"", status_code=202, headers=API_VERSION)

    handlers: ExceptionHandlersMap = {RegistryError: registry_error_response, HTTPException: registry_error_response}
    return Router(
        path="/",
        route_handlers=[ping, v2_get, v2_head, v2_post, v2_patch, v2_put, v2_delete],
        exception_handlers=handlers,
    )


def _blob_created(repository: str, digest: str) -> Response[Any]:
    return Response(
        content=b"",
        status_code=201,
        headers={
            **API_VERSION,
            "Location": f"/v2/{repository}/blobs/{digest}",
            "Docker-Content-Digest": digest,
            "Content-Length": "0",
        },
    )


async def _read_limited(request: Request[Any, Any, Any], limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise RegistryError("MANIFEST_TOO_LARGE", f"manifest exceeds {limit} bytes", status=413)
    parts, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise RegistryError("MANIFEST_TOO_LARGE", f"manifest exceeds {limit} bytes", status=413)
        parts.append(chunk)
    return b"".join(parts)


def _accepts(accept: str, media_type: str) -> bool:
    accepted = {part.split(";")[0].strip() for part in accept.split(",")}
    return media_type in accepted or "*/*" in accepted or not (accepted - {""})


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    unit, _, spec = header.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    first, _, last = spec.strip().partition("-")
    try:
        if first == "":
            length = int(last)
            return (max(size - length, 0), size - 1) if length > 0 and size else None
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        return None
    return start, min(end, size - 1)
