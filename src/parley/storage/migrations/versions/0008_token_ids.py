"""API tokens: a public id (to list and revoke them by) and the time of their last use

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10
"""

from __future__ import annotations

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, no batch (table copy) mode: see 0004.
    op.add_column(
        "auth_tokens",
        sa.Column("public_id", sa.String(length=32), nullable=False, server_default=""),
    )
    op.add_column(
        "auth_tokens", sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True)
    )
    conn = op.get_bind()
    hashes = conn.execute(sa.text("SELECT token_hash FROM auth_tokens")).scalars().all()
    for token_hash in hashes:
        conn.execute(
            sa.text("UPDATE auth_tokens SET public_id = :id WHERE token_hash = :hash"),
            {"id": secrets.token_hex(12), "hash": token_hash},
        )
    op.create_index("uq_auth_tokens_public_id", "auth_tokens", ["public_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_auth_tokens_public_id", table_name="auth_tokens")
    with op.batch_alter_table("auth_tokens") as batch_op:
        batch_op.drop_column("last_used_at")
        batch_op.drop_column("public_id")
