"""Agents (presence, routing settings, missed offers) and their live connections.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.presence import AgentPresence, Presence
from parley.storage.tables import (
    agent_state,
    connections,
    presence_periods,
    users,
    workgroup_members,
)
from parley.storage.tx import Tx


@dataclass(frozen=True, slots=True)
class AgentRow:
    presence: AgentPresence
    idle_since: datetime


class AgentStore:
    __slots__ = ()

    async def agent(self, tx: Tx, user_id: int, *, lock: bool = False) -> AgentRow | None:
        stmt = sa.select(agent_state).where(agent_state.c.user_id == user_id)
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        if row is None:
            return None
        presence = AgentPresence(
            row.user_id,
            Presence(row.presence),
            row.status_text,
            row.changed_at,
            row.disconnected_at,
            row.away_from_idle,
        )
        return AgentRow(presence, row.idle_since)

    async def insert_agent(self, tx: Tx, state: AgentPresence, idle_since: datetime) -> None:
        await tx.conn.execute(
            sa.insert(agent_state).values(
                user_id=state.agent_id,
                presence=state.presence.value,
                status_text=state.status_text,
                changed_at=state.changed_at,
                disconnected_at=state.disconnected_at,
                idle_since=idle_since,
            )
        )
        await record_period(tx, state.agent_id, state.presence, state.changed_at)

    async def save_agent(
        self, tx: Tx, state: AgentPresence, idle_since: datetime | None = None
    ) -> None:
        values: dict[str, Any] = {
            "presence": state.presence.value,
            "status_text": state.status_text,
            "changed_at": state.changed_at,
            "disconnected_at": state.disconnected_at,
            "away_from_idle": state.away_from_idle,
        }
        if idle_since is not None:
            values["idle_since"] = idle_since
        await tx.conn.execute(
            sa.update(agent_state).where(agent_state.c.user_id == state.agent_id).values(**values)
        )
        await record_period(tx, state.agent_id, state.presence, state.changed_at)

    async def set_idle_since(self, tx: Tx, user_id: int, when: datetime) -> None:
        await tx.conn.execute(
            sa.update(agent_state).where(agent_state.c.user_id == user_id).values(idle_since=when)
        )

    async def agents_to_expire(self, tx: Tx) -> list[int]:
        rows = await tx.all(
            sa.select(agent_state.c.user_id).where(
                agent_state.c.disconnected_at.is_not(None),
                agent_state.c.presence != Presence.OFFLINE.value,
            )
        )
        return [int(r.user_id) for r in rows]

    async def presence_board(self, tx: Tx) -> list[tuple[int, str, str, bool]]:
        """Every member's (user id, presence, status text, away from idle): what a staff
        connection's snapshot shows, and no more (no routing columns, no times to parse)."""
        stmt = sa.select(
            agent_state.c.user_id,
            agent_state.c.presence,
            agent_state.c.status_text,
            agent_state.c.away_from_idle,
        )
        return [
            (r.user_id, r.presence, r.status_text, bool(r.away_from_idle))
            for r in await tx.all(stmt)
        ]

    async def agent_presences(
        self, tx: Tx, user_ids: Iterable[int] | None = None
    ) -> list[AgentPresence]:
        stmt = sa.select(
            agent_state.c.user_id,
            agent_state.c.presence,
            agent_state.c.status_text,
            agent_state.c.changed_at,
            agent_state.c.disconnected_at,
            agent_state.c.away_from_idle,
        )
        if user_ids is not None:
            stmt = stmt.where(agent_state.c.user_id.in_(list(user_ids)))
        return [
            AgentPresence(
                r.user_id,
                Presence(r.presence),
                r.status_text,
                r.changed_at,
                r.disconnected_at,
                r.away_from_idle,
            )
            for r in await tx.all(stmt)
        ]

    async def set_agent_routing(
        self, tx: Tx, user_id: int, skills: dict[str, int], max_chats: int | None
    ) -> None:
        await tx.conn.execute(
            sa.update(agent_state)
            .where(agent_state.c.user_id == user_id)
            .values(skills=skills, max_chats=max_chats)
        )

    async def agent_routing(self, tx: Tx, user_id: int) -> tuple[dict[str, int], int | None]:
        row = await tx.one(
            sa.select(agent_state.c.skills, agent_state.c.max_chats).where(
                agent_state.c.user_id == user_id
            )
        )
        if row is None:
            return {}, None
        return {str(k): int(v) for k, v in row.skills.items()}, row.max_chats

    async def set_missed_offers(self, tx: Tx, user_id: int, missed: int) -> None:
        await tx.conn.execute(
            sa.update(agent_state)
            .where(agent_state.c.user_id == user_id)
            .values(missed_offers=missed)
        )

    async def available_agents(self, tx: Tx, workgroup_id: int) -> int:
        """Members who are available, whatever their load: is anybody there to answer?"""
        row = await tx.one(
            sa.select(sa.func.count())
            .select_from(
                workgroup_members.join(
                    agent_state, agent_state.c.user_id == workgroup_members.c.user_id
                ).join(users, users.c.id == workgroup_members.c.user_id)
            )
            .where(
                workgroup_members.c.workgroup_id == workgroup_id,
                agent_state.c.presence == Presence.AVAILABLE.value,
                users.c.active.is_(True),
            )
        )
        return 0 if row is None else int(row[0])

    async def insert_connection(
        self, tx: Tx, connection_id: str, user_id: int, node_id: str, now: datetime
    ) -> None:
        await tx.conn.execute(
            sa.insert(connections).values(
                id=connection_id, user_id=user_id, node_id=node_id, opened_at=now, seen_at=now
            )
        )

    async def delete_connection(self, tx: Tx, connection_id: str) -> None:
        await tx.conn.execute(sa.delete(connections).where(connections.c.id == connection_id))

    async def live_connections(self, tx: Tx, user_id: int, seen_after: datetime) -> int:
        row = await tx.one(
            sa.select(sa.func.count())
            .select_from(connections)
            .where(connections.c.user_id == user_id, connections.c.seen_at >= seen_after)
        )
        return 0 if row is None else int(row[0])

    async def set_connection_idle(self, tx: Tx, connection_id: str, idle: bool) -> bool:
        """Mark one connection idle or active; False when there is no such connection."""
        result = await tx.conn.execute(
            sa.update(connections).where(connections.c.id == connection_id).values(idle=idle)
        )
        return bool(result.rowcount)

    async def active_connections(self, tx: Tx, user_id: int, seen_after: datetime) -> int:
        """Live connections of ``user_id`` whose browser has not reported its user idle."""
        row = await tx.one(
            sa.select(sa.func.count())
            .select_from(connections)
            .where(
                connections.c.user_id == user_id,
                connections.c.seen_at >= seen_after,
                connections.c.idle.is_(False),
            )
        )
        return 0 if row is None else int(row[0])

    async def touch_connections(self, tx: Tx, node_id: str, now: datetime) -> None:
        await tx.conn.execute(
            sa.update(connections).where(connections.c.node_id == node_id).values(seen_at=now)
        )

    async def stale_connection_users(self, tx: Tx, seen_before: datetime) -> list[int]:
        """Users with connections whose node stopped its heartbeat; the rows are removed."""
        rows = await tx.all(
            sa.select(connections.c.user_id).where(connections.c.seen_at < seen_before).distinct()
        )
        await tx.conn.execute(sa.delete(connections).where(connections.c.seen_at < seen_before))
        return [int(r.user_id) for r in rows]

    async def delete_node_connections(self, tx: Tx, node_id: str) -> list[int]:
        rows = await tx.all(
            sa.select(connections.c.user_id).where(connections.c.node_id == node_id).distinct()
        )
        await tx.conn.execute(sa.delete(connections).where(connections.c.node_id == node_id))
        return [int(r.user_id) for r in rows]


async def record_period(tx: Tx, user_id: int, presence: Presence, since: datetime) -> None:
    """Time per presence state (``presence_periods``, the reports): in the transaction that
    saves a presence, a change closes the member's open period at ``since`` (when the
    presence changed) and opens one in the new state; the same presence changes nothing.
    Every save of a presence comes through ``AgentStore.save_agent``, so no path is missed;
    a node that died leaves its members' periods open until the sweep takes them offline
    (which closes them)."""
    p = presence_periods.c
    open_ = await tx.one(
        sa.select(p.id, p.presence, p.started_at).where(p.user_id == user_id, p.ended_at.is_(None))
    )
    if open_ is not None:
        if open_.presence == presence.value:
            return
        await tx.conn.execute(
            sa.update(presence_periods)
            .where(p.id == open_.id)
            .values(ended_at=max(since, open_.started_at))
        )
        since = max(since, open_.started_at)
    await tx.conn.execute(
        sa.insert(presence_periods).values(
            user_id=user_id, presence=presence.value, started_at=since, ended_at=None
        )
    )
