"""Who may call a route, declared on the route: every handler carries exactly one `Rule` among its guards
(tests/test_route_permissions.py walks the app to prove it).

A rule authenticates the caller for its audience (an API token, a vendor person, a customer person),
checks the permission, and leaves the identity in the request's state, where the `actor` and `user`
dependencies (app.dependencies) pick it up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from litestar.connection import ASGIConnection
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    TooManyRequestsException,
)
from litestar.handlers.base import BaseRouteHandler

from app.identity import TokenIdentity
from app.roles import Permission, permissions
from app.web.users import SignInRequired, current_user

Audience = Literal["public", "registry", "api", "vendor", "customer", "signed_in"]
Connection = ASGIConnection[Any, Any, Any, Any]
API_IDENTITY = "api_identity"  # where the API rule leaves the calling token in the request's state


@dataclass(frozen=True)
class Rule:
    """A route's access rule. `permission` applies to vendor audiences; `customer_admin` to customers."""

    audience: Audience
    permission: Permission | None = None
    customer_admin: bool = False

    async def __call__(self, connection: Connection, _handler: BaseRouteHandler) -> None:
        if self.audience in ("public", "registry"):
            return
        if self.audience == "api":
            token = await api_identity(connection)
            self._check(token.role, f"the token's role '{token.role}'")
            return
        user = await current_user(connection)
        if user is None:
            raise SignInRequired("please sign in")
        if self.audience == "signed_in":
            return
        if user.org_kind != self.audience:
            raise NotFoundException("no such page")  # the other portal's pages do not exist for you
        if self.audience == "customer":
            if self.customer_admin and user.role != "admin":
                raise NotFoundException("no such page")
            return
        self._check(user.role, f"the role '{user.role}'")

    def _check(self, role: str, who: str) -> None:
        if self.permission is not None and self.permission not in permissions(role):
            raise PermissionDeniedException(f"{who} does not allow {self.permission.value}")

    def describe(self) -> str:
        """How the README's route table names the rule."""
        if self.audience in ("api", "vendor"):
            return f"{self.audience}: {self.permission.value if self.permission else 'any role'}"
        if self.audience == "customer":
            return "customer: admin" if self.customer_admin else "customer: any member"
        return self.audience


async def api_identity(connection: Connection) -> TokenIdentity:
    """The vendor API token of `Authorization: Bearer …`, resolved once per request."""
    found: TokenIdentity | None = connection.state.get(API_IDENTITY)
    if found is not None:
        return found
    scheme, _, secret = (connection.headers.get("authorization") or "").partition(" ")
    policy = connection.app.state.policy
    principal = await policy.authenticate(secret.strip()) if scheme.lower() == "bearer" and secret.strip() else None
    if principal is None:
        raise NotAuthorizedException("an API token is required: Authorization: Bearer wharf_api_…")
    token: TokenIdentity = principal.identity
    if token.org_kind != "vendor" or token.token_kind != "api":
        raise PermissionDeniedException("only vendor API tokens may use the automation API")
    admission = policy.admit(principal, None)  # vendor tokens have no networks: this is the request rate
    if not admission.allowed:
        raise TooManyRequestsException(admission.reason, headers=dict(admission.headers))
    connection.state[API_IDENTITY] = token
    return token


# The rules, by name, as routes declare them.
PUBLIC = Rule("public")
"""Anyone, signed in or not (sign-in, password reset, invitation links, health probes, static files)."""
REGISTRY = Rule("registry")
"""The OCI registry and its token endpoint: every request is decided by the AccessPolicy itself."""
SIGNED_IN = Rule("signed_in")
"""Any signed-in person, of a vendor or a customer (their own profile)."""
CUSTOMER = Rule("customer")
"""Any person of a customer organization."""
CUSTOMER_ADMIN = Rule("customer", customer_admin=True)
"""A customer's admins (team, every token of the organization)."""


def api(permission: Permission) -> Rule:
    """A vendor API token whose role grants `permission`."""
    return Rule("api", permission)


def staff(permission: Permission) -> Rule:
    """A signed-in person of the vendor whose role grants `permission`."""
    return Rule("vendor", permission)
