"""The queue of a workgroup: agent selection and the offer state machine.

A chat request waits in a queue, first in first out. It is offered to one agent at a time:
an agent who is ``available``, under capacity, not already holding an offer (from any queue) and
who has not declined this request. The best agent is the one with the fewest current chats, then
the one idle longest (then the lowest id, so that the choice is deterministic).

An offer is accepted, declined, or times out after the offer timeout (which counts as a decline).
A request nobody accepts within the wait timeout expires; the visitor may cancel it at any time.

Every function takes the state and ``now`` and returns ``(new state, events)``; nothing is mutated.
``dispatch`` is the only function that makes offers: the services run it (in one process at a
time per workgroup) after every change and whenever ``next_deadline`` passes.

Routing rules, skills, strategies and failover (issue 4) slot in as: a queue per rule target,
an eligibility predicate over ``Agent`` (skills), and ``select`` becoming one strategy of several.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from parley.domain.errors import NotFound, OfferGone, OverCapacity

DEFAULT_OFFER_TIMEOUT = timedelta(seconds=30)
DEFAULT_WAIT_TIMEOUT = timedelta(minutes=5)
DEFAULT_MAX_CHATS = 3


@dataclass(frozen=True, slots=True)
class QueueConfig:
    offer_timeout: timedelta = DEFAULT_OFFER_TIMEOUT
    wait_timeout: timedelta = DEFAULT_WAIT_TIMEOUT


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    request_id: str
    agent_id: int
    offered_at: datetime
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    created_at: datetime
    declined_by: frozenset[int] = frozenset()
    #: How many offers were made so far; offer ids are derived from it, so they are
    #: deterministic and never reused.
    offers_made: int = 0
    offer: Offer | None = None


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: int
    available: bool
    active_chats: int
    max_chats: int
    #: Since when the agent has had nothing new to do: the last accept, chat end or return
    #: to ``available``. The earliest wins a tie on load.
    idle_since: datetime
    #: Holding a pending offer from another queue: this queue must not offer another.
    offer_elsewhere: bool = False

    def has_capacity(self) -> bool:
        return self.active_chats < self.max_chats


@dataclass(frozen=True, slots=True)
class Queue:
    config: QueueConfig
    #: Waiting requests, oldest first.
    requests: tuple[Request, ...] = ()
    agents: Mapping[int, Agent] = field(default_factory=dict)

    def find(self, request_id: str) -> Request | None:
        for request in self.requests:
            if request.request_id == request_id:
                return request
        return None

    def offers(self) -> list[Offer]:
        return [r.offer for r in self.requests if r.offer is not None]

    def positions(self) -> dict[str, int]:
        """1-based position of each waiting request."""
        return {r.request_id: i for i, r in enumerate(self.requests, start=1)}


# Events ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OfferMade:
    offer: Offer


@dataclass(frozen=True, slots=True)
class OfferEnded:
    """An offer is no longer live. ``reason``: declined, timed_out, accepted, withdrawn."""

    offer: Offer
    reason: str


@dataclass(frozen=True, slots=True)
class RequestQueued:
    request_id: str


@dataclass(frozen=True, slots=True)
class RequestAccepted:
    request_id: str
    agent_id: int
    waited: timedelta


@dataclass(frozen=True, slots=True)
class RequestEnded:
    """The request left the queue unanswered. ``reason``: cancelled or expired."""

    request_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class PositionChanged:
    request_id: str
    position: int


RoutingEvent = (
    OfferMade | OfferEnded | RequestQueued | RequestAccepted | RequestEnded | PositionChanged
)


# Commands -------------------------------------------------------------------------------------


def enqueue(queue: Queue, request_id: str, now: datetime) -> tuple[Queue, list[RoutingEvent]]:
    if queue.find(request_id) is not None:
        return queue, []
    new = replace(queue, requests=(*queue.requests, Request(request_id, now)))
    events: list[RoutingEvent] = [RequestQueued(request_id)]
    return new, _with_positions(queue, new, events)


def cancel(queue: Queue, request_id: str, now: datetime) -> tuple[Queue, list[RoutingEvent]]:
    return _remove(queue, request_id, "cancelled")


def accept(
    queue: Queue, offer_id: str, agent_id: int, now: datetime
) -> tuple[Queue, list[RoutingEvent]]:
    request, offer = _live_offer(queue, offer_id, agent_id, now)
    agent = queue.agents.get(agent_id)
    if agent is None:
        raise NotFound("agent is not a member of this workgroup")
    if not agent.has_capacity():
        raise OverCapacity(f"already in {agent.active_chats} chats, the maximum here")
    agents = dict(queue.agents)
    agents[agent_id] = replace(agent, active_chats=agent.active_chats + 1, idle_since=now)
    new = Queue(queue.config, tuple(r for r in queue.requests if r is not request), agents)
    events: list[RoutingEvent] = [
        OfferEnded(offer, "accepted"),
        RequestAccepted(request.request_id, agent_id, now - request.created_at),
    ]
    return new, _with_positions(queue, new, events)


def decline(
    queue: Queue, offer_id: str, agent_id: int, now: datetime
) -> tuple[Queue, list[RoutingEvent]]:
    request, offer = _live_offer(queue, offer_id, agent_id, now)
    return _drop_offer(queue, request, offer), [OfferEnded(offer, "declined")]


def tick(queue: Queue, now: datetime) -> tuple[Queue, list[RoutingEvent]]:
    """Apply every timeout that has passed at ``now``: offers time out, requests expire.

    Offers held by agents who are no longer available (away, busy, offline, removed from the
    workgroup) are withdrawn, so that the request does not wait out the offer timeout.
    """
    events: list[RoutingEvent] = []
    current = queue
    for request in queue.requests:
        offer = request.offer
        if now >= request.created_at + queue.config.wait_timeout:
            current, more = _remove(current, request.request_id, "expired")
            events.extend(more)
        elif offer is not None and now >= offer.expires_at:
            current = _drop_offer(current, request, offer)
            events.append(OfferEnded(offer, "timed_out"))
        elif offer is not None and not _still_available(queue, offer.agent_id):
            withdrawn = replace(request, offer=None)
            current = replace(
                current,
                requests=tuple(withdrawn if r is request else r for r in current.requests),
            )
            events.append(OfferEnded(offer, "withdrawn"))
    return current, events


def _still_available(queue: Queue, agent_id: int) -> bool:
    agent = queue.agents.get(agent_id)
    return agent is not None and agent.available


def dispatch(queue: Queue, now: datetime) -> tuple[Queue, list[RoutingEvent]]:
    """Offer every waiting request that can be offered, oldest first."""
    holding = {o.agent_id for o in queue.offers()}
    candidates = [
        a
        for a in queue.agents.values()
        if a.available and a.has_capacity() and not a.offer_elsewhere and a.agent_id not in holding
    ]
    if not candidates:
        return queue, []
    events: list[RoutingEvent] = []
    requests = list(queue.requests)
    for i, request in enumerate(requests):
        if request.offer is not None:
            continue
        agent = select(candidates, request)
        if agent is None:
            continue
        offer = Offer(
            offer_id=f"{request.request_id}.{request.offers_made + 1}",
            request_id=request.request_id,
            agent_id=agent.agent_id,
            offered_at=now,
            expires_at=now + queue.config.offer_timeout,
        )
        requests[i] = replace(request, offer=offer, offers_made=request.offers_made + 1)
        candidates.remove(agent)
        events.append(OfferMade(offer))
        if not candidates:
            break
    if not events:
        return queue, []
    return replace(queue, requests=tuple(requests)), events


def select(candidates: Iterable[Agent], request: Request) -> Agent | None:
    """The best agent: fewest current chats, then idle longest, then lowest id."""
    eligible = [a for a in candidates if a.agent_id not in request.declined_by]
    if not eligible:
        return None
    return min(eligible, key=lambda a: (a.active_chats, a.idle_since, a.agent_id))


def next_deadline(queue: Queue) -> datetime | None:
    """The earliest moment at which ``tick`` will have something to do."""
    deadlines = [r.created_at + queue.config.wait_timeout for r in queue.requests]
    deadlines += [o.expires_at for o in queue.offers()]
    return min(deadlines, default=None)


# Helpers --------------------------------------------------------------------------------------


def _live_offer(queue: Queue, offer_id: str, agent_id: int, now: datetime) -> tuple[Request, Offer]:
    for request in queue.requests:
        offer = request.offer
        if offer is not None and offer.offer_id == offer_id:
            if offer.agent_id != agent_id or now >= offer.expires_at:
                break
            return request, offer
    raise OfferGone("this offer is no longer open")


def _drop_offer(queue: Queue, request: Request, offer: Offer) -> Queue:
    declined = request.declined_by | {offer.agent_id}
    updated = replace(request, offer=None, declined_by=declined)
    return replace(queue, requests=tuple(updated if r is request else r for r in queue.requests))


def _remove(queue: Queue, request_id: str, reason: str) -> tuple[Queue, list[RoutingEvent]]:
    request = queue.find(request_id)
    if request is None:
        return queue, []
    events: list[RoutingEvent] = []
    if request.offer is not None:
        events.append(OfferEnded(request.offer, "withdrawn"))
    events.append(RequestEnded(request_id, reason))
    new = replace(queue, requests=tuple(r for r in queue.requests if r is not request))
    return new, _with_positions(queue, new, events)


def _with_positions(before: Queue, after: Queue, events: list[RoutingEvent]) -> list[RoutingEvent]:
    old = before.positions()
    for request_id, position in after.positions().items():
        if old.get(request_id) != position:
            events.append(PositionChanged(request_id, position))
    return events
