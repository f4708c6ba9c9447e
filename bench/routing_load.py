"""What a whole ``RequestStore.load_router`` costs, against the routing decision it feeds.

Accept, decline, claim, enqueue and transfer (and a dispatcher run that loads whole: on takeover,
on a gap, every ``routing_full_reload_secs``; ``bench/dispatcher_run.py`` measures the run) load
the workgroup's whole queue: its waiting ``chat_requests``, their live offers and its
members. This fills a SQLite database with one workgroup of 1,000 available agents without
chats in four queues and N waiting requests, then times ``load_router`` (median of
``--repeat``) and, apart, the ``Router``'s own indexing of the requests (part of it), and
prints the decision on the loaded router beside it:
``tick`` + ``dispatch`` with every agent free, a burst of 1,000 offers.

    python bench/routing_load.py [--sizes 1000 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from parley.domain import routing
from parley.storage.db import Database
from parley.storage.stores import Stores
from parley.storage.tables import (
    agent_state,
    chat_requests,
    conversations,
    queues,
    users,
    workgroup_members,
    workgroups,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SKILLS = ({"billing": 1, "de": 1}, {"billing": 1, "en": 1}, {"tech": 2}, {})
AGENT_SKILLS = ({"billing": 1, "de": 1}, {"billing": 1, "en": 1}, {"tech": 2, "en": 1}, {})


async def fill(
    db: Database,
    agents: int,
    waiting: int,
    *,
    offer_timeout_secs: int = 30,
    presence: str = "available",
) -> None:
    """One workgroup with four queues (``SKILLS``), ``agents`` agents and ``waiting`` chats
    waiting, written straight into the tables (``bench/dispatcher_run.py`` uses it too)."""
    async with db.engine.begin() as conn:
        await conn.execute(
            sa.insert(workgroups),
            [
                {
                    "id": 1,
                    "slug": "support",
                    "name": "Support",
                    "button_text": "",
                    "offer_timeout_secs": offer_timeout_secs,
                    "wait_timeout_secs": 86_400,
                    "max_chats": 2,
                    "created_at": T0,
                }
            ],
        )
        await conn.execute(
            sa.insert(queues),
            [
                {
                    "id": q + 1,
                    "workgroup_id": 1,
                    "name": f"q{q + 1}",
                    "position": q,
                    "is_default": q == 3,
                    "skills": SKILLS[q],
                    "created_at": T0,
                }
                for q in range(4)
            ],
        )
        people = range(1, agents + 1)
        await conn.execute(
            sa.insert(users),
            [
                {
                    "id": i,
                    "username": f"a{i}",
                    "display_name": f"A {i}",
                    "role": "agent",
                    "password_hash": "x",
                    "active": True,
                    "created_at": T0,
                }
                for i in people
            ],
        )
        await conn.execute(
            sa.insert(agent_state),
            [
                {
                    "user_id": i,
                    "presence": presence,
                    "status_text": "",
                    "changed_at": T0,
                    "idle_since": T0 - timedelta(seconds=i),
                    "skills": AGENT_SKILLS[i % 4],
                    "max_chats": 2,
                }
                for i in people
            ],
        )
        await conn.execute(
            sa.insert(workgroup_members), [{"workgroup_id": 1, "user_id": i} for i in people]
        )
        for start in range(0, waiting, 5_000):
            chunk = range(start, min(waiting, start + 5_000))
            await conn.execute(
                sa.insert(conversations),
                [
                    {
                        "id": f"c{n:031d}",
                        "kind": "customer_chat",
                        "status": "queued",
                        "workgroup_id": 1,
                        "last_seq": 1,
                        "metadata": {},
                        "created_at": T0 + timedelta(milliseconds=n),
                    }
                    for n in chunk
                ],
            )
            await conn.execute(
                sa.insert(chat_requests),
                [
                    {
                        "arrival": n + 1,
                        "conversation_id": f"c{n:031d}",
                        "workgroup_id": 1,
                        "status": "waiting",
                        "created_at": T0 + timedelta(milliseconds=n),
                        "declined_by": {},
                        "offers_made": 0,
                        "queue_id": n % 4 + 1,
                        "priority": 1 if n % 10 == 0 else 0,
                        "entered_at": T0 + timedelta(milliseconds=n),
                    }
                    for n in chunk
                ],
            )


async def measure(agents: int, waiting: int, repeat: int) -> tuple[float, float, float]:
    """Median seconds of ``load_router``, of its indexing of the requests, and of a decision."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}")
        await db.migrate()
        await fill(db, agents, waiting)
        stores = Stores.create()
        loads: list[float] = []
        builds: list[float] = []
        decisions: list[float] = []
        for _ in range(repeat):
            async with db.read() as tx:
                wg = await stores.workgroups.workgroup(tx, 1)
                assert wg is not None
                started = time.perf_counter()
                router = await stores.requests.load_router(tx, wg)
                loads.append(time.perf_counter() - started)
            assert len(router.requests) == waiting
            plain = tuple(router.requests)
            started = time.perf_counter()
            router = routing.Router(router.policy, router.queues, plain, router.agents)
            builds.append(time.perf_counter() - started)
            now = T0 + timedelta(hours=1)
            started = time.perf_counter()
            ticked, _ = routing.tick(router, now)
            routing.dispatch(ticked, now)
            decisions.append(time.perf_counter() - started)
        await db.engine.dispose()
    return statistics.median(loads), statistics.median(builds), statistics.median(decisions)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"SQLite, {args.agents} free agents, 4 queues; medians of {args.repeat}")
    head = f"{'waiting':>8s} {'load_router ms':>15s} {'of it, indexing ms':>19s}"
    print(f"{head} {'burst ms':>12s}")
    for waiting in args.sizes:
        load, build, decision = asyncio.run(measure(args.agents, waiting, args.repeat))
        print(f"{waiting:8d} {load * 1e3:15.1f} {build * 1e3:19.1f} {decision * 1e3:12.3f}")


if __name__ == "__main__":
    main()
