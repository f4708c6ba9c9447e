"""The reports against the truth: a week of a busy workgroup simulated through the routing core
(``bench/history.py``: abandons, expiries, missed offers, transfers within and out of the
workgroup, secret shoppers, ratings, returning customers, left messages, presence), written to
the database, then every number of the report (per day, per hour, per week, per queue, per
agent, time per presence) checked against a second, plain computation written here from the
simulation's own records, on SQLite and PostgreSQL."""

from __future__ import annotations

import itertools
import math
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from bench.history import Chat, History, Ids, simulate, write
from tests.conftest import make_world
from tests.support import World

from parley.domain import reports
from parley.domain.access import StaffRole
from parley.domain.hours import BusinessHours
from parley.services.inbox import HoursSettings
from parley.storage.tables import queues

ZONE = ZoneInfo("Europe/Paris")
START = datetime(2025, 12, 28, 12, tzinfo=UTC)
TARGET = 45
WINDOW_H = 72
FIRST, LAST = date(2025, 12, 28), date(2026, 1, 4)


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales", offer_timeout_secs=20, wait_timeout_secs=120, max_chats=2)
        await w.add_workgroup("support", offer_timeout_secs=20, wait_timeout_secs=120)
        await w.parley.inbox.set_hours(
            None, "sales", HoursSettings(BusinessHours("Europe/Paris"), queue_without_agents=True)
        )
        for name in ("alice", "bob", "carol"):
            await w.add_staff(name, workgroups=["sales"])
        await w.add_staff("admin", StaffRole.ADMIN)
        yield w


async def _history(world: World) -> tuple[History, Ids]:
    parley = world.parley
    async with parley.db.write() as tx:
        sales = await parley.stores.workgroups.workgroup_by_slug(tx, "sales")
        support = await parley.stores.workgroups.workgroup_by_slug(tx, "support")
        assert sales is not None and support is not None
        [default] = await parley.stores.workgroups.queues(tx, sales.id)
        [elsewhere] = await parley.stores.workgroups.queues(tx, support.id)
        vip = await tx.conn.execute(
            sa.insert(queues).values(
                workgroup_id=sales.id,
                name="vip",
                position=2,
                is_default=False,
                created_at=START,
            )
        )
        vip_id = int(vip.inserted_primary_key[0])
    history = simulate(2500, days=7, agents=(1, 2, 3), queues=(1, 2), start=START, seed=7)
    u = world.user_ids
    ids = Ids(
        sales.id,
        support.id,
        {1: u["alice"], 2: u["bob"], 3: u["carol"]},
        {1: default.id, 2: vip_id, history.other_queue: elsewhere.id},
    )
    await write(parley.db, history, ids)
    return history, ids


# The plain computation --------------------------------------------------------------------------


def _wait(c: Chat) -> float:
    assert c.wait_ended is not None
    return (c.wait_ended - c.arrived).total_seconds()


def _nearest_rank(values: list[float], p: int) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    for x in ordered:
        if sum(1 for v in ordered if v <= x) * 100 >= p * len(ordered):
            return x
    raise AssertionError


def _stretches(h: History) -> list[tuple[int, str, datetime, datetime]]:
    out = []
    for c in h.chats:
        if c.status != "accepted" or c.shopper:
            continue
        assert c.agent is not None and c.wait_ended is not None and c.ended_at is not None
        if c.transfer is None:
            out.append((c.agent, c.id, c.wait_ended, c.ended_at))
        else:
            out.append((c.agent, c.id, c.wait_ended, c.transfer[1]))
            out.append((c.transfer[2], c.id, c.transfer[1], c.ended_at))
    return out


def _slot(stretches: list[tuple[int, str, datetime, datetime]]) -> dict[tuple[int, str], float]:
    """Each stretch split at every start and end of the agent's overlapping stretches, each
    piece divided by how many overlap it."""
    out: dict[tuple[int, str], float] = {}
    for agent, cid, s, e in stretches:
        mine = [(s2, e2) for a2, _, s2, e2 in stretches if a2 == agent and s2 < e and e2 > s]
        cuts = sorted({s, e, *(x for s2, e2 in mine for x in (s2, e2) if s < x < e)})
        total = 0.0
        for lo, hi in itertools.pairwise(cuts):
            k = sum(1 for s2, e2 in mine if s2 <= lo and e2 >= hi)
            total += (hi - lo).total_seconds() / k
        out[(agent, cid)] = out.get((agent, cid), 0.0) + total
    return out


def _key(c: Chat) -> tuple[str, str] | None:
    if c.sub:
        return ("sub", c.sub)
    if c.email:
        return ("email", c.email.lower())
    return None


_CAME_BACK: dict[tuple[int, str], bool] = {}
_SLOTS: dict[int, dict[tuple[int, str], float]] = {}


def _came_back(c: Chat, h: History) -> bool:
    found = _CAME_BACK.get((id(h), c.id))
    if found is None:
        found = _CAME_BACK[(id(h), c.id)] = _came_back_uncached(c, h)
    return found


def _slots(h: History) -> dict[tuple[int, str], float]:
    if id(h) not in _SLOTS:
        _SLOTS[id(h)] = _slot(_stretches(h))
    return _SLOTS[id(h)]


def _came_back_uncached(c: Chat, h: History) -> bool:
    key = _key(c)
    if key is None:
        return False
    assert c.ended_at is not None
    for other in h.chats:
        if other.shopper or other is c:
            continue
        theirs = other.sub if key[0] == "sub" else (other.email or "").lower()
        if theirs == key[1] and c.arrived < other.arrived <= c.ended_at + timedelta(hours=WINDOW_H):
            return True
    return False


def expected(
    h: History,
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    agent: int | None = None,
    queue: int | None = None,
) -> dict[str, Any]:
    """Every number for ``[start, end)``, from the simulation's records."""

    def inside(at: datetime | None) -> bool:
        return at is not None and start <= at < end

    real = [c for c in h.chats if not c.shopper]
    if queue is not None:
        real = [c for c in real if c.queue == queue]
    ended = [c for c in real if inside(c.wait_ended)]
    if agent is not None:
        ended = [c for c in ended if c.status == "accepted" and c.agent == agent]
    answered = [c for c in ended if c.status == "accepted"]
    abandoned = [c for c in ended if c.status == "cancelled"]
    expired = [c for c in ended if c.status == "expired"]
    lone = (
        [] if agent is not None or queue is not None else [m for m in h.lone_messages if inside(m)]
    )
    after_chat = [] if agent is not None else [c for c in real if inside(c.left_message)]
    waits = [_wait(c) for c in answered]
    late = [c for c in abandoned if _wait(c) > TARGET]
    counted = len(answered) + len(late) + len(expired)
    in_target = sum(1 for w in waits if w <= TARGET)
    ids = {c.id for c in real}
    missed = [
        o
        for o in h.offers
        if o.status == "timed_out"
        and inside(o.ended_at)
        and o.request_id in ids
        and (agent is None or o.agent == agent)
    ]
    handled = [c for c in real if c.status == "accepted" and inside(c.ended_at)]

    def last_agent(c: Chat) -> int | None:
        return c.agent if c.transfer is None else c.transfer[2]

    if agent is not None:
        outcome_chats = [c for c in handled if last_agent(c) == agent]
        stretches = [s for s in _stretches(h) if s[0] == agent and inside(s[3]) and s[1] in ids]
        slots = _slots(h)
        handle = [(s[3] - s[2]).total_seconds() for s in stretches]
        slot = [slots[(s[0], s[1])] for s in stretches]
    else:
        outcome_chats = handled
        slots = _slots(h)
        handle = [(c.ended_at - c.wait_ended).total_seconds() for c in handled]  # type: ignore[operator]
        slot = [sum(v for (a, cid), v in slots.items() if cid == c.id) for c in handled]
    responses = [
        (c.first_response - c.wait_ended).total_seconds()  # type: ignore[operator]
        for c in outcome_chats
        if c.first_response is not None
    ]
    transfers = [
        c
        for c in real
        if c.transfer is not None and inside(c.transfer[1]) and (agent is None or c.agent == agent)
    ]
    escalated = [
        c
        for c in outcome_chats
        if c.outcome == "escalated" or (c.transfer is not None and c.transfer[3] == "other")
    ]
    resolved = [c for c in outcome_chats if c.outcome == "resolved"]
    window = timedelta(hours=WINDOW_H)
    pending = [c for c in resolved if c.ended_at + window > now]  # type: ignore[operator]
    fcr = [c for c in resolved if c not in pending and not _came_back(c, h)]
    settled = len(outcome_chats) - len(pending)
    rated = [
        c
        for c in real
        if c.rating is not None
        and inside(c.rating[1])
        and (c.transfer is None or c.transfer[3] == "same")
        and (agent is None or last_agent(c) == agent)
    ]
    scores = [c.rating[0] for c in rated]  # type: ignore[index]

    def avg(xs: list[float]) -> float | None:
        return None if not xs else sum(xs) / len(xs)

    return {
        "requests": len(ended) + len(lone),
        "answered": len(answered),
        "abandoned": len(abandoned),
        "expired": len(expired),
        "left": len(lone),
        "left_messages": len(lone) + len(after_chat),
        "abandoned_after_target": len(late),
        "abandoned_wait_avg_secs": avg([_wait(c) for c in abandoned]),
        "answered_in_target": in_target,
        "service_level": None if counted == 0 else in_target / counted,
        "wait_avg_secs": avg(waits),
        "wait_p90_secs": _nearest_rank(waits, 90),
        "missed_offers": len(missed),
        "chats": len(handle),
        "handle_avg_secs": avg(handle),
        "slot_handle_avg_secs": avg(slot),
        "first_response_avg_secs": avg(responses),
        "transfers": len(transfers),
        "barge_ins": 0,  # the simulation has no supervisors
        "take_overs": 0,
        "outcome_chats": len(outcome_chats),
        "escalated": len(escalated),
        "escalation_rate": None if not outcome_chats else len(escalated) / len(outcome_chats),
        "resolved": len(resolved),
        "fcr": len(fcr),
        "fcr_rate": None if settled <= 0 else len(fcr) / settled,
        "fcr_pending": len(pending),
        "fcr_matched_sub": sum(1 for c in resolved if c.sub),
        "fcr_matched_email": sum(1 for c in resolved if not c.sub and c.email),
        "fcr_unmatched": sum(1 for c in resolved if not c.sub and not c.email),
        "ratings": len(scores),
        "rating_avg": avg([float(s) for s in scores]),
        "rating_high_share": None if not scores else sum(1 for s in scores if s >= 4) / len(scores),
    }


def same(got: dict[str, Any], want: dict[str, Any], where: str) -> None:
    for k, v in want.items():
        g = got[k]
        if v is None or g is None:
            assert g == v, f"{where}: {k} = {g}, expected {v}"
        else:
            assert math.isclose(g, v, rel_tol=1e-9, abs_tol=1e-6), f"{where}: {k} = {g}, want {v}"


async def get(world: World, who: str, params: dict[str, Any]) -> dict[str, Any]:
    async with world.staff_http(who) as http:
        r = await http.get("/api/v1/reports/workgroups/sales", params=params)
    assert r.status_code == 200, r.text
    return dict(r.json())


def local(day: date) -> datetime:
    return reports.local_midnight("Europe/Paris", day)


async def test_every_number_agrees_with_a_plain_computation(world: World) -> None:
    history, ids = await _history(world)
    now = world.clock.now()
    by_agent = {v: k for k, v in ids.agents.items()}

    # Per day, the whole workgroup.
    body = await get(world, "admin", {"from": str(FIRST), "to": str(LAST), "granularity": "day"})
    assert body["timezone"] == "Europe/Paris" and body["timezone_source"] == "business_hours"
    assert len(body["rows"]) == (LAST - FIRST).days + 1
    assert sum(r["requests"] for r in body["rows"]) > 2000
    for row in body["rows"]:
        day = date.fromisoformat(row["period"])
        same(row, expected(history, local(day), local(day + timedelta(days=1)), now), row["period"])
    same(
        body["total"],
        expected(history, local(FIRST), local(LAST + timedelta(days=1)), now),
        "total",
    )
    # The history has all of it: shoppers left out, transfers, escalations, returns, pending.
    t = body["total"]
    assert t["transfers"] > 0 and t["escalated"] > 0 and t["abandoned"] > 0 and t["expired"] > 0
    assert t["missed_offers"] > 0 and t["left"] > 0 and t["ratings"] > 0
    assert 0 < t["fcr"] < t["resolved"] and t["fcr_pending"] > 0
    assert t["fcr_matched_sub"] and t["fcr_matched_email"] and t["fcr_unmatched"]

    # Per agent (the range's totals), and each agent's own report by week.
    for line in body["agents"]:
        sim = by_agent[line["user_id"]]
        want = expected(history, local(FIRST), local(LAST + timedelta(days=1)), now, agent=sim)
        for k in ("requests", "abandoned", "expired", "left", "left_messages"):
            want[k] = 0 if k != "requests" else want["answered"]
        same(line, want, f"agent {sim}")
    alice = world.user_ids["alice"]
    weekly = await get(
        world,
        "admin",
        {"from": str(FIRST), "to": str(LAST), "granularity": "week", "agent": alice},
    )
    for row in weekly["rows"]:
        lo = datetime.fromisoformat(row["start"])
        hi = reports.local_midnight("Europe/Paris", lo.astimezone(ZONE).date() + timedelta(days=7))
        want = expected(
            history, max(lo, local(FIRST)), min(hi, local(LAST + timedelta(days=1))), now, agent=1
        )
        for k in ("requests", "abandoned", "expired", "left", "left_messages"):
            want[k] = 0 if k != "requests" else want["answered"]
        same(row, want, f"alice, week of {row['period']}")

    # One queue, by the hour over two days.
    vip = ids.queues[2]
    hourly = await get(
        world,
        "admin",
        {"from": "2025-12-29", "to": "2025-12-30", "granularity": "hour", "queue": vip},
    )
    assert len(hourly["rows"]) == 48
    for row in hourly["rows"]:
        lo = datetime.fromisoformat(row["start"])
        want = expected(history, lo, lo + timedelta(hours=1), now, queue=2)
        same(row, want, f"vip {row['period']}")

    # Time per presence, per agent, over the range.
    start, end = local(FIRST), local(LAST + timedelta(days=1))
    for line in body["presence"]:
        sim = by_agent[line["user_id"]]
        for state in ("available", "away", "busy", "offline"):
            secs = 0.0
            for p, s, e in history.presence[sim]:
                hi = min(e or now, end, now)
                lo = max(s, start)
                if p == state and hi > lo:
                    secs += (hi - lo).total_seconds()
            assert math.isclose(line[f"{state}_secs"], secs, abs_tol=0.01), (sim, state)
