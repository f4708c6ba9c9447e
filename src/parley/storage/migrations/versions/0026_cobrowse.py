"""cobrowse: the sites a workgroup's agents may push pages of

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cobrowse_sites",
        sa.Column(
            "workgroup_id",
            sa.Integer(),
            sa.ForeignKey("workgroups.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("cobrowse_sites")
