"""A kept queue brought up to date (``Waiting.refreshed``) equals the same queue loaded whole,
and ``Waiting.diff`` finds exactly the requests that changed between two versions.

The zulip-style check of the dispatcher's incremental load, in the pure core: take a queue
(the stale copy), change it any way the database could (requests arrive, leave, are offered,
declined, moved to another queue or priority), hand ``refreshed`` each changed request as it is
now, and compare with ``Waiting.of`` the new requests: the same sequence, and the same answers
to every decision (``tick``, ``dispatch``, ``next_deadline``, positions). The services' half
(the change feed, on both databases) is ``tests/services/test_kept_queue.py``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import routing
from parley.domain.routing import (
    Agent,
    Offer,
    Policy,
    QueueSpec,
    Request,
    Router,
    Strategy,
    Waiting,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = {
    1: QueueSpec(1, "one", Strategy.BEST),
    2: QueueSpec(2, "two", Strategy.ROUND_ROBIN, {"x": 1}),
    3: QueueSpec(3, "three", Strategy.BROADCAST),
}
AGENTS = {
    i: Agent(i, i % 4 != 0, i % 3, 2, T0 - timedelta(seconds=i), skills={"x": i % 2})
    for i in range(1, 9)
}
POLICY = Policy(offer_timeout=timedelta(seconds=30), wait_timeout=timedelta(seconds=300))


def request(n: int, queue: int, priority: int) -> Request:
    return Request(
        f"r{n:03d}",
        T0 + timedelta(seconds=n),
        queue,
        arrival=n,
        priority=priority,
        entered_at=T0 + timedelta(seconds=n),
    )


def change(r: Request, kind: int, step: int) -> Request:
    """One change the database could hold for a waiting request."""
    at = T0 + timedelta(seconds=100 + step)
    agent = 1 + step % 8
    match kind:
        case 0:  # offered
            offer = Offer(
                f"{r.request_id}.{r.offers_made + 1}",
                r.request_id,
                agent,
                at,
                at + timedelta(seconds=30),
            )
            return replace(r, offers=(offer,), offers_made=r.offers_made + 1)
        case 1:  # declined, the offer gone
            return replace(r, offers=(), declined={**r.declined, agent: at})
        case 2:  # overflowed to another queue
            return replace(r, queue_id=1 + r.queue_id % 3, entered_at=at, moves=r.moves + 1)
        case 3:  # priority changed (its place in the order changes)
            return replace(r, priority=r.priority + 1)
        case _:  # a transfer to a named agent
            return replace(r, transfer=routing.Transfer(agent, 1 + (agent + 1) % 8, "note"))


ops = st.lists(
    st.tuples(st.sampled_from(["add", "remove", "change"]), st.integers(0, 199), st.integers(0, 4)),
    max_size=60,
)


def same_decisions(a: Router, b: Router, start: datetime = T0 + timedelta(seconds=120)) -> None:
    """The same router, and the same answer to every decision at a few moments from ``start``."""
    assert a == b
    assert a.positions() == b.positions()
    for later in (0, 20, 40, 400):
        now = start + timedelta(seconds=later)
        assert routing.next_deadline(a, now) == routing.next_deadline(b, now)
        ticked_a, events_a = routing.tick(a, now)
        ticked_b, events_b = routing.tick(b, now)
        assert events_a == events_b
        assert ticked_a == ticked_b
        assert routing.dispatch(ticked_a, now) == routing.dispatch(ticked_b, now)


@settings(max_examples=150, deadline=None, derandomize=True, database=None)
@given(st.integers(0, 150), ops)
def test_a_refreshed_queue_equals_the_queue_loaded_whole(
    size: int, steps: list[tuple[str, int, int]]
) -> None:
    start = {f"r{n:03d}": request(n, 1 + n % 3, n % 2) for n in range(0, 2 * size, 2)}
    stale = Waiting.of(sorted(start.values(), key=lambda r: r.key), POLICY.max_moves)
    now = dict(start)
    for step, (what, n, kind) in enumerate(steps):
        rid = f"r{n:03d}"
        if what == "add" and rid not in now:
            now[rid] = request(n, 1 + n % 3, kind % 2)
        elif what == "remove":
            now.pop(rid, None)
        elif what == "change" and rid in now:
            now[rid] = change(now[rid], kind, step)
    # What the change feed names: every id touched, and some untouched ones besides (the feed
    # may name a request whose change a later one undid).
    touched = {f"r{n:03d}" for _, n, _ in steps} | set(list(start)[:3])
    refreshed = stale.refreshed({rid: now.get(rid) for rid in touched})
    whole = Waiting.of(sorted(now.values(), key=lambda r: r.key), POLICY.max_moves)
    same_decisions(Router(POLICY, QUEUES, refreshed, AGENTS), Router(POLICY, QUEUES, whole, AGENTS))
    # And the diff of the two versions is what changed.
    gone, changed = stale.diff(refreshed)
    assert gone.keys() == start.keys() - now.keys()
    assert changed == {rid: r for rid, r in now.items() if start.get(rid) != r}
    assert list(changed.values()) == sorted(changed.values(), key=lambda r: r.key)
