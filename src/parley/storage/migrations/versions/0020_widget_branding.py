"""the widget's branding per workgroup: colour, greeting, corner and logo

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workgroup_branding",
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("color", sa.String(length=7), nullable=True),
        sa.Column("greeting", sa.String(length=300), nullable=False, server_default=""),
        sa.Column("position", sa.String(length=8), nullable=False, server_default="right"),
        sa.Column("logo_media_type", sa.String(length=32), nullable=True),
        sa.Column("logo_data", sa.LargeBinary(), nullable=True),
        sa.Column("logo_etag", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name=op.f("fk_workgroup_branding_workgroup_id_workgroups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workgroup_id", name=op.f("pk_workgroup_branding")),
    )


def downgrade() -> None:
    op.drop_table("workgroup_branding")
