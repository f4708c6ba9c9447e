"""The wallboard: a workgroup's live numbers, from the facts the database holds, at ``now``.

Pure. ``Facts`` is what a workgroup's wallboard is computed from: its requests waiting now,
its requests that ended today (answered, abandoned by the customer, or expired in the queue),
its members' presence and load, and its live chats. The service keeps one ``Facts`` per
workgroup, brings it up to date from the database on every wake-up (``with_waiting``,
``with_finished``, ``with_agents``, ``with_chats``: each replaces what it is given, nothing is
counted twice however often a fact is read again) and from the bus for messages
(``with_message``), and asks ``compute`` for the ``Board`` whenever it may have changed.

The formulas (``docs/metrics.md``, "Live (wallboard)"), per queue and for the workgroup:

- waiting: requests waiting now, transfers between agents left out (their customer is being
  served); longest wait: ``now - arrival`` of the one waiting longest (0 when nobody waits);
- answered, abandoned, expired today: requests whose wait ended since local midnight in the
  workgroup's time zone (``day_start``), by how it ended;
- service level: ``answered within T / (answered + abandoned after T + expired)`` with ``T``
  the workgroup's target (45 s by default); those who gave up within ``T`` count nowhere;
  None when nothing counts yet;
- average speed of answer: ``Σ wait of the answered / answered`` (None when nobody was);
- occupancy: ``Σ min(chats, capacity) / Σ capacity`` over the agents counted as working
  (available, or holding at least one chat in any state but offline); None when none is.

A tile is red (``alerts``) when a threshold the workgroup set is reached: waiting at least
``alert_waiting``, longest wait at least ``alert_longest_wait_secs``, service level below
``sl_goal_percent``, average speed of answer at least ``alert_asa_secs``, abandoned at least
``alert_abandoned``. A live chat is stalled when nobody wrote for ``stalled_secs``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from parley.domain.errors import InvalidInput
from parley.domain.presence import Presence

DEFAULT_SL_TARGET_SECS = 45
DEFAULT_SL_GOAL_PERCENT = 80
DEFAULT_ALERT_LONGEST_WAIT_SECS = 120
DEFAULT_STALLED_SECS = 120
#: At most this many live chats are listed per workgroup (the longest waiting for a word first).
MAX_LIVE_CHATS = 500

#: The names of the tiles that can turn red.
ALERTS = ("waiting", "longest_wait", "service_level", "asa", "abandoned")


@dataclass(frozen=True, slots=True)
class Settings:
    """What a workgroup's wallboard counts and when its tiles turn red (admins set it)."""

    #: The service level's target: answered within this many seconds.
    sl_target_secs: int = DEFAULT_SL_TARGET_SECS
    #: The service level's goal: below this percentage its tile is red.
    sl_goal_percent: int = DEFAULT_SL_GOAL_PERCENT
    alert_waiting: int | None = None
    alert_longest_wait_secs: int | None = DEFAULT_ALERT_LONGEST_WAIT_SECS
    alert_asa_secs: int | None = None
    alert_abandoned: int | None = None
    #: A live chat in which nobody wrote for this long stands out as stalled.
    stalled_secs: int = DEFAULT_STALLED_SECS
    #: The console sounds when a tile turns red.
    sound: bool = False
    #: The chat's agents see who is watching it ("Sam is watching"); else nobody is told.
    show_monitoring: bool = False
    #: The widget asks the customer to rate the chat when it ends (``domain.wrapup``).
    ratings: bool = True

    def validate(self) -> Settings:
        if not 1 <= self.sl_target_secs <= 3600:
            raise InvalidInput("the service level target must be 1 to 3600 seconds")
        if not 1 <= self.sl_goal_percent <= 100:
            raise InvalidInput("the service level goal must be 1 to 100 percent")
        for name, value, top in (
            ("waiting", self.alert_waiting, 100_000),
            ("longest wait", self.alert_longest_wait_secs, 86_400),
            ("average speed of answer", self.alert_asa_secs, 86_400),
            ("abandoned", self.alert_abandoned, 1_000_000),
        ):
            if value is not None and not 1 <= value <= top:
                raise InvalidInput(f"the {name} threshold must be 1 to {top}, or none")
        if not 10 <= self.stalled_secs <= 86_400:
            raise InvalidInput("a chat is stalled after 10 to 86400 seconds")
        return self


class Ending(StrEnum):
    """How a request's wait ended."""

    ANSWERED = "answered"
    #: The customer gave up (cancelled, closed the chat) while waiting.
    ABANDONED = "abandoned"
    #: Nobody answered within the workgroup's wait timeout.
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Waiting:
    """A request waiting now."""

    request_id: str
    queue_id: int | None
    #: When its wait began (arrival in the queue; for a transfer, when it was asked for).
    since: datetime
    #: A transfer between agents: its customer is being served meanwhile.
    transfer: bool = False


@dataclass(frozen=True, slots=True)
class Finished:
    """A request whose wait ended: when it began, when and how it ended."""

    request_id: str
    queue_id: int | None
    since: datetime
    ended_at: datetime
    ending: Ending

    @property
    def wait(self) -> timedelta:
        return max(self.ended_at - self.since, timedelta(0))


@dataclass(frozen=True, slots=True)
class Agent:
    """A member of the workgroup, as routing sees them."""

    user_id: int
    name: str
    presence: Presence
    #: When the presence last changed.
    since: datetime
    chats: int
    capacity: int


@dataclass(frozen=True, slots=True)
class LiveChat:
    """An active customer chat of the workgroup."""

    conversation_id: str
    customer: str
    queue_id: int | None
    #: The chat's present agents: (user id, name).
    agents: tuple[tuple[int, str], ...]
    created_at: datetime
    #: When its agent took it (the request's end); None if unknown.
    answered_at: datetime | None
    last_message_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Facts:
    """One workgroup's facts, each by its id (replacing a fact never counts it twice)."""

    queues: Mapping[int, str] = field(default_factory=dict)
    waiting: Mapping[str, Waiting] = field(default_factory=dict)
    finished: Mapping[str, Finished] = field(default_factory=dict)
    agents: Mapping[int, Agent] = field(default_factory=dict)
    chats: Mapping[str, LiveChat] = field(default_factory=dict)


def with_waiting(facts: Facts, waiting: Iterable[Waiting]) -> Facts:
    """The requests waiting now, all of them: a request waiting again (a transfer) is no
    longer finished."""
    now_waiting = {w.request_id: w for w in waiting}
    finished = {k: v for k, v in facts.finished.items() if k not in now_waiting}
    return replace(facts, waiting=now_waiting, finished=finished)


def with_finished(facts: Facts, finished: Iterable[Finished], *, whole: bool = False) -> Facts:
    """Requests whose wait ended, read again: each replaces what was known of it (``whole``:
    these are all of them). A finished request is not waiting."""
    found = {f.request_id: f for f in finished}
    merged = found if whole else {**facts.finished, **found}
    waiting = {k: v for k, v in facts.waiting.items() if k not in found}
    return replace(facts, finished=merged, waiting=waiting)


def with_agents(facts: Facts, agents: Iterable[Agent]) -> Facts:
    return replace(facts, agents={a.user_id: a for a in agents})


def with_chats(facts: Facts, chats: Iterable[LiveChat]) -> Facts:
    """The live chats, all of them; a message time already known and later than the one read
    is kept (the bus brought it first)."""
    out: dict[str, LiveChat] = {}
    for chat in chats:
        known = facts.chats.get(chat.conversation_id)
        if (
            known is not None
            and known.last_message_at is not None
            and (chat.last_message_at is None or known.last_message_at > chat.last_message_at)
        ):
            chat = replace(chat, last_message_at=known.last_message_at)
        out[chat.conversation_id] = chat
    return replace(facts, chats=out)


def with_message(facts: Facts, conversation_id: str, at: datetime) -> Facts:
    """A message was written in a live chat at ``at`` (unknown chats are left alone)."""
    chat = facts.chats.get(conversation_id)
    if chat is None or (chat.last_message_at is not None and chat.last_message_at >= at):
        return facts
    return replace(facts, chats={**facts.chats, conversation_id: replace(chat, last_message_at=at)})


def since_day_start(facts: Facts, start: datetime) -> Facts:
    """Forget the requests that ended before ``start`` (a new day began)."""
    return replace(facts, finished={k: v for k, v in facts.finished.items() if v.ended_at >= start})


def day_start(zone: str | None, now: datetime) -> datetime:
    """Local midnight of ``now``'s day in ``zone`` (an IANA name; None: UTC), in UTC. On a day
    a DST change skips midnight, the first instant of the day."""
    tz = ZoneInfo(zone) if zone else UTC
    local = now.astimezone(tz)
    # A midnight that does not exist (a DST change skips it) converts with the offset before
    # the change: the instant of the jump, the day's first.
    return datetime.combine(local.date(), time(0), tzinfo=tz).astimezone(UTC)


# The board --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class QueueTile:
    """One queue's numbers (``queue_id`` None: the whole workgroup)."""

    queue_id: int | None
    name: str
    waiting: int
    longest_wait_secs: int
    answered: int
    abandoned: int
    expired: int
    answered_in_target: int
    #: 0..1, or None when nothing counts yet.
    service_level: float | None
    asa_secs: float | None
    alerts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class AgentTile:
    user_id: int
    name: str
    presence: Presence
    secs_in_state: int
    chats: int
    capacity: int


@dataclass(frozen=True, slots=True)
class ChatTile:
    conversation_id: str
    customer: str
    queue_id: int | None
    queue_name: str
    agents: tuple[tuple[int, str], ...]
    created_at: datetime
    #: How long the customer waited for the agent (None if unknown).
    wait_secs: int | None
    #: How long since the agent took it (since it opened, if that is unknown).
    duration_secs: int
    #: How long since the last message (since it was taken, if nobody wrote yet).
    idle_secs: int
    stalled: bool


@dataclass(frozen=True, slots=True)
class Board:
    at: datetime
    day_start: datetime
    settings: Settings
    total: QueueTile
    queues: tuple[QueueTile, ...]
    agents: tuple[AgentTile, ...]
    #: Agents per presence (every presence, 0 included).
    by_presence: tuple[tuple[str, int], ...]
    occupancy: float | None
    chats: tuple[ChatTile, ...]
    #: Every red tile: "<alert>" for the workgroup's, "<alert>:<queue id>" for a queue's.
    alerts: tuple[str, ...]


def _secs(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds()))


@dataclass(slots=True)
class Counts:
    """A queue's (or every queue's) requests whose wait ended today, counted."""

    answered: int = 0
    in_target: int = 0
    waited_secs: float = 0.0
    abandoned: int = 0
    late_abandons: int = 0
    expired: int = 0

    def add(self, f: Finished, target_secs: float) -> None:
        wait = max((f.ended_at - f.since).total_seconds(), 0.0)
        if f.ending is Ending.ANSWERED:
            self.answered += 1
            self.waited_secs += wait
            if wait <= target_secs:
                self.in_target += 1
        elif f.ending is Ending.ABANDONED:
            self.abandoned += 1
            if wait > target_secs:
                self.late_abandons += 1
        else:
            self.expired += 1


@dataclass(frozen=True, slots=True)
class Ended:
    """The day's ended requests counted for the workgroup and per queue (``ended``): they
    change only when the facts are read again, so the service counts them then, not on every
    tick."""

    total: Counts
    by_queue: Mapping[int | None, Counts]


def ended(facts: Facts, settings: Settings, start: datetime, now: datetime) -> Ended:
    """One pass over the requests that ended between ``start`` and ``now``."""
    target = float(settings.sl_target_secs)
    total = Counts()
    by_queue: dict[int | None, Counts] = {}
    for f in facts.finished.values():
        if start <= f.ended_at <= now:
            total.add(f, target)
            found = by_queue.get(f.queue_id)
            if found is None:
                found = by_queue[f.queue_id] = Counts()
            found.add(f, target)
    return Ended(total, by_queue)


def _tile(
    queue_id: int | None,
    name: str,
    waiting: list[Waiting],
    counts: Counts,
    settings: Settings,
    now: datetime,
) -> QueueTile:
    counted = counts.answered + counts.late_abandons + counts.expired
    level = None if counted == 0 else counts.in_target / counted
    asa = None if not counts.answered else counts.waited_secs / counts.answered
    longest = max((_secs(now - w.since) for w in waiting), default=0)
    alerts = []
    if settings.alert_waiting is not None and len(waiting) >= settings.alert_waiting:
        alerts.append("waiting")
    if settings.alert_longest_wait_secs is not None and longest >= settings.alert_longest_wait_secs:
        alerts.append("longest_wait")
    if level is not None and level * 100 < settings.sl_goal_percent:
        alerts.append("service_level")
    if settings.alert_asa_secs is not None and asa is not None and asa >= settings.alert_asa_secs:
        alerts.append("asa")
    if settings.alert_abandoned is not None and counts.abandoned >= settings.alert_abandoned:
        alerts.append("abandoned")
    return QueueTile(
        queue_id,
        name,
        len(waiting),
        longest,
        counts.answered,
        counts.abandoned,
        counts.expired,
        counts.in_target,
        level,
        asa,
        tuple(alerts),
    )


def working(agent: Agent) -> bool:
    """Counted in occupancy: available, or holding a chat (in any state but offline)."""
    return agent.presence is Presence.AVAILABLE or (
        agent.presence is not Presence.OFFLINE and agent.chats > 0
    )


def occupancy(agents: Iterable[Agent]) -> float | None:
    counted = [a for a in agents if working(a) and a.capacity > 0]
    slots = sum(a.capacity for a in counted)
    if slots == 0:
        return None
    return sum(min(a.chats, a.capacity) for a in counted) / slots


def compute(
    facts: Facts,
    settings: Settings,
    start: datetime,
    now: datetime,
    counted: Ended | None = None,
) -> Board:
    """The board at ``now``, counting the requests that ended since ``start`` (the workgroup's
    day start, ``day_start``). ``counted``: those, already counted by ``ended`` for these
    facts and settings (a busy day holds thousands; boards are computed every second)."""
    if counted is None:
        counted = ended(facts, settings, start, now)
    waiting = [w for w in facts.waiting.values() if not w.transfer]
    waiting_in: dict[int | None, list[Waiting]] = {}
    for w in waiting:
        waiting_in.setdefault(w.queue_id, []).append(w)
    total = _tile(None, "All queues", waiting, counted.total, settings, now)
    queues = tuple(
        _tile(
            queue_id,
            name,
            waiting_in.get(queue_id, []),
            counted.by_queue.get(queue_id, Counts()),
            settings,
            now,
        )
        for queue_id, name in sorted(facts.queues.items())
    )
    agents = tuple(
        AgentTile(a.user_id, a.name, a.presence, _secs(now - a.since), a.chats, a.capacity)
        for a in sorted(facts.agents.values(), key=lambda a: (a.name.casefold(), a.user_id))
    )
    counts = {p.value: 0 for p in Presence}
    for a in facts.agents.values():
        counts[a.presence.value] += 1
    stalled = timedelta(seconds=settings.stalled_secs)
    chats = []
    for c in facts.chats.values():
        started = c.answered_at or c.created_at
        last = c.last_message_at if c.last_message_at is not None else started
        chats.append(
            ChatTile(
                c.conversation_id,
                c.customer,
                c.queue_id,
                facts.queues.get(c.queue_id, "") if c.queue_id is not None else "",
                c.agents,
                c.created_at,
                None if c.answered_at is None else _secs(c.answered_at - c.created_at),
                _secs(now - started),
                _secs(now - last),
                now - last >= stalled,
            )
        )
    # The quietest first: a stalled chat stands out at the top.
    chats.sort(key=lambda c: (-c.idle_secs, c.conversation_id))
    alerts = [*total.alerts]
    for tile in queues:
        alerts += [f"{a}:{tile.queue_id}" for a in tile.alerts]
    return Board(
        at=now,
        day_start=start,
        settings=settings,
        total=total,
        queues=queues,
        agents=agents,
        by_presence=tuple(counts.items()),
        occupancy=occupancy(facts.agents.values()),
        chats=tuple(chats[:MAX_LIVE_CHATS]),
        alerts=tuple(alerts),
    )


def turned_red(before: Board | None, after: Board) -> tuple[str, ...]:
    """The tiles red now that were not before (what the console sounds for)."""
    old = set() if before is None else set(before.alerts)
    return tuple(a for a in after.alerts if a not in old)
