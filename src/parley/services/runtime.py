"""The node's background work: leader election, the dispatcher loop, the maintenance loop.

Only the leader runs dispatchers. On SQLite (one process) this node always leads. On
PostgreSQL the leader holds a session-level advisory lock on a dedicated connection; when its
process dies the connection closes, PostgreSQL releases the lock, and a standby that retries
every ``leader_retry_secs`` takes over. The new leader reads every waiting request and pending
offer from the database: nothing the old leader knew is lost, and nothing is offered twice
(the offers table admits one live offer per request and per agent).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.clock import Clock
from parley.realtime.notifications import Kick, Notification
from parley.services.presence import PresenceService
from parley.services.routing import RoutingService
from parley.storage.db import Database

log = logging.getLogger(__name__)

# One lock per schema, so that installations sharing a database server do not contend.
_DISPATCHER_LOCK = "SELECT pg_try_advisory_lock(hashtext(current_schema() || '/dispatcher'))"


async def wait_first(event: asyncio.Event, sleeper: Awaitable[None]) -> None:
    """Return when ``event`` is set or ``sleeper`` finishes, whichever comes first."""
    waiter = asyncio.ensure_future(event.wait())
    sleep = asyncio.ensure_future(sleeper)
    try:
        await asyncio.wait({waiter, sleep}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (waiter, sleep):
            task.cancel()
        # Not `suppress(CancelledError)` around `await task`: that also swallowed a cancel of
        # this very task arriving meanwhile, and the loop calling us ran on (Parley.stop then
        # waited for it forever). gather passes on its own cancellation, not its children's.
        for result in await asyncio.gather(waiter, sleep, return_exceptions=True):
            if isinstance(result, Exception):
                raise result


class Leadership:
    def __init__(self, db: Database, *, retry_secs: float) -> None:
        self._db = db
        self._retry_secs = retry_secs
        self._conn: AsyncConnection | None = None
        self.is_leader = False
        self.changed = asyncio.Event()

    async def run(self) -> None:
        if self._db.is_sqlite:
            self._become(True)
            return
        while True:
            try:
                await self._hold()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.warning("dispatcher leadership lost", exc_info=True)
            self._become(False)
            await self._release()
            await asyncio.sleep(self._retry_secs)

    async def _hold(self) -> None:
        self._conn = await self._db.engine.connect()
        while True:
            if not self.is_leader:
                got = await self._conn.scalar(sa.text(_DISPATCHER_LOCK))
                await self._conn.commit()
                if got:
                    log.info("this node now runs the dispatchers")
                    self._become(True)
            else:
                await self._conn.execute(sa.text("SELECT 1"))  # is the lock's session alive?
                await self._conn.commit()
            await asyncio.sleep(self._retry_secs)

    def _become(self, leader: bool) -> None:
        if leader != self.is_leader:
            self.is_leader = leader
            self.changed.set()

    async def _release(self) -> None:
        if self._conn is not None:
            # Invalidate, not just close: a pooled connection would keep holding the session
            # lock, and no node could lead until the pool recycled it.
            with contextlib.suppress(Exception):
                await self._conn.invalidate()
            with contextlib.suppress(Exception):
                await self._conn.close()
            self._conn = None

    async def close(self) -> None:
        self._become(False)
        await self._release()


class Dispatcher:
    """Runs each workgroup's routing when kicked, when a timeout falls due, and every
    ``interval`` as a safety net (a kick lost on the bus is then late, not lost)."""

    def __init__(
        self,
        routing: RoutingService,
        leadership: Leadership,
        clock: Clock,
        *,
        interval: timedelta,
    ) -> None:
        self._routing = routing
        self._leadership = leadership
        self._clock = clock
        self._interval = interval
        self._kicked: set[int] = set()
        self._wake = asyncio.Event()
        self._deadlines: dict[int, datetime] = {}

    async def on_notification(self, note: Notification) -> None:
        if isinstance(note, Kick):
            self._kicked.add(note.workgroup_id)
            self._wake.set()

    async def run(self) -> None:
        next_sweep = self._clock.now()
        while True:
            if not self._leadership.is_leader:
                self._leadership.changed.clear()
                await self._leadership.changed.wait()
                next_sweep = self._clock.now()  # a new leader starts from the database
                continue
            self._wake.clear()
            now = self._clock.now()
            due = set(self._kicked)
            self._kicked.clear()
            due |= {wg for wg, when in self._deadlines.items() if when <= now}
            if now >= next_sweep:
                try:
                    due |= set(await self._routing.workgroups_with_work())
                except Exception:
                    log.exception("could not list workgroups with waiting requests")
                next_sweep = now + self._interval
            for workgroup_id in sorted(due):
                try:
                    deadline = await self._routing.run(workgroup_id)
                except Exception:
                    # Retried at the next sweep; the database still holds everything.
                    log.exception("dispatcher run failed for workgroup %s", workgroup_id)
                    deadline = None
                if deadline is None:
                    self._deadlines.pop(workgroup_id, None)
                else:
                    self._deadlines[workgroup_id] = deadline
            wake_at = min([next_sweep, *self._deadlines.values()])
            await wait_first(self._wake, self._clock.sleep_until(wake_at))


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
