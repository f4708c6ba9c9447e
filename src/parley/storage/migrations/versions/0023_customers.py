"""customers: profiles and their staff notes, transcripts sent by email, the visitor's sockets
(the customer left), the workgroup's idle time before a chat the customer left ends

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN, never batch mode (a batch rebuild of a table others refer to cascades).
    op.add_column(
        "workgroups",
        sa.Column("customer_idle_secs", sa.Integer(), nullable=False, server_default="300"),
    )
    op.create_table(
        "customer_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_kind", sa.String(length=8), nullable=False),
        sa.Column("link_value", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("email", sa.String(length=254), nullable=False, server_default=""),
        sa.Column("company", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("tags", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_profiles")),
        sa.UniqueConstraint(
            "link_kind", "link_value", name=op.f("uq_customer_profiles_link_kind_link_value")
        ),
    )
    op.create_table(
        "customer_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["customer_profiles.id"],
            name=op.f("fk_customer_notes_profile_id_customer_profiles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["users.id"],
            name=op.f("fk_customer_notes_author_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_notes")),
    )
    op.create_index(
        "ix_customer_notes_profile_id_created_at", "customer_notes", ["profile_id", "created_at"]
    )
    op.create_table(
        "transcript_emails",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_transcript_emails_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_transcript_emails")),
    )
    op.create_index(
        "ix_transcript_emails_conversation_id", "transcript_emails", ["conversation_id"]
    )
    op.create_index(
        "ix_transcript_emails_address_created_at",
        "transcript_emails",
        ["address", "created_at"],
    )
    op.create_table(
        "visitor_connections",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("node_id", sa.String(length=32), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_visitor_connections_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visitor_connections")),
    )
    op.create_index(
        "ix_visitor_connections_conversation_id", "visitor_connections", ["conversation_id"]
    )
    op.create_table(
        "visitor_presence",
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("gone_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_visitor_presence_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("conversation_id", name=op.f("pk_visitor_presence")),
    )
    op.create_index("ix_visitor_presence_gone_at", "visitor_presence", ["gone_at"])


def downgrade() -> None:
    op.drop_table("visitor_presence")
    op.drop_table("visitor_connections")
    op.drop_table("transcript_emails")
    op.drop_table("customer_notes")
    op.drop_table("customer_profiles")
    with op.batch_alter_table("workgroups") as batch:
        batch.drop_column("customer_idle_secs")
