"""Routing use cases: run a workgroup's dispatcher, accept and decline offers, cancel requests.

Every routing change locks the workgroup's row first (then an agent's, then a conversation's:
always in that order), loads the queue (``_router``: the queue this node kept, brought up to date
from the change feed), calls ``parley.domain.routing`` and writes what its events say. Offers
are only ever made by ``run``, which one node at a time executes
(``parley.services.runtime.Dispatcher``); the partial unique indexes on ``offers`` make the
database refuse a second live offer for an agent or a request even if that were ever violated.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Literal

from parley.clock import Clock
from parley.domain import access, routing, rules
from parley.domain import conversation as conv_policy
from parley.domain import presence as presence_policy
from parley.domain.access import Staff, StaffRole
from parley.domain.conversation import Conversation, Participant, Role, Status
from parley.domain.errors import Conflict, Forbidden, InvalidInput, NotFound, OfferGone
from parley.metrics import Metrics
from parley.protocol import (
    EntryOut,
    OfferEndedMessage,
    OfferMessage,
    OfferOut,
    QueueStatus,
    TransferOut,
    TransferStatus,
    WaitingChanged,
    WaitingOut,
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
from parley.services.conversations import readable, require_participant
from parley.services.kept_queues import KeptQueues
from parley.services.presence import announce
from parley.services.queues import saved_rules
from parley.storage.agents import AgentStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.requests import KeptQueue, RequestStore, RoutingEventRow
from parley.storage.staff import StaffStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

MAX_NOTE_CHARS = 1000
#: How long the dispatcher may go on bringing a kept queue up to date from the change feed
#: before it loads the queue whole again (the safety net; ``routing_full_reload_secs``).
DEFAULT_FULL_RELOAD = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class TransferTarget:
    kind: Literal["agent", "queue", "workgroup"]
    #: The agent's username, the queue's name, or the workgroup's slug.
    name: str


class RoutingService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        requests: RequestStore,
        agents: AgentStore,
        metrics: Metrics,
        full_reload: timedelta = DEFAULT_FULL_RELOAD,
    ) -> None:
        self._metrics = metrics
        self._kept = KeptQueues(full_reload)
        self._samples = _RecentSamples()
        self._staff = staff
        self._workgroups = workgroups
        self._conversations = conversations
        self._requests = requests
        self._agents = agents
        self._db = db
        self._bus = bus
        self._clock = clock
        #: Called once an accept or a claim committed and was announced, with the agent and the
        #: conversation (the workgroup's automatic greeting, ``services.canned``). They must
        #: not raise: the chat is the agent's already.
        self.on_accepted: list[Callable[[Staff, str], Awaitable[None]]] = []

    async def _accepted_hooks(self, staff: Staff, conversation_id: str) -> None:
        for hook in self.on_accepted:
            await hook(staff, conversation_id)

    async def run(self, workgroup_id: int) -> datetime | None:
        """Apply due timeouts and make every offer that can be made. Returns when to run next.

        The workgroup's queue is kept between runs (``KeptQueues``) and brought up to date from
        the change feed (``RequestStore.refresh``): a run reads the requests changed since the
        last one, not every waiting request."""
        now = self._clock.now()
        async with self._db.write() as tx:
            wg = await self._workgroups.workgroup(tx, workgroup_id, lock=True)
            if wg is None:
                self._kept.forget([workgroup_id])
                return None
            before, keep = await self._router(tx, wg)
            ticked, timeouts = routing.tick(before, now)
            after, offers = routing.dispatch(ticked, now)
            notes = await self._persist(tx, wg, before, after, [*timeouts, *offers], now)
            prune = self._kept.prune_upto(workgroup_id, keep)
            if prune is not None:
                await self._requests.prune_changes(tx, workgroup_id, prune)
                tx.on_commit(partial(self._kept.pruned, workgroup_id, prune))
        self._metrics.dispatch_run([*timeouts, *offers])
        await self._bus.publish(notes)
        return routing.next_deadline(after, now)

    async def _router(self, tx: Tx, wg: WorkgroupRow) -> tuple[routing.Router, KeptQueue]:
        """The workgroup's router, from the queue this node kept plus what changed since (or
        loaded whole, ``RequestStore.refresh``); what was read is kept once ``tx`` commits.

        ``wg`` must have been read with its row locked in ``tx``, before ``tx`` changed any of
        its requests: every writer of the change feed holds that lock, so ``wg.routing_revision``
        is exactly the committed state the requests read here reflect, on whichever node this
        runs. What is kept is the queue *before* this transaction's own changes, at that
        revision; those changes are the next revision in the feed, which the next use reads."""
        now = self._clock.now()
        router, keep, how = await self._requests.refresh(tx, wg, self._kept.get(wg.id, now))
        self._metrics.routing_load(how)
        tx.on_commit(partial(self._kept.put, wg.id, keep, now, whole=how == "full"))
        return router, keep

    def kept(self, workgroup_id: int) -> KeptQueue | None:
        """The queue this node keeps for the workgroup, if any (tests and diagnostics)."""
        return self._kept.get(workgroup_id, self._clock.now())

    def forget(self, workgroup_ids: Iterable[int]) -> None:
        """Drop the kept queues of these workgroups: their next use loads them whole."""
        self._kept.forget(workgroup_ids)

    def expire(self) -> None:
        """Drop the kept queues due for a full load anyway (memory only for what is in use)."""
        self._kept.expire(self._clock.now())

    async def accept(self, staff: Staff, offer_id: str) -> str:
        """Accept an offer: the agent joins the conversation. Returns its id."""
        now = self._clock.now()
        async with self._db.write() as tx:
            wg = await self._offer_workgroup(tx, offer_id)
            await self._agents.agent(tx, staff.user_id, lock=True)  # one capacity check at a time
            before, _ = await self._router(tx, wg)
            after, events = routing.accept(before, offer_id, staff.user_id, now)
            notes = await self._assigned(tx, staff, wg, before, after, events, now)
        await self._bus.publish(notes)
        await self._accepted_hooks(staff, _accepted(events))
        return _accepted(events)

    async def claim(self, staff: Staff, conversation_id: str) -> str:
        """Take a waiting request of a manual-pick queue: the agent joins the conversation."""
        now = self._clock.now()
        async with self._db.write() as tx:
            found = await self._requests.request_workgroup(tx, conversation_id)
            wg = (
                None if found is None else await self._workgroups.workgroup(tx, found[0], lock=True)
            )
            if wg is None:
                raise OfferGone("this request is no longer waiting")
            await self._agents.agent(tx, staff.user_id, lock=True)
            before, _ = await self._router(tx, wg)
            after, events = routing.claim(before, conversation_id, staff.user_id, now)
            notes = await self._assigned(tx, staff, wg, before, after, events, now)
        await self._bus.publish(notes)
        await self._accepted_hooks(staff, _accepted(events))
        return _accepted(events)

    async def _assigned(
        self,
        tx: Tx,
        staff: Staff,
        wg: WorkgroupRow,
        before: routing.Router,
        after: routing.Router,
        events: list[routing.RoutingEvent],
        now: datetime,
    ) -> list[Notification]:
        """Write an accept or a claim: the agent joins the conversation; after a transfer the
        sender leaves it."""
        notes = await self._persist(tx, wg, before, after, events, now)
        request = before.find(_accepted(events))
        assert request is not None
        conv = await self._conversations.conversation(tx, request.request_id, lock=True)
        if conv is None:
            raise NotFound("the conversation is gone")
        me = Participant(staff.key, Role.AGENT, staff.display_name, now, staff.user_id)
        conv, joined = conv_policy.join(conv, me, now)
        entries = [joined]
        transfer = request.transfer
        if transfer is not None:
            sender = conv.participant(conv_policy.staff_key(transfer.from_agent))
            if sender is not None and sender.present:
                conv, left = conv_policy.leave(conv, sender.key, "transferred", now)
                entries.append(left)
            if conv.workgroup_id != wg.id:
                await self._conversations.set_conversation_workgroup(tx, conv.id, wg.id)
            await self._requests.record_event(
                tx,
                RoutingEventRow(
                    conv.id,
                    "transfer_accepted",
                    now,
                    actor_id=staff.user_id,
                    agent_id=transfer.from_agent,
                    from_workgroup_id=conv.workgroup_id,
                    to_workgroup_id=wg.id,
                    to_queue_id=request.queue_id,
                ),
            )
            await self._agents.set_idle_since(tx, transfer.from_agent, now)
            notes += [
                _transfer_status(transfer.from_agent, conv.id, "accepted", staff.display_name),
                *[
                    Kick(workgroup_id=w)
                    for w in await self._workgroups.workgroups_of(tx, transfer.from_agent)
                ],
            ]
        else:
            status = QueueStatus(conversation_id=conv.id, status="accepted")
            notes.append(_to_visitor(conv.id, status))
        await self._conversations.save_conversation(tx, conv)
        await self._conversations.insert_entries(tx, conv.id, entries)
        await self._agents.set_idle_since(tx, staff.user_id, now)
        await self._agents.set_missed_offers(tx, staff.user_id, 0)
        return [
            *notes,
            Appended(conversation_id=conv.id, entries=[EntryOut.of(e) for e in entries]),
            Follow(user_id=staff.user_id, conversation_id=conv.id),
            Kick(workgroup_id=wg.id),
        ]

    async def transfer(
        self, staff: Staff, conversation_id: str, target: TransferTarget, note: str
    ) -> None:
        """Hand a chat on to an agent, a queue or another workgroup, with a note. The sender
        keeps the chat until someone accepts; if nobody does it stays theirs (``transfer``
        ``failed``). The receiver gets an ordinary offer, which names the sender and the note."""
        if len(note) > MAX_NOTE_CHARS:
            raise InvalidInput(f"a transfer note is limited to {MAX_NOTE_CHARS} characters")
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await readable(tx, self._workgroups, self._conversations, staff, conversation_id)
            await _require_agent_in(tx, self._workgroups, staff, conv)
            source = (
                None
                if conv.workgroup_id is None
                else await self._workgroups.workgroup(tx, conv.workgroup_id)
            )
            if source is None:
                raise Conflict("this conversation has no workgroup")
            # Transfers that happened; attempts nobody took do not count.
            done = [
                e
                for e in await self._requests.events_of(tx, conv.id)
                if e.kind == "transfer_accepted"
            ]
            count = len(done)
            source.transfer_policy().check(target.kind, count)
            dest, queue_id, priority, to_agent = await self._transfer_target(
                tx, staff, source, conv.metadata, target
            )
            # Lock order: workgroup, then conversation; check again under the locks. The row read
            # under the lock is the one whose routing revision the queue is loaded at.
            locked = await self._workgroups.workgroup(tx, dest.id, lock=True)
            if locked is None:
                raise NotFound(f"no workgroup {target.name!r}")
            dest = locked
            conv = await readable(
                tx, self._workgroups, self._conversations, staff, conversation_id, lock=True
            )
            await _require_agent_in(tx, self._workgroups, staff, conv)
            state = await self._requests.request_state(tx, conv.id)
            if state is None or state.status != "accepted":
                raise Conflict("a transfer of this chat is already under way")
            before, _ = await self._router(tx, dest)
            request = routing.Request(
                request_id=conv.id,
                created_at=now,
                queue_id=queue_id,
                # A transferred customer keeps their place in the arrival order: ahead of
                # those who came later, at the same priority.
                arrival=state.arrival,
                priority=priority,
                entered_at=now,
                offers_made=state.offers_made,
                transfer=routing.Transfer(staff.user_id, to_agent, note),
            )
            after, events = routing.enqueue(before, request, now)
            place = after.position(conv.id)
            assert place is not None
            await self._requests.start_transfer(tx, request, dest.id, place[1])
            notes = await self._persist(tx, dest, before, after, events, now)
            await self._requests.record_event(
                tx,
                RoutingEventRow(
                    conv.id,
                    "transfer_requested",
                    now,
                    actor_id=staff.user_id,
                    agent_id=to_agent,
                    from_workgroup_id=source.id,
                    to_workgroup_id=dest.id,
                    to_queue_id=queue_id,
                    note=note,
                ),
            )
        await self._bus.publish(
            [
                *notes,
                Kick(workgroup_id=dest.id),
                _transfer_status(staff.user_id, conv.id, "pending"),
            ]
        )

    async def cancel_transfer(self, staff: Staff, conversation_id: str) -> None:
        """The sender calls a transfer off before anyone accepted it."""
        async with self._db.write() as tx:
            await readable(
                tx, self._workgroups, self._conversations, staff, conversation_id
            )  # not theirs: as if it did not exist
            state = await self._requests.request_state(tx, conversation_id)
            if state is None or state.status != "waiting" or state.transfer_from is None:
                raise Conflict("no transfer of this chat is under way")
            if state.transfer_from != staff.user_id:
                access.require_role(staff, StaffRole.SUPERVISOR)
            wg = await self._workgroups.workgroup(tx, state.workgroup_id, lock=True)
            assert wg is not None
            notes = await self.cancel_in(tx, wg, conversation_id)
        await self._bus.publish(notes)

    async def _transfer_target(
        self,
        tx: Tx,
        staff: Staff,
        source: WorkgroupRow,
        metadata: Mapping[str, Any],
        target: TransferTarget,
    ) -> tuple[WorkgroupRow, int, int, int | None]:
        """Where a transfer goes: (workgroup, queue, priority, named agent)."""
        own = await self._workgroups.queues(tx, source.id)
        default = next(q.id for q in own if q.is_default)
        match target.kind:
            case "agent":
                user = await self._staff.user_by_username(tx, target.name)
                if user is None or not user.active or await self._agents.agent(tx, user.id) is None:
                    raise NotFound(f"no agent {target.name!r}")
                if user.id == staff.user_id:
                    raise InvalidInput("you cannot transfer a chat to yourself")
                if source.id not in await self._workgroups.workgroups_of(tx, user.id):
                    raise InvalidInput(
                        f"{target.name!r} is not in this workgroup: transfer to theirs instead"
                    )
                return source, default, 0, user.id
            case "queue":
                queue = next((q for q in own if q.name == target.name), None)
                if queue is None:
                    raise NotFound(f"no queue {target.name!r} in this workgroup")
                return source, queue.id, 0, None
            case "workgroup":
                dest = await self._workgroups.workgroup_by_slug(tx, target.name)
                if dest is None:
                    raise NotFound(f"no workgroup {target.name!r}")
                theirs = await self._workgroups.queues(tx, dest.id)
                decision = rules.route(
                    await saved_rules(tx, self._workgroups, dest.id),
                    metadata,
                    next(q.id for q in theirs if q.is_default),
                )
                return dest, decision.queue_id, decision.priority, None
        raise InvalidInput("a transfer goes to an agent, a queue or a workgroup")

    async def decline(self, staff: Staff, offer_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as tx:
            wg = await self._offer_workgroup(tx, offer_id)
            before, _ = await self._router(tx, wg)
            after, events = routing.decline(before, offer_id, staff.user_id, now)
            notes = await self._persist(tx, wg, before, after, events, now)
            await self._agents.set_missed_offers(tx, staff.user_id, 0)
        await self._bus.publish([*notes, Kick(workgroup_id=wg.id)])

    async def waiting(self, staff: Staff) -> list[WaitingOut]:
        """Requests of manual-pick queues in the agent's workgroups that they could claim."""
        now = self._clock.now()
        out: list[WaitingOut] = []
        async with self._db.read() as tx:
            for wg_id in await self._workgroups.workgroups_of(tx, staff.user_id):
                wg = await self._workgroups.workgroup(tx, wg_id)
                if wg is None:
                    continue
                router = await self._requests.load_router(tx, wg)
                me = router.agents.get(staff.user_id)
                positions = router.positions()
                mine = [
                    (request, spec)
                    for request in router.requests
                    if (spec := router.queues.get(request.queue_id)) is not None
                    and spec.strategy is routing.Strategy.MANUAL
                    and (me is None or router.may_claim(me, request))
                ]
                metadata = await self._conversations.metadata_of(
                    tx, [r.request_id for r, _ in mine]
                )
                for request, spec in mine:
                    out.append(
                        WaitingOut(
                            conversation_id=request.request_id,
                            workgroup_id=wg.id,
                            queue_id=spec.queue_id,
                            queue_name=spec.name,
                            position=positions[request.request_id][1],
                            priority=request.priority,
                            waiting_secs=int((now - request.created_at).total_seconds()),
                            metadata=metadata.get(request.request_id, {}),
                        )
                    )
        return out

    async def enqueue_in(
        self,
        tx: Tx,
        wg: WorkgroupRow,
        conv: Conversation,
        now: datetime,
    ) -> tuple[int, list[Notification]]:
        """Queue a new chat request inside the caller's transaction: the workgroup's rules pick
        its queue and priority, a returning customer's last agent is preferred (the same
        verified identity, else the same browser: never a typed email). Refuses with
        ``Unavailable`` when the queue is full. Returns the request's position, and what to
        publish after the commit."""
        conversation_id, metadata = conv.id, conv.metadata
        # Queue lengths are checked under this lock; the row read under it is the one whose
        # routing revision the queue is loaded at (the caller's may be older).
        locked = await self._workgroups.workgroup(tx, wg.id, lock=True)
        if locked is None:
            raise NotFound("this workgroup is gone")
        wg = locked
        before, _ = await self._router(tx, wg)
        default = next(
            (q.id for q in await self._workgroups.queues(tx, wg.id) if q.is_default), None
        )
        if default is None:
            raise NotFound("this workgroup has no default queue")
        decision = rules.route(await saved_rules(tx, self._workgroups, wg.id), metadata, default)
        preferred = await self._requests.last_agent_of(tx, wg.id, conv.link)
        request = routing.Request(
            request_id=conversation_id,
            created_at=now,
            queue_id=decision.queue_id,
            arrival=await self._requests.next_arrival(tx),
            priority=decision.priority,
            entered_at=now,
            preferred_agent=preferred,
        )
        after, events = routing.enqueue(before, request, now)
        place = after.position(conversation_id)
        assert place is not None
        position = place[1]
        await self._requests.insert_request(tx, request, wg.id, position)
        # Those behind a higher-priority newcomer moved back: they hear it now.
        notes = await self._persist(tx, wg, before, after, events, now)
        return position, [*notes, Kick(workgroup_id=wg.id)]

    async def queue_status(self, conversation_id: str) -> QueueStatus | None:
        """Where a waiting request stands, with its estimated wait; None when not waiting."""
        async with self._db.read() as tx:
            return await self.queue_status_in(tx, conversation_id)

    async def queue_status_in(self, tx: Tx, conversation_id: str) -> QueueStatus | None:
        """``queue_status`` inside the caller's read (a visitor's hello). The position is
        exact (read now); the queue's wait samples may be up to ``ESTIMATE_CACHE_SECS`` old
        (they change only when someone is answered, and a reconnect storm would otherwise
        read them once per visitor)."""
        # A transfer is the agents' business, not the visitor's.
        found = await self._requests.queue_position(tx, conversation_id, transfers=False)
        if found is None:
            return None
        queue_id, position = found
        samples = self._samples.get(queue_id, self._clock.now())
        if samples is None:
            samples = await self._requests.wait_samples(tx, queue_id, ESTIMATE_SAMPLES)
            self._samples.put(queue_id, samples, self._clock.now())
        estimate = routing.estimate_wait(samples, position)
        return QueueStatus(
            conversation_id=conversation_id,
            status="waiting",
            position=position,
            estimated_wait_secs=None if estimate is None else round(estimate.total_seconds()),
        )

    async def cancel_in(self, tx: Tx, wg: WorkgroupRow, request_id: str) -> list[Notification]:
        """Cancel a waiting request, inside the caller's transaction (``wg`` read with its row
        locked in it, before anything of its queue changed in it)."""
        now = self._clock.now()
        before, _ = await self._router(tx, wg)
        after, events = routing.cancel(before, request_id, now)
        return [
            *await self._persist(tx, wg, before, after, events, now),
            Kick(workgroup_id=wg.id),
        ]

    async def pending_offers(self, staff: Staff) -> list[OfferOut]:
        """The offers an agent holds now (sent again as a snapshot on reconnect)."""
        async with self._db.read() as tx:
            out = []
            for p in await self._requests.pending_offers_of(tx, staff.user_id):
                wg = await self._workgroups.workgroup(tx, p.workgroup_id)
                router = None if wg is None else await self._requests.load_router(tx, wg)
                out.append(
                    await _offer_out(
                        tx, self._staff, self._conversations, p.offer, p.workgroup_id, router
                    )
                )
            return out

    async def workgroups_with_work(self) -> list[int]:
        async with self._db.read() as tx:
            return await self._requests.workgroups_with_work(tx)

    async def _offer_workgroup(self, tx: Tx, offer_id: str) -> WorkgroupRow:
        wg_id = await self._requests.offer_workgroup(tx, offer_id)
        wg = None if wg_id is None else await self._workgroups.workgroup(tx, wg_id, lock=True)
        if wg is None:
            raise OfferGone("this offer is no longer open")
        return wg

    async def _persist(
        self,
        tx: Tx,
        wg: WorkgroupRow,
        before: routing.Router,
        after: routing.Router,
        events: list[routing.RoutingEvent],
        now: datetime,
    ) -> list[Notification]:
        """Write what the routing events say; return the notifications to publish after commit."""
        notes: list[Notification] = []
        # Offers end before new ones start: the database allows one live offer per agent.
        for event in events:
            if isinstance(event, routing.OfferEnded):
                await self._requests.end_offer(tx, event.offer.offer_id, event.reason, now)
                # Other workgroups skipped this agent while the offer was live: wake them.
                notes += [
                    Kick(workgroup_id=w)
                    for w in await self._workgroups.workgroups_of(tx, event.offer.agent_id)
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
        # What changed, found by skipping what ``before`` and ``after`` share: O(changes).
        gone, changed = before.waiting.diff(after.waiting)
        moved = {e.request_id for e in events if isinstance(e, routing.RequestMoved)}
        for request in changed.values():  # in service order
            place = after.position(request.request_id) if request.request_id in moved else None
            await self._requests.save_request(tx, request, None if place is None else place[1])
        # The change feed: a node keeping this queue reads these requests again.
        await self._requests.log_changes(tx, wg.id, gone.keys() | changed.keys())
        for queue_id, agent_id in after.last_offered.items():
            if before.last_offered.get(queue_id) != agent_id:
                await self._workgroups.set_last_offered(tx, queue_id, agent_id)
        estimates = _Estimates(tx, self._requests)
        manual_changed = False
        # Agents set away first: lock order is agent before conversation.
        for event in events:
            if isinstance(event, routing.AgentSetAway):
                notes += await self._set_away(tx, event.agent_id, event.missed, now)
        for event in events:
            match event:
                case routing.OfferMade(offer=offer):
                    await self._requests.insert_offer(tx, offer, wg.id)
                    out = await _offer_out(
                        tx, self._staff, self._conversations, offer, wg.id, after
                    )
                    notes.append(
                        ToUser(
                            user_id=offer.agent_id,
                            message=OfferMessage(offer=out).model_dump(mode="json"),
                        )
                    )
                case routing.RequestAccepted(request_id=request_id, agent_id=agent_id):
                    await self._requests.end_request(tx, request_id, "accepted", now, agent_id)
                case routing.RequestEnded(request_id=request_id, reason=reason):
                    ended = before.find(request_id)
                    if ended is not None and ended.transfer is not None:
                        notes += await self._transfer_ended(tx, wg, ended, reason, now)
                    else:
                        await self._requests.end_request(tx, request_id, reason, now)
                        notes += await self._end_conversation(tx, request_id, reason, now)
                case routing.PositionChanged(
                    request_id=request_id, queue_id=queue_id, position=position
                ):
                    spec = after.queues.get(queue_id)
                    manual_changed |= spec is not None and spec.strategy is routing.Strategy.MANUAL
                    waiting = after.find(request_id)
                    if waiting is not None and waiting.transfer is not None:
                        continue  # a transfer is the agents' business, not the visitor's
                    estimate = await estimates.at(queue_id, position)
                    status = QueueStatus(
                        conversation_id=request_id,
                        status="waiting",
                        position=position,
                        estimated_wait_secs=estimate,
                    )
                    notes.append(_to_visitor(request_id, status))
                case (
                    routing.AgentSetAway()
                    | routing.RequestMoved()
                    | routing.RequestQueued()
                    | routing.OfferEnded()
                ):
                    pass
        for agent_id, agent in after.agents.items():
            previous = before.agents.get(agent_id)
            if previous is not None and previous.missed != agent.missed:
                await self._agents.set_missed_offers(tx, agent_id, agent.missed)
        if manual_changed or any(
            isinstance(e, routing.RequestAccepted | routing.RequestEnded)
            and (spec := before.queues.get(_queue_of(before, e.request_id))) is not None
            and spec.strategy is routing.Strategy.MANUAL
            for e in events
        ):
            notes += await _waiting_changed(tx, self._workgroups, wg.id)
        return notes

    async def _transfer_ended(
        self,
        tx: Tx,
        wg: WorkgroupRow,
        request: routing.Request,
        reason: str,
        now: datetime,
    ) -> list[Notification]:
        """Nobody took a transfer, or it was called off: the chat stays with the sender."""
        transfer = request.transfer
        assert transfer is not None
        conv = await self._conversations.conversation(tx, request.request_id)
        home = wg.id if conv is None or conv.workgroup_id is None else conv.workgroup_id
        await self._requests.end_transfer(tx, request.request_id, home, transfer.from_agent)
        kind = "transfer_failed" if reason == "transfer_failed" else "transfer_cancelled"
        await self._requests.record_event(
            tx,
            RoutingEventRow(
                request.request_id,
                kind,
                now,
                agent_id=transfer.to_agent,
                from_workgroup_id=home,
                to_workgroup_id=wg.id,
                to_queue_id=request.queue_id,
            ),
        )
        status: Literal["failed", "cancelled"] = (
            "failed" if reason == "transfer_failed" else "cancelled"
        )
        return [_transfer_status(transfer.from_agent, request.request_id, status)]

    async def _set_away(
        self, tx: Tx, agent_id: int, missed: int, now: datetime
    ) -> list[Notification]:
        """Routing set the agent away after missed offers: save it, tell them and everyone."""
        row = await self._agents.agent(tx, agent_id, lock=True)
        if row is None:
            return []
        state, changes = presence_policy.set_away_for_missed_offers(row.presence, missed, now)
        await self._agents.save_agent(tx, state)
        await self._agents.set_missed_offers(tx, agent_id, 0)
        notes = announce(changes)
        notes += [
            Kick(workgroup_id=w)
            for w in await self._workgroups.workgroups_of(tx, agent_id)
            if changes
        ]
        return notes

    async def _end_conversation(
        self, tx: Tx, conversation_id: str, reason: str, now: datetime
    ) -> list[Notification]:
        conv = await self._conversations.conversation(tx, conversation_id, lock=True)
        if conv is None:
            return []
        conv, entries = conv_policy.end(conv, None, reason, now)
        await self._conversations.save_conversation(tx, conv)
        await self._conversations.insert_entries(tx, conv.id, entries)
        status = QueueStatus(
            conversation_id=conv.id,
            status="expired" if reason == "expired" else "cancelled",
        )
        return [
            Appended(conversation_id=conv.id, entries=[EntryOut.of(e) for e in entries]),
            _to_visitor(conv.id, status),
        ]


async def _offer_out(
    tx: Tx,
    staff: StaffStore,
    conversations: ConversationStore,
    offer: routing.Offer,
    workgroup_id: int,
    router: routing.Router | None = None,
) -> OfferOut:
    conv = await conversations.conversation(tx, offer.request_id)
    queue_name = ""
    transfer: TransferOut | None = None
    if router is not None:
        request = router.find(offer.request_id)
        spec = None if request is None else router.queues.get(request.queue_id)
        queue_name = "" if spec is None else spec.name
        if request is not None and request.transfer is not None:
            sender = await staff.user(tx, request.transfer.from_agent)
            transfer = TransferOut(
                from_user_id=request.transfer.from_agent,
                from_name="" if sender is None else sender.display_name,
                note=request.transfer.note,
            )
    return OfferOut(
        offer_id=offer.offer_id,
        conversation_id=offer.request_id,
        workgroup_id=workgroup_id,
        offered_at=offer.offered_at,
        expires_at=offer.expires_at,
        metadata={} if conv is None else conv.metadata,
        queue_name=queue_name,
        broadcast=offer.broadcast,
        transfer=transfer,
        verified=conv is not None and conv.customer is not None,
    )


#: How many of a queue's last answered requests the wait estimate looks at.
ESTIMATE_SAMPLES = 20


#: How long a queue's wait samples are reused for the queue status sent on a hello.
ESTIMATE_CACHE_SECS = 10


class _RecentSamples:
    """Each queue's wait samples as last read, for ``ESTIMATE_CACHE_SECS`` (by the clock)."""

    def __init__(self) -> None:
        self._by_queue: dict[int, tuple[datetime, list[tuple[timedelta, int]]]] = {}

    def get(self, queue_id: int, now: datetime) -> list[tuple[timedelta, int]] | None:
        found = self._by_queue.get(queue_id)
        if found is None or not timedelta(0) <= now - found[0] < _ESTIMATE_CACHE:
            return None
        return found[1]

    def put(self, queue_id: int, samples: list[tuple[timedelta, int]], now: datetime) -> None:
        if len(self._by_queue) > 10_000:  # queues come and go: never grow without bound
            self._by_queue.clear()
        self._by_queue[queue_id] = (now, samples)


_ESTIMATE_CACHE = timedelta(seconds=ESTIMATE_CACHE_SECS)


class _Estimates:
    """Estimated waits for one persist: each queue's samples are read once."""

    def __init__(self, tx: Tx, requests: RequestStore) -> None:
        self._tx = tx
        self._requests = requests
        self._samples: dict[int, list[tuple[timedelta, int]]] = {}

    async def at(self, queue_id: int, position: int) -> int | None:
        if queue_id not in self._samples:
            self._samples[queue_id] = await self._requests.wait_samples(
                self._tx, queue_id, ESTIMATE_SAMPLES
            )
        estimate = routing.estimate_wait(self._samples[queue_id], position)
        return None if estimate is None else round(estimate.total_seconds())


async def _waiting_changed(
    tx: Tx, workgroups: WorkgroupStore, workgroup_id: int
) -> list[Notification]:
    """Tell the workgroup's members that its manual-pick list changed."""
    message = WaitingChanged(workgroup_id=workgroup_id).model_dump(mode="json")
    return [ToUser(user_id=m, message=message) for m in await workgroups.members(tx, workgroup_id)]


def _transfer_status(
    user_id: int,
    conversation_id: str,
    status: Literal["pending", "accepted", "failed", "cancelled"],
    to_name: str | None = None,
) -> ToUser:
    message = TransferStatus(conversation_id=conversation_id, status=status, to_name=to_name)
    return ToUser(user_id=user_id, message=message.model_dump(mode="json"))


async def _require_agent_in(
    tx: Tx, workgroups: WorkgroupStore, staff: Staff, conv: Conversation
) -> None:
    """Only an agent taking part in an active chat hands it on."""
    await require_participant(tx, workgroups, staff, conv)
    me = conv.participant(staff.key)
    if me is None or me.role is not Role.AGENT:
        raise Forbidden("only the chat's agent can transfer it")
    if conv.status is not Status.ACTIVE:
        raise Conflict("only an active chat can be transferred")


def _accepted(events: list[routing.RoutingEvent]) -> str:
    return next(e.request_id for e in events if isinstance(e, routing.RequestAccepted))


def _queue_of(router: routing.Router, request_id: str) -> int:
    request = router.find(request_id)
    return -1 if request is None else request.queue_id


def _to_visitor(conversation_id: str, status: QueueStatus) -> ToConversation:
    return ToConversation(
        conversation_id=conversation_id,
        message=status.model_dump(mode="json"),
        audience="visitor",
    )
