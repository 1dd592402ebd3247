"""Who is behind a request, built once when it is authenticated: a token (registry, API) or a person
signed in to a portal. Services receive it as an `Actor`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from app.limits import Limits, Network
from app.roles import Permission, permissions


class Channel(StrEnum):
    """Through what a change arrives; kept with every admin-log entry and domain event."""

    PORTAL = "portal"
    API = "api"
    CLI = "cli"
    STRIPE = "stripe"
    SSO = "sso"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class TokenIdentity:
    """A token secret resolved against the database: what the registry and the API act on."""

    token_id: int
    token_kind: str  # api | push | pull
    name: str
    role: str
    org_id: int
    org_kind: str  # vendor | customer
    org_slug: str
    vendor_id: int
    vendor_slug: str
    created_by: int | None  # the person behind the token
    networks: tuple[Network, ...] = ()  # a pull token may be used only from these (none: anywhere)
    limits: Limits = field(default_factory=Limits)  # a pull token's own quotas

    @property
    def customer_id(self) -> int | None:
        return self.org_id if self.org_kind == "customer" else None


@dataclass(frozen=True, slots=True)
class Actor:
    """Who makes a change: a person or a token, in which organization, with what role, from where."""

    via: Channel
    vendor_id: int
    vendor_slug: str
    org_id: int
    org_kind: str  # vendor | customer | system
    role: str
    label: str  # how the admin log names the actor: "user:3 (ann@acme.test)", "token:12 (ci)"
    user_id: int | None = None  # the person (for a token: who created it)
    token_id: int | None = None
    address: str | None = None

    @property
    def is_vendor_staff(self) -> bool:
        return self.org_kind == "vendor"

    def may(self, permission: Permission) -> bool:
        """A vendor permission (customers' people hold none of these; their rules are per service)."""
        return self.org_kind == "vendor" and permission in permissions(self.role)

    @classmethod
    def of_token(cls, token: TokenIdentity, via: Channel, address: str | None) -> Actor:
        return cls(
            via=via,
            vendor_id=token.vendor_id,
            vendor_slug=token.vendor_slug,
            org_id=token.org_id,
            org_kind=token.org_kind,
            role=token.role,
            label=f"token:{token.token_id} ({token.name})",
            user_id=token.created_by,
            token_id=token.token_id,
            address=address,
        )

    @classmethod
    def person(
        cls,
        user_id: int,
        email: str,
        org_id: int,
        org_kind: str,
        vendor_id: int,
        role: str,
        *,
        vendor_slug: str = "",
        via: Channel = Channel.PORTAL,
        address: str | None = None,
    ) -> Actor:
        return cls(
            via=via,
            vendor_id=vendor_id,
            vendor_slug=vendor_slug,
            org_id=org_id,
            org_kind=org_kind,
            role=role,
            label=f"user:{user_id} ({email})",
            user_id=user_id,
            address=address,
        )

    @classmethod
    def anonymous(cls, address: str | None) -> Actor:
        """Someone holding a link (invitation, reset), not yet known: replaced by the person once found."""
        return cls(Channel.PORTAL, 0, "", 0, "anonymous", "", "anonymous", address=address)

    @classmethod
    def system(cls, vendor_id: int, vendor_slug: str, via: Channel = Channel.SYSTEM, label: str = "system") -> Actor:
        """Wharf itself (the CLI run by an operator, a scheduled job): every permission of the vendor."""
        return cls(
            via=via,
            vendor_id=vendor_id,
            vendor_slug=vendor_slug,
            org_id=vendor_id,
            org_kind="vendor",
            role="admin",
            label=label,
        )
