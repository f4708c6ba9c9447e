"""Who dispatches which workgroup (``services.runtime.Ownership``), step by step.

Several ``Ownership`` objects in one process stand for several nodes: each has its own engine
and its own lock session on one PostgreSQL schema, and the tests call ``step`` explicitly (or
run the loops with a takeover time so long that only nudges can explain a change). Killing a
node's session is ``pg_terminate_backend``; a hung node is one that stops stepping.
``share`` itself is pure and tested without a database.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
import sqlalchemy as sa
from tests.fakes import FakeClock
from tests.support import postgres_schema

from parley.realtime.bus import LocalBus
from parley.realtime.notifications import Kick, Notification, Rebalance
from parley.services.admin import AdminService, WorkgroupSettings
from parley.services.routing import RoutingService
from parley.services.runtime import Dispatcher, Ownership, _score, node_ident, share
from parley.storage.db import Database, sqlite_url
from parley.storage.stores import Stores

POLL_SECS = 0.05
POLLS = 200  # x POLL_SECS: the bound of every wait on a condition here

# ---------------------------------------------------------------------------------------------
# share: pure


@pytest.mark.parametrize(("workgroups", "nodes"), [(0, 1), (1, 2), (4, 3), (7, 2), (50, 3)])
def test_share_gives_every_node_its_part_and_every_workgroup_one_node(
    workgroups: int, nodes: int
) -> None:
    wgs = list(range(1, workgroups + 1))
    members = [node_ident(f"node-{i}") for i in range(nodes)]
    owner = share(wgs, members)
    assert sorted(owner) == wgs
    loads = sorted(sum(1 for n in owner.values() if n == m) for m in members)
    assert loads[-1] - loads[0] <= 1, loads
    assert sum(loads) == workgroups
    # Every node computes the same answer whatever order it read things in.
    shuffled = random.Random(7)
    for _ in range(5):
        wgs_seen, members_seen = wgs[:], members[:]
        shuffled.shuffle(wgs_seen)
        shuffled.shuffle(members_seen)
        assert share(wgs_seen, members_seen) == owner


def test_share_moves_little_when_a_node_leaves_or_joins() -> None:
    wgs = list(range(1, 61))
    members = [node_ident(f"node-{i}") for i in range(4)]
    before = share(wgs, members)
    # Node 3 leaves: its 15 workgroups must move, and few others.
    after = share(wgs, members[:3])
    moved = {wg for wg in wgs if before[wg] != after[wg]}
    assert {wg for wg in wgs if before[wg] == members[3]} <= moved
    assert len(moved) <= 15 + 10, len(moved)
    # A fifth node joins: it takes its 12, and few others move.
    joined = share(wgs, [*members, node_ident("node-4")])
    moved = {wg for wg in wgs if before[wg] != joined[wg]}
    assert len(moved) <= 12 + 10, len(moved)


def test_share_of_no_node_is_empty() -> None:
    assert share([1, 2, 3], []) == {}


def test_share_is_the_same_on_every_machine_and_version() -> None:
    """Nodes must agree: pinned values (changing them is a change of the cluster protocol)."""
    a, b, c = (node_ident(f"node-{x}") for x in "abc")
    assert (a, b, c) == (-1784020865, -133779116, 287304874)
    assert share(range(1, 7), [a, b, c]) == {1: c, 2: b, 3: a, 4: c, 5: a, 6: b}


def test_share_is_rendezvous_hashing_with_bounded_loads() -> None:
    """``share`` inlines its score: the same as the plain definition."""

    def plain(wgs: list[int], nodes: list[int]) -> dict[int, int]:
        members, ids = sorted(set(nodes)), sorted(set(wgs))
        base, extra = divmod(len(ids), len(members))
        load = dict.fromkeys(members, 0)
        owner = {}
        for wg in ids:
            full = sum(1 for n in members if load[n] == base + 1)
            room = [n for n in members if load[n] < base or (load[n] == base and full < extra)]
            owner[wg] = max(room, key=lambda n: (_score(wg, n), n))
            load[owner[wg]] += 1
        return owner

    rng = random.Random(11)
    for _ in range(200):
        nodes = [rng.randint(-(2**31), 2**31 - 1) for _ in range(rng.randint(1, 6))]
        wgs = rng.sample(range(1, 1000), rng.randint(0, 40))
        assert share(wgs, nodes) == plain(wgs, nodes)


# ---------------------------------------------------------------------------------------------
# Ownership on PostgreSQL


class RecordingBus(LocalBus):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[Notification] = []

    async def publish(self, notes: Sequence[Notification]) -> None:
        self.sent += notes
        await super().publish(notes)


class Place:
    """A schema, and the nodes made on it (each its own engine); all closed at the end."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.db = Database(url)
        self.clock = FakeClock()
        self.bus = RecordingBus()
        self._owned: list[tuple[Ownership, Database]] = []
        self._made = itertools.count(1)

    def node(
        self, name: str, *, takeover_secs: float = 60, bus: RecordingBus | None = None
    ) -> Ownership:
        db = Database(self.url)
        node = Ownership(
            db, bus or RecordingBus(), node_id=name, takeover=timedelta(seconds=takeover_secs)
        )
        self._owned.append((node, db))
        return node

    async def add_workgroups(self, count: int, bus: LocalBus | None = None) -> list[int]:
        stores = Stores.create()
        admin = AdminService(
            self.db,
            bus or self.bus,
            self.clock,
            staff=stores.staff,
            workgroups=stores.workgroups,
            agents=stores.agents,
            accounts=stores.accounts,
            audit=stores.audit,
        )
        made = []
        for _ in range(count):
            wg = await admin.create_workgroup(
                None, f"wg{next(self._made)}", WorkgroupSettings(name="W")
            )
            made.append(wg.id)
        return made

    async def locks(self) -> dict[int, set[int]]:
        """Node ident -> the workgroups whose lock its session holds, read from ``pg_locks``
        by another session (so it is what PostgreSQL says, not what the nodes think)."""
        async with self.db.engine.connect() as conn:
            rows = (
                await conn.execute(
                    sa.text(
                        """
                        SELECT n.objid::bigint AS node, w.objid::bigint AS wg
                        FROM pg_locks n JOIN pg_locks w ON w.pid = n.pid
                        WHERE n.locktype = 'advisory' AND w.locktype = 'advisory'
                          AND n.objsubid = 2 AND w.objsubid = 2 AND n.granted AND w.granted
                          AND n.classid::bigint = (hashtext(current_schema() || '/dispatch-nodes')
                                                   ::bigint & 4294967295)
                          AND w.classid::bigint = (hashtext(current_schema() || '/dispatcher')
                                                   ::bigint & 4294967295)
                        """
                    )
                )
            ).all()
        held: dict[int, set[int]] = {}
        for row in rows:
            ident = row.node - (1 << 32) if row.node >= 1 << 31 else row.node
            held.setdefault(int(ident), set()).add(int(row.wg))
        return held

    async def kill_session(self, node: Ownership) -> None:
        """What a dead process does to its session: PostgreSQL ends it."""
        async with self.db.engine.connect() as conn:
            pids = (
                await conn.scalars(
                    sa.text(
                        """
                        SELECT pid FROM pg_locks
                        WHERE locktype = 'advisory' AND objsubid = 2 AND granted
                          AND objid::bigint = (CAST(:ident AS bigint) & 4294967295)
                          AND classid::bigint = (hashtext(current_schema() || '/dispatch-nodes')
                                                 ::bigint & 4294967295)
                        """
                    ),
                    {"ident": node.ident},
                )
            ).all()
            assert len(pids) == 1, pids
            # Waits (up to 5 s) until the session has ended and its locks are gone.
            ended = await conn.scalar(
                sa.text("SELECT pg_terminate_backend(:p, 5000)"), {"p": pids[0]}
            )
            assert ended
            await conn.commit()

    async def close(self) -> None:
        for node, db in self._owned:
            await node.close()
            await db.dispose()
        await self.db.dispose()


@pytest.fixture
async def place() -> AsyncIterator[Place]:
    async with postgres_schema() as url:
        p = Place(url)
        await p.db.migrate()
        try:
            yield p
        finally:
            await p.close()


async def balance(*nodes: Ownership) -> None:
    """Step the nodes in turn until two rounds in a row change nothing (bounded). (After one
    quiet round a node may just have joined, and the others not yet seen it.)"""
    quiet = 0
    for _ in range(10):
        before = [n.owned for n in nodes]
        for node in nodes:
            assert await node.step()
        quiet = quiet + 1 if [n.owned for n in nodes] == before else 0
        if quiet == 2:
            return
    pytest.fail(f"no balance after 10 rounds: {[sorted(n.owned) for n in nodes]}")


def assert_shared(wgs: list[int], *nodes: Ownership) -> None:
    owned = [n.owned for n in nodes]
    for x, y in itertools.combinations(owned, 2):
        assert not x & y, owned  # nobody runs a workgroup twice
    assert frozenset().union(*owned) == frozenset(wgs), owned  # nor leaves one out
    sizes = sorted(len(o) for o in owned)
    assert sizes[-1] - sizes[0] <= 1, owned  # and each runs its part


async def test_two_nodes_share_the_workgroups(place: Place) -> None:
    wgs = await place.add_workgroups(7)
    a, b = place.node("a"), place.node("b")
    assert await a.step()
    assert a.owned == frozenset(wgs)  # alone, it runs everything
    assert a.take_gained() == set(wgs)

    assert await b.step()  # joins; a still holds everything
    assert b.owned == frozenset()
    assert await a.step()  # lets b's part go
    assert len(a.owned) in (3, 4)
    assert await b.step()  # takes it
    assert_shared(wgs, a, b)
    assert b.take_gained() == set(b.owned)
    assert a.take_gained() == set()  # a only let go
    assert await place.locks() == {a.ident: set(a.owned), b.ident: set(b.owned)}
    # Joining and letting go both told the others to look now.
    assert isinstance(b._bus, RecordingBus) and isinstance(a._bus, RecordingBus)
    assert [n.kind for n in b._bus.sent] == ["rebalance"]
    assert [n.kind for n in a._bus.sent] == ["rebalance", "rebalance"]  # joined, let go

    # Nothing changes while nothing changes.
    await balance(a, b)
    before = (a.owned, b.owned)
    assert await a.step() and await b.step()
    assert (a.owned, b.owned) == before


async def test_a_node_that_stops_lets_its_workgroups_go_at_once(place: Place) -> None:
    wgs = await place.add_workgroups(6)
    a, b = place.node("a"), place.node("b")
    await balance(a, b)
    assert_shared(wgs, a, b)
    mine = set(b.owned)
    await b.close()
    assert b.owned == frozenset()
    assert isinstance(b._bus, RecordingBus)
    assert isinstance(b._bus.sent[-1], Rebalance)
    assert await place.locks() == {a.ident: set(a.owned)}  # released, not waiting for a timeout
    assert await a.step()
    assert a.owned == frozenset(wgs)
    assert a.take_gained() >= mine


async def test_a_dead_nodes_workgroups_move_and_it_joins_again(place: Place) -> None:
    wgs = await place.add_workgroups(5)
    a, b, c = place.node("a"), place.node("b"), place.node("c")
    await balance(a, b, c)
    assert_shared(wgs, a, b, c)
    lost = set(c.owned)

    await place.kill_session(c)
    await balance(a, b)
    assert_shared(wgs, a, b)
    assert lost <= a.take_gained() | b.take_gained()
    assert c.owned == lost  # c does not know yet; its next step tells it

    assert not await c.step()  # the session is gone: c drops everything
    assert c.owned == frozenset()
    await balance(a, b, c)  # and joins again
    assert_shared(wgs, a, b, c)


async def test_a_hung_node_loses_its_workgroups_within_the_takeover_time(place: Place) -> None:
    wgs = await place.add_workgroups(4)
    takeover = 2.0
    a, b = place.node("a", takeover_secs=takeover), place.node("b", takeover_secs=takeover)
    await balance(a, b)
    assert_shared(wgs, a, b)
    loop = asyncio.get_running_loop()
    hung_at = loop.time()
    # b stops stepping (its session stays open, silent); a goes on stepping as its loop would.
    for _ in range(POLLS):
        assert await a.step()
        if a.owned == frozenset(wgs):
            break
        await asyncio.sleep(POLL_SECS)
    assert a.owned == frozenset(wgs)
    # PostgreSQL ended b's silent session (idle_session_timeout = 3/4 of the takeover time).
    assert loop.time() - hung_at >= takeover * 3 / 4 - POLL_SECS
    assert await place.locks() == {a.ident: set(wgs)}
    assert not await b.step()
    await balance(a, b)
    assert_shared(wgs, a, b)


async def test_a_node_whose_id_is_taken_runs_nothing(place: Place) -> None:
    wgs = await place.add_workgroups(2)
    a, twin = place.node("a"), place.node("a")
    assert await a.step()
    assert await twin.step()  # not an error: it waits for the other to go
    assert twin.owned == frozenset()
    assert a.owned == frozenset(wgs)
    await a.close()
    assert await twin.step()
    assert await twin.step()
    assert twin.owned == frozenset(wgs)


async def wait_until(condition: str, check: Callable[[], object]) -> None:
    for _ in range(POLLS):
        if check():
            return
        await asyncio.sleep(POLL_SECS)
    pytest.fail(f"not {condition} within {POLLS * POLL_SECS} s")


async def test_nodes_balance_and_take_new_workgroups_when_told(place: Place) -> None:
    """With the loops running, but steps 15 s apart: joins, leaves and new workgroups are
    acted on at once, because the nodes tell each other (``Rebalance``, ``Kick``)."""
    bus = RecordingBus()  # stands for Redis between the nodes
    wgs = await place.add_workgroups(3, bus)
    a, b = place.node("a", bus=bus), place.node("b", bus=bus)
    bus.subscribe(a.on_notification)
    bus.subscribe(b.on_notification)
    tasks = [asyncio.create_task(n.run()) for n in (a, b)]
    try:
        await wait_until("shared", lambda: len(a.owned | b.owned) == 3 and a.owned and b.owned)
        assert_shared(wgs, a, b)

        # A workgroup made at runtime: its Kick tells both nodes to look, and one takes it.
        wgs += await place.add_workgroups(1, bus)
        await wait_until("the new one taken", lambda: wgs[-1] in a.owned | b.owned)
        await wait_until("shared again", lambda: len(a.owned) == len(b.owned) == 2)
        assert_shared(wgs, a, b)

        # A Kick for a workgroup it knows does not make a node look again.
        a._nudge.clear()
        await a.on_notification(Kick(workgroup_id=wgs[0]))
        assert not a._nudge.is_set()

        # b stops (as Parley.stop does it): a takes everything at once.
        await b.close()
        await tasks[1]  # its loop has returned
        await wait_until("all on a", lambda: a.owned == frozenset(wgs))
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


# ---------------------------------------------------------------------------------------------
# The dispatcher runs what its node owns, and nothing else


class FakeRouting:
    """Records the runs; every workgroup has work; ``conflicts`` runs fail like a concurrent
    offer to the same agent would."""

    def __init__(self, workgroups: Sequence[int], conflicts: int = 0) -> None:
        self.workgroups = list(workgroups)
        self.runs: list[int] = []
        self.conflicts = conflicts
        #: Workgroups whose kept queue the dispatcher dropped (taken: loaded whole).
        self.forgotten: set[int] = set()

    async def run(self, workgroup_id: int) -> None:
        self.runs.append(workgroup_id)
        if self.conflicts:
            self.conflicts -= 1
            raise sa.exc.IntegrityError("INSERT INTO offers ...", {}, Exception("duplicate key"))

    async def workgroups_with_work(self) -> list[int]:
        return list(self.workgroups)

    def forget(self, workgroup_ids: Iterable[int]) -> None:
        self.forgotten.update(workgroup_ids)

    def expire(self) -> None:
        pass


def dispatcher_for(routing: FakeRouting, ownership: Ownership) -> Dispatcher:
    # The fake clock never moves: only kicks and ownership changes wake a dispatcher.
    return Dispatcher(
        cast(RoutingService, routing), ownership, FakeClock(), interval=timedelta(seconds=5)
    )


async def test_each_workgroup_runs_on_its_owner_only(place: Place) -> None:
    bus = RecordingBus()
    wgs = await place.add_workgroups(6, bus)
    a, b = place.node("a", bus=bus), place.node("b", bus=bus)
    ra, rb = FakeRouting(wgs), FakeRouting(wgs)
    da, db = dispatcher_for(ra, a), dispatcher_for(rb, b)
    for handler in (a.on_notification, b.on_notification, da.on_notification, db.on_notification):
        bus.subscribe(handler)
    tasks = [asyncio.create_task(job) for job in (a.run(), b.run(), da.run(), db.run())]
    try:
        await wait_until("shared", lambda: len(a.owned) == len(b.owned) == 3)
        assert_shared(wgs, a, b)
        # Each node ran what it took: a dispatcher starts a workgroup it takes from the database.
        await wait_until("taken ones run", lambda: set(ra.runs) >= a.owned)
        assert ra.forgotten >= a.owned  # a workgroup taken is loaded whole
        await wait_until("taken ones run", lambda: set(rb.runs) >= b.owned)

        ra.runs.clear()
        rb.runs.clear()
        await bus.publish([Kick(workgroup_id=wg) for wg in wgs])  # every node hears each
        await wait_until("kicks acted on", lambda: len(ra.runs) + len(rb.runs) >= len(wgs))
        assert sorted(ra.runs) == sorted(a.owned)
        assert sorted(rb.runs) == sorted(b.owned)

        # b stops (as Parley.stop does it): a runs b's workgroups at once, unkicked.
        mine = set(b.owned)
        await b.close()
        for task in tasks[1::2]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await wait_until("b's workgroups run on a", lambda: set(ra.runs) >= mine)
        assert a.owned == frozenset(wgs)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def test_a_run_that_met_another_nodes_offer_runs_again_at_once(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path))
    alone = Ownership(db, LocalBus(), node_id="a", takeover=timedelta(seconds=10))
    assert alone.everything  # SQLite: one node runs every workgroup
    routing = FakeRouting([], conflicts=2)
    dispatcher = dispatcher_for(routing, alone)
    task = asyncio.create_task(dispatcher.run())
    try:
        await dispatcher.on_notification(Kick(workgroup_id=7))
        await wait_until("run three times", lambda: len(routing.runs) == 3)
        assert routing.runs == [7, 7, 7]  # two conflicts, then it went through
        await dispatcher.on_notification(Kick(workgroup_id=8))
        await wait_until("the next one run", lambda: routing.runs[-1:] == [8])
        assert routing.runs == [7, 7, 7, 8]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await db.dispose()
