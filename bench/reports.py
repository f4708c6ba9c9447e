"""Reports over a year of a busy workgroup, on SQLite and PostgreSQL: the time each takes.

A year of history (``bench/history.py``: the routing core's waits, abandons, expiries, missed
offers, transfers, shoppers, outcomes, ratings, returning customers, left messages, presence)
is written to a fresh database, then each report is asked for through the service (the read
transaction and the computation; the HTTP layer adds the JSON or CSV rendering, measured
apart) a few times, and the best and the median wall time are printed, with this process's
CPU time (on SQLite that includes the database's work, done in this process's thread; on
PostgreSQL it leaves out the server's) for a machine that others share.

    PYTHONPATH=src:. python bench/reports.py [--chats 1000000] [--days 365] [--backend both]
        [--repeat 3] [--json out.json]

``--chats`` smaller on a busy machine (the history is simulated and written first: about a
minute per 100,000 chats on SQLite). PostgreSQL: ``PARLEY_BENCH_PG_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``), a database of its own is made and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from bench.history import Ids, simulate, write

import parley.services.auth
from parley.bootstrap import build
from parley.domain import reports
from parley.domain.access import Staff, StaffRole
from parley.domain.hours import BusinessHours
from parley.services.admin import WorkgroupSettings
from parley.services.inbox import HoursSettings
from parley.settings import Settings
from parley.web.reports_api import report_csv, report_json

PG_URL = os.environ.get("PARLEY_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
ADMIN = Staff(0, "bench", "Bench", StaffRole.ADMIN)
ZONE = "Europe/Paris"


def _pg_admin_url() -> str:
    return PG_URL.replace("postgresql+psycopg://", "postgresql://")


async def _pg_database() -> tuple[str, str]:
    import psycopg
    from sqlalchemy.engine import make_url

    name = "bench_reports_" + secrets.token_hex(4)
    async with await psycopg.AsyncConnection.connect(_pg_admin_url(), autocommit=True) as conn:
        await conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
    url = make_url(_pg_admin_url()).set(database=name).render_as_string(hide_password=False)
    return name, url


async def _pg_drop(name: str) -> None:
    import psycopg

    async with await psycopg.AsyncConnection.connect(_pg_admin_url(), autocommit=True) as conn:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # type: ignore[arg-type]


async def run(backend: str, args: argparse.Namespace, out: dict[str, Any]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-reports-"))
    pg_name = None
    if backend == "sqlite":
        settings = Settings(data_dir=tmp / "data")
    else:
        pg_name, url = await _pg_database()
        settings = Settings(data_dir=tmp / "data", database_url=url)
    parley = build(settings)
    try:
        await parley.db.migrate()
        await parley.admin.create_workgroup(
            None, "busy", WorkgroupSettings(name="Busy", max_chats=2)
        )
        await parley.admin.create_workgroup(None, "other", WorkgroupSettings(name="Other"))
        await parley.inbox.set_hours(
            None, "busy", HoursSettings(BusinessHours(ZONE), queue_without_agents=True)
        )
        n_agents = max(3, round(args.chats / args.days / 2740 * 24))
        agents = {}
        for i in range(1, n_agents + 1):
            user = await parley.admin.create_user(
                None, f"agent{i}", "bench-" + "x" * 16, StaffRole.AGENT, f"Agent {i}", ["busy"]
            )
            agents[i] = user.id
        async with parley.db.read() as tx:
            busy = await parley.stores.workgroups.workgroup_by_slug(tx, "busy")
            other = await parley.stores.workgroups.workgroup_by_slug(tx, "other")
            assert busy is not None and other is not None
            [q1] = await parley.stores.workgroups.queues(tx, busy.id)
            [q9] = await parley.stores.workgroups.queues(tx, other.id)
        start = datetime(2025, 1, 1, tzinfo=UTC)
        t = time.perf_counter()
        history = simulate(
            args.chats,
            days=args.days,
            agents=tuple(agents),
            queues=(1,),
            start=start,
            seed=args.seed,
        )
        simulated = time.perf_counter() - t
        t = time.perf_counter()
        await write(parley.db, history, Ids(busy.id, other.id, agents, {1: q1.id, 99: q9.id}))
        written = time.perf_counter() - t
        print(
            f"{backend}: {args.chats:,} chats over {args.days} days, {n_agents} agents: "
            f"simulated in {simulated:.0f} s, written in {written:.0f} s",
            flush=True,
        )
        first = start.date()
        last = first + timedelta(days=args.days - 1)
        month = first + timedelta(days=min(args.days, 31) - 1)
        cases: list[tuple[str, date, date, reports.Granularity, dict[str, Any]]] = [
            ("year by day", first, last, reports.Granularity.DAY, {}),
            ("year by week", first, last, reports.Granularity.WEEK, {}),
            ("31 days by hour", first, month, reports.Granularity.HOUR, {}),
            ("year by day, one queue", first, last, reports.Granularity.DAY, {"queue_id": q1.id}),
            (
                "year by week, one agent",
                first,
                last,
                reports.Granularity.WEEK,
                {"agent_id": agents[1]},
            ),
            ("one day by hour", first, first, reports.Granularity.HOUR, {}),
        ]
        results: dict[str, Any] = {}
        for name, lo, hi, gran, scope in cases:
            times = []
            cpu = []
            render = 0.0
            for _ in range(args.repeat):
                t = time.perf_counter()
                c = time.process_time()
                report = await parley.reports.report(ADMIN, "busy", lo, hi, gran, **scope)
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                t = time.perf_counter()
                json.dumps(report_json(report))
                report_csv(report, "periods")
                render = time.perf_counter() - t
            results[name] = {
                "best_s": min(times),
                "median_s": statistics.median(times),
                "cpu_s": min(cpu),
                "render_s": render,
                "requests": report.total.requests,
            }
            print(
                f"  {name:28} best {min(times):6.2f} s  median {statistics.median(times):6.2f} s"
                f"  (this process's CPU {min(cpu):5.2f} s)"
                f"  (+ JSON and CSV {render:.3f} s; {report.total.requests:,} requests)",
                flush=True,
            )
        out[backend] = {
            "chats": args.chats,
            "days": args.days,
            "agents": n_agents,
            "simulate_s": simulated,
            "write_s": written,
            "reports": results,
        }
    finally:
        await parley.db.dispose()
        if pg_name is not None:
            await _pg_drop(pg_name)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chats", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    # Accounts are made with cheap argon2 parameters (as the tests do): hashing is not measured.
    parley.services.auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)  # type: ignore[attr-defined]
    out: dict[str, Any] = {}
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        asyncio.run(run(backend, args, out))
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
