"""conversations get a revision

Every change to a conversation's participants, status, workgroup or metadata adds one to its
``revision``. A node caches a live conversation's participants with the revision it read them
at, and the group-commit writer assigns a batch's sequence numbers with
``UPDATE ... WHERE revision = :rev``: the statement that numbers the messages also proves the
cached permission check still holds (``parley.storage.writer``). Existing rows start at 0.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("revision", sa.Integer(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("revision")
