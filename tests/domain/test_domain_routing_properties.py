"""Routing invariants under random command sequences (hypothesis stateful testing).

The machine drives one workgroup queue the way the services do: apply a command, then
``routing.tick`` and ``routing.dispatch`` at the same ``now``. It keeps its own model of what the
events said (live offers, positions, outcomes, chats per agent) and checks it against the state.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

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
from parley.domain.errors import OfferGone, OverCapacity
from parley.domain.routing import (
    Agent,
    Offer,
    OfferEnded,
    OfferMade,
    PositionChanged,
    Queue,
    QueueConfig,
    RequestAccepted,
    RequestEnded,
    RequestQueued,
    RoutingEvent,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CONFIG = QueueConfig(offer_timeout=timedelta(seconds=30), wait_timeout=timedelta(seconds=120))
AGENT_IDS = (1, 2, 3, 4)

ENDINGS = {"accepted", "cancelled", "expired"}
OFFER_END_REASONS = {"declined", "timed_out", "accepted", "withdrawn"}


def _eligible_for_offers(agent: Agent, holding: set[int]) -> bool:
    return (
        agent.available
        and agent.has_capacity()
        and not agent.offer_elsewhere
        and agent.agent_id not in holding
    )


class RoutingMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.queue = Queue(CONFIG)
        self.counter = 0
        # The model, built from events only.
        self.enqueued: dict[str, datetime] = {}
        self.outcomes: dict[str, list[str]] = {}
        self.positions: dict[str, int] = {}
        self.live_offers: dict[str, Offer] = {}
        self.ended_offers: list[Offer] = []
        self.offers_made: dict[str, int] = {}
        self.chats: dict[int, int] = {}

    # Setup ------------------------------------------------------------------------------------

    @initialize(
        # Mostly available agents with room for a chat or more, so that offers happen.
        max_chats=st.lists(
            st.sampled_from([0, 1, 1, 2, 2, 3]), min_size=len(AGENT_IDS), max_size=len(AGENT_IDS)
        ),
        available=st.lists(
            st.sampled_from([True, True, True, False]),
            min_size=len(AGENT_IDS),
            max_size=len(AGENT_IDS),
        ),
        idle_for=st.lists(st.integers(0, 5), min_size=len(AGENT_IDS), max_size=len(AGENT_IDS)),
    )
    def setup_agents(
        self, max_chats: list[int], available: list[bool], idle_for: list[int]
    ) -> None:
        agents = {
            agent_id: Agent(agent_id, up, 0, cap, T0 - timedelta(minutes=idle))
            for agent_id, cap, up, idle in zip(
                AGENT_IDS, max_chats, available, idle_for, strict=True
            )
        }
        self.queue = Queue(CONFIG, agents=agents)
        self.chats = dict.fromkeys(AGENT_IDS, 0)

    # Plumbing ---------------------------------------------------------------------------------

    def _apply(self, events: list[RoutingEvent]) -> None:
        """Fold events into the model, checking each against what the model expects."""
        for event in events:
            if isinstance(event, RequestQueued):
                assert event.request_id not in self.enqueued
                self.enqueued[event.request_id] = self.now
            elif isinstance(event, PositionChanged):
                assert event.request_id in self.enqueued
                assert not self.outcomes.get(event.request_id)
                self.positions[event.request_id] = event.position
            elif isinstance(event, OfferMade):
                offer = event.offer
                assert offer.request_id not in self.live_offers, "second offer for a request"
                assert offer.agent_id not in {o.agent_id for o in self.live_offers.values()}, (
                    "second offer for an agent"
                )
                self.offers_made[offer.request_id] = self.offers_made.get(offer.request_id, 0) + 1
                assert offer.offer_id == f"{offer.request_id}.{self.offers_made[offer.request_id]}"
                assert offer.offered_at == self.now
                assert offer.expires_at == self.now + CONFIG.offer_timeout
                self.live_offers[offer.request_id] = offer
            elif isinstance(event, OfferEnded):
                assert event.reason in OFFER_END_REASONS
                assert self.live_offers.get(event.offer.request_id) == event.offer
                del self.live_offers[event.offer.request_id]
                self.ended_offers.append(event.offer)
            elif isinstance(event, RequestAccepted):
                self._end_request(event.request_id, "accepted")
                assert event.waited == self.now - self.enqueued[event.request_id]
                self.chats[event.agent_id] += 1
            elif isinstance(event, RequestEnded):
                assert event.reason in {"cancelled", "expired"}
                self._end_request(event.request_id, event.reason)
            else:  # pragma: no cover - a new event type must be modelled here
                raise AssertionError(f"unexpected event {event!r}")

    def _end_request(self, request_id: str, reason: str) -> None:
        assert request_id in self.enqueued
        assert request_id not in self.live_offers, "request ended with a live offer"
        self.outcomes.setdefault(request_id, []).append(reason)
        self.positions.pop(request_id, None)

    def _settle(self) -> None:
        """What the service runs after every change: tick, then dispatch."""
        queue, events = routing.tick(self.queue, self.now)
        for event in events:
            if isinstance(event, RequestEnded):
                assert event.reason == "expired"
            if isinstance(event, OfferEnded):
                assert event.reason in {"timed_out", "withdrawn"}
        self._apply(events)
        self.queue = queue

        # No request waits past the wait timeout, no offer outlives its timeout.
        for request in self.queue.requests:
            assert self.now < request.created_at + CONFIG.wait_timeout
            if request.offer is not None:
                assert self.now < request.offer.expires_at

        before = self.queue
        after, events = routing.dispatch(before, self.now)
        assert all(isinstance(e, OfferMade) for e in events)
        self._check_dispatch(before, after, [e for e in events if isinstance(e, OfferMade)])
        self._apply(events)
        self.queue = after

    def _check_dispatch(self, before: Queue, after: Queue, made: list[OfferMade]) -> None:
        assert after.agents == before.agents
        assert [r.request_id for r in after.requests] == [r.request_id for r in before.requests]
        holding = {o.agent_id for o in before.offers()}
        index = {r.request_id: i for i, r in enumerate(before.requests)}
        # Best agent: fewest chats, then idle longest, then lowest id, among those still free.
        free_now = {a.agent_id for a in before.agents.values() if _eligible_for_offers(a, holding)}
        for event in made:
            request = before.requests[index[event.offer.request_id]]
            choice = [before.agents[i] for i in free_now if i not in request.declined_by]
            best = min(choice, key=lambda a: (a.active_chats, a.idle_since, a.agent_id))
            assert event.offer.agent_id == best.agent_id
            free_now.discard(best.agent_id)
        for event in made:
            offer = event.offer
            request = before.requests[index[offer.request_id]]
            agent = before.agents[offer.agent_id]
            assert request.offer is None
            assert _eligible_for_offers(agent, holding)
            assert offer.agent_id not in request.declined_by
            # FIFO: no older request was left without an offer that this agent could take.
            for older in before.requests[: index[offer.request_id]]:
                still = after.requests[index[older.request_id]]
                if still.offer is None:
                    assert offer.agent_id in older.declined_by, (
                        f"{older.request_id} skipped for {offer.request_id} "
                        f"though agent {offer.agent_id} could take it"
                    )
        # Nothing left undone: a request without an offer has been declined by every agent
        # who is free to take one.
        free = [
            a
            for a in after.agents.values()
            if _eligible_for_offers(a, {o.agent_id for o in after.offers()})
        ]
        for request in after.requests:
            if request.offer is None:
                assert all(a.agent_id in request.declined_by for a in free)

    def _agent(self, agent_id: int) -> Agent:
        return self.queue.agents[agent_id]

    def _put_agent(self, agent: Agent) -> None:
        self.queue = replace(self.queue, agents={**self.queue.agents, agent.agent_id: agent})

    def _pick(self, items: list[Offer], index: int) -> Offer:
        return items[index % len(items)]

    # Commands ---------------------------------------------------------------------------------

    @rule()
    def new_request(self) -> None:
        self.counter += 1
        request_id = f"r{self.counter}"
        self.queue, events = routing.enqueue(self.queue, request_id, self.now)
        assert events[0] == RequestQueued(request_id)
        self._apply(events)
        self._settle()

    @precondition(lambda self: bool(self.queue.offers()))
    @rule(index=st.integers(0, 100))
    def accept(self, index: int) -> None:
        offer = self._pick(self.queue.offers(), index)
        agent = self._agent(offer.agent_id)
        if not agent.has_capacity():
            with pytest.raises(OverCapacity):
                routing.accept(self.queue, offer.offer_id, offer.agent_id, self.now)
        else:
            self.queue, events = routing.accept(
                self.queue, offer.offer_id, offer.agent_id, self.now
            )
            waited = self.now - self.enqueued[offer.request_id]
            assert events[:2] == [
                OfferEnded(offer, "accepted"),
                RequestAccepted(offer.request_id, offer.agent_id, waited),
            ]
            self._apply(events)
            assert self._agent(offer.agent_id).idle_since == self.now
        self._settle()

    @precondition(lambda self: bool(self.queue.offers()))
    @rule(index=st.integers(0, 100))
    def decline(self, index: int) -> None:
        offer = self._pick(self.queue.offers(), index)
        self.queue, events = routing.decline(self.queue, offer.offer_id, offer.agent_id, self.now)
        assert events == [OfferEnded(offer, "declined")]
        self._apply(events)
        request = self.queue.find(offer.request_id)
        assert request is not None
        assert offer.agent_id in request.declined_by
        self._settle()

    @precondition(lambda self: bool(self.queue.offers()))
    @rule(index=st.integers(0, 100), wrong_agent=st.sampled_from(AGENT_IDS))
    def accept_or_decline_as_wrong_agent(self, index: int, wrong_agent: int) -> None:
        offer = self._pick(self.queue.offers(), index)
        if wrong_agent == offer.agent_id:
            return
        with pytest.raises(OfferGone):
            routing.accept(self.queue, offer.offer_id, wrong_agent, self.now)
        with pytest.raises(OfferGone):
            routing.decline(self.queue, offer.offer_id, wrong_agent, self.now)

    @precondition(lambda self: bool(self.ended_offers))
    @rule(index=st.integers(0, 100))
    def accept_ended_offer(self, index: int) -> None:
        offer = self._pick(self.ended_offers, index)
        with pytest.raises(OfferGone):
            routing.accept(self.queue, offer.offer_id, offer.agent_id, self.now)
        with pytest.raises(OfferGone):
            routing.decline(self.queue, offer.offer_id, offer.agent_id, self.now)

    @rule(seconds=st.integers(0, 40))
    def advance_time(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        self._settle()

    @precondition(lambda self: routing.next_deadline(self.queue) is not None)
    @rule()
    def advance_to_next_deadline(self) -> None:
        """What the service's timer does: wake up exactly at ``next_deadline``."""
        deadline = routing.next_deadline(self.queue)
        assert deadline is not None
        self.now = deadline
        before = self.queue
        self._settle()
        assert self.queue != before, "the deadline passed and nothing happened"

    @rule(agent_id=st.sampled_from(AGENT_IDS), available=st.booleans())
    def presence_change(self, agent_id: int, available: bool) -> None:
        agent = self._agent(agent_id)
        if available and not agent.available:
            agent = replace(agent, available=True, idle_since=self.now)
        else:
            agent = replace(agent, available=available)
        self._put_agent(agent)
        self._settle()

    @rule(agent_id=st.sampled_from(AGENT_IDS))
    def disconnect(self, agent_id: int) -> None:
        self._put_agent(replace(self._agent(agent_id), available=False))
        self._settle()

    @rule(agent_id=st.sampled_from(AGENT_IDS), elsewhere=st.booleans())
    def offer_elsewhere(self, agent_id: int, elsewhere: bool) -> None:
        self._put_agent(replace(self._agent(agent_id), offer_elsewhere=elsewhere))
        self._settle()

    @precondition(lambda self: any(a.active_chats > 0 for a in self.queue.agents.values()))
    @rule(index=st.integers(0, 100))
    def end_chat(self, index: int) -> None:
        busy = sorted(a.agent_id for a in self.queue.agents.values() if a.active_chats > 0)
        agent = self._agent(busy[index % len(busy)])
        self._put_agent(replace(agent, active_chats=agent.active_chats - 1, idle_since=self.now))
        self.chats[agent.agent_id] -= 1
        self._settle()

    @rule(agent_id=st.sampled_from(AGENT_IDS))
    def chat_from_another_queue(self, agent_id: int) -> None:
        agent = self._agent(agent_id)
        if not agent.has_capacity():
            return
        self._put_agent(replace(agent, active_chats=agent.active_chats + 1, idle_since=self.now))
        self.chats[agent_id] += 1
        self._settle()

    @precondition(lambda self: bool(self.enqueued))
    @rule(index=st.integers(0, 100))
    def cancel(self, index: int) -> None:
        ids = sorted(self.enqueued)
        request_id = ids[index % len(ids)]
        waiting = self.queue.find(request_id)
        self.queue, events = routing.cancel(self.queue, request_id, self.now)
        if waiting is None:
            assert events == []
        else:
            ended = [e for e in events if isinstance(e, RequestEnded)]
            assert ended == [RequestEnded(request_id, "cancelled")]
            if waiting.offer is not None:
                assert events[0] == OfferEnded(waiting.offer, "withdrawn")
        self._apply(events)
        self._settle()

    # Invariants -------------------------------------------------------------------------------

    @invariant()
    def one_live_offer_per_request_and_per_agent(self) -> None:
        offers = self.queue.offers()
        assert len({o.request_id for o in offers}) == len(offers)
        assert len({o.agent_id for o in offers}) == len(offers)
        assert {o.request_id: o for o in offers} == self.live_offers
        for request in self.queue.requests:
            if request.offer is not None:
                assert request.offer.request_id == request.request_id
                assert request.offer.agent_id not in request.declined_by
            assert request.offers_made == self.offers_made.get(request.request_id, 0)

    @invariant()
    def capacity_is_respected(self) -> None:
        for agent_id, agent in self.queue.agents.items():
            assert agent.agent_id == agent_id
            assert 0 <= agent.active_chats <= agent.max_chats
            assert agent.active_chats == self.chats[agent_id]

    @invariant()
    def every_request_waits_or_ended_exactly_once(self) -> None:
        waiting = [r.request_id for r in self.queue.requests]
        assert len(set(waiting)) == len(waiting)
        for request_id in self.enqueued:
            outcomes = self.outcomes.get(request_id, [])
            if request_id in waiting:
                assert outcomes == []
            else:
                assert len(outcomes) == 1, (request_id, outcomes)
                assert outcomes[0] in ENDINGS
        assert set(waiting) <= set(self.enqueued)

    @invariant()
    def queue_is_fifo_and_positions_match_events(self) -> None:
        created = [r.created_at for r in self.queue.requests]
        assert created == sorted(created)
        assert self.queue.positions() == self.positions

    @invariant()
    def nothing_overdue(self) -> None:
        deadline = routing.next_deadline(self.queue)
        assert deadline is None or deadline > self.now


def test_routing_invariants_hold_under_random_commands() -> None:
    run_state_machine_as_test(
        RoutingMachine,
        settings=settings(
            max_examples=200,
            stateful_step_count=50,
            derandomize=True,
            database=None,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
