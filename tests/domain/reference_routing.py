"""The routing core as it was before its indexes (issue 9): the oracle of the differential test.

A copy of ``parley.domain.routing``'s ``Router`` and functions at the commit before the indexed
core, unchanged but for imports: it shares the value classes and events with the real module, so
that the outcomes of the two compare with ``==``. It scans the whole queue for every decision.
``tests/domain/test_domain_routing_differential.py`` runs both on the same random operations.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from parley.domain.errors import Forbidden, NotFound, OfferGone, OverCapacity, Unavailable
from parley.domain.routing import (
    Agent,
    AgentSetAway,
    Offer,
    OfferEnded,
    OfferMade,
    OverflowAction,
    PositionChanged,
    QueueSpec,
    Request,
    RequestAccepted,
    RequestEnded,
    RequestMoved,
    RequestQueued,
    RoutingEvent,
    Strategy,
)
from parley.domain.routing import Policy as Policy


@dataclass(frozen=True, slots=True)
class Router:
    policy: Policy
    queues: Mapping[int, QueueSpec]
    #: Waiting requests in service order (``Request.key``).
    requests: tuple[Request, ...] = ()
    agents: Mapping[int, Agent] = field(default_factory=dict)
    #: Round robin: the agent each queue offered to last.
    last_offered: Mapping[int, int] = field(default_factory=dict)

    def find(self, request_id: str) -> Request | None:
        for request in self.requests:
            if request.request_id == request_id:
                return request
        return None

    def offers(self) -> list[Offer]:
        return [o for r in self.requests for o in r.offers]

    def positions(self) -> dict[str, tuple[int, int]]:
        """Each waiting request's queue and 1-based position in it."""
        counts: dict[int, int] = {}
        out: dict[str, tuple[int, int]] = {}
        for r in self.requests:
            counts[r.queue_id] = counts.get(r.queue_id, 0) + 1
            out[r.request_id] = (r.queue_id, counts[r.queue_id])
        return out

    def length(self, queue_id: int) -> int:
        return sum(1 for r in self.requests if r.queue_id == queue_id)

    def may_claim(self, agent: Agent, request: Request) -> bool:
        """May ``agent`` pick ``request`` from a manual queue (availability aside)?"""
        spec = self.queues.get(request.queue_id)
        transfer = request.transfer
        if transfer is not None:
            if agent.agent_id == transfer.from_agent:
                return False
            if transfer.to_agent is not None:
                return agent.agent_id == transfer.to_agent
        return spec is not None and agent.qualifies(spec)

    def can_take(self, agent: Agent, request: Request, now: datetime) -> bool:
        """May ``request`` be offered to ``agent`` now (ignoring offers they hold)?"""
        spec = self.queues.get(request.queue_id)
        if spec is None or not (agent.available and agent.has_capacity()):
            return False
        transfer = request.transfer
        if transfer is not None and (
            agent.agent_id == transfer.from_agent or transfer.to_agent not in (None, agent.agent_id)
        ):
            return False
        declined = request.declined.get(agent.agent_id)
        cooling = declined is not None and now < declined + self.policy.decline_cooldown
        # A transfer to a named agent skips the queue's skills: the sender chose them.
        named = transfer is not None and transfer.to_agent is not None
        return (named or agent.qualifies(spec)) and not cooling


# Strategies -----------------------------------------------------------------------------------

#: ``(agents who can take the request, the request, the queue, the router) -> agents to offer
#: it to``. Candidates come in ascending id order. Adding a strategy is adding a function here.
StrategyFn = Callable[[Sequence[Agent], Request, QueueSpec, Router], Sequence[Agent]]


def best_agent(
    candidates: Sequence[Agent], request: Request, spec: QueueSpec, router: Router
) -> Sequence[Agent]:
    """Fewest current chats, then idle longest, then lowest id."""
    if not candidates:
        return ()
    return (min(candidates, key=lambda a: (a.active_chats, a.idle_since, a.agent_id)),)


def round_robin(
    candidates: Sequence[Agent], request: Request, spec: QueueSpec, router: Router
) -> Sequence[Agent]:
    """The next agent by id after the one this queue offered to last, wrapping around."""
    if not candidates:
        return ()
    last = router.last_offered.get(spec.queue_id)
    if last is None:
        return (candidates[0],)
    ids = [a.agent_id for a in candidates]
    return (candidates[bisect.bisect_right(ids, last) % len(candidates)],)


def broadcast(
    candidates: Sequence[Agent], request: Request, spec: QueueSpec, router: Router
) -> Sequence[Agent]:
    """Everyone who can take it, at once."""
    return tuple(candidates)


def manual(
    candidates: Sequence[Agent], request: Request, spec: QueueSpec, router: Router
) -> Sequence[Agent]:
    """Nobody: agents see the waiting requests and ``claim`` one."""
    return ()


STRATEGIES: Mapping[Strategy, StrategyFn] = {
    Strategy.BEST: best_agent,
    Strategy.ROUND_ROBIN: round_robin,
    Strategy.BROADCAST: broadcast,
    Strategy.MANUAL: manual,
}


# Commands -------------------------------------------------------------------------------------


def enqueue(router: Router, request: Request, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    """Add a request to its queue; ``Unavailable`` when the queue is full."""
    if router.find(request.request_id) is not None:
        return router, []
    spec = router.queues.get(request.queue_id)
    if spec is None:
        raise NotFound(f"no queue {request.queue_id} in this workgroup")
    if spec.max_length is not None and router.length(spec.queue_id) >= spec.max_length:
        raise Unavailable(f"the queue {spec.name or spec.queue_id} is full", "queue_full")
    if request.entered_at is None:
        request = replace(request, entered_at=now)
    new = replace(router, requests=_insert(router.requests, request))
    return new, _with_positions(router, new, [RequestQueued(request.request_id, spec.queue_id)])


def cancel(router: Router, request_id: str, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    """The visitor gave up waiting; for a transfer, the sender (or the chat's end) called it
    off."""
    request = router.find(request_id)
    reason = "cancelled" if request is None or request.transfer is None else "transfer_cancelled"
    return _remove(router, request_id, reason)


def accept(
    router: Router, offer_id: str, agent_id: int, now: datetime
) -> tuple[Router, list[RoutingEvent]]:
    request, offer = _live_offer(router, offer_id, agent_id, now)
    return _assign(router, request, agent_id, now, accepted=offer)


def claim(
    router: Router, request_id: str, agent_id: int, now: datetime
) -> tuple[Router, list[RoutingEvent]]:
    """An agent takes a waiting request of a manual-pick queue."""
    request = router.find(request_id)
    agent = router.agents.get(agent_id)
    if request is None or agent is None:
        # Not a member of its workgroup: the same answer as for a request that is gone.
        raise OfferGone("this request is no longer waiting")
    spec = router.queues.get(request.queue_id)
    if spec is None or spec.strategy is not Strategy.MANUAL:
        raise Forbidden("requests of this queue are offered, not picked")
    if not router.may_claim(agent, request):
        raise Forbidden("this chat is not yours to take (skills, or a transfer to someone else)")
    if not agent.available:
        raise Forbidden("set yourself available to take chats")
    return _assign(router, request, agent_id, now, accepted=None)


def decline(
    router: Router, offer_id: str, agent_id: int, now: datetime
) -> tuple[Router, list[RoutingEvent]]:
    request, offer = _live_offer(router, offer_id, agent_id, now)
    agent = router.agents.get(agent_id)
    agents = router.agents
    if agent is not None and agent.missed:
        agents = {**router.agents, agent_id: replace(agent, missed=0)}
    current = replace(router, agents=agents)
    current = _end_offer(current, request, offer, now)
    events: list[RoutingEvent] = [OfferEnded(offer, "declined")]
    return _fail_named_transfer(current, request.request_id, events)


def tick(router: Router, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    """Apply every timeout that has passed at ``now``.

    Requests past the wait timeout expire. Offers past their time out (a decline for the
    cooldown; ``max_missed`` in a row set the agent away). Offers held by agents who are no
    longer available (away, busy, offline, removed from the workgroup) are withdrawn, so that
    the request does not wait out the offer timeout. Requests without an offer past their
    queue's overflow time move.
    """
    events: list[RoutingEvent] = []
    current = router
    # Expiry first, then offers: an expired request's offers are withdrawn, not timed out.
    for request in router.requests:
        if now >= request.created_at + router.policy.wait_timeout:
            reason = "expired" if request.transfer is None else "transfer_failed"
            current, more = _remove(current, request.request_id, reason)
            events.extend(more)
    for request in current.requests:
        for offer in request.offers:
            if now >= offer.expires_at:
                live = current.find(request.request_id)
                assert live is not None
                current = _end_offer(current, live, offer, now)
                events.append(OfferEnded(offer, "timed_out"))
                if not offer.preferred:
                    current, more = _missed(current, offer.agent_id)
                    events.extend(more)
                current, events = _fail_named_transfer(current, request.request_id, events)
    for request in current.requests:
        for offer in request.offers:
            if not _still_available(current, offer.agent_id):
                live = current.find(request.request_id)
                assert live is not None
                current = _without_offer(current, live, offer)
                events.append(OfferEnded(offer, "withdrawn"))
    moved_from = current
    for request in moved_from.requests:
        # Checked here first: ``_overflow`` looks the request up, which is linear.
        if _overflow_due(moved_from, request, now):
            current, more = _overflow(current, request.request_id, now)
            events.extend(more)
    if any(isinstance(e, RequestMoved) for e in events):
        events = _with_positions(moved_from, current, events)
    return current, events


def dispatch(router: Router, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    """Offer every waiting request that can be offered, in service order."""
    holding = {o.agent_id for o in router.offers()}
    candidates = sorted(
        (
            a
            for a in router.agents.values()
            if a.available
            and a.has_capacity()
            and not a.offer_elsewhere
            and a.agent_id not in holding
        ),
        key=lambda a: a.agent_id,
    )
    if not candidates:
        return router, []
    events: list[RoutingEvent] = []
    requests = list(router.requests)
    last_offered = dict(router.last_offered)
    for i, request in enumerate(requests):
        if request.offers:
            continue
        spec = router.queues.get(request.queue_id)
        named = request.transfer is not None and request.transfer.to_agent is not None
        if spec is None or (spec.strategy is Strategy.MANUAL and not named):
            continue
        able = [a for a in candidates if router.can_take(a, request, now)]
        if not able:
            continue
        preferred = _preferred(able, request, router, now)
        if preferred is not None:
            chosen: Sequence[Agent] = (preferred,)
            timeout = min(router.policy.offer_timeout, router.policy.preferred_timeout)
        elif named:
            chosen = able  # only the named agent can take it
            timeout = router.policy.offer_timeout
        else:
            view = replace(router, last_offered=last_offered)
            chosen = STRATEGIES[spec.strategy](able, request, spec, view)
            timeout = router.policy.offer_timeout
        if not chosen:
            continue
        made = tuple(
            Offer(
                offer_id=f"{request.request_id}.{request.offers_made + n}",
                request_id=request.request_id,
                agent_id=agent.agent_id,
                offered_at=now,
                expires_at=now + timeout,
                broadcast=spec.strategy is Strategy.BROADCAST and preferred is None and not named,
                preferred=preferred is not None,
            )
            for n, agent in enumerate(chosen, start=1)
        )
        requests[i] = replace(request, offers=made, offers_made=request.offers_made + len(made))
        events += [OfferMade(o) for o in made]
        last_offered[spec.queue_id] = chosen[-1].agent_id
        taken = {a.agent_id for a in chosen}
        candidates = [a for a in candidates if a.agent_id not in taken]
        if not candidates:
            break
    if not events:
        return router, []
    return replace(router, requests=tuple(requests), last_offered=last_offered), events


def next_deadline(router: Router, now: datetime) -> datetime | None:
    """The earliest moment after ``now`` at which ``tick`` or ``dispatch`` may have work that
    no other change would trigger: expiries, offer timeouts, overflows, cooldowns ending."""
    policy = router.policy
    deadlines: list[datetime] = []
    for r in router.requests:
        deadlines.append(r.created_at + policy.wait_timeout)
        deadlines += [o.expires_at for o in r.offers]
        spec = router.queues.get(r.queue_id)
        if (
            not r.offers
            and spec is not None
            and spec.overflow.action is not OverflowAction.STAY
            and spec.overflow.after is not None
            and r.moves < policy.max_moves
        ):
            deadlines.append(r.since + spec.overflow.after)
        deadlines += [
            at + policy.decline_cooldown
            for at in r.declined.values()
            if at + policy.decline_cooldown > now
        ]
    return min(deadlines, default=None)


def estimate_wait(samples: Sequence[tuple[timedelta, int]], position: int) -> timedelta | None:
    """The expected wait at ``position`` from a queue's recent answered requests.

    Each sample is ``(how long it waited, its position when it entered the queue)``. The
    estimate is ``position * sum(waited) / sum(entry positions)``: the recent time each place in the
    queue took to clear, times the places ahead (and including) this request. None until the
    queue has answered anyone.
    """
    places = sum(p for _, p in samples)
    if not samples or places <= 0:
        return None
    waited = sum((w for w, _ in samples), timedelta())
    return waited * position / places


# Helpers --------------------------------------------------------------------------------------


def _insert(requests: tuple[Request, ...], request: Request) -> tuple[Request, ...]:
    i = bisect.bisect_right([r.key for r in requests], request.key)
    return (*requests[:i], request, *requests[i:])


def _replace(router: Router, old: Request, new: Request) -> Router:
    return replace(router, requests=tuple(new if r is old else r for r in router.requests))


def _still_available(router: Router, agent_id: int) -> bool:
    agent = router.agents.get(agent_id)
    return agent is not None and agent.available


def _preferred(
    able: Sequence[Agent], request: Request, router: Router, now: datetime
) -> Agent | None:
    """The returning customer's last agent, while their window lasts and they can take it."""
    if request.preferred_agent is None or request.offers_made > 0:
        return None
    if now >= request.created_at + router.policy.preferred_timeout:
        return None
    return next((a for a in able if a.agent_id == request.preferred_agent), None)


def _live_offer(
    router: Router, offer_id: str, agent_id: int, now: datetime
) -> tuple[Request, Offer]:
    for request in router.requests:
        for offer in request.offers:
            if offer.offer_id == offer_id:
                if offer.agent_id != agent_id or now >= offer.expires_at:
                    raise OfferGone("this offer is no longer open")
                return request, offer
    raise OfferGone("this offer is no longer open")


def _assign(
    router: Router, request: Request, agent_id: int, now: datetime, *, accepted: Offer | None
) -> tuple[Router, list[RoutingEvent]]:
    agent = router.agents.get(agent_id)
    if agent is None:
        raise NotFound("agent is not a member of this workgroup")
    if not agent.has_capacity():
        raise OverCapacity(f"already in {agent.active_chats} chats, the maximum here")
    agents = dict(router.agents)
    agents[agent_id] = replace(agent, active_chats=agent.active_chats + 1, idle_since=now, missed=0)
    new = replace(
        router, requests=tuple(r for r in router.requests if r is not request), agents=agents
    )
    events: list[RoutingEvent] = []
    if accepted is not None:
        events.append(OfferEnded(accepted, "accepted"))
    events += [OfferEnded(o, "withdrawn") for o in request.offers if o is not accepted]
    events.append(
        RequestAccepted(request.request_id, agent_id, now - request.created_at, request.queue_id)
    )
    return new, _with_positions(router, new, events)


def _without_offer(router: Router, request: Request, offer: Offer) -> Router:
    updated = replace(request, offers=tuple(o for o in request.offers if o is not offer))
    return _replace(router, request, updated)


def _end_offer(router: Router, request: Request, offer: Offer, now: datetime) -> Router:
    """A declined or timed-out offer: the agent is not offered this request again for a while."""
    updated = replace(
        request,
        offers=tuple(o for o in request.offers if o is not offer),
        declined={**request.declined, offer.agent_id: now},
    )
    return _replace(router, request, updated)


def _fail_named_transfer(
    router: Router, request_id: str, events: list[RoutingEvent]
) -> tuple[Router, list[RoutingEvent]]:
    """A transfer to a named agent who declined or let it time out: nobody else may take it."""
    request = router.find(request_id)
    if request is None or request.transfer is None or request.transfer.to_agent is None:
        return router, events
    if request.offers:
        return router, events
    current, more = _remove(router, request_id, "transfer_failed")
    return current, [*events, *more]


def _missed(router: Router, agent_id: int) -> tuple[Router, list[RoutingEvent]]:
    agent = router.agents.get(agent_id)
    if agent is None:
        return router, []
    agent = replace(agent, missed=agent.missed + 1)
    events: list[RoutingEvent] = []
    if router.policy.max_missed and agent.missed >= router.policy.max_missed and agent.available:
        events.append(AgentSetAway(agent_id, agent.missed))
        agent = replace(agent, available=False, missed=0)
    return replace(router, agents={**router.agents, agent_id: agent}), events


def _overflow_due(router: Router, request: Request, now: datetime) -> bool:
    """Nobody accepted ``request`` within its queue's overflow time, and it may still move."""
    spec = router.queues.get(request.queue_id)
    if spec is None or request.offers or request.moves >= router.policy.max_moves:
        return False
    overflow = spec.overflow
    return (
        overflow.action is not OverflowAction.STAY
        and overflow.after is not None
        and now >= request.since + overflow.after
    )


def _overflow(router: Router, request_id: str, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    request = router.find(request_id)
    if request is None or not _overflow_due(router, request, now):
        return router, []
    spec = router.queues[request.queue_id]
    overflow = spec.overflow
    target: int | None = None
    if overflow.action is OverflowAction.QUEUE:
        if overflow.target in router.queues and overflow.target != spec.queue_id:
            target = overflow.target
    else:
        target = next(
            (
                q
                for q in router.queues
                if q != spec.queue_id
                and any(
                    router.can_take(a, replace(request, queue_id=q), now)
                    for a in router.agents.values()
                )
            ),
            None,
        )
    if target is None:
        # Nowhere to go now: try again after another overflow period.
        return _replace(router, request, replace(request, entered_at=now)), []
    moved = replace(request, queue_id=target, entered_at=now, moves=request.moves + 1)
    current = replace(
        router, requests=_insert(tuple(r for r in router.requests if r is not request), moved)
    )
    return current, [RequestMoved(request_id, spec.queue_id, target, moved.moves)]


def _remove(router: Router, request_id: str, reason: str) -> tuple[Router, list[RoutingEvent]]:
    request = router.find(request_id)
    if request is None:
        return router, []
    events: list[RoutingEvent] = [OfferEnded(o, "withdrawn") for o in request.offers]
    events.append(RequestEnded(request_id, reason))
    new = replace(router, requests=tuple(r for r in router.requests if r is not request))
    return new, _with_positions(router, new, events)


def _with_positions(
    before: Router, after: Router, events: list[RoutingEvent]
) -> list[RoutingEvent]:
    old = before.positions()
    for request_id, (queue_id, position) in after.positions().items():
        if old.get(request_id) != (queue_id, position):
            events.append(PositionChanged(request_id, queue_id, position))
    return events
