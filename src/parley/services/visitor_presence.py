"""Whether each chat's customer is still there (``domain.visitor_presence``), for the agent's
eight-hour shift: a customer who closed the tab is shown as gone, and their chat ends by itself
after the workgroup's idle time, freeing the agent's slot.

Each visitor socket is recorded with the node that holds it (``visitor_connections``), as
staff connections are, so that the grace time counts every tab on every node; a node
refreshes its rows on every sweep, and rows of a node that stopped sweeping count as closed
after ``stale_after``. The sweep (one of ``Maintenance.sweeps``, driven by the node's clock: the
fake clock in tests) tells the agents (an ``away`` entry, staff only) and ends the chat
(``ChatService.end`` as the customer, reason ``customer_left``). A socket that opens again
clears it all, with a ``back`` entry if the agents had been told.

Cost: one small write when a visitor's socket opens and one when it closes (after the hello's
``synced``, never in its one read), and one read per sweep while some customer is gone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from parley.clock import Clock
from parley.domain import conversation as conv_policy
from parley.domain import visitor_presence as policy
from parley.domain.access import Visitor
from parley.domain.conversation import Status
from parley.domain.visitor_presence import Due
from parley.protocol import EntryOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended, Notification
from parley.services.chat import ChatService
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.tx import Tx
from parley.storage.visitors import VisitorStore

log = logging.getLogger(__name__)

#: Chats looked at per sweep (the oldest gone first); the rest on the next one.
SWEEP_BATCH = 200


class VisitorPresenceService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        chat: ChatService,
        *,
        node_id: str,
        grace: timedelta,
        stale_after: timedelta,
        visitors: VisitorStore,
        conversations: ConversationStore,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._chat = chat
        self._node_id = node_id
        self.grace = grace
        self._stale_after = stale_after
        self._visitors = visitors
        self._conversations = conversations

    async def connected(self, visitor: Visitor, connection_id: str) -> None:
        now = self._clock.now()
        notes: list[Notification] = []
        async with self._db.write() as tx:
            cid = visitor.conversation_id
            state = await self._visitors.presence(tx, cid, lock=True)
            await self._visitors.add_connection(tx, connection_id, cid, self._node_id, now)
            if state == policy.THERE:
                return
            there, back = policy.connected(state)
            await self._visitors.save_presence(tx, cid, there)
            if back:
                notes += await self._line(tx, cid, now, back=True)
        await self._bus.publish(notes)

    async def disconnected(self, visitor: Visitor, connection_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as tx:
            # The row first: two tabs closing on two nodes at once count one after the other.
            await self._visitors.presence(tx, visitor.conversation_id, lock=True)
            await self._visitors.remove_connection(tx, connection_id)
            await self._recount(tx, visitor.conversation_id, now)

    async def _recount(self, tx: Tx, conversation_id: str, now: datetime) -> None:
        state = await self._visitors.presence(tx, conversation_id, lock=True)
        live = await self._visitors.live_connections(tx, conversation_id, now - self._stale_after)
        after = policy.disconnected(state, live, now)
        if after != state:
            await self._visitors.save_presence(tx, conversation_id, after)

    async def _line(
        self, tx: Tx, conversation_id: str, now: datetime, *, back: bool, ends_in: int = 0
    ) -> list[Notification]:
        conv = await self._conversations.conversation(tx, conversation_id, lock=True)
        if conv is None or conv.status is Status.ENDED:
            return []
        if back:
            conv, entry = conv_policy.customer_back(conv, now)
        else:
            conv, entry = conv_policy.customer_away(conv, ends_in, now)
        await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
        await self._conversations.insert_entries(tx, conv.id, [entry])
        return [Appended(conversation_id=conv.id, entries=[EntryOut.of(entry)])]

    async def sweep(self) -> datetime | None:
        """Refresh this node's sockets, drop dead nodes' ones, tell the agents of customers
        gone beyond the grace time and end the chats idle past their workgroup's idle time.
        Returns when to look again, if anything is pending."""
        now = self._clock.now()
        notes: list[Notification] = []
        deadlines: list[datetime] = []
        to_end: list[str] = []
        async with self._db.write() as tx:
            await self._visitors.touch(tx, self._node_id, now)
            for cid in await self._visitors.drop_stale(tx, now - self._stale_after):
                await self._recount(tx, cid, now)
        # A transaction of its own, which locks rows in one order only (the oldest gone first):
        # two nodes sweeping at once wait for each other rather than deadlock.
        async with self._db.write() as tx:
            for w in await self._visitors.watched(tx, SWEEP_BATCH):
                idle = timedelta(seconds=w.customer_idle_secs)
                # Again under the row's lock: another node's sweep may have just announced it.
                state = await self._visitors.presence(tx, w.conversation_id, lock=True)
                what, next_at = policy.due(state, w.status, now, self.grace, idle)
                if what is Due.ANNOUNCE:
                    await self._visitors.save_presence(
                        tx,
                        w.conversation_id,
                        policy.VisitorPresence(gone_at=state.gone_at, left_at=now),
                    )
                    notes += await self._line(
                        tx, w.conversation_id, now, back=False, ends_in=w.customer_idle_secs
                    )
                elif what is Due.END:
                    to_end.append(w.conversation_id)
                if next_at is not None:
                    deadlines.append(next_at)
        await self._bus.publish(notes)
        for cid in to_end:
            try:
                await self._chat.end(Visitor(cid), cid, reason=policy.END_REASON)
            except Exception:  # one chat's failure must not stop the others; retried next sweep
                log.exception("ending chat %s after its customer left failed", cid)
        return min(deadlines, default=None)

    async def forget_node(self) -> None:
        """On start and shutdown: this node's sockets are gone; their grace times start now."""
        now = self._clock.now()
        async with self._db.write() as tx:
            for cid in await self._visitors.drop_node(tx, self._node_id):
                await self._recount(tx, cid, now)
