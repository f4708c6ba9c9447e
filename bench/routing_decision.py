"""Time of one routing decision with many agents and many waiting requests.

A decision is what happens when one agent frees up: ``dispatch`` over the workgroup's whole
``Router`` (and, as the services run it, ``tick`` then ``dispatch``). The workgroup has four
queues (billing/de, billing/en, tech, general) with skills, 1,000 agents with overlapping skills,
all busy, and 1k, 10k or 100k waiting requests spread over the queues, a tenth of them at a
higher priority. Each decision frees a different agent, so the first request they can take is
sometimes first in line and sometimes far down it.

Issue 9 aims at under a millisecond for 1,000 agents and 10,000 waiting requests, growing no
worse than logarithmically with the number waiting; this measures where the core stands and
prints the growth factor between sizes (10x more waiting: 1.0 is constant, ~1.3 logarithmic,
10 linear). Times are medians over ``--repeat`` decisions (the mean follows in brackets: on a
shared machine it carries other processes' bursts and the garbage collector's passes over
everything the process holds). ``build ms`` is the time to index the waiting requests once, as
``Router`` does for a plain tuple (what ``load_router`` hands it).

    python bench/routing_decision.py [--agents 1000] [--repeat 200] [--sizes 1000 10000 100000]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from parley.domain import routing
from parley.domain.routing import Agent, Policy, QueueSpec, Request, Router, Strategy

T0 = datetime(2026, 1, 1, tzinfo=UTC)
QUEUES = (
    QueueSpec(1, "billing/de", Strategy.BEST, {"billing": 1, "de": 1}),
    QueueSpec(2, "billing/en", Strategy.ROUND_ROBIN, {"billing": 1, "en": 1}),
    QueueSpec(3, "tech", Strategy.BEST, {"tech": 2}),
    QueueSpec(4, "general", Strategy.BEST, {}),
)
SKILL_SETS = (
    {"billing": 1, "de": 1},
    {"billing": 1, "en": 1},
    {"billing": 2, "de": 1, "en": 1},
    {"tech": 2, "en": 1},
    {"tech": 1},
    {},
)


def build(agents: int, waiting: int, seed: int = 1) -> Router:
    rng = random.Random(seed)
    busy = {
        i: Agent(i, True, 2, 2, T0 - timedelta(seconds=i), skills=SKILL_SETS[i % len(SKILL_SETS)])
        for i in range(agents)
    }
    requests = [
        Request(
            f"r{n}",
            T0 + timedelta(milliseconds=n),
            rng.choice(QUEUES).queue_id,
            arrival=n,
            priority=1 if rng.random() < 0.1 else 0,
            entered_at=T0 + timedelta(milliseconds=n),
        )
        for n in range(waiting)
    ]
    requests.sort(key=lambda r: r.key)
    policy = Policy(wait_timeout=timedelta(days=1))
    return Router(policy, {q.queue_id: q for q in QUEUES}, tuple(requests), busy)


def decision_times(router: Router, repeat: int) -> tuple[list[float], list[float]]:
    """Seconds of each ``dispatch``, and of each ``tick`` + ``dispatch``, as one agent frees up."""
    now = T0 + timedelta(hours=1)
    dispatches: list[float] = []
    boths: list[float] = []
    ids = sorted(router.agents)
    for k in range(repeat):
        agent_id = ids[(k * 7919) % len(ids)]
        freed = replace(router.agents[agent_id], active_chats=1, idle_since=now)
        ready = replace(router, agents={**router.agents, agent_id: freed})
        started = time.perf_counter()
        _, made = routing.dispatch(ready, now)
        dispatches.append(time.perf_counter() - started)
        assert len(made) <= 1
        started = time.perf_counter()
        ticked, _ = routing.tick(ready, now)
        routing.dispatch(ticked, now)
        boths.append(time.perf_counter() - started)
    return dispatches, boths


def decision_secs(router: Router, repeat: int) -> tuple[float, float]:
    """Median seconds of ``dispatch``, and of ``tick`` + ``dispatch``, when one agent frees up."""
    dispatches, boths = decision_times(router, repeat)
    return statistics.median(dispatches), statistics.median(boths)


def build_secs(router: Router) -> float:
    """Seconds to index ``router``'s waiting requests from a plain tuple."""
    plain = tuple(router.requests)
    started = time.perf_counter()
    Router(router.policy, router.queues, plain, router.agents, router.last_offered)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    args = parser.parse_args()
    print(f"{args.agents} agents, 4 queues with skills; one agent frees up per decision")
    print(
        f"{'waiting':>8s} {'dispatch ms (mean)':>20s} {'growth':>9s}"
        f" {'tick+dispatch ms (mean)':>25s} {'growth':>9s} {'build ms':>9s}"
    )
    previous: tuple[int, float, float] | None = None
    for waiting in args.sizes:
        router = build(args.agents, waiting)
        dispatches, boths = decision_times(router, args.repeat)
        dispatch, both = statistics.median(dispatches), statistics.median(boths)
        if previous is None:
            growth = ("", "")
        else:
            size, d0, b0 = previous
            scale = waiting / size
            growth = (f"x{dispatch / d0:.1f}/{scale:g}", f"x{both / b0:.1f}/{scale:g}")
        means = (statistics.mean(dispatches) * 1e3, statistics.mean(boths) * 1e3)
        print(
            f"{waiting:8d} {f'{dispatch * 1e3:.3f} ({means[0]:.3f})':>20s} {growth[0]:>9s}"
            f" {f'{both * 1e3:.3f} ({means[1]:.3f})':>25s} {growth[1]:>9s}"
            f" {build_secs(router) * 1e3:9.1f}"
        )
        previous = (waiting, dispatch, both)


if __name__ == "__main__":
    main()
