"""Discrete-event simulation of the pure routing core against the Erlang C formula.

One queue, ``agents`` identical agents taking one chat at a time, Poisson arrivals (``rate``
per second), exponential handling times (mean ``handle`` seconds), agents answering offers at
once, customers who never give up. That is an M/M/c queue, whose average wait and service level
Erlang C gives exactly: if ``parley.domain.routing`` serves first-in first-out and never leaves
an agent idle while someone waits, the simulation must agree with the formula.

    python bench/simulate.py [--agents 10] [--rate 0.8] [--handle 10] [--arrivals 50000]

Issue 4 extends this to several queues, skills and strategies; this is the single-queue check.
"""

from __future__ import annotations

import argparse
import heapq
import math
import random
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from parley.domain import routing

T0 = datetime(2026, 1, 1, tzinfo=UTC)
NEVER = timedelta(days=3650)


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


def simulate(
    agents: int, rate: float, handle: float, arrivals: int, seed: int
) -> tuple[list[float], float, int]:
    """Waits of every request (seconds), the mean time per routing decision, decisions made."""
    rng = random.Random(seed)
    queue = routing.Queue(
        routing.QueueConfig(offer_timeout=NEVER, wait_timeout=NEVER),
        agents={i: routing.Agent(i, True, 0, 1, T0) for i in range(agents)},
    )
    events: list[tuple[float, int, str, int]] = []  # (time, order, kind, agent or request)
    order = 0
    t = 0.0
    for n in range(arrivals):
        t += rng.expovariate(rate)
        heapq.heappush(events, (t, order, "arrive", n))
        order += 1
    waits: list[float] = []
    decision_secs = 0.0
    decisions = 0
    while events:
        now_s, _, kind, ident = heapq.heappop(events)
        now = T0 + timedelta(seconds=now_s)
        if kind == "arrive":
            queue, _ = routing.enqueue(queue, f"r{ident}", now)
        else:  # an agent finished a chat
            agent = queue.agents[ident]
            agents_now = dict(queue.agents)
            agents_now[ident] = replace(agent, active_chats=agent.active_chats - 1, idle_since=now)
            queue = replace(queue, agents=agents_now)
        started = time.perf_counter()
        queue, made = routing.dispatch(queue, now)
        decision_secs += time.perf_counter() - started
        decisions += 1
        for event in made:
            assert isinstance(event, routing.OfferMade)
            offer = event.offer
            queue, accepted = routing.accept(queue, offer.offer_id, offer.agent_id, now)
            waited = next(e for e in accepted if isinstance(e, routing.RequestAccepted)).waited
            waits.append(waited.total_seconds())
            done = now_s + rng.expovariate(1 / handle)
            heapq.heappush(events, (done, order, "done", offer.agent_id))
            order += 1
    return waits, decision_secs / decisions, decisions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=10)
    parser.add_argument("--rate", type=float, default=0.8, help="arrivals per second")
    parser.add_argument("--handle", type=float, default=10.0, help="mean handling seconds")
    parser.add_argument("--arrivals", type=int, default=50_000)
    parser.add_argument("--within", type=float, default=5.0, help="service level threshold (s)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    p_wait, mean_wait = erlang_c(args.agents, args.rate, args.handle)
    sl = service_level(args.agents, args.rate, args.handle, args.within)
    waits, per_decision, decisions = simulate(
        args.agents, args.rate, args.handle, args.arrivals, args.seed
    )
    warm = waits[len(waits) // 10 :]  # drop the first tenth: the queue starts empty
    sim_p_wait = sum(1 for w in warm if w > 0) / len(warm)
    sim_mean = sum(warm) / len(warm)
    sim_sl = sum(1 for w in warm if w <= args.within) / len(warm)
    load = args.rate * args.handle
    print(
        f"M/M/{args.agents}: load {load:.2f} Erlang (occupancy {load / args.agents:.0%}), "
        f"{len(warm)} requests measured"
    )
    print(f"{'':26s}{'Erlang C':>10s}{'simulated':>11s}{'difference':>12s}")
    for name, want, got in (
        ("P(wait > 0)", p_wait, sim_p_wait),
        ("mean wait (s)", mean_wait, sim_mean),
        (f"service level ({args.within:g} s)", sl, sim_sl),
    ):
        print(f"{name:26s}{want:10.4f}{got:11.4f}{(got - want) / want:+11.1%}")
    print(f"routing: {decisions} dispatch calls, {per_decision * 1e6:.1f} µs each on average")


if __name__ == "__main__":
    main()
