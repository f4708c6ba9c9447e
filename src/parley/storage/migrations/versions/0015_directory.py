"""the staff directory: titles, photos, buddy lists, idle presence; message templates

A job title per account; staff photos stored in the database (re-encoded pixels, so that every
node serves them); each member's buddy list (favourites and named groups) as one document; and
what idle presence needs: whether an away came from idleness, and which connections are idle.
And the company's message templates (greetings and sign-offs agents pick from).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("title", sa.String(length=80), nullable=False, server_default="")
        )
    with op.batch_alter_table("agent_state") as batch:
        batch.add_column(
            sa.Column("away_from_idle", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("connections") as batch:
        batch.add_column(sa.Column("idle", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "staff_photos",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("media_type", sa.String(length=32), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("etag", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_photos_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_photos")),
    )
    op.create_table(
        "buddy_lists",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_buddy_lists_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_buddy_lists")),
    )
    op.create_table(
        "message_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=80), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("tone", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_message_templates")),
    )


def downgrade() -> None:
    op.drop_table("message_templates")
    op.drop_table("buddy_lists")
    op.drop_table("staff_photos")
    with op.batch_alter_table("connections") as batch:
        batch.drop_column("idle")
    with op.batch_alter_table("agent_state") as batch:
        batch.drop_column("away_from_idle")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("title")
