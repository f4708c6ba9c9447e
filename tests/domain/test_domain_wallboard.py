"""The wallboard's numbers (``parley.domain.wallboard``): worked examples of every formula of
docs/metrics.md ("Live (wallboard)"), the day in a workgroup's time zone, and, with Hypothesis,
``compute`` against a plain recomputation, and facts read again (in any order, any number of
times) giving the same board as the facts read once."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import wallboard as wb
from parley.domain.errors import InvalidInput
from parley.domain.presence import Presence

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
START = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
S = wb.Settings()


def secs(n: float) -> timedelta:
    return timedelta(seconds=n)


def finished(
    rid: str, wait: float, ending: wb.Ending, queue: int = 1, ago: float = 60
) -> wb.Finished:
    ended = NOW - secs(ago)
    return wb.Finished(rid, queue, ended - secs(wait), ended, ending)


def facts(**parts: object) -> wb.Facts:
    base = wb.Facts(queues={1: "default", 2: "billing"})
    if "waiting" in parts:
        base = wb.with_waiting(base, parts["waiting"])  # type: ignore[arg-type]
    if "finished" in parts:
        base = wb.with_finished(base, parts["finished"])  # type: ignore[arg-type]
    if "agents" in parts:
        base = wb.with_agents(base, parts["agents"])  # type: ignore[arg-type]
    if "chats" in parts:
        base = wb.with_chats(base, parts["chats"])  # type: ignore[arg-type]
    return base


def test_nothing_yet() -> None:
    board = wb.compute(wb.Facts(queues={1: "default"}), S, START, NOW)
    assert board.total.waiting == 0 and board.total.longest_wait_secs == 0
    assert board.total.service_level is None and board.total.asa_secs is None
    assert board.occupancy is None
    assert board.alerts == ()
    assert [q.name for q in board.queues] == ["default"]


def test_waiting_and_longest_wait_leave_transfers_out() -> None:
    board = wb.compute(
        facts(
            waiting=[
                wb.Waiting("a", 1, NOW - secs(30)),
                wb.Waiting("b", 2, NOW - secs(90)),
                wb.Waiting("t", 1, NOW - secs(500), transfer=True),
            ]
        ),
        S,
        START,
        NOW,
    )
    assert (board.total.waiting, board.total.longest_wait_secs) == (2, 90)
    by_queue = {q.queue_id: (q.waiting, q.longest_wait_secs) for q in board.queues}
    assert by_queue == {1: (1, 30), 2: (1, 90)}


def test_service_level_asa_and_abandons() -> None:
    # T = 45 s: answered at 10 s, 45 s (in), 46 s, 100 s (out); abandoned at 5 s (within T:
    # counts nowhere) and at 60 s (after T: counts against); one expired (against).
    rows = [
        finished("a1", 10, wb.Ending.ANSWERED),
        finished("a2", 45, wb.Ending.ANSWERED),
        finished("a3", 46, wb.Ending.ANSWERED),
        finished("a4", 100, wb.Ending.ANSWERED),
        finished("x1", 5, wb.Ending.ABANDONED),
        finished("x2", 60, wb.Ending.ABANDONED),
        finished("e1", 300, wb.Ending.EXPIRED),
    ]
    total = wb.compute(facts(finished=rows), S, START, NOW).total
    assert (total.answered, total.abandoned, total.expired) == (4, 2, 1)
    assert total.answered_in_target == 2
    assert total.service_level == pytest.approx(2 / (4 + 1 + 1))
    assert total.asa_secs == pytest.approx((10 + 45 + 46 + 100) / 4)
    assert "service_level" in total.alerts  # 33 % < 80 %


def test_only_today_counts() -> None:
    rows = [
        finished("y", 10, wb.Ending.ANSWERED, ago=13 * 3600),  # yesterday (23:00)
        finished("t", 10, wb.Ending.ANSWERED, ago=60),
    ]
    total = wb.compute(facts(finished=rows), S, START, NOW).total
    assert total.answered == 1
    later = wb.since_day_start(facts(finished=rows), START)
    assert set(later.finished) == {"t"}


def test_thresholds_turn_tiles_red() -> None:
    strict = wb.Settings(
        alert_waiting=2, alert_longest_wait_secs=60, alert_asa_secs=20, alert_abandoned=1
    )
    board = wb.compute(
        facts(
            waiting=[wb.Waiting("a", 1, NOW - secs(60)), wb.Waiting("b", 2, NOW - secs(5))],
            finished=[
                finished("f", 30, wb.Ending.ANSWERED, queue=2),
                finished("g", 50, wb.Ending.ABANDONED, queue=2),
            ],
        ),
        strict,
        START,
        NOW,
    )
    assert board.total.alerts == ("waiting", "longest_wait", "service_level", "asa", "abandoned")
    queue1, queue2 = board.queues
    assert queue1.alerts == ("longest_wait",)
    assert queue2.alerts == ("service_level", "asa", "abandoned")
    assert "longest_wait:1" in board.alerts and "asa:2" in board.alerts
    assert wb.turned_red(None, board) == board.alerts
    calm = wb.compute(facts(), strict, START, NOW)
    assert wb.turned_red(calm, board) == board.alerts
    assert wb.turned_red(board, board) == ()


def test_agents_and_occupancy() -> None:
    agents = [
        wb.Agent(1, "Alice", Presence.AVAILABLE, NOW - secs(600), 2, 4),
        wb.Agent(2, "bob", Presence.BUSY, NOW - secs(60), 1, 2),  # busy but holding a chat
        wb.Agent(3, "Cy", Presence.AWAY, NOW - secs(30), 0, 3),  # away, no chat: not counted
        wb.Agent(4, "Di", Presence.OFFLINE, NOW - secs(30), 1, 3),  # offline: not counted
        wb.Agent(5, "Ed", Presence.AVAILABLE, NOW, 5, 3),  # over capacity: counts as full
    ]
    board = wb.compute(facts(agents=agents), S, START, NOW)
    assert board.occupancy == pytest.approx((2 + 1 + 3) / (4 + 2 + 3))
    assert [a.name for a in board.agents] == ["Alice", "bob", "Cy", "Di", "Ed"]
    assert board.agents[0].secs_in_state == 600
    assert dict(board.by_presence) == {"available": 2, "away": 1, "busy": 1, "offline": 1}


def test_live_chats_stalled_first() -> None:
    chats = [
        wb.LiveChat(
            "c1", "Zoe", 1, ((1, "Alice"),), NOW - secs(300), NOW - secs(280), NOW - secs(10)
        ),
        wb.LiveChat("c2", "Yann", 2, ((1, "Alice"),), NOW - secs(400), NOW - secs(390), None),
    ]
    board = wb.compute(facts(chats=chats), wb.Settings(stalled_secs=120), START, NOW)
    quiet, busy = board.chats
    assert (quiet.conversation_id, quiet.stalled, quiet.idle_secs) == ("c2", True, 390)
    assert (busy.conversation_id, busy.stalled, busy.idle_secs) == ("c1", False, 10)
    assert (busy.wait_secs, busy.duration_secs, busy.queue_name) == (20, 280, "default")
    # A message: no longer stalled; a message time read later does not go back.
    moved = wb.with_message(facts(chats=chats), "c2", NOW - secs(1))
    assert not wb.compute(moved, S, START, NOW).chats[1].stalled
    reread = wb.with_chats(moved, chats)
    assert reread.chats["c2"].last_message_at == NOW - secs(1)
    assert wb.with_message(moved, "nope", NOW) is moved


def test_a_waiting_request_is_not_finished_and_back() -> None:
    done = finished("r", 10, wb.Ending.ANSWERED)
    f = facts(finished=[done])
    again = wb.with_waiting(f, [wb.Waiting("r", 1, NOW, transfer=True)])
    assert "r" not in again.finished and "r" in again.waiting
    back = wb.with_finished(again, [done])
    assert "r" in back.finished and "r" not in back.waiting


def test_day_start_in_the_workgroups_zone() -> None:
    # 00:30 on the 5th in Oslo is 23:30 UTC on the 4th.
    oslo = wb.day_start("Europe/Oslo", datetime(2026, 1, 4, 23, 30, tzinfo=UTC))
    assert oslo == datetime(2026, 1, 4, 23, 0, tzinfo=UTC)
    assert wb.day_start(None, NOW) == START
    # A DST change that skips midnight (Santiago, 6 September 2026): the day's first instant.
    santiago = wb.day_start("America/Santiago", datetime(2026, 9, 6, 12, tzinfo=UTC))
    assert santiago == datetime(2026, 9, 6, 4, tzinfo=UTC)
    assert santiago.astimezone(ZoneInfo("America/Santiago")).hour == 1


def test_settings_are_checked() -> None:
    wb.Settings().validate()
    for bad in (
        wb.Settings(sl_target_secs=0),
        wb.Settings(sl_goal_percent=101),
        wb.Settings(alert_waiting=0),
        wb.Settings(stalled_secs=5),
    ):
        with pytest.raises(InvalidInput):
            bad.validate()


# Hypothesis: against a plain recomputation ------------------------------------------------------

ENDINGS = st.sampled_from(list(wb.Ending))
rows = st.lists(
    st.tuples(
        st.integers(0, 30),  # id
        st.sampled_from([1, 2]),  # queue
        st.integers(0, 600),  # wait
        st.integers(0, 20 * 3600),  # ended this long ago (some before today's start)
        ENDINGS,
    ),
    max_size=40,
)
waits = st.lists(
    st.tuples(st.integers(100, 130), st.sampled_from([1, 2]), st.integers(0, 900), st.booleans()),
    max_size=15,
)
targets = st.integers(1, 120)


def _finished(raw: list[tuple[int, int, int, int, wb.Ending]]) -> list[wb.Finished]:
    out = []
    for rid, queue, wait, ago, ending in raw:
        ended = NOW - secs(ago)
        out.append(wb.Finished(f"r{rid}", queue, ended - secs(wait), ended, ending))
    return out


def _plain(done: list[wb.Finished], waiting: list[wb.Waiting], target: int) -> dict[str, object]:
    """The formulas of docs/metrics.md, written out again plainly."""
    last: dict[str, wb.Finished] = {}
    for f in done:
        last[f.request_id] = f  # read later, replaces
    today = [f for f in last.values() if START <= f.ended_at <= NOW]
    answered = [(f.ended_at - f.since).total_seconds() for f in today if f.ending == "answered"]
    abandoned = [(f.ended_at - f.since).total_seconds() for f in today if f.ending == "abandoned"]
    expired = len([f for f in today if f.ending == "expired"])
    ids = {w.request_id: w for w in waiting}
    live = [w for w in ids.values() if not w.transfer]
    denominator = len(answered) + len([a for a in abandoned if a > target]) + expired
    return {
        "waiting": len(live),
        "longest": max((int((NOW - w.since).total_seconds()) for w in live), default=0),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "expired": expired,
        "level": None
        if denominator == 0
        else len([a for a in answered if a <= target]) / denominator,
        "asa": None if not answered else sum(answered) / len(answered),
    }


@settings(max_examples=150, deadline=None)
@given(rows, waits, targets)
def test_compute_matches_a_plain_recomputation(
    raw: list[tuple[int, int, int, int, wb.Ending]],
    raw_waiting: list[tuple[int, int, int, bool]],
    target: int,
) -> None:
    done = _finished(raw)
    waiting = [wb.Waiting(f"w{i}", q, NOW - secs(s), t) for i, q, s, t in raw_waiting]
    f = wb.with_waiting(wb.with_finished(wb.Facts(queues={1: "a", 2: "b"}), done), waiting)
    total = wb.compute(f, wb.Settings(sl_target_secs=target), START, NOW).total
    want = _plain(done, waiting, target)
    assert total.waiting == want["waiting"]
    assert total.longest_wait_secs == want["longest"]
    assert (total.answered, total.abandoned, total.expired) == (
        want["answered"],
        want["abandoned"],
        want["expired"],
    )
    if want["level"] is None:
        assert total.service_level is None
    else:
        assert total.service_level == pytest.approx(want["level"])
    if want["asa"] is None:
        assert total.asa_secs is None
    else:
        assert total.asa_secs == pytest.approx(want["asa"])
    assert total.service_level is None or 0 <= total.service_level <= 1


@settings(max_examples=100, deadline=None)
@given(rows, st.randoms(use_true_random=False), st.integers(1, 4))
def test_reading_facts_again_never_counts_twice(
    raw: list[tuple[int, int, int, int, wb.Ending]], rnd: random.Random, splits: int
) -> None:
    """The service reads a workgroup's ended requests again and again, in overlapping
    windows: however they are split and repeated, the board is that of each request once,
    as last read. The queue tiles add up to the workgroup's."""
    done = _finished(raw)
    latest: dict[str, wb.Finished] = {}
    for row in done:
        latest[row.request_id] = row
    once = wb.with_finished(wb.Facts(queues={1: "a", 2: "b"}), latest.values(), whole=True)
    kept = wb.Facts(queues={1: "a", 2: "b"})
    for _ in range(splits):
        chunk = [x for x in done if rnd.random() < 0.6]
        kept = wb.with_finished(kept, chunk)
    kept = wb.with_finished(kept, done)  # the last read sees everything, in order
    a = wb.compute(kept, S, START, NOW)
    b = wb.compute(once, S, START, NOW)
    assert a.total == b.total
    for name in ("waiting", "answered", "abandoned", "expired", "answered_in_target"):
        assert getattr(a.total, name) == sum(getattr(q, name) for q in a.queues)
