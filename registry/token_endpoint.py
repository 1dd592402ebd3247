"""`/token`: the Docker token flow (GET + Basic auth) and OAuth2 (POST password / refresh_token)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.exceptions import HTTPException

from registry.access import basic_password
from registry.auth import Principal, Scope, parse_scopes
from registry.errors import RegistryError
from registry.http import registry_error_response
from registry.http.common import UNAVAILABLE, Registry, client_ip, refusal

Req = Request[Any, Any, Any]


def build_token_router(reg: Registry) -> Router:
    auth = reg.auth
    policy, tokens = auth.policy, auth.tokens

    async def grant(principal: Principal, requested: list[Scope]) -> list[Scope]:
        """The intersection of what was asked and what the policy allows."""
        granted = []
        for scope in requested:
            if scope.type == "repository":
                allowed = await policy.allowed_actions(principal, scope.name)
                actions = allowed if "*" in scope.actions else scope.actions & allowed
            elif scope.type == "registry" and scope.name == "catalog":
                actions = frozenset({"*"})
            else:
                actions = frozenset()
            if actions:
                granted.append(Scope(scope.type, scope.name, actions))
        return granted

    async def answer(request: Req, principal: Principal, scopes: list[Scope], offline: bool) -> Response[Any]:
        admission = policy.admit(principal, client_ip(request, reg.trusted_proxies))
        if not admission.allowed:  # outside the token's networks (403), or too many requests (429)
            raise refusal(admission)
        token, ttl = tokens.issue(principal.subject, await grant(principal, scopes))
        body: dict[str, Any] = {
            "token": token,
            "access_token": token,
            "expires_in": ttl,
            "issued_at": datetime.now(UTC).isoformat(),
        }
        if offline:
            body["refresh_token"] = tokens.issue_refresh(principal.subject)
        return Response(content=body, headers={"Cache-Control": "no-store"})

    def unauthorized(message: str) -> RegistryError:
        return RegistryError("UNAUTHORIZED", message, headers={"WWW-Authenticate": f'Basic realm="{auth.realm}"'})

    @get("/token")
    async def token_get(request: Req) -> Response[Any]:
        header = request.headers.get("authorization") or ""
        scheme, _, credentials = header.partition(" ")
        secret = basic_password(credentials) if scheme.lower() == "basic" else None
        if not secret:
            raise unauthorized("Basic credentials are required: any user name, the token as password")
        principal = await policy.authenticate(secret)
        if principal is None:
            raise unauthorized("invalid credentials")
        params = request.query_params
        offline = params.get("offline_token", "").lower() == "true"
        return await answer(request, principal, parse_scopes(params.getall("scope", [])), offline)

    @post("/token", status_code=200)
    async def token_post(request: Req) -> Response[Any]:
        form = await request.form()
        grant_type = form.get("grant_type")
        scopes = parse_scopes([str(s) for s in form.getall("scope")] if "scope" in form else [])
        if grant_type == "password":
            principal = await policy.authenticate(str(form.get("password") or ""))
            if principal is None:
                raise unauthorized("invalid credentials")
            offline = str(form.get("access_type", "")) == "offline"
            return await answer(request, principal, scopes, offline)
        if grant_type == "refresh_token":
            verified = tokens.verify(str(form.get("refresh_token") or ""))
            principal = await policy.resolve(verified.subject) if verified and verified.kind == "refresh" else None
            if principal is None:
                raise unauthorized("invalid or revoked refresh token")
            return await answer(request, principal, scopes, False)
        raise RegistryError("UNSUPPORTED", f"unsupported grant_type {grant_type!r}", status=400)

    return Router(
        path="/",
        route_handlers=[token_get, token_post],
        exception_handlers={
            RegistryError: registry_error_response,
            HTTPException: registry_error_response,  # e.g. a form too large: OCI errors here too
            **dict.fromkeys(UNAVAILABLE, registry_error_response),
        },
        include_in_schema=False,
    )
