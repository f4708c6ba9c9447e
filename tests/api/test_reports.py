"""Reports through the public API on both backends: who sees what (a supervisor their own
workgroups only, another's reads like one that does not exist; an agent none), JSON and CSV
(quoted, formulas defused), the range's limits, a real chat with a transfer counted once with
its first wait, and presence periods written on every presence change."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from tests.conftest import make_world
from tests.support import World

from parley.domain.access import StaffRole
from parley.storage.tables import chat_requests, conversations, presence_periods
from parley.web.reports_api import cell

TODAY = "2026-01-05"  # the fake clock's day


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """sales and support; alice (agent, sales), bob (agent, sales), sam (supervisor of
    sales), tess (supervisor of support), admin."""
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        await w.add_workgroup("support", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("bob", workgroups=["sales"])
        await w.add_staff("sam", StaffRole.SUPERVISOR)
        await w.add_staff("tess", StaffRole.SUPERVISOR)
        await w.add_staff("admin", StaffRole.ADMIN)
        for slug, who in (("sales", ["sam"]), ("support", ["tess"])):
            async with w.staff_http("admin") as http:
                r = await http.put(
                    f"/api/v1/admin/workgroups/{slug}/supervisors", json={"usernames": who}
                )
                assert r.status_code == 200, r.text
        yield w


async def get(world: World, who: str | None, url: str, **params: Any) -> Any:
    params = {"from": TODAY, "to": TODAY, **params}
    if who is None:
        async with world.node.http() as http:
            return await http.get(url, params=params)
    async with world.staff_http(who) as http:
        return await http.get(url, params=params)


async def test_who_sees_which_reports(world: World) -> None:
    sales, support = "/api/v1/reports/workgroups/sales", "/api/v1/reports/workgroups/support"
    assert (await get(world, "sam", sales)).status_code == 200
    assert (await get(world, "tess", support)).status_code == 200
    for who in ("admin",):
        for url in (sales, support):
            assert (await get(world, who, url)).status_code == 200
    # Another workgroup reads exactly like one that does not exist, in JSON and in CSV.
    theirs = await get(world, "sam", support)
    missing = await get(world, "sam", "/api/v1/reports/workgroups/nope")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    assert (await get(world, "sam", support + ".csv")).status_code == 404
    assert (await get(world, "tess", sales, format="csv")).status_code == 404
    # An agent sees none, not even of their own workgroup; nobody signed in neither.
    assert (await get(world, "alice", sales)).status_code == 403
    assert (await get(world, "alice", sales + ".csv")).status_code == 403
    assert (await get(world, None, sales)).status_code == 401
    # Narrowed to a queue or an agent of another workgroup: as if it did not exist.
    async with world.parley.db.read() as tx:
        wg = await world.parley.stores.workgroups.workgroup_by_slug(tx, "support")
        assert wg is not None
        [q] = await world.parley.stores.workgroups.queues(tx, wg.id)
    r = await get(world, "sam", sales, queue=q.id)
    assert r.status_code == 404 and "no such queue" in r.text
    r = await get(world, "sam", sales, agent=world.user_ids["tess"])
    assert r.status_code == 404 and "no such agent" in r.text


async def test_the_range_is_bounded_and_checked(world: World) -> None:
    url = "/api/v1/reports/workgroups/sales"
    ok = await get(world, "admin", url, **{"from": "2025-01-06", "to": TODAY}, granularity="week")
    assert ok.status_code == 200
    too_long = await get(world, "admin", url, **{"from": "2025-01-04", "to": TODAY})
    assert too_long.status_code == 422 and "366" in too_long.text
    hours = await get(world, "admin", url, **{"from": "2025-12-01"}, granularity="hour")
    assert hours.status_code == 422 and "31" in hours.text
    backwards = await get(world, "admin", url, **{"from": "2026-01-06"})
    assert backwards.status_code == 422
    for bad in ({"granularity": "minute"}, {"from": "yesterday"}, {"format": "xml"}):
        assert (await get(world, "admin", url, **bad)).status_code == 422
    assert (await get(world, "admin", url, queue=2**40)).status_code == 422


async def test_reports_made_at_once_are_capped(world: World) -> None:
    service = world.parley.reports
    service._running = 2  # two being made on this node already
    r = await get(world, "sam", "/api/v1/reports/workgroups/sales")
    assert r.status_code == 429 and r.json()["error"]["code"] == "rate_limited"
    # An agent is still refused as such, busy or not.
    assert (await get(world, "alice", "/api/v1/reports/workgroups/sales")).status_code == 403
    service._running = 0
    assert (await get(world, "sam", "/api/v1/reports/workgroups/sales")).status_code == 200


async def test_csv_is_quoted_and_defuses_formulas(world: World) -> None:
    await world.parley.admin.create_user(
        None,
        "mallory",
        "pw-" + "x" * 20,
        StaffRole.AGENT,
        '=HYPERLINK("http://x","a, b")',
        ["sales"],
    )
    for params in ({"format": "csv", "table": "presence"},):
        r = await get(world, "sam", "/api/v1/reports/workgroups/sales", **params)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/csv")
        assert "attachment" in r.headers["content-disposition"]
        rows = list(csv.reader(io.StringIO(r.text)))
        assert rows[0] == [
            "user_id",
            "name",
            "available_secs",
            "away_secs",
            "busy_secs",
            "offline_secs",
        ]
        names = [row[1] for row in rows[1:]]
        assert '\'=HYPERLINK("http://x","a, b")' in names
    r = await get(world, "sam", "/api/v1/reports/workgroups/sales.csv", granularity="hour")
    rows = list(csv.reader(io.StringIO(r.text)))
    assert rows[0][:4] == ["period", "start", "requests", "answered"]
    assert len(rows) == 1 + 24 and rows[1][0] == "2026-01-05T00:00+00:00"
    r = await get(world, "sam", "/api/v1/reports/workgroups/sales.csv", table="agents")
    header = next(csv.reader(io.StringIO(r.text)))
    assert header[:3] == ["user_id", "name", "requests"]


async def test_a_transferred_chat_is_one_request_with_its_first_wait(world: World) -> None:
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        world.clock.advance(5)
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        world.clock.advance(12)
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hi"}
        )
        world.clock.advance(60)
        async with world.staff_http("alice") as http:
            r = await http.post(
                f"/api/v1/conversations/{cid}/transfer", json={"kind": "agent", "name": "bob"}
            )
            assert r.status_code == 202, r.text
        world.clock.advance(8)
        offer = (await bob.expect_type("offer"))["offer"]
        await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        world.clock.advance(100)
        await bob.request({"type": "end", "conversation_id": cid})
    async with world.parley.db.read() as tx:
        row = await tx.one(sa.select(chat_requests).where(chat_requests.c.conversation_id == cid))
    assert row is not None and row.first_agent_id == world.user_ids["alice"]
    assert row.agent_id == world.user_ids["bob"]
    body = (await get(world, "sam", "/api/v1/reports/workgroups/sales")).json()
    t = body["total"]
    assert body["timezone"] == "UTC"  # the hours were saved without a zone of their own
    assert (t["requests"], t["answered"], t["transfers"], t["chats"]) == (1, 1, 1, 1)
    assert t["wait_avg_secs"] == pytest.approx(12) and t["answered_in_target"] == 1
    assert t["first_response_avg_secs"] == pytest.approx(0)
    assert t["handle_avg_secs"] == pytest.approx(168)
    agents = {a["name"]: a for a in body["agents"]}
    assert agents["Alice"]["answered"] == 1 and agents["Alice"]["transfers"] == 1
    assert agents["Alice"]["handle_avg_secs"] == pytest.approx(68)
    assert agents["Bob"]["handle_avg_secs"] == pytest.approx(100)
    assert agents["Bob"]["answered"] == 0 and agents["Bob"]["outcome_chats"] == 1


async def test_a_chat_taken_over_stays_answered_by_its_first_agent(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        world.clock.advance(20)
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        world.clock.advance(30)
        async with world.staff_http("sam") as http:
            r = await http.post(f"/api/v1/supervision/chats/{cid}/take-over")
            assert r.status_code == 204, r.text
    async with world.parley.db.read() as tx:
        row = await tx.one(sa.select(chat_requests).where(chat_requests.c.conversation_id == cid))
    assert row is not None and row.agent_id == world.user_ids["sam"]
    assert row.first_agent_id == world.user_ids["alice"]
    body = (await get(world, "sam", "/api/v1/reports/workgroups/sales")).json()
    assert (body["total"]["requests"], body["total"]["answered"]) == (1, 1)
    assert body["total"]["wait_avg_secs"] == pytest.approx(20)
    assert (body["total"]["take_overs"], body["total"]["barge_ins"]) == (1, 0)
    agents = {a["name"]: a for a in body["agents"]}
    assert agents["Alice"]["answered"] == 1


async def test_first_contact_resolution_by_typed_email(world: World) -> None:
    """Anonymous chats: the customer is recognised by the email typed in the form; a chat
    whose window is still open is pending; a secret shopper's chat is nobody's return."""
    cids = []
    async with world.agent("alice") as alice:
        for email in ("zoe@example.com", "max@example.com"):
            chat = await world.open_chat(email=email)
            cid = chat["conversation"]["id"]
            offer = (await alice.expect_type("offer"))["offer"]
            await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            world.clock.advance(60)
            await alice.request({"type": "end", "conversation_id": cid})
            cids.append(cid)
        world.clock.advance(3600)
        # Zoe comes back within the window (typed in capitals); a shopper types Max's email.
        again = await world.open_chat(email=" ZOE@example.com ")
        shopper = await world.open_chat(email="max@example.com")
    async with world.parley.db.write() as tx:
        await tx.conn.execute(
            sa.update(conversations).where(conversations.c.id.in_(cids)).values(outcome="resolved")
        )
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == shopper["conversation"]["id"])
            .values(shopper=True)
        )
    url = "/api/v1/reports/workgroups/sales"
    t = (await get(world, "sam", url)).json()["total"]
    assert (t["resolved"], t["fcr_pending"], t["fcr"], t["fcr_rate"]) == (2, 2, 0, None)
    world.clock.advance(72 * 3600)
    body = (await get(world, "sam", url, to="2026-01-08")).json()
    t = body["total"]
    assert (t["resolved"], t["fcr_pending"], t["fcr"]) == (2, 0, 1)
    assert t["fcr_rate"] == pytest.approx(1 / 2)
    assert (t["fcr_matched_email"], t["fcr_matched_sub"], t["fcr_unmatched"]) == (2, 0, 0)
    assert again["conversation"]["id"] not in cids


async def test_presence_periods_follow_every_change(world: World) -> None:
    alice = world.user_ids["alice"]
    async with world.agent("alice") as ws:
        world.clock.advance(60)
        await ws.request({"type": "set_presence", "presence": "away"})
        world.clock.advance(30)
        await ws.request({"type": "set_presence", "presence": "away"})  # no change
        world.clock.advance(30)
        await ws.request({"type": "set_presence", "presence": "available"})
        world.clock.advance(15)
        # Closed, and recorded by the server, before the clock moves on.
        conns = [c for c in world.parley.hub.connections if c.user_id == alice]
        await ws.ws.close()
        for conn in conns:
            await conn.closed.wait()
    async with world.parley.db.read() as tx:
        rows = await tx.all(
            sa.select(presence_periods)
            .where(presence_periods.c.user_id == alice)
            .order_by(presence_periods.c.started_at, presence_periods.c.id)
        )
    states = [(r.presence, r.ended_at is None) for r in rows]
    assert states[-3:] == [("available", False), ("away", False), ("available", True)]
    away = rows[-2]
    assert away.ended_at - away.started_at == timedelta(seconds=60)
    assert [r for r in rows if r.ended_at is None] == [rows[-1]]
    body = (await get(world, "sam", "/api/v1/reports/workgroups/sales")).json()
    mine = next(p for p in body["presence"] if p["user_id"] == alice)
    assert mine["away_secs"] == pytest.approx(60)
    assert mine["available_secs"] >= 60 + 15

    # Gone: after the grace period the sweep takes her offline, which closes the period.
    async with world.agent("bob", available=False) as bob:
        world.clock.advance(60)
        await bob.expect_type("presence", user_id=alice, presence="offline")
    async with world.parley.db.read() as tx:
        rows = await tx.all(
            sa.select(presence_periods)
            .where(presence_periods.c.user_id == alice)
            .order_by(presence_periods.c.started_at, presence_periods.c.id)
        )
    assert [(r.presence, r.ended_at is None) for r in rows[-2:]] == [
        ("available", False),
        ("offline", True),
    ]


@pytest.mark.parametrize(
    ("value", "out"),
    [
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("Zoë", "Zoë"),
        (None, ""),
        (3, "3"),
        (0.5, "0.5"),
        (2.0, "2"),
    ],
)
def test_csv_cells(value: object, out: str) -> None:
    assert cell(value) == out
