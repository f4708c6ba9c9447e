"""A workgroup's queues: who gets offered which chat request, when, and what happens next.

The state is a ``Router``: the workgroup's ``Policy`` (timeouts and limits), its ``QueueSpec``s
(skills needed, strategy, overflow, maximum length), the waiting ``Request``s and the members as
``Agent``s. Requests are served by priority, then first come first served (``arrival``), across
all queues of the workgroup: an agent who frees up is offered the first waiting request they
can take.

An agent can take a request of a queue when they are available, under capacity, hold no other
offer (in this workgroup or another: ``offer_elsewhere``), have every skill the queue needs at
its level, and did not decline or miss this request less than ``decline_cooldown`` ago. Among
those agents, the queue's strategy picks whom to offer it to (``STRATEGIES``): the best agent
(fewest chats, then idle longest), round robin, everyone at once (broadcast: the first accept
wins, the other offers are withdrawn at once), or nobody (manual: agents ``claim`` requests).
A returning customer's last agent gets the first, exclusive offer for ``preferred_timeout``.

An offer is accepted, declined, or times out (which counts as a decline for the cooldown and,
``max_missed`` times in a row, sets the agent away). A request nobody accepted within its
queue's overflow time moves (at most ``max_moves`` times) to a backup queue or to any queue with
an agent who could take it; a request nobody accepted within the wait timeout expires.

Every function takes the state and ``now`` and returns ``(new state, events)``; nothing is
mutated. ``dispatch`` is the only function that makes offers; the services run ``tick`` and
``dispatch`` (one process at a time per workgroup) after every change and whenever
``next_deadline`` passes.

The waiting requests are kept as a ``Waiting``: the sequence in service order plus indexes in
persistent B+trees (``parley.domain.ptree``): each queue's requests, those without an offer
(the heads ``dispatch`` merges), transfers, creation times, first offer ends, offer holders, time
in queue for overflow, declines. A decision reads the few entries that concern it and returns a
new ``Waiting`` that shares all but O(log n) nodes with the old one, so both stay whole. The
functions decide exactly as the scanning code before the indexes did
(``tests/domain/reference_routing.py``, compared in ``test_domain_routing_differential.py``).
"""

from __future__ import annotations

import bisect
import heapq
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, cast, overload

from parley.domain.errors import Forbidden, NotFound, OfferGone, OverCapacity, Unavailable
from parley.domain.ptree import PMap

DEFAULT_OFFER_TIMEOUT = timedelta(seconds=30)
DEFAULT_WAIT_TIMEOUT = timedelta(minutes=5)
DEFAULT_DECLINE_COOLDOWN = timedelta(seconds=20)
DEFAULT_PREFERRED_TIMEOUT = timedelta(seconds=10)
DEFAULT_MAX_CHATS = 3
DEFAULT_MAX_MISSED = 3
MAX_MOVES = 3


class Strategy(StrEnum):
    BEST = "best"
    ROUND_ROBIN = "round_robin"
    BROADCAST = "broadcast"
    MANUAL = "manual"


class OverflowAction(StrEnum):
    STAY = "stay"
    QUEUE = "queue"  # to the named backup queue
    ANY = "any"  # to any other queue of the workgroup with an agent who could take it


@dataclass(frozen=True, slots=True)
class Overflow:
    action: OverflowAction = OverflowAction.STAY
    #: Time in a queue without an accept before the request moves; None: never.
    after: timedelta | None = None
    target: int | None = None


@dataclass(frozen=True, slots=True)
class QueueSpec:
    queue_id: int
    name: str = ""
    strategy: Strategy = Strategy.BEST
    #: Skill name -> minimum level an agent needs to be offered this queue's requests.
    skills: Mapping[str, int] = field(default_factory=dict)
    overflow: Overflow = Overflow()
    #: Requests waiting in this queue at most; a new one beyond it is refused (leave a message).
    max_length: int | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    offer_timeout: timedelta = DEFAULT_OFFER_TIMEOUT
    wait_timeout: timedelta = DEFAULT_WAIT_TIMEOUT
    decline_cooldown: timedelta = DEFAULT_DECLINE_COOLDOWN
    preferred_timeout: timedelta = DEFAULT_PREFERRED_TIMEOUT
    #: Offers an agent lets time out in a row before they are set away; 0: never.
    max_missed: int = DEFAULT_MAX_MISSED
    max_moves: int = MAX_MOVES


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    request_id: str
    agent_id: int
    offered_at: datetime
    expires_at: datetime
    #: One of several offers of a broadcast queue: the first accept withdraws the others.
    broadcast: bool = False
    #: The exclusive first offer to a returning customer's last agent.
    preferred: bool = False


@dataclass(frozen=True, slots=True)
class Transfer:
    """An agent hands a chat on: to one agent, or to whoever a queue's strategy picks.

    The sender stays in the chat until someone accepts; if nobody does (the named agent
    declines or lets the offer time out, or nobody accepts within the wait timeout), the
    request ends ``transfer_failed`` and the chat simply stays with the sender.
    """

    from_agent: int
    to_agent: int | None = None
    note: str = ""


@dataclass(frozen=True, slots=True)
class TransferPolicy:
    """A workgroup's rules for handing its chats on."""

    #: Allowed targets among "agent", "queue", "workgroup".
    targets: frozenset[str] = frozenset({"agent", "queue", "workgroup"})
    max_transfers: int = 3
    invitations: bool = True

    def check(self, target: str, transfers_so_far: int) -> None:
        if target not in self.targets:
            raise Forbidden(f"this workgroup does not allow transfers to a {target}")
        if transfers_so_far >= self.max_transfers:
            raise Forbidden(
                f"this chat was transferred {transfers_so_far} times, the most allowed here"
            )


@dataclass(frozen=True, slots=True)
class Request:
    request_id: str
    created_at: datetime
    queue_id: int
    #: Arrival order across the workgroup: first come, first served within a priority.
    arrival: int = 0
    priority: int = 0
    #: When the request entered its current queue (overflow is counted from there).
    entered_at: datetime | None = None
    moves: int = 0
    #: Agent -> when they last declined (or let time out) an offer of this request.
    declined: Mapping[int, datetime] = field(default_factory=dict)
    #: How many offers were made so far; offer ids are derived from it, so they are
    #: deterministic and never reused.
    offers_made: int = 0
    offers: tuple[Offer, ...] = ()
    preferred_agent: int | None = None
    transfer: Transfer | None = None

    @property
    def key(self) -> tuple[int, int]:
        """Service order: higher priority first, then earlier arrival."""
        return (-self.priority, self.arrival)

    @property
    def since(self) -> datetime:
        return self.created_at if self.entered_at is None else self.entered_at


@dataclass(frozen=True, slots=True)
class Agent:
    agent_id: int
    available: bool
    active_chats: int
    max_chats: int
    #: Since when the agent has had nothing new to do: the last accept, chat end or return
    #: to ``available``. The earliest wins a tie on load.
    idle_since: datetime
    #: Holding a pending offer from another workgroup: this one must not offer another.
    offer_elsewhere: bool = False
    skills: Mapping[str, int] = field(default_factory=dict)
    #: Offers let time out in a row (any response resets it).
    missed: int = 0

    def has_capacity(self) -> bool:
        return self.active_chats < self.max_chats

    def qualifies(self, spec: QueueSpec) -> bool:
        return all(self.skills.get(skill, 0) >= level for skill, level in spec.skills.items())


# The waiting requests and their indexes -------------------------------------------------------

#: A request's place in the service order: ``Request.key``, then when it entered the router
#: (so that equal keys keep their order), then its id (to find it from an index entry).
SortKey = tuple[int, int, int, str]

_EMPTY: PMap[Any, None] = PMap()


def _sort_key(request: Request, seq: int) -> SortKey:
    return (-request.priority, request.arrival, seq, request.request_id)


def _entries(request: Request, key: SortKey, max_moves: int) -> set[tuple[Hashable, Any]]:
    """The index entries of a waiting request: ``(index name, entry)``.

    - ``("queue", q)``: every request of queue q, by ``key`` (positions, lengths);
    - ``("offerable", q)``: those without a live offer and without a transfer (``dispatch``);
    - ``"transfers"``: transfers without a live offer (``dispatch``);
    - ``("overflow", q)``: without a live offer and still allowed to move, by when they entered
      the queue (overflow in ``tick``, ``next_deadline``);
    - ``"created"``: every request by creation (expiry);
    - ``"offered"``: requests with live offers, by their first offer's end (timeouts);
    - ``"holders"``: ``(agent, key)`` per live offer; ``"offer_ids"``: ``(offer id, key)``;
    - ``"declines"``: ``(when, key, agent)`` per decline (cooldowns ending, ``next_deadline``).
    """
    out: set[tuple[Hashable, Any]] = {(("queue", request.queue_id), key)}
    out.add(("created", (request.created_at, key)))
    if request.offers:
        out.add(("offered", (min(o.expires_at for o in request.offers), key)))
        out.update(("holders", (o.agent_id, key)) for o in request.offers)
        out.update(("offer_ids", (o.offer_id, key)) for o in request.offers)
    else:
        if request.transfer is None:
            out.add((("offerable", request.queue_id), key))
        else:
            out.add(("transfers", key))
        if request.moves < max_moves:
            out.add((("overflow", request.queue_id), (request.since, key)))
    out.update(("declines", (at, key, agent)) for agent, at in request.declined.items())
    return out


class Waiting(Sequence[Request]):
    """A workgroup's waiting requests in service order, with the indexes decisions look at.

    It is a read-only sequence (what ``Router.requests`` always is) and persistent: ``insert``,
    ``remove``, ``update`` and ``move`` return a new ``Waiting`` in O(log n) (``PMap``s share all
    but the changed paths) and leave this one as it was, so that a decision's ``before`` and
    ``after`` are both whole. ``max_moves`` is the policy's: a request that may not move any
    more is not indexed for overflow.
    """

    __slots__ = ("_ids", "_indexes", "_order", "_seq", "_tuple", "max_moves")

    def __init__(
        self,
        order: PMap[SortKey, Request],
        ids: PMap[str, SortKey],
        indexes: dict[Hashable, PMap[Any, None]],
        seq: int,
        max_moves: int,
    ) -> None:
        self._order = order
        self._ids = ids
        self._indexes = indexes
        self._seq = seq
        self.max_moves = max_moves
        self._tuple: tuple[Request, ...] | None = None

    @classmethod
    def of(cls, requests: Iterable[Request], max_moves: int) -> Waiting:
        """Index ``requests``, given in service order (equal keys keep the order given)."""
        pairs = sorted(
            ((_sort_key(r, seq), r) for seq, r in enumerate(requests)), key=lambda p: p[0]
        )
        ids: dict[str, SortKey] = {}
        # The entries of ``_entries``, gathered per index; those keyed by ``key`` alone come
        # in order already.
        groups: dict[Hashable, list[Any]] = {}
        for key, r in pairs:
            ids.setdefault(r.request_id, key)
            groups.setdefault(("queue", r.queue_id), []).append(key)
            groups.setdefault("created", []).append((r.created_at, key))
            if r.offers or r.declined:
                for name, entry in _entries(r, key, max_moves):
                    if not (name == "created" or name == ("queue", r.queue_id)):
                        groups.setdefault(name, []).append(entry)
                continue
            name = ("offerable", r.queue_id) if r.transfer is None else "transfers"
            groups.setdefault(name, []).append(key)
            if r.moves < max_moves:
                groups.setdefault(("overflow", r.queue_id), []).append((r.since, key))
        return cls(
            PMap.from_sorted(pairs),
            PMap.from_sorted(sorted(ids.items())),
            {n: PMap.from_sorted((e, None) for e in _in_order(n, g)) for n, g in groups.items()},
            len(pairs),
            max_moves,
        )

    # The sequence ------------------------------------------------------------------------------

    def as_tuple(self) -> tuple[Request, ...]:
        if self._tuple is None:
            self._tuple = tuple(self._order.values())
        return self._tuple

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Request]:
        return iter(self.as_tuple())

    @overload
    def __getitem__(self, index: int) -> Request: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Request]: ...

    def __getitem__(self, index: int | slice) -> Request | Sequence[Request]:
        if isinstance(index, slice):
            return self.as_tuple()[index]
        return self._order.at(index)[1]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sequence):
            return NotImplemented
        return self.as_tuple() == tuple(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Waiting({self.as_tuple()!r})"

    # Lookups -----------------------------------------------------------------------------------

    def get(self, request_id: str) -> Request | None:
        key = self._ids.get(request_id)
        return None if key is None else self._order.get(key)

    def key(self, request_id: str) -> SortKey | None:
        key: SortKey | None = self._ids.get(request_id)
        return key

    def at(self, key: SortKey) -> Request:
        request: Request = self._order.get(key)
        return request

    def indexed(self, name: Hashable) -> PMap[Any, None]:
        return self._indexes.get(name, _EMPTY)

    def length(self, queue_id: int) -> int:
        return len(self.indexed(("queue", queue_id)))

    def position(self, request_id: str) -> tuple[int, int] | None:
        """The request's queue and 1-based position in it."""
        key = self._ids.get(request_id)
        if key is None:
            return None
        queue_id = self._order.get(key).queue_id
        return queue_id, self.indexed(("queue", queue_id)).rank(key) + 1

    def diff(self, other: Waiting) -> tuple[dict[str, Request], dict[str, Request]]:
        """``(gone, changed)`` from this to ``other``: the requests, by id, that ``other`` no
        longer holds, and those it holds new or changed (moved included). O(changes x log n)
        when one was made from the other (``PMap.diff``): what a decision's ``before`` and
        ``after`` are, and a kept queue and the same queue refreshed."""
        here, there = self._order.diff(other._order)
        changed = {r.request_id: r for r in there.values()}
        gone = {r.request_id: r for r in here.values() if r.request_id not in changed}
        return gone, changed

    def refreshed(self, fresh: Mapping[str, Request | None]) -> Waiting:
        """With the requests of ``fresh`` as they are now: each id mapped to its request as it
        waits now, or to None when it no longer waits here. The ids not in ``fresh`` are taken
        as unchanged. O(len(fresh) x log n); the result holds what ``Waiting.of`` of the same
        requests would (a kept queue brought up to date equals the same queue loaded whole)."""
        waiting = self
        for request_id in sorted(fresh):
            old, new = waiting.get(request_id), fresh[request_id]
            if old is None:
                if new is not None:
                    waiting = waiting.insert(new)
            elif new is None:
                waiting = waiting.remove(old)
            elif new != old:
                waiting = waiting.update(old, new) if new.key == old.key else waiting.move(old, new)
        return waiting

    # Changes -----------------------------------------------------------------------------------

    def _with(
        self,
        order: PMap[SortKey, Request],
        ids: PMap[str, SortKey],
        gone: set[tuple[Hashable, Any]],
        new: set[tuple[Hashable, Any]],
        seq: int,
    ) -> Waiting:
        indexes = dict(self._indexes)
        for name, entry in gone - new:
            indexes[name] = indexes[name].delete(entry)
        for name, entry in new - gone:
            indexes[name] = indexes.get(name, _EMPTY).set(entry, None)
        return Waiting(order, ids, indexes, seq, self.max_moves)

    def insert(self, request: Request) -> Waiting:
        """With ``request`` behind every waiting request of its key or a better one."""
        key = _sort_key(request, self._seq)
        new = _entries(request, key, self.max_moves)
        order = self._order.set(key, request)
        return self._with(order, self._ids.set(request.request_id, key), set(), new, self._seq + 1)

    def remove(self, request: Request) -> Waiting:
        key = self._ids.get(request.request_id)
        if key is None:
            return self
        gone = _entries(self._order.get(key), key, self.max_moves)
        order = self._order.delete(key)
        return self._with(order, self._ids.delete(request.request_id), gone, set(), self._seq)

    def update(self, old: Request, new: Request) -> Waiting:
        """``new`` in ``old``'s place (same id, same place in the service order)."""
        key = self._ids.get(old.request_id)
        if key is None:
            return self
        before = _entries(self._order.get(key), key, self.max_moves)
        after = _entries(new, key, self.max_moves)
        return self._with(self._order.set(key, new), self._ids, before, after, self._seq)

    def move(self, old: Request, new: Request) -> Waiting:
        """``old`` out, ``new`` in as if it had just arrived (overflow to another queue)."""
        return self.remove(old).insert(new)


def _in_order(name: Hashable, entries: list[Any]) -> list[Any]:
    """An index's entries, gathered in service order, in the index's order without repeats."""
    if name == "transfers" or (isinstance(name, tuple) and name[0] in ("queue", "offerable")):
        return entries  # keyed by the sort key alone: in order already
    entries.sort()  # nearly in order (creation follows arrival): Timsort is about linear on it
    return [e for i, e in enumerate(entries) if i == 0 or e != entries[i - 1]]


def _first(index: PMap[Any, None], start: Any = None) -> Any:
    return index.ceiling(start)


@dataclass(frozen=True, slots=True)
class Router:
    policy: Policy
    queues: Mapping[int, QueueSpec]
    #: Waiting requests in service order (``Request.key``; equal keys in the order given). Any
    #: sequence in that order is taken; the router keeps it as a ``Waiting``, its indexes built.
    requests: Sequence[Request] = ()
    agents: Mapping[int, Agent] = field(default_factory=dict)
    #: Round robin: the agent each queue offered to last.
    last_offered: Mapping[int, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        requests = self.requests
        if not (isinstance(requests, Waiting) and requests.max_moves == self.policy.max_moves):
            object.__setattr__(self, "requests", Waiting.of(requests, self.policy.max_moves))

    @property
    def waiting(self) -> Waiting:
        return cast(Waiting, self.requests)

    def find(self, request_id: str) -> Request | None:
        return self.waiting.get(request_id)

    def offers(self) -> list[Offer]:
        """Every live offer, in service order."""
        waiting = self.waiting
        keys = sorted(key for _, key in waiting.indexed("offered"))
        return [o for key in keys for o in waiting.at(key).offers]

    def positions(self) -> dict[str, tuple[int, int]]:
        """Each waiting request's queue and 1-based position in it."""
        counts: dict[int, int] = {}
        out: dict[str, tuple[int, int]] = {}
        for r in self.requests:
            counts[r.queue_id] = counts.get(r.queue_id, 0) + 1
            out[r.request_id] = (r.queue_id, counts[r.queue_id])
        return out

    def position(self, request_id: str) -> tuple[int, int] | None:
        """One waiting request's queue and 1-based position in it: O(log n)."""
        return self.waiting.position(request_id)

    def length(self, queue_id: int) -> int:
        return self.waiting.length(queue_id)

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
    queue_id: int


@dataclass(frozen=True, slots=True)
class RequestAccepted:
    request_id: str
    agent_id: int
    waited: timedelta
    queue_id: int


@dataclass(frozen=True, slots=True)
class RequestEnded:
    """The request left the queue unanswered. ``reason``: cancelled or expired; for a transfer,
    transfer_failed or transfer_cancelled (the chat stays with the sender)."""

    request_id: str
    reason: str


@dataclass(frozen=True, slots=True)
class RequestMoved:
    """Overflow: nobody accepted in time, so the request went to another queue."""

    request_id: str
    from_queue: int
    to_queue: int
    moves: int


@dataclass(frozen=True, slots=True)
class PositionChanged:
    request_id: str
    queue_id: int
    position: int


@dataclass(frozen=True, slots=True)
class AgentSetAway:
    """The agent let ``missed`` offers in a row time out, and is no longer offered chats."""

    agent_id: int
    missed: int


RoutingEvent = (
    OfferMade
    | OfferEnded
    | RequestQueued
    | RequestAccepted
    | RequestEnded
    | RequestMoved
    | PositionChanged
    | AgentSetAway
)


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
    return (min(candidates, key=_load),)


def _load(agent: Agent) -> tuple[int, datetime, int]:
    """``best_agent``'s order: fewest current chats, then idle longest, then lowest id."""
    return (agent.active_chats, agent.idle_since, agent.agent_id)


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
    new = replace(router, requests=router.waiting.insert(request))
    events: list[RoutingEvent] = [RequestQueued(request.request_id, spec.queue_id)]
    return new, _with_positions(router, new, events, [request.request_id])


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
    queue's overflow time move. Each kind is handled in service order.

    Only what fell due is looked at: the first entries of the indexes by creation, by offer end
    and by time in queue, and the agents holding offers.
    """
    events: list[RoutingEvent] = []
    current = router
    policy = router.policy
    # Expiry first, then offers: an expired request's offers are withdrawn, not timed out.
    waiting = router.waiting
    expired = []
    for created_at, key in waiting.indexed("created"):
        if now < created_at + policy.wait_timeout:
            break
        expired.append(key)
    for key in sorted(expired):
        request = waiting.at(key)
        reason = "expired" if request.transfer is None else "transfer_failed"
        current, more = _remove(current, request.request_id, reason)
        events.extend(more)
    waiting = current.waiting
    due = []
    for first_end, key in waiting.indexed("offered"):
        if now < first_end:
            break
        due.append(key)
    for key in sorted(due):
        request = waiting.at(key)
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
    waiting = current.waiting
    gone = {k for a, k in waiting.indexed("holders") if not _still_available(current, a)}
    for key in sorted(gone):
        request = waiting.at(key)
        for offer in request.offers:
            if not _still_available(current, offer.agent_id):
                live = current.find(request.request_id)
                assert live is not None
                current = _without_offer(current, live, offer)
                events.append(OfferEnded(offer, "withdrawn"))
    moved_from = current
    waiting = moved_from.waiting
    due = []
    for queue_id, spec in moved_from.queues.items():
        overflow = spec.overflow
        if overflow.action is OverflowAction.STAY or overflow.after is None:
            continue
        for since, key in waiting.indexed(("overflow", queue_id)):
            if now < since + overflow.after:
                break
            due.append(key)
    moved: list[str] = []
    for key in sorted(due):
        current, more = _overflow(current, waiting.at(key).request_id, now)
        events.extend(more)
        moved += [e.request_id for e in more if isinstance(e, RequestMoved)]
    if moved:
        events = _with_positions(moved_from, current, events, moved)
    return current, events


def dispatch(router: Router, now: datetime) -> tuple[Router, list[RoutingEvent]]:
    """Offer every waiting request that can be offered, in service order.

    Only requests someone could be offered are looked at: the heads of the queues that have a
    free agent with their skills, merged in service order, and the transfers.
    """
    waiting = router.waiting
    holders = waiting.indexed("holders")
    free: dict[int, Agent] = {
        a.agent_id: a
        for a in sorted(
            (
                a
                for a in router.agents.values()
                if a.available and a.has_capacity() and not a.offer_elsewhere
            ),
            key=lambda a: a.agent_id,
        )
        if not _holds(holders, a.agent_id)
    }
    if not free:
        return router, []
    events: list[RoutingEvent] = []
    last_offered = dict(router.last_offered)
    # One stream of candidate requests per queue that offers (manual ones do not), and one of
    # the transfers (a named one is offered even in a manual queue), merged by service order.
    streams: list[tuple[QueueSpec | None, Iterator[SortKey]]] = [
        (spec, iter(waiting.indexed(("offerable", queue_id))))
        for queue_id, spec in router.queues.items()
        if spec.strategy is not Strategy.MANUAL
    ]
    streams.append((None, iter(waiting.indexed("transfers"))))
    heads = [(key, n) for n, (_, keys) in enumerate(streams) if (key := next(keys, None))]
    heapq.heapify(heads)
    #: Per queue, once looked at: its skilled agents (id order) and a heap of them by load
    #: (``best_agent``'s order). Both keep agents who took an offer since; ``free`` tells.
    skilled: dict[int, list[Agent]] = {}
    loads: dict[int, list[tuple[Any, int]]] = {}
    after = waiting
    while heads and free:
        key, n = heads[0]
        queue, keys = streams[n]
        request = waiting.at(key)
        chosen: tuple[Sequence[Agent], timedelta, bool] | None
        if queue is not None:
            spec = queue
            named = False
            if queue.queue_id not in skilled:
                skilled[queue.queue_id] = [a for a in free.values() if a.qualifies(queue)]
            if (
                STRATEGIES[queue.strategy] is best_agent
                and not request.declined
                and not _preferring(request, router, now)
            ):
                # The least loaded of the queue's free agents, from the heap: O(log) per offer.
                heap = loads.get(queue.queue_id)
                if heap is None:
                    heap = loads[queue.queue_id] = [
                        (_load(a), a.agent_id) for a in skilled[queue.queue_id]
                    ]
                    heapq.heapify(heap)
                while heap and heap[0][1] not in free:
                    heapq.heappop(heap)
                if not heap:
                    heapq.heappop(heads)  # agents only get fewer: nobody will take this queue's
                    continue
                chosen = (free[heap[0][1]],), router.policy.offer_timeout, False
            else:
                able = skilled[queue.queue_id] = [
                    a for a in skilled[queue.queue_id] if a.agent_id in free
                ]
                if not able:
                    heapq.heappop(heads)
                    continue
                if request.declined:
                    able = [a for a in able if not _cooling(router, a, request, now)]
                chosen = _choose(router, request, spec, able, named, last_offered, now)
        else:
            found = router.queues.get(request.queue_id)
            named = request.transfer is not None and request.transfer.to_agent is not None
            if found is None or (found.strategy is Strategy.MANUAL and not named):
                able = []
            else:
                able = [a for a in free.values() if router.can_take(a, request, now)]
            spec = found if found is not None else QueueSpec(request.queue_id)
            chosen = _choose(router, request, spec, able, named, last_offered, now)
        if chosen:
            agents, timeout, preferred = chosen
            made = tuple(
                Offer(
                    offer_id=f"{request.request_id}.{request.offers_made + n}",
                    request_id=request.request_id,
                    agent_id=agent.agent_id,
                    offered_at=now,
                    expires_at=now + timeout,
                    broadcast=spec.strategy is Strategy.BROADCAST and not preferred and not named,
                    preferred=preferred,
                )
                for n, agent in enumerate(agents, start=1)
            )
            offered = replace(request, offers=made, offers_made=request.offers_made + len(made))
            after = after.update(request, offered)
            events += [OfferMade(o) for o in made]
            last_offered[spec.queue_id] = agents[-1].agent_id
            for agent in agents:
                free.pop(agent.agent_id, None)
        following = next(keys, None)
        if following is None:
            heapq.heappop(heads)
        else:
            heapq.heapreplace(heads, (following, n))
    if not events:
        return router, []
    return replace(router, requests=after, last_offered=last_offered), events


def next_deadline(router: Router, now: datetime) -> datetime | None:
    """The earliest moment after ``now`` at which ``tick`` or ``dispatch`` may have work that
    no other change would trigger: expiries, offer timeouts, overflows, cooldowns ending."""
    policy = router.policy
    waiting = router.waiting
    deadlines: list[datetime] = []
    first = _first(waiting.indexed("created"))
    if first is not None:
        deadlines.append(first[0] + policy.wait_timeout)
    first = _first(waiting.indexed("offered"))
    if first is not None:
        deadlines.append(first[0])
    for queue_id, spec in router.queues.items():
        if spec.overflow.action is not OverflowAction.STAY and spec.overflow.after is not None:
            first = _first(waiting.indexed(("overflow", queue_id)))
            if first is not None:
                deadlines.append(first[0] + spec.overflow.after)
    try:
        start: tuple[datetime] | None = (now - policy.decline_cooldown,)
    except OverflowError:
        start = None
    for at, _, _ in waiting.indexed("declines").keys(start):
        if at + policy.decline_cooldown > now:
            deadlines.append(at + policy.decline_cooldown)
            break
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


def _holds(holders: PMap[Any, None], agent_id: int) -> bool:
    """Does ``agent_id`` hold a live offer (``holders``: ``(agent, key)`` entries)?"""
    entry = _first(holders, (agent_id,))
    return entry is not None and entry[0] == agent_id


def _cooling(router: Router, agent: Agent, request: Request, now: datetime) -> bool:
    declined = request.declined.get(agent.agent_id)
    return declined is not None and now < declined + router.policy.decline_cooldown


def _choose(
    router: Router,
    request: Request,
    spec: QueueSpec,
    able: list[Agent],
    named: bool,
    last_offered: dict[int, int],
    now: datetime,
) -> tuple[Sequence[Agent], timedelta, bool] | None:
    """Whom to offer ``request`` to among ``able`` (in id order), for how long, and whether it
    is the preferred agent's exclusive offer; None: nobody."""
    if not able:
        return None
    preferred = _preferred(able, request, router, now)
    if preferred is not None:
        return (preferred,), min(router.policy.offer_timeout, router.policy.preferred_timeout), True
    if named:
        return able, router.policy.offer_timeout, False  # only the named agent can take it
    view = replace(router, last_offered=last_offered)
    chosen = STRATEGIES[spec.strategy](able, request, spec, view)
    return (chosen, router.policy.offer_timeout, False) if chosen else None


def _replace(router: Router, old: Request, new: Request) -> Router:
    return replace(router, requests=router.waiting.update(old, new))


def _still_available(router: Router, agent_id: int) -> bool:
    agent = router.agents.get(agent_id)
    return agent is not None and agent.available


def _preferred(
    able: Sequence[Agent], request: Request, router: Router, now: datetime
) -> Agent | None:
    """The returning customer's last agent, while their window lasts and they can take it."""
    if not _preferring(request, router, now):
        return None
    return next((a for a in able if a.agent_id == request.preferred_agent), None)


def _preferring(request: Request, router: Router, now: datetime) -> bool:
    """Is ``request`` within its returning customer's last agent's exclusive window?"""
    if request.preferred_agent is None or request.offers_made > 0:
        return False
    return now < request.created_at + router.policy.preferred_timeout


def _live_offer(
    router: Router, offer_id: str, agent_id: int, now: datetime
) -> tuple[Request, Offer]:
    entry = _first(router.waiting.indexed("offer_ids"), (offer_id,))
    if entry is not None and entry[0] == offer_id:
        request = router.waiting.at(entry[1])
        offer = next(o for o in request.offers if o.offer_id == offer_id)
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
    new = replace(router, requests=router.waiting.remove(request), agents=agents)
    events: list[RoutingEvent] = []
    if accepted is not None:
        events.append(OfferEnded(accepted, "accepted"))
    events += [OfferEnded(o, "withdrawn") for o in request.offers if o is not accepted]
    events.append(
        RequestAccepted(request.request_id, agent_id, now - request.created_at, request.queue_id)
    )
    return new, _with_positions(router, new, events, [request.request_id])


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
    current = replace(router, requests=router.waiting.move(request, moved))
    return current, [RequestMoved(request_id, spec.queue_id, target, moved.moves)]


def _remove(router: Router, request_id: str, reason: str) -> tuple[Router, list[RoutingEvent]]:
    request = router.find(request_id)
    if request is None:
        return router, []
    events: list[RoutingEvent] = [OfferEnded(o, "withdrawn") for o in request.offers]
    events.append(RequestEnded(request_id, reason))
    new = replace(router, requests=router.waiting.remove(request))
    return new, _with_positions(router, new, events, [request_id])


def _with_positions(
    before: Router, after: Router, events: list[RoutingEvent], touched: Sequence[str]
) -> list[RoutingEvent]:
    """``events`` and a ``PositionChanged`` for each request whose queue or position differs
    between ``before`` and ``after``, in ``after``'s service order.

    ``touched`` are the requests that came, left or changed queue; nobody else changed place in
    the order. So only the queues they were or are in change, and in each only from the first
    of them on: that tail is walked, and the old position of anyone else in it is the new one
    less the touched who came before them there, plus those who left from before them.
    """
    old, new = before.waiting, after.waiting
    came: dict[int, list[SortKey]] = {}
    left: dict[int, list[SortKey]] = {}
    for request_id in touched:
        for waiting, where in ((old, left), (new, came)):
            key = waiting.key(request_id)
            if key is not None:
                where.setdefault(waiting.at(key).queue_id, []).append(key)
    changed: list[tuple[SortKey, int, int]] = []
    ids = set(touched)
    for queue_id in came.keys() | left.keys():
        came_here = sorted(came.get(queue_id, ()))
        left_here = sorted(left.get(queue_id, ()))
        start = min(came_here[:1] + left_here[:1])
        index = new.indexed(("queue", queue_id))
        position = index.rank(start)
        for key in index.keys(start):
            position += 1
            if key[3] in ids:
                was = old.position(key[3])
            else:
                shift = bisect.bisect_left(left_here, key) - bisect.bisect_left(came_here, key)
                was = (queue_id, position + shift)
            if was != (queue_id, position):
                changed.append((key, queue_id, position))
    changed.sort()
    events += [PositionChanged(key[3], queue_id, position) for key, queue_id, position in changed]
    return events
