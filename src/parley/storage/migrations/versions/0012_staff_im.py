"""the staff IM: rooms (DMs, rooms, back-channels) and read markers

A DM, a room or a back-channel is a conversation of another kind (``conversations.kind``,
which exists since 0001): its members are participants, its messages entries, numbered and
made idempotent as every other. ``rooms`` holds what such a conversation has besides: a
room's name, topic and visibility, a DM's set of members (one DM per set), a back-channel's
customer chat (one back-channel per chat). ``read_markers`` holds each member's last read
``seq``; unread counts are derived from it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rooms",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False, server_default=""),
        sa.Column("topic", sa.String(length=250), nullable=False, server_default=""),
        sa.Column("visibility", sa.String(length=16), nullable=False, server_default="private"),
        sa.Column("direct_key", sa.String(length=120), nullable=True),
        sa.Column("customer_conversation_id", sa.String(length=32), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_rooms_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["customer_conversation_id"],
            ["conversations.id"],
            name=op.f("fk_rooms_customer_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_rooms_created_by_users")
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_rooms")),
    )
    op.create_index("uq_rooms_direct_key", "rooms", ["direct_key"], unique=True)
    op.create_index(
        "uq_rooms_customer_conversation_id", "rooms", ["customer_conversation_id"], unique=True
    )
    op.create_index("ix_rooms_visibility", "rooms", ["visibility"])
    op.create_table(
        "read_markers",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("last_read_seq", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_read_markers_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_read_markers_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", "user_id", name=op.f("pk_read_markers")),
    )
    op.create_index("ix_read_markers_user_id", "read_markers", ["user_id"])


def downgrade() -> None:
    op.drop_index("ix_read_markers_user_id", table_name="read_markers")
    op.drop_table("read_markers")
    op.drop_index("ix_rooms_visibility", table_name="rooms")
    op.drop_index("uq_rooms_customer_conversation_id", table_name="rooms")
    op.drop_index("uq_rooms_direct_key", table_name="rooms")
    op.drop_table("rooms")
