"""after the fact: ratings, tags, secret shoppers, outcome at wrap-up, time per presence state

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never batch mode: on SQLite a batch rebuild drops ``conversations``,
    # and with foreign keys on, dropping it deletes every participant and entry (cascade).
    op.add_column(
        "conversations",
        sa.Column("shopper", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("conversations", sa.Column("outcome_by", sa.Integer(), nullable=True))
    op.add_column(
        "conversations", sa.Column("outcome_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "workgroup_supervision",
        sa.Column("ratings", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column(
        "workgroup_supervision",
        sa.Column("fcr_window_hours", sa.Integer(), nullable=False, server_default="72"),
    )
    op.create_table(
        "ratings",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("workgroup_id", sa.Integer(), nullable=True),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("comment", sa.String(length=1000), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_ratings_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["users.id"], name=op.f("fk_ratings_agent_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_ratings")),
    )
    op.create_index("ix_ratings_agent_id_created_at", "ratings", ["agent_id", "created_at"])
    op.create_table(
        "tags",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_tags_name")),
    )
    op.create_table(
        "conversation_tags",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("tag_id", sa.Integer(), nullable=False),
        sa.Column("added_by", sa.Integer(), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_conversation_tags_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["tags.id"],
            name=op.f("fk_conversation_tags_tag_id_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "tag_id", name=op.f("pk_conversation_tags")),
    )
    op.create_index("ix_conversation_tags_tag_id", "conversation_tags", ["tag_id"])
    op.create_table(
        "presence_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("presence", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_presence_periods_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_periods")),
    )
    op.create_index(
        "ix_presence_periods_user_id_started_at", "presence_periods", ["user_id", "started_at"]
    )


def downgrade() -> None:
    op.drop_table("presence_periods")
    op.drop_table("conversation_tags")
    op.drop_table("tags")
    op.drop_table("ratings")
    with op.batch_alter_table("workgroup_supervision") as batch:
        batch.drop_column("fcr_window_hours")
        batch.drop_column("ratings")
    with op.batch_alter_table("conversations") as batch:
        batch.drop_column("outcome_at")
        batch.drop_column("outcome_by")
        batch.drop_column("shopper")
