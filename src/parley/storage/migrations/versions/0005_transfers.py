"""transfers, invitations' record, outcomes: routing events and the transfer policy

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, no batch (table copy) mode: see 0004.
    op.add_column(
        "workgroups",
        sa.Column(
            "transfer_targets",
            sa.JSON(),
            nullable=False,
            server_default='["agent", "queue", "workgroup"]',
        ),
    )
    op.add_column(
        "workgroups",
        sa.Column("max_transfers", sa.Integer(), nullable=False, server_default="3"),
    )
    op.add_column(
        "workgroups",
        sa.Column("invitations", sa.Boolean(), nullable=False, server_default=sa.true()),
    )
    op.add_column("conversations", sa.Column("outcome", sa.String(length=16), nullable=True))
    op.add_column("chat_requests", sa.Column("transfer_from", sa.Integer(), nullable=True))
    op.add_column("chat_requests", sa.Column("transfer_to_agent", sa.Integer(), nullable=True))
    op.add_column(
        "chat_requests", sa.Column("transfer_note", sa.String(length=1000), nullable=True)
    )
    op.create_table(
        "routing_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("from_workgroup_id", sa.Integer(), nullable=True),
        sa.Column("to_workgroup_id", sa.Integer(), nullable=True),
        sa.Column("to_queue_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name="fk_routing_events_conversation_id_conversations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_routing_events"),
    )
    op.create_index("ix_routing_events_conversation_id", "routing_events", ["conversation_id"])


def downgrade() -> None:
    op.drop_index("ix_routing_events_conversation_id", table_name="routing_events")
    op.drop_table("routing_events")
    with op.batch_alter_table("chat_requests") as batch_op:
        batch_op.drop_column("transfer_note")
        batch_op.drop_column("transfer_to_agent")
        batch_op.drop_column("transfer_from")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("outcome")
    with op.batch_alter_table("workgroups") as batch_op:
        batch_op.drop_column("invitations")
        batch_op.drop_column("max_transfers")
        batch_op.drop_column("transfer_targets")
