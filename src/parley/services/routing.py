"""Routing use cases: run a workgroup's dispatcher, accept and decline offers, cancel requests.

Every routing change locks the workgroup's row first (then an agent's, then a conversation's:
always in that order), loads the queue, calls ``parley.domain.routing`` and writes what its
events say. Offers are only ever made by ``run``, which one node at a time executes
(``parley.services.runtime.Dispatcher``); the partial unique indexes on ``offers`` make the
database refuse a second live offer for an agent or a request even if that were ever violated.
"""

from __future__ import annotations

from datetime import datetime

from parley.clock import Clock
from parley.domain import conversation as conv_policy
from parley.domain import routing
from parley.domain.access import Staff
from parley.domain.conversation import Participant, Role
from parley.domain.errors import NotFound, OfferGone
from parley.protocol import (
    EntryOut,
    OfferEndedMessage,
    OfferMessage,
    OfferOut,
    QueueStatus,
)
from parley.realtime.bus import Bus
from parley.realtime.notifications import (
    Appended,
    Follow,
    Kick,
    Notification,
    ToConversation,
    ToUser,
)
from parley.storage.db import Database
from parley.storage.store import Store, WorkgroupRow


class RoutingService:
    def __init__(self, db: Database, bus: Bus, clock: Clock) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock

    async def run(self, workgroup_id: int) -> datetime | None:
        """Apply due timeouts and make every offer that can be made. Returns when to run next."""
        now = self._clock.now()
        async with self._db.write() as store:
            wg = await store.workgroup(workgroup_id, lock=True)
            if wg is None:
                return None
            before = await store.load_queue(wg)
            ticked, timeouts = routing.tick(before, now)
            after, offers = routing.dispatch(ticked, now)
            notes = await self._persist(store, wg, before, after, [*timeouts, *offers], now)
        await self._bus.publish(notes)
        return routing.next_deadline(after)

    async def accept(self, staff: Staff, offer_id: str) -> str:
        """Accept an offer: the agent joins the conversation. Returns its id."""
        now = self._clock.now()
        async with self._db.write() as store:
            wg = await self._offer_workgroup(store, offer_id)
            await store.agent(staff.user_id, lock=True)  # one capacity check at a time
            before = await store.load_queue(wg)
            after, events = routing.accept(before, offer_id, staff.user_id, now)
            notes = await self._persist(store, wg, before, after, events, now)
            request_id = next(
                e.request_id for e in events if isinstance(e, routing.RequestAccepted)
            )
            conv = await store.conversation(request_id, lock=True)
            if conv is None:
                raise NotFound("the conversation is gone")
            me = Participant(staff.key, Role.AGENT, staff.display_name, now, staff.user_id)
            conv, joined = conv_policy.join(conv, me, now)
            await store.save_conversation(conv)
            await store.insert_entries(conv.id, [joined])
            await store.set_idle_since(staff.user_id, now)
        notes += [
            Appended(conversation_id=conv.id, entries=[EntryOut.of(joined)]),
            Follow(user_id=staff.user_id, conversation_id=conv.id),
            _to_visitor(conv.id, QueueStatus(conversation_id=conv.id, status="accepted")),
            Kick(workgroup_id=wg.id),
        ]
        await self._bus.publish(notes)
        return conv.id

    async def decline(self, staff: Staff, offer_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as store:
            wg = await self._offer_workgroup(store, offer_id)
            before = await store.load_queue(wg)
            after, events = routing.decline(before, offer_id, staff.user_id, now)
            notes = await self._persist(store, wg, before, after, events, now)
        await self._bus.publish([*notes, Kick(workgroup_id=wg.id)])

    async def cancel_in(
        self, store: Store, wg: WorkgroupRow, request_id: str
    ) -> list[Notification]:
        """Cancel a waiting request, inside the caller's transaction (workgroup locked)."""
        now = self._clock.now()
        before = await store.load_queue(wg)
        after, events = routing.cancel(before, request_id, now)
        return [
            *await self._persist(store, wg, before, after, events, now),
            Kick(workgroup_id=wg.id),
        ]

    async def pending_offers(self, staff: Staff) -> list[OfferOut]:
        """The offers an agent holds now (sent again as a snapshot on reconnect)."""
        async with self._db.read() as store:
            return [
                await _offer_out(store, p.offer, p.workgroup_id)
                for p in await store.pending_offers_of(staff.user_id)
            ]

    async def workgroups_with_work(self) -> list[int]:
        async with self._db.read() as store:
            return await store.workgroups_with_work()

    async def _offer_workgroup(self, store: Store, offer_id: str) -> WorkgroupRow:
        wg_id = await store.offer_workgroup(offer_id)
        wg = None if wg_id is None else await store.workgroup(wg_id, lock=True)
        if wg is None:
            raise OfferGone("this offer is no longer open")
        return wg

    async def _persist(
        self,
        store: Store,
        wg: WorkgroupRow,
        before: routing.Queue,
        after: routing.Queue,
        events: list[routing.RoutingEvent],
        now: datetime,
    ) -> list[Notification]:
        """Write what the routing events say; return the notifications to publish after commit."""
        notes: list[Notification] = []
        # Offers end before new ones start: the database allows one live offer per agent.
        for event in events:
            if isinstance(event, routing.OfferEnded):
                await store.end_offer(event.offer.offer_id, event.reason, now)
                # Other workgroups skipped this agent while the offer was live: wake them.
                notes += [
                    Kick(workgroup_id=w)
                    for w in await store.workgroups_of(event.offer.agent_id)
                    if w != wg.id
                ]
                notes.append(
                    ToUser(
                        user_id=event.offer.agent_id,
                        message=OfferEndedMessage(
                            offer_id=event.offer.offer_id, reason=event.reason
                        ).model_dump(mode="json"),
                    )
                )
        old = {r.request_id: r for r in before.requests}
        for request in after.requests:
            if old.get(request.request_id) != request:
                await store.save_request(request)
        for event in events:
            match event:
                case routing.OfferMade(offer=offer):
                    await store.insert_offer(offer, wg.id)
                    out = await _offer_out(store, offer, wg.id)
                    notes.append(
                        ToUser(
                            user_id=offer.agent_id,
                            message=OfferMessage(offer=out).model_dump(mode="json"),
                        )
                    )
                case routing.RequestAccepted(request_id=request_id, agent_id=agent_id):
                    await store.end_request(request_id, "accepted", now, agent_id)
                case routing.RequestEnded(request_id=request_id, reason=reason):
                    await store.end_request(request_id, reason, now)
                    notes += await self._end_conversation(store, request_id, reason, now)
                case routing.PositionChanged(request_id=request_id, position=position):
                    status = QueueStatus(
                        conversation_id=request_id, status="waiting", position=position
                    )
                    notes.append(_to_visitor(request_id, status))
        return notes

    async def _end_conversation(
        self, store: Store, conversation_id: str, reason: str, now: datetime
    ) -> list[Notification]:
        conv = await store.conversation(conversation_id, lock=True)
        if conv is None:
            return []
        conv, entries = conv_policy.end(conv, None, reason, now)
        await store.save_conversation(conv)
        await store.insert_entries(conv.id, entries)
        status = QueueStatus(
            conversation_id=conv.id,
            status="expired" if reason == "expired" else "cancelled",
        )
        return [
            Appended(conversation_id=conv.id, entries=[EntryOut.of(e) for e in entries]),
            _to_visitor(conv.id, status),
        ]


async def _offer_out(store: Store, offer: routing.Offer, workgroup_id: int) -> OfferOut:
    conv = await store.conversation(offer.request_id)
    return OfferOut(
        offer_id=offer.offer_id,
        conversation_id=offer.request_id,
        workgroup_id=workgroup_id,
        offered_at=offer.offered_at,
        expires_at=offer.expires_at,
        metadata={} if conv is None else conv.metadata,
    )


def _to_visitor(conversation_id: str, status: QueueStatus) -> ToConversation:
    return ToConversation(
        conversation_id=conversation_id,
        message=status.model_dump(mode="json"),
        audience="visitor",
    )
