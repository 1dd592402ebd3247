"""The names of the changes Wharf records: each is an admin-log action and an outbox event.

Past tense, `<object>.<what happened>`. Registry reads and writes (`manifest.get`, `blob.put`, …) are
a different vocabulary: registry.events.RegistryAction.
"""

from __future__ import annotations

from enum import StrEnum


class DomainEvent(StrEnum):
    VENDOR_CREATED = "vendor.created"
    SETTINGS_UPDATED = "settings.updated"

    CUSTOMER_CREATED = "customer.created"
    CUSTOMER_UPDATED = "customer.updated"
    CUSTOMER_DELETED = "customer.deleted"

    LICENSE_CREATED = "license.created"
    LICENSE_UPDATED = "license.updated"
    LICENSE_SUSPENDED = "license.suspended"
    LICENSE_RESUMED = "license.resumed"
    LICENSE_DELETED = "license.deleted"

    PULL_TOKEN_CREATED = "pull_token.created"
    PULL_TOKEN_REVOKED = "pull_token.revoked"
    PULL_TOKEN_UPDATED = "pull_token.updated"  # its name, expiry, networks or limits
    VENDOR_TOKEN_CREATED = "vendor_token.created"
    VENDOR_TOKEN_REVOKED = "vendor_token.revoked"
    VENDOR_TOKEN_CAPPED = "vendor_token.capped"  # lowered to its creator's new role

    INVITATION_CREATED = "invitation.created"
    INVITATION_RESENT = "invitation.resent"
    INVITATION_REVOKED = "invitation.revoked"
    INVITATION_ACCEPTED = "invitation.accepted"

    MEMBER_ROLE_CHANGED = "member.role_changed"
    MEMBER_REMOVED = "member.removed"

    USER_PASSWORD_CHANGED = "user.password_changed"
    USER_PASSWORD_RESET = "user.password_reset"
    USER_VERIFIED = "user.verified"
    USER_ADOPTED = "user.adopted"  # an existing account made a new vendor's admin by `wharf bootstrap --adopt-existing`

    REPOSITORY_UPDATED = "repository.updated"  # its display name, description, icon or immutability rule
    RELEASE_NOTES_UPDATED = "release_notes.updated"
    RELEASE_NOTES_REMOVED = "release_notes.removed"
    TAG_DELETED = "tag.deleted"
    MANIFEST_DELETED = "manifest.deleted"

    EXPORT_CREATED = "export.created"
    EXPORT_COMPLETED = "export.completed"  # an export streamed to its end: rows, bytes, SHA-256 in the entry
    EXPORT_ABORTED = "export.aborted"  # an export cut short (the client went away): what was sent until then

    REPORT_SCHEDULE_CREATED = "report_schedule.created"
    REPORT_SCHEDULE_UPDATED = "report_schedule.updated"
    REPORT_SCHEDULE_DELETED = "report_schedule.deleted"


# What the admin log called these before the vocabulary was settled (migration 0009 renames the rows).
LEGACY_ACTIONS = {
    "customer.create": DomainEvent.CUSTOMER_CREATED,
    "customer.update": DomainEvent.CUSTOMER_UPDATED,
    "customer.delete": DomainEvent.CUSTOMER_DELETED,
    "license.create": DomainEvent.LICENSE_CREATED,
    "license.update": DomainEvent.LICENSE_UPDATED,
    "license.suspend": DomainEvent.LICENSE_SUSPENDED,
    "license.resume": DomainEvent.LICENSE_RESUMED,
    "license.delete": DomainEvent.LICENSE_DELETED,
    "pull_token.create": DomainEvent.PULL_TOKEN_CREATED,
    "pull_token.revoke": DomainEvent.PULL_TOKEN_REVOKED,
    "token.create": DomainEvent.VENDOR_TOKEN_CREATED,
    "token.revoke": DomainEvent.VENDOR_TOKEN_REVOKED,
    "invitation.create": DomainEvent.INVITATION_CREATED,
    "invitation.accept": DomainEvent.INVITATION_ACCEPTED,
    "member.update": DomainEvent.MEMBER_ROLE_CHANGED,
    "member.remove": DomainEvent.MEMBER_REMOVED,
    "settings.update": DomainEvent.SETTINGS_UPDATED,
}
