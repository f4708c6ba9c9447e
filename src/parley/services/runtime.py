"""The node's background work: who dispatches which workgroup, the dispatcher loop, and the
maintenance loop.

Each workgroup's dispatcher runs on one node at a time. On SQLite (one process) this node runs
them all. On PostgreSQL the live nodes share them (``Ownership``): each node holds a lock that
says it is live and one lock per workgroup it runs, all on one dedicated session
(``parley.storage.dispatch_locks``), and every node computes the same ``share`` of the
workgroups over the live nodes. When a node dies its session ends (or, if it hangs, PostgreSQL
ends it after ``idle_session_timeout``), every lock it held goes at once, and the others take
its workgroups at their next step: within ``dispatch_takeover_secs``. A node that takes a
workgroup reads its waiting requests and pending offers from the database: nothing the old
owner knew is lost, and nothing is offered twice (the offers table admits one live offer per
request and per agent, and every routing transaction locks the workgroup's row first).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Collection
from datetime import datetime, timedelta

import sqlalchemy as sa

from parley.clock import Clock
from parley.metrics import Metrics
from parley.realtime.bus import Bus
from parley.realtime.notifications import Kick, Notification, Rebalance
from parley.services.presence import PresenceService
from parley.services.routing import RoutingService
from parley.storage.db import Database
from parley.storage.dispatch_locks import LockSession

log = logging.getLogger(__name__)

#: A node steps (heartbeat, look, take and release) this many times per takeover time, and
#: PostgreSQL ends a lock session silent for this many steps less one (``silence_limit``).
STEPS_PER_TAKEOVER = 4
#: How long a node stopping waits for a step in progress before it hangs up its lock session.
CLOSE_WAIT_SECS = 2.0


def silence_limit(takeover: timedelta) -> timedelta:
    """How long PostgreSQL lets a node's session be silent, on its lock session
    (``idle_session_timeout``) and inside a transaction on any of its sessions
    (``idle_in_transaction_session_timeout``: a node that hung mid-transaction must not keep
    its row locks, and the workgroups behind them, from the node that takes over)."""
    return takeover * (STEPS_PER_TAKEOVER - 1) / STEPS_PER_TAKEOVER


async def wait_first(event: asyncio.Event, sleeper: Awaitable[None]) -> None:
    """Return when ``event`` is set or ``sleeper`` finishes, whichever comes first."""
    await wait_any((event,), sleeper)


async def wait_any(events: Collection[asyncio.Event], sleeper: Awaitable[None]) -> None:
    """Return when one of ``events`` is set or ``sleeper`` finishes, whichever comes first."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    sleep = asyncio.ensure_future(sleeper)
    tasks = {*waiters, sleep}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        # Not `suppress(CancelledError)` around `await task`: that also swallowed a cancel of
        # this very task arriving meanwhile, and the loop calling us ran on (Parley.stop then
        # waited for it forever). gather passes on its own cancellation, not its children's.
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception):
                raise result


def node_ident(node_id: str) -> int:
    """The ``int4`` a node's live lock is keyed on (and the node's name in ``share``)."""
    digest = hashlib.blake2b(node_id.encode(), digest_size=4).digest()
    return int.from_bytes(digest, "big", signed=True)


_M64 = (1 << 64) - 1


def _score(workgroup_id: int, node: int) -> int:
    """A pseudo-random 64-bit score of a (workgroup, node) pair: MurmurHash3's finaliser of the
    pair packed in 64 bits (a bijection that mixes every bit; the same on every machine).
    ``share`` inlines it."""
    x = ((workgroup_id << 32) | (node & 0xFFFFFFFF)) & _M64
    x = ((x ^ (x >> 33)) * 0xFF51AFD7ED558CCD) & _M64
    x = ((x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53) & _M64
    return x ^ (x >> 33)


def share(workgroups: Collection[int], nodes: Collection[int]) -> dict[int, int]:
    """Which node runs each workgroup: rendezvous hashing with bounded loads.

    Workgroups are taken in id order; each goes to the node with the highest ``_score`` for
    it among those with room, and a node has room below ``W // N`` workgroups, or for one more
    while fewer than ``W % N`` nodes have that many. So every node runs ``W // N`` or one more,
    every node computes the same answer from the same view, and a node joining or leaving
    moves mostly its own share. (1,000 workgroups over 10 nodes: 10-20 ms; ``Ownership``
    computes it again only when the workgroups or the live nodes change.)"""
    members = sorted(set(nodes))
    if not members:
        return {}
    ids = sorted(set(workgroups))
    base, extra = divmod(len(ids), len(members))
    load = dict.fromkeys(members, 0)
    full = 0  # nodes at base + 1
    owner: dict[int, int] = {}
    keyed = [(n, n & 0xFFFFFFFF) for n in members]
    for wg in ids:
        high = (wg << 32) & _M64
        best, best_score = members[0], -1
        for node, low in keyed:
            count = load[node]
            if count > base or (count == base and full >= extra):
                continue  # no room
            x = high | low  # _score(wg, node), inlined
            x = ((x ^ (x >> 33)) * 0xFF51AFD7ED558CCD) & _M64
            x = ((x ^ (x >> 33)) * 0xC4CEB9FE1A85EC53) & _M64
            x ^= x >> 33
            if x > best_score or (x == best_score and node > best):
                best, best_score = node, x
        owner[wg] = best
        load[best] += 1
        if load[best] == base + 1:
            full += 1
    return owner


class Ownership:
    """Which workgroups this node dispatches.

    On SQLite, all of them (``everything``). On PostgreSQL, ``run`` steps every
    ``takeover / STEPS_PER_TAKEOVER``, and at once when nudged: when another node joined or
    let workgroups go (``Rebalance``), or a ``Kick`` names a workgroup it has not seen yet (one
    created since). A step is the session's heartbeat and one look at the locks: it takes this
    node's live lock if it does not hold it yet, then computes ``share`` of every workgroup
    over the live nodes, lets go of the workgroups that are no longer this node's, and tries
    the locks of those that are (one still held by its previous owner is taken at a later
    step, once that owner has let it go). A node that let something go, or joined, publishes
    ``Rebalance`` so that the others step at once. Any error drops every lock (the session is
    closed) and the node joins again at the next step.
    """

    def __init__(self, db: Database, bus: Bus, *, node_id: str, takeover: timedelta) -> None:
        self._db = db
        self._bus = bus
        self._node_id = node_id
        self.ident = node_ident(node_id)
        self.everything = db.is_sqlite
        self.step_secs = takeover.total_seconds() / STEPS_PER_TAKEOVER
        self._idle_timeout_ms = max(1, round(1000 * silence_limit(takeover).total_seconds()))
        self._session: LockSession | None = None
        self._known: frozenset[int] = frozenset()
        # The last share computed, and what it was computed from: the same view, the same share.
        self._shared: tuple[frozenset[int], frozenset[int], frozenset[int]] | None = None
        self._nudge = asyncio.Event()
        self._gained: set[int] = set()
        self._refused = False  # another session holds this node's ident (logged once)
        self._stepping = asyncio.Lock()  # a step, or the close, at a time
        self._closed = False
        #: The workgroups this node runs (all of them if ``everything``).
        self.owned: frozenset[int] = frozenset()
        #: Set whenever ``owned`` changes.
        self.changed = asyncio.Event()

    def owns(self, workgroup_id: int) -> bool:
        return self.everything or workgroup_id in self.owned

    def owns_any(self) -> bool:
        return self.everything or bool(self.owned)

    def take_gained(self) -> set[int]:
        """Workgroups this node took since the last call (their dispatcher starts from the
        database)."""
        gained, self._gained = self._gained, set()
        return gained

    async def on_notification(self, note: Notification) -> None:
        if self.everything:
            return
        if (isinstance(note, Rebalance) and note.node_id != self._node_id) or (
            isinstance(note, Kick) and note.workgroup_id not in self._known
        ):
            self._nudge.set()

    async def run(self) -> None:
        if self.everything:
            self.changed.set()
            return
        while not self._closed:
            self._nudge.clear()
            if await self.step():
                await wait_first(self._nudge, asyncio.sleep(self.step_secs))
            else:
                # Nudges must not hammer a database that is down: wait the whole step.
                await asyncio.sleep(self.step_secs)

    async def step(self) -> bool:
        """One round (see the class). Returns False if it failed and dropped every lock."""
        async with self._stepping:
            if self._closed:
                return True
            try:
                tell = await self._step()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A database error (the session ended, the server is down) is expected here:
                # one line says it. Anything else is a bug: its traceback goes with it.
                expected = isinstance(exc, sa.exc.DBAPIError)
                log.warning("dispatcher locks lost (%s); joining again", exc, exc_info=not expected)
                await self._drop(release=False)
                return False
        if tell:
            await self._tell()
        return True

    async def _tell(self) -> None:
        try:
            await self._bus.publish([Rebalance(node_id=self._node_id)])
        except Exception:  # the others then look at their next step
            log.warning("could not tell the other nodes to rebalance", exc_info=True)

    async def _step(self) -> bool:
        """Returns whether to tell the other nodes (``Rebalance``)."""
        if self._session is None:
            self._session = await LockSession.open(
                self._db.engine, idle_timeout_ms=self._idle_timeout_ms
            )
        session = self._session
        view = await session.view()
        joined = False
        if not view.joined:
            if not await session.join(self.ident):
                self._set_owned(frozenset())
                if not self._refused:
                    log.error(
                        "another live node holds the dispatcher id of node %r (the same "
                        "--node-id?); this node runs no workgroup until it is gone",
                        self._node_id,
                    )
                self._refused = True
                return False
            self._refused = False
            joined = True
            view = await session.view()
        self._known = view.workgroups
        wanted = self._wanted(view.workgroups, view.nodes)
        let_go = view.mine - wanted
        await session.release(let_go)
        got = await session.take(wanted - view.mine)
        self._set_owned((view.mine - let_go) | got)
        return joined or bool(let_go)

    def _wanted(self, workgroups: frozenset[int], nodes: frozenset[int]) -> frozenset[int]:
        """This node's part of ``share``."""
        if self._shared is None or self._shared[:2] != (workgroups, nodes):
            mine = frozenset(wg for wg, n in share(workgroups, nodes).items() if n == self.ident)
            self._shared = (workgroups, nodes, mine)
        return self._shared[2]

    def _set_owned(self, owned: frozenset[int]) -> None:
        if owned == self.owned:
            return
        gained, lost = owned - self.owned, self.owned - owned
        self._gained = (self._gained | gained) - lost
        self.owned = owned
        self.changed.set()
        log.info(
            "node %s now runs the dispatchers of %d workgroups (took %s, let go %s)",
            self._node_id,
            len(owned),
            sorted(gained),
            sorted(lost),
        )

    async def _drop(self, *, release: bool) -> None:
        self._set_owned(frozenset())  # first stop dispatching, then let the locks go
        if self._session is not None:
            session, self._session = self._session, None
            await session.close(release=release)

    async def close(self) -> None:
        """On shutdown, before ``run`` is cancelled: let a step in progress finish (a query
        cancelled midway would leave the session unable to release anything), release every
        lock at once, and tell the other nodes. ``run`` then returns."""
        if self.everything:
            return
        self._closed = True
        self._nudge.set()
        try:  # a step stuck on a database that does not answer must not hold up the shutdown
            await asyncio.wait_for(self._stepping.acquire(), CLOSE_WAIT_SECS)
        except TimeoutError:
            waited = False
        else:
            waited = True
        try:
            had = self._session is not None
            await self._drop(release=waited)
        finally:
            if waited:
                self._stepping.release()
        if had:
            await self._tell()


class Dispatcher:
    """Runs the routing of each workgroup this node owns: when kicked, when a timeout falls
    due, when the node takes the workgroup, and every ``interval`` as a safety net (a kick lost
    on the bus is then late, not lost)."""

    def __init__(
        self,
        routing: RoutingService,
        ownership: Ownership,
        clock: Clock,
        *,
        interval: timedelta,
        metrics: Metrics | None = None,
    ) -> None:
        self._metrics = metrics
        self._routing = routing
        self._ownership = ownership
        self._clock = clock
        self._interval = interval
        self._kicked: set[int] = set()
        self._wake = asyncio.Event()
        self._deadlines: dict[int, datetime] = {}

    async def on_notification(self, note: Notification) -> None:
        if isinstance(note, Kick) and self._ownership.owns(note.workgroup_id):
            self._kicked.add(note.workgroup_id)
            self._wake.set()

    async def run(self) -> None:
        owns = self._ownership.owns
        next_sweep = self._clock.now()
        while True:
            self._wake.clear()
            self._ownership.changed.clear()
            now = self._clock.now()
            # A workgroup just taken starts from the database (its queue loaded whole: another
            # node changed it meanwhile); one let go is forgotten. Kept queues stay on any node
            # that uses them (accepts, chats opened: they are a cache checked against the
            # database's revision), until due for a full load.
            gained = self._ownership.take_gained()
            self._routing.forget(gained)
            self._routing.expire()
            due = {wg for wg in self._kicked if owns(wg)} | gained
            self._kicked.clear()
            self._deadlines = {wg: when for wg, when in self._deadlines.items() if owns(wg)}
            due |= {wg for wg, when in self._deadlines.items() if when <= now}
            if now >= next_sweep:
                if self._ownership.owns_any():
                    try:
                        due |= {wg for wg in await self._routing.workgroups_with_work() if owns(wg)}
                    except Exception:
                        log.exception("could not list workgroups with waiting requests")
                next_sweep = now + self._interval
            for workgroup_id in sorted(due):
                if not owns(workgroup_id):
                    continue  # let go meanwhile: its new owner runs it
                deadline = await self._run(workgroup_id)
                if deadline is None or not owns(workgroup_id):
                    self._deadlines.pop(workgroup_id, None)
                else:
                    self._deadlines[workgroup_id] = deadline
            wake_at = min([next_sweep, *self._deadlines.values()])
            await wait_any((self._wake, self._ownership.changed), self._clock.sleep_until(wake_at))

    async def _run(self, workgroup_id: int) -> datetime | None:
        """One workgroup's routing. Workgroups run on several nodes at once, and two of them
        may offer the same agent a chat at the same moment: the database refuses the second
        offer (one live offer per agent) or picks a deadlock victim, and that run, rolled
        back, runs again at once and sees the first one's offer."""
        attempt = 1
        while True:
            try:
                return await self._routing.run(workgroup_id)
            except Exception as exc:
                if attempt < CONFLICT_ATTEMPTS and _conflict(exc):
                    attempt += 1
                    log.info(
                        "routing of workgroup %s met another transaction (%s); running it again",
                        workgroup_id,
                        type(exc).__name__,
                    )
                    continue
                # Retried at the next sweep; the database still holds everything.
                log.exception("dispatcher run failed for workgroup %s", workgroup_id)
                if self._metrics is not None:
                    self._metrics.dispatch_decision("failed")
                return None


#: How often in a row a run that met another transaction is tried.
CONFLICT_ATTEMPTS = 3
#: PostgreSQL's deadlock_detected and serialization_failure.
_CONFLICT_STATES = frozenset({"40P01", "40001"})


def _conflict(exc: Exception) -> bool:
    """A unique index refused a concurrent insert, or PostgreSQL chose this transaction as a
    deadlock's victim: running it again will do."""
    if isinstance(exc, sa.exc.IntegrityError):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and (
        getattr(exc.orig, "sqlstate", None) in _CONFLICT_STATES
    )


#: A periodic job of the maintenance loop; returns when it next falls due (None: no deadline).
Sweep = Callable[[], Awaitable[datetime | None]]


class Maintenance:
    """Node heartbeat and presence grace periods, and the other ``sweeps`` (invitations'
    timeouts): each runs every heartbeat, and at the deadline it returned."""

    def __init__(self, presence: PresenceService, clock: Clock, *, heartbeat: timedelta) -> None:
        self._presence = presence
        self._clock = clock
        self._heartbeat = heartbeat
        self.wake = asyncio.Event()
        self.sweeps: list[Sweep] = []

    async def run(self) -> None:
        while True:
            self.wake.clear()
            try:
                deadline = await self._presence.sweep()
            except Exception:
                log.exception("presence sweep failed")
                deadline = None
            deadlines = [] if deadline is None else [deadline]
            for sweep in self.sweeps:
                try:
                    more = await sweep()
                except Exception:
                    log.exception("maintenance sweep failed")
                    more = None
                if more is not None:
                    deadlines.append(more)
            wake_at = min([self._clock.now() + self._heartbeat, *deadlines])
            await wait_first(self.wake, self._clock.sleep_until(wake_at))
