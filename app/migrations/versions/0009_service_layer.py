"""service layer: the outbox, address confirmation, one vocabulary of admin-log actions, the person
behind every token

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 23:00:00
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The admin log's old action names and their past-tense names (app.domain_events.DomainEvent), kept
# here as they were when this migration was written.
RENAMED = {
    "customer.create": "customer.created",
    "customer.update": "customer.updated",
    "customer.delete": "customer.deleted",
    "license.create": "license.created",
    "license.update": "license.updated",
    "license.suspend": "license.suspended",
    "license.resume": "license.resumed",
    "license.delete": "license.deleted",
    "pull_token.create": "pull_token.created",
    "pull_token.revoke": "pull_token.revoked",
    "token.create": "vendor_token.created",
    "token.revoke": "vendor_token.revoked",
    "invitation.create": "invitation.created",
    "invitation.accept": "invitation.accepted",
    "member.update": "member.role_changed",
    "member.remove": "member.removed",
    "settings.update": "settings.updated",
}
ACTOR = re.compile(r"^(user|token):(\d+) ")


def upgrade() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("event", sa.String(length=64), nullable=False),
        sa.Column("vendor_id", sa.Integer(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
    )
    op.create_index(op.f("ix_outbox_vendor_id"), "outbox", ["vendor_id"])
    op.create_index("ix_outbox_state_available", "outbox", ["state", "available_at"])
    op.create_table(
        "email_verifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", sa.DateTime(timezone=True), server_default=sa.text("(CURRENT_TIMESTAMP)"), nullable=False
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_email_verifications_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_verifications")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_email_verifications_secret_hash")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_email_verifications_user_id"), "email_verifications", ["user_id"])
    # Plain ADD COLUMN (no batch rebuild), which keeps the tables' AUTOINCREMENT on SQLite.
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("invitations", sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("invitations", sa.Column("delivery", sa.String(length=16), server_default="shown", nullable=False))
    op.add_column("admin_audit", sa.Column("via", sa.String(length=16), nullable=True))

    bind = op.get_bind()
    audit = sa.table("admin_audit", sa.column("action"), sa.column("object_id"), sa.column("actor"))
    for old, new in RENAMED.items():
        bind.execute(audit.update().where(audit.c.action == old).values(action=new))
    # Who proved an address is unknown for accounts made before this; only the admins `wharf bootstrap`
    # created (the operator's own addresses) count as confirmed. Everyone else can confirm from their
    # account page.
    bind.execute(
        sa.text(
            "UPDATE users SET email_verified_at = created_at WHERE id IN "
            "(SELECT created_by FROM tokens WHERE name = 'bootstrap' AND kind = 'api' AND created_by IS NOT NULL)"
        )
    )
    _backfill_token_creators(bind)


def _backfill_token_creators(bind: sa.engine.Connection) -> None:
    """The person behind each token, from the admin-log entry that created it (a token made by a token
    belongs to that token's person)."""
    creators: dict[int, int | None] = dict(bind.execute(sa.text("SELECT id, created_by FROM tokens")).all())
    people = {row[0] for row in bind.execute(sa.text("SELECT id FROM users"))}
    made_by: dict[int, tuple[str, int]] = {}
    rows = bind.execute(
        sa.text(
            "SELECT object_id, actor FROM admin_audit "
            "WHERE action IN ('vendor_token.created', 'pull_token.created') AND object_type = 'token'"
        )
    )
    for object_id, actor in rows:
        match = ACTOR.match(actor or "")
        if match and str(object_id).isdigit():
            made_by[int(object_id)] = (match.group(1), int(match.group(2)))
    changed = True
    while changed:  # a token made by a token made by a person: follow the chain
        changed = False
        for token_id, (kind, who) in made_by.items():
            if creators.get(token_id) is not None or token_id not in creators:
                continue
            person = who if kind == "user" else creators.get(who)
            if person is not None and person in people:
                creators[token_id] = person
                changed = True
                bind.execute(
                    sa.text("UPDATE tokens SET created_by = :person WHERE id = :id AND created_by IS NULL"),
                    {"person": person, "id": token_id},
                )


def downgrade() -> None:
    bind = op.get_bind()
    audit = sa.table("admin_audit", sa.column("action"))
    for old, new in RENAMED.items():
        bind.execute(audit.update().where(audit.c.action == new).values(action=old))
    with op.batch_alter_table("admin_audit") as batch:
        batch.drop_column("via")
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("delivery")
        batch.drop_column("revoked_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("email_verified_at")
    op.drop_table("email_verifications")
    op.drop_table("outbox")
