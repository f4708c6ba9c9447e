"""reports: a request's first wait kept through transfers; the open presence period found fast

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN: a transfer rewrites a request's row (it waits again), so its first
    # wait (where, since when, until when, who took it) is kept here when the first transfer
    # starts. NULL: never transferred, the row's own columns are the first wait.
    op.add_column("chat_requests", sa.Column("first_workgroup_id", sa.Integer(), nullable=True))
    op.add_column("chat_requests", sa.Column("first_queue_id", sa.Integer(), nullable=True))
    op.add_column(
        "chat_requests",
        sa.Column("first_created_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "chat_requests", sa.Column("first_ended_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("chat_requests", sa.Column("first_agent_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_chat_requests_workgroup_id_ended_at", "chat_requests", ["workgroup_id", "ended_at"]
    )
    # What the reports read by workgroup and time.
    op.create_index(
        "ix_chat_requests_first_workgroup_id_first_ended_at",
        "chat_requests",
        ["first_workgroup_id", "first_ended_at"],
    )
    op.create_index("ix_offers_workgroup_id_ended_at", "offers", ["workgroup_id", "ended_at"])
    op.create_index(
        "ix_routing_events_from_workgroup_id_at", "routing_events", ["from_workgroup_id", "at"]
    )
    op.create_index("ix_ratings_workgroup_id_created_at", "ratings", ["workgroup_id", "created_at"])
    op.create_index("ix_conversations_created_at", "conversations", ["created_at"])
    op.create_index(
        "ix_left_messages_workgroup_id_created_at", "left_messages", ["workgroup_id", "created_at"]
    )
    op.create_index(
        "ix_presence_periods_open",
        "presence_periods",
        ["user_id"],
        unique=True,
        sqlite_where=sa.text("ended_at IS NULL"),
        postgresql_where=sa.text("ended_at IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_presence_periods_open", table_name="presence_periods")
    op.drop_index("ix_left_messages_workgroup_id_created_at", table_name="left_messages")
    op.drop_index("ix_conversations_created_at", table_name="conversations")
    op.drop_index("ix_ratings_workgroup_id_created_at", table_name="ratings")
    op.drop_index("ix_routing_events_from_workgroup_id_at", table_name="routing_events")
    op.drop_index("ix_offers_workgroup_id_ended_at", table_name="offers")
    op.drop_index("ix_chat_requests_first_workgroup_id_first_ended_at", table_name="chat_requests")
    op.drop_index("ix_chat_requests_workgroup_id_ended_at", table_name="chat_requests")
    with op.batch_alter_table("chat_requests") as batch:
        batch.drop_column("first_agent_id")
        batch.drop_column("first_ended_at")
        batch.drop_column("first_created_at")
        batch.drop_column("first_queue_id")
        batch.drop_column("first_workgroup_id")
