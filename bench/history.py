"""A workgroup's history, simulated and written to the database: what the reports are tested
and measured on (``tests/services/test_reports_differential.py``, ``bench/reports.py``).

``simulate`` drives the pure routing core the way ``bench/simulate.py`` does (Poisson
arrivals, customers who give up, requests that expire, offers agents let time out, agents
holding up to two chats), then decorates each chat: secret shoppers, transfers (some to
another workgroup), outcomes, returning customers (by verified identity, by typed email, or
anonymous), ratings, first responses, left messages, and each agent's presence day by day.
It is pure and seeded: the ``History`` it returns is the ground truth a test compares the
reports against. ``write`` inserts it, table by table, in bulk.
"""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parley.domain import routing
from parley.domain.routing import Agent, Policy, QueueSpec, Request, Router
from parley.storage.db import Database
from parley.storage.tables import (
    chat_requests,
    conversations,
    entries,
    left_messages,
    offers,
    participants,
    presence_periods,
    ratings,
    routing_events,
)

OFFER_TIMEOUT = timedelta(seconds=20)
WAIT_TIMEOUT = timedelta(seconds=120)


@dataclass
class Offered:
    offer_id: str
    request_id: str
    agent: int
    at: datetime
    expires_at: datetime
    status: str = "pending"
    ended_at: datetime | None = None


@dataclass
class Chat:
    """One customer chat, as it happened."""

    n: int
    id: str
    queue: int
    arrived: datetime
    #: accepted, cancelled, expired (how the first wait ended), and when.
    status: str = "waiting"
    wait_ended: datetime | None = None
    agent: int | None = None
    ended_at: datetime | None = None
    shopper: bool = False
    sub: str | None = None
    email: str | None = None
    outcome: str | None = None
    #: (when asked, when accepted, to agent, to workgroup: "same" or "other")
    transfer: tuple[datetime, datetime, int, str] | None = None
    first_response: datetime | None = None
    rating: tuple[int, datetime] | None = None
    left_message: datetime | None = None


@dataclass
class History:
    start: datetime
    days: int
    chats: list[Chat]
    offers: list[Offered]
    #: Left messages without a chat (the workgroup was closed): when.
    lone_messages: list[datetime]
    #: agent -> [(presence, start, end)] (the last one's end None: still).
    presence: dict[int, list[tuple[str, datetime, datetime | None]]]
    agents: list[int]
    queues: list[int]
    other_queue: int
    extra: dict[str, Any] = field(default_factory=dict)


def simulate(
    chats: int,
    *,
    days: int = 28,
    agents: Sequence[int] = (1, 2, 3, 4, 5, 6),
    queues: Sequence[int] = (1, 2),
    other_queue: int = 99,
    start: datetime = datetime(2026, 3, 2, tzinfo=UTC),
    seed: int = 1,
    handle_secs: float = 420.0,
) -> History:
    rng = random.Random(seed)
    horizon = days * 86400.0
    rate = chats / horizon
    router = Router(
        Policy(offer_timeout=OFFER_TIMEOUT, wait_timeout=WAIT_TIMEOUT, max_missed=0),
        {q: QueueSpec(q, f"q{q}") for q in queues},
        agents={a: Agent(a, True, 0, 2, start) for a in agents},
    )
    heap: list[tuple[float, int, str, int]] = []
    order = 0
    t = 0.0
    out: list[Chat] = []
    # Busy days, quiet nights (thinning: candidates at the peak rate, kept by the hour's).
    peak = 2.2 * rate
    for n in range(chats):
        while True:
            t += rng.expovariate(peak)
            hour = (t / 3600) % 24
            if rng.random() < (1.0 if 8 <= hour < 18 else 0.15):
                break
        at = start + timedelta(seconds=t)
        out.append(Chat(n, f"h{seed}x{n:08d}", rng.choice(list(queues)), at))
        heapq.heappush(heap, (t, order, "arrive", n))
        order += 1
        # Patience: most wait long enough, some give up quickly.
        if rng.random() < 0.7:  # the others wait until the request expires
            heapq.heappush(heap, (t + rng.expovariate(1 / 90), order, "hang up", n))
            order += 1
    made: dict[str, Offered] = {}
    ignore: set[str] = set()
    wakes: set[float] = set()
    by_id = {c.id: c for c in out}

    def ended(events: Iterable[routing.RoutingEvent], now: datetime) -> None:
        for e in events:
            if isinstance(e, routing.OfferEnded):
                o = made[e.offer.offer_id]
                o.status, o.ended_at = e.reason, now
            elif isinstance(e, routing.RequestEnded):
                c = by_id[e.request_id]
                c.status, c.wait_ended = e.reason, now

    def settle(now_s: float) -> None:
        nonlocal router, order
        now = start + timedelta(seconds=now_s)
        router, events = routing.tick(router, now)
        ended(events, now)
        while True:
            router, events = routing.dispatch(router, now)
            offers_now = [e.offer for e in events if isinstance(e, routing.OfferMade)]
            if not offers_now:
                break
            for o in offers_now:
                made[o.offer_id] = Offered(o.offer_id, o.request_id, o.agent_id, now, o.expires_at)
            for o in offers_now:
                if router.find(o.request_id) is None:
                    continue
                if rng.random() < 0.12:
                    ignore.add(o.offer_id)  # the agent lets it time out
                    continue
                router, events = routing.accept(router, o.offer_id, o.agent_id, now)
                ended(events, now)
                c = by_id[o.request_id]
                c.status, c.wait_ended, c.agent = "accepted", now, o.agent_id
                c.queue = next(e.queue_id for e in events if isinstance(e, routing.RequestAccepted))
                done = now_s + max(rng.expovariate(1 / handle_secs), 30.0)
                c.ended_at = start + timedelta(seconds=done)
                heapq.heappush(heap, (done, order, "done", o.agent_id))
                order += 1
        deadline = routing.next_deadline(router, now)
        if deadline is not None:
            at = (deadline - start).total_seconds()
            if at not in wakes:
                wakes.add(at)
                heapq.heappush(heap, (at, -1, "wake", 0))

    while heap:
        now_s, _, what, ident = heapq.heappop(heap)
        now = start + timedelta(seconds=now_s)
        if what == "arrive":
            c = out[ident]
            router, _ = routing.enqueue(router, Request(c.id, now, c.queue, arrival=ident), now)
        elif what == "hang up":
            c = out[ident]
            if router.find(c.id) is None:
                continue
            router, events = routing.cancel(router, c.id, now)
            ended(events, now)
        elif what == "done":
            a = router.agents[ident]
            router = Router(
                router.policy,
                router.queues,
                router.waiting,
                {**router.agents, ident: Agent(a.agent_id, True, a.active_chats - 1, 2, now)},
                router.last_offered,
            )
        else:
            wakes.discard(now_s)
        settle(now_s)
    for o in made.values():
        if o.status == "pending":  # the run ended with it live
            o.status, o.ended_at = "withdrawn", o.expires_at
    _decorate(out, rng, list(agents))
    lone = sorted(
        start + timedelta(seconds=rng.uniform(0, horizon)) for _ in range(max(chats // 40, 1))
    )
    return History(
        start,
        days,
        out,
        list(made.values()),
        lone,
        _presence(rng, list(agents), start, days),
        list(agents),
        list(queues),
        other_queue,
    )


def _decorate(chats: list[Chat], rng: random.Random, agents: list[int]) -> None:
    customers = max(len(chats) // 3, 1)
    recent: list[tuple[str | None, str | None]] = []
    for c in chats:
        c.shopper = rng.random() < 0.04
        if recent and rng.random() < 0.15:
            c.sub, c.email = rng.choice(recent[-50:])  # back soon
        else:
            k = rng.randrange(customers)
            kind = k % 5
            c.sub = f"cust-{k}" if kind < 2 else None
            c.email = f"Cust{k}@Example.com" if kind in (1, 2, 3) else None
        recent.append((c.sub, c.email))
        if c.status == "cancelled" or c.status == "expired":
            c.ended_at = c.wait_ended
            if c.status == "expired" and rng.random() < 0.4:
                assert c.wait_ended is not None
                c.left_message = c.wait_ended + timedelta(seconds=20)
            continue
        if c.status != "accepted":
            c.status, c.wait_ended, c.ended_at = "cancelled", c.arrived, c.arrived
            continue
        assert c.wait_ended is not None and c.ended_at is not None and c.agent is not None
        length = (c.ended_at - c.wait_ended).total_seconds()
        if rng.random() < 0.85:
            c.first_response = c.wait_ended + timedelta(seconds=min(rng.uniform(2, 40), length))
        if rng.random() < 0.1 and length > 60:
            asked = c.wait_ended + timedelta(seconds=length * 0.4)
            took = asked + timedelta(seconds=rng.uniform(3, 25))
            other = [a for a in agents if a != c.agent]
            c.transfer = (asked, took, rng.choice(other), "other" if rng.random() < 0.3 else "same")
        c.outcome = rng.choices(
            ["resolved", "escalated", "follow_up", None], weights=[70, 8, 12, 10]
        )[0]
        if rng.random() < 0.35:
            c.rating = (
                rng.choices([1, 2, 3, 4, 5], weights=[5, 5, 15, 35, 40])[0],
                c.ended_at + timedelta(seconds=rng.uniform(5, 120)),
            )


def _presence(
    rng: random.Random, agents: list[int], start: datetime, days: int
) -> dict[int, list[tuple[str, datetime, datetime | None]]]:
    """Each agent's day: offline, available from a shift start, breaks away or busy."""
    out: dict[int, list[tuple[str, datetime, datetime | None]]] = {}
    for a in agents:
        spans: list[tuple[str, datetime, datetime | None]] = []
        at = start
        state = "offline"
        for day in range(days + 1):
            base = start + timedelta(days=day)
            for hour, nxt in ((rng.uniform(6, 10), "available"), (rng.uniform(11, 13), "away")):
                change = base + timedelta(hours=hour)
                if change > at:
                    spans.append((state, at, change))
                    at, state = change, nxt
            for hour, nxt in (
                (rng.uniform(13, 14), "available"),
                (rng.uniform(15, 16), "busy"),
                (rng.uniform(16, 17), "available"),
                (rng.uniform(18, 20), "offline"),
            ):
                change = base + timedelta(hours=hour)
                if change > at:
                    spans.append((state, at, change))
                    at, state = change, nxt
        spans.append((state, at, None))
        out[a] = spans
    return out


# Writing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ids:
    """Where the history goes: the workgroup, the other workgroup transfers may go to, the
    real ids of the simulated agents and queues."""

    workgroup: int
    other_workgroup: int
    agents: dict[int, int]
    queues: dict[int, int]


async def write(db: Database, history: History, ids: Ids, *, batch: int = 5000) -> None:
    rows: dict[str, list[dict[str, Any]]] = {
        name: []
        for name in (
            "conversations",
            "chat_requests",
            "participants",
            "entries",
            "offers",
            "routing_events",
            "left_messages",
            "ratings",
        )
    }
    agent = ids.agents
    for c in history.chats:
        _rows_of(c, history, ids, rows)
    for o in history.offers:
        rows["offers"].append(
            {
                "offer_id": f"{o.offer_id}-{o.request_id}",
                "request_id": o.request_id,
                "workgroup_id": ids.workgroup,
                "agent_id": agent[o.agent],
                "status": o.status,
                "offered_at": o.at,
                "expires_at": o.expires_at,
                "ended_at": o.ended_at,
                "broadcast": False,
                "preferred": False,
            }
        )
    for n, at in enumerate(history.lone_messages):
        rows["left_messages"].append(_left(ids.workgroup, None, at, f"lone{n}"))
    tables = {
        "conversations": conversations,
        "chat_requests": chat_requests,
        "participants": participants,
        "entries": entries,
        "offers": offers,
        "routing_events": routing_events,
        "left_messages": left_messages,
        "ratings": ratings,
    }
    for name, table in tables.items():
        data = rows[name]
        for i in range(0, len(data), batch):
            async with db.write() as tx:
                await tx.conn.execute(sa.insert(table), data[i : i + batch])
    periods = [
        {"user_id": agent[a], "presence": p, "started_at": s, "ended_at": e}
        for a, spans in history.presence.items()
        for p, s, e in spans
    ]
    async with db.write() as tx:
        # The real agents' rows (from their accounts) give way to the simulated days.
        await tx.conn.execute(
            sa.delete(presence_periods).where(presence_periods.c.user_id.in_(list(agent.values())))
        )
        for i in range(0, len(periods), batch):
            await tx.conn.execute(sa.insert(presence_periods), periods[i : i + batch])


def _left(workgroup: int, conversation_id: str | None, at: datetime, tag: str) -> dict[str, Any]:
    return {
        "public_id": f"{tag:0>32}"[-32:],
        "workgroup_id": workgroup,
        "conversation_id": conversation_id,
        "name": "Zoe",
        "email": "zoe@example.com",
        "message": "call me back",
        "page": "",
        "created_at": at,
        "status": "new",
        "email_attempts": 0,
    }


def _rows_of(c: Chat, h: History, ids: Ids, rows: dict[str, list[dict[str, Any]]]) -> None:
    agent = ids.agents
    queue = ids.queues[c.queue]
    final_wg = ids.workgroup
    if c.transfer is not None and c.transfer[3] == "other":
        final_wg = ids.other_workgroup
    assert c.ended_at is not None and c.wait_ended is not None
    rows["conversations"].append(
        {
            "id": c.id,
            "kind": "customer_chat",
            "status": "ended",
            "workgroup_id": final_wg,
            "last_seq": 2,
            "metadata": {"name": "Zoe"},
            "created_at": c.arrived,
            "ended_at": c.ended_at,
            "end_reason": "visitor",
            "outcome": c.outcome,
            "customer_sub": c.sub,
            "customer_email": c.email,
            "shopper": c.shopper,
        }
    )
    request: dict[str, Any] = {
        "conversation_id": c.id,
        "workgroup_id": ids.workgroup,
        "status": c.status,
        "created_at": c.arrived,
        "ended_at": c.wait_ended,
        "declined_by": {},
        "offers_made": 1,
        "agent_id": None if c.agent is None else agent[c.agent],
        "queue_id": queue,
        "first_workgroup_id": None,
        "first_queue_id": None,
        "first_created_at": None,
        "first_ended_at": None,
        "first_agent_id": None,
    }
    if c.status != "accepted":
        rows["chat_requests"].append(request)
        if c.left_message is not None:
            rows["left_messages"].append(_left(ids.workgroup, c.id, c.left_message, c.id))
        return
    assert c.agent is not None
    last_agent = c.agent
    first_left: datetime | None = None
    if c.transfer is not None:
        asked, took, to, where = c.transfer
        last_agent = to
        first_left = took
        request.update(
            first_workgroup_id=ids.workgroup,
            first_queue_id=queue,
            first_created_at=c.arrived,
            first_ended_at=c.wait_ended,
            first_agent_id=agent[c.agent],
            workgroup_id=final_wg,
            queue_id=ids.queues[h.other_queue] if where == "other" else queue,
            created_at=asked,
            ended_at=took,
            agent_id=agent[to],
        )
        base = {
            "conversation_id": c.id,
            "actor_id": agent[to],
            "agent_id": agent[c.agent],
            "from_workgroup_id": ids.workgroup,
            "to_workgroup_id": final_wg,
            "to_queue_id": request["queue_id"],
        }
        rows["routing_events"].append({**base, "kind": "transfer_requested", "at": asked})
        rows["routing_events"].append({**base, "kind": "transfer_accepted", "at": took})
        rows["participants"].append(
            {
                "conversation_id": c.id,
                "key": f"user:{agent[to]}",
                "role": "agent",
                "user_id": agent[to],
                "display_name": f"A{to}",
                "joined_at": took,
                "left_at": None,
            }
        )
    rows["chat_requests"].append(request)
    rows["participants"].append(
        {
            "conversation_id": c.id,
            "key": f"user:{agent[c.agent]}",
            "role": "agent",
            "user_id": agent[c.agent],
            "display_name": f"A{c.agent}",
            "joined_at": c.wait_ended,
            "left_at": first_left,
        }
    )
    rows["entries"].append(
        {
            "conversation_id": c.id,
            "seq": 1,
            "kind": "message",
            "author": "visitor",
            "body": {"text": "hello"},
            "created_at": c.arrived,
        }
    )
    if c.first_response is not None:
        rows["entries"].append(
            {
                "conversation_id": c.id,
                "seq": 2,
                "kind": "message",
                "author": f"user:{agent[c.agent]}",
                "body": {"text": "hi"},
                "created_at": c.first_response,
            }
        )
    if c.rating is not None:
        score, at = c.rating
        rows["ratings"].append(
            {
                "conversation_id": c.id,
                "agent_id": agent[last_agent],
                "workgroup_id": final_wg,
                "score": score,
                "comment": "",
                "created_at": at,
            }
        )
