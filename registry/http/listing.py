"""Listings: tags (paginated), the catalog (only what the caller may read), referrers."""

from __future__ import annotations

import json
from typing import Any

from litestar import Response

from registry.access import Caller, can_read
from registry.auth import PULL
from registry.digests import parse_digest
from registry.errors import RegistryError
from registry.http.common import API_VERSION, MAX_PAGE, Registry, Req, page_size
from registry.http.gate import digest_decision, readable_tags
from registry.manifests import OCI_INDEX
from registry.names import Route


async def list_tags(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PULL)
    limit, last = page_size(request), request.query_params.get("last")
    readable = await can_read(reg.auth, caller, route.name)
    names = await readable_tags(reg, caller, route.name, limit, last) if readable else None
    if names is None:
        raise RegistryError("NAME_UNKNOWN", f"repository {route.name} not found")
    headers = dict(API_VERSION)
    if limit and len(names) == limit:
        headers["Link"] = f'</v2/{route.name}/tags/list?n={limit}&last={names[-1]}>; rel="next"'
    return Response(content={"name": route.name, "tags": names}, headers=headers)


async def catalog(reg: Registry, request: Req) -> Response[Any]:
    caller = await reg.auth.caller(request.headers.get("authorization"), "registry:catalog:*")
    if caller.token_access is not None and not caller.token_access.get(("registry", "catalog")):
        raise reg.auth.challenge("registry:catalog:*", "insufficient_scope")
    limit = page_size(request)
    limit = MAX_PAGE if limit is None else limit
    names = await _visible_repositories(reg, caller, limit, request.query_params.get("last"))
    headers = dict(API_VERSION)
    if limit and len(names) == limit:
        headers["Link"] = f'</v2/_catalog?n={limit}&last={names[-1]}>; rel="next"'
    return Response(content={"repositories": names}, headers=headers)


async def _visible_repositories(reg: Registry, caller: Caller, limit: int, last: str | None) -> list[str]:
    """Walk repositories in name order, keeping those the caller may pull, until a page is full."""
    batch = max(limit, 100)
    names: list[str] = []
    while len(names) < limit:
        page = await reg.metadata.repositories(batch, last)
        for name in page:
            if await reg.auth.policy.lists_repository(caller.principal, name):
                names.append(name)
        if len(page) < batch:
            break
        last = page[-1]
    return names[:limit]


async def referrers(reg: Registry, request: Req, route: Route) -> Response[Any]:
    caller = await reg.caller(request, route, PULL)
    subject = str(parse_digest(route.ref or ""))
    artifact_type = request.query_params.get("artifactType")
    readable = await can_read(reg.auth, caller, route.name)
    if readable:
        readable = (await digest_decision(reg, caller, route.name, subject)).allowed
    found = await reg.metadata.referrers(route.name, subject, artifact_type) if readable else []
    headers = dict(API_VERSION)
    if artifact_type is not None:
        headers["OCI-Filters-Applied"] = "artifactType"
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": found}
    return Response(content=json.dumps(index).encode(), media_type=OCI_INDEX, headers=headers)
