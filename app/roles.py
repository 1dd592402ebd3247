"""Roles and what they permit. A token never carries more than the role of whoever created it."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    READ = "read"  # repositories, customers, licenses (read-only views)
    PULL = "pull"
    PUSH = "push"
    DELETE = "delete"  # delete tags, manifests and blobs
    MANAGE_CUSTOMERS = "manage_customers"  # customers, invitations, licenses, customer pull tokens
    MANAGE_TOKENS = "manage_tokens"  # vendor API and push tokens
    MANAGE_TEAM = "manage_team"
    AUDIT = "audit"  # download reports, admin audit log, exports


VENDOR_ROLES: dict[str, frozenset[Permission]] = {
    "admin": frozenset(Permission),
    "release": frozenset({Permission.READ, Permission.PULL, Permission.PUSH, Permission.MANAGE_TOKENS}),
    "account_manager": frozenset(
        {Permission.READ, Permission.PULL, Permission.MANAGE_CUSTOMERS, Permission.MANAGE_TOKENS}
    ),
    "support": frozenset({Permission.READ, Permission.PULL}),
    "auditor": frozenset({Permission.READ, Permission.AUDIT}),
}
CUSTOMER_ROLES = ("admin", "member")


def permissions(role: str) -> frozenset[Permission]:
    return VENDOR_ROLES.get(role, frozenset())


def may_grant(creator_role: str, role: str) -> bool:
    """A token (or invitation) may carry `role` only if it permits nothing its creator lacks."""
    return role in VENDOR_ROLES and permissions(role) <= permissions(creator_role)


def strongest_within(allowed: frozenset[Permission]) -> str | None:
    """The role granting the most permissions without any outside `allowed` (None: no role fits)."""
    fitting = [role for role, granted in VENDOR_ROLES.items() if granted <= allowed]
    return max(fitting, key=lambda role: len(VENDOR_ROLES[role]), default=None)
