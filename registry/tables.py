"""Registry metadata in SQL: repositories, blobs, manifests (exact bytes), tags and uploads."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
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

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
DIGEST_LENGTH = 135  # "sha512:" + 128 hex
# SQLite otherwise hands a deleted row's id to the next insert; ids that download events, the admin log
# or a watermark still name must never come back (PostgreSQL sequences never reuse them anyway).
NEVER_REUSED = {"sqlite_autoincrement": True}


class RegistryBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Repository(RegistryBase):
    __tablename__ = "repositories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = _now()


class Blob(RegistryBase):
    __tablename__ = "blobs"
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = _now()


class RepositoryBlob(RegistryBase):
    """A blob is readable through a repository only once it was pushed or mounted there."""

    __tablename__ = "repository_blobs"
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(ForeignKey("blobs.digest"), primary_key=True)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (Index("ix_repository_blobs_digest", "digest"),)


class Manifest(RegistryBase):
    __tablename__ = "manifests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    media_type: Mapped[str] = mapped_column(String(255))
    artifact_type: Mapped[str | None] = mapped_column(String(255))
    subject: Mapped[str | None] = mapped_column(String(DIGEST_LENGTH))
    annotations: Mapped[str | None] = mapped_column(Text)  # JSON text, for referrer descriptors
    kind: Mapped[str] = mapped_column(String(16), server_default="artifact")  # registry.kinds.Kind
    details: Mapped[str | None] = mapped_column(Text)  # JSON: registry.describe (chart metadata, platform)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = _now()
    __table_args__ = (
        UniqueConstraint("repository_id", "digest"),
        Index("ix_manifests_repository_subject", "repository_id", "subject"),
    )


class ManifestReference(RegistryBase):
    """What a manifest points to: its config and layers (blobs) or, for an index, child manifests."""

    __tablename__ = "manifest_references"
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"), primary_key=True)
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH), primary_key=True)
    is_manifest: Mapped[bool] = mapped_column(Boolean)
    platform: Mapped[str | None] = mapped_column(String(128))
    __table_args__ = (Index("ix_manifest_references_digest", "digest"),)


class Tag(RegistryBase):
    __tablename__ = "tags"
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    manifest_id: Mapped[int] = mapped_column(ForeignKey("manifests.id", ondelete="CASCADE"), index=True)
    updated_at: Mapped[datetime] = _now()


class TagHistory(RegistryBase):
    """Every (tag -> digest) assignment ever made: entitlement by digest needs the past too."""

    __tablename__ = "tag_history"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(128))
    digest: Mapped[str] = mapped_column(String(DIGEST_LENGTH))
    pushed_at: Mapped[datetime] = _now()
    # ids are the change watcher's watermark (registry/changes.py): garbage collection deletes rows
    __table_args__ = (Index("ix_tag_history_repository_digest", "repository_id", "digest"), NEVER_REUSED)


class Upload(RegistryBase):
    __tablename__ = "uploads"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class RegistryCounter(RegistryBase):
    """Counters every process watches to drop caches another process made stale (`collected`: GC batches)."""

    __tablename__ = "registry_counters"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger)
