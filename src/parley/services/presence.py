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
from parley.storage.db import Database
from parley.storage.store import Store


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
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._node_id = node_id
        self.grace = grace
        self._stale_after = stale_after

    async def set(self, staff: Staff, presence: Presence, status_text: str) -> AgentPresence:
        now = self._clock.now()
        async with self._db.write() as store:
            row = await store.agent(staff.user_id, lock=True)
            if row is None:
                raise NotFound("no presence for this account")
            live = await store.live_connections(staff.user_id, now - self._stale_after)
            state, events = policy.set_presence(row.presence, presence, status_text, live, now)
            back = (
                presence is Presence.AVAILABLE and row.presence.presence is not Presence.AVAILABLE
            )
            await store.save_agent(state, idle_since=now if back else None)
            if back:
                await store.set_missed_offers(staff.user_id, 0)
            notes = announce(events)
            if events:
                notes += [Kick(workgroup_id=w) for w in await store.workgroups_of(staff.user_id)]
        await self._bus.publish(notes)
        return state

    async def snapshot(self) -> list[PresenceOut]:
        async with self._db.read() as store:
            return [
                PresenceOut(user_id=p.agent_id, presence=p.presence, status_text=p.status_text)
                for p in await store.agent_presences()
            ]

    async def connected(self, staff: Staff, connection_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as store:
            await store.insert_connection(connection_id, staff.user_id, self._node_id, now)
            row = await store.agent(staff.user_id, lock=True)
            if row is not None:
                await store.save_agent(policy.connected(row.presence))

    async def disconnected(self, staff: Staff, connection_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as store:
            await store.delete_connection(connection_id)
            await self._recount(store, staff.user_id, now)

    async def _recount(self, store: Store, user_id: int, now: datetime) -> None:
        row = await store.agent(user_id, lock=True)
        if row is None:
            return
        live = await store.live_connections(user_id, now - self._stale_after)
        state = policy.disconnected(row.presence, live, now)
        if live > 0:
            state = policy.connected(state)
        if state != row.presence:
            await store.save_agent(state)

    async def sweep(self) -> datetime | None:
        """Refresh this node's connections, drop dead nodes' ones, and take agents whose grace
        period ran out offline. Returns the next moment a grace period ends, if any."""
        now = self._clock.now()
        notes: list[Notification] = []
        deadlines: list[datetime] = []
        async with self._db.write() as store:
            await store.touch_connections(self._node_id, now)
            # Agent rows are locked in id order, here as on every other node: no deadlock.
            for user_id in sorted(await store.stale_connection_users(now - self._stale_after)):
                await self._recount(store, user_id, now)
            for user_id in sorted(await store.agents_to_expire()):
                row = await store.agent(user_id, lock=True)
                if row is None:
                    continue
                state, events = policy.expire(row.presence, now, self.grace)
                if events:
                    await store.save_agent(state)
                    notes += announce(events)
                    # Their pending offers are withdrawn by the dispatcher.
                    notes += [Kick(workgroup_id=w) for w in await store.workgroups_of(user_id)]
                deadline = policy.deadline(state, self.grace)
                if deadline is not None:
                    deadlines.append(deadline)
        await self._bus.publish(notes)
        return min(deadlines, default=None)

    async def forget_node(self) -> None:
        """On shutdown: this node's connections are gone; their grace periods start now."""
        now = self._clock.now()
        async with self._db.write() as store:
            for user_id in await store.delete_node_connections(self._node_id):
                await self._recount(store, user_id, now)


def announce(events: list[PresenceChanged]) -> list[Notification]:
    return [
        ToStaff(
            message=PresenceOut(
                user_id=e.agent_id, presence=e.presence, status_text=e.status_text
            ).model_dump(mode="json")
        )
        for e in events
    ]
