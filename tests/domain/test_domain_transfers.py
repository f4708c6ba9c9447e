"""Transfers in the routing core: to a named agent, to a queue; the sender is never offered
its own chat, a failed transfer ends ``transfer_failed`` (the chat stays with the sender)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import routing
from parley.domain.errors import Forbidden
from parley.domain.routing import (
    Agent,
    OfferEnded,
    OfferMade,
    Policy,
    QueueSpec,
    Request,
    RequestAccepted,
    RequestEnded,
    Router,
    Strategy,
    Transfer,
    TransferPolicy,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def agent(agent_id: int, *, chats: int = 0, idle: float = 0, **skills: int) -> Agent:
    return Agent(agent_id, True, chats, 3, at(-100 + idle), skills=skills)


def router(*agents: Agent, strategy: Strategy = Strategy.BEST) -> Router:
    queues = {
        1: QueueSpec(1, "default", strategy),
        2: QueueSpec(2, "billing", skills={"billing": 2}),
    }
    return Router(Policy(), queues, agents={a.agent_id: a for a in agents})


def transfer(r: Router, *, queue: int = 1, to: int | None = None, offers_made: int = 1) -> Router:
    request = Request(
        "c1",
        at(0),
        queue,
        arrival=1,
        offers_made=offers_made,
        transfer=Transfer(from_agent=1, to_agent=to, note="needs a refund"),
    )
    r, _ = routing.enqueue(r, request, at(0))
    return r


def offers(events: list[routing.RoutingEvent]) -> list[routing.Offer]:
    return [e.offer for e in events if isinstance(e, OfferMade)]


def test_the_sender_is_never_offered_its_own_transfer() -> None:
    # Agent 1 (the sender) is the least loaded and idle longest, yet agent 2 gets it.
    r = transfer(router(agent(1), agent(2, chats=2, idle=50)))
    _, events = routing.dispatch(r, at(0))
    assert [o.agent_id for o in offers(events)] == [2]
    # Offer ids go on from the original request's: never reused.
    assert offers(events)[0].offer_id == "c1.2"


def test_transfer_to_a_named_agent_reaches_only_them() -> None:
    r = transfer(router(agent(1), agent(2), agent(3, chats=1)), to=3)
    r, events = routing.dispatch(r, at(0))
    assert [o.agent_id for o in offers(events)] == [3]
    r, events = routing.accept(r, offers(events)[0].offer_id, 3, at(5))
    assert [type(e) for e in events] == [OfferEnded, RequestAccepted]


def test_named_agent_needs_no_skills_and_works_in_a_manual_queue() -> None:
    r = transfer(router(agent(1), agent(2), strategy=Strategy.MANUAL), to=2)
    _, events = routing.dispatch(r, at(0))
    assert [o.agent_id for o in offers(events)] == [2]
    r = transfer(router(agent(1), agent(2)), queue=2, to=2)  # billing needs a skill
    _, events = routing.dispatch(r, at(0))
    assert [o.agent_id for o in offers(events)] == [2]


@pytest.mark.parametrize("how", ["decline", "timeout"])
def test_a_named_agent_who_does_not_accept_fails_the_transfer_at_once(how: str) -> None:
    r = transfer(router(agent(1), agent(2)), to=2)
    r, events = routing.dispatch(r, at(0))
    offer = offers(events)[0]
    if how == "decline":
        r, events = routing.decline(r, offer.offer_id, 2, at(3))
    else:
        r, events = routing.tick(r, offer.expires_at)
    assert RequestEnded("c1", "transfer_failed") in events
    assert r.requests == ()


def test_transfer_to_a_queue_goes_on_after_a_decline_and_fails_at_the_wait_timeout() -> None:
    r = transfer(router(agent(1), agent(2), agent(3, chats=1)))
    r, events = routing.dispatch(r, at(0))
    assert [o.agent_id for o in offers(events)] == [2]
    r, events = routing.decline(r, offers(events)[0].offer_id, 2, at(1))
    assert not any(isinstance(e, RequestEnded) for e in events)
    r, events = routing.dispatch(r, at(1))
    assert [o.agent_id for o in offers(events)] == [3]
    r, events = routing.decline(r, offers(events)[0].offer_id, 3, at(2))
    r, events = routing.tick(r, at(0) + Policy().wait_timeout)
    assert RequestEnded("c1", "transfer_failed") in events


def test_transfer_to_a_skilled_queue_waits_for_a_skilled_agent() -> None:
    r = transfer(router(agent(1, billing=5), agent(2)), queue=2)
    r, events = routing.dispatch(r, at(0))
    assert events == []  # only the sender has the skill
    r = routing.Router(r.policy, r.queues, r.requests, {**r.agents, 3: agent(3, billing=2)})
    _, events = routing.dispatch(r, at(1))
    assert [o.agent_id for o in offers(events)] == [3]


def test_cancelling_a_transfer_is_not_a_visitor_cancel() -> None:
    r = transfer(router(agent(1), agent(2)))
    r, events = routing.dispatch(r, at(0))
    offer = offers(events)[0]
    r, events = routing.cancel(r, "c1", at(1))
    assert events[:2] == [OfferEnded(offer, "withdrawn"), RequestEnded("c1", "transfer_cancelled")]


def test_transfer_policy() -> None:
    policy = TransferPolicy(frozenset({"agent", "queue"}), max_transfers=2)
    policy.check("agent", 0)
    policy.check("queue", 1)
    with pytest.raises(Forbidden, match="workgroup"):
        policy.check("workgroup", 0)
    with pytest.raises(Forbidden, match="2 times"):
        policy.check("agent", 2)


def test_a_transfer_in_a_manual_queue_is_not_the_senders_to_claim() -> None:
    r = transfer(router(agent(1), agent(2), agent(3), strategy=Strategy.MANUAL))
    with pytest.raises(Forbidden):
        routing.claim(r, "c1", 1, at(1))
    _, events = routing.claim(r, "c1", 2, at(1))
    assert any(isinstance(e, RequestAccepted) for e in events)
    named = transfer(router(agent(1), agent(2), agent(3), strategy=Strategy.MANUAL), to=3)
    with pytest.raises(Forbidden):
        routing.claim(named, "c1", 2, at(1))


def test_a_named_transfer_in_a_broadcast_queue_is_one_plain_offer() -> None:
    r = transfer(router(agent(1), agent(2), agent(3), strategy=Strategy.BROADCAST), to=3)
    _, events = routing.dispatch(r, at(0))
    assert [(o.agent_id, o.broadcast) for o in offers(events)] == [(3, False)]
