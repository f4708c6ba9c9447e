"""Business hours of a workgroup, and whether it takes chats now.

A workgroup's hours are wall-clock intervals in its own IANA time zone, per weekday (several a
day, none crossing midnight), minus holidays (whole days in that zone), and it can be closed by
hand. No hours configured at all means always open. ``is_open`` reads the wall clock of the
zone, so a DST change needs no special case there; ``next_change`` finds the instant that wall
clock next crosses a boundary, including the hour that a spring change skips (an opening at
02:30 on that day happens at the jump) and the hour that an autumn change repeats.

``availability`` combines the hours with the number of available agents into what the widget
shows: take a chat, or ask the visitor to leave a message, and why.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from parley.domain.errors import InvalidInput

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
MINUTES_PER_DAY = 24 * 60
MAX_INTERVALS_PER_DAY = 8
MAX_HOLIDAYS = 400
#: How far ``next_change`` looks ahead (a year of holidays and some).
HORIZON_DAYS = 400
_INTERVAL = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_ZONE_NAME = re.compile(r"^[A-Za-z0-9_+\-]+(/[A-Za-z0-9_+\-]+){0,3}$")


@dataclass(frozen=True, slots=True, order=True)
class Interval:
    """Open from ``start`` to ``end`` (exclusive), in minutes after local midnight."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_hhmm(self.start)}-{_hhmm(self.end)}"


@dataclass(frozen=True, slots=True)
class BusinessHours:
    timezone: str
    #: Seven tuples of intervals, Monday first; None: open around the clock (but holidays and
    #: closing by hand still apply). An empty tuple is a day the workgroup is closed.
    weekly: tuple[tuple[Interval, ...], ...] | None = None
    holidays: frozenset[date] = frozenset()
    closed_by_hand: bool = False

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class Reason(StrEnum):
    CLOSED = "closed"
    NO_AGENTS = "no_agents"


@dataclass(frozen=True, slots=True)
class Availability:
    accepting: bool
    reason: Reason | None = None
    #: When the workgroup next opens, if it is closed and that is known.
    next_open: datetime | None = None


# Parsing ----------------------------------------------------------------------------------------


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def check_timezone(name: str) -> str:
    if len(name) > 64 or not _ZONE_NAME.fullmatch(name):
        raise InvalidInput(f"{name[:64]!r} is not a time zone name (e.g. Europe/Oslo)")
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"unknown time zone {name!r} (use an IANA name, e.g. Europe/Oslo)"
        ) from None
    return name


def parse_interval(text: str, day: str = "") -> Interval:
    where = f" on {day}" if day else ""
    match = _INTERVAL.fullmatch(text.strip())
    if match is None:
        raise InvalidInput(f"{text[:32]!r}{where}: write an interval as HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h1 > 23 or m1 > 59 or m2 > 59 or h2 > 24 or (h2 == 24 and m2 != 0):
        raise InvalidInput(f"{text}{where}: not a time of day (00:00 to 24:00)")
    interval = Interval(h1 * 60 + m1, h2 * 60 + m2)
    if interval.end <= interval.start:
        raise InvalidInput(
            f"{text}{where}: the end must be after the start; an interval may not cross "
            "midnight (split it: ...-24:00, then 00:00-... the next day)"
        )
    return interval


def check_day(intervals: Iterable[Interval], day: str = "") -> tuple[Interval, ...]:
    ordered = tuple(sorted(intervals))
    where = f" on {day}" if day else ""
    if len(ordered) > MAX_INTERVALS_PER_DAY:
        raise InvalidInput(f"at most {MAX_INTERVALS_PER_DAY} intervals a day{where}")
    for before, after in pairwise(ordered):
        if after.start < before.end:
            raise InvalidInput(f"{before} and {after}{where} overlap")
    return ordered


def parse_hours(
    timezone: str,
    weekly: Mapping[str, Sequence[str]] | None,
    holidays: Iterable[str] = (),
    closed_by_hand: bool = False,
) -> BusinessHours:
    """Hours from their plain form: ``weekly`` maps "mon".."sun" to intervals like
    "09:00-12:00" (a day left out is closed; None is open around the clock), ``holidays`` are
    ISO dates in the workgroup's zone."""
    check_timezone(timezone)
    days: tuple[tuple[Interval, ...], ...] | None = None
    if weekly is not None:
        unknown = sorted(set(weekly) - set(WEEKDAYS))
        if unknown:
            raise InvalidInput(f"unknown weekday {unknown[0][:16]!r} (use {', '.join(WEEKDAYS)})")
        days = tuple(
            check_day((parse_interval(t, day) for t in weekly.get(day, ())), day)
            for day in WEEKDAYS
        )
    found: set[date] = set()
    for text in holidays:
        try:
            found.add(date.fromisoformat(text))
        except ValueError:
            raise InvalidInput(f"holiday {text[:32]!r}: write a date as YYYY-MM-DD") from None
    if len(found) > MAX_HOLIDAYS:
        raise InvalidInput(f"at most {MAX_HOLIDAYS} holidays")
    return BusinessHours(timezone, days, frozenset(found), closed_by_hand)


def weekly_plain(hours: BusinessHours) -> dict[str, list[str]] | None:
    """The inverse of ``parse_hours`` for ``weekly`` (days without intervals left out)."""
    if hours.weekly is None:
        return None
    return {
        day: [str(i) for i in intervals]
        for day, intervals in zip(WEEKDAYS, hours.weekly, strict=True)
        if intervals
    }


def holidays_plain(hours: BusinessHours) -> list[str]:
    return [d.isoformat() for d in sorted(hours.holidays)]


# Open or closed ---------------------------------------------------------------------------------


def _open_at_wall(hours: BusinessHours, wall: datetime) -> bool:
    if hours.closed_by_hand or wall.date() in hours.holidays:
        return False
    if hours.weekly is None:
        return True
    minute = wall.hour * 60 + wall.minute + (wall.second + wall.microsecond / 1e6) / 60
    return any(i.start <= minute < i.end for i in hours.weekly[wall.weekday()])


def is_open(hours: BusinessHours | None, now: datetime) -> bool:
    """Whether the workgroup is within its hours at ``now`` (an aware datetime)."""
    if hours is None:
        return True
    return _open_at_wall(hours, now.astimezone(hours.zone))


def _first_instant_at_or_after(zone: ZoneInfo, wall: datetime) -> list[datetime]:
    """The UTC instants at which the zone's wall clock shows ``wall`` (naive): one normally,
    two in a repeated (autumn) hour, and in a skipped (spring) hour the instant of the jump."""
    found = []
    for fold in (0, 1):
        instant = wall.replace(tzinfo=zone, fold=fold).astimezone(UTC)
        if instant.astimezone(zone).replace(tzinfo=None) == wall:
            found.append(instant)
    if found:
        return sorted(set(found))
    # Skipped: fold=1 maps to before the jump, fold=0 after it. Find the jump to the second.
    low = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    high = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle
    return [high.replace(microsecond=0)]


def _transitions(zone: ZoneInfo, day: date) -> list[datetime]:
    """Instants during ``day`` (local) at which the zone's UTC offset changes."""
    start = _first_instant_at_or_after(zone, datetime.combine(day, datetime.min.time()))[0]
    end = start + timedelta(hours=26)
    if start.astimezone(zone).utcoffset() == end.astimezone(zone).utcoffset():
        return []
    low, high = start, end
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
            low = middle
        else:
            high = middle
    return [high.replace(microsecond=0)]


def _boundaries(hours: BusinessHours, day: date) -> Iterator[datetime]:
    """Every instant around ``day`` at which openness can change, unsorted."""
    zone = hours.zone
    minutes = {0, MINUTES_PER_DAY}
    if hours.weekly is not None:
        for interval in hours.weekly[day.weekday()]:
            minutes |= {interval.start, interval.end}
    midnight = datetime.combine(day, datetime.min.time())
    for minute in minutes:
        yield from _first_instant_at_or_after(zone, midnight + timedelta(minutes=minute))
    yield from _transitions(zone, day)


def next_change(hours: BusinessHours | None, now: datetime) -> datetime | None:
    """The first instant after ``now`` at which ``is_open`` changes, in UTC; None if it does
    not within ``HORIZON_DAYS`` (always open, closed by hand, or no opening hours at all)."""
    if hours is None or hours.closed_by_hand:
        return None
    zone = hours.zone
    today = now.astimezone(zone).date()
    if hours.weekly is None and not any(d >= today for d in hours.holidays):
        return None
    if hours.weekly is not None and not any(hours.weekly):
        return None  # no opening hours on any day: closed for good
    current = is_open(hours, now)
    for offset in range(-1, HORIZON_DAYS):
        day = today + timedelta(days=offset)
        for instant in sorted(set(_boundaries(hours, day))):
            if instant > now and is_open(hours, instant) != current:
                return instant
    return None


def availability(
    hours: BusinessHours | None,
    now: datetime,
    available_agents: int,
    *,
    queue_without_agents: bool = False,
) -> Availability:
    """Whether a new chat is taken now. Closed (hours, holiday, by hand) wins over nobody
    being available; ``queue_without_agents`` lets visitors wait for an agent to come back."""
    if not is_open(hours, now):
        return Availability(False, Reason.CLOSED, next_change(hours, now))
    if available_agents <= 0 and not queue_without_agents:
        return Availability(False, Reason.NO_AGENTS)
    return Availability(True)
