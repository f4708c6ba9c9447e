"""Discrete-event simulation of the pure routing core: Erlang C, multi-skill routing, estimates.

1. **Erlang C.** One queue, ``agents`` identical agents taking one chat at a time, Poisson
   arrivals (``rate`` per second), exponential handling times (mean ``handle`` seconds), agents
   answering offers at once, customers who never give up. That is an M/M/c queue, whose average
   wait and service level Erlang C gives exactly: if ``parley.domain.routing`` serves first come
   first served and never leaves an agent idle while someone waits, the simulation must agree.
2. **Multi-skill.** Three queues (billing/de, billing/en, tech) and 14 agents with overlapping
   skills; customers of each kind arrive as Poisson streams and hang up after an exponential
   patience; handling is exponential; agents accept at once (broadcast: one of the offers at
   random is accepted first, so it behaves like "best" without the choice of agent). For each
   strategy and setup: skills-based routing, skills-based routing with overflow to backup
   queues, and plain round robin over everyone ignoring skills. Reported: service level
   (answered within 20 s, over every arrival, abandoned ones included), mean and 90th
   percentile wait of those answered, abandonment, agent occupancy, and chats answered by an
   agent without the skills the customer needed.
3. **Estimates.** ``estimate_wait`` at entry, from the last 20 answered requests of the queue,
   against the wait that followed, over the answered requests: mean absolute error and bias.

Every run is seeded; the default finishes in about a minute.

    python bench/simulate.py [--arrivals 50000] [--multi-arrivals 15000] [--seed 1]
    python bench/simulate.py --only erlang --agents 10 --rate 0.8 --handle 10 --arrivals 400000
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

from parley.domain import routing
from parley.domain.routing import (
    Agent,
    Overflow,
    OverflowAction,
    Policy,
    QueueSpec,
    Request,
    Router,
    Strategy,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NEVER = timedelta(days=3650)
SAMPLE_SIZE = 20


# Erlang C -------------------------------------------------------------------------------------


def erlang_c(agents: int, rate: float, handle: float) -> tuple[float, float]:
    """Probability of waiting, and the mean wait (seconds), of an M/M/c queue."""
    load = rate * handle
    if load >= agents:
        raise ValueError("the queue is unstable: offered load >= agents")
    top = load**agents / math.factorial(agents) * agents / (agents - load)
    bottom = sum(load**k / math.factorial(k) for k in range(agents)) + top
    p_wait = top / bottom
    return p_wait, p_wait * handle / (agents - load)


def service_level(agents: int, rate: float, handle: float, within: float) -> float:
    p_wait, _ = erlang_c(agents, rate, handle)
    return 1 - p_wait * math.exp(-(agents - rate * handle) * within / handle)


# The simulation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """A kind of customer: how often they come, the queue they go to, the skills they need."""

    name: str
    rate: float
    queue_id: int
    needs: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    name: str
    queues: Sequence[QueueSpec]
    agents: Sequence[Agent]
    kinds: Sequence[Kind]
    handle: float
    #: Mean seconds before a waiting customer hangs up; None: never.
    patience: float | None = None
    policy: Policy = field(default_factory=lambda: Policy(offer_timeout=NEVER, wait_timeout=NEVER))


@dataclass
class Served:
    kind: str
    arrived: float
    #: Seconds waited until an accept, None when the customer hung up first.
    waited: float | None = None
    #: The wait ``estimate_wait`` showed at entry (None before the queue answered anyone).
    estimate: float | None = None
    mismatched: bool = False


@dataclass
class Result:
    served: list[Served]
    busy: list[tuple[float, float]]  # (start, end) of every chat
    agents: int
    decisions: int = 0
    decision_secs: float = 0.0

    def measured(self, warm: float = 0.1) -> list[Served]:
        """Every customer but the first ``warm`` share: the queue starts empty."""
        return self.served[int(len(self.served) * warm) :]


def run(scenario: Scenario, arrivals: int, seed: int) -> Result:
    """Simulate ``arrivals`` customers through the routing core, the way the services drive it:
    after every change ``tick`` then ``dispatch``, and again whenever ``next_deadline`` passes."""
    rng = random.Random(seed)
    router = Router(
        scenario.policy,
        {q.queue_id: q for q in scenario.queues},
        agents={a.agent_id: a for a in scenario.agents},
    )
    kinds = list(scenario.kinds)
    total_rate = sum(k.rate for k in kinds)
    heap: list[tuple[float, int, str, int]] = []  # (time, order, what, customer or agent)
    order = 0
    t = 0.0
    for n in range(arrivals):
        t += rng.expovariate(total_rate)
        heapq.heappush(heap, (t, order, "arrive", n))
        order += 1
    horizon = t
    who = [rng.choices(kinds, weights=[k.rate for k in kinds])[0] for _ in range(arrivals)]
    result = Result([Served(who[n].name, 0.0) for n in range(arrivals)], [], len(scenario.agents))
    samples: dict[int, deque[tuple[timedelta, int]]] = {
        q.queue_id: deque(maxlen=SAMPLE_SIZE) for q in scenario.queues
    }
    entry: dict[str, tuple[int, int, int]] = {}  # request -> (customer, queue, position)
    wakes: set[float] = set()

    def settle(now_s: float) -> None:
        nonlocal router
        now = T0 + timedelta(seconds=now_s)
        started = time.perf_counter()
        router, _ = routing.tick(router, now)
        while True:
            router, made = routing.dispatch(router, now)
            if not made:
                break
            by_request: dict[str, list[routing.Offer]] = {}
            for event in made:
                assert isinstance(event, routing.OfferMade)
                by_request.setdefault(event.offer.request_id, []).append(event.offer)
            for request_id, offers in by_request.items():
                offer = rng.choice(offers)  # broadcast: whoever clicks first
                router, _ = routing.accept(router, offer.offer_id, offer.agent_id, now)
                accepted(request_id, offer.agent_id, now_s)
        result.decisions += 1
        result.decision_secs += time.perf_counter() - started
        deadline = routing.next_deadline(router, now)
        if deadline is not None:
            at = (deadline - T0).total_seconds()
            if at <= horizon and at not in wakes:
                wakes.add(at)
                heapq.heappush(heap, (at, -1, "wake", 0))

    def accepted(request_id: str, agent_id: int, now_s: float) -> None:
        n, queue_id, position = entry.pop(request_id)
        served = result.served[n]
        served.waited = now_s - served.arrived
        samples[queue_id].append((timedelta(seconds=served.waited), position))
        agent = router.agents[agent_id]
        served.mismatched = any(agent.skills.get(s, 0) < v for s, v in who[n].needs.items())
        done = now_s + rng.expovariate(1 / scenario.handle)
        result.busy.append((now_s, done))
        nonlocal order
        heapq.heappush(heap, (done, order, "done", agent_id))
        order += 1

    while heap:
        now_s, _, what, ident = heapq.heappop(heap)
        now = T0 + timedelta(seconds=now_s)
        if what == "arrive":
            kind = who[ident]
            request_id = f"r{ident}"
            result.served[ident].arrived = now_s
            request = Request(request_id, now, kind.queue_id, arrival=ident)
            router, _ = routing.enqueue(router, request, now)
            position = router.positions()[request_id][1]
            estimate = routing.estimate_wait(samples[kind.queue_id], position)
            if estimate is not None:
                result.served[ident].estimate = estimate.total_seconds()
            entry[request_id] = (ident, kind.queue_id, position)
            if scenario.patience is not None:
                gives_up = now_s + rng.expovariate(1 / scenario.patience)
                heapq.heappush(heap, (gives_up, order, "hang up", ident))
                order += 1
        elif what == "hang up":
            request_id = f"r{ident}"
            if router.find(request_id) is None:
                continue  # answered already
            router, _ = routing.cancel(router, request_id, now)
            entry.pop(request_id)
        elif what == "done":
            agent = router.agents[ident]
            freed = replace(agent, active_chats=agent.active_chats - 1, idle_since=now)
            router = replace(router, agents={**router.agents, ident: freed})
        else:  # a deadline
            wakes.discard(now_s)
        settle(now_s)
    return result


# Reports --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


@dataclass(frozen=True)
class Summary:
    service_level: float
    mean_wait: float
    p90_wait: float
    abandoned: float
    occupancy: float
    mismatched: float


def summarize(result: Result, within: float = 20.0) -> Summary:
    measured = result.measured()
    waits = [s.waited for s in measured if s.waited is not None]
    start = measured[0].arrived
    end = measured[-1].arrived
    busy = sum(max(0.0, min(b, end) - max(a, start)) for a, b in result.busy)
    return Summary(
        service_level=sum(1 for w in waits if w <= within) / len(measured),
        mean_wait=sum(waits) / len(waits),
        p90_wait=percentile(waits, 0.9),
        abandoned=1 - len(waits) / len(measured),
        occupancy=busy / (result.agents * (end - start)),
        mismatched=sum(1 for s in measured if s.mismatched) / max(1, len(waits)),
    )


@dataclass(frozen=True)
class Accuracy:
    count: int
    mean_wait: float
    mae: float
    bias: float

    @property
    def relative_mae(self) -> float:
        return self.mae / self.mean_wait

    @property
    def relative_bias(self) -> float:
        return self.bias / self.mean_wait


def estimate_accuracy(result: Result) -> Accuracy:
    """How far the estimate shown at entry was from the wait that followed (answered only)."""
    pairs = [
        (s.estimate, s.waited)
        for s in result.measured()
        if s.estimate is not None and s.waited is not None
    ]
    errors = [e - w for e, w in pairs]
    return Accuracy(
        count=len(pairs),
        mean_wait=sum(w for _, w in pairs) / len(pairs),
        mae=sum(abs(x) for x in errors) / len(errors),
        bias=sum(errors) / len(errors),
    )


# Scenarios ------------------------------------------------------------------------------------


def single_queue(
    agents: int, rate: float, handle: float, patience: float | None = None
) -> Scenario:
    return Scenario(
        f"M/M/{agents}",
        [QueueSpec(1, "all")],
        [Agent(i, True, 0, 1, T0) for i in range(agents)],
        [Kind("all", rate, 1)],
        handle,
        patience,
    )


BILLING_DE = {"billing": 1, "de": 1}
BILLING_EN = {"billing": 1, "en": 1}
TECH = {"tech": 1}
TEAM = (
    [BILLING_DE] * 3
    + [BILLING_EN] * 4
    + [{"billing": 1, "de": 1, "en": 1}] * 2
    + [{"tech": 1, "en": 1}] * 4
    + [{"tech": 1, "billing": 1, "en": 1}]
)
KIND_RATES = (("billing/de", 0.020, BILLING_DE), ("billing/en", 0.030, BILLING_EN))
KIND_RATES += (("tech", 0.025, TECH),)
MULTI_HANDLE = 150.0  # 0.075 arrivals/s * 150 s = 11.25 Erlang on 14 agents: 80 % busy
MULTI_PATIENCE = 90.0


def multi_skill(strategy: Strategy, setup: str) -> Scenario:
    """``setup``: skills (no overflow), overflow (to backup queues), everyone (round robin,
    one queue, no skills)."""
    agents = [Agent(i, True, 0, 1, T0, skills=s) for i, s in enumerate(TEAM, start=1)]
    if setup == "everyone":
        queues = [QueueSpec(1, "everyone", Strategy.ROUND_ROBIN)]
        kinds = [Kind(name, rate, 1, needs) for name, rate, needs in KIND_RATES]
        return Scenario(
            "round robin, everyone", queues, agents, kinds, MULTI_HANDLE, MULTI_PATIENCE
        )
    overflow = setup == "overflow"

    def spill(target: int, after: float) -> Overflow:
        if not overflow:
            return Overflow()
        return Overflow(OverflowAction.QUEUE, timedelta(seconds=after), target)

    queues = [
        QueueSpec(1, "billing/de", strategy, BILLING_DE, spill(4, 20)),
        QueueSpec(2, "billing/en", strategy, BILLING_EN, spill(4, 20)),
        QueueSpec(3, "tech", strategy, TECH, spill(5, 40)),
        QueueSpec(4, "billing (backup)", strategy, {"billing": 1}),
        QueueSpec(5, "anyone (backup)", strategy, {}),
    ]
    kinds = [
        Kind(name, rate, queue_id, needs)
        for (name, rate, needs), queue_id in zip(KIND_RATES, (1, 2, 3), strict=True)
    ]
    name = f"{strategy.value}, {'skills + overflow' if overflow else 'skills'}"
    return Scenario(name, queues, agents, kinds, MULTI_HANDLE, MULTI_PATIENCE)


def report_erlang(args: argparse.Namespace) -> None:
    p_wait, mean_wait = erlang_c(args.agents, args.rate, args.handle)
    sl = service_level(args.agents, args.rate, args.handle, args.within)
    result = run(single_queue(args.agents, args.rate, args.handle), args.arrivals, args.seed)
    warm = [s.waited for s in result.measured() if s.waited is not None]
    sim_p_wait = sum(1 for w in warm if w > 0) / len(warm)
    sim_mean = sum(warm) / len(warm)
    sim_sl = sum(1 for w in warm if w <= args.within) / len(warm)
    load = args.rate * args.handle
    print(
        f"1. M/M/{args.agents}: load {load:.2f} Erlang (occupancy {load / args.agents:.0%}), "
        f"{len(warm)} requests measured"
    )
    print(f"{'':26s}{'Erlang C':>10s}{'simulated':>11s}{'difference':>12s}")
    for name, want, got in (
        ("P(wait > 0)", p_wait, sim_p_wait),
        ("mean wait (s)", mean_wait, sim_mean),
        (f"service level ({args.within:g} s)", sl, sim_sl),
    ):
        print(f"{name:26s}{want:10.4f}{got:11.4f}{(got - want) / want:+11.1%}")
    per = result.decision_secs / result.decisions
    print(f"routing: {result.decisions} tick+dispatch rounds, {per * 1e6:.1f} µs each on average")


def report_multi(args: argparse.Namespace) -> None:
    print(
        f"\n2. Multi-skill: 14 agents, 3 kinds of customers (0.075/s), handling {MULTI_HANDLE:g} s,"
        f" patience {MULTI_PATIENCE:g} s, {args.multi_arrivals} arrivals per run"
    )
    header = f"{'setup':30s}{'SL 20s':>8s}{'mean':>7s}{'p90':>7s}{'aband.':>8s}{'occup.':>8s}"
    print(header + f"{'unskilled':>11s}{'est. MAE':>10s}{'bias':>8s}")
    runs = [(s, setup) for setup in ("skills", "overflow") for s in STRATEGIES_SIMULATED]
    runs.append((Strategy.ROUND_ROBIN, "everyone"))
    for strategy, setup in runs:
        scenario = multi_skill(strategy, setup)
        result = run(scenario, args.multi_arrivals, args.seed)
        s = summarize(result)
        a = estimate_accuracy(result)
        print(
            f"{scenario.name:30s}{s.service_level:8.1%}{s.mean_wait:7.1f}{s.p90_wait:7.1f}"
            f"{s.abandoned:8.1%}{s.occupancy:8.1%}{s.mismatched:11.1%}"
            f"{a.mae:9.1f}s{a.bias:+7.1f}s"
        )


STRATEGIES_SIMULATED = (Strategy.BEST, Strategy.ROUND_ROBIN, Strategy.BROADCAST)


def report_estimates(args: argparse.Namespace) -> None:
    print("\n3. estimate_wait at entry (last 20 answered) vs the real wait, answered requests")
    head = f"{'queue':34s}{'n':>7s}{'mean wait':>11s}{'MAE':>8s}{'bias':>8s}"
    print(f"{head}{'MAE %':>8s}{'bias %':>8s}")
    cases = (
        ("M/M/5, 90 % busy, no hang-ups", single_queue(5, 0.9 / 10 * 5, 10.0)),
        ("M/M/5, 95 % busy, no hang-ups", single_queue(5, 0.95 / 10 * 5, 10.0)),
        ("M/M/10, 90 %, patience 60 s", single_queue(10, 0.9, 10.0, 60.0)),
    )
    for name, scenario in cases:
        a = estimate_accuracy(run(scenario, args.estimate_arrivals, args.seed))
        print(
            f"{name:34s}{a.count:7d}{a.mean_wait:10.1f}s{a.mae:7.1f}s{a.bias:+7.1f}s"
            f"{a.relative_mae:8.0%}{a.relative_bias:+8.0%}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["erlang", "multi", "estimates"])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.8, help="arrivals per second")
    parser.add_argument("--handle", type=float, default=10.0, help="mean handling seconds")
    parser.add_argument("--arrivals", type=int, default=50_000)
    parser.add_argument("--within", type=float, default=5.0, help="service level threshold (s)")
    parser.add_argument("--multi-arrivals", type=int, default=15_000)
    parser.add_argument("--estimate-arrivals", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    started = time.perf_counter()
    if args.only in (None, "erlang"):
        report_erlang(args)
    if args.only in (None, "multi"):
        report_multi(args)
    if args.only in (None, "estimates"):
        report_estimates(args)
    print(f"\n({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
