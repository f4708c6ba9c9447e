"""A customer who leaves (issue 12, "The console, for an eight-hour shift"): every socket of
theirs closed beyond the grace time, the agents are told (staff only); after the workgroup's
idle time the chat ends by itself and frees the agent's slot; a customer who comes back before
then continues. The fake clock drives the maintenance sweep. Both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.support import World, WsClient

from parley.domain.access import StaffRole, Visitor

GRACE_SECS = 30  # settings.visitor_grace_secs, by default
IDLE_SECS = 120


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """Sales: one chat per agent at a time, a customer who left waits IDLE_SECS; alice."""
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales", max_chats=1, customer_idle_secs=IDLE_SECS)
        await w.add_staff("alice", workgroups=["sales"])
        yield w


def is_entry(cid: str, kind: str) -> Any:
    return lambda m: (
        m.get("type") == "entry" and m["conversation_id"] == cid and m["entry"]["kind"] == kind
    )


async def accepted(world: World, alice: WsClient) -> dict[str, Any]:
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    offer = await alice.expect(
        lambda m: m["type"] == "offer" and m["offer"]["conversation_id"] == cid
    )
    reply = await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
    assert reply["type"] == "ok", reply
    return chat


def sockets_of(world: World, cid: str) -> set[Any]:
    return {
        c
        for c in world.parley.hub.connections
        if isinstance(c.principal, Visitor) and c.principal.conversation_id == cid
    }


async def closed(world: World, ws: WsClient, cid: str, conns: set[Any] | None = None) -> None:
    """Close a visitor's socket and wait until the server has recorded it (``conns``: the
    server's side of it, else every socket of the chat)."""
    conns = sockets_of(world, cid) if conns is None else conns
    await ws.ws.close()
    for conn in conns:
        await conn.closed.wait()


async def test_the_customer_leaves_the_agent_sees_it_and_the_slot_is_freed(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid = chat["conversation"]["id"]
        # A second customer waits: alice has no free slot (max_chats 1).
        waiting = await world.open_chat(name="Yan")
        async with world.visitor(chat["visitor_token"]) as zoe:
            assert (await zoe.request({"type": "ping"}))["type"] == "pong"
            await closed(world, zoe, cid)
        world.clock.advance(GRACE_SECS - 1)  # a reload would come back within the grace
        await alice.request({"type": "ping"})
        assert not any(is_entry(cid, "away")(m) for m in alice.received)
        world.clock.advance(1)
        away = await alice.expect(is_entry(cid, "away"))
        assert away["entry"]["author"] is None
        assert away["entry"]["body"] == {"ends_in_secs": IDLE_SECS}
        world.clock.advance(IDLE_SECS)
        ended = await alice.expect(is_entry(cid, "ended"))
        assert ended["entry"]["body"] == {"reason": "customer_left"}
        assert ended["entry"]["author"] is None
        # The slot is free: the waiting customer is offered to alice.
        offer = await alice.expect(
            lambda m: (
                m["type"] == "offer"
                and m["offer"]["conversation_id"] == waiting["conversation"]["id"]
            )
        )
        assert offer
    async with world.staff_http("alice") as http:
        r = await http.get(f"/api/v1/conversations/{cid}")
    conv = r.json()["conversation"]
    assert conv["status"] == "ended" and conv["end_reason"] == "customer_left"


async def test_a_customer_back_before_the_idle_time_continues(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        async with world.visitor(token) as zoe:
            assert (await zoe.request({"type": "ping"}))["type"] == "pong"
            await closed(world, zoe, cid)
        world.clock.advance(GRACE_SECS)
        await alice.expect(is_entry(cid, "away"))
        world.clock.advance(IDLE_SECS - 10)
        async with world.visitor(token, cursors={cid: 0}) as again:
            back = await alice.expect(is_entry(cid, "back"))
            assert back["entry"]["author"] is None
            world.clock.advance(IDLE_SECS * 3)  # connected: nothing ends
            reply = await again.request(
                {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "still here"}
            )
            assert reply["type"] == "ack", reply
            await alice.expect(
                lambda m: is_entry(cid, "message")(m) and m["entry"]["body"]["text"] == "still here"
            )
            # The visitor never sees the lines about their sockets, only placeholders.
            kinds = [e["kind"] for e in again.entries(cid)]
            assert "away" not in kinds and "back" not in kinds and "hidden" in kinds
        assert not any(is_entry(cid, "ended")(m) for m in alice.received)


async def test_a_reload_within_the_grace_time_tells_nobody(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        async with world.visitor(token) as zoe:
            assert (await zoe.request({"type": "ping"}))["type"] == "pong"
            # A second tab stays open while the first closes.
            first = sockets_of(world, cid)
            async with world.visitor(token) as tab:
                assert (await tab.request({"type": "ping"}))["type"] == "pong"
                await closed(world, tab, cid, sockets_of(world, cid) - first)
                world.clock.advance(GRACE_SECS * 2)
                await alice.request({"type": "ping"})
            await closed(world, zoe, cid)
        world.clock.advance(GRACE_SECS - 5)
        async with world.visitor(token) as reloaded:
            assert (await reloaded.request({"type": "ping"}))["type"] == "pong"
            world.clock.advance(GRACE_SECS * 2 + IDLE_SECS)
            await alice.request({"type": "ping"})
        kinds = {m["entry"]["kind"] for m in alice.received if m.get("type") == "entry"}
        assert not kinds & {"away", "back", "ended"}


async def test_the_idle_time_is_a_workgroup_setting(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        r = await http.get("/api/v1/admin/workgroups")
        sales = next(w for w in r.json() if w["slug"] == "sales")
        assert sales["customer_idle_secs"] == IDLE_SECS
        r = await http.post(
            "/api/v1/admin/workgroups",
            json={"slug": "never", "name": "Never", "customer_idle_secs": 0},
        )
        assert r.status_code == 201, r.text
        assert r.json()["customer_idle_secs"] == 0
        r = await http.post(
            "/api/v1/admin/workgroups",
            json={"slug": "bad", "name": "Bad", "customer_idle_secs": -1},
        )
        assert r.status_code == 422
