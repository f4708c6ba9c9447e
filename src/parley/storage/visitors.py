"""The visitor's open sockets and whether the customer is there (``domain.visitor_presence``).
A stateless store: each method takes the ``Tx``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from parley.domain.conversation import Status
from parley.domain.visitor_presence import VisitorPresence
from parley.storage.tables import conversations, visitor_connections, visitor_presence, workgroups
from parley.storage.tx import Tx


@dataclass(frozen=True, slots=True)
class Watched:
    """A chat whose customer is gone (or left), with what the sweep needs to decide."""

    conversation_id: str
    state: VisitorPresence
    status: Status
    customer_idle_secs: int


class VisitorStore:
    __slots__ = ()

    async def add_connection(
        self, tx: Tx, connection_id: str, conversation_id: str, node_id: str, now: datetime
    ) -> None:
        await tx.conn.execute(
            sa.insert(visitor_connections).values(
                id=connection_id,
                conversation_id=conversation_id,
                node_id=node_id,
                opened_at=now,
                seen_at=now,
            )
        )

    async def remove_connection(self, tx: Tx, connection_id: str) -> None:
        await tx.conn.execute(
            sa.delete(visitor_connections).where(visitor_connections.c.id == connection_id)
        )

    async def live_connections(self, tx: Tx, conversation_id: str, since: datetime) -> int:
        c = visitor_connections.c
        found = await tx.one(
            sa.select(sa.func.count().label("n")).where(
                c.conversation_id == conversation_id, c.seen_at >= since
            )
        )
        return 0 if found is None else int(found.n)

    async def touch(self, tx: Tx, node_id: str, now: datetime) -> None:
        await tx.conn.execute(
            sa.update(visitor_connections)
            .where(visitor_connections.c.node_id == node_id)
            .values(seen_at=now)
        )

    async def drop_stale(self, tx: Tx, before: datetime) -> list[str]:
        """Delete the sockets not seen since ``before`` (their node died); their chats."""
        c = visitor_connections.c
        rows = await tx.all(sa.select(c.conversation_id).where(c.seen_at < before).distinct())
        await tx.conn.execute(sa.delete(visitor_connections).where(c.seen_at < before))
        return sorted(str(r.conversation_id) for r in rows)

    async def drop_node(self, tx: Tx, node_id: str) -> list[str]:
        c = visitor_connections.c
        rows = await tx.all(sa.select(c.conversation_id).where(c.node_id == node_id).distinct())
        await tx.conn.execute(sa.delete(visitor_connections).where(c.node_id == node_id))
        return sorted(str(r.conversation_id) for r in rows)

    async def presence(
        self, tx: Tx, conversation_id: str, *, lock: bool = False
    ) -> VisitorPresence:
        """The chat's row, made first if there is none (an insert that ignores a conflict:
        two nodes recording the first socket make one row), locked with ``lock``. Every path
        locks this row before the conversation's."""
        insert = postgresql.insert if tx.postgres else sqlite.insert
        await tx.conn.execute(
            insert(visitor_presence)
            .values(conversation_id=conversation_id, gone_at=None, left_at=None)
            .on_conflict_do_nothing(index_elements=["conversation_id"])
        )
        stmt = sa.select(visitor_presence).where(
            visitor_presence.c.conversation_id == conversation_id
        )
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        return (
            VisitorPresence()
            if row is None
            else VisitorPresence(gone_at=row.gone_at, left_at=row.left_at)
        )

    async def save_presence(self, tx: Tx, conversation_id: str, state: VisitorPresence) -> None:
        """Save the row ``presence`` made (and locked)."""
        p = visitor_presence.c
        await tx.conn.execute(
            sa.update(visitor_presence)
            .where(p.conversation_id == conversation_id)
            .values(gone_at=state.gone_at, left_at=state.left_at)
        )

    async def watched(self, tx: Tx, limit: int) -> list[Watched]:
        """Chats whose customer is gone, oldest first; ended ones are forgotten here."""
        p, c = visitor_presence.c, conversations.c
        await tx.conn.execute(
            sa.delete(visitor_presence).where(
                p.conversation_id.in_(
                    sa.select(c.id).where(c.id == p.conversation_id, c.status == Status.ENDED.value)
                )
            )
        )
        rows = await tx.all(
            sa.select(
                p.conversation_id, p.gone_at, p.left_at, c.status, workgroups.c.customer_idle_secs
            )
            .select_from(
                visitor_presence.join(conversations, c.id == p.conversation_id).outerjoin(
                    workgroups, workgroups.c.id == c.workgroup_id
                )
            )
            .where(p.gone_at.is_not(None))
            .order_by(p.gone_at, p.conversation_id)
            .limit(limit)
        )
        return [
            Watched(
                str(r.conversation_id),
                VisitorPresence(r.gone_at, r.left_at),
                Status(r.status),
                int(r.customer_idle_secs or 0),
            )
            for r in rows
        ]
