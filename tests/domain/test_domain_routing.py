"""Routing: queues, skills, strategies, preferred agents, cooldowns, overflow, on a fake clock.

Every test builds a ``Router`` inline, feeds commands with explicit ``now`` values from ``T0``
and checks the state and the events. ``step`` is what the services run after every change and
whenever ``next_deadline`` passes: ``tick`` then ``dispatch`` at the same ``now``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import routing
from parley.domain.errors import Forbidden, NotFound, OfferGone, OverCapacity, Unavailable
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
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
OFFER = timedelta(seconds=30)
WAIT = timedelta(minutes=10)
COOLDOWN = timedelta(seconds=20)
PREFERRED = timedelta(seconds=10)
POLICY = Policy(
    offer_timeout=OFFER,
    wait_timeout=WAIT,
    decline_cooldown=COOLDOWN,
    preferred_timeout=PREFERRED,
    max_missed=3,
    max_moves=3,
)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def secs(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


def mk_agent(
    agent_id: int,
    *,
    skills: Mapping[str, int] | None = None,
    active: int = 0,
    max_chats: int = 3,
    idle: float = 0,
    available: bool = True,
    elsewhere: bool = False,
) -> Agent:
    return Agent(
        agent_id,
        available,
        active,
        max_chats,
        at(idle),
        offer_elsewhere=elsewhere,
        skills=dict(skills or {}),
    )


def q(
    queue_id: int,
    strategy: Strategy = Strategy.BEST,
    *,
    skills: Mapping[str, int] | None = None,
    overflow: Overflow | None = None,
    max_length: int | None = None,
) -> QueueSpec:
    return QueueSpec(
        queue_id,
        name=f"q{queue_id}",
        strategy=strategy,
        skills=dict(skills or {}),
        overflow=overflow or Overflow(),
        max_length=max_length,
    )


def mk_router(
    queues: Sequence[QueueSpec], agents: Sequence[Agent] = (), policy: Policy = POLICY
) -> Router:
    return Router(
        policy, queues={s.queue_id: s for s in queues}, agents={a.agent_id: a for a in agents}
    )


_arrivals = iter(range(1, 10**9))


def mk_request(
    request_id: str,
    queue_id: int = 1,
    *,
    priority: int = 0,
    created: float = 0,
    preferred: int | None = None,
    arrival: int | None = None,
) -> Request:
    return Request(
        request_id,
        at(created),
        queue_id,
        arrival=next(_arrivals) if arrival is None else arrival,
        priority=priority,
        preferred_agent=preferred,
    )


def add(router: Router, *requests: Request, now: datetime | None = None) -> Router:
    for request in requests:
        router, _ = routing.enqueue(router, request, now or request.created_at)
    return router


def step(router: Router, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    """What the service does whenever something changed or a deadline passed."""
    router, ticked = routing.tick(router, now)
    router, offered = routing.dispatch(router, now)
    return router, ticked + offered


def live(router: Router) -> dict[str, list[int]]:
    """Request -> agents holding a live offer of it."""
    out: dict[str, list[int]] = {}
    for offer in router.offers():
        out.setdefault(offer.request_id, []).append(offer.agent_id)
    return out


def offer_of(router: Router, request_id: str, agent_id: int | None = None) -> Offer:
    request = router.find(request_id)
    assert request is not None
    offers = [o for o in request.offers if agent_id is None or o.agent_id == agent_id]
    assert len(offers) == 1, request.offers
    return offers[0]


def with_agent(router: Router, agent: Agent) -> Router:
    return replace(router, agents={**router.agents, agent.agent_id: agent})


def update_agent(router: Router, agent_id: int, **changes: Any) -> Router:
    return with_agent(router, replace(router.agents[agent_id], **changes))


def waiting(router: Router) -> list[str]:
    return [r.request_id for r in router.requests]


E = TypeVar("E")


def of_type(events: Sequence[RoutingEvent], kind: type[E]) -> list[E]:
    return [e for e in events if isinstance(e, kind)]


# enqueue, service order, positions --------------------------------------------------------------


def test_enqueue_reports_queued_and_position_per_queue() -> None:
    router = mk_router([q(1), q(2)])
    router, events = routing.enqueue(router, mk_request("a", 1), T0)
    assert events == [RequestQueued("a", 1), PositionChanged("a", 1, 1)]
    router, events = routing.enqueue(router, mk_request("b", 2, created=1), at(1))
    assert events == [RequestQueued("b", 2), PositionChanged("b", 2, 1)]
    router, events = routing.enqueue(router, mk_request("c", 1, created=2), at(2))
    assert events == [RequestQueued("c", 1), PositionChanged("c", 1, 2)]
    assert router.positions() == {"a": (1, 1), "b": (2, 1), "c": (1, 2)}
    assert router.length(1) == 2
    assert router.length(2) == 1
    request = router.find("c")
    assert request is not None
    assert request.entered_at == at(2)
    assert request.since == at(2)


def test_enqueue_twice_is_a_no_op_and_makes_no_offer() -> None:
    router = add(mk_router([q(1)], [mk_agent(1)]), mk_request("a"))
    assert router.offers() == []
    again, events = routing.enqueue(router, mk_request("a", created=5), at(5))
    assert (again, events) == (router, [])


def test_enqueue_into_an_unknown_queue_is_not_found() -> None:
    with pytest.raises(NotFound):
        routing.enqueue(mk_router([q(1)]), mk_request("a", 7), T0)


def test_higher_priority_jumps_ahead_and_pushes_others_back() -> None:
    router = add(mk_router([q(1)]), mk_request("a"), mk_request("b"))
    router, events = routing.enqueue(router, mk_request("vip", priority=5, created=3), at(3))
    assert events == [
        RequestQueued("vip", 1),
        PositionChanged("vip", 1, 1),
        PositionChanged("a", 1, 2),
        PositionChanged("b", 1, 3),
    ]
    assert waiting(router) == ["vip", "a", "b"]


def test_service_order_is_priority_then_arrival_across_queues() -> None:
    router = mk_router([q(1), q(2)], [mk_agent(1, max_chats=1)])
    router = add(
        router,
        mk_request("a", 1, arrival=1),
        mk_request("b", 2, arrival=2, priority=1),
        mk_request("c", 1, arrival=3, priority=1),
        mk_request("d", 2, arrival=4),
    )
    assert waiting(router) == ["b", "c", "a", "d"]
    assert router.positions() == {"b": (2, 1), "c": (1, 1), "a": (1, 2), "d": (2, 2)}
    served = []
    now = at(1)
    for _ in range(4):
        router, _ = step(router, now)
        offer = router.offers()[0]
        served.append(offer.request_id)
        router, _ = routing.accept(router, offer.offer_id, 1, now)
        router = update_agent(router, 1, active_chats=0, idle_since=now)
        now += secs(1)
    assert served == ["b", "c", "a", "d"]


def test_arrival_not_creation_time_decides_within_a_priority() -> None:
    # Two requests created in the same microsecond keep the order the database gave them.
    router = mk_router([q(1)], [mk_agent(1)])
    router = add(router, mk_request("late", arrival=9), mk_request("early", arrival=2))
    router, _ = step(router, at(1))
    assert live(router) == {"early": [1]}


def test_accept_and_cancel_move_the_others_up_in_their_queue_only() -> None:
    router = mk_router([q(1), q(2)], [mk_agent(1)])
    router = add(router, mk_request("a", 2), mk_request("b", 1), mk_request("c", 2))
    router, _ = step(router, at(1))
    assert live(router) == {"a": [1]}
    router, events = routing.accept(router, "a.1", 1, at(2))
    assert of_type(events, PositionChanged) == [PositionChanged("c", 2, 1)]
    router, events = routing.cancel(router, "b", at(3))
    assert events == [RequestEnded("b", "cancelled")]
    assert router.positions() == {"c": (2, 1)}


# skills ---------------------------------------------------------------------------------------


def test_agent_needs_every_skill_at_its_level() -> None:
    spec = q(1, skills={"billing": 2, "de": 1})
    assert mk_agent(1, skills={"billing": 2, "de": 1}).qualifies(spec)
    assert mk_agent(1, skills={"billing": 3, "de": 2, "tech": 1}).qualifies(spec)
    assert not mk_agent(1, skills={"billing": 1, "de": 1}).qualifies(spec)
    assert not mk_agent(1, skills={"billing": 3}).qualifies(spec)
    assert not mk_agent(1).qualifies(spec)
    assert mk_agent(1).qualifies(q(2))


def test_only_qualified_agents_are_offered_a_skilled_queue() -> None:
    agents = [
        mk_agent(1, skills={"billing": 1, "de": 1}, idle=-100),
        mk_agent(2, skills={"billing": 3}, idle=-100),
        mk_agent(3, skills={"billing": 2, "de": 1}, active=2),
    ]
    router = mk_router([q(1, skills={"billing": 2, "de": 1})], agents)
    router = add(router, mk_request("a"), mk_request("b"))
    router, events = step(router, at(1))
    assert live(router) == {"a": [3]}
    assert len(of_type(events, OfferMade)) == 1


def test_an_agent_skips_a_request_they_cannot_take_for_a_later_one() -> None:
    # Nobody qualifies for "a", so the agent gets "b" although "a" is older.
    router = mk_router([q(1, skills={"tech": 1}), q(2)], [mk_agent(1)])
    router = add(router, mk_request("a", 1), mk_request("b", 2))
    router, _ = step(router, at(1))
    assert live(router) == {"b": [1]}


# best agent -----------------------------------------------------------------------------------


def test_best_agent_has_fewest_chats() -> None:
    router = mk_router([q(1)], [mk_agent(1, active=2, idle=-50), mk_agent(2, active=1, idle=0)])
    router, events = step(add(router, mk_request("a")), at(1))
    offer = offer_of(router, "a")
    assert offer == Offer("a.1", "a", 2, at(1), at(1) + OFFER)
    assert events == [OfferMade(offer)]


def test_best_agent_tie_on_chats_goes_to_idle_longest_then_lowest_id() -> None:
    agents = [mk_agent(1, idle=50), mk_agent(2, idle=10), mk_agent(3, idle=30)]
    router, _ = step(add(mk_router([q(1)], agents), mk_request("a")), at(60))
    assert live(router) == {"a": [2]}
    agents = [mk_agent(9), mk_agent(4), mk_agent(7)]
    router, _ = step(add(mk_router([q(1)], agents), mk_request("a")), at(1))
    assert live(router) == {"a": [4]}


def test_dispatch_gives_each_agent_one_offer_in_service_order() -> None:
    router = mk_router([q(1)], [mk_agent(1, idle=5), mk_agent(2, idle=1)])
    router = add(router, mk_request("a"), mk_request("b"), mk_request("c"))
    router, events = step(router, at(10))
    assert live(router) == {"a": [2], "b": [1]}
    assert [type(e) for e in events] == [OfferMade, OfferMade]
    again, events = routing.dispatch(router, at(11))
    assert (again, events) == (router, [])


@pytest.mark.parametrize(
    "agent",
    [
        mk_agent(1, available=False),
        mk_agent(1, active=3, max_chats=3),
        mk_agent(1, max_chats=0),
        mk_agent(1, elsewhere=True),
    ],
    ids=["unavailable", "full", "no-capacity", "offer-elsewhere"],
)
def test_ineligible_agent_gets_no_offer(agent: Agent) -> None:
    router = add(mk_router([q(1)], [agent]), mk_request("a"))
    assert routing.dispatch(router, at(1)) == (router, [])


# round robin ----------------------------------------------------------------------------------


def rr_take(router: Router, request_id: str, now: datetime) -> tuple[Router, int]:
    """Enqueue one request, dispatch, accept it: who got it."""
    router = add(router, mk_request(request_id, created=(now - T0).total_seconds()))
    router, _ = step(router, now)
    offer = offer_of(router, request_id)
    router, _ = routing.accept(router, offer.offer_id, offer.agent_id, now)
    return router, offer.agent_id


def test_round_robin_rotates_by_id_and_wraps() -> None:
    # Agent 3 is "best" by load all along; round robin ignores load.
    agents = [mk_agent(1, active=1), mk_agent(2, active=1), mk_agent(3)]
    router = mk_router([q(1, Strategy.ROUND_ROBIN)], [*agents])
    router = update_agent(router, 1, max_chats=9)
    router = update_agent(router, 2, max_chats=9)
    router = update_agent(router, 3, max_chats=9)
    order = []
    for n in range(5):
        router, agent_id = rr_take(router, f"r{n}", at(n))
        order.append(agent_id)
    assert order == [1, 2, 3, 1, 2]
    assert router.last_offered == {1: 2}


def test_round_robin_skips_agents_who_cannot_take_it() -> None:
    agents = [
        mk_agent(1, skills={"x": 1}),
        mk_agent(2),  # lacks the skill
        mk_agent(3, skills={"x": 1}, available=False),
        mk_agent(4, skills={"x": 1}),
    ]
    router = mk_router([q(1, Strategy.ROUND_ROBIN, skills={"x": 1})], agents)
    order = []
    for n in range(3):
        router, agent_id = rr_take(router, f"r{n}", at(n))
        order.append(agent_id)
    assert order == [1, 4, 1]


def test_round_robin_continues_after_the_last_agent_offered_even_if_they_left() -> None:
    router = mk_router([q(1, Strategy.ROUND_ROBIN)], [mk_agent(1), mk_agent(3), mk_agent(5)])
    router = replace(router, last_offered={1: 4})
    router, agent_id = rr_take(router, "a", at(1))
    assert agent_id == 5


def test_round_robin_within_one_dispatch_and_per_queue() -> None:
    agents = [mk_agent(i) for i in (1, 2, 3, 4)]
    router = mk_router([q(1, Strategy.ROUND_ROBIN), q(2, Strategy.ROUND_ROBIN)], agents)
    router = replace(router, last_offered={1: 2, 2: 3})
    router = add(router, mk_request("a", 1), mk_request("b", 2), mk_request("c", 1))
    router, _ = step(router, at(1))
    # a: after 2 -> 3; b (queue 2): after 3 -> 4; c: after 3 among {1, 2} -> wraps to 1.
    assert live(router) == {"a": [3], "b": [4], "c": [1]}
    assert router.last_offered == {1: 1, 2: 4}


def test_round_robin_strategy_function_directly() -> None:
    spec = q(1, Strategy.ROUND_ROBIN)
    router = mk_router([spec])
    agents = [mk_agent(2), mk_agent(5), mk_agent(7)]
    request = mk_request("a")
    pick = routing.STRATEGIES[Strategy.ROUND_ROBIN]
    assert pick(agents, request, spec, router) == (agents[0],)
    for last, want in ((2, 5), (5, 7), (7, 2), (6, 7), (1, 2), (99, 2)):
        view = replace(router, last_offered={1: last})
        assert [a.agent_id for a in pick(agents, request, spec, view)] == [want]
    assert pick([], request, spec, router) == ()


def test_strategies_cover_every_strategy() -> None:
    assert set(routing.STRATEGIES) == set(Strategy)


# broadcast ------------------------------------------------------------------------------------


def broadcast_router() -> Router:
    agents = [
        mk_agent(1),
        mk_agent(2, active=2),
        mk_agent(3, active=3, max_chats=3),  # full
        mk_agent(4, skills={"vip": 1}),
    ]
    return add(mk_router([q(1, Strategy.BROADCAST)], agents), mk_request("a"))


def test_broadcast_offers_everyone_eligible_at_once() -> None:
    router, events = step(broadcast_router(), at(1))
    offers = router.offers()
    assert [(o.offer_id, o.agent_id) for o in offers] == [("a.1", 1), ("a.2", 2), ("a.3", 4)]
    assert all(o.broadcast and not o.preferred for o in offers)
    assert all(o.expires_at == at(1) + OFFER for o in offers)
    assert events == [OfferMade(o) for o in offers]
    request = router.find("a")
    assert request is not None
    assert request.offers_made == 3


def test_broadcast_first_accept_wins_and_the_others_are_withdrawn() -> None:
    router, _ = step(broadcast_router(), at(1))
    o1, o2, o4 = router.offers()
    router, events = routing.accept(router, o2.offer_id, 2, at(3))
    assert events == [
        OfferEnded(o2, "accepted"),
        OfferEnded(o1, "withdrawn"),
        OfferEnded(o4, "withdrawn"),
        RequestAccepted("a", 2, secs(3), 1),
    ]
    assert router.offers() == []
    with pytest.raises(OfferGone):
        routing.accept(router, o1.offer_id, 1, at(3))


def test_broadcast_decline_by_one_leaves_the_others_live() -> None:
    router, _ = step(broadcast_router(), at(1))
    o1, o2, o4 = router.offers()
    router, events = routing.decline(router, o1.offer_id, 1, at(2))
    assert events == [OfferEnded(o1, "declined")]
    router, events = step(router, at(2))
    assert events == []
    assert router.offers() == [o2, o4]
    # The decliner is free for other requests, not this one.
    router, _ = step(add(router, mk_request("b", created=3)), at(3))
    assert live(router) == {"a": [2, 4], "b": [1]}


def test_broadcast_new_offers_only_after_every_offer_ended() -> None:
    router, _ = step(broadcast_router(), at(1))
    for offer in router.offers():
        router, _ = routing.decline(router, offer.offer_id, offer.agent_id, at(2))
    router, events = step(router, at(2))
    assert events == [] and router.offers() == []
    router, _ = step(router, at(22))  # every cooldown ended
    assert [o.offer_id for o in router.offers()] == ["a.4", "a.5", "a.6"]


def test_broadcast_accept_by_an_agent_now_full_is_over_capacity_and_changes_nothing() -> None:
    router, _ = step(broadcast_router(), at(1))
    router = update_agent(router, 2, active_chats=3)
    o2 = offer_of(router, "a", 2)
    with pytest.raises(OverCapacity):
        routing.accept(router, o2.offer_id, 2, at(2))
    router, _ = routing.accept(router, offer_of(router, "a", 4).offer_id, 4, at(2))
    assert router.find("a") is None


def test_broadcast_offers_timing_out_count_as_missed_for_each_agent() -> None:
    router, _ = step(broadcast_router(), at(1))
    router, events = step(router, at(31))
    assert [e.reason for e in of_type(events, OfferEnded)] == ["timed_out"] * 3
    assert {a.agent_id: a.missed for a in router.agents.values()} == {1: 1, 2: 1, 3: 0, 4: 1}


# manual ---------------------------------------------------------------------------------------


def manual_router() -> Router:
    agents = [
        mk_agent(1, skills={"x": 1}),
        mk_agent(2),
        mk_agent(3, skills={"x": 1}, available=False),
        mk_agent(4, skills={"x": 1}, active=1, max_chats=1),
    ]
    router = mk_router([q(1, Strategy.MANUAL, skills={"x": 1}), q(2)], agents)
    return add(router, mk_request("a", 1), mk_request("b", 1), mk_request("c", 2))


def test_manual_queue_makes_no_offers() -> None:
    router, events = step(manual_router(), at(1))
    assert live(router) == {"c": [1]}
    assert len(events) == 1


def test_claim_takes_a_manual_request() -> None:
    router = manual_router()
    router, events = routing.claim(router, "a", 1, at(4))
    assert events == [RequestAccepted("a", 1, secs(4), 1), PositionChanged("b", 1, 1)]
    assert router.find("a") is None
    assert router.agents[1].active_chats == 1
    assert router.agents[1].idle_since == at(4)
    router, events = routing.claim(router, "b", 1, at(5))
    assert events == [RequestAccepted("b", 1, secs(5), 1)]


@pytest.mark.parametrize(
    ("request_id", "agent_id", "error"),
    [
        ("c", 1, Forbidden),  # not a manual queue
        ("a", 2, Forbidden),  # lacks the skill
        ("a", 3, Forbidden),  # not available
        ("a", 4, OverCapacity),  # full
        ("a", 99, OfferGone),  # not a member: as if it were gone
        ("gone", 1, OfferGone),  # not waiting (any more)
    ],
)
def test_claim_is_refused(request_id: str, agent_id: int, error: type[Exception]) -> None:
    with pytest.raises(error):
        routing.claim(manual_router(), request_id, agent_id, at(1))


def test_claim_of_a_request_already_taken_is_gone() -> None:
    router, _ = routing.claim(manual_router(), "a", 1, at(1))
    with pytest.raises(OfferGone):
        routing.claim(router, "a", 4, at(2))


# preferred agent ------------------------------------------------------------------------------


def preferred_router(**agent2: Any) -> Router:
    # Agent 1 would win on load; the customer last talked to agent 2.
    agents = [mk_agent(1), replace(mk_agent(2, active=2), **agent2)]
    return add(mk_router([q(1)], agents), mk_request("a", preferred=2))


def test_preferred_agent_gets_an_exclusive_first_offer_with_the_shorter_timeout() -> None:
    router, events = step(preferred_router(), at(1))
    offer = offer_of(router, "a")
    assert offer == Offer("a.1", "a", 2, at(1), at(1) + PREFERRED, preferred=True)
    assert events == [OfferMade(offer)]
    assert routing.next_deadline(router, at(1)) == at(11)
    # Agent 1 is free but waits out the window.
    router, events = step(router, at(10.9))
    assert events == []


def test_preferred_offer_timing_out_falls_back_to_normal_routing_and_is_not_missed() -> None:
    router, _ = step(preferred_router(), at(1))
    first = offer_of(router, "a")
    router, events = step(router, at(11))
    assert events == [
        OfferEnded(first, "timed_out"),
        OfferMade(Offer("a.2", "a", 1, at(11), at(11) + OFFER)),
    ]
    assert router.agents[2].missed == 0
    request = router.find("a")
    assert request is not None
    assert request.declined == {2: at(11)}


def test_preferred_timeouts_never_set_the_agent_away() -> None:
    policy = replace(POLICY, max_missed=1)
    router = replace(preferred_router(), policy=policy)
    router, _ = step(router, at(1))
    router, events = step(router, at(11))
    assert router.agents[2].available
    assert of_type(events, AgentSetAway) == []
    # A normal offer timing out does count.
    router, events = step(router, at(41))
    assert of_type(events, AgentSetAway) == [AgentSetAway(1, 1)]


@pytest.mark.parametrize(
    "agent2",
    [{"available": False}, {"active_chats": 3}, {"offer_elsewhere": True}, {"skills": {}}],
    ids=["unavailable", "full", "offer-elsewhere", "unskilled"],
)
def test_preferred_agent_who_cannot_take_it_falls_back_at_once(agent2: dict[str, Any]) -> None:
    router = replace(preferred_router(**agent2), queues={1: q(1, skills={"x": 1})})
    router = update_agent(router, 1, skills={"x": 1})
    if "skills" not in agent2:
        router = update_agent(router, 2, skills={"x": 1})
    router, _ = step(router, at(1))
    assert offer_of(router, "a") == Offer("a.1", "a", 1, at(1), at(1) + OFFER)


def test_preferred_agent_holding_another_offer_falls_back_at_once() -> None:
    router = preferred_router()
    router = add(router, mk_request("first", arrival=0))
    router = update_agent(router, 1, available=False)
    router, _ = step(router, at(1))
    assert live(router) == {"first": [2]}
    router = update_agent(router, 1, available=True)
    router, _ = step(router, at(2))
    assert offer_of(router, "a") == Offer("a.1", "a", 1, at(2), at(2) + OFFER)


def test_after_the_preferred_window_routing_is_normal() -> None:
    router = update_agent(preferred_router(), 1, available=False)
    router = update_agent(router, 2, available=False)
    router, events = step(router, at(5))
    assert events == []
    router = update_agent(router, 1, available=True)
    router = update_agent(router, 2, available=True)
    router, _ = step(router, at(10))  # created at T0: the window is over at 10 s
    assert offer_of(router, "a") == Offer("a.1", "a", 1, at(10), at(10) + OFFER)


def test_preferred_agent_declining_sends_it_to_normal_routing_at_once() -> None:
    router, _ = step(preferred_router(), at(1))
    router, _ = routing.decline(router, "a.1", 2, at(2))
    router, _ = step(router, at(2))
    assert offer_of(router, "a").agent_id == 1


def test_preferred_agent_wins_over_broadcast_and_round_robin() -> None:
    for strategy in (Strategy.BROADCAST, Strategy.ROUND_ROBIN):
        router = replace(preferred_router(), queues={1: q(1, strategy)})
        router, _ = step(router, at(1))
        assert [o.agent_id for o in router.offers()] == [2]
        assert offer_of(router, "a").preferred
        assert not offer_of(router, "a").broadcast or strategy is Strategy.BROADCAST


# decline, cooldown, offer timeout -------------------------------------------------------------


def test_decline_cooldown_then_reoffer_and_next_deadline_wakes_up_for_it() -> None:
    router = add(mk_router([q(1)], [mk_agent(1)]), mk_request("a"))
    router, _ = step(router, at(1))
    router, events = routing.decline(router, "a.1", 1, at(5))
    assert events == [OfferEnded(Offer("a.1", "a", 1, at(1), at(31)), "declined")]
    request = router.find("a")
    assert request is not None
    assert request.declined == {1: at(5)}
    router, events = step(router, at(5))
    assert events == []
    assert routing.next_deadline(router, at(5)) == at(25)
    router, events = step(router, at(24.999))
    assert events == []
    router, events = step(router, at(25))
    assert events == [OfferMade(Offer("a.2", "a", 1, at(25), at(55)))]


def test_declining_one_request_leaves_the_agent_free_for_another() -> None:
    router = add(mk_router([q(1)], [mk_agent(1)]), mk_request("a"), mk_request("b"))
    router, _ = step(router, at(1))
    router, _ = routing.decline(router, "a.1", 1, at(2))
    router, _ = step(router, at(2))
    assert live(router) == {"b": [1]}


def test_timed_out_offer_counts_as_a_decline_for_the_cooldown() -> None:
    router = add(mk_router([q(1)], [mk_agent(1)]), mk_request("a"))
    router, _ = step(router, at(1))
    assert routing.next_deadline(router, at(1)) == at(31)
    router, events = step(router, at(31))
    assert events == [OfferEnded(Offer("a.1", "a", 1, at(1), at(31)), "timed_out")]
    assert routing.next_deadline(router, at(31)) == at(51)
    router, events = step(router, at(50))
    assert events == []
    router, events = step(router, at(51))
    assert [e.offer.offer_id for e in of_type(events, OfferMade)] == ["a.2"]


def test_another_agent_gets_it_during_the_cooldown() -> None:
    router = add(mk_router([q(1)], [mk_agent(1, idle=-9), mk_agent(2)]), mk_request("a"))
    router, _ = step(router, at(1))
    assert live(router) == {"a": [1]}
    router, _ = routing.decline(router, "a.1", 1, at(2))
    router, _ = step(router, at(2))
    assert live(router) == {"a": [2]}


Answer = Callable[[Router, str, int, datetime], tuple[Router, list[RoutingEvent]]]


@pytest.mark.parametrize("command", [routing.accept, routing.decline])
def test_offers_answered_by_the_wrong_agent_late_or_twice_are_gone(command: Answer) -> None:
    router = add(mk_router([q(1)], [mk_agent(1), mk_agent(2)]), mk_request("a"))
    router, _ = step(router, at(1))
    with pytest.raises(OfferGone):
        command(router, "a.1", 2, at(2))
    with pytest.raises(OfferGone):
        command(router, "a.1", 1, at(31))  # expired, before tick
    with pytest.raises(OfferGone):
        command(router, "nope", 1, at(2))
    router, _ = routing.decline(router, "a.1", 1, at(2))
    with pytest.raises(OfferGone):
        command(router, "a.1", 1, at(3))


def test_accept_assigns_the_agent_and_ends_the_request() -> None:
    router = add(mk_router([q(1)], [mk_agent(1, idle=-60)]), mk_request("a"), mk_request("b"))
    router, _ = step(router, at(1))
    offer = offer_of(router, "a")
    router, events = routing.accept(router, offer.offer_id, 1, at(4))
    assert events == [
        OfferEnded(offer, "accepted"),
        RequestAccepted("a", 1, secs(4), 1),
        PositionChanged("b", 1, 1),
    ]
    agent = router.agents[1]
    assert (agent.active_chats, agent.idle_since) == (1, at(4))


# auto-away ------------------------------------------------------------------------------------


def miss(router: Router, agent_id: int, now: float) -> tuple[Router, list[RoutingEvent]]:
    """Enqueue a fresh request, have it offered to ``agent_id``, and let the offer time out."""
    router = add(router, mk_request(f"m{now}", created=now))
    router, _ = step(router, at(now))
    assert agent_id in live(router).get(f"m{now}", [])
    return step(router, at(now) + OFFER)


def test_agent_is_set_away_after_max_missed_timeouts_in_a_row() -> None:
    router = mk_router([q(1)], [mk_agent(1)], replace(POLICY, wait_timeout=timedelta(hours=1)))
    router, events = miss(router, 1, 0)
    assert router.agents[1].missed == 1
    router = replace(router, requests=())
    router, events = miss(router, 1, 100)
    assert router.agents[1].missed == 2
    router = replace(router, requests=())
    router, events = miss(router, 1, 200)
    assert of_type(events, AgentSetAway) == [AgentSetAway(1, 3)]
    agent = router.agents[1]
    assert (agent.available, agent.missed) == (False, 0)
    assert router.offers() == []


@pytest.mark.parametrize("answer", ["decline", "accept"])
def test_a_response_resets_the_missed_count(answer: str) -> None:
    router = mk_router([q(1)], [mk_agent(1, max_chats=9)])
    router, _ = miss(router, 1, 0)
    router = replace(router, requests=())
    router, _ = miss(router, 1, 100)
    router = replace(router, requests=())
    assert router.agents[1].missed == 2
    router, _ = step(add(router, mk_request("x", created=200)), at(200))
    if answer == "decline":
        router, _ = routing.decline(router, "x.1", 1, at(201))
    else:
        router, _ = routing.accept(router, "x.1", 1, at(201))
    assert router.agents[1].missed == 0
    router = replace(router, requests=())
    router, _ = miss(router, 1, 300)
    assert router.agents[1].available
    assert router.agents[1].missed == 1


def test_max_missed_zero_never_sets_away() -> None:
    router = mk_router([q(1)], [mk_agent(1)], replace(POLICY, max_missed=0))
    for n in range(5):
        router = replace(router, requests=())
        router, events = miss(router, 1, n * 100)
        assert of_type(events, AgentSetAway) == []
    assert router.agents[1].available


# withdrawal when agents leave -----------------------------------------------------------------


@pytest.mark.parametrize("how", ["away", "removed"])
def test_offers_of_agents_no_longer_available_are_withdrawn(how: str) -> None:
    router = add(mk_router([q(1)], [mk_agent(1), mk_agent(2, active=1)]), mk_request("a"))
    router, _ = step(router, at(1))
    offer = offer_of(router, "a")
    if how == "away":
        router = update_agent(router, 1, available=False)
    else:
        router = replace(router, agents={2: router.agents[2]})
    router, events = step(router, at(2))
    assert events == [OfferEnded(offer, "withdrawn"), OfferMade(offer_of(router, "a"))]
    assert offer_of(router, "a").agent_id == 2
    request = router.find("a")
    assert request is not None
    assert request.declined == {}  # a withdrawal is not a decline
    assert router.agents.get(1) is None or router.agents[1].missed == 0


def test_agent_back_after_a_withdrawal_is_offered_the_request_at_once() -> None:
    router = add(mk_router([q(1)], [mk_agent(1)]), mk_request("a"))
    router, _ = step(router, at(1))
    router, _ = step(update_agent(router, 1, available=False), at(2))
    router, _ = step(update_agent(router, 1, available=True, idle_since=at(3)), at(3))
    assert offer_of(router, "a").offer_id == "a.2"


# capacity and queue length ---------------------------------------------------------------------


def test_accept_when_full_is_over_capacity_and_leaves_the_offer_live() -> None:
    router = add(mk_router([q(1)], [mk_agent(1, active=1, max_chats=2)]), mk_request("a"))
    router, _ = step(router, at(1))
    full = update_agent(router, 1, active_chats=2)
    with pytest.raises(OverCapacity):
        routing.accept(full, "a.1", 1, at(2))
    assert offer_of(full, "a").offer_id == "a.1"
    # A full agent is offered nothing else, but keeps the offer they hold.
    full = add(full, mk_request("b", created=2))
    full, events = step(full, at(2))
    assert events == []
    assert live(full) == {"a": [1]}


def test_a_full_queue_refuses_new_requests_with_queue_full() -> None:
    router = mk_router([q(1, max_length=2), q(2)], [mk_agent(1, max_chats=1)])
    router = add(router, mk_request("a"), mk_request("b"))
    with pytest.raises(Unavailable) as refused:
        routing.enqueue(router, mk_request("c"), at(1))
    assert refused.value.reason == "queue_full"
    assert refused.value.code == "unavailable"
    router = add(router, mk_request("d", 2))  # another queue is not affected
    router, _ = step(router, at(2))
    router, _ = routing.accept(router, "a.1", 1, at(3))
    router = add(router, mk_request("c", created=4))
    assert waiting(router) == ["b", "d", "c"]


# overflow -------------------------------------------------------------------------------------


def over(action: OverflowAction, after: float | None, target: int | None = None) -> Overflow:
    return Overflow(action, None if after is None else secs(after), target)


def test_stay_never_moves() -> None:
    router = mk_router([q(1, overflow=over(OverflowAction.STAY, 10, 2)), q(2)])
    router = add(router, mk_request("a"))
    assert routing.next_deadline(router, T0) == T0 + WAIT
    for t in (10, 11, 100, 599):
        router, events = step(router, at(t))
        assert events == []
    request = router.find("a")
    assert request is not None
    assert (request.queue_id, request.moves, request.entered_at) == (1, 0, T0)


def test_overflow_without_a_time_never_moves() -> None:
    router = mk_router([q(1, overflow=over(OverflowAction.QUEUE, None, 2)), q(2)])
    router, events = step(add(router, mk_request("a")), at(599))
    assert events == []


def test_queue_overflow_moves_to_the_backup_after_the_time() -> None:
    router = mk_router([q(1, skills={"x": 1}, overflow=over(OverflowAction.QUEUE, 20, 2)), q(2)])
    router = add(router, mk_request("a"), mk_request("b", 2))
    assert routing.next_deadline(router, T0) == at(20)
    router, events = step(router, at(19.9))
    assert events == []
    router, events = step(router, at(20))
    assert events == [
        RequestMoved("a", 1, 2, 1),
        PositionChanged("a", 2, 1),
        PositionChanged("b", 2, 2),
    ]
    request = router.find("a")
    assert request is not None
    assert (request.queue_id, request.moves, request.entered_at) == (2, 1, at(20))
    assert request.created_at == T0  # the wait timeout still counts from the start


def test_queue_overflow_waits_while_an_offer_is_live_and_keeps_declines() -> None:
    agents = [mk_agent(1)]
    router = mk_router([q(1, overflow=over(OverflowAction.QUEUE, 20, 2)), q(2)], agents)
    router, _ = step(add(router, mk_request("a")), at(1))
    assert routing.next_deadline(router, at(1)) == at(31)  # the offer, not the overflow
    router, events = step(router, at(20))
    assert events == []
    router, events = step(router, at(31))  # the offer times out: now it moves
    offer = Offer("a.1", "a", 1, at(1), at(31))
    assert events[:2] == [OfferEnded(offer, "timed_out"), RequestMoved("a", 1, 2, 1)]
    request = router.find("a")
    assert request is not None
    assert request.declined == {1: at(31)}
    assert router.offers() == []  # agent 1 still cools down in the new queue
    router, events = step(router, at(51))
    assert [e.offer.offer_id for e in of_type(events, OfferMade)] == ["a.2"]


def test_queue_overflow_stops_after_max_moves_and_stays() -> None:
    queues = [
        q(1, skills={"x": 1}, overflow=over(OverflowAction.QUEUE, 10, 2)),
        q(2, skills={"x": 1}, overflow=over(OverflowAction.QUEUE, 10, 1)),
    ]
    router = add(mk_router(queues), mk_request("a"))
    path = []
    for t in range(10, 200, 10):
        router, events = step(router, at(t))
        path += [(e.to_queue, e.moves) for e in of_type(events, RequestMoved)]
        assert of_type(events, RequestEnded) == []
    assert path == [(2, 1), (1, 2), (2, 3)]
    request = router.find("a")
    assert request is not None
    assert (request.queue_id, request.moves) == (2, 3)
    assert routing.next_deadline(router, at(190)) == T0 + WAIT


def test_max_moves_zero_never_moves() -> None:
    router = mk_router([q(1, overflow=over(OverflowAction.QUEUE, 10, 2)), q(2)])
    router = replace(add(router, mk_request("a")), policy=replace(POLICY, max_moves=0))
    router, events = step(router, at(100))
    assert events == []
    assert routing.next_deadline(router, at(100)) == T0 + WAIT


def any_router(*agents: Agent) -> Router:
    queues = [
        q(1, skills={"a": 1}, overflow=over(OverflowAction.ANY, 10)),
        q(2, skills={"b": 1}),
        q(3, skills={"c": 1}),
        q(4, skills={"c": 1}),
    ]
    return add(mk_router(queues, agents), mk_request("r"))


def test_any_overflow_moves_to_the_first_other_queue_someone_could_take() -> None:
    router = any_router(mk_agent(1, skills={"c": 1}), mk_agent(2, skills={"b": 1}, max_chats=0))
    router, events = step(router, at(10))
    assert of_type(events, RequestMoved) == [RequestMoved("r", 1, 3, 1)]
    assert live(router) == {"r": [1]}


def test_any_overflow_counts_an_agent_busy_with_an_offer_as_someone_who_could_take_it() -> None:
    router = any_router(mk_agent(1, skills={"b": 1}))
    router = add(router, mk_request("first", 2, arrival=0))
    router, _ = step(router, at(1))
    assert live(router) == {"first": [1]}
    router, events = step(router, at(10))
    assert of_type(events, RequestMoved) == [RequestMoved("r", 1, 2, 1)]


def test_any_overflow_with_nobody_anywhere_stays_and_retries_after_another_period() -> None:
    router = any_router(mk_agent(1, skills={"c": 1}, available=False))
    router, events = step(router, at(10))
    assert events == []
    request = router.find("r")
    assert request is not None
    assert (request.queue_id, request.moves, request.entered_at) == (1, 0, at(10))
    assert routing.next_deadline(router, at(10)) == at(20)
    router = update_agent(router, 1, available=True, idle_since=at(15))
    router, events = step(router, at(15))
    assert events == []  # not before the next period
    router, events = step(router, at(20))
    assert of_type(events, RequestMoved) == [RequestMoved("r", 1, 3, 1)]


def test_any_overflow_ignores_agents_cooling_down_on_the_request() -> None:
    router = any_router(mk_agent(1, skills={"a": 1, "c": 1}))
    router, _ = step(router, at(1))
    router, _ = routing.decline(router, "r.1", 1, at(9))
    # Follow the dispatcher's timer: 10 (overflow), 20 (overflow again), 29 (cooldown ends).
    for now in (10, 20):
        router, events = step(router, at(now))
        assert events == []  # agent 1 cools down until 29: nobody could take it elsewhere
        assert routing.next_deadline(router, at(now)) == at(now + 10 if now == 10 else 29)
    router, events = step(router, at(29))
    assert of_type(events, RequestMoved) == []
    assert live(router) == {"r": [1]}
    request = router.find("r")
    assert request is not None
    assert request.queue_id == 1


@pytest.mark.parametrize("target", [99, 1, None], ids=["deleted", "itself", "none"])
def test_queue_overflow_to_a_missing_target_stays_and_retries(target: int | None) -> None:
    router = mk_router([q(1, overflow=over(OverflowAction.QUEUE, 10, target)), q(2)])
    router = add(router, mk_request("a"))
    router, events = step(router, at(10))
    assert events == []
    request = router.find("a")
    assert request is not None
    assert (request.queue_id, request.moves, request.entered_at) == (1, 0, at(10))
    assert routing.next_deadline(router, at(10)) == at(20)


def test_overflow_into_a_manual_queue_waits_for_a_claim() -> None:
    router = mk_router(
        [q(1, skills={"x": 1}, overflow=over(OverflowAction.QUEUE, 10, 2)), q(2, Strategy.MANUAL)],
        [mk_agent(1)],
    )
    router, events = step(add(router, mk_request("a")), at(10))
    assert of_type(events, RequestMoved) == [RequestMoved("a", 1, 2, 1)]
    assert router.offers() == []
    router, events = routing.claim(router, "a", 1, at(11))
    assert of_type(events, RequestAccepted) == [RequestAccepted("a", 1, secs(11), 2)]


def test_moves_reorder_positions_by_service_order_in_the_new_queue() -> None:
    router = mk_router([q(1, skills={"x": 1}, overflow=over(OverflowAction.QUEUE, 10, 2)), q(2)])
    router = add(
        router, mk_request("a", 1), mk_request("b", 2, created=1), mk_request("c", 1, created=5)
    )
    router, events = step(router, at(10))
    assert events == [
        RequestMoved("a", 1, 2, 1),
        PositionChanged("a", 2, 1),
        PositionChanged("b", 2, 2),
        PositionChanged("c", 1, 1),
    ]
    router, events = step(router, at(15))
    assert events == [RequestMoved("c", 1, 2, 1), PositionChanged("c", 2, 3)]
    assert router.positions() == {"a": (2, 1), "b": (2, 2), "c": (2, 3)}


# Failover must never lose a request: Fastpath's check was inverted for years and ended requests
# past their overflow time instead of moving them. Whatever the overflow setup, the agents and the
# clock, a request ends only by an accept, a cancel, or the wait timeout.

OVERFLOW_SETUPS = {
    "stay": over(OverflowAction.STAY, 5, 2),
    "queue": over(OverflowAction.QUEUE, 5, 2),
    "queue-deleted": over(OverflowAction.QUEUE, 5, 99),
    "queue-self": over(OverflowAction.QUEUE, 5, 1),
    "queue-no-target": over(OverflowAction.QUEUE, 5, None),
    "queue-manual": over(OverflowAction.QUEUE, 5, 3),
    "queue-full": over(OverflowAction.QUEUE, 5, 4),
    "any": over(OverflowAction.ANY, 5),
    "no-time": over(OverflowAction.ANY, None),
}
AGENT_SETUPS = {
    "nobody": (),
    "unqualified": (mk_agent(1),),
    "qualified-busy": (mk_agent(1, skills={"x": 1}, active=3),),
    "backup-only": (mk_agent(1, skills={"y": 1}, available=False),),
}


def failover_router(overflow: Overflow, agents: Sequence[Agent], max_moves: int) -> Router:
    queues = [
        q(1, skills={"x": 1}, overflow=overflow),
        q(2, skills={"y": 1}, overflow=over(OverflowAction.QUEUE, 5, 1)),
        q(3, Strategy.MANUAL, skills={"z": 1}),
        q(4, skills={"x": 1}, max_length=0),
    ]
    policy = replace(POLICY, max_moves=max_moves)
    return add(mk_router(queues, agents, policy), mk_request("a"), mk_request("b", created=1))


@pytest.mark.parametrize("max_moves", [0, 1, 3])
@pytest.mark.parametrize("agents", list(AGENT_SETUPS), ids=str)
@pytest.mark.parametrize("setup", list(OVERFLOW_SETUPS), ids=str)
def test_a_request_past_its_overflow_time_is_moved_or_stays_never_ended(
    setup: str, agents: str, max_moves: int
) -> None:
    router = failover_router(OVERFLOW_SETUPS[setup], AGENT_SETUPS[agents], max_moves)
    now = T0
    while now < T0 + WAIT:
        router, events = step(router, now)
        assert of_type(events, RequestEnded) == [], (setup, agents, now)
        assert of_type(events, RequestAccepted) == []
        assert waiting(router) == ["a", "b"]
        assert all(r.moves <= max_moves for r in router.requests)
        deadline = routing.next_deadline(router, now)
        assert deadline is not None and deadline > now
        now = min(deadline, now + secs(7))
    router, events = step(router, T0 + WAIT)
    assert of_type(events, RequestEnded) == [RequestEnded("a", "expired")]
    router, events = step(router, T0 + WAIT + secs(1))
    assert of_type(events, RequestEnded) == [RequestEnded("b", "expired")]


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(
    actions=st.lists(st.sampled_from(list(OverflowAction)), min_size=3, max_size=3),
    targets=st.lists(st.sampled_from([1, 2, 3, 9, None]), min_size=3, max_size=3),
    afters=st.lists(st.sampled_from([None, 1, 5, 30]), min_size=3, max_size=3),
    skills=st.lists(st.sampled_from(["x", "y", ""]), min_size=3, max_size=3),
    agent_skills=st.sampled_from(["x", "y", "", "none"]),
    available=st.booleans(),
    ticks=st.lists(st.integers(1, 40), min_size=1, max_size=40),
)
def test_overflow_never_loses_a_request_whatever_the_setup(
    actions: list[OverflowAction],
    targets: list[int | None],
    afters: list[int | None],
    skills: list[str],
    agent_skills: str,
    available: bool,
    ticks: list[int],
) -> None:
    queues = [
        q(
            n + 1,
            skills={skills[n]: 1} if skills[n] else {},
            overflow=over(actions[n], afters[n], targets[n]),
        )
        for n in range(3)
    ]
    # The agent never answers: requests stay until they expire.
    agent = mk_agent(1, skills={agent_skills: 1}, available=available)
    router = add(
        mk_router(queues, [agent], replace(POLICY, max_missed=0)),
        mk_request("a", 1),
        mk_request("b", 2),
    )
    now = T0
    for seconds in ticks:
        now += secs(seconds)
        router, events = step(router, now)
        ended = of_type(events, RequestEnded)
        assert all(e.reason == "expired" for e in ended)
        assert now >= T0 + WAIT or not ended
        if now < T0 + WAIT:
            assert waiting(router) == ["a", "b"]
        for request in router.requests:
            assert request.moves <= POLICY.max_moves
            assert request.queue_id in router.queues


# expiry and cancel ----------------------------------------------------------------------------


def test_expiry_withdraws_offers_and_ends_expired() -> None:
    router = mk_router([q(1, Strategy.BROADCAST)], [mk_agent(1), mk_agent(2)])
    router = add(router, mk_request("a"), mk_request("b", created=1))
    router, _ = step(router, at(1))
    o1, o2 = router.offers()
    # Expiry comes before the overflow and the offer timeouts in the same tick.
    router, events = routing.tick(router, T0 + WAIT)
    assert events == [
        OfferEnded(o1, "withdrawn"),
        OfferEnded(o2, "withdrawn"),
        RequestEnded("a", "expired"),
        PositionChanged("b", 1, 1),
    ]
    assert routing.next_deadline(router, T0 + WAIT) == T0 + WAIT + secs(1)
    assert router.agents[1].missed == 0


def test_expiry_wins_over_overflow_in_the_same_tick() -> None:
    router = mk_router([q(1, overflow=over(OverflowAction.QUEUE, 600, 2)), q(2)])
    router, events = step(add(router, mk_request("a")), T0 + WAIT)
    assert events == [RequestEnded("a", "expired")]


def test_cancel_withdraws_every_offer() -> None:
    router = mk_router([q(1, Strategy.BROADCAST)], [mk_agent(1), mk_agent(2)])
    router = add(router, mk_request("a"), mk_request("b"))
    router, _ = step(router, at(1))
    o1, o2 = router.offers()
    router, events = routing.cancel(router, "a", at(2))
    assert events == [
        OfferEnded(o1, "withdrawn"),
        OfferEnded(o2, "withdrawn"),
        RequestEnded("a", "cancelled"),
        PositionChanged("b", 1, 1),
    ]
    router, _ = step(router, at(2))
    assert live(router) == {"b": [1, 2]}


def test_cancel_of_a_request_not_waiting_is_a_no_op() -> None:
    router = add(mk_router([q(1)]), mk_request("a"))
    assert routing.cancel(router, "zzz", at(1)) == (router, [])


# next_deadline and estimate_wait --------------------------------------------------------------


def test_next_deadline() -> None:
    router = mk_router([q(1, overflow=over(OverflowAction.ANY, 45)), q(2)], [mk_agent(1)])
    assert routing.next_deadline(router, T0) is None
    router = add(router, mk_request("a"))
    assert routing.next_deadline(router, T0) == at(45)  # overflow
    router, _ = step(router, at(1))
    assert routing.next_deadline(router, at(1)) == at(31)  # offer expiry; overflow waits
    router, _ = routing.decline(router, "a.1", 1, at(2))
    assert routing.next_deadline(router, at(2)) == at(22)  # cooldown end
    assert routing.next_deadline(router, at(22)) == at(45)  # a passed cooldown is no deadline


def test_estimate_wait() -> None:
    assert routing.estimate_wait([], 3) is None
    assert routing.estimate_wait([(secs(10), 0)], 3) is None
    samples = [(secs(60), 2), (secs(30), 1)]
    assert routing.estimate_wait(samples, 3) == secs(90)  # 3 * 90 / 3
    assert routing.estimate_wait(samples, 1) == secs(30)
    assert routing.estimate_wait([(secs(12), 1)] * 20, 1) == secs(12)
    assert routing.estimate_wait([(secs(40), 4), (secs(0), 1)], 2) == secs(16)
