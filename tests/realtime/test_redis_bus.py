"""Two nodes on PostgreSQL + Redis in one event loop: Redis pub/sub is only a hint."""

from __future__ import annotations

import secrets
from pathlib import Path

from redis.asyncio import Redis
from tests.fakes import FakeClock
from tests.support import (
    PASSWORD,
    REDIS_URL,
    WsClient,
    check_redis,
    postgres_schema,
    run_node,
    settings_for,
)


async def _kill_subscription(node_id: str) -> int:
    """Drop a node's Redis pub/sub connection, as a network failure would."""
    client = Redis.from_url(REDIS_URL)
    try:
        killed = 0
        for info in await client.client_list(_type="pubsub"):
            if info.get("name") == f"parley-{node_id}":
                killed += await client.client_kill_filter(_id=info["id"])
        return killed
    finally:
        await client.aclose()


async def test_a_node_that_lost_its_subscription_catches_up_from_the_database(
    tmp_path: Path,
) -> None:
    await check_redis()
    clock = FakeClock()
    suffix = secrets.token_hex(4)  # unique names: CLIENT KILL must hit only this test's node
    node_a, node_b = f"a-{suffix}", f"b-{suffix}"
    async with postgres_schema() as url:
        common = {
            "database_url": url,
            "redis_url": REDIS_URL,
            "redis_channel": "parley-test:" + secrets.token_hex(4),
        }
        async with (
            run_node(settings_for(tmp_path / "a", node_id=node_a, **common), clock) as a,
            run_node(settings_for(tmp_path / "b", node_id=node_b, **common), clock) as b,
        ):
            from parley.domain.access import StaffRole
            from parley.services.admin import WorkgroupSettings
            from parley.services.inbox import HoursSettings

            await a.parley.admin.create_workgroup(None, "sales", WorkgroupSettings("Sales"))
            # The chat opens before alice is available: let it queue.
            await a.parley.inbox.set_hours(
                None, "sales", HoursSettings(None, queue_without_agents=True)
            )
            await a.parley.admin.create_user(
                None, "alice", PASSWORD, StaffRole.AGENT, workgroups=["sales"]
            )
            async with a.http() as http:
                r = await http.post(
                    "/api/v1/auth/login", json={"username": "alice", "password": PASSWORD}
                )
                token = r.cookies["parley_session"]
                chat = (
                    await http.post("/api/v1/workgroups/sales/chats", json={"name": "Zoe"})
                ).json()
            cid = chat["conversation"]["id"]
            async with (
                WsClient.connect(a.ws_url) as alice,
                WsClient.connect(b.ws_url) as zoe,
            ):
                await alice.hello(token=token)
                await zoe.hello(visitor_token=chat["visitor_token"])
                await alice.request({"type": "set_presence", "presence": "available"})
                offer = (await alice.expect_type("offer"))["offer"]
                await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
                await zoe.expect(
                    lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "joined"
                )

                assert await _kill_subscription(node_b) == 1
                # Published while node B is not listening: only the database has it now.
                await alice.request(
                    {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "lost?"}
                )
                got = await zoe.expect(
                    lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "message"
                )
                assert got["entry"]["body"]["text"] == "lost?"
                await zoe.request({"type": "ping"})
                seqs = [e["seq"] for e in zoe.entries(cid)]
                assert seqs == sorted(set(seqs)), "nothing twice, in order"


async def test_the_listener_survives_a_failing_resync() -> None:
    """A resync that fails (the database is down too) must not end the subscription."""
    import asyncio

    from parley.realtime.bus import RedisBus
    from parley.realtime.notifications import Kick, Notification

    await check_redis()
    suffix = secrets.token_hex(4)
    channel = "parley-test:" + suffix
    sender = RedisBus(REDIS_URL, f"s-{suffix}", channel=channel)
    receiver = RedisBus(REDIS_URL, f"r-{suffix}", channel=channel, retry_secs=0.05)
    received: asyncio.Queue[Notification] = asyncio.Queue()
    resynced = asyncio.Event()

    async def on_note(note: Notification) -> None:
        await received.put(note)

    async def failing_resync() -> None:
        resynced.set()
        raise RuntimeError("the database is down as well")

    receiver.subscribe(on_note)
    receiver.on_resync(failing_resync)
    await sender.start()
    await receiver.start()
    try:
        assert await _kill_subscription(f"r-{suffix}") == 1
        await asyncio.wait_for(resynced.wait(), 10)  # resubscribed, and the resync failed
        await sender.publish([Kick(workgroup_id=42)])
        note = await asyncio.wait_for(received.get(), 10)
        assert note == Kick(workgroup_id=42)
    finally:
        await sender.close()
        await receiver.close()
