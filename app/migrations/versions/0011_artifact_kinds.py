"""artifact kinds: every manifest's kind (and, from now on, its chart or image details), repository
settings (display name, description, icon, immutability), release notes, the vendor's default
immutability rule and uploaded logo

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30 23:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from registry.errors import RegistryError
from registry.kinds import classify
from registry.manifests import parse_manifest

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
BATCH = 500


def _created() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "updated_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
    )


def upgrade() -> None:
    op.add_column("manifests", sa.Column("kind", sa.String(length=16), server_default="artifact", nullable=False))
    op.add_column("manifests", sa.Column("details", sa.Text(), nullable=True))
    op.add_column("organizations", sa.Column("immutable_tags", sa.String(length=16), nullable=True))
    op.create_table(
        "repository_settings",
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("display_name", sa.String(length=200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("icon_url", sa.String(length=500), nullable=True),
        sa.Column("immutable_tags", sa.String(length=16), nullable=True),
        _created(),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_repository_settings_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository", name=op.f("pk_repository_settings")),
    )
    op.create_index(op.f("ix_repository_settings_vendor_id"), "repository_settings", ["vendor_id"])
    op.create_table(
        "release_notes",
        sa.Column("repository", sa.String(length=255), nullable=False),
        sa.Column("tag", sa.String(length=128), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_release_notes_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("repository", "tag", name=op.f("pk_release_notes")),
    )
    op.create_index(op.f("ix_release_notes_vendor_id"), "release_notes", ["vendor_id"])
    op.create_table(
        "vendor_logos",
        sa.Column("vendor_id", sa.Integer(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("content", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        _created(),
        sa.ForeignKeyConstraint(
            ["vendor_id"],
            ["organizations.id"],
            name=op.f("fk_vendor_logos_vendor_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("vendor_id", name=op.f("pk_vendor_logos")),
    )
    classify_stored()


def kind_of(content: bytes, media_type: str) -> str:
    """The kind the registry gives a manifest at push time (registry.kinds), for bytes stored before."""
    try:
        return classify(parse_manifest(content, media_type))
    except (RegistryError, ValueError, KeyError, TypeError):
        return "artifact"


def classify_stored() -> None:
    """Give every stored manifest its kind, a batch at a time; details are read from config blobs by
    the running app (registry.describe), which this migration cannot reach."""
    conn = op.get_bind()
    manifests = sa.table(
        "manifests", sa.column("id", sa.Integer), sa.column("media_type"), sa.column("content"), sa.column("kind")
    )
    last = 0
    while True:
        rows = conn.execute(
            sa.select(manifests.c.id, manifests.c.media_type, manifests.c.content)
            .where(manifests.c.id > last)
            .order_by(manifests.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            return
        found = [{"row_id": r.id, "new_kind": kind_of(bytes(r.content), r.media_type)} for r in rows]
        changed = [f for f in found if f["new_kind"] != "artifact"]  # the column's default
        if changed:
            stmt = manifests.update().where(manifests.c.id == sa.bindparam("row_id"))
            conn.execute(stmt.values(kind=sa.bindparam("new_kind")), changed)
        last = rows[-1].id


def downgrade() -> None:
    op.drop_table("vendor_logos")
    op.drop_index(op.f("ix_release_notes_vendor_id"), table_name="release_notes")
    op.drop_table("release_notes")
    op.drop_index(op.f("ix_repository_settings_vendor_id"), table_name="repository_settings")
    op.drop_table("repository_settings")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_column("immutable_tags")
    with op.batch_alter_table("manifests") as batch:
        batch.drop_column("details")
        batch.drop_column("kind")
