"""Presence use cases: an agent's chosen presence, and the connections that keep it alive.

Connections are recorded in the database with the node that holds them, so that the grace
period counts every node's connections. Each node refreshes its connections' ``seen_at`` on
every sweep; connections of a node that stopped sweeping (it died) count as closed after
``stale_after``.

Presence is every staff member's (each account has a row from its creation); routing reads
only ``available``. Status texts go through the house rules of scope ``status_text``
(refused: ``BlockedWord``, nothing changes; masked: stored masked; both audited). Each
connection may report its browser idle (``idle``): when every live connection of the member is
idle, available turns away, and back when one is active (``domain.presence.set_idle``).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from parley.clock import Clock
from parley.domain import presence as policy
from parley.domain.access import Staff
from parley.domain.errors import NotFound
from parley.domain.presence import AgentPresence, Presence, PresenceChanged
from parley.domain.wordfilter import Outcome, Scope
from parley.protocol import PresenceOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Kick, Notification, ToStaff
from parley.services.house_rules import AuditRecord, HouseRulesService, audit_record, refusal
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
        idle_away: timedelta = timedelta(seconds=policy.IDLE_AWAY_SECS),
        house_rules: HouseRulesService | None = None,
    ) -> None:
        """``idle_away``: how long a browser waits before it reports idle (sent to clients in
        ``welcome``); zero turns idle presence off (``idle`` reports are then ignored)."""
        self._workgroups = workgroups
        self.idle_away = idle_away
        self._house_rules = house_rules
        self._agents = agents
        self._db = db
        self._bus = bus
        self._clock = clock
        self._node_id = node_id
        self.grace = grace
        self._stale_after = stale_after

    async def set(
        self, staff: Staff, presence: Presence, status_text: str, *, confirm: bool = False
    ) -> AgentPresence:
        policy.check_status_text(status_text)
        status_text, record = await self._filter(staff, status_text, confirm)
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
            if record is not None and self._house_rules is not None:
                await self._house_rules.record(tx, record)
            notes = announce(events)
            if events:
                notes += [
                    Kick(workgroup_id=w)
                    for w in await self._workgroups.workgroups_of(tx, staff.user_id)
                ]
        await self._bus.publish(notes)
        if record is not None and self._house_rules is not None:
            await self._house_rules.notify(record)
        return state

    async def _filter(
        self, staff: Staff, text: str, confirm: bool
    ) -> tuple[str, AuditRecord | None]:
        """The status text to store under the house rules (scope ``status_text``)."""
        if self._house_rules is None or not text:
            return text, None
        verdict = await self._house_rules.check(text, Scope.STATUS_TEXT, confirmed=confirm)
        subject = f"status_text:{staff.user_id}"
        record = audit_record(staff, subject, Scope.STATUS_TEXT, text, verdict)
        if verdict.outcome is Outcome.REFUSED:
            assert record is not None
            await self._house_rules.record_refusal(record)
            raise refusal(verdict)
        if verdict.outcome is Outcome.WARN:
            raise refusal(verdict)
        assert verdict.text is not None
        return verdict.text, record

    async def idle(self, staff: Staff, connection_id: str, idle: bool) -> None:
        """The browser behind ``connection_id`` says its user is idle (or back)."""
        if self.idle_away <= timedelta(0):
            return
        now = self._clock.now()
        async with self._db.write() as tx:
            if not await self._agents.set_connection_idle(tx, connection_id, idle):
                return
            row = await self._agents.agent(tx, staff.user_id, lock=True)
            if row is None:
                return
            active = await self._agents.active_connections(
                tx, staff.user_id, now - self._stale_after
            )
            state, events = policy.set_idle(row.presence, active == 0, now)
            if not events:
                return
            back = state.presence is Presence.AVAILABLE
            await self._agents.save_agent(tx, state, idle_since=now if back else None)
            notes = announce(events)
            notes += [
                Kick(workgroup_id=w)
                for w in await self._workgroups.workgroups_of(tx, staff.user_id)
            ]
        await self._bus.publish(notes)

    async def snapshot(self) -> list[PresenceOut]:
        """Every member's presence, for a staff connection's hello (1,000 members: 1,000
        frames, so the read takes only the four columns shown)."""
        async with self._db.read() as tx:
            rows = await self._agents.presence_board(tx)
        return [
            PresenceOut.model_construct(
                user_id=user_id, presence=Presence(presence), status_text=text, idle=idle
            )
            for user_id, presence, text, idle in rows
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
                user_id=e.agent_id,
                presence=e.presence,
                status_text=e.status_text,
                idle=e.away_from_idle,
            ).model_dump(mode="json")
        )
        for e in events
    ]
