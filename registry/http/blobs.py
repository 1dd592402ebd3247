"""Blob reads (GET/HEAD with Range) and uploads (POST, PATCH, PUT, status, cancel, mount)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from litestar import Response
from litestar.response import Stream

from registry.access import Caller, can_read
from registry.auth import DELETE, PULL, PUSH, Decision, Read
from registry.digests import parse_digest
from registry.errors import RegistryError
from registry.events import RegistryAction
from registry.http.common import API_VERSION, Registry, Req, body_chunks, empty
from registry.http.file_send import FileSend, offers_zero_copy, open_at
from registry.http.gate import admit_read, digest_decision, enforce, warning_headers
from registry.names import Route, validate_name
from registry.uploads import upload_headers


async def _readable_blob(reg: Registry, request: Req, route: Route) -> tuple[Caller, str, int, Decision]:
    caller = await reg.caller(request, route, PULL)
    digest = str(parse_digest(route.ref or ""))
    size = await reg.metadata.blob_size(route.name, digest) if await can_read(reg.auth, caller, route.name) else None
    if size is None:
        raise RegistryError("BLOB_UNKNOWN", f"blob {digest} not found in {route.name}")
    decision = await digest_decision(reg, caller, route.name, digest)
    enforce(reg, request, caller, decision, route.name, digest)
    return caller, digest, size, decision


async def head_blob(reg: Registry, request: Req, route: Route) -> Response[None]:
    caller, digest, size, decision = await _readable_blob(reg, request, route)
    quota = admit_read(reg, request, caller, Read("check", route.name, digest, 0, decision.license), digest)
    headers = {
        **API_VERSION,
        "Docker-Content-Digest": digest,
        "Content-Length": str(size),
        "Content-Type": "application/octet-stream",
        "Accept-Ranges": "bytes",
        **warning_headers(decision),
        **quota,  # what is left, as on every answer to a read
    }
    return Response(content=None, headers=headers)


async def get_blob(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller, digest, size, decision = await _readable_blob(reg, request, route)
    parsed = parse_digest(digest)
    headers = {**API_VERSION, "Docker-Content-Digest": digest, "Accept-Ranges": "bytes", **warning_headers(decision)}
    start, end, status = 0, size - 1, 200
    range_header = request.headers.get("range")
    if range_header:
        wanted = byte_range(range_header, size)
        if wanted is None:
            raise RegistryError(
                "RANGE_INVALID",
                f"range {range_header!r} not satisfiable for {size} bytes",
                status=416,
                headers={"Content-Range": f"bytes */{size}"},
            )
        (start, end), status = wanted, 206
    length = end - start + 1
    # a byte quota stops the download that would cross it; pulls already under way go on otherwise
    quota = admit_read(reg, request, caller, Read("blob", route.name, digest, length, decision.license), digest)
    headers.update(quota)  # RateLimit-Policy / RateLimit, on the 307 to storage too

    def record(sent: int, answered: int = status) -> None:  # the event: bytes sent, also when the client leaves
        if sent < length:
            reg.auth.policy.release_unsent(caller.principal, decision.license, length - sent)
        reg.emit(
            request,
            caller,
            RegistryAction.BLOB_GET,
            route.name,
            license=decision.license,
            digest=digest,
            bytes=sent,
            status=answered,
        )

    # the client fetches the bytes from storage: a range is signed into the URL (it is what was counted)
    url = await reg.store.redirect_url(parsed, (start, end) if status == 206 else None)
    if url is not None:  # record what was handed off
        record(length, 307)
        return Response(content=b"", status_code=307, headers={**headers, "Location": url})
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    headers["Content-Length"] = str(length)
    path = reg.store.local_path(parsed)
    if path is not None and end >= start and offers_zero_copy(request):
        try:  # open it before answering: garbage collection may have removed it since we cached its size
            file = open_at(str(path), start)
        except FileNotFoundError:
            reg.auth.policy.release_unsent(caller.principal, decision.license, length)
            reg.metadata.forget_blob(route.name, digest)
            raise RegistryError("BLOB_UNKNOWN", f"blob {digest} not found in {route.name}") from None
        return FileSend(file, length, record, status_code=status, headers=headers)
    chunks = reg.store.read(parsed, start, end) if end >= start else None
    first = b""
    if chunks is not None:
        try:  # open it before answering: garbage collection may have removed it since we cached its size
            first = await anext(chunks, b"")
        except FileNotFoundError:
            reg.auth.policy.release_unsent(caller.principal, decision.license, length)
            reg.metadata.forget_blob(route.name, digest)
            raise RegistryError("BLOB_UNKNOWN", f"blob {digest} not found in {route.name}") from None

    async def body() -> AsyncIterator[bytes]:
        sent = 0
        try:
            if first:
                sent += len(first)
                yield first
            if chunks is not None:
                async for chunk in chunks:
                    sent += len(chunk)
                    yield chunk
        finally:
            record(sent)

    return Stream(body(), status_code=status, media_type="application/octet-stream", headers=headers)


def byte_range(header: str, size: int) -> tuple[int, int] | None:
    """The inclusive range a `Range: bytes=...` header asks for, or None if unsatisfiable."""
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


def blob_created(repository: str, digest: str) -> Response[Any]:
    return empty(201, {"Location": f"/v2/{repository}/blobs/{digest}", "Docker-Content-Digest": digest})


async def start_upload(reg: Registry, request: Req, route: Route) -> Response[Any]:
    """POST: a mount, a monolithic upload (`?digest=` with a body), or a new upload session."""
    caller = await reg.caller(request, route, PUSH)
    await reg.require(request, caller, route, PUSH)
    params = request.query_params
    mount, source = params.get("mount"), params.get("from")
    if mount and not source:
        mounted = await _mount_from_anywhere(reg, caller, route.name, mount)
    elif mount and source:
        mounted = await _try_mount(reg, caller, route.name, mount, source)
    else:
        mounted = None
    if mounted is not None:
        reg.emit(request, caller, RegistryAction.BLOB_MOUNT, route.name, digest=mounted)
        return blob_created(route.name, mounted)
    if params.get("digest"):
        digest = parse_digest(params["digest"])
        size = await reg.uploads.monolithic(route.name, digest, body_chunks(request))
        reg.emit(request, caller, RegistryAction.BLOB_PUT, route.name, digest=str(digest), bytes=size, status=201)
        return blob_created(route.name, str(digest))
    upload_id = await reg.uploads.start(route.name)
    return empty(202, upload_headers(route.name, upload_id, 0))


async def _mount_from_anywhere(reg: Registry, caller: Caller, repository: str, digest: str) -> str | None:
    """A mount without `from`: link the blob from any repository holding it that the caller may read."""
    try:
        wanted = str(parse_digest(digest))
    except RegistryError:
        return None
    for name in await reg.metadata.repositories_holding(wanted):
        if mounted := await _try_mount(reg, caller, repository, wanted, name):
            return mounted
    return None


async def _try_mount(reg: Registry, caller: Caller, repository: str, digest: str, source: str) -> str | None:
    """Link the blob from `source` if the caller may read it there; None means: upload it instead.

    The caller's principal is asked, not its bearer token's scopes: clients rarely ask for the
    source repository's scope, and the policy still decides (a customer, a rival vendor: no).
    """
    try:
        validate_name(source)
        wanted = str(parse_digest(digest))
    except RegistryError:
        return None
    if PULL not in await reg.auth.policy.allowed_actions(caller.principal, source):
        return None
    if (await digest_decision(reg, caller, source, wanted)).allowed is False:
        return None
    return wanted if await reg.metadata.mount_blob(repository, source, wanted) is not None else None


async def upload_chunk(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PUSH)
    await reg.require(request, caller, route, PUSH)
    upload_id = route.ref or ""
    size = await reg.uploads.append(route.name, upload_id, body_chunks(request), request.headers.get("content-range"))
    return empty(202, upload_headers(route.name, upload_id, size))


async def finish_upload(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PUSH)
    await reg.require(request, caller, route, PUSH)
    raw = request.query_params.get("digest")
    if not raw:
        raise RegistryError("DIGEST_INVALID", "the digest query parameter is required to finish an upload")
    digest = parse_digest(raw)
    content_range = request.headers.get("content-range")
    size = await reg.uploads.finish(route.name, route.ref or "", digest, body_chunks(request), content_range)
    reg.emit(request, caller, RegistryAction.BLOB_PUT, route.name, digest=str(digest), bytes=size, status=201)
    return blob_created(route.name, str(digest))


async def upload_status(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PUSH)
    await reg.require(request, caller, route, PUSH)
    size = await reg.uploads.size(route.name, route.ref or "")
    return Response(
        content=b"", status_code=204, headers={**API_VERSION, **upload_headers(route.name, route.ref or "", size)}
    )


async def cancel_upload(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PUSH)
    await reg.require(request, caller, route, PUSH)
    await reg.uploads.cancel(route.name, route.ref or "")
    return Response(content=b"", status_code=204, headers=API_VERSION)


async def delete_blob(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, DELETE)
    await reg.require(request, caller, route, DELETE)
    digest = str(parse_digest(route.ref or ""))
    if not await reg.metadata.unlink_blob(route.name, digest):
        raise RegistryError("BLOB_UNKNOWN", f"blob {digest} not found in {route.name}")
    reg.emit(request, caller, RegistryAction.BLOB_DELETE, route.name, digest=digest, status=202)
    return empty(202)
