"""left messages get public ids

Inbox messages were addressed by their sequential integer key (``/messages/{id}/take``), which
anyone could count or guess. Each gets a public id, 128 random bits in hex, with a unique
index; existing rows are given one here. The integer key stays, internal.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("left_messages") as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
    conn = op.get_bind()
    table = sa.table("left_messages", sa.column("id", sa.Integer), sa.column("public_id"))
    ids = [row.id for row in conn.execute(sa.select(table.c.id).where(table.c.public_id.is_(None)))]
    for message_id in ids:
        conn.execute(
            sa.update(table).where(table.c.id == message_id).values(public_id=secrets.token_hex(16))
        )
    with op.batch_alter_table("left_messages") as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_index("uq_left_messages_public_id", ["public_id"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("left_messages") as batch_op:
        batch_op.drop_index("uq_left_messages_public_id")
        batch_op.drop_column("public_id")
