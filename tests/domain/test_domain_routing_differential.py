"""The indexed routing core decides exactly as the scanning one it replaced (issue 9).

``reference_routing`` is the core as it was before its indexes: it scans every waiting request
for each decision. A Hypothesis state machine drives both with the same random operations, at
the same ``now``: requests (any queue, priority, arrival (ties too), returning customers,
transfers named or not, from members or outsiders), cancels, accepts and declines of live offers
and of made-up ones, claims, ``tick`` and ``dispatch`` apart and together, time passing, agents
changing (presence, load, skills, capacity, an offer elsewhere, leaving the workgroup), queues
changing (strategy, skills, overflow, length), the policy changing, and a router rebuilt from its
own requests as ``load_router`` builds one. After each operation the two must have answered the
same (the same events in the same order, or the same error with the same message) and hold the
same state: requests in the same order, agents, round robin, positions, offers, lengths and the
next deadline.

The machine deliberately makes states the services never would (a request in a deleted queue,
outsiders' transfers, an agent over capacity), so that the two are compared off the happy path
too.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

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
from tests.domain import reference_routing as reference

from parley.domain import routing
from parley.domain.errors import DomainError
from parley.domain.routing import (
    Agent,
    Overflow,
    OverflowAction,
    Policy,
    QueueSpec,
    Request,
    Strategy,
    Transfer,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
AGENT_IDS = (1, 2, 3, 4, 5)
QUEUE_IDS = (1, 2, 3)
SKILLS = ("billing", "de", "tech")
#: A queue no spec has (a deleted one) and a sender who is no member (another workgroup's).
GONE_QUEUE = 9
OUTSIDER = 9


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)


skills = st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 2), max_size=2)


@st.composite
def queue_specs(draw: st.DrawFn, queue_id: int) -> QueueSpec:
    after = draw(st.sampled_from([None, 5, 10, 25]))
    return QueueSpec(
        queue_id,
        name=f"q{queue_id}",
        strategy=draw(st.sampled_from(list(Strategy))),
        skills=draw(skills),
        overflow=Overflow(
            draw(st.sampled_from(list(OverflowAction))),
            None if after is None else secs(after),
            draw(st.sampled_from([*QUEUE_IDS, GONE_QUEUE])),
        ),
        max_length=draw(st.sampled_from([None, None, None, 3, 6])),
    )


policies = st.builds(
    Policy,
    offer_timeout=st.sampled_from([secs(10), secs(30)]),
    wait_timeout=st.sampled_from([secs(60), secs(120), secs(300)]),
    decline_cooldown=st.sampled_from([secs(0), secs(15)]),
    preferred_timeout=st.sampled_from([secs(5), secs(40)]),
    max_missed=st.integers(0, 2),
    max_moves=st.integers(0, 3),
)


@st.composite
def agents(draw: st.DrawFn, agent_id: int) -> Agent:
    return Agent(
        agent_id,
        available=draw(st.sampled_from([True, True, True, False])),
        active_chats=draw(st.integers(0, 2)),
        max_chats=draw(st.sampled_from([0, 1, 2, 3, 3])),
        idle_since=T0 - secs(draw(st.integers(0, 3)) * 60),
        offer_elsewhere=draw(st.sampled_from([False, False, False, True])),
        skills=draw(
            st.dictionaries(st.sampled_from(SKILLS), st.integers(1, 2), min_size=1, max_size=3)
        ),
        missed=draw(st.integers(0, 1)),
    )


def outcome(call: Any) -> tuple[str, Any, Any]:
    """What a command answered: ("ok", router, events) or ("error", type and message, None)."""
    try:
        router, events = call()
    except DomainError as exc:
        return "error", (type(exc).__name__, str(exc), getattr(exc, "code", None)), None
    return "ok", router, events


class Differential(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.counter = 0
        self.new = routing.Router(Policy(), {1: QueueSpec(1)})
        self.old = reference.Router(Policy(), {1: QueueSpec(1)})

    @initialize(
        policy=policies,
        specs=st.tuples(*(queue_specs(q) for q in QUEUE_IDS)),
        members=st.tuples(*(agents(a) for a in AGENT_IDS)),
        count=st.integers(1, 3),
    )
    def setup(
        self, policy: Policy, specs: tuple[QueueSpec, ...], members: tuple[Agent, ...], count: int
    ) -> None:
        queues = {s.queue_id: s for s in specs[:count]}
        team = {a.agent_id: a for a in members}
        self.new = routing.Router(policy, queues, (), team)
        self.old = reference.Router(policy, queues, (), team)

    # Helpers -----------------------------------------------------------------------------------

    def both(self, new_call: Any, old_call: Any) -> None:
        got, want = outcome(new_call), outcome(old_call)
        assert got[0] == want[0], (got, want)
        if got[0] == "error":
            assert got[1] == want[1]
            return
        assert got[2] == want[2], f"events differ:\n new {got[2]}\n old {want[2]}"
        self.new, self.old = got[1], want[1]

    def request_ids(self) -> list[str]:
        return [r.request_id for r in self.old.requests]

    # Requests ----------------------------------------------------------------------------------

    @rule(
        queue_id=st.sampled_from([*QUEUE_IDS, GONE_QUEUE]),
        priority=st.sampled_from([0, 0, 0, 1, 5]),
        arrival=st.one_of(st.none(), st.integers(0, 4)),
        preferred=st.sampled_from([None, None, 1, 2, 3]),
        transfer=st.one_of(
            st.none(),
            st.none(),
            st.builds(
                Transfer,
                st.sampled_from([*AGENT_IDS, OUTSIDER]),
                st.sampled_from([None, None, *AGENT_IDS]),
                st.just("note"),
            ),
        ),
        offers_made=st.sampled_from([0, 0, 2]),
        age=st.sampled_from([0, 0, 30, 200]),
        entered=st.booleans(),
    )
    def enqueue(
        self,
        queue_id: int,
        priority: int,
        arrival: int | None,
        preferred: int | None,
        transfer: Transfer | None,
        offers_made: int,
        age: int,
        entered: bool,
    ) -> None:
        self.counter += 1
        request = Request(
            # Random-looking, as conversation ids are: their order is not the arrival order.
            f"c{self.counter * 7919 % 1009:04d}-{self.counter}",
            self.now - secs(age),
            queue_id,
            # Mostly in arrival order, as the services number them; sometimes a tie or earlier.
            arrival=self.counter * 10 if arrival is None else arrival * 10,
            priority=priority,
            entered_at=self.now if entered else None,
            offers_made=offers_made,
            preferred_agent=preferred,
            transfer=transfer,
        )
        self.both(
            lambda: routing.enqueue(self.new, request, self.now),
            lambda: reference.enqueue(self.old, request, self.now),
        )

    @precondition(lambda self: bool(self.old.requests))
    @rule(index=st.integers(0, 50))
    def enqueue_again(self, index: int) -> None:
        request = self.old.requests[index % len(self.old.requests)]
        self.both(
            lambda: routing.enqueue(self.new, request, self.now),
            lambda: reference.enqueue(self.old, request, self.now),
        )

    @rule(index=st.integers(0, 50), made_up=st.booleans())
    def cancel(self, index: int, made_up: bool) -> None:
        ids = self.request_ids()
        request_id = "nobody" if made_up or not ids else ids[index % len(ids)]
        self.both(
            lambda: routing.cancel(self.new, request_id, self.now),
            lambda: reference.cancel(self.old, request_id, self.now),
        )

    # Offers ------------------------------------------------------------------------------------

    def offer(self, index: int, made_up: bool) -> tuple[str, int]:
        offers = self.old.offers()
        if made_up or not offers:
            # A waiting request's past or future offer, or no request's at all.
            ids = [*self.request_ids(), "nobody"]
            made = f"{ids[index % len(ids)]}.{index % 3 + 1}"
            return made, AGENT_IDS[index % len(AGENT_IDS)]
        offer = offers[index % len(offers)]
        return offer.offer_id, offer.agent_id

    @rule(
        index=st.integers(0, 50),
        made_up=st.sampled_from([False, False, False, True]),
        other=st.sampled_from([False, False, False, True]),
    )
    def accept(self, index: int, made_up: bool, other: bool) -> None:
        offer_id, agent_id = self.offer(index, made_up)
        agent_id = agent_id % len(AGENT_IDS) + 1 if other else agent_id
        self.both(
            lambda: routing.accept(self.new, offer_id, agent_id, self.now),
            lambda: reference.accept(self.old, offer_id, agent_id, self.now),
        )

    @rule(
        index=st.integers(0, 50),
        made_up=st.sampled_from([False, False, False, True]),
        other=st.sampled_from([False, False, False, True]),
    )
    def decline(self, index: int, made_up: bool, other: bool) -> None:
        offer_id, agent_id = self.offer(index, made_up)
        agent_id = agent_id % len(AGENT_IDS) + 1 if other else agent_id
        self.both(
            lambda: routing.decline(self.new, offer_id, agent_id, self.now),
            lambda: reference.decline(self.old, offer_id, agent_id, self.now),
        )

    @rule(
        index=st.integers(0, 50),
        agent_id=st.sampled_from([*AGENT_IDS, OUTSIDER]),
        made_up=st.sampled_from([False, False, False, True]),
    )
    def claim(self, index: int, agent_id: int, made_up: bool) -> None:
        ids = self.request_ids()
        request_id = "nobody" if made_up or not ids else ids[index % len(ids)]
        self.both(
            lambda: routing.claim(self.new, request_id, agent_id, self.now),
            lambda: reference.claim(self.old, request_id, agent_id, self.now),
        )

    # Time --------------------------------------------------------------------------------------

    @rule(seconds=st.sampled_from([0, 1, 4, 5, 10, 15, 30, 61, 130]))
    def wait(self, seconds: int) -> None:
        self.now += secs(seconds)

    @rule()
    def wait_for_the_deadline(self) -> None:
        deadline = reference.next_deadline(self.old, self.now)
        if deadline is not None and deadline > self.now:
            self.now = deadline

    @rule()
    def tick(self) -> None:
        self.both(
            lambda: routing.tick(self.new, self.now),
            lambda: reference.tick(self.old, self.now),
        )

    @rule()
    def dispatch(self) -> None:
        self.both(
            lambda: routing.dispatch(self.new, self.now),
            lambda: reference.dispatch(self.old, self.now),
        )

    @rule()
    def run(self) -> None:
        """What the dispatcher does: ``tick`` then ``dispatch`` at the same ``now``."""
        self.tick()
        self.dispatch()

    # The workgroup changes ---------------------------------------------------------------------

    @rule(agent_id=st.sampled_from(AGENT_IDS), data=st.data())
    def agent_changes(self, agent_id: int, data: st.DataObject) -> None:
        team = dict(self.old.agents)
        if data.draw(st.integers(0, 9)) == 0:
            team.pop(agent_id, None)  # left the workgroup
        else:
            idle = self.now - secs(data.draw(st.integers(0, 3)))
            team[agent_id] = replace(data.draw(agents(agent_id)), idle_since=idle)
        self.new = replace(self.new, agents=team)
        self.old = replace(self.old, agents=team)

    @rule(queue_id=st.sampled_from(QUEUE_IDS), data=st.data())
    def queue_changes(self, queue_id: int, data: st.DataObject) -> None:
        queues = dict(self.old.queues)
        if queue_id in queues and data.draw(st.integers(0, 4)) == 0 and len(queues) > 1:
            del queues[queue_id]
        else:
            queues[queue_id] = data.draw(queue_specs(queue_id))
        self.new = replace(self.new, queues=queues)
        self.old = replace(self.old, queues=queues)

    @rule(policy=policies)
    def policy_changes(self, policy: Policy) -> None:
        self.new = replace(self.new, policy=policy)
        self.old = replace(self.old, policy=policy)

    @rule(last=st.dictionaries(st.sampled_from(QUEUE_IDS), st.sampled_from(AGENT_IDS)))
    def round_robin_changes(self, last: dict[int, int]) -> None:
        self.new = replace(self.new, last_offered=last)
        self.old = replace(self.old, last_offered=last)

    @rule()
    def reload(self) -> None:
        """A router built from rows, as ``load_router`` builds one: a plain tuple in order."""
        r = self.new
        self.new = routing.Router(r.policy, r.queues, tuple(r.requests), r.agents, r.last_offered)

    # The two agree -----------------------------------------------------------------------------

    @invariant()
    def same_state(self) -> None:
        new, old = self.new, self.old
        assert tuple(new.requests) == old.requests
        assert new.requests == old.requests
        assert len(new.requests) == len(old.requests)
        if old.requests:
            assert new.requests[0] == old.requests[0]
            assert new.requests[-1] == old.requests[-1]
        assert new.agents == old.agents
        assert new.last_offered == old.last_offered
        assert new.offers() == old.offers()
        positions = old.positions()
        assert new.positions() == positions
        for request in old.requests:
            assert new.find(request.request_id) == request
            assert new.position(request.request_id) == positions[request.request_id]
        assert new.find("nobody") is None
        for queue_id in (*QUEUE_IDS, GONE_QUEUE):
            assert new.length(queue_id) == old.length(queue_id)
        for later in (0, 3, 20):
            now = self.now + secs(later)
            assert routing.next_deadline(new, now) == reference.next_deadline(old, now)


SETTINGS: dict[str, Any] = {
    "max_examples": 400,
    "stateful_step_count": 50,
    "derandomize": True,
    "database": None,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}


def test_the_indexed_core_decides_as_the_scanning_one() -> None:
    run_state_machine_as_test(Differential, settings=settings(**SETTINGS))


def test_a_moved_request_goes_behind_those_of_its_key_in_both() -> None:
    """Overflow re-queues a request as if it had just arrived: behind every waiting request of
    the same priority and arrival, whichever queue they are in (rare for the machine to hit)."""
    queues = {
        1: QueueSpec(1, overflow=Overflow(OverflowAction.QUEUE, secs(10), 3)),
        2: QueueSpec(2),
        3: QueueSpec(3),
    }
    new: Any = routing.Router(Policy(), queues)
    old: Any = reference.Router(Policy(), queues)
    now = T0
    for request_id, queue_id, at in (("z-first", 1, 0), ("a-second", 2, 5), ("m-third", 3, 6)):
        request = Request(request_id, T0 + secs(at), queue_id, arrival=7, entered_at=T0 + secs(at))
        new, got = routing.enqueue(new, request, T0 + secs(at))
        old, want = reference.enqueue(old, request, T0 + secs(at))
        assert got == want
    now = T0 + secs(10)
    new, got = routing.tick(new, now)
    old, want = reference.tick(old, now)
    assert got == want
    assert [r.request_id for r in new.requests] == [r.request_id for r in old.requests]
    assert [r.request_id for r in old.requests] == ["a-second", "m-third", "z-first"]
    assert new.positions() == old.positions()


def test_both_agree_on_a_queue_deeper_than_one_tree_node() -> None:
    """Hundreds waiting (the trees have several levels) and dozens of agents, random traffic."""
    rng = random.Random(7)
    queues = {
        1: QueueSpec(1, strategy=Strategy.BEST, skills={"de": 1}),
        2: QueueSpec(
            2, strategy=Strategy.ROUND_ROBIN, overflow=Overflow(OverflowAction.ANY, secs(40))
        ),
        3: QueueSpec(3, strategy=Strategy.BROADCAST, skills={"tech": 1}),
    }
    team = {
        i: Agent(i, True, 2, 2, T0 - secs(i), skills={"de": i % 2, "tech": i % 3 % 2})
        for i in range(1, 41)
    }
    policy = Policy(wait_timeout=secs(900), max_missed=2)
    requests = [
        Request(
            f"c{n * 7919 % 4001:04d}", T0, rng.choice([1, 2, 3]), arrival=n, priority=n % 7 // 6
        )
        for n in range(900)
    ]
    requests.sort(key=lambda r: r.key)
    new: Any = routing.Router(policy, queues, tuple(requests), team)
    old: Any = reference.Router(policy, queues, tuple(requests), team)
    now = T0
    for step in range(400):
        now += secs(rng.choice([0, 1, 3]))
        choice = rng.random()
        offers = old.offers()
        if choice < 0.25:
            agent_id = rng.randrange(1, 41)
            agent = replace(old.agents[agent_id], active_chats=rng.randrange(0, 3), idle_since=now)
            new = replace(new, agents={**new.agents, agent_id: agent})
            old = replace(old, agents={**old.agents, agent_id: agent})
            calls = (routing.tick, reference.tick, routing.dispatch, reference.dispatch)
        elif choice < 0.45 and offers:
            offer = rng.choice(offers)
            verb = rng.choice(["accept", "decline"])
            new, got = getattr(routing, verb)(new, offer.offer_id, offer.agent_id, now)
            old, want = getattr(reference, verb)(old, offer.offer_id, offer.agent_id, now)
            assert got == want
            calls = (routing.tick, reference.tick, routing.dispatch, reference.dispatch)
        elif choice < 0.6 and old.requests:
            request_id = rng.choice(old.requests).request_id
            new, got = routing.cancel(new, request_id, now)
            old, want = reference.cancel(old, request_id, now)
            assert got == want
            calls = (routing.dispatch, reference.dispatch)
        else:
            request = Request(f"n{step}", now, rng.choice([1, 2, 3]), arrival=rng.randrange(1000))
            new, got = routing.enqueue(new, request, now)
            old, want = reference.enqueue(old, request, now)
            assert got == want
            calls = (routing.tick, reference.tick, routing.dispatch, reference.dispatch)
        for mine, theirs in zip(calls[::2], calls[1::2], strict=True):
            new, got = mine(new, now)
            old, want = theirs(old, now)
            assert got == want, step
        assert tuple(new.requests) == old.requests
        assert routing.next_deadline(new, now) == reference.next_deadline(old, now)
    assert new.positions() == old.positions()
    assert len(new.requests) > 200
