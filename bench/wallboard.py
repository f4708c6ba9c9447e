"""The wallboard's cost per routing event: CPU time and frames, with N supervisors watching M
workgroups.

A fresh SQLite database holds M workgroups of 3 agents each (one queue each). N sockets
subscribe to the wallboard as admins (an admin sees every workgroup, so each socket gets every
board that changes). Then chats go through their life one event at a time, round-robin over
the workgroups: a chat **queued** (a conversation and its waiting request), **offered** (an
offer row: nothing a board shows changes), **accepted** (the request answered, the agent
joined, the chat active), a **message** (the chat's last message time, in memory), **ended**,
and an agent's **presence** change. Each event is written to the database directly (the
routing itself is not measured), then the service is told of it the way the bus tells it
(``Kick`` of the workgroup, ``Appended`` for a message, ``ToStaff`` presence) and does one
round (``WallboardService._round``: the incremental read of the dirty workgroup, every board
computed, each socket sent what changed). The CPU time of ``on_notification`` plus that round is
the event's cost (SQLite works in this process: its share is included); frames are the
``wallboard`` frames the round sent. A **tick** is a round with nothing dirty (the loop does
one every second: waits grow).

    PYTHONPATH=src:. python bench/wallboard.py [--supervisors 1,10,100] [--workgroups 10,100]
        [--chats 200] [--json out.json]

The node clock moves 0.05 s per event (20 events a second on the node; the full reload of
each workgroup every 60 s happens as it would, and shows in the mean, not the median). Before
each event a round at the event's time sends what time alone changed (waits and times in
state grow by the second), so an event's frames are its own.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher

import parley.services.auth
from parley.bootstrap import Parley, build
from parley.domain.access import Staff, StaffRole
from parley.domain.hours import BusinessHours
from parley.protocol import EntryOut
from parley.realtime.hub import ClientConnection
from parley.realtime.notifications import Appended, Kick, Notification, ToStaff
from parley.services.admin import WorkgroupSettings
from parley.services.inbox import HoursSettings
from parley.services.wallboard import WallboardService
from parley.settings import Settings
from parley.storage.tables import (
    agent_state,
    chat_requests,
    conversations,
    entries,
    offers,
    participants,
)

ADMIN = Staff(0, "bench", "Bench", StaffRole.ADMIN)
STEP = timedelta(seconds=0.05)
EVENTS = ("queued", "offered", "accepted", "message", "ended", "presence")


class Counting(ClientConnection):
    """A socket that counts the frames it is sent, then drops them (encoded as for the wire:
    ``send`` encodes, the transport's queue is left out)."""

    def __init__(self, connection_id: str) -> None:
        super().__init__(connection_id, ADMIN)
        self.frames = 0

    def send_text(self, text: str, key: Any = None) -> None:
        self.frames += 1


class BenchClock:
    def __init__(self, now: datetime) -> None:
        self.at = now

    def now(self) -> datetime:
        return self.at

    async def sleep_until(self, when: datetime) -> None:  # pragma: no cover - not used
        await asyncio.sleep(0)


async def setup(parley: Parley, n_workgroups: int) -> dict[int, list[int]]:
    """M workgroups of 3 agents each; their ids and their agents' ids."""
    await parley.db.migrate()
    out: dict[int, list[int]] = {}
    for w in range(n_workgroups):
        slug = f"wg{w}"
        await parley.admin.create_workgroup(None, slug, WorkgroupSettings(name=f"WG {w}"))
        await parley.inbox.set_hours(
            None, slug, HoursSettings(BusinessHours("Europe/Paris"), queue_without_agents=True)
        )
        ids = []
        for a in range(3):
            user = await parley.admin.create_user(
                None, f"a{w}x{a}", "bench-" + "x" * 16, StaffRole.AGENT, f"A {w}.{a}", [slug]
            )
            ids.append(user.id)
        async with parley.db.read() as tx:
            wg = await parley.stores.workgroups.workgroup_by_slug(tx, slug)
            assert wg is not None
            out[wg.id] = ids
    async with parley.db.write() as tx:
        await tx.conn.execute(
            sa.update(agent_state).values(presence="available", changed_at=datetime.now(UTC))
        )
    return out


class Life:
    """Chats going through their life, one event at a time, written to the database."""

    def __init__(self, parley: Parley, agents: dict[int, list[int]]) -> None:
        self.parley = parley
        self.agents = agents
        self.queues: dict[int, int] = {}
        self.presence_flip: dict[int, bool] = defaultdict(bool)

    async def load_queues(self) -> None:
        async with self.parley.db.read() as tx:
            for w in self.agents:
                [q] = await self.parley.stores.workgroups.queues(tx, w)
                self.queues[w] = q.id

    async def event(self, kind: str, w: int, cid: str, n: int, now: datetime) -> Notification:
        agent = self.agents[w][n % 3]
        async with self.parley.db.write() as tx:
            c = tx.conn
            if kind == "queued":
                await c.execute(
                    sa.insert(conversations).values(
                        id=cid,
                        kind="customer_chat",
                        status="queued",
                        workgroup_id=w,
                        last_seq=1,
                        metadata={"name": f"C{n}"},
                        created_at=now,
                    )
                )
                await c.execute(
                    sa.insert(chat_requests).values(
                        conversation_id=cid,
                        workgroup_id=w,
                        status="waiting",
                        created_at=now,
                        declined_by={},
                        offers_made=0,
                        queue_id=self.queues[w],
                    )
                )
            elif kind == "offered":
                await c.execute(
                    sa.insert(offers).values(
                        offer_id=cid,
                        request_id=cid,
                        workgroup_id=w,
                        agent_id=agent,
                        status="pending",
                        offered_at=now,
                        expires_at=now + timedelta(seconds=30),
                    )
                )
            elif kind == "accepted":
                await c.execute(
                    sa.update(offers).where(offers.c.offer_id == cid).values(status="accepted")
                )
                await c.execute(
                    sa.update(chat_requests)
                    .where(chat_requests.c.conversation_id == cid)
                    .values(status="accepted", ended_at=now, agent_id=agent, offers_made=1)
                )
                await c.execute(
                    sa.update(conversations)
                    .where(conversations.c.id == cid)
                    .values(status="active")
                )
                await c.execute(
                    sa.insert(participants).values(
                        conversation_id=cid,
                        key=f"user:{agent}",
                        role="agent",
                        user_id=agent,
                        display_name="A",
                        joined_at=now,
                    )
                )
            elif kind == "message":
                await c.execute(
                    sa.insert(entries).values(
                        conversation_id=cid,
                        seq=2,
                        kind="message",
                        author=f"user:{agent}",
                        body={"text": "hi"},
                        created_at=now,
                    )
                )
            elif kind == "ended":
                await c.execute(
                    sa.update(conversations)
                    .where(conversations.c.id == cid)
                    .values(status="ended", ended_at=now, end_reason="visitor")
                )
                await c.execute(
                    sa.update(participants)
                    .where(participants.c.conversation_id == cid)
                    .values(left_at=now)
                )
            else:  # presence
                away = self.presence_flip[agent] = not self.presence_flip[agent]
                await c.execute(
                    sa.update(agent_state)
                    .where(agent_state.c.user_id == agent)
                    .values(presence="away" if away else "available", changed_at=now)
                )
        if kind == "message":
            entry = EntryOut.model_validate(
                {
                    "seq": 2,
                    "kind": "message",
                    "author": f"user:{agent}",
                    "body": {"text": "hi"},
                    "client_id": None,
                    "created_at": now,
                }
            )
            return Appended(conversation_id=cid, entries=[entry])
        if kind == "presence":
            return ToStaff(message={"type": "presence", "user_id": agent, "presence": "away"})
        return Kick(workgroup_id=w)


async def measure(
    parley: Parley, life: Life, clock: BenchClock, n_subs: int, chats: int
) -> dict[str, Any]:
    service = WallboardService(
        parley.db,
        clock,
        workgroups=parley.stores.workgroups,
        supervision=parley.stores.supervision,
    )
    conns = [Counting(f"s{i}") for i in range(n_subs)]
    for conn in conns:
        await service.subscribe(conn)
    await service._round(clock.now())
    cpu: dict[str, list[float]] = defaultdict(list)
    frames: dict[str, list[int]] = defaultdict(list)
    workgroups = sorted(life.agents)
    warm = len(workgroups)  # the first chat of each workgroup is not counted (first reads)
    for n in range(chats + warm):
        w = workgroups[n % len(workgroups)]
        cid = uuid.uuid4().hex
        for kind in EVENTS:
            clock.at += STEP
            # The boards as time alone changes them (a growing wait, time in state): sent
            # first, so that what the event's round sends is the event's.
            await service._round(clock.at)
            note = await life.event(kind, w, cid, n, clock.at)
            before = sum(c.frames for c in conns)
            t = time.process_time()
            await service.on_notification(note)
            await service._round(clock.at)
            spent = time.process_time() - t
            if n >= warm:
                cpu[kind].append(spent)
                frames[kind].append(sum(c.frames for c in conns) - before)
    # Ticks: nothing dirty, every board computed again (waits grow), only changes sent.
    for _ in range(20):
        clock.at += timedelta(seconds=1)
        before = sum(c.frames for c in conns)
        t = time.process_time()
        await service._round(clock.at)
        cpu["tick"].append(time.process_time() - t)
        frames["tick"].append(sum(c.frames for c in conns) - before)
    return {
        kind: {
            "cpu_us_median": statistics.median(cpu[kind]) * 1e6,
            "cpu_us_mean": statistics.fmean(cpu[kind]) * 1e6,
            "frames_mean": statistics.fmean(frames[kind]),
        }
        for kind in (*EVENTS, "tick")
    }


async def run(n_workgroups: int, subs: list[int], chats: int, out: dict[str, Any]) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="parley-bench-wallboard-"))
    parley = build(Settings(data_dir=tmp / "data"))
    try:
        agents = await setup(parley, n_workgroups)
        life = Life(parley, agents)
        await life.load_queues()
        clock = BenchClock(datetime.now(UTC))
        for n in subs:
            result = await measure(parley, life, clock, n, chats)
            out[f"{n_workgroups} workgroups, {n} supervisors"] = result
            print(f"{n_workgroups} workgroups, {n} supervisors:", flush=True)
            for kind, r in result.items():
                print(
                    f"  {kind:9} {r['cpu_us_median']:8.0f} µs median"
                    f" ({r['cpu_us_mean']:8.0f} mean), {r['frames_mean']:6.1f} frames",
                    flush=True,
                )
    finally:
        await parley.db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--supervisors", default="1,10,100")
    parser.add_argument("--workgroups", default="10,100")
    parser.add_argument("--chats", type=int, default=200)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    parley.services.auth._hasher = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    out: dict[str, Any] = {}
    for m in [int(x) for x in args.workgroups.split(",")]:
        asyncio.run(run(m, [int(x) for x in args.supervisors.split(",")], args.chats, out))
    if args.json is not None:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
