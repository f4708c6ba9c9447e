"""workgroups get a routing revision, and the change feed of their waiting requests

Every transaction that changes a workgroup's waiting requests or their offers adds one to
``workgroups.routing_revision`` (under the workgroup's row lock, so revisions commit in order)
and writes one ``routing_changes`` row per request it changed. The dispatcher keeps each
workgroup's queue in memory and reads only what changed since the revision it holds
(``parley.storage.requests.RequestStore.refresh``). Existing workgroups start at 0 with no
changes: a node loads them whole once.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-11
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("workgroups") as batch_op:
        batch_op.add_column(
            sa.Column("routing_revision", sa.BigInteger(), nullable=False, server_default="0")
        )
    op.create_table(
        "routing_changes",
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.Column("request_id", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(["workgroup_id"], ["workgroups.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workgroup_id", "revision", "request_id"),
    )


def downgrade() -> None:
    op.drop_table("routing_changes")
    with op.batch_alter_table("workgroups") as batch_op:
        batch_op.drop_column("routing_revision")
