"""verified customer identity and anonymous visitor ids

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch (table copy) mode: see 0004.
    op.add_column(
        "workgroups",
        sa.Column("identity", sa.String(length=16), nullable=False, server_default="optional"),
    )
    for name, length in (
        ("customer_sub", 255),
        ("customer_email", 254),
        ("customer_name", 128),
        ("visitor_id", 64),
    ):
        op.add_column("conversations", sa.Column(name, sa.String(length=length), nullable=True))
    op.create_index(
        "ix_conversations_customer_sub_created_at",
        "conversations",
        ["customer_sub", "created_at"],
    )
    op.create_index(
        "ix_conversations_visitor_id_created_at", "conversations", ["visitor_id", "created_at"]
    )
    op.create_table(
        "identity_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("secret", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_identity_keys_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity_keys")),
        sa.UniqueConstraint("workgroup_id", "kid", name=op.f("uq_identity_keys_workgroup_id_kid")),
    )


def downgrade() -> None:
    op.drop_table("identity_keys")
    op.drop_index("ix_conversations_visitor_id_created_at", table_name="conversations")
    op.drop_index("ix_conversations_customer_sub_created_at", table_name="conversations")
    with op.batch_alter_table("conversations") as batch:
        for name in ("visitor_id", "customer_name", "customer_email", "customer_sub"):
            batch.drop_column(name)
    with op.batch_alter_table("workgroups") as batch:
        batch.drop_column("identity")
