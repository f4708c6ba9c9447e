"""Routing: agent selection and the offer state machine, on a fake time base."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import routing
from parley.domain.errors import NotFound, OfferGone, OverCapacity
from parley.domain.routing import (
    Agent,
    Offer,
    OfferEnded,
    OfferMade,
    PositionChanged,
    Queue,
    QueueConfig,
    Request,
    RequestAccepted,
    RequestEnded,
    RequestQueued,
    RoutingEvent,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OFFER_TIMEOUT = timedelta(seconds=30)
WAIT_TIMEOUT = timedelta(minutes=5)
CONFIG = QueueConfig(offer_timeout=OFFER_TIMEOUT, wait_timeout=WAIT_TIMEOUT)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def mk_agent(
    agent_id: int,
    *,
    active: int = 0,
    max_chats: int = 3,
    idle: float = 0,
    available: bool = True,
    elsewhere: bool = False,
) -> Agent:
    return Agent(agent_id, available, active, max_chats, at(idle), offer_elsewhere=elsewhere)


def mk_queue(*agents: Agent) -> Queue:
    return Queue(CONFIG, agents={a.agent_id: a for a in agents})


def enqueue_all(queue: Queue, *request_ids: str, now: datetime = T0) -> Queue:
    for request_id in request_ids:
        queue, _ = routing.enqueue(queue, request_id, now)
    return queue


def step(queue: Queue, now: datetime) -> tuple[Queue, list[RoutingEvent]]:
    """What the service does whenever something changed or a deadline passed."""
    queue, ticked = routing.tick(queue, now)
    queue, offered = routing.dispatch(queue, now)
    return queue, ticked + offered


def offer_of(queue: Queue, request_id: str) -> Offer:
    request = queue.find(request_id)
    assert request is not None
    assert request.offer is not None
    return request.offer


def offered_to(queue: Queue) -> dict[str, int]:
    return {o.request_id: o.agent_id for o in queue.offers()}


def with_agent(queue: Queue, agent: Agent) -> Queue:
    return replace(queue, agents={**queue.agents, agent.agent_id: agent})


# enqueue ------------------------------------------------------------------------------------------


def test_enqueue_reports_queued_and_position() -> None:
    queue, events = routing.enqueue(mk_queue(), "r1", T0)
    assert events == [RequestQueued("r1"), PositionChanged("r1", 1)]
    queue, events = routing.enqueue(queue, "r2", at(1))
    assert events == [RequestQueued("r2"), PositionChanged("r2", 2)]
    assert queue.requests == (Request("r1", T0), Request("r2", at(1)))
    assert queue.positions() == {"r1": 1, "r2": 2}


def test_enqueue_twice_is_a_no_op() -> None:
    queue = enqueue_all(mk_queue(), "r1")
    again, events = routing.enqueue(queue, "r1", at(5))
    assert events == []
    assert again == queue


def test_enqueue_makes_no_offer_by_itself() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    assert queue.offers() == []


# select / dispatch --------------------------------------------------------------------------------


def test_best_agent_has_fewest_chats() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1, active=2), mk_agent(2, active=1, idle=100)), "r1")
    queue, events = routing.dispatch(queue, at(1))
    offer = offer_of(queue, "r1")
    assert offer.agent_id == 2
    assert events == [OfferMade(offer)]
    assert offer == Offer("r1.1", "r1", 2, at(1), at(1) + OFFER_TIMEOUT)


def test_tie_on_chats_goes_to_agent_idle_longest() -> None:
    agents = (mk_agent(1, idle=50), mk_agent(2, idle=10), mk_agent(3, idle=30))
    queue = enqueue_all(mk_queue(*agents), "r1")
    queue, _ = routing.dispatch(queue, at(60))
    assert offer_of(queue, "r1").agent_id == 2


def test_full_tie_goes_to_lowest_id() -> None:
    queue = enqueue_all(mk_queue(mk_agent(9), mk_agent(4), mk_agent(7)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    assert offer_of(queue, "r1").agent_id == 4


def test_select_directly() -> None:
    agents = [mk_agent(1, active=1, idle=0), mk_agent(2, active=0, idle=20), mk_agent(3, idle=5)]
    assert routing.select(agents, Request("r", T0)) == agents[2]
    assert routing.select(agents, Request("r", T0, declined_by=frozenset({3}))) == agents[1]
    assert routing.select(agents, Request("r", T0, declined_by=frozenset({1, 2, 3}))) is None
    assert routing.select([], Request("r", T0)) is None


def test_dispatch_offers_oldest_first_one_agent_each() -> None:
    queue = mk_queue(mk_agent(1, idle=5), mk_agent(2, idle=1))
    queue = enqueue_all(queue, "r1", "r2", "r3")
    queue, events = routing.dispatch(queue, at(10))
    assert offered_to(queue) == {"r1": 2, "r2": 1}
    assert [type(e) for e in events] == [OfferMade, OfferMade]
    assert queue.find("r3") == Request("r3", T0)


@pytest.mark.parametrize(
    "agent",
    [
        mk_agent(1, available=False),
        mk_agent(1, active=3, max_chats=3),
        mk_agent(1, active=0, max_chats=0),
        mk_agent(1, elsewhere=True),
    ],
    ids=["unavailable", "full", "no-capacity", "offer-elsewhere"],
)
def test_ineligible_agent_gets_no_offer(agent: Agent) -> None:
    queue = enqueue_all(mk_queue(agent), "r1")
    dispatched, events = routing.dispatch(queue, at(1))
    assert events == []
    assert dispatched == queue


def test_offer_elsewhere_excludes_even_the_best_agent() -> None:
    queue = mk_queue(mk_agent(1, elsewhere=True), mk_agent(2, active=2, idle=99))
    queue = enqueue_all(queue, "r1")
    queue, _ = routing.dispatch(queue, at(1))
    assert offer_of(queue, "r1").agent_id == 2


def test_agent_holding_an_offer_gets_no_second() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    queue = enqueue_all(queue, "r2", now=at(2))
    again, events = routing.dispatch(queue, at(3))
    assert events == []
    assert again == queue
    assert offered_to(again) == {"r1": 1}


def test_dispatch_is_idempotent() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1", "r2", "r3")
    queue, _ = routing.dispatch(queue, at(1))
    again, events = routing.dispatch(queue, at(2))
    assert events == []
    assert again == queue


def test_dispatch_with_nothing_to_do() -> None:
    assert routing.dispatch(mk_queue(mk_agent(1)), T0) == (mk_queue(mk_agent(1)), [])
    queue = enqueue_all(mk_queue(), "r1")
    assert routing.dispatch(queue, T0) == (queue, [])


# decline / offer timeout --------------------------------------------------------------------------


def test_declined_agent_is_not_offered_the_same_request_again() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    offer = offer_of(queue, "r1")
    queue, events = routing.decline(queue, offer.offer_id, 1, at(2))
    assert events == [OfferEnded(offer, "declined")]
    assert queue.find("r1") == Request("r1", T0, frozenset({1}), offers_made=1)
    queue, events = step(queue, at(3))
    assert events == []
    assert queue.offers() == []


def test_declined_agent_gets_the_next_request_instead() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2, active=1)), "r1", "r2")
    queue, _ = routing.dispatch(queue, at(1))
    assert offered_to(queue) == {"r1": 1, "r2": 2}
    queue, _ = routing.decline(queue, "r1.1", 1, at(2))
    queue, _ = routing.dispatch(queue, at(2))
    # r1 is older, but agent 1 declined it and agent 2 is busy with r2's offer.
    assert offered_to(queue) == {"r2": 2}
    queue, _ = routing.decline(queue, "r2.1", 2, at(3))
    queue, events = routing.dispatch(queue, at(3))
    assert offered_to(queue) == {"r1": 2, "r2": 1}
    assert [e.offer.offer_id for e in events if isinstance(e, OfferMade)] == ["r1.2", "r2.2"]


def test_offer_timeout_counts_as_decline_and_goes_to_next_agent() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1, idle=0), mk_agent(2, idle=10)), "r1")
    queue, _ = step(queue, at(20))
    first = offer_of(queue, "r1")
    assert first.agent_id == 1
    assert routing.next_deadline(queue) == at(50)

    still, events = step(queue, at(50) - timedelta(microseconds=1))
    assert events == []
    assert still == queue

    queue, events = step(queue, at(50))
    second = offer_of(queue, "r1")
    assert events == [OfferEnded(first, "timed_out"), OfferMade(second)]
    assert second == Offer("r1.2", "r1", 2, at(50), at(80))
    assert queue.find("r1").declined_by == frozenset({1})  # type: ignore[union-attr]


def test_after_everyone_declined_the_request_waits_until_it_expires() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue, _ = step(queue, at(0))
    queue, _ = step(queue, at(30))  # timed out, nobody left
    assert queue.offers() == []
    assert routing.next_deadline(queue) == T0 + WAIT_TIMEOUT
    queue, events = step(queue, T0 + WAIT_TIMEOUT)
    assert events == [RequestEnded("r1", "expired")]
    assert queue.requests == ()


def test_decline_of_stale_offer_is_offer_gone() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    with pytest.raises(OfferGone):
        routing.decline(queue, "r1.1", 2, at(2))  # someone else's offer
    with pytest.raises(OfferGone):
        routing.decline(queue, "r1.1", 1, at(31))  # expired
    with pytest.raises(OfferGone):
        routing.decline(queue, "nope", 1, at(2))
    queue, _ = routing.decline(queue, "r1.1", 1, at(2))
    with pytest.raises(OfferGone):
        routing.decline(queue, "r1.1", 1, at(3))  # twice


# wait timeout / cancel ----------------------------------------------------------------------------


def test_wait_timeout_expires_request_and_withdraws_its_offer() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue = enqueue_all(queue, "r2", now=at(60))
    # A long offer timeout, so that the offer is still live when the request expires.
    queue = replace(queue, config=QueueConfig(timedelta(minutes=10), WAIT_TIMEOUT))
    queue, _ = routing.dispatch(queue, at(280))
    offer = offer_of(queue, "r1")
    assert routing.next_deadline(queue) == T0 + WAIT_TIMEOUT

    queue, events = routing.tick(queue, T0 + WAIT_TIMEOUT)
    assert events == [
        OfferEnded(offer, "withdrawn"),
        RequestEnded("r1", "expired"),
        PositionChanged("r2", 1),
    ]
    assert [r.request_id for r in queue.requests] == ["r2"]
    # The agent is free again and gets r2.
    queue, events = routing.dispatch(queue, T0 + WAIT_TIMEOUT)
    assert offered_to(queue) == {"r2": 1}


def test_request_expires_exactly_at_wait_timeout() -> None:
    queue = enqueue_all(mk_queue(), "r1")
    same, events = routing.tick(queue, T0 + WAIT_TIMEOUT - timedelta(microseconds=1))
    assert (same, events) == (queue, [])
    queue, events = routing.tick(queue, T0 + WAIT_TIMEOUT)
    assert events == [RequestEnded("r1", "expired")]
    assert queue.requests == ()


def test_tick_expires_several_requests_and_reports_final_positions() -> None:
    queue = enqueue_all(mk_queue(), "r1", "r2")
    queue = enqueue_all(queue, "r3", "r4", now=at(100))
    queue, events = routing.tick(queue, T0 + WAIT_TIMEOUT)
    ended = [e for e in events if isinstance(e, RequestEnded)]
    assert ended == [RequestEnded("r1", "expired"), RequestEnded("r2", "expired")]
    # Replaying the events over the positions known before gives the positions after.
    known = {"r1": 1, "r2": 2, "r3": 3, "r4": 4}
    for e in events:
        if isinstance(e, PositionChanged):
            known[e.request_id] = e.position
        elif isinstance(e, RequestEnded):
            del known[e.request_id]
    assert known == {"r3": 1, "r4": 2} == queue.positions()


def test_cancel_withdraws_offer_and_moves_others_up() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1", "r2", "r3")
    queue, _ = routing.dispatch(queue, at(1))
    offer = offer_of(queue, "r1")
    queue, events = routing.cancel(queue, "r1", at(2))
    assert events == [
        OfferEnded(offer, "withdrawn"),
        RequestEnded("r1", "cancelled"),
        PositionChanged("r2", 1),
        PositionChanged("r3", 2),
    ]
    with pytest.raises(OfferGone):
        routing.accept(queue, offer.offer_id, 1, at(3))
    queue, _ = routing.dispatch(queue, at(3))
    assert offered_to(queue) == {"r2": 1}


def test_cancel_of_last_request_reports_no_positions() -> None:
    queue = enqueue_all(mk_queue(), "r1", "r2")
    queue, events = routing.cancel(queue, "r2", at(1))
    assert events == [RequestEnded("r2", "cancelled")]


def test_cancel_unknown_request_is_a_no_op() -> None:
    queue = enqueue_all(mk_queue(), "r1")
    assert routing.cancel(queue, "zzz", at(1)) == (queue, [])


# accept -------------------------------------------------------------------------------------------


def test_accept_removes_request_and_updates_agent() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1, active=1)), "r1", "r2", "r3")
    queue, _ = routing.dispatch(queue, at(10))
    offer = offer_of(queue, "r1")
    queue, events = routing.accept(queue, offer.offer_id, 1, at(12))
    assert events == [
        OfferEnded(offer, "accepted"),
        RequestAccepted("r1", 1, timedelta(seconds=12)),
        PositionChanged("r2", 1),
        PositionChanged("r3", 2),
    ]
    assert queue.agents[1] == mk_agent(1, active=2, idle=12)
    assert [r.request_id for r in queue.requests] == ["r2", "r3"]
    queue, _ = routing.dispatch(queue, at(12))
    assert offered_to(queue) == {"r2": 1}


def test_accept_of_later_request_moves_only_those_behind() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1", "r2", "r3")
    queue, _ = routing.dispatch(queue, at(1))
    offer = offer_of(queue, "r2")
    queue, events = routing.accept(queue, offer.offer_id, offer.agent_id, at(2))
    assert [e for e in events if isinstance(e, PositionChanged)] == [PositionChanged("r3", 2)]


def test_accept_over_capacity_raises_and_changes_nothing() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1, active=1, max_chats=2)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    # The agent took a chat from another queue meanwhile.
    full = with_agent(queue, mk_agent(1, active=2, max_chats=2))
    with pytest.raises(OverCapacity) as info:
        routing.accept(full, "r1.1", 1, at(2))
    assert info.value.code == "over_capacity"
    assert offer_of(full, "r1").agent_id == 1


def test_accept_by_agent_no_longer_in_workgroup_is_not_found() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    gone = replace(queue, agents={})
    with pytest.raises(NotFound):
        routing.accept(gone, "r1.1", 1, at(2))


def test_accept_of_other_agents_offer_is_offer_gone() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1")
    queue, _ = routing.dispatch(queue, at(1))
    assert offer_of(queue, "r1").agent_id == 1
    with pytest.raises(OfferGone) as info:
        routing.accept(queue, "r1.1", 2, at(2))
    assert info.value.code == "offer_gone"


def test_accept_of_expired_offer_is_offer_gone_even_before_tick() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue, _ = routing.dispatch(queue, at(0))
    routing.accept(queue, "r1.1", 1, at(30) - timedelta(microseconds=1))  # still open
    with pytest.raises(OfferGone):
        routing.accept(queue, "r1.1", 1, at(30))


def test_accept_of_stale_offer_is_offer_gone() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1")
    queue, _ = step(queue, at(0))
    queue, _ = step(queue, at(30))  # r1.1 timed out, r1.2 offered to agent 2
    assert offer_of(queue, "r1").offer_id == "r1.2"
    with pytest.raises(OfferGone):
        routing.accept(queue, "r1.1", 1, at(31))
    with pytest.raises(OfferGone):
        routing.accept(queue, "r1.2", 1, at(31))
    queue, _ = routing.accept(queue, "r1.2", 2, at(31))
    with pytest.raises(OfferGone):  # accepted already
        routing.accept(queue, "r1.2", 2, at(32))


def test_accept_of_expired_request_is_offer_gone() -> None:
    long_offers = QueueConfig(offer_timeout=timedelta(hours=1), wait_timeout=WAIT_TIMEOUT)
    queue = replace(enqueue_all(mk_queue(mk_agent(1)), "r1"), config=long_offers)
    queue, _ = step(queue, at(0))
    queue, _ = step(queue, T0 + WAIT_TIMEOUT)
    with pytest.raises(OfferGone):
        routing.accept(queue, "r1.1", 1, T0 + WAIT_TIMEOUT)


def test_offer_ids_are_never_reused_for_a_request() -> None:
    agents = [mk_agent(i, idle=i) for i in range(1, 5)]
    queue = enqueue_all(mk_queue(*agents), "r1")
    seen = []
    now = T0
    for _ in agents:
        queue, _ = step(queue, now)
        offer = offer_of(queue, "r1")
        seen.append(offer.offer_id)
        queue, _ = routing.decline(queue, offer.offer_id, offer.agent_id, now)
        now += timedelta(seconds=1)
    assert seen == ["r1.1", "r1.2", "r1.3", "r1.4"]
    assert queue.find("r1").declined_by == {1, 2, 3, 4}  # type: ignore[union-attr]


# next_deadline ------------------------------------------------------------------------------------


def test_next_deadline() -> None:
    queue = mk_queue(mk_agent(1))
    assert routing.next_deadline(queue) is None
    queue = enqueue_all(queue, "r1", now=at(10))
    assert routing.next_deadline(queue) == at(10) + WAIT_TIMEOUT
    queue, _ = routing.dispatch(queue, at(20))
    assert routing.next_deadline(queue) == at(50)  # the offer times out first
    queue, _ = routing.accept(queue, "r1.1", 1, at(25))
    assert routing.next_deadline(queue) is None


def test_next_deadline_is_the_minimum_over_requests_and_offers() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue = enqueue_all(queue, "r2", now=at(290))
    queue, _ = routing.dispatch(queue, at(290))  # offer to r1, expires at 320
    assert routing.next_deadline(queue) == T0 + WAIT_TIMEOUT  # r1 expires at 300


def test_nothing_happens_between_deadlines() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1", "r2", "r3")
    queue, _ = step(queue, at(0))
    deadline = routing.next_deadline(queue)
    assert deadline == at(30)
    for seconds in (1, 10, 29.999):
        assert step(queue, at(seconds)) == (queue, [])


# purity -------------------------------------------------------------------------------------------


def test_functions_do_not_mutate_their_input() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2)), "r1", "r2", "r3")
    snapshot = (queue.requests, dict(queue.agents))
    routing.dispatch(queue, at(1))
    offered, _ = routing.dispatch(queue, at(1))
    snapshot2 = (offered.requests, dict(offered.agents))
    routing.accept(offered, "r1.1", 1, at(2))
    routing.decline(offered, "r2.1", 2, at(2))
    routing.cancel(offered, "r3", at(2))
    routing.tick(offered, at(400))
    assert (queue.requests, dict(queue.agents)) == snapshot
    assert (offered.requests, dict(offered.agents)) == snapshot2


def test_offer_of_an_agent_who_is_no_longer_available_is_withdrawn() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1), mk_agent(2, idle=5)), "r1")
    queue, _ = step(queue, at(1))
    first = offer_of(queue, "r1")
    assert first.agent_id == 1
    queue = with_agent(queue, mk_agent(1, available=False))  # agent 1 went away
    queue, events = step(queue, at(2))
    assert OfferEnded(first, "withdrawn") in events
    assert offer_of(queue, "r1").agent_id == 2
    request = queue.find("r1")
    assert request is not None and 1 not in request.declined_by  # may be offered again later


def test_offer_of_an_agent_removed_from_the_workgroup_is_withdrawn() -> None:
    queue = enqueue_all(mk_queue(mk_agent(1)), "r1")
    queue, _ = step(queue, at(1))
    queue = replace(queue, agents={})
    queue, events = step(queue, at(2))
    assert [type(e).__name__ for e in events] == ["OfferEnded"]
    assert queue.offers() == []
