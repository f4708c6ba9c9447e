"""Presence: chosen states, the disconnect grace period, and what other staff see."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tests.fakes import FakeClock
from tests.support import PASSWORD, World, WsClient, run_node, settings_for

from parley.bootstrap import build
from parley.domain.access import StaffRole
from parley.domain.presence import Presence


async def _closed(world: World, ws: WsClient, username: str) -> None:
    """Close an agent's socket and wait until the server has recorded it."""
    user_id = world.user_ids[username]
    conns = [c for c in world.parley.hub.connections if c.user_id == user_id]
    await ws.ws.close()
    for conn in conns:
        await conn.closed.wait()


async def test_presence_is_broadcast_to_staff(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("bob", available=False) as bob, world.agent("alice") as alice:
        await bob.expect_type("presence", user_id=world.user_ids["alice"], presence="available")
        await alice.request({"type": "set_presence", "presence": "away", "status_text": "lunch"})
        seen = await bob.expect_type("presence", user_id=world.user_ids["alice"], presence="away")
        assert seen["status_text"] == "lunch"


async def test_reconnect_within_grace_changes_nothing(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    alice_id = world.user_ids["alice"]
    async with world.agent("bob", available=False) as bob:
        async with world.agent("alice") as alice:
            await bob.expect_type("presence", user_id=alice_id, presence="available")
            await _closed(world, alice, "alice")
        world.clock.advance(59)
        async with world.agent("alice", available=False) as again:
            mine = await again.expect_type("presence", user_id=alice_id)
            assert mine["presence"] == "available"
            world.clock.advance(120)  # connected: no grace period runs
            await again.request({"type": "ping"})
            # She is still available: a new chat is offered to her.
            chat = await world.open_chat()
            offer = await again.expect_type("offer")
            assert offer["offer"]["conversation_id"] == chat["conversation"]["id"]
        about_alice = [
            m["presence"]
            for m in bob.received
            if m["type"] == "presence" and m["user_id"] == alice_id
        ]
        assert about_alice == ["offline", "available"]  # the snapshot, then her choice


async def test_offline_after_grace_period(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    alice_id = world.user_ids["alice"]
    async with world.agent("bob", available=False) as bob:
        async with world.agent("alice") as alice:
            await bob.expect_type("presence", user_id=alice_id, presence="available")
            await _closed(world, alice, "alice")
        bob.drain_pending()  # forget the snapshot, which said everybody was offline
        world.clock.advance(60)
        await bob.expect_type("presence", user_id=alice_id, presence="offline")
        async with world.node.http() as http:
            status = (await http.get("/api/v1/workgroups/sales/status")).json()
        assert status["open"] is False


async def test_presence_over_rest(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("alice") as http:
        r = await http.put("/api/v1/me/presence", json={"presence": "busy", "status_text": "x"})
        assert r.status_code == 200
        assert r.json() == {"presence": "busy", "status_text": "x"}
        r = await http.put("/api/v1/me/presence", json={"presence": "sleeping"})
        assert r.status_code == 422


async def test_a_restarted_node_forgets_what_its_crashed_predecessor_left(
    tmp_path: Path,
) -> None:
    """Connections recorded by a process that crashed must not keep an agent online when a
    new process starts with the same node id (it would refresh them as its own)."""
    clock = FakeClock()
    settings = settings_for(tmp_path, node_id="same-node")
    crashed = build(settings, clock=clock)
    await crashed.db.migrate()
    user = await crashed.admin.create_user(None, "alice", PASSWORD, StaffRole.AGENT)
    async with crashed.db.write() as tx:
        await crashed.stores.agents.insert_connection(
            tx, "ghost", user.id, "same-node", clock.now()
        )
        row = await crashed.stores.agents.agent(tx, user.id)
        assert row is not None
        available = replace(row.presence, presence=Presence.AVAILABLE, disconnected_at=None)
        await crashed.stores.agents.save_agent(tx, available)
    await crashed.db.dispose()  # no clean stop: the process died

    async with run_node(settings, clock) as node:
        async with node.parley.db.read() as tx:
            assert (
                await node.parley.stores.agents.live_connections(
                    tx, user.id, clock.now() - timedelta(days=1)
                )
                == 0
            )
            agent = await node.parley.stores.agents.agent(tx, user.id)
        assert agent is not None
        assert agent.presence.disconnected_at is not None  # her grace period runs
