"""Time of one routing decision with many agents and many waiting requests.

A decision here is what happens when one agent frees up: ``dispatch`` over the whole queue.
Issue 4 aims at well under a millisecond for 1,000 agents and 10,000 waiting requests, growing
no worse than logarithmically with the number waiting; this measures where the core stands.

    python bench/routing_decision.py
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from parley.domain import routing

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def decision_secs(agents: int, waiting: int, repeat: int = 20) -> float:
    """Mean seconds for dispatch when one agent of a fully busy team frees up."""
    config = routing.QueueConfig(timedelta(seconds=30), timedelta(days=1))
    busy = {i: routing.Agent(i, True, 1, 1, T0) for i in range(agents)}
    requests = tuple(
        routing.Request(f"r{n}", T0 + timedelta(microseconds=n)) for n in range(waiting)
    )
    queue = routing.Queue(config, requests, busy)
    total = 0.0
    for k in range(repeat):
        freed = dict(busy)
        freed[k % agents] = replace(busy[k % agents], active_chats=0)
        ready = replace(queue, agents=freed)
        started = time.perf_counter()
        routing.dispatch(ready, T0 + timedelta(seconds=1))
        total += time.perf_counter() - started
    return total / repeat


def main() -> None:
    print(f"{'agents':>7s} {'waiting':>8s} {'ms per decision':>16s}")
    for agents, waiting in ((100, 1_000), (1_000, 1_000), (1_000, 10_000), (1_000, 100_000)):
        print(f"{agents:7d} {waiting:8d} {decision_secs(agents, waiting) * 1000:16.3f}")


if __name__ == "__main__":
    main()
