"""Manifests: GET/HEAD by tag or digest, PUT with validation, DELETE of tags and manifests."""

from __future__ import annotations

from typing import Any

from litestar import Response

from registry.access import Caller, can_read
from registry.auth import ALLOWED, DELETE, PULL, PUSH, Decision, Read
from registry.describe import describe
from registry.details import read_config
from registry.digests import digest_of, looks_like_digest, parse_digest
from registry.errors import RegistryError
from registry.events import RegistryAction
from registry.http.common import API_VERSION, Registry, Req, empty
from registry.http.gate import admit_read, digest_decision, enforce, tag_decision, warning_headers
from registry.kinds import classify, cosign_subject
from registry.manifests import INDEX_TYPES, MAX_MANIFEST_SIZE, ParsedManifest, parse_manifest
from registry.metadata import ManifestRecord
from registry.names import Route, validate_tag


async def _readable_manifest(reg: Registry, request: Req, route: Route) -> tuple[Caller, ManifestRecord, Decision]:
    caller = await reg.caller(request, route, PULL)
    ref = route.ref or ""
    record, decision = None, ALLOWED
    if await can_read(reg.auth, caller, route.name):
        if looks_like_digest(ref):
            record = await reg.metadata.manifest(route.name, str(parse_digest(ref)), by_digest=True)
            if record is not None:
                decision = await digest_decision(reg, caller, route.name, record.digest)
        else:
            decision = await tag_decision(reg, caller, route.name, validate_tag(ref))
            enforce(reg, request, caller, decision, route.name, ref)
            record = await reg.metadata.manifest(route.name, ref, by_digest=False)
    if record is None:
        raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} not found in {route.name}")
    enforce(reg, request, caller, decision, route.name, ref)
    accept = ",".join(request.headers.getall("accept", []))  # clients may send several Accept lines
    if accept and not accepts(accept, record.media_type):
        raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} is {record.media_type}, not an accepted type")
    return caller, record, decision


def _headers(record: ManifestRecord, decision: Decision) -> dict[str, str]:
    return {
        **API_VERSION,
        "Docker-Content-Digest": record.digest,
        "ETag": f'"{record.digest}"',
        "Content-Length": str(len(record.content)),
        "Content-Type": record.media_type,
        **warning_headers(decision),
    }


async def get_manifest(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller, record, decision = await _readable_manifest(reg, request, route)
    subject = caller.principal.subject
    # a platform manifest (an index's child) is part of a pull when the caller was served an index listing
    # it within the last minute; fetched on its own it is a pull of its own
    part_of_pull = reg.pull_groups.part_of_pull(subject, route.name, record.digest) if record.index_child else None
    read = Read("pull", route.name, record.digest, len(record.content), decision.license, not part_of_pull)
    quota = admit_read(reg, request, caller, read, route.ref)
    if record.media_type in INDEX_TYPES:  # only once served: a refused index makes no pull to be part of
        reg.pull_groups.index_fetched(subject, route.name, record.digest, record.content)
    reg.emit(
        request,
        caller,
        RegistryAction.MANIFEST_GET,
        route.name,
        license=decision.license,
        reference=route.ref,
        digest=record.digest,
        media_type=record.media_type,
        bytes=len(record.content),
        part_of_pull=part_of_pull,
    )
    headers = {**_headers(record, decision), **quota}
    return Response(content=record.content, media_type=record.media_type, headers=headers)


async def head_manifest(reg: Registry, request: Req, route: Route) -> Response[None]:
    caller, record, decision = await _readable_manifest(reg, request, route)
    quota = admit_read(reg, request, caller, Read("check", route.name, record.digest, 0, decision.license), route.ref)
    reg.emit(
        request,
        caller,
        RegistryAction.MANIFEST_HEAD,
        route.name,
        license=decision.license,
        reference=route.ref,
        digest=record.digest,
        media_type=record.media_type,
    )
    return Response(content=None, headers={**_headers(record, decision), **quota})


async def put_manifest(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PUSH)
    await reg.require(request, caller, route, PUSH)
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
    kind = classify(parsed)
    details = describe(kind, await _config_of(reg, route.name, parsed))
    frozen = await _frozen_tags(reg, caller, route.name, tags)
    try:
        missing = await reg.metadata.put_manifest(
            route.name, digest, content, parsed, tags, kind=kind, details=details, frozen=frozen
        )
    except RegistryError as exc:
        if exc.code == "DENIED":  # a frozen tag would move
            reg.emit(
                request,
                caller,
                RegistryAction.DENIED,
                route.name,
                reference=ref,
                digest=digest,
                status=403,
                reason=exc.message,
                reason_code="immutable_tag",
            )
        raise
    if missing:
        raise RegistryError(
            "MANIFEST_BLOB_UNKNOWN", f"manifest references unknown {missing[0]}", detail={"missing": missing}
        )
    reg.emit(
        request,
        caller,
        RegistryAction.MANIFEST_PUT,
        route.name,
        reference=ref,
        digest=digest,
        media_type=parsed.media_type,
        bytes=len(content),
        status=201,
    )
    headers = {"Location": f"/v2/{route.name}/manifests/{digest}", "Docker-Content-Digest": digest}
    if parsed.subject:
        headers["OCI-Subject"] = parsed.subject
    if request.query_params.getall("tag", []):
        headers["OCI-Tag"] = ", ".join(dict.fromkeys(tags))  # confirms which `?tag=` values were applied
    return empty(201, headers)


async def _config_of(reg: Registry, repository: str, parsed: ParsedManifest) -> bytes | None:
    """The config blob's bytes when it is small enough to describe (None if absent: the push then fails)."""
    if parsed.config is None:
        return None
    return await read_config(reg.store, parsed.config, await reg.metadata.blob_size(repository, parsed.config))


async def _frozen_tags(reg: Registry, caller: Caller, repository: str, tags: list[str]) -> dict[str, str]:
    """The tags a rule keeps from moving, with the rule; cosign's signature tags always move."""
    frozen = {}
    for tag in dict.fromkeys(tags):
        if cosign_subject(tag) is None:
            decision = await reg.auth.policy.tag_may_move(caller.principal, repository, tag)
            if not decision.allowed:
                frozen[tag] = decision.reason or "an immutability rule"
    return frozen


async def delete_manifest(reg: Registry, request: Req, route: Route) -> Response[Any]:
    """DELETE by digest removes the manifest and its tags; by tag removes just the tag."""
    caller = await reg.caller(request, route, DELETE)
    await reg.require(request, caller, route, DELETE)
    ref = route.ref or ""
    if looks_like_digest(ref):
        found = await reg.metadata.delete_manifest(route.name, str(parse_digest(ref)))
    else:
        found = await reg.metadata.delete_tag(route.name, validate_tag(ref))
    if not found:
        raise RegistryError("MANIFEST_UNKNOWN", f"manifest {ref} not found in {route.name}")
    reg.emit(request, caller, RegistryAction.MANIFEST_DELETE, route.name, reference=ref, status=202)
    return empty(202)


async def _read_limited(request: Req, limit: int) -> bytes:
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


def accepts(accept: str, media_type: str) -> bool:
    accepted = {part.split(";")[0].strip() for part in accept.split(",")} - {""}
    return not accepted or media_type in accepted or "*/*" in accepted
