"""Presence use cases: an agent's chosen presence, and the connections that keep it alive.

Connections are recorded in the database with the node that holds them, so that the grace
period counts every node's connections. Each node refreshes its connections' ``seen_at`` on
every sweep; connections of a node that stopped sweeping (it died) count as closed after
``stale_after``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from parley.clock import Clock
from parley.domain import presence as policy
from parley.domain.access import Staff
from parley.domain.errors import NotFound
from parley.domain.presence import AgentPresence, Presence, PresenceChanged
from parley.protocol import PresenceOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Kick, Notification, ToStaff
from parley.storage.agents import AgentStore
from parley.storage.db import Database
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore


class PresenceService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        node_id: str,
        grace: timedelta,
        stale_after: timedelta,
        workgroups: WorkgroupStore,
        agents: AgentStore,
    ) -> None:
        self._workgroups = workgroups
        self._agents = agents
        self._db = db
        self._bus = bus
        self._clock = clock
        self._node_id = node_id
        self.grace = grace
        self._stale_after = stale_after

    async def set(self, staff: Staff, presence: Presence, status_text: str) -> AgentPresence:
        now = self._clock.now()
        async with self._db.write() as tx:
            row = await self._agents.agent(tx, staff.user_id, lock=True)
            if row is None:
                raise NotFound("no presence for this account")
            live = await self._agents.live_connections(tx, staff.user_id, now - self._stale_after)
            state, events = policy.set_presence(row.presence, presence, status_text, live, now)
            back = (
                presence is Presence.AVAILABLE and row.presence.presence is not Presence.AVAILABLE
            )
            await self._agents.save_agent(tx, state, idle_since=now if back else None)
            if back:
                await self._agents.set_missed_offers(tx, staff.user_id, 0)
            notes = announce(events)
            if events:
                notes += [
                    Kick(workgroup_id=w)
                    for w in await self._workgroups.workgroups_of(tx, staff.user_id)
                ]
        await self._bus.publish(notes)
        return state

    async def snapshot(self) -> list[PresenceOut]:
        async with self._db.read() as tx:
            return [
                PresenceOut(user_id=p.agent_id, presence=p.presence, status_text=p.status_text)
                for p in await self._agents.agent_presences(tx)
            ]

    async def connected(self, staff: Staff, connection_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as tx:
            await self._agents.insert_connection(
                tx, connection_id, staff.user_id, self._node_id, now
            )
            row = await self._agents.agent(tx, staff.user_id, lock=True)
            if row is not None:
                await self._agents.save_agent(tx, policy.connected(row.presence))

    async def disconnected(self, staff: Staff, connection_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as tx:
            await self._agents.delete_connection(tx, connection_id)
            await self._recount(tx, staff.user_id, now)

    async def _recount(self, tx: Tx, user_id: int, now: datetime) -> None:
        row = await self._agents.agent(tx, user_id, lock=True)
        if row is None:
            return
        live = await self._agents.live_connections(tx, user_id, now - self._stale_after)
        state = policy.disconnected(row.presence, live, now)
        if live > 0:
            state = policy.connected(state)
        if state != row.presence:
            await self._agents.save_agent(tx, state)

    async def sweep(self) -> datetime | None:
        """Refresh this node's connections, drop dead nodes' ones, and take agents whose grace
        period ran out offline. Returns the next moment a grace period ends, if any."""
        now = self._clock.now()
        notes: list[Notification] = []
        deadlines: list[datetime] = []
        async with self._db.write() as tx:
            await self._agents.touch_connections(tx, self._node_id, now)
            # Agent rows are locked in id order, here as on every other node: no deadlock.
            for user_id in sorted(
                await self._agents.stale_connection_users(tx, now - self._stale_after)
            ):
                await self._recount(tx, user_id, now)
            for user_id in sorted(await self._agents.agents_to_expire(tx)):
                row = await self._agents.agent(tx, user_id, lock=True)
                if row is None:
                    continue
                state, events = policy.expire(row.presence, now, self.grace)
                if events:
                    await self._agents.save_agent(tx, state)
                    notes += announce(events)
                    # Their pending offers are withdrawn by the dispatcher.
                    notes += [
                        Kick(workgroup_id=w)
                        for w in await self._workgroups.workgroups_of(tx, user_id)
                    ]
                deadline = policy.deadline(state, self.grace)
                if deadline is not None:
                    deadlines.append(deadline)
        await self._bus.publish(notes)
        return min(deadlines, default=None)

    async def forget_node(self) -> None:
        """On shutdown: this node's connections are gone; their grace periods start now."""
        now = self._clock.now()
        async with self._db.write() as tx:
            for user_id in await self._agents.delete_node_connections(tx, self._node_id):
                await self._recount(tx, user_id, now)


def announce(events: list[PresenceChanged]) -> list[Notification]:
    return [
        ToStaff(
            message=PresenceOut(
                user_id=e.agent_id, presence=e.presence, status_text=e.status_text
            ).model_dump(mode="json")
        )
        for e in events
    ]
