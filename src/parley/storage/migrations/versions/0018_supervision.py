"""supervisors, live: who supervises which workgroup, wallboard settings, who is watching

``workgroup_supervisors`` (an admin makes a supervisor supervise a workgroup: its wallboard,
live chats, monitoring, whispers, barging in, taking over; admins supervise every workgroup),
``workgroup_supervision`` (the wallboard's service level target and goal, the thresholds that
turn a tile red, when a chat is stalled, sound, whether agents see who is watching) and
``monitors`` (who watches which chat now, per WebSocket; a row goes with its ``connections``
row when a node died). Nobody supervises anything until an admin says so.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workgroup_supervisors",
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_workgroup_supervisors_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_workgroup_supervisors_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workgroup_id", "user_id", name=op.f("pk_workgroup_supervisors")),
    )
    op.create_index(
        "ix_workgroup_supervisors_user_id", "workgroup_supervisors", ["user_id"], unique=False
    )
    op.create_table(
        "workgroup_supervision",
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("sl_target_secs", sa.Integer(), nullable=False, server_default="45"),
        sa.Column("sl_goal_percent", sa.Integer(), nullable=False, server_default="80"),
        sa.Column("alert_waiting", sa.Integer(), nullable=True),
        sa.Column("alert_longest_wait_secs", sa.Integer(), nullable=True),
        sa.Column("alert_asa_secs", sa.Integer(), nullable=True),
        sa.Column("alert_abandoned", sa.Integer(), nullable=True),
        sa.Column("stalled_secs", sa.Integer(), nullable=False, server_default="120"),
        sa.Column("sound", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("show_monitoring", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_workgroup_supervision_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workgroup_id", name=op.f("pk_workgroup_supervision")),
    )
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("connection_id", sa.String(length=32), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_monitors_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_monitors_user_id_users"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["connection_id"],
            ["connections.id"],
            name=op.f("fk_monitors_connection_id_connections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitors")),
        sa.UniqueConstraint(
            "connection_id",
            "conversation_id",
            name=op.f("uq_monitors_connection_id_conversation_id"),
        ),
    )
    op.create_index("ix_monitors_conversation_id", "monitors", ["conversation_id"], unique=False)
    op.create_index("ix_monitors_user_id", "monitors", ["user_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_monitors_user_id", table_name="monitors")
    op.drop_index("ix_monitors_conversation_id", table_name="monitors")
    op.drop_table("monitors")
    op.drop_table("workgroup_supervision")
    op.drop_index("ix_workgroup_supervisors_user_id", table_name="workgroup_supervisors")
    op.drop_table("workgroup_supervisors")
