"""What one dispatcher run costs: ``RoutingService.run``, load + decide + commit, end to end.

One workgroup with four queues, 1,000 agents (overlapping skills, all away) and N waiting
requests in the database. Each measured run follows one agent becoming available (committed
first, as ``PresenceService`` would): the run loads the workgroup's routing state, ticks,
dispatches (one offer, to that agent) and commits the offer and the request's new state. That is
the run a ``Kick`` causes when an agent frees up. Then a few runs with nothing changed (the
periodic sweep's case). The clock is fixed (every request stays waiting).

Then the other routing transactions, as one node serves them: opening a chat (the routing half
of ``ChatService.open``: the conversation inserted and ``RoutingService.enqueue_in``, committed)
and an agent accepting one of the offers (``RoutingService.accept``, committed).

Prints, per size and per way of loading: the first run after start (a node that just took the
workgroup: a full load), then the median and the 90th percentile of the runs after one agent
freed up, of the idle runs, of opening a chat and of accepting an offer. ``whole`` is every
transaction loading the queue whole (``routing_full_reload_secs = 0``, how ``accept`` and the
rest loaded before the kept queue reached them); ``kept`` is the kept queue and the change feed.

    python bench/dispatcher_run.py [--sizes 1000 10000] [--agents 1000] [--runs 30]
    python bench/dispatcher_run.py --postgres postgresql://postgres@127.0.0.1:5432/test

With ``--postgres`` it creates a database ``bench_<random>`` on that server and drops it after.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

import routing_load  # bench/routing_load.py, beside this file
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from parley.domain import conversation as conv_policy
from parley.domain.access import Staff, StaffRole
from parley.metrics import Metrics
from parley.realtime.bus import LocalBus
from parley.services.routing import RoutingService
from parley.storage.db import Database
from parley.storage.stores import Stores
from parley.storage.tables import (
    agent_state,
)

T0 = routing_load.T0


class FixedClock:
    def __init__(self, now: datetime) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now

    async def sleep_until(self, when: datetime) -> None:  # never waited on here
        await asyncio.sleep(0)


async def fill(db: Database, agents: int, waiting: int) -> None:
    # Long offers (a run must not time them out) and nobody available until measured.
    await routing_load.fill(db, agents, waiting, offer_timeout_secs=3_600, presence="away")


async def _after_fill(db: Database) -> None:
    """PostgreSQL: the arrivals were given explicitly; the next chat opened takes the next."""
    if not db.is_sqlite:
        async with db.engine.begin() as conn:
            await conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence('chat_requests', 'arrival'),"
                    " (SELECT max(arrival) FROM chat_requests))"
                )
            )


async def _set_presence(db: Database, user_id: int, presence: str) -> None:
    async with db.write() as tx:
        await tx.conn.execute(
            sa.update(agent_state).where(agent_state.c.user_id == user_id).values(presence=presence)
        )


async def _open_chat(db: Database, stores: Stores, service: RoutingService, n: int) -> None:
    """The routing half of opening a chat: what ``ChatService.open`` does in its transaction."""
    now = T0 + timedelta(hours=1)
    async with db.write() as tx:
        wg = await stores.workgroups.workgroup(tx, 1, lock=True)
        assert wg is not None
        conv, entries = conv_policy.open_customer_chat(f"n{n:031d}", 1, "V", {}, now)
        await stores.conversations.insert_conversation(tx, conv)
        await stores.conversations.insert_entries(tx, conv.id, entries)
        await service.enqueue_in(tx, wg, conv, now)


def _p90(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=10)[-1] * 1e3


async def measure(
    url: str, agents: int, waiting: int, runs: int, full_reload: timedelta
) -> dict[str, float]:
    db = Database(url)
    await db.migrate()
    await fill(db, agents, waiting)
    await _after_fill(db)
    clock = FixedClock(T0 + timedelta(hours=1))
    stores = Stores.create()
    service = RoutingService(
        db,
        LocalBus(),
        clock,
        staff=stores.staff,
        workgroups=stores.workgroups,
        conversations=stores.conversations,
        requests=stores.requests,
        agents=stores.agents,
        metrics=Metrics(clock, node_id="bench"),
        full_reload=full_reload,
    )
    started = time.perf_counter()
    await service.run(1)
    first = time.perf_counter() - started
    freed: list[float] = []
    for n in range(runs):
        await _set_presence(db, 1 + n, "available")
        started = time.perf_counter()
        await service.run(1)
        freed.append(time.perf_counter() - started)
    idle: list[float] = []
    for _ in range(max(5, runs // 3)):
        started = time.perf_counter()
        await service.run(1)
        idle.append(time.perf_counter() - started)
    async with db.read() as tx:
        made = await tx.all(
            sa.text("SELECT offer_id, agent_id FROM offers WHERE status = 'pending'")
        )
        assert len(made) == runs, f"expected {runs} offers, found {len(made)}"
    opened: list[float] = []
    for n in range(runs):
        started = time.perf_counter()
        await _open_chat(db, stores, service, n)
        opened.append(time.perf_counter() - started)
    accepted: list[float] = []
    for offer_id, agent_id in made:
        staff = Staff(agent_id, f"a{agent_id}", f"A {agent_id}", StaffRole.AGENT)
        started = time.perf_counter()
        await service.accept(staff, offer_id)
        accepted.append(time.perf_counter() - started)
    await db.dispose()
    return {
        "first_ms": first * 1e3,
        "freed_ms": statistics.median(freed) * 1e3,
        "freed_p90_ms": _p90(freed),
        "idle_ms": statistics.median(idle) * 1e3,
        "open_ms": statistics.median(opened) * 1e3,
        "open_p90_ms": _p90(opened),
        "accept_ms": statistics.median(accepted) * 1e3,
        "accept_p90_ms": _p90(accepted),
    }


async def _postgres_database(server: str) -> tuple[str, str]:
    name = f"bench_{secrets.token_hex(4)}"
    admin = create_async_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    base = server.rsplit("/", 1)[0]
    return name, f"{base}/{name}"


async def _drop(server: str, name: str) -> None:
    admin = create_async_engine(
        server.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


async def one(args: argparse.Namespace, waiting: int, full_reload: timedelta) -> dict[str, float]:
    if args.postgres:
        name, url = await _postgres_database(args.postgres)
        try:
            return await measure(
                url.replace("postgresql://", "postgresql+psycopg://", 1),
                args.agents,
                waiting,
                args.runs,
                full_reload,
            )
        finally:
            await _drop(args.postgres, name)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}"
        return await measure(url, args.agents, waiting, args.runs, full_reload)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=1_000)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--postgres", help="a PostgreSQL server URL (default: SQLite in /tmp)")
    args = parser.parse_args()
    backend = "PostgreSQL" if args.postgres else "SQLite"
    print(f"{backend}, {args.agents} agents, 4 queues; load + decide + commit, ms (median / p90)")
    print(
        f"{'waiting':>8s} {'load':>6s} {'first run':>10s} {'agent freed':>14s}"
        f" {'idle run':>9s} {'open a chat':>14s} {'accept':>14s}"
    )
    for waiting in args.sizes:
        for how, full_reload in (("whole", timedelta(0)), ("kept", timedelta(minutes=5))):
            r = asyncio.run(one(args, waiting, full_reload))
            print(
                f"{waiting:8d} {how:>6s} {r['first_ms']:10.1f}"
                f" {r['freed_ms']:6.1f} / {r['freed_p90_ms']:5.1f} {r['idle_ms']:9.1f}"
                f" {r['open_ms']:6.1f} / {r['open_p90_ms']:5.1f}"
                f" {r['accept_ms']:6.1f} / {r['accept_p90_ms']:5.1f}"
            )


if __name__ == "__main__":
    main()
