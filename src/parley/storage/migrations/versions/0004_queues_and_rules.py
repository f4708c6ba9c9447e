"""queues and routing rules: several queues per workgroup, skills, strategies, failover

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Every existing workgroup gets a default queue named "default", and its waiting requests move
into it. ``chat_requests.declined_by`` turns from a list of agent ids into ``{agent id: when}``
(old declines count from the request's creation).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

from parley.storage.tables import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN and CREATE INDEX, no batch (table copy) mode: on SQLite a copy would
    # drop tables that others reference, which foreign keys forbid once there is data.
    for name, default in (
        ("decline_cooldown_secs", "20"),
        ("preferred_agent_secs", "10"),
        ("max_missed_offers", "3"),
    ):
        op.add_column(
            "workgroups", sa.Column(name, sa.Integer(), nullable=False, server_default=default)
        )
    op.create_table(
        "queues",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False, server_default="best"),
        sa.Column("skills", sa.JSON(), nullable=False, server_default="{}"),
        sa.Column("overflow_action", sa.String(length=16), nullable=False, server_default="stay"),
        sa.Column("overflow_secs", sa.Integer(), nullable=True),
        sa.Column("overflow_target", sa.Integer(), nullable=True),
        sa.Column("max_length", sa.Integer(), nullable=True),
        sa.Column("last_offered", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name="fk_queues_workgroup_id_workgroups",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_queues"),
        sa.UniqueConstraint("workgroup_id", "name", name="uq_queues_workgroup_id_name"),
    )
    op.create_table(
        "routing_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workgroup_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False, server_default=""),
        sa.Column("condition", sa.JSON(), nullable=False),
        sa.Column("queue_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False, server_default="0"),
        sa.ForeignKeyConstraint(
            ["workgroup_id"],
            ["workgroups.id"],
            name="fk_routing_rules_workgroup_id_workgroups",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["queue_id"],
            ["queues.id"],
            name="fk_routing_rules_queue_id_queues",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_routing_rules"),
    )
    op.create_index("ix_routing_rules_workgroup_id", "routing_rules", ["workgroup_id"])

    # chat_requests.queue_id has no foreign key: adding one would copy the table on SQLite.
    # QueueService.delete_queue moves or clears the requests of a queue it deletes.
    op.add_column("chat_requests", sa.Column("queue_id", sa.Integer(), nullable=True))
    op.add_column(
        "chat_requests", sa.Column("priority", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column(
        "chat_requests", sa.Column("entered_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "chat_requests",
        sa.Column("entry_position", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column(
        "chat_requests", sa.Column("moves", sa.Integer(), nullable=False, server_default="0")
    )
    op.add_column("chat_requests", sa.Column("preferred_agent_id", sa.Integer(), nullable=True))
    op.create_index(
        "ix_chat_requests_queue_id_status_ended_at",
        "chat_requests",
        ["queue_id", "status", "ended_at"],
    )

    op.add_column(
        "offers",
        sa.Column("broadcast", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "offers",
        sa.Column("preferred", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.drop_index("uq_offers_pending_request", table_name="offers")
    op.create_index(
        "uq_offers_pending_request",
        "offers",
        ["request_id"],
        unique=True,
        sqlite_where=sa.text("status = 'pending' AND NOT broadcast"),
        postgresql_where=sa.text("status = 'pending' AND NOT broadcast"),
    )
    op.create_index("ix_offers_request_id", "offers", ["request_id"])

    op.add_column(
        "agent_state", sa.Column("skills", sa.JSON(), nullable=False, server_default="{}")
    )
    op.add_column("agent_state", sa.Column("max_chats", sa.Integer(), nullable=True))
    op.add_column(
        "agent_state",
        sa.Column("missed_offers", sa.Integer(), nullable=False, server_default="0"),
    )

    _backfill()


def _backfill() -> None:
    conn = op.get_bind()
    workgroups = sa.table("workgroups", sa.column("id"), sa.column("created_at", UTCDateTime()))
    queues = sa.table(
        "queues",
        sa.column("id"),
        sa.column("workgroup_id"),
        sa.column("name"),
        sa.column("position"),
        sa.column("is_default"),
        sa.column("created_at", UTCDateTime()),
    )
    requests = sa.table(
        "chat_requests",
        sa.column("conversation_id"),
        sa.column("workgroup_id"),
        sa.column("queue_id"),
        sa.column("created_at", UTCDateTime()),
        sa.column("entered_at", UTCDateTime()),
        sa.column("declined_by", sa.JSON()),
    )
    for wg in conn.execute(sa.select(workgroups.c.id, workgroups.c.created_at)).all():
        conn.execute(
            sa.insert(queues).values(
                workgroup_id=wg.id,
                name="default",
                position=0,
                is_default=True,
                created_at=wg.created_at,
            )
        )
        queue_id = conn.execute(
            sa.select(queues.c.id).where(queues.c.workgroup_id == wg.id)
        ).scalar_one()
        conn.execute(
            sa.update(requests).where(requests.c.workgroup_id == wg.id).values(queue_id=queue_id)
        )
    rows = conn.execute(
        sa.select(requests.c.conversation_id, requests.c.created_at, requests.c.declined_by)
    ).all()
    for row in rows:
        declined = row.declined_by
        if isinstance(declined, str):
            declined = json.loads(declined)
        as_map = {str(a): row.created_at.isoformat() for a in declined or []}
        conn.execute(
            sa.update(requests)
            .where(requests.c.conversation_id == row.conversation_id)
            .values(declined_by=as_map, entered_at=row.created_at)
        )


def downgrade() -> None:
    with op.batch_alter_table("agent_state") as batch_op:
        batch_op.drop_column("missed_offers")
        batch_op.drop_column("max_chats")
        batch_op.drop_column("skills")
    with op.batch_alter_table("offers") as batch_op:
        batch_op.drop_index("ix_offers_request_id")
        batch_op.drop_index("uq_offers_pending_request")
        batch_op.create_index(
            "uq_offers_pending_request",
            ["request_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )
        batch_op.drop_column("preferred")
        batch_op.drop_column("broadcast")
    with op.batch_alter_table("chat_requests") as batch_op:
        batch_op.drop_index("ix_chat_requests_queue_id_status_ended_at")
        for name in (
            "preferred_agent_id",
            "moves",
            "entry_position",
            "entered_at",
            "priority",
            "queue_id",
        ):
            batch_op.drop_column(name)
    op.drop_index("ix_routing_rules_workgroup_id", table_name="routing_rules")
    op.drop_table("routing_rules")
    op.drop_table("queues")
    with op.batch_alter_table("workgroups") as batch_op:
        batch_op.drop_column("max_missed_offers")
        batch_op.drop_column("preferred_agent_secs")
        batch_op.drop_column("decline_cooldown_secs")
