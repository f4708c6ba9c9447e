"""leave a message: business hours per workgroup, and the left messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workgroup_hours",
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("timezone", sa.String(length=64), nullable=False),
        sa.Column("weekly", sa.JSON(), nullable=True),
        sa.Column("holidays", sa.JSON(), nullable=False),
        sa.Column("closed_by_hand", sa.Boolean(), nullable=False),
        sa.Column("queue_without_agents", sa.Boolean(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_workgroup_hours_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workgroup_id", name=op.f("pk_workgroup_hours")),
    )
    op.create_table(
        "left_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("page", sa.String(length=2048), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=True),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("emailed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("email_attempts", sa.Integer(), nullable=False),
        sa.Column("last_email_error", sa.String(length=500), nullable=True),
        sa.Column("next_email_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_left_messages_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["taken_by"], ["users.id"], name=op.f("fk_left_messages_taken_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_left_messages_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_left_messages")),
    )
    op.create_index(
        "ix_left_messages_workgroup_id_status",
        "left_messages",
        ["workgroup_id", "status"],
        unique=False,
    )
    op.create_index(
        "ix_left_messages_next_email_at", "left_messages", ["next_email_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_left_messages_next_email_at", table_name="left_messages")
    op.drop_index("ix_left_messages_workgroup_id_status", table_name="left_messages")
    op.drop_table("left_messages")
    op.drop_table("workgroup_hours")
