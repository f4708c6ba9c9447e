"""exports' node and heartbeat; names as entered; TOTP secrets sealed

A running archive export names the node running it (``node_id``) and when that node last
wrote its progress (``heartbeat_at``): an export left ``running`` by a node that stopped or
crashed is marked failed at start-up (the node's own) or once its heartbeat is stale (any
node's), instead of staying ``running`` forever. Finished exports are deleted by the retention
job after ``archive_export_keep_days``; ``finished_at`` is indexed for it.

``users.name_as_entered``: a staff member's name as typed, now that ``display_name`` is what
others are shown in the account policy's ``name_format`` (``domain.names``). NULL (every
existing account) means the same as ``display_name``: names were shown as entered until now.

``users.totp_secret_sealed``: the TOTP secret sealed with the secrets key, a file outside the
database (``storage.sealing``). The key is not here, so the secrets in the clear
(``users.totp_secret``) are sealed by the node as it starts (``AccountService.start``), which
then empties ``totp_secret``; a new column, rather than a wider ``totp_secret``, because SQLite
would copy the whole ``users`` table to change a column's type.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("name_as_entered", sa.String(length=128), nullable=True))
        batch.add_column(sa.Column("totp_secret_sealed", sa.String(length=255), nullable=True))
    with op.batch_alter_table("archive_exports") as batch:
        batch.add_column(sa.Column("node_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True))
        batch.create_index("ix_archive_exports_finished_at", ["finished_at"])
        batch.create_index("ix_archive_exports_state", ["state"])


def downgrade() -> None:
    with op.batch_alter_table("archive_exports") as batch:
        batch.drop_index("ix_archive_exports_state")
        batch.drop_index("ix_archive_exports_finished_at")
        batch.drop_column("heartbeat_at")
        batch.drop_column("node_id")
    # A downgrade cannot open the sealed secrets (no key here): those accounts enrol again.
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_secret_sealed")
        batch.drop_column("name_as_entered")
