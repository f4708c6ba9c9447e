"""QA review and secret shoppers: scorecards, reviews and their scores, shopper links

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "qa_scorecards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_scorecards")),
    )
    op.create_table(
        "qa_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.String(length=32), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("reviewer_id", sa.Integer(), nullable=True),
        sa.Column("scorecard_id", sa.Integer(), nullable=True),
        sa.Column("card", sa.JSON(), nullable=False),
        sa.Column("scores", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("comment", sa.String(length=2000), nullable=False, server_default=""),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("critical_failed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("shopper", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_qa_reviews_conversation_id_conversations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["users.id"],
            name=op.f("fk_qa_reviews_agent_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["reviewer_id"],
            ["users.id"],
            name=op.f("fk_qa_reviews_reviewer_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_reviews")),
    )
    op.create_index("ix_qa_reviews_conversation_id", "qa_reviews", ["conversation_id"])
    op.create_index("ix_qa_reviews_agent_id_created_at", "qa_reviews", ["agent_id", "created_at"])
    op.create_index(
        "ix_qa_reviews_workgroup_id_created_at", "qa_reviews", ["workgroup_id", "created_at"]
    )
    op.create_table(
        "qa_review_scores",
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("scale", sa.SmallInteger(), nullable=False),
        sa.Column("score", sa.SmallInteger(), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("agent_id", sa.Integer(), nullable=True),
        sa.Column("shopper", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"],
            ["qa_reviews.id"],
            name=op.f("fk_qa_review_scores_review_id_qa_reviews"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("review_id", "key", name=op.f("pk_qa_review_scores")),
    )
    op.create_index(
        "ix_qa_review_scores_workgroup_id_created_at",
        "qa_review_scores",
        ["workgroup_id", "created_at"],
    )
    op.create_table(
        "shopper_links",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("conversation_id", sa.String(length=32), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_shopper_links_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_shopper_links_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["conversation_id"],
            ["conversations.id"],
            name=op.f("fk_shopper_links_conversation_id_conversations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_shopper_links")),
    )
    op.create_index(
        "ix_shopper_links_workgroup_id_created_at",
        "shopper_links",
        ["workgroup_id", "created_at"],
    )
    op.create_index("ix_shopper_links_conversation_id", "shopper_links", ["conversation_id"])


def downgrade() -> None:
    op.drop_table("shopper_links")
    op.drop_table("qa_review_scores")
    op.drop_table("qa_reviews")
    op.drop_table("qa_scorecards")
