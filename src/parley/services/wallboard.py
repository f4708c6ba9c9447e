"""The wallboard, live: each node keeps the boards its subscribed supervisors see, and pushes
them over their sockets when they change (``docs/architecture.md``, "The wallboard").

- **Subscribing.** A ``supervise`` frame subscribes a socket: it gets every workgroup it may
  see (``access.supervised``: the ones an admin made its user supervise; an admin's, all) at
  once, read fresh from the database, then each one again whenever it changed. ``unsupervise``
  or the socket closing ends it. Whom a workgroup is shown to is checked again on every read of
  it (its supervisors are read with it), so an admin's change applies at the next one, which
  the change's ``Kick`` causes at once.
- **Kept from the database.** One ``wallboard.Facts`` per workgroup someone here watches. The
  bus says when to read it again (every node sees every notification): a ``Kick`` of the
  workgroup (a chat opened, an offer accepted or declined, a chat ended, settings or members
  changed), an entry other than a message in one of its chats or waiting requests (joined,
  left, ended: accepted, transferred, expired, cancelled, ended), a ``presence`` of one of its
  members. A read is one transaction of a few queries: the waiting requests, the requests that
  ended since a minute before the last read (the whole day every ``FULL_RELOAD_SECS``), the
  members' presence and load, the live chats. A ``presence`` reads only the members' presence
  and load. A message only moves its chat's last message time, in memory. Every
  ``FULL_RELOAD_SECS`` everything is read whole anyway, so a lost notification makes a number
  late, never wrong for longer; a resubscribed bus reads everything again.
- **Pushed, coalesced.** One loop per node: it reads what is dirty, computes each board
  (``wallboard.compute``, pure, at the node clock's ``now``), and sends a socket a workgroup's
  board only if it differs from what that socket was last sent (``at`` aside). At most one
  round per ``push_interval`` (0.25 s): changes in between go in the next one. Every
  ``TICK_SECS`` of the node's clock every board is computed again (waits grow by themselves);
  a round in between computes only the boards whose facts changed (read again, or a message),
  so an event costs its workgroup's read and board, not every board (``bench/wallboard.py``).
  A board is encoded once for all the sockets it goes to.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from parley.clock import Clock
from parley.domain import access, wallboard
from parley.domain.access import Principal, Staff, StaffRole
from parley.domain.conversation import EntryKind
from parley.domain.errors import NotFound
from parley.protocol import LiveChatOut, WallboardMessage, WallboardOut
from parley.realtime.hub import ClientConnection, LatestKey, latest_key
from parley.realtime.notifications import Appended, Kick, Notification, ToStaff
from parley.services.runtime import wait_first
from parley.storage.db import Database
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

log = logging.getLogger(__name__)

#: How often (node clock) boards are computed again without any change (waits grow).
TICK_SECS = 1
#: How often (node clock) a kept workgroup is read whole again: the safety net for a lost
#: notification, and the whole day's ended requests.
FULL_RELOAD_SECS = 60
#: How far before the last read an incremental read of ended requests starts: a transaction
#: that stamped its time earlier but committed after that read is still seen.
FINISHED_LAG = timedelta(seconds=60)
#: The entries that change who waits, who is served, or by whom (everything but text).
_TEXT = frozenset({EntryKind.MESSAGE.value, EntryKind.NOTE.value})


@dataclass
class _Subscriber:
    staff: Staff
    #: The workgroups this socket may see (refreshed on every read of a workgroup).
    workgroups: set[int] = field(default_factory=set)
    #: What it was last sent per workgroup (the board's JSON without ``at``).
    sent: dict[int, str] = field(default_factory=dict)


@dataclass
class _Kept:
    wg: WorkgroupRow
    facts: wallboard.Facts
    settings: wallboard.Settings
    zone: str | None
    supervisors: frozenset[int]
    start: datetime
    loaded_at: datetime
    finished_at: datetime
    #: The day's ended requests, counted when they were read (they change only then).
    counted: wallboard.Ended | None = None


class WallboardService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        workgroups: WorkgroupStore,
        supervision: SupervisionStore,
        push_interval: float = 0.25,
    ) -> None:
        self._db = db
        self._clock = clock
        self._workgroups = workgroups
        self._supervision = supervision
        self._push_interval = push_interval
        self._subs: dict[ClientConnection, _Subscriber] = {}
        self._kept: dict[int, _Kept] = {}
        #: Workgroups to read again from the database (what may have changed).
        self._dirty: set[int] = set()
        #: Workgroups to read again whole (a new subscriber, a resubscribed bus).
        self._whole: set[int] = set()
        #: Workgroups of which only the members' presence and load changed (a ``presence``):
        #: their agents alone are read again.
        self._presence: set[int] = set()
        self._recheck = False
        #: Workgroups whose facts changed since their board was last computed.
        self._changed: set[int] = set()
        #: When every board was last computed (the tick); in between, a round computes only
        #: the changed ones.
        self._all_at: datetime | None = None
        self._wake = asyncio.Event()
        #: Rounds and reads done (tests, diagnostics).
        self.rounds = 0
        self.reads = 0

    # Subscriptions ---------------------------------------------------------------------------

    async def subscribe(self, conn: ClientConnection) -> None:
        """Push this socket every board it may see: now (a fresh read), then on changes."""
        staff = access.require_supervisor(conn.principal)
        async with self._db.read() as tx:
            mine = await self._visible(tx, staff)
        self._subs[conn] = _Subscriber(staff, set(mine))
        # A fresh snapshot: read again whole, and sent (nothing was sent to this socket yet).
        self._whole |= mine
        self._wake.set()

    def unsubscribe(self, conn: ClientConnection) -> None:
        self._subs.pop(conn, None)
        if not self._subs:
            self._kept.clear()

    def detach(self, conn: ClientConnection) -> None:
        self.unsubscribe(conn)

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    async def _visible(self, tx: Tx, staff: Staff) -> frozenset[int]:
        supervises = (
            await self._supervision.supervised_by(tx, staff.user_id)
            if staff.role is StaffRole.SUPERVISOR
            else []
        )
        return access.supervised(staff, supervises, await self._supervision.workgroup_ids(tx))

    # The bus ---------------------------------------------------------------------------------

    async def on_notification(self, note: Notification) -> None:
        if not self._subs:
            return
        match note:
            case Kick(workgroup_id=w):
                if w in self._kept:
                    self._dirty.add(w)
                else:
                    self._recheck = True  # new, or newly supervised: who sees it?
                self._wake.set()
            case Appended(conversation_id=cid, entries=entries):
                where = self._workgroup_of(cid)
                if where is None:
                    return
                if any(e.kind not in _TEXT for e in entries):
                    self._dirty.add(where)
                else:
                    kept = self._kept[where]
                    for e in entries:
                        if e.kind == EntryKind.MESSAGE.value:
                            kept.facts = wallboard.with_message(kept.facts, cid, e.created_at)
                            self._changed.add(where)
                self._wake.set()
            case ToStaff(message=message) if message.get("type") == "presence":
                user_id = message.get("user_id")
                for w, kept in self._kept.items():
                    if user_id in kept.facts.agents:
                        self._presence.add(w)
                        self._wake.set()
            case _:
                pass

    async def resync(self) -> None:
        """The bus lost messages: read every kept workgroup whole again."""
        self._whole |= set(self._kept)
        self._recheck = True
        self._wake.set()

    def _workgroup_of(self, conversation_id: str) -> int | None:
        for w, kept in self._kept.items():
            if conversation_id in kept.facts.chats or conversation_id in kept.facts.waiting:
                return w
        return None

    # The loop --------------------------------------------------------------------------------

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        last = -float("inf")
        while True:
            self._wake.clear()
            # The next tick counts from the time this round computes at: a clock that moved
            # meanwhile makes the next round come at once.
            now = self._clock.now()
            tick = now + timedelta(seconds=TICK_SECS)
            if self._subs:
                try:
                    await self._round(now)
                except Exception:
                    log.exception("wallboard round failed")
                last = loop.time()
            await wait_first(self._wake, self._clock.sleep_until(tick))
            # Coalesce: at most one round per push interval (real time; what happens in
            # between goes out together in the next one).
            pause = last + self._push_interval - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)

    async def _round(self, now: datetime) -> None:
        self.rounds += 1
        # Every board at a tick (waits and times in state grow by themselves) or when whom
        # they are shown to may have changed; in between, those whose facts changed.
        everything = (
            self._recheck
            or self._all_at is None
            or now - self._all_at >= timedelta(seconds=TICK_SECS)
        )
        if self._recheck:
            self._recheck = False
            async with self._db.read() as tx:
                for conn, sub in self._subs.items():
                    self._show(conn, sub, await self._visible(tx, sub.staff))
        wanted: set[int] = set()
        for sub in self._subs.values():
            wanted |= sub.workgroups
        for w in list(self._kept):
            if w not in wanted:
                del self._kept[w]
        whole, self._whole = (self._whole & wanted) | (wanted - set(self._kept)), set()
        dirty, self._dirty = self._dirty & wanted, set()
        presence, self._presence = (self._presence & set(self._kept)) - dirty - whole, set()
        for w, k in self._kept.items():
            if now - k.loaded_at >= timedelta(seconds=FULL_RELOAD_SECS) or (
                wallboard.day_start(k.zone, now) != k.start
            ):
                whole.add(w)
        if dirty | whole | presence:
            async with self._db.read() as tx:
                for w in sorted(dirty | whole):
                    await self._read(tx, w, now, whole=w in whole)
                for w in sorted(presence - dirty - whole):
                    if w in self._kept:
                        await self._read_agents(tx, w)
        changed, self._changed = self._changed | dirty | whole | presence, set()
        if everything:
            self._all_at = now
        for w in sorted(wanted if everything else wanted & changed):
            kept = self._kept.get(w)
            out = None if kept is None else self._board(kept, now)
            key = None if out is None else out.model_dump_json(exclude={"at"})
            # Encoded once for every socket it goes to (``bench/wallboard.py``: with a hundred
            # supervisors, encoding per socket was most of a round's time).
            frame: tuple[str, LatestKey | None] | None = None
            for conn, sub in list(self._subs.items()):
                if w not in sub.workgroups:
                    continue
                # Its supervisors were read with it: whom it is shown to is as fresh.
                theirs = {w} if kept is not None and sub.staff.user_id in kept.supervisors else ()
                if kept is None or not access.can_supervise(sub.staff, w, theirs):
                    self._show(conn, sub, sub.workgroups - {w})
                elif sub.sent.get(w) != key:
                    assert key is not None
                    sub.sent[w] = key
                    if frame is None:
                        message = WallboardMessage(workgroup_id=w, board=out)
                        frame = (message.model_dump_json(), latest_key(message))
                    conn.send_text(*frame)

    def _show(self, conn: ClientConnection, sub: _Subscriber, workgroups: Iterable[int]) -> None:
        """From now on the socket sees these workgroups; one it was shown and may not see any
        more is taken off its screen (a board of null)."""
        sub.workgroups = set(workgroups)
        for w in sorted(set(sub.sent) - sub.workgroups):
            del sub.sent[w]
            conn.send(WallboardMessage(workgroup_id=w, board=None))

    def _board(self, kept: _Kept, now: datetime) -> WallboardOut:
        if kept.counted is None:
            kept.counted = wallboard.ended(kept.facts, kept.settings, kept.start, now)
        board = wallboard.compute(kept.facts, kept.settings, kept.start, now, kept.counted)
        return WallboardOut.of(kept.wg.id, kept.wg.slug, kept.wg.name, board)

    async def _read(self, tx: Tx, workgroup_id: int, now: datetime, *, whole: bool) -> None:
        """Read one workgroup's facts: whole, or what may have changed since the last read."""
        self.reads += 1
        kept = self._kept.get(workgroup_id)
        loaded = await load(
            tx,
            self._workgroups,
            self._supervision,
            workgroup_id,
            now,
            None if whole or kept is None else kept,
        )
        if loaded is None:
            self._kept.pop(workgroup_id, None)
            return
        self._kept[workgroup_id] = loaded

    async def _read_agents(self, tx: Tx, workgroup_id: int) -> None:
        """A presence changed: the members' presence and load alone are read again (one
        query of the dozen a read is; ``bench/wallboard.py``)."""
        self.reads += 1
        kept = self._kept[workgroup_id]
        agents = await self._supervision.agents(tx, workgroup_id, kept.wg.max_chats)
        kept.facts = wallboard.with_agents(kept.facts, agents)

    # REST: one board, read now ---------------------------------------------------------------

    async def snapshot(self, principal: Principal, slug: str) -> WallboardOut:
        """A workgroup's board read now (for scripts; the console is pushed its boards)."""
        now = self._clock.now()
        async with self._db.read() as tx:
            wg = await self._workgroups.workgroup_by_slug(tx, slug)
            staff = access.require_supervisor(principal)
            supervises = (
                await self._supervision.supervised_by(tx, staff.user_id)
                if staff.role is StaffRole.SUPERVISOR
                else []
            )
            access.require_supervise(staff, None if wg is None else wg.id, supervises)
            assert wg is not None
            kept = await load(tx, self._workgroups, self._supervision, wg.id, now, None)
        if kept is None:
            raise NotFound(access.NO_SUCH_WORKGROUP)
        return self._board(kept, now)

    async def live_chats(
        self,
        principal: Principal,
        *,
        workgroup: str | None = None,
        agent: int | None = None,
        queue: int | None = None,
    ) -> list[LiveChatOut]:
        """The live chats of the workgroups the principal supervises (or of one), filtered
        by agent and queue, the quietest first."""
        now = self._clock.now()
        staff = access.require_supervisor(principal)
        async with self._db.read() as tx:
            mine = await self._visible(tx, staff)
            if workgroup is not None:
                wg = await self._workgroups.workgroup_by_slug(tx, workgroup)
                access.require_supervise(staff, None if wg is None else wg.id, mine)
                assert wg is not None
                mine = frozenset({wg.id})
            boards = []
            for w in sorted(mine):
                kept = await load(tx, self._workgroups, self._supervision, w, now, None)
                if kept is not None:
                    boards.append(self._board(kept, now))
        chats = [c for b in boards for c in b.chats]
        if agent is not None:
            chats = [c for c in chats if any(a.user_id == agent for a in c.agents)]
        if queue is not None:
            chats = [c for c in chats if c.queue_id == queue]
        return sorted(chats, key=lambda c: (-c.idle_secs, c.conversation_id))


async def load(
    tx: Tx,
    workgroups: WorkgroupStore,
    supervision: SupervisionStore,
    workgroup_id: int,
    now: datetime,
    kept: _Kept | None,
) -> _Kept | None:
    """A workgroup's facts as the database holds them now: whole (``kept`` None), or brought
    up to date from ``kept`` (the ended requests since a minute before its last read)."""
    wg = await workgroups.workgroup(tx, workgroup_id)
    if wg is None:
        return None
    queues = {q.id: q.name for q in await workgroups.queues(tx, wg.id)}
    hours = await workgroups.workgroup_hours(tx, wg.id)
    zone = None if hours is None else hours.hours.timezone
    start = wallboard.day_start(zone, now)
    facts = wallboard.Facts() if kept is None else kept.facts
    facts = wallboard.since_day_start(replace(facts, queues=queues), start)
    whole = kept is None or kept.start != start
    since = start if kept is None or whole else max(start, kept.finished_at - FINISHED_LAG)
    facts = wallboard.with_finished(
        facts, await supervision.finished(tx, wg.id, queues.keys(), since), whole=whole
    )
    facts = wallboard.with_waiting(facts, await supervision.waiting(tx, wg.id))
    facts = wallboard.with_agents(facts, await supervision.agents(tx, wg.id, wg.max_chats))
    facts = wallboard.with_chats(
        facts, await supervision.live_chats(tx, wg.id, wallboard.MAX_LIVE_CHATS)
    )
    return _Kept(
        wg,
        facts,
        await supervision.settings(tx, wg.id),
        zone,
        frozenset(await supervision.supervisors(tx, wg.id)),
        start,
        now if kept is None or whole else kept.loaded_at,
        now,
    )
