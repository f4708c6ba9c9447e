"""Reports: a workgroup's numbers after the fact, per hour, day or week of its time zone.

Pure: ``Facts`` holds the rows the storage read (``parley.storage.reports``), already of one
workgroup and range, secret-shopper chats already left out; ``by_period`` and ``by_agent``
return the numbers. The formulas are ``docs/metrics.md``, "Reports"; the wait and service
level are the wallboard's (``wallboard.Counts``), so the live and the after-the-fact numbers
agree.

The categories add up: every request is counted once, when its first wait ended, as
answered, abandoned or expired; a left message that follows no chat request is a request of
its own (``left``). So ``answered + abandoned + expired + left = requests``.

Each fact is counted in the period in which it ended: a request when its first wait ended
(a transfer's later wait is not a new request), a chat when it ended, a missed offer when it
timed out, a transfer when it was accepted, a rating when it was given, a left message when
it was left.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from enum import StrEnum
from zoneinfo import ZoneInfo

from parley.domain.errors import InvalidInput
from parley.domain.presence import Presence
from parley.domain.wallboard import Counts, Ending, Finished

#: The longest range a report covers, in days; by the hour, at most ``MAX_HOUR_DAYS``.
MAX_RANGE_DAYS = 366
MAX_HOUR_DAYS = 31
DEFAULT_FCR_WINDOW_HOURS = 72
#: The percentile of the answered waits reported (nearest rank).
WAIT_PERCENTILE = 90


class Granularity(StrEnum):
    HOUR = "hour"
    DAY = "day"
    WEEK = "week"


class Matched(StrEnum):
    """How a chat's customer is recognised when they come back."""

    #: The verified identity (``conversations.customer_sub``).
    SUB = "sub"
    #: The email typed in the pre-chat form (``customer_email``), when there is no identity.
    EMAIL = "email"
    #: Neither: a return cannot be seen.
    NONE = "none"


# The facts --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Request:
    """A chat request whose first wait ended: where it waited, since and until when, how it
    ended, who took it (answered only)."""

    conversation_id: str
    queue_id: int | None
    since: datetime
    ended_at: datetime
    ending: Ending
    agent_id: int | None = None

    @property
    def wait_secs(self) -> float:
        return max((self.ended_at - self.since).total_seconds(), 0.0)


@dataclass(frozen=True, slots=True)
class Chat:
    """An answered customer chat that ended."""

    conversation_id: str
    queue_id: int | None
    created_at: datetime
    answered_at: datetime
    ended_at: datetime
    #: The agent who held it last (outcome, escalation, first-contact resolution go to them).
    last_agent_id: int | None
    outcome: str | None = None
    customer_sub: str | None = None
    customer_email: str | None = None
    #: It was transferred to another workgroup (an accepted transfer).
    transferred_out: bool = False
    #: The first message an agent wrote after it was answered.
    first_response_at: datetime | None = None

    @property
    def escalated(self) -> bool:
        return self.outcome == "escalated" or self.transferred_out

    @property
    def matched(self) -> Matched:
        if self.customer_sub:
            return Matched.SUB
        if self.customer_email and self.customer_email.strip():
            return Matched.EMAIL
        return Matched.NONE


@dataclass(frozen=True, slots=True)
class Stretch:
    """An agent holding a chat: from joining it to leaving it (or its end)."""

    agent_id: int
    conversation_id: str
    start: datetime
    end: datetime
    #: The chat's queue (where it was first answered).
    queue_id: int | None = None


@dataclass(frozen=True, slots=True)
class MissedOffer:
    """An offer the agent let time out."""

    agent_id: int
    queue_id: int | None
    at: datetime


@dataclass(frozen=True, slots=True)
class LeftMessage:
    at: datetime
    #: It follows a chat request (which is counted as that request); None: a request of its own.
    conversation_id: str | None
    queue_id: int | None = None


@dataclass(frozen=True, slots=True)
class Transfer:
    """An accepted transfer: of which chat, when, from whom."""

    conversation_id: str
    at: datetime
    from_agent: int | None
    queue_id: int | None


@dataclass(frozen=True, slots=True)
class Intervention:
    """A supervisor barged into a chat (``barged_in``) or took it over (``taken_over``)."""

    conversation_id: str
    at: datetime
    kind: str
    queue_id: int | None


@dataclass(frozen=True, slots=True)
class Rating:
    conversation_id: str
    agent_id: int | None
    queue_id: int | None
    at: datetime
    score: int


@dataclass(frozen=True, slots=True)
class Period:
    """A stretch of time a member spent in one presence (``end`` None: still)."""

    user_id: int
    presence: Presence
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Facts:
    requests: Sequence[Request] = ()
    chats: Sequence[Chat] = ()
    stretches: Sequence[Stretch] = ()
    missed_offers: Sequence[MissedOffer] = ()
    left_messages: Sequence[LeftMessage] = ()
    transfers: Sequence[Transfer] = ()
    ratings: Sequence[Rating] = ()
    periods: Sequence[Period] = ()
    interventions: Sequence[Intervention] = ()
    #: Later customer chats (any workgroup, shoppers left out), by who: ("sub", value) or
    #: ("email", value) -> their creation times, sorted. What first-contact resolution reads.
    contacts: Mapping[tuple[str, str], Sequence[datetime]] = field(default_factory=dict)


# The range --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Window:
    """A report's range: local days ``first`` to ``last`` (both included) in ``zone``, cut
    into periods of ``granularity``; ``start``/``end``: the range in UTC, ``end`` excluded."""

    zone: str | None
    first: date
    last: date
    granularity: Granularity
    start: datetime
    end: datetime

    @property
    def tz(self) -> tzinfo:
        return ZoneInfo(self.zone) if self.zone else UTC


def local_midnight(zone: str | None, day: date) -> datetime:
    """Midnight of ``day`` in ``zone`` (None: UTC), in UTC; the day's first instant when a
    DST change skips midnight (as ``wallboard.day_start``)."""
    tz = ZoneInfo(zone) if zone else UTC
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def window(zone: str | None, first: date, last: date, granularity: Granularity) -> Window:
    """The range, checked: ``first`` not after ``last``, at most ``MAX_RANGE_DAYS`` days, by
    the hour at most ``MAX_HOUR_DAYS``."""
    if last < first:
        raise InvalidInput("the range ends before it starts")
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise InvalidInput(f"a report covers at most {MAX_RANGE_DAYS} days")
    if granularity is Granularity.HOUR and days > MAX_HOUR_DAYS:
        raise InvalidInput(f"a report by the hour covers at most {MAX_HOUR_DAYS} days")
    return Window(
        zone,
        first,
        last,
        granularity,
        local_midnight(zone, first),
        local_midnight(zone, last + timedelta(days=1)),
    )


def period_start(w: Window, at: datetime) -> datetime:
    """The start (UTC) of the period ``at`` falls in: the local hour, day or week (weeks
    start on Monday), as in the workgroup's zone."""
    local = at.astimezone(w.tz)
    if w.granularity is Granularity.HOUR:
        # Offsets of half an hour are kept: the local hour's start, as an instant.
        return local.replace(minute=0, second=0, microsecond=0).astimezone(UTC)
    day = local.date()
    if w.granularity is Granularity.WEEK:
        day -= timedelta(days=day.weekday())
    return local_midnight(w.zone, day)


def periods(w: Window) -> list[datetime]:
    """Every period's start in the range, in order (the first week may start before it)."""
    out: list[datetime] = []
    if w.granularity is Granularity.HOUR:
        at = w.start
        while at < w.end:
            start = period_start(w, at)
            if not out or out[-1] != start:
                out.append(start)
            at += timedelta(hours=1)
        return out
    step = 7 if w.granularity is Granularity.WEEK else 1
    day = w.first
    if w.granularity is Granularity.WEEK:
        day -= timedelta(days=day.weekday())
    while day <= w.last:
        out.append(local_midnight(w.zone, day))
        day += timedelta(days=step)
    return out


def label(w: Window, start: datetime) -> str:
    """A period's start as local time with its offset (two 01:00s of a DST night differ)."""
    local = start.astimezone(w.tz)
    if w.granularity is Granularity.HOUR:
        return local.isoformat(timespec="minutes")
    return local.date().isoformat()


# The numbers ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Numbers:
    """One row of a report (docs/metrics.md, "Reports"). ``None``: nothing to average."""

    requests: int
    answered: int
    abandoned: int
    expired: int
    #: Left messages that followed no chat request (requests of their own).
    left: int
    #: Every left message, those after an expired chat included.
    left_messages: int
    abandoned_after_target: int
    abandoned_wait_avg_secs: float | None
    answered_in_target: int
    service_level: float | None
    wait_avg_secs: float | None
    wait_p90_secs: float | None
    missed_offers: int
    chats: int
    handle_avg_secs: float | None
    slot_handle_avg_secs: float | None
    first_response_avg_secs: float | None
    transfers: int
    #: A supervisor joined the chat (barged in), or took it over (the workgroup's and queues'
    #: rows only: an agent's have none).
    barge_ins: int
    take_overs: int
    #: The ended chats whose outcome counts here (an agent's: those they held last): what
    #: the escalation and first-contact rates are over.
    outcome_chats: int
    escalated: int
    escalation_rate: float | None
    resolved: int
    fcr: int
    fcr_rate: float | None
    #: Resolved chats whose window has not closed yet: left out of ``fcr_rate``.
    fcr_pending: int
    fcr_matched_sub: int
    fcr_matched_email: int
    fcr_unmatched: int
    ratings: int
    rating_avg: float | None
    rating_high_share: float | None


#: The columns of a report row, in order (the CSV's header after the period).
COLUMNS = tuple(Numbers.__dataclass_fields__)


@dataclass(slots=True)
class _Acc:
    counts: Counts = field(default_factory=Counts)
    abandoned_wait_secs: float = 0.0
    waits: list[float] = field(default_factory=list)
    left: int = 0
    left_messages: int = 0
    missed_offers: int = 0
    chats: int = 0
    handle_secs: float = 0.0
    slot_secs: float = 0.0
    first_responses: int = 0
    first_response_secs: float = 0.0
    transfers: int = 0
    barge_ins: int = 0
    take_overs: int = 0
    outcome_chats: int = 0
    escalated: int = 0
    resolved: int = 0
    fcr: int = 0
    fcr_pending: int = 0
    matched: dict[Matched, int] = field(default_factory=lambda: dict.fromkeys(Matched, 0))
    ratings: int = 0
    rating_sum: int = 0
    rating_high: int = 0

    def merge(self, other: _Acc) -> None:
        """Add ``other``'s facts to these (the total of disjoint rows)."""
        c, o = self.counts, other.counts
        c.answered += o.answered
        c.in_target += o.in_target
        c.waited_secs += o.waited_secs
        c.abandoned += o.abandoned
        c.late_abandons += o.late_abandons
        c.expired += o.expired
        self.waits.extend(other.waits)
        for name in (
            "abandoned_wait_secs",
            "left",
            "left_messages",
            "missed_offers",
            "chats",
            "handle_secs",
            "slot_secs",
            "first_responses",
            "first_response_secs",
            "transfers",
            "barge_ins",
            "take_overs",
            "outcome_chats",
            "escalated",
            "resolved",
            "fcr",
            "fcr_pending",
            "ratings",
            "rating_sum",
            "rating_high",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for m, n in other.matched.items():
            self.matched[m] += n

    def numbers(self) -> Numbers:
        c = self.counts
        counted = c.answered + c.late_abandons + c.expired
        settled = self.outcome_chats - self.fcr_pending
        return Numbers(
            requests=c.answered + c.abandoned + c.expired + self.left,
            answered=c.answered,
            abandoned=c.abandoned,
            expired=c.expired,
            left=self.left,
            left_messages=self.left_messages,
            abandoned_after_target=c.late_abandons,
            abandoned_wait_avg_secs=_avg(self.abandoned_wait_secs, c.abandoned),
            answered_in_target=c.in_target,
            service_level=None if counted == 0 else c.in_target / counted,
            wait_avg_secs=_avg(c.waited_secs, c.answered),
            wait_p90_secs=percentile(self.waits, WAIT_PERCENTILE),
            missed_offers=self.missed_offers,
            chats=self.chats,
            handle_avg_secs=_avg(self.handle_secs, self.chats),
            slot_handle_avg_secs=_avg(self.slot_secs, self.chats),
            first_response_avg_secs=_avg(self.first_response_secs, self.first_responses),
            transfers=self.transfers,
            barge_ins=self.barge_ins,
            take_overs=self.take_overs,
            outcome_chats=self.outcome_chats,
            escalated=self.escalated,
            escalation_rate=None
            if self.outcome_chats == 0
            else self.escalated / self.outcome_chats,
            resolved=self.resolved,
            fcr=self.fcr,
            fcr_rate=None if settled <= 0 else self.fcr / settled,
            fcr_pending=self.fcr_pending,
            fcr_matched_sub=self.matched[Matched.SUB],
            fcr_matched_email=self.matched[Matched.EMAIL],
            fcr_unmatched=self.matched[Matched.NONE],
            ratings=self.ratings,
            rating_avg=_avg(float(self.rating_sum), self.ratings),
            rating_high_share=None if self.ratings == 0 else self.rating_high / self.ratings,
        )


def _avg(total: float, n: int) -> float | None:
    return None if n == 0 else total / n


def percentile(values: Sequence[float], p: int) -> float | None:
    """The nearest-rank ``p``-th percentile: the smallest value with at least ``p`` % of the
    values at or below it. None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(math.ceil(p / 100 * len(ordered)) - 1, 0)]


def returned(
    chat: Chat, contacts: Mapping[tuple[str, str], Sequence[datetime]], window_h: int
) -> bool:
    """The same customer opened another chat after this one was opened and no later than
    ``window_h`` hours after it ended (by verified identity, else by typed email)."""
    if chat.customer_sub:
        key = ("sub", chat.customer_sub)
    elif chat.customer_email and chat.customer_email.strip():
        key = ("email", chat.customer_email.strip().casefold())
    else:
        return False
    times = contacts.get(key, ())
    i = bisect.bisect_right(times, chat.created_at)
    return i < len(times) and times[i] <= chat.ended_at + timedelta(hours=window_h)


def slot_secs(stretches: Iterable[Stretch]) -> dict[tuple[int, str], float]:
    """Each stretch's time per concurrent slot: every instant an agent holds ``k`` chats
    counts ``1/k`` to each. Keyed by (agent, conversation); a stretch holding the same chat
    twice adds up."""
    by_agent: dict[int, list[Stretch]] = {}
    for s in stretches:
        by_agent.setdefault(s.agent_id, []).append(s)
    out: dict[tuple[int, str], float] = {}
    for agent, mine in by_agent.items():
        points: list[tuple[datetime, int, int]] = []
        for i, s in enumerate(mine):
            if s.end > s.start:
                points.append((s.start, 1, i))
                points.append((s.end, 0, i))
        points.sort()
        active: set[int] = set()
        last: datetime | None = None
        share = [0.0] * len(mine)
        for at, opening, i in points:
            if last is not None and active and at > last:
                each = (at - last).total_seconds() / len(active)
                for j in active:
                    share[j] += each
            last = at
            if opening:
                active.add(i)
            else:
                active.discard(i)
        for i, s in enumerate(mine):
            key = (agent, s.conversation_id)
            out[key] = out.get(key, 0.0) + share[i]
    return out


@dataclass(frozen=True, slots=True)
class _Keys:
    """Which row (if any) each fact counts in: the period or the agent."""

    request: Callable[[Request], object | None]
    chat: Callable[[Chat], object | None]
    stretch: Callable[[Stretch], object | None]
    offer: Callable[[MissedOffer], object | None]
    left: Callable[[LeftMessage], object | None]
    transfer: Callable[[Transfer], object | None]
    rating: Callable[[Rating], object | None]
    intervention: Callable[[Intervention], object | None]
    #: Handle time from the agents' stretches (per agent) rather than per chat.
    per_agent: bool


def _collect(
    facts: Facts,
    keys: _Keys,
    target_secs: int,
    fcr_window_hours: int,
    now: datetime,
    slots: Mapping[tuple[int, str], float] | None = None,
) -> dict[object, _Acc]:
    accs: dict[object, _Acc] = {}

    def acc(key: object) -> _Acc:
        found = accs.get(key)
        if found is None:
            found = accs[key] = _Acc()
        return found

    target = float(target_secs)
    for r in facts.requests:
        key = keys.request(r)
        if key is None:
            continue
        a = acc(key)
        a.counts.add(Finished(r.conversation_id, r.queue_id, r.since, r.ended_at, r.ending), target)
        if r.ending is Ending.ANSWERED:
            a.waits.append(r.wait_secs)
        elif r.ending is Ending.ABANDONED:
            a.abandoned_wait_secs += r.wait_secs
    if slots is None:
        slots = slot_secs(facts.stretches)
    if keys.per_agent:
        for s in facts.stretches:
            key = keys.stretch(s)
            if key is None:
                continue
            a = acc(key)
            a.chats += 1
            a.handle_secs += max((s.end - s.start).total_seconds(), 0.0)
            a.slot_secs += slots.get((s.agent_id, s.conversation_id), 0.0)
    else:
        slot_of: dict[str, float] = {}
        for (_, cid), secs in slots.items():
            slot_of[cid] = slot_of.get(cid, 0.0) + secs
    window = timedelta(hours=fcr_window_hours)
    for c in facts.chats:
        key = keys.chat(c)
        if key is None:
            continue
        a = acc(key)
        a.outcome_chats += 1
        if not keys.per_agent:
            a.chats += 1
            a.handle_secs += max((c.ended_at - c.answered_at).total_seconds(), 0.0)
            a.slot_secs += slot_of.get(c.conversation_id, 0.0)
        if c.first_response_at is not None:
            a.first_responses += 1
            a.first_response_secs += max((c.first_response_at - c.answered_at).total_seconds(), 0.0)
        if c.escalated:
            a.escalated += 1
        if c.outcome == "resolved":
            a.resolved += 1
            a.matched[c.matched] += 1
            if c.ended_at + window > now:
                a.fcr_pending += 1
            elif not returned(c, facts.contacts, fcr_window_hours):
                a.fcr += 1
    for o in facts.missed_offers:
        key = keys.offer(o)
        if key is not None:
            acc(key).missed_offers += 1
    for m in facts.left_messages:
        key = keys.left(m)
        if key is not None:
            a = acc(key)
            a.left_messages += 1
            if m.conversation_id is None:
                a.left += 1
    for t in facts.transfers:
        key = keys.transfer(t)
        if key is not None:
            acc(key).transfers += 1
    for i in facts.interventions:
        key = keys.intervention(i)
        if key is not None:
            if i.kind == "taken_over":
                acc(key).take_overs += 1
            else:
                acc(key).barge_ins += 1
    for g in facts.ratings:
        key = keys.rating(g)
        if key is not None:
            a = acc(key)
            a.ratings += 1
            a.rating_sum += g.score
            if g.score >= 4:
                a.rating_high += 1
    return accs


@dataclass(frozen=True, slots=True)
class Scope:
    """What a report counts: the workgroup's (its facts), one queue's, or one agent's."""

    queue_id: int | None = None
    agent_id: int | None = None


def _keys(
    w: Window,
    scope: Scope,
    row: Callable[[datetime, int | None], object | None],
    *,
    per_agent: bool,
) -> _Keys:
    """Each fact's row: ``row(when it ended, whose it is)`` for the facts in the range, of the
    scope's queue and agent (an agent: none of the abandoned, expired or left)."""
    q, agent = scope.queue_id, scope.agent_id

    def key(at: datetime, queue: int | None, who: int | None) -> object | None:
        if not w.start <= at < w.end or (q is not None and queue != q):
            return None
        if agent is not None and who != agent:
            return None
        return row(at, who)

    return _Keys(
        request=lambda r: key(r.ended_at, r.queue_id, r.agent_id),
        chat=lambda c: key(c.ended_at, c.queue_id, c.last_agent_id),
        stretch=lambda s: key(s.end, s.queue_id, s.agent_id),
        offer=lambda o: key(o.at, o.queue_id, o.agent_id),
        left=lambda m: None if per_agent else key(m.at, m.queue_id, None),
        transfer=lambda t: key(t.at, t.queue_id, t.from_agent),
        rating=lambda g: key(g.at, g.queue_id, g.agent_id),
        intervention=lambda i: None if per_agent else key(i.at, i.queue_id, None),
        per_agent=per_agent,
    )


@dataclass(frozen=True, slots=True)
class Settings:
    """What the numbers depend on besides the facts (the workgroup's settings)."""

    target_secs: int
    fcr_window_hours: int = DEFAULT_FCR_WINDOW_HOURS


def by_period(
    facts: Facts, w: Window, scope: Scope, settings: Settings, now: datetime
) -> list[tuple[datetime, Numbers]]:
    """One row per period of the range (empty periods too), in order."""
    return report(facts, w, scope, settings, now)[0]


def report(
    facts: Facts,
    w: Window,
    scope: Scope,
    settings: Settings,
    now: datetime,
    slots: Mapping[tuple[int, str], float] | None = None,
) -> tuple[list[tuple[datetime, Numbers]], Numbers]:
    """The rows per period (empty periods too, in order) and the range's total, in one pass
    (the total is the rows' facts together: each fact of the range is in exactly one row).
    ``slots``: ``slot_secs`` of the facts' stretches, if already computed."""
    starts = periods(w)

    def period(at: datetime, _: int | None) -> datetime:
        # The period ``at`` (in the range) falls in: the last start at or before it.
        return starts[bisect.bisect_right(starts, at) - 1]

    keys = _keys(w, scope, period, per_agent=scope.agent_id is not None)
    accs = _collect(facts, keys, settings.target_secs, settings.fcr_window_hours, now, slots)
    whole = _Acc()
    for a in accs.values():
        whole.merge(a)
    return [(start, accs.get(start, _Acc()).numbers()) for start in starts], whole.numbers()


#: A row with nothing in it.
EMPTY = _Acc().numbers()


def total(facts: Facts, w: Window, scope: Scope, settings: Settings, now: datetime) -> Numbers:
    """The whole range as one row (averages over the range, not of the rows)."""
    keys = _keys(w, scope, lambda _at, _who: 0, per_agent=scope.agent_id is not None)
    accs = _collect(facts, keys, settings.target_secs, settings.fcr_window_hours, now)
    return accs.get(0, _Acc()).numbers()


def by_agent(
    facts: Facts,
    w: Window,
    queue_id: int | None,
    settings: Settings,
    now: datetime,
    slots: Mapping[tuple[int, str], float] | None = None,
) -> dict[int, Numbers]:
    """The range's totals per agent: requests they answered, chats they held (handle time
    from their own stretches), outcomes and first responses of the chats they held last,
    their missed offers, the transfers they made, their ratings. Abandoned, expired and left
    are nobody's."""
    keys = _keys(w, Scope(queue_id), lambda _at, who: who, per_agent=True)
    accs = _collect(facts, keys, settings.target_secs, settings.fcr_window_hours, now, slots)
    agents = sorted(k for k in accs if isinstance(k, int))
    return {k: accs[k].numbers() for k in agents}


def presence_secs(
    periods_: Iterable[Period], start: datetime, end: datetime, now: datetime
) -> dict[int, dict[Presence, float]]:
    """Seconds each member spent in each presence within ``[start, end)`` (an open period
    runs to ``now``)."""
    out: dict[int, dict[Presence, float]] = {}
    for p in periods_:
        stop = p.end if p.end is not None else now
        lo, hi = max(p.start, start), min(stop, end)
        if hi <= lo:
            continue
        mine = out.setdefault(p.user_id, dict.fromkeys(Presence, 0.0))
        mine[p.presence] += (hi - lo).total_seconds()
    return out
