"""Routing invariants under random traffic (hypothesis stateful testing).

The machine drives one workgroup's ``Router`` the way the services do: apply a command, then
``routing.tick`` and ``routing.dispatch`` at the same ``now``. The workgroup has 2 or 3 queues
with random skills, strategies (broadcast and manual included), overflow and maximum lengths,
and four agents with random skills and capacity. The machine keeps its own model of what the
events said (live offers, declines, positions, queues, moves, outcomes, chats, misses, presence),
checks every event against it as it arrives, and checks the model against the state after every
step. ``check_dispatch`` re-derives from scratch, independently of ``routing``, whom each
request may be offered to, and checks the strategies' choices.

Transfers: the model knows which agent has which chat. An agent hands one of theirs on, to a
named colleague (free or not) or to a queue, by re-queueing the chat's own request with its
``offers_made`` and ``arrival`` (as ``RoutingService.transfer`` does); transfers also arrive from
another workgroup. Every other rule (decline, timeouts, accept, claim, cancel, overflow, the
chat's end) acts on them too. An accepted transfer moves the chat from the sender to the receiver;
a failed or cancelled one leaves it with the sender.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from parley.domain import routing
from parley.domain.errors import Forbidden, OfferGone, OverCapacity, Unavailable
from parley.domain.routing import (
    Agent,
    AgentSetAway,
    Offer,
    OfferEnded,
    OfferMade,
    Overflow,
    OverflowAction,
    Policy,
    PositionChanged,
    QueueSpec,
    Request,
    RequestAccepted,
    RequestEnded,
    RequestMoved,
    RequestQueued,
    Router,
    RoutingEvent,
    Strategy,
    Transfer,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENT_IDS = (1, 2, 3, 4)
SKILLS = ("billing", "de", "tech")
DELETED_QUEUE = 99
ENDINGS = {"accepted", "cancelled", "expired"}
TRANSFER_ENDINGS = {"accepted", "transfer_failed", "transfer_cancelled"}
#: The sender of a transfer from another workgroup: not a member of this one.
OUTSIDER = 9
OFFER_END_REASONS = {"declined", "timed_out", "accepted", "withdrawn"}


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)


@st.composite
def setups(draw: st.DrawFn) -> tuple[Policy, list[QueueSpec], list[Agent]]:
    ids = list(range(1, draw(st.integers(2, 3)) + 1))
    queues = []
    for queue_id in ids:
        after = draw(st.sampled_from([None, 10, 25, 60]))
        queues.append(
            QueueSpec(
                queue_id,
                name=f"q{queue_id}",
                strategy=draw(st.sampled_from(list(Strategy))),
                skills=draw(
                    st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 2), max_size=2)
                ),
                overflow=Overflow(
                    draw(st.sampled_from(list(OverflowAction))),
                    None if after is None else secs(after),
                    draw(st.sampled_from([*ids, DELETED_QUEUE])),
                ),
                max_length=draw(st.sampled_from([None, None, 2, 4])),
            )
        )
    policy = Policy(
        offer_timeout=secs(30),
        wait_timeout=secs(draw(st.sampled_from([120, 300]))),
        decline_cooldown=secs(20),
        preferred_timeout=secs(10),
        max_missed=draw(st.integers(0, 3)),
        max_moves=draw(st.integers(0, 3)),
    )
    agents = [
        Agent(
            agent_id,
            available=draw(st.sampled_from([True, True, True, False])),
            active_chats=0,
            max_chats=draw(st.sampled_from([0, 1, 2, 2, 3])),
            idle_since=T0 - timedelta(minutes=draw(st.integers(0, 5))),
            # Mostly skilled agents, so that most queues have someone.
            skills=draw(
                st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 2), min_size=2, max_size=3)
            ),
        )
        for agent_id in AGENT_IDS
    ]
    return policy, queues, agents


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.router = Router(Policy(), {1: QueueSpec(1)})
        self.counter = 0
        # The model, built from events only (plus the presence and chat changes the machine
        # makes itself, as the services would tell the router).
        self.created: dict[str, datetime] = {}
        self.outcomes: dict[str, list[str]] = {}
        self.positions: dict[str, tuple[int, int]] = {}
        self.queue_of: dict[str, int] = {}
        self.moves: dict[str, int] = {}
        self.live: dict[str, Offer] = {}
        self.ended_offers: list[Offer] = []
        self.offers_made: dict[str, int] = {}
        self.declined: dict[str, dict[int, datetime]] = {}
        self.last_offered: dict[int, int] = {}
        self.chats: dict[int, int] = {}
        self.missed: dict[int, int] = {}
        self.available: dict[int, bool] = {}
        self.stats: dict[str, int] = {}
        # Transfers: each enqueue of a request id (the chat's first request, then its
        # transfers) and what it was; the open chats accepted here and who has them; chats
        # from elsewhere; every offer id ever made (this workgroup or, for transfers in, another).
        self.kinds: dict[str, list[Transfer | None]] = {}
        self.arrival: dict[str, int] = {}
        self.owner: dict[str, int] = {}
        self.closed: set[str] = set()
        self.foreign: dict[int, int] = {}
        self.offer_ids: set[str] = set()
        self.queued_transfer: Transfer | None = None
        self.handovers: list[int] = []

    @property
    def policy(self) -> Policy:
        return self.router.policy

    # Setup ------------------------------------------------------------------------------------

    @initialize(setup=setups())
    def setup(self, setup: tuple[Policy, list[QueueSpec], list[Agent]]) -> None:
        policy, queues, agents = setup
        self.router = Router(
            policy, {s.queue_id: s for s in queues}, agents={a.agent_id: a for a in agents}
        )
        self.chats = dict.fromkeys(AGENT_IDS, 0)
        self.foreign = dict.fromkeys(AGENT_IDS, 0)
        self.missed = dict.fromkeys(AGENT_IDS, 0)
        self.available = {a.agent_id: a.available for a in agents}

    # The model --------------------------------------------------------------------------------

    def _count(self, what: str) -> None:
        self.stats[what] = self.stats.get(what, 0) + 1

    def _waiting(self, request_id: str) -> bool:
        return len(self.outcomes.get(request_id, [])) < len(self.kinds.get(request_id, []))

    def _transfer(self, request_id: str) -> Transfer | None:
        """What the request's current (or last) stay in the queue is: a transfer, or not."""
        kinds = self.kinds.get(request_id)
        return kinds[-1] if kinds else None

    def _named(self, request_id: str) -> int | None:
        transfer = self._transfer(request_id)
        return None if transfer is None else transfer.to_agent

    def _live_of(self, request_id: str) -> list[Offer]:
        return [o for o in self.live.values() if o.request_id == request_id]

    def _apply(self, events: list[RoutingEvent]) -> None:
        """Fold events into the model, checking each against what the model expects."""
        for event in events:
            match event:
                case RequestQueued(request_id=request_id, queue_id=queue_id):
                    transfer, self.queued_transfer = self.queued_transfer, None
                    assert not self._waiting(request_id)
                    if request_id in self.kinds:
                        assert transfer is not None, "only a transfer queues a chat again"
                    if transfer is not None and transfer.from_agent in AGENT_IDS:
                        assert self.owner.get(request_id) == transfer.from_agent
                    self.kinds.setdefault(request_id, []).append(transfer)
                    self.created[request_id] = self.now
                    self.queue_of[request_id] = queue_id
                    self.moves[request_id] = 0
                    self.declined.pop(request_id, None)  # a transfer starts afresh
                case PositionChanged(request_id=request_id, queue_id=queue_id, position=pos):
                    assert self._waiting(request_id)
                    assert queue_id == self.queue_of[request_id]
                    self.positions[request_id] = (queue_id, pos)
                case OfferMade(offer=offer):
                    self._offer_made(offer)
                case OfferEnded(offer=offer, reason=reason):
                    assert reason in OFFER_END_REASONS
                    assert self.live.pop(offer.offer_id) == offer
                    self.ended_offers.append(offer)
                    self._count(f"offer {reason}")
                    if reason in ("declined", "timed_out"):
                        self.declined.setdefault(offer.request_id, {})[offer.agent_id] = self.now
                    if reason == "declined":
                        self.missed[offer.agent_id] = 0
                    if reason == "timed_out" and not offer.preferred:
                        self.missed[offer.agent_id] += 1
                case RequestAccepted(request_id=request_id, agent_id=agent_id, queue_id=queue_id):
                    assert queue_id == self.queue_of[request_id]
                    assert event.waited == self.now - self.created[request_id]
                    transfer = self._transfer(request_id)
                    self._end_request(request_id, "accepted")
                    self.chats[agent_id] += 1
                    self.missed[agent_id] = 0
                    if transfer is not None:
                        assert agent_id != transfer.from_agent, "the sender took their transfer"
                        assert transfer.to_agent in (None, agent_id), "not the named agent"
                        if transfer.from_agent in AGENT_IDS:
                            # The receiver joins, the sender leaves (``_assigned``).
                            assert self.owner[request_id] == transfer.from_agent
                            self.chats[transfer.from_agent] -= 1
                            self.handovers.append(transfer.from_agent)
                        named = "named" if transfer.to_agent is not None else "queue"
                        self._count(f"{named} transfer accepted")
                    self.owner[request_id] = agent_id
                case RequestEnded(request_id=request_id, reason=reason):
                    transfer = self._transfer(request_id)
                    if transfer is None:
                        assert reason in {"cancelled", "expired"}, reason
                    else:
                        assert reason in {"transfer_failed", "transfer_cancelled"}, reason
                    past_wait = self.now >= self.created[request_id] + self.policy.wait_timeout
                    if reason == "expired":
                        assert past_wait
                    if reason == "transfer_failed":
                        # The wait is over, or the named agent just declined or let it time out.
                        named = self._named(request_id)
                        declined = self.declined.get(request_id, {})
                        refused = named is not None and declined.get(named) == self.now
                        assert past_wait or refused, "transfer failed early"
                        self._count("named transfer failed" if refused else "transfer failed")
                    self._end_request(request_id, reason)
                case RequestMoved(request_id=request_id, from_queue=source, to_queue=target):
                    assert self._waiting(request_id)
                    assert source == self.queue_of[request_id]
                    assert target != source
                    assert target in self.router.queues
                    assert not self._live_of(request_id), "moved with a live offer"
                    self.moves[request_id] += 1
                    assert event.moves == self.moves[request_id] <= self.policy.max_moves
                    self.queue_of[request_id] = target
                    self._count("moved")
                case AgentSetAway(agent_id=agent_id, missed=missed):
                    assert self.policy.max_missed > 0
                    assert missed == self.missed[agent_id] >= self.policy.max_missed
                    assert self.available[agent_id]
                    self.available[agent_id] = False
                    self.missed[agent_id] = 0
                    self._count("set away")
                case _:  # pragma: no cover - a new event type must be modelled here
                    raise AssertionError(f"unexpected event {event!r}")

    def _offer_made(self, offer: Offer) -> None:
        request_id = offer.request_id
        assert self._waiting(request_id)
        assert offer.agent_id not in {o.agent_id for o in self.live.values()}, (
            "second live offer for an agent"
        )
        others = self._live_of(request_id)
        if others:
            assert offer.broadcast and all(o.broadcast for o in others), (
                "second live offer for a request outside broadcast"
            )
            assert all(o.offered_at == self.now for o in others)
        transfer = self._transfer(request_id)
        if transfer is not None:
            assert offer.agent_id != transfer.from_agent, "the sender offered their own transfer"
            if transfer.to_agent is not None:
                assert offer.agent_id == transfer.to_agent, "a named transfer offered to another"
                assert not offer.broadcast and not others
            self._count("transfer offer")
        made = self.offers_made.get(request_id, 0) + 1
        self.offers_made[request_id] = made
        assert offer.offer_id == f"{request_id}.{made}"
        assert offer.offer_id not in self.offer_ids, "offer id reused"
        self.offer_ids.add(offer.offer_id)
        assert offer.offered_at == self.now
        timeout = self.policy.offer_timeout
        if offer.preferred:
            timeout = min(timeout, self.policy.preferred_timeout)
        assert offer.expires_at == self.now + timeout
        self.live[offer.offer_id] = offer
        self.last_offered[self.queue_of[request_id]] = offer.agent_id
        self._count("broadcast offer" if offer.broadcast else "offer")

    def _end_request(self, request_id: str, reason: str) -> None:
        assert self._waiting(request_id)
        assert not self._live_of(request_id), "request ended with a live offer"
        self.outcomes.setdefault(request_id, []).append(reason)
        self.positions.pop(request_id, None)
        self._count(reason)

    # Independent eligibility ------------------------------------------------------------------

    def _qualified(self, agent: Agent, spec: QueueSpec) -> bool:
        return all(agent.skills.get(s, 0) >= level for s, level in spec.skills.items())

    def _could_take(self, agent: Agent, request: Request) -> bool:
        """Available, under capacity, qualified and not cooling down (offers held aside); for
        a transfer, not the sender, and for a named one only the named agent (skills aside)."""
        spec = self.router.queues.get(request.queue_id)
        if spec is None or not agent.available or agent.active_chats >= agent.max_chats:
            return False
        transfer = self._transfer(request.request_id)
        if transfer is not None and agent.agent_id == transfer.from_agent:
            return False
        named = self._named(request.request_id)
        if named is not None and agent.agent_id != named:
            return False
        if named is None and not self._qualified(agent, spec):
            return False
        declined = self.declined.get(request.request_id, {}).get(agent.agent_id)
        return declined is None or self.now >= declined + self.policy.decline_cooldown

    def _free(self, router: Router) -> list[Agent]:
        """Agents who may be offered something now: nothing pending here or elsewhere."""
        holding = {o.agent_id for o in router.offers()}
        return [
            a
            for a in router.agents.values()
            if a.available
            and a.active_chats < a.max_chats
            and not a.offer_elsewhere
            and a.agent_id not in holding
        ]

    def _offered_automatically(self, request: Request) -> bool:
        """Offered by ``dispatch``: outside manual queues, and a named transfer everywhere."""
        spec = self.router.queues.get(request.queue_id)
        if spec is None:
            return False
        return spec.strategy is not Strategy.MANUAL or self._named(request.request_id) is not None

    def _may_claim(self, agent: Agent, request: Request) -> bool:
        """Skills, or for a transfer: never the sender, and only the named agent if any."""
        transfer = self._transfer(request.request_id)
        if transfer is not None and agent.agent_id == transfer.from_agent:
            return False
        if transfer is not None and transfer.to_agent is not None:
            return agent.agent_id == transfer.to_agent
        return self._qualified(agent, self.router.queues[request.queue_id])

    # Plumbing ---------------------------------------------------------------------------------

    def _settle(self) -> None:
        """What the services run after every change: tick, then dispatch, at the same now."""
        before = self.router
        after, events = routing.tick(before, self.now)
        for event in events:
            assert not isinstance(event, OfferMade | RequestAccepted | RequestQueued)
            if isinstance(event, RequestEnded):
                assert event.reason in {"expired", "transfer_failed"}
            if isinstance(event, OfferEnded):
                assert event.reason in {"timed_out", "withdrawn"}
        self._apply(events)
        self.router = after
        self._check_ticked()

        before = self.router
        after, events = routing.dispatch(before, self.now)
        assert all(isinstance(e, OfferMade) for e in events)
        self._apply(events)
        self.router = after
        self._check_dispatch(before, after, [e.offer for e in events if isinstance(e, OfferMade)])

    def _check_ticked(self) -> None:
        policy = self.policy
        for request in self.router.requests:
            assert self.now < request.created_at + policy.wait_timeout, "not expired in time"
            for offer in request.offers:
                assert self.now < offer.expires_at, "offer outlived its timeout"
                assert self.router.agents[offer.agent_id].available
            spec = self.router.queues[request.queue_id]
            overflow = spec.overflow
            if (
                not request.offers
                and overflow.action is not OverflowAction.STAY
                and overflow.after is not None
                and request.moves < policy.max_moves
            ):
                assert self.now < request.since + overflow.after, "overflow not handled in time"

    def _check_dispatch(self, before: Router, after: Router, made: list[Offer]) -> None:
        assert after.agents == before.agents
        assert [r.request_id for r in after.requests] == [r.request_id for r in before.requests]
        by_request: dict[str, list[Offer]] = {}
        for offer in made:
            by_request.setdefault(offer.request_id, []).append(offer)
        free = {a.agent_id: a for a in self._free(before)}
        last_offered = dict(before.last_offered)
        passed: list[Request] = []  # earlier requests left without an offer
        for request in before.requests:
            new = by_request.get(request.request_id, [])
            able = sorted(
                (a for a in free.values() if self._could_take(a, request)),
                key=lambda a: a.agent_id,
            )
            if request.offers or not self._offered_automatically(request):
                assert new == [], "offered a request that has offers or waits for a claim"
                continue
            if not able:
                assert new == []
                passed.append(request)
                continue
            assert new, f"{request.request_id} left without an offer though {able} could take it"
            spec = before.queues[request.queue_id]
            chosen = [o.agent_id for o in new]
            named = self._named(request.request_id)
            window = request.created_at + self.policy.preferred_timeout
            preferred = (
                request.preferred_agent is not None
                and request.offers_made == 0
                and self.now < window
                and request.preferred_agent in {a.agent_id for a in able}
            )
            if preferred:
                assert chosen == [request.preferred_agent]
                assert new[0].preferred
                self._count("preferred offer")
            else:
                assert not any(o.preferred for o in new)
                if named is not None:
                    assert chosen == [named], "a named transfer is one offer to them"
                    self._count("named transfer offer")
                elif spec.strategy is Strategy.BEST:
                    best = min(able, key=lambda a: (a.active_chats, a.idle_since, a.agent_id))
                    assert chosen == [best.agent_id]
                elif spec.strategy is Strategy.ROUND_ROBIN:
                    last = last_offered.get(spec.queue_id)
                    later = [a.agent_id for a in able if last is None or a.agent_id > last]
                    assert chosen == [later[0] if later else able[0].agent_id]
                else:
                    assert spec.strategy is Strategy.BROADCAST
                    assert chosen == [a.agent_id for a in able]
            # A preferred offer, or a named transfer's, is exclusive, even in a broadcast queue.
            assert all(
                o.broadcast
                is (spec.strategy is Strategy.BROADCAST and not o.preferred and named is None)
                for o in new
            )
            # Service order: nobody offered this one could have taken an earlier one.
            for older in passed:
                assert not any(self._could_take(free[i], older) for i in chosen), (
                    f"{older.request_id} skipped for {request.request_id}"
                )
            last_offered[spec.queue_id] = chosen[-1]
            for agent_id in chosen:
                del free[agent_id]
        assert after.last_offered == last_offered

    def _put_agent(self, agent: Agent) -> None:
        self.router = replace(self.router, agents={**self.router.agents, agent.agent_id: agent})

    def _agent(self, agent_id: int) -> Agent:
        return self.router.agents[agent_id]

    def _hand_over(self) -> None:
        """What ``_assigned`` does for an accepted transfer: the sender leaves the chat."""
        for agent_id in self.handovers:
            agent = self._agent(agent_id)
            assert agent.active_chats > 0
            left = replace(agent, active_chats=agent.active_chats - 1, idle_since=self.now)
            self._put_agent(left)
        self.handovers = []

    # Commands ---------------------------------------------------------------------------------

    @rule(
        queue_index=st.integers(0, 2),
        priority=st.sampled_from([0, 0, 0, 1, 2]),
        preferred=st.sampled_from([None, None, *AGENT_IDS]),
        transferred_in=st.sampled_from([False, False, False, True]),
        offers_made=st.integers(0, 3),
    )
    def new_request(
        self,
        queue_index: int,
        priority: int,
        preferred: int | None,
        transferred_in: bool,
        offers_made: int,
    ) -> None:
        queue_ids = sorted(self.router.queues)
        spec = self.router.queues[queue_ids[queue_index % len(queue_ids)]]
        self.counter += 1
        request_id = f"r{self.counter}"
        request = Request(
            request_id,
            self.now,
            spec.queue_id,
            arrival=self.counter,
            priority=priority,
            preferred_agent=preferred,
        )
        if transferred_in:
            # A chat transferred from another workgroup (to ``preferred``, as the named agent,
            # or to the queue), with the offers made there.
            request = replace(
                request,
                entered_at=self.now,
                offers_made=offers_made,
                preferred_agent=None,
                transfer=Transfer(OUTSIDER, preferred),
            )
            self.offers_made[request_id] = offers_made
            self.offer_ids |= {f"{request_id}.{n}" for n in range(1, offers_made + 1)}
        self._enqueue(request)
        self._settle()

    def _enqueue(self, request: Request) -> bool:
        """Enqueue a new request or a transfer, or see it refused when its queue is full."""
        spec = self.router.queues[request.queue_id]
        length = sum(1 for q, _ in self.positions.values() if q == spec.queue_id)
        if spec.max_length is not None and length >= spec.max_length:
            before = self.router
            with pytest.raises(Unavailable) as refused:
                routing.enqueue(self.router, request, self.now)
            assert refused.value.reason == "queue_full"
            assert self.router == before
            self._count("queue full")
            return False
        self.router, events = routing.enqueue(self.router, request, self.now)
        assert events[0] == RequestQueued(request.request_id, spec.queue_id)
        self.queued_transfer = request.transfer
        self._apply(events)
        assert self.queued_transfer is None
        self.arrival.setdefault(request.request_id, request.arrival)
        return True

    def _pick_offer(self, index: int, prefer: str) -> Offer:
        """A live offer; if there is any, preferably one of a transfer, or one to an agent
        with room for another chat (so that there are chats to hand on)."""
        offers = self.router.offers()
        if prefer == "transfer":
            offers = [o for o in offers if self._transfer(o.request_id)] or offers
        elif prefer == "room":
            room = [o for o in offers if self._agent(o.agent_id).has_capacity()]
            offers = room or offers
        return offers[index % len(offers)]

    def _transferable(self) -> list[str]:
        """The open chats accepted here, with no transfer under way."""
        return sorted(r for r in self.owner if not self._waiting(r))

    def _waiting_transfers(self) -> list[str]:
        return [r.request_id for r in self.router.requests if self._transfer(r.request_id)]

    @precondition(lambda self: bool(self._transferable()))
    @rule(
        index=st.integers(0, 100),
        kind=st.sampled_from(["queue", "sender's queue", "agent", "free agent"]),
        queue_index=st.integers(0, 2),
        to_index=st.integers(0, 2),
    )
    def transfer(self, index: int, kind: str, queue_index: int, to_index: int) -> None:
        """The agent who has a chat hands it on: the chat's own request, queued again."""
        chats = self._transferable()
        request_id = chats[index % len(chats)]
        sender = self.owner[request_id]
        to_agent: int | None = None
        if kind != "queue":
            colleagues = [a for a in AGENT_IDS if a != sender]  # never themselves (the service)
            if kind == "free agent":
                # Mostly a colleague who can take it now; if nobody can, anyone.
                free = {a.agent_id for a in self._free(self.router)}
                colleagues = [a for a in colleagues if a in free] or colleagues
            to_agent = colleagues[to_index % len(colleagues)]
        queue_ids = sorted(self.router.queues)
        if kind == "sender's queue":  # one the sender could take: they must not be offered it
            own = [
                q for q in queue_ids if self._qualified(self._agent(sender), self.router.queues[q])
            ]
            queue_ids = own or queue_ids
        request = Request(
            request_id,
            self.now,
            queue_ids[queue_index % len(queue_ids)],
            arrival=self.arrival[request_id],
            entered_at=self.now,
            offers_made=self.offers_made.get(request_id, 0),
            transfer=Transfer(sender, to_agent, "over to you"),
        )
        if self._enqueue(request):
            self._count("named transfer" if to_agent is not None else "queue transfer")
        self._settle()

    @precondition(lambda self: bool(self._waiting_transfers()))
    @rule(index=st.integers(0, 100))
    def cancel_transfer(self, index: int) -> None:
        """The sender calls it off: the chat stays theirs."""
        ids = self._waiting_transfers()
        request_id = ids[index % len(ids)]
        waiting = self.router.find(request_id)
        assert waiting is not None
        owner = self.owner.get(request_id)
        self.router, events = routing.cancel(self.router, request_id, self.now)
        withdrawn = [OfferEnded(o, "withdrawn") for o in waiting.offers]
        assert events[: len(withdrawn) + 1] == [
            *withdrawn,
            RequestEnded(request_id, "transfer_cancelled"),
        ]
        self._apply(events)
        assert self.owner.get(request_id) == owner
        self._settle()

    @precondition(lambda self: bool(self.router.offers()))
    @rule(index=st.integers(0, 100), prefer=st.sampled_from(["any", "transfer", "room"]))
    def accept(self, index: int, prefer: str) -> None:
        offer = self._pick_offer(index, prefer)
        agent = self._agent(offer.agent_id)
        if agent.active_chats >= agent.max_chats:
            with pytest.raises(OverCapacity):
                routing.accept(self.router, offer.offer_id, offer.agent_id, self.now)
            self._count("over capacity")
        else:
            siblings = [o for o in self._live_of(offer.request_id) if o != offer]
            self.router, events = routing.accept(
                self.router, offer.offer_id, offer.agent_id, self.now
            )
            waited = self.now - self.created[offer.request_id]
            queue_id = self.queue_of[offer.request_id]
            assert events[: len(siblings) + 2] == [
                OfferEnded(offer, "accepted"),
                *(OfferEnded(o, "withdrawn") for o in siblings),
                RequestAccepted(offer.request_id, offer.agent_id, waited, queue_id),
            ]
            self._apply(events)
            assert self._agent(offer.agent_id).idle_since == self.now
            self._hand_over()
        self._settle()

    @precondition(lambda self: bool(self.router.offers()))
    @rule(index=st.integers(0, 100))
    def accept_after_filling_up_elsewhere(self, index: int) -> None:
        offers = self.router.offers()
        offer = offers[index % len(offers)]
        agent = self._agent(offer.agent_id)
        self.chats[agent.agent_id] += agent.max_chats - agent.active_chats
        self.foreign[agent.agent_id] += agent.max_chats - agent.active_chats
        full = replace(agent, active_chats=agent.max_chats, idle_since=self.now)
        self._put_agent(full)
        before = self.router
        with pytest.raises(OverCapacity):
            routing.accept(self.router, offer.offer_id, offer.agent_id, self.now)
        assert self.router == before
        self._count("over capacity")
        self._settle()

    @precondition(lambda self: bool(self.router.offers()))
    @rule(index=st.integers(0, 100), prefer=st.sampled_from(["any", "transfer"]))
    def decline(self, index: int, prefer: str) -> None:
        offer = self._pick_offer(index, prefer)
        siblings = [o for o in self._live_of(offer.request_id) if o != offer]
        self.router, events = routing.decline(self.router, offer.offer_id, offer.agent_id, self.now)
        if self._named(offer.request_id) is not None:
            # Nobody else may take it: the transfer fails at once, the chat stays put.
            assert events[:2] == [
                OfferEnded(offer, "declined"),
                RequestEnded(offer.request_id, "transfer_failed"),
            ]
        else:
            assert events == [OfferEnded(offer, "declined")]
        self._apply(events)
        assert self._live_of(offer.request_id) == siblings  # a broadcast's others stay live
        self._settle()

    @precondition(lambda self: bool(self.router.offers()))
    @rule(index=st.integers(0, 100), late=st.sampled_from([0, 1]))
    def answer_when_the_offer_expires(self, index: int, late: int) -> None:
        """At its ``expires_at`` an offer is gone, even before ``tick`` ends it."""
        offers = self.router.offers()
        offer = offers[index % len(offers)]
        at = offer.expires_at + secs(late)
        with pytest.raises(OfferGone):
            routing.accept(self.router, offer.offer_id, offer.agent_id, at)
        with pytest.raises(OfferGone):
            routing.decline(self.router, offer.offer_id, offer.agent_id, at)

    @precondition(lambda self: bool(self.router.offers()))
    @rule(index=st.integers(0, 100), wrong_agent=st.sampled_from(AGENT_IDS))
    def answer_as_the_wrong_agent(self, index: int, wrong_agent: int) -> None:
        offers = self.router.offers()
        offer = offers[index % len(offers)]
        if wrong_agent == offer.agent_id:
            return
        with pytest.raises(OfferGone):
            routing.accept(self.router, offer.offer_id, wrong_agent, self.now)
        with pytest.raises(OfferGone):
            routing.decline(self.router, offer.offer_id, wrong_agent, self.now)

    @precondition(lambda self: bool(self.ended_offers))
    @rule(index=st.integers(0, 100))
    def answer_an_ended_offer(self, index: int) -> None:
        offer = self.ended_offers[index % len(self.ended_offers)]
        with pytest.raises(OfferGone):
            routing.accept(self.router, offer.offer_id, offer.agent_id, self.now)
        with pytest.raises(OfferGone):
            routing.decline(self.router, offer.offer_id, offer.agent_id, self.now)

    @precondition(lambda self: bool(self.created))
    @rule(
        index=st.integers(0, 100),
        agent_id=st.sampled_from(AGENT_IDS),
        manual=st.booleans(),
        who=st.sampled_from(["anyone", "anyone", "sender", "named"]),
    )
    def claim(self, index: int, agent_id: int, manual: bool, who: str) -> None:
        ids = sorted(self.created)
        if manual:  # mostly try requests that can be claimed
            claimable = [
                r.request_id
                for r in self.router.requests
                if self.router.queues[r.queue_id].strategy is Strategy.MANUAL
            ]
            ids = claimable or ids
        request_id = ids[index % len(ids)]
        request = self.router.find(request_id)
        transfer = self._transfer(request_id) if request is not None else None
        if transfer is not None:  # often the sender, or the named agent, tries
            if who == "sender" and transfer.from_agent in AGENT_IDS:
                agent_id = transfer.from_agent
            elif who == "named" and transfer.to_agent is not None:
                agent_id = transfer.to_agent
        agent = self._agent(agent_id)
        expected: type[Exception] | None = None
        if request is None:
            expected = OfferGone
        elif (
            self.router.queues[request.queue_id].strategy is not Strategy.MANUAL
            or not self._may_claim(agent, request)
            or not agent.available
        ):
            expected = Forbidden
        elif agent.active_chats >= agent.max_chats:
            expected = OverCapacity
        if expected is not None:
            before = self.router
            with pytest.raises(expected):
                routing.claim(self.router, request_id, agent_id, self.now)
            assert self.router == before
            if transfer is not None and expected is Forbidden:
                self._count("transfer claim refused")
            return
        assert request is not None
        self.router, events = routing.claim(self.router, request_id, agent_id, self.now)
        # A named transfer in a manual queue may be claimed while its offer is live.
        withdrawn = [OfferEnded(o, "withdrawn") for o in request.offers]
        assert events[: len(withdrawn) + 1] == [
            *withdrawn,
            RequestAccepted(request_id, agent_id, self.now - request.created_at, request.queue_id),
        ]
        self._count("claimed" if transfer is None else "transfer claimed")
        self._apply(events)
        self._hand_over()
        self._settle()

    @precondition(lambda self: bool(self.created))
    @rule(index=st.integers(0, 100))
    def cancel(self, index: int) -> None:
        ids = sorted(self.created)
        request_id = ids[index % len(ids)]
        waiting = self.router.find(request_id)
        self.router, events = routing.cancel(self.router, request_id, self.now)
        if waiting is None:
            assert events == []
        else:
            withdrawn = [OfferEnded(o, "withdrawn") for o in waiting.offers]
            reason = "cancelled" if self._transfer(request_id) is None else "transfer_cancelled"
            assert events[: len(withdrawn) + 1] == [*withdrawn, RequestEnded(request_id, reason)]
        self._apply(events)
        self._settle()

    @rule(seconds=st.sampled_from([0, 1, 5, 9, 10, 11, 19, 20, 21, 29, 30, 31, 40, 61]))
    def advance_time(self, seconds: int) -> None:
        deadline = routing.next_deadline(self.router, self.now)
        self.now += secs(seconds)
        if deadline is None or self.now < deadline:
            # The dispatcher sleeps until the deadline: nothing may be due before it.
            ticked, events = routing.tick(self.router, self.now)
            assert events == [], "work due before next_deadline"
            assert routing.dispatch(ticked, self.now)[1] == [], "an offer due before next_deadline"
        self._settle()

    @precondition(lambda self: bool(self.router.requests))
    @rule(index=st.integers(0, 100), extra=st.sampled_from([0, 0, 1]))
    def advance_to_an_overflow_time(self, index: int, extra: int) -> None:
        """Right at (or just after) a request's overflow time, live offer or not."""
        request = self.router.requests[index % len(self.router.requests)]
        after = self.router.queues[request.queue_id].overflow.after
        if after is None or request.since + after < self.now:
            return
        self.now = request.since + after + secs(extra)
        self._settle()

    @precondition(lambda self: routing.next_deadline(self.router, self.now) is not None)
    @rule()
    def advance_to_next_deadline(self) -> None:
        """What the dispatcher's timer does: wake up exactly at ``next_deadline``."""
        deadline = routing.next_deadline(self.router, self.now)
        assert deadline is not None
        assert deadline > self.now
        self.now = deadline
        self._settle()

    @rule(agent_id=st.sampled_from(AGENT_IDS), available=st.booleans())
    def presence_change(self, agent_id: int, available: bool) -> None:
        agent = self._agent(agent_id)
        if available and not agent.available:
            agent = replace(agent, available=True, idle_since=self.now)
        else:
            agent = replace(agent, available=available)
        self.available[agent_id] = available
        self._put_agent(agent)
        self._settle()

    @rule(agent_id=st.sampled_from(AGENT_IDS), elsewhere=st.booleans())
    def offer_elsewhere(self, agent_id: int, elsewhere: bool) -> None:
        self._put_agent(replace(self._agent(agent_id), offer_elsewhere=elsewhere))
        self._settle()

    @precondition(lambda self: any(a.active_chats > 0 for a in self.router.agents.values()))
    @rule(index=st.integers(0, 100))
    def end_chat(self, index: int) -> None:
        """A chat ends: one accepted here (calling off its transfer, if one is under way, as
        ``ChatService.end`` does) or one from elsewhere."""
        chats: list[tuple[int, str | None]] = [
            *sorted((agent_id, r) for r, agent_id in self.owner.items()),
            *((a, None) for a in AGENT_IDS for _ in range(self.foreign[a])),
        ]
        agent_id, request_id = chats[index % len(chats)]
        if request_id is None:
            self.foreign[agent_id] -= 1
        else:
            if self._waiting(request_id):
                self.router, events = routing.cancel(self.router, request_id, self.now)
                assert RequestEnded(request_id, "transfer_cancelled") in events
                self._apply(events)
                self._count("transfer ended with the chat")
            del self.owner[request_id]
            self.closed.add(request_id)
        agent = self._agent(agent_id)
        self._put_agent(replace(agent, active_chats=agent.active_chats - 1, idle_since=self.now))
        self.chats[agent_id] -= 1
        self._settle()

    @rule(agent_id=st.sampled_from(AGENT_IDS))
    def chat_from_another_workgroup(self, agent_id: int) -> None:
        agent = self._agent(agent_id)
        if agent.active_chats >= agent.max_chats:
            return
        self._put_agent(replace(agent, active_chats=agent.active_chats + 1, idle_since=self.now))
        self.chats[agent_id] += 1
        self.foreign[agent_id] += 1
        self._settle()

    # Invariants -------------------------------------------------------------------------------

    @invariant()
    def live_offers_match_the_model(self) -> None:
        offers = self.router.offers()
        assert {o.offer_id: o for o in offers} == self.live
        assert len({o.agent_id for o in offers}) == len(offers), "an agent holds two offers"
        for request in self.router.requests:
            assert all(o.request_id == request.request_id for o in request.offers)
            if len(request.offers) > 1:
                assert all(o.broadcast for o in request.offers)
            assert request.offers_made == self.offers_made.get(request.request_id, 0)
            assert dict(request.declined) == self.declined.get(request.request_id, {})
        assert dict(self.router.last_offered) == self.last_offered

    @invariant()
    def agents_match_the_model_and_capacity_holds(self) -> None:
        for agent_id, agent in self.router.agents.items():
            assert agent.agent_id == agent_id
            assert 0 <= agent.active_chats <= agent.max_chats
            assert agent.active_chats == self.chats[agent_id]
            assert agent.missed == self.missed[agent_id]
            assert agent.available == self.available[agent_id]
            if self.policy.max_missed and agent.available:
                assert agent.missed < self.policy.max_missed

    @invariant()
    def every_request_waits_or_ended_exactly_once(self) -> None:
        """Each stay in the queue (a chat's first request, then each transfer) ends once:
        a plain one accepted, cancelled or expired; a transfer accepted, failed or cancelled."""
        waiting = [r.request_id for r in self.router.requests]
        assert len(set(waiting)) == len(waiting)
        assert set(waiting) <= set(self.created) == set(self.kinds)
        for request_id, kinds in self.kinds.items():
            outcomes = self.outcomes.get(request_id, [])
            assert len(outcomes) == len(kinds) - (request_id in waiting), (request_id, outcomes)
            for kind, outcome in zip(kinds, outcomes, strict=False):
                assert outcome in (ENDINGS if kind is None else TRANSFER_ENDINGS), outcome
            # A request is queued again only as a transfer of a chat open here: one accepted,
            # or kept by its sender here after a failed or cancelled transfer.
            for before, previous, kind in zip(kinds, outcomes, kinds[1:], strict=False):
                assert kind is not None and kind.from_agent in AGENT_IDS
                kept = before is not None and before.from_agent in AGENT_IDS
                assert previous == "accepted" or (kept and previous in TRANSFER_ENDINGS)

    @invariant()
    def every_chat_is_somewhere(self) -> None:
        """Nothing lost: an accepted chat is its receiver's until it ends; a failed or
        cancelled transfer leaves it with the sender; the chat counts add up."""
        for request_id, kinds in self.kinds.items():
            outcomes = self.outcomes.get(request_id, [])
            if request_id in self.closed:
                assert not self._waiting(request_id)
                assert request_id not in self.owner
            elif self._waiting(request_id):
                transfer = kinds[-1]
                if transfer is not None and transfer.from_agent in AGENT_IDS:
                    assert self.owner[request_id] == transfer.from_agent
                else:
                    assert request_id not in self.owner
            elif outcomes[-1] == "accepted":
                assert request_id in self.owner
            elif kinds[-1] is not None and kinds[-1].from_agent in AGENT_IDS:
                assert self.owner[request_id] == kinds[-1].from_agent
            else:  # expired, cancelled, or back to the other workgroup
                assert request_id not in self.owner
        for agent_id in AGENT_IDS:
            owned = sum(1 for a in self.owner.values() if a == agent_id)
            assert self.chats[agent_id] == self.foreign[agent_id] + owned >= owned

    @invariant()
    def transfers_match_the_model(self) -> None:
        for request in self.router.requests:
            transfer = self._transfer(request.request_id)
            assert request.transfer == transfer
            assert request.arrival == self.arrival[request.request_id]
            if transfer is None:
                continue
            for offer in request.offers:
                assert offer.agent_id != transfer.from_agent
                assert transfer.to_agent in (None, offer.agent_id)
            if transfer.to_agent is not None:
                # A decline or timeout by the named agent ends it at once.
                assert not self.declined.get(request.request_id), "named transfer lingers"
        made = {o.offer_id for o in self.ended_offers} | set(self.live)
        assert made <= self.offer_ids

    @invariant()
    def queues_positions_and_moves_match_the_events(self) -> None:
        order = [(-r.priority, r.arrival) for r in self.router.requests]
        assert order == sorted(order), "not served by priority, then arrival"
        assert self.router.positions() == self.positions
        for request in self.router.requests:
            assert request.queue_id == self.queue_of[request.request_id]
            assert request.moves == self.moves[request.request_id] <= self.policy.max_moves
        # Overflow may fill a queue past its maximum; new requests never do.
        for spec in self.router.queues.values():
            unmoved = [
                r for r in self.router.requests if r.queue_id == spec.queue_id and not r.moves
            ]
            assert spec.max_length is None or len(unmoved) <= spec.max_length

    @invariant()
    def no_idle_agent_while_a_request_they_could_take_waits_unoffered(self) -> None:
        free = self._free(self.router)
        for request in self.router.requests:
            if request.offers or not self._offered_automatically(request):
                continue
            idle = [a.agent_id for a in free if self._could_take(a, request)]
            assert not idle, f"{idle} idle while {request.request_id} waits"

    @invariant()
    def nothing_overdue(self) -> None:
        deadline = routing.next_deadline(self.router, self.now)
        assert deadline is None or deadline > self.now
        if self.router.requests:
            assert deadline is not None


SETTINGS: dict[str, Any] = {
    "max_examples": 300,
    "stateful_step_count": 60,
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


def test_routing_invariants_hold_under_random_traffic() -> None:
    run_state_machine_as_test(RoutingMachine, settings=settings(**SETTINGS))
