"""Business hours: time zones, several intervals a day, holidays, closing by hand, and the two
DST changes of a year (the skipped and the repeated hour)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain.errors import InvalidInput
from parley.domain.hours import (
    Availability,
    BusinessHours,
    Interval,
    Reason,
    availability,
    holidays_plain,
    is_open,
    next_change,
    parse_hours,
    weekly_plain,
)

OFFICE = {d: ["09:00-12:00", "13:00-17:30"] for d in ("mon", "tue", "wed", "thu", "fri")}


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def oslo(**overrides: object) -> BusinessHours:
    values: dict[str, object] = {"timezone": "Europe/Oslo", "weekly": OFFICE, **overrides}
    return parse_hours(**values)  # type: ignore[arg-type]


def test_no_hours_is_always_open() -> None:
    assert is_open(None, utc(2026, 1, 4, 3, 0))
    assert next_change(None, utc(2026, 1, 4, 3, 0)) is None


def test_intervals_are_wall_clock_times_in_the_workgroups_zone() -> None:
    hours = oslo()
    # Monday 5 January 2026; Oslo is UTC+1 in winter.
    assert not is_open(hours, utc(2026, 1, 5, 7, 59))  # 08:59 in Oslo
    assert is_open(hours, utc(2026, 1, 5, 8, 0))  # 09:00
    assert is_open(hours, utc(2026, 1, 5, 10, 59, 59))  # 11:59:59
    assert not is_open(hours, utc(2026, 1, 5, 11, 0))  # 12:00: lunch
    assert is_open(hours, utc(2026, 1, 5, 12, 0))  # 13:00
    assert not is_open(hours, utc(2026, 1, 5, 16, 30))  # 17:30: the end is exclusive
    assert not is_open(hours, utc(2026, 1, 10, 10, 0))  # Saturday
    # The same instant is a Monday morning in Oslo and still Sunday evening in New York.
    new_york = parse_hours("America/New_York", {"sun": ["18:00-20:00"]})
    assert is_open(new_york, utc(2026, 1, 5, 0, 30))
    assert not is_open(hours, utc(2026, 1, 5, 0, 30))


def test_next_change_walks_lunch_breaks_nights_and_weekends() -> None:
    hours = oslo()
    assert next_change(hours, utc(2026, 1, 5, 7, 0)) == utc(2026, 1, 5, 8, 0)  # opens 09:00
    assert next_change(hours, utc(2026, 1, 5, 8, 0)) == utc(2026, 1, 5, 11, 0)  # lunch
    assert next_change(hours, utc(2026, 1, 5, 11, 0)) == utc(2026, 1, 5, 12, 0)
    assert next_change(hours, utc(2026, 1, 5, 12, 0)) == utc(2026, 1, 5, 16, 30)
    # Friday evening: next open on Monday 09:00.
    assert next_change(hours, utc(2026, 1, 9, 17, 0)) == utc(2026, 1, 12, 8, 0)


def test_holidays_close_the_whole_local_day() -> None:
    hours = oslo(holidays=["2026-01-06"])
    assert not is_open(hours, utc(2026, 1, 6, 10, 0))
    # Tuesday is a holiday: from Monday's close, the next opening is Wednesday 09:00.
    assert next_change(hours, utc(2026, 1, 5, 16, 30)) == utc(2026, 1, 7, 8, 0)
    # Around the clock except a holiday, which starts at local midnight (23:00 UTC).
    always = parse_hours("Europe/Oslo", None, ["2026-12-25"])
    assert is_open(always, utc(2026, 12, 24, 22, 59))
    assert not is_open(always, utc(2026, 12, 24, 23, 0))
    assert next_change(always, utc(2026, 12, 20, 0, 0)) == utc(2026, 12, 24, 23, 0)
    assert next_change(always, utc(2026, 12, 25, 12, 0)) == utc(2026, 12, 25, 23, 0)
    assert next_change(always, utc(2026, 12, 26, 0, 0)) is None


def test_closed_by_hand_wins_and_has_no_known_end() -> None:
    hours = oslo(closed_by_hand=True)
    assert not is_open(hours, utc(2026, 1, 5, 10, 0))
    assert next_change(hours, utc(2026, 1, 5, 10, 0)) is None
    never = parse_hours("UTC", {})
    assert not is_open(never, utc(2026, 1, 5, 10, 0))
    assert next_change(never, utc(2026, 1, 5, 10, 0)) is None


def test_spring_forward_day() -> None:
    # Sunday 29 March 2026, Oslo: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    hours = parse_hours("Europe/Oslo", {"sun": ["01:00-02:30", "10:00-12:00"]})
    assert is_open(hours, utc(2026, 3, 29, 0, 59))  # 01:59 CET
    assert not is_open(hours, utc(2026, 3, 29, 1, 0))  # 03:00 CEST: 02:30 never happened
    # So it closes at the jump, not half an hour after it.
    assert next_change(hours, utc(2026, 3, 29, 0, 30)) == utc(2026, 3, 29, 1, 0)
    # After the change, 10:00 local is 08:00 UTC (it was 09:00 UTC the week before).
    assert next_change(hours, utc(2026, 3, 29, 1, 0)) == utc(2026, 3, 29, 8, 0)
    assert next_change(hours, utc(2026, 3, 22, 2, 0)) == utc(2026, 3, 22, 9, 0)
    # An opening inside the skipped hour opens at the jump.
    skipped = parse_hours("Europe/Oslo", {"sun": ["02:30-04:00"]})
    assert next_change(skipped, utc(2026, 3, 28, 12, 0)) == utc(2026, 3, 29, 1, 0)
    # And a full day is 23 hours long.
    day = parse_hours("Europe/Oslo", {"sun": ["00:00-24:00"]})
    opened = next_change(day, utc(2026, 3, 28, 12, 0))
    assert opened == utc(2026, 3, 28, 23, 0)
    assert next_change(day, opened) == utc(2026, 3, 29, 22, 0)


def test_fall_back_day() -> None:
    # Sunday 25 October 2026, Oslo: 03:00 CEST goes back to 02:00 CET (01:00 UTC).
    hours = parse_hours("Europe/Oslo", {"sun": ["09:00-17:00"]})
    assert next_change(hours, utc(2026, 10, 25, 0, 0)) == utc(2026, 10, 25, 8, 0)  # CET now
    day = parse_hours("Europe/Oslo", {"sun": ["00:00-24:00"]})
    opened = next_change(day, utc(2026, 10, 24, 12, 0))
    assert opened == utc(2026, 10, 24, 22, 0)
    assert next_change(day, opened) == utc(2026, 10, 25, 23, 0)  # 25 hours later
    # An interval ending inside the repeated hour ends the first time round, and the wall
    # clock reading 02:00 again reopens it until the second 02:30.
    repeated = parse_hours("Europe/Oslo", {"sun": ["01:00-02:30"]})
    assert next_change(repeated, utc(2026, 10, 24, 23, 30)) == utc(2026, 10, 25, 0, 30)
    assert not is_open(repeated, utc(2026, 10, 25, 0, 45))  # 02:45 CEST
    assert is_open(repeated, utc(2026, 10, 25, 1, 0))  # 02:00 CET
    assert next_change(repeated, utc(2026, 10, 25, 0, 45)) == utc(2026, 10, 25, 1, 0)
    assert next_change(repeated, utc(2026, 10, 25, 1, 0)) == utc(2026, 10, 25, 1, 30)


def test_parse_and_print_round_trip() -> None:
    hours = oslo(holidays=["2026-12-25", "2026-12-24"])
    assert weekly_plain(hours) == OFFICE
    assert holidays_plain(hours) == ["2026-12-24", "2026-12-25"]
    assert hours.weekly is not None and hours.weekly[0] == (Interval(540, 720), Interval(780, 1050))
    assert weekly_plain(parse_hours("UTC", None)) is None


@pytest.mark.parametrize(
    ("timezone", "weekly", "holidays", "says"),
    [
        ("Mars/Olympus", {}, [], "unknown time zone"),
        ("../../etc/passwd", {}, [], "not a time zone name"),
        ("", {}, [], "not a time zone name"),
        ("UTC", {"mon": ["22:00-02:00"]}, [], "may not cross midnight"),
        ("UTC", {"mon": ["09:00-09:00"]}, [], "end must be after the start"),
        ("UTC", {"mon": ["9-17"]}, [], "HH:MM-HH:MM"),
        ("UTC", {"mon": ["09:00-25:00"]}, [], "not a time of day"),
        ("UTC", {"mon": ["09:00-12:00", "11:00-13:00"]}, [], "overlap"),
        ("UTC", {"monday": ["09:00-12:00"]}, [], "unknown weekday"),
        ("UTC", {"mon": ["09:00-10:00"] * 9}, [], "at most 8"),
        ("UTC", {}, ["25/12/2026"], "YYYY-MM-DD"),
    ],
)
def test_invalid_hours_say_what_is_wrong(
    timezone: str, weekly: dict[str, list[str]], holidays: list[str], says: str
) -> None:
    with pytest.raises(InvalidInput, match=says):
        parse_hours(timezone, weekly, holidays)


def test_availability_closed_wins_over_no_agents() -> None:
    hours = oslo()
    monday_night = utc(2026, 1, 5, 20, 0)
    assert availability(hours, monday_night, 3) == Availability(
        False, Reason.CLOSED, utc(2026, 1, 6, 8, 0)
    )
    assert availability(hours, monday_night + timedelta(hours=13), 0) == Availability(
        False, Reason.NO_AGENTS
    )
    assert availability(None, monday_night, 0, queue_without_agents=True) == Availability(True)
    assert availability(None, monday_night, 1) == Availability(True)
