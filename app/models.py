"""Identity tables: organizations, users, memberships, tokens, signing keys."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from registry.tables import NAMING, NEVER_REUSED


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Organization(Base):
    __tablename__ = "organizations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # vendor | customer
    slug: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    vendor_id: Mapped[int | None] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = _created()
    # Branding of a vendor's portals (edited on the vendor portal's settings page).
    logo_url: Mapped[str | None] = mapped_column(String(500))
    accent_color: Mapped[str | None] = mapped_column(String(7))  # #rrggbb
    welcome_text: Mapped[str | None] = mapped_column(Text)
    # A vendor's default immutability rule for its repositories (app.immutability): None is off.
    immutable_tags: Mapped[str | None] = mapped_column(String(16))
    # A token used from more than this many networks in a day is flagged (app.reports); None: the default.
    sharing_networks: Mapped[int | None] = mapped_column(Integer)
    __table_args__ = (UniqueConstraint("vendor_id", "slug"), NEVER_REUSED)


class VendorLogo(Base):
    """A logo the vendor uploaded (PNG, JPEG or WebP, size-capped), served by Wharf at /branding/logo/<id>."""

    __tablename__ = "vendor_logos"
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(32))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    sha256: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = _created()


class RepositorySettings(Base):
    """How a repository shows as a product (name, description, icon) and whether its tags may move."""

    __tablename__ = "repository_settings"
    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    display_name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    icon_url: Mapped[str | None] = mapped_column(String(500))
    immutable_tags: Mapped[str | None] = mapped_column(String(16))  # None: the vendor's default; off; semver
    updated_at: Mapped[datetime] = _created()


class ReleaseNote(Base):
    """The vendor's notes for one version (tag) of a repository, in Markdown."""

    __tablename__ = "release_notes"
    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    tag: Mapped[str] = mapped_column(String(128), primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = _created()


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[datetime] = _created()
    # When the owner proved the address by following a mailed link. An account made from an invitation
    # link that was shown rather than mailed stays unverified until then, and holds only that membership.
    email_verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (NEVER_REUSED,)


class Membership(Base):
    __tablename__ = "memberships"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = _created()


class Token(Base):
    """A bearer secret: only its SHA-256 is kept. `kind` is api, push or pull."""

    __tablename__ = "tokens"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    hint: Mapped[str] = mapped_column(String(32))  # prefix + first characters, for lists
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(32))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Pull tokens only (app.limits): JSON list of networks (none: anywhere), JSON limits (none: unlimited).
    allowed_cidrs: Mapped[str | None] = mapped_column(Text)
    limits: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (NEVER_REUSED,)


class SigningKey(Base):
    __tablename__ = "signing_keys"
    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    private_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = _created()


class License(Base):
    """A customer's entitlement: grants of (repository pattern, tag rules) within a validity window."""

    __tablename__ = "licenses"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | suspended
    valid_from: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    valid_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = _created()
    updated_at: Mapped[datetime] = _created()
    # JSON (app.limits): limits shared by every pull under this license; what new tokens start with.
    limits: Mapped[str | None] = mapped_column(Text)
    token_defaults: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (NEVER_REUSED,)


class LicenseGrant(Base):
    __tablename__ = "license_grants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    license_id: Mapped[int] = mapped_column(ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    repository: Mapped[str] = mapped_column(String(255))  # pattern: acme/app, acme/*, acme/**
    tags: Mapped[str] = mapped_column(Text)  # JSON list of tag rules


class Invitation(Base):
    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(320))
    role: Mapped[str] = mapped_column(String(32))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Who sent it (a user id; kept when they are deleted, ids are never reused): when they leave, or lose
    # the right to invite, their open invitations are revoked.
    invited_by: Mapped[int | None] = mapped_column(Integer)
    # "mailed": the link went only to the address, so accepting it proves the address; "shown": the
    # inviter (or API automation) saw the link, so the account made from it starts unverified.
    delivery: Mapped[str] = mapped_column(String(16), default="shown")
    __table_args__ = (NEVER_REUSED,)


class SingleUseLink:
    """A link mailed to a person that works once and expires; only the SHA-256 of its secret is kept."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _created()
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EmailVerification(SingleUseLink, Base):
    """Following it marks the account's address as proven (`users.email_verified_at`)."""

    __tablename__ = "email_verifications"
    __table_args__ = (NEVER_REUSED,)


class OutboxMessage(Base):
    """A domain event on its way out (webhooks, mail, reports), written in its change's transaction.

    `id` is what a receiver sees on every attempt, so it can drop a repeat.
    """

    __tablename__ = "outbox"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    vendor_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # not before (retries back off)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_outbox_state_available", "state", "available_at"),)


class DownloadEvent(Base):
    """One registry read (or denial, push, delete) as recorded from the spool; `id` makes inserts idempotent."""

    __tablename__ = "download_events"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    action: Mapped[str] = mapped_column(String(32))
    vendor_id: Mapped[int | None] = mapped_column(Integer)
    customer_id: Mapped[int | None] = mapped_column(Integer, index=True)
    license_id: Mapped[int | None] = mapped_column(Integer)
    token_id: Mapped[int | None] = mapped_column(Integer)
    repository: Mapped[str] = mapped_column(String(255))
    reference: Mapped[str | None] = mapped_column(String(255))
    digest: Mapped[str | None] = mapped_column(String(135))
    media_type: Mapped[str | None] = mapped_column(String(255))
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(Text)
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(Text)
    platform: Mapped[str | None] = mapped_column(String(128))  # os/arch of an index child, filled by the writer
    user_email: Mapped[str | None] = mapped_column(String(320))  # who created the token, filled by the writer
    # Names as they were when the event happened, filled by the writer, so renames and deletions keep reports readable
    customer_name: Mapped[str | None] = mapped_column(String(200))
    license_name: Mapped[str | None] = mapped_column(String(200))
    token_name: Mapped[str | None] = mapped_column(String(200))
    reason_code: Mapped[str | None] = mapped_column(String(32))  # a denial's reason, machine-readable
    # A platform manifest fetched after its index by the same token (not a pull of its own); None: not a platform
    part_of_pull: Mapped[bool | None] = mapped_column(Boolean)
    __table_args__ = (Index("ix_download_events_vendor_at", "vendor_id", "at"),)


class UsageDaily(Base):
    """Download events of one UTC day summed per customer, license, repository, tag and client address.

    Pulls are attributed to the first request of each pull (docs/audit.md), so these rows add up exactly.
    """

    __tablename__ = "usage_daily"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    vendor_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    customer_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: a vendor token
    license_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: none
    repository: Mapped[str] = mapped_column(String(255), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)  # "": asked for by digest
    client_ip: Mapped[str] = mapped_column(String(64), primary_key=True)
    pulls: Mapped[int] = mapped_column(BigInteger)
    version_checks: Mapped[int] = mapped_column(BigInteger)
    reads: Mapped[int] = mapped_column(BigInteger)  # successful manifest GETs and HEADs: who counts as a client
    bytes: Mapped[int] = mapped_column(BigInteger)
    denials: Mapped[int] = mapped_column(BigInteger)
    customer_name: Mapped[str | None] = mapped_column(String(200))  # as of the day's last event
    license_name: Mapped[str | None] = mapped_column(String(200))
    __table_args__ = (Index("ix_usage_daily_vendor_day", "vendor_id", "day"),)


class UsageRolledUpDay(Base):
    """A UTC day whose `usage_daily` rows are complete; a late event for it deletes this row."""

    __tablename__ = "usage_rolled_up_days"
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    rolled_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class QuotaUsage(Base):
    """Pulls and bytes one process counted for a token or a license in a UTC day or month (app.quotas).

    Each process writes only its own rows (`node`, new at every start), with absolute figures, so a
    repeated write is harmless; a quota's use is the sum over nodes."""

    __tablename__ = "quota_usage"
    period: Mapped[date] = mapped_column(Date, primary_key=True)  # the day, or the month's first day
    span: Mapped[str] = mapped_column(String(5), primary_key=True)  # day | month
    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # token | license
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    pulls: Mapped[int] = mapped_column(BigInteger)
    bytes: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class AdminAuditEntry(Base):
    """A change made by vendor staff, their tokens, customers' people or Wharf itself, written in the
    same transaction as the change."""

    __tablename__ = "admin_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = _created()
    vendor_id: Mapped[int] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))  # e.g. "token:12 (ci)"
    client_ip: Mapped[str | None] = mapped_column(String(64))
    via: Mapped[str | None] = mapped_column(String(16))  # portal, api, cli, … (app.identity.Channel)
    action: Mapped[str] = mapped_column(String(64))  # app.domain_events.DomainEvent: license.created, …
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[str | None] = mapped_column(Text)  # JSON, never a secret
    after: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (Index("ix_admin_audit_vendor_at", "vendor_id", "at"),)


class WebSession(Base):
    """A signed-in browser: the cookie holds only `id`; deleting the row ends the session."""

    __tablename__ = "web_sessions"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class PasswordReset(SingleUseLink, Base):
    """Following it (within an hour) sets a new password and spends the account's other open links."""

    __tablename__ = "password_resets"


class ThrottleCounter(Base):
    """Sign-in failures or reset requests under one key (account, address, or both) in a fixed window, and
    the lock they led to: in the database, so every node and a restart see the same counts."""

    __tablename__ = "throttle_counters"
    key: Mapped[str] = mapped_column(String(400), primary_key=True)  # e.g. "signin-pair:a@b.test|10.0.0.1"
    count: Mapped[int] = mapped_column(Integer)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExportRecord(Base):
    """One export as it was sent: who asked for what, and the row count and SHA-256 of exactly the bytes sent."""

    __tablename__ = "export_records"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    vendor_id: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(32))  # pulls | activity | usage | audit-log
    format: Mapped[str] = mapped_column(String(8))
    filters: Mapped[str] = mapped_column(Text)  # JSON
    actor: Mapped[str] = mapped_column(String(320))
    user_id: Mapped[int | None] = mapped_column(Integer)
    token_id: Mapped[int | None] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(16))  # streaming | complete | aborted
    rows: Mapped[int | None] = mapped_column(BigInteger)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    sha256: Mapped[str | None] = mapped_column(String(64))


class ReportSchedule(Base):
    """A usage report mailed weekly or monthly; the lease makes exactly one node send a given run."""

    __tablename__ = "report_schedules"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    vendor_id: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    cadence: Mapped[str] = mapped_column(String(8))  # weekly | monthly
    group_by: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[str] = mapped_column(Text)  # JSON list of addresses
    created_by: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    __table_args__ = (NEVER_REUSED,)
