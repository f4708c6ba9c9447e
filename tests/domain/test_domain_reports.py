"""The reports' pure core: conservation (answered + abandoned + expired + left = requests, in
every period and in the total, which is the sum of the periods), the periods of a local day
across DST changes, the nearest-rank percentile, time per concurrent slot, first-contact
resolution's window, presence clipped to the range, the range's limits."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import reports
from parley.domain.errors import InvalidInput
from parley.domain.presence import Presence
from parley.domain.reports import Granularity
from parley.domain.wallboard import Ending

T0 = datetime(2026, 3, 23, tzinfo=UTC)
SETTINGS = reports.Settings(target_secs=45)


@st.composite
def facts(draw: st.DrawFn) -> reports.Facts:
    secs = st.floats(min_value=0, max_value=14 * 86400, allow_nan=False)
    requests = []
    for i in range(draw(st.integers(0, 60))):
        ended = T0 + timedelta(seconds=draw(secs))
        wait = draw(st.floats(min_value=0, max_value=600, allow_nan=False))
        ending = draw(st.sampled_from(list(Ending)))
        requests.append(
            reports.Request(
                f"r{i}",
                draw(st.sampled_from([1, 2, None])),
                ended - timedelta(seconds=wait),
                ended,
                ending,
                draw(st.sampled_from([7, 8])) if ending is Ending.ANSWERED else None,
            )
        )
    left = [
        reports.LeftMessage(
            T0 + timedelta(seconds=draw(secs)),
            draw(st.sampled_from([None, "r0"])),
            draw(st.sampled_from([1, None])),
        )
        for _ in range(draw(st.integers(0, 20)))
    ]
    return reports.Facts(requests=requests, left_messages=left)


@settings(max_examples=150, deadline=None)
@given(
    facts(),
    st.sampled_from(list(Granularity)),
    st.sampled_from(["Europe/Paris", "Asia/Kolkata", None]),
    st.sampled_from([reports.Scope(), reports.Scope(queue_id=1), reports.Scope(agent_id=7)]),
)
def test_conservation(
    f: reports.Facts, granularity: Granularity, zone: str | None, scope: reports.Scope
) -> None:
    w = reports.window(zone, date(2026, 3, 22), date(2026, 4, 5), granularity)
    rows = reports.by_period(f, w, scope, SETTINGS, T0)
    total = reports.total(f, w, scope, SETTINGS, T0)
    for _, n in [*rows, (None, total)]:
        assert n.answered + n.abandoned + n.expired + n.left == n.requests
        assert n.answered_in_target <= n.answered
        assert n.abandoned_after_target <= n.abandoned
        assert n.left <= n.left_messages
    for name in ("requests", "answered", "abandoned", "expired", "left", "left_messages"):
        assert sum(getattr(n, name) for _, n in rows) == getattr(total, name)
    # Every request of the range is in exactly one period (of the workgroup, unscoped).
    if scope == reports.Scope():
        inside = [r for r in f.requests if w.start <= r.ended_at < w.end]
        lone = [m for m in f.left_messages if m.conversation_id is None and w.start <= m.at < w.end]
        assert total.requests == len(inside) + len(lone)


def test_a_local_day_across_dst_changes() -> None:
    # Paris: 23 hours on 29 March 2026, 25 on 25 October 2026.
    spring = reports.window("Europe/Paris", date(2026, 3, 29), date(2026, 3, 29), Granularity.HOUR)
    assert len(reports.periods(spring)) == 23
    autumn = reports.window(
        "Europe/Paris", date(2026, 10, 25), date(2026, 10, 25), Granularity.HOUR
    )
    starts = reports.periods(autumn)
    assert len(starts) == 25
    labels = [reports.label(autumn, s) for s in starts]
    assert "2026-10-25T02:00+02:00" in labels and "2026-10-25T02:00+01:00" in labels
    assert autumn.end - autumn.start == timedelta(hours=25)
    # Weeks start on Monday, local midnight.
    weeks = reports.window("Europe/Paris", date(2026, 3, 25), date(2026, 4, 8), Granularity.WEEK)
    assert [reports.label(weeks, s) for s in reports.periods(weeks)] == [
        "2026-03-23",
        "2026-03-30",
        "2026-04-06",
    ]
    # India is 5:30 ahead: the local hour starts at half past in UTC.
    kolkata = reports.window("Asia/Kolkata", date(2026, 1, 1), date(2026, 1, 1), Granularity.HOUR)
    assert reports.periods(kolkata)[0] == datetime(2025, 12, 31, 18, 30, tzinfo=UTC)


def test_the_range_is_bounded() -> None:
    with pytest.raises(InvalidInput, match="366"):
        reports.window(None, date(2025, 1, 1), date(2026, 1, 2), Granularity.DAY)
    reports.window(None, date(2025, 1, 1), date(2026, 1, 1), Granularity.WEEK)
    with pytest.raises(InvalidInput, match="31"):
        reports.window(None, date(2026, 1, 1), date(2026, 2, 1), Granularity.HOUR)
    with pytest.raises(InvalidInput, match="ends before"):
        reports.window(None, date(2026, 1, 2), date(2026, 1, 1), Granularity.DAY)


def test_nearest_rank_percentile() -> None:
    assert reports.percentile([], 90) is None
    assert reports.percentile([5.0], 90) == 5.0
    assert reports.percentile([float(x) for x in range(1, 11)], 90) == 9.0
    assert reports.percentile([float(x) for x in range(1, 12)], 90) == 10.0


def test_time_per_concurrent_slot() -> None:
    at = T0
    s = [
        reports.Stretch(1, "a", at, at + timedelta(seconds=100)),
        reports.Stretch(1, "b", at + timedelta(seconds=50), at + timedelta(seconds=150)),
        reports.Stretch(2, "c", at, at + timedelta(seconds=100)),
    ]
    slots = reports.slot_secs(s)
    # 0-50 alone, 50-100 shared: 50 + 25; b: 25 + 50 alone; c: alone.
    assert slots == {(1, "a"): 75.0, (1, "b"): 75.0, (2, "c"): 100.0}


def chat(n: int, outcome: str, ended: datetime, **kw: object) -> reports.Chat:
    return reports.Chat(
        f"c{n}",
        1,
        ended - timedelta(minutes=10),
        ended - timedelta(minutes=9),
        ended,
        7,
        outcome,
        **kw,  # type: ignore[arg-type]
    )


def test_first_contact_resolution_and_escalation() -> None:
    end = T0 + timedelta(days=1)
    chats = [
        chat(1, "resolved", end, customer_sub="s1"),  # comes back within 72 h
        chat(2, "resolved", end, customer_email="A@x.org"),  # back after 80 h: resolved
        chat(3, "resolved", end),  # anonymous: cannot be seen again
        chat(4, "escalated", end),
        chat(5, "follow_up", end, transferred_out=True),
        chat(6, "resolved", T0 + timedelta(days=9), customer_sub="s9"),  # window still open
    ]
    contacts = {
        ("sub", "s1"): [end + timedelta(hours=70)],
        ("email", "a@x.org"): [end + timedelta(hours=80)],
    }
    f = reports.Facts(chats=chats, contacts=contacts)
    w = reports.window(None, date(2026, 3, 23), date(2026, 4, 2), Granularity.DAY)
    n = reports.total(f, w, reports.Scope(), SETTINGS, T0 + timedelta(days=10))
    assert (n.outcome_chats, n.resolved, n.fcr, n.fcr_pending) == (6, 4, 2, 1)
    assert n.fcr_rate == 2 / 5
    assert (n.fcr_matched_sub, n.fcr_matched_email, n.fcr_unmatched) == (2, 1, 1)
    assert (n.escalated, n.escalation_rate) == (2, 2 / 6)


def test_presence_is_clipped_to_the_range_and_now() -> None:
    p = [
        reports.Period(7, Presence.AVAILABLE, T0 - timedelta(hours=1), T0 + timedelta(hours=2)),
        reports.Period(7, Presence.AWAY, T0 + timedelta(hours=2), None),
    ]
    got = reports.presence_secs(p, T0, T0 + timedelta(days=1), T0 + timedelta(hours=3))
    assert got[7][Presence.AVAILABLE] == 7200 and got[7][Presence.AWAY] == 3600
