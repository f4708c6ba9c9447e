"""Routing through the public API, on a fake clock: who gets the offer, timeouts, declines,
capacity, queue positions, expiry and cancellation."""

from __future__ import annotations

from typing import Any

from tests.support import World


def is_entry(kind: str) -> Any:
    return lambda m: m.get("type") == "entry" and m["entry"]["kind"] == kind


async def test_offer_timeout_goes_to_next_agent(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        # Equal load: alice became available first, so she has been idle longest.
        first = (await alice.expect_type("offer"))["offer"]
        assert first["offer_id"] == f"{cid}.1"
        world.clock.advance(29)
        world.clock.advance(1)  # the 30 s offer timeout
        ended = await alice.expect_type("offer_ended")
        assert ended == {
            "type": "offer_ended",
            "offer_id": first["offer_id"],
            "reason": "timed_out",
        }
        second = (await bob.expect_type("offer"))["offer"]
        assert second["offer_id"] == f"{cid}.2"
        assert (await bob.request({"type": "accept_offer", "offer_id": second["offer_id"]}))[
            "type"
        ] == "ok"
        # The timed-out offer cannot be accepted any more.
        late = await alice.request({"type": "accept_offer", "offer_id": first["offer_id"]})
        assert late["code"] == "offer_gone"


async def test_decline_goes_to_next_agent_and_never_back(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        chat = await world.open_chat()
        offer = (await alice.expect_type("offer"))["offer"]
        assert (await alice.request({"type": "decline_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        await alice.expect_type("offer_ended", reason="declined")
        offer2 = (await bob.expect_type("offer"))["offer"]
        await bob.request({"type": "decline_offer", "offer_id": offer2["offer_id"]})
        await bob.expect_type("offer_ended", reason="declined")
        # Both declined: the request waits (it is not offered to alice again) until it expires.
        async with world.visitor(chat["visitor_token"]) as zoe:
            world.clock.advance(300)
            await zoe.expect_type("queue", status="expired")
            ended = await zoe.expect(is_entry("ended"))
            assert ended["entry"]["body"] == {"reason": "expired"}
        offers = [m for m in alice.received + bob.received if m["type"] == "offer"]
        assert len(offers) == 2


async def test_best_agent_is_least_loaded(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice:
        first = await world.open_chat(name="One")
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        async with world.agent("bob") as bob:
            second = await world.open_chat(name="Two")
            # alice has one chat, bob none: bob gets it although alice is idle longer.
            offer2 = (await bob.expect_type("offer"))["offer"]
            assert offer2["conversation_id"] == second["conversation"]["id"]
            assert offer2["conversation_id"] != first["conversation"]["id"]
            assert not [m for m in alice.drain_pending() if m["type"] == "offer"]


async def test_capacity_is_never_exceeded(world: World) -> None:
    # The "sales" workgroup allows 2 chats per agent.
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chats = [await world.open_chat(name=f"C{i}") for i in range(3)]
        for chat in chats[:2]:
            offer = (await alice.expect_type("offer"))["offer"]
            assert offer["conversation_id"] == chat["conversation"]["id"]  # oldest first
            await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        third = chats[2]
        async with world.visitor(third["visitor_token"]) as visitor:
            await visitor.expect_type("queue", status="waiting", position=1)
            # Ending one chat frees a slot: the waiting request is offered at once.
            await alice.request({"type": "end", "conversation_id": chats[0]["conversation"]["id"]})
            offer = (await alice.expect_type("offer"))["offer"]
            assert offer["conversation_id"] == third["conversation"]["id"]


async def test_queue_positions_follow_the_queue(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    chats = [await world.open_chat(name=f"C{i}") for i in range(3)]
    assert [c["position"] for c in chats] == [1, 2, 3]
    async with world.visitor(chats[2]["visitor_token"]) as third:
        await third.expect_type("queue", status="waiting", position=3)
        async with world.visitor(chats[0]["visitor_token"]) as first:
            await first.request({"type": "end", "conversation_id": chats[0]["conversation"]["id"]})
            await first.expect_type("queue", status="cancelled")
        await third.expect_type("queue", status="waiting", position=2)
        async with world.agent("alice") as alice:
            offer = (await alice.expect_type("offer"))["offer"]
            assert offer["conversation_id"] == chats[1]["conversation"]["id"]
            await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            await third.expect_type("queue", status="waiting", position=1)


async def test_cancel_withdraws_the_offer(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        offer = (await alice.expect_type("offer"))["offer"]
        async with world.visitor(chat["visitor_token"]) as zoe:
            await zoe.request({"type": "end", "conversation_id": chat["conversation"]["id"]})
            await zoe.expect_type("queue", status="cancelled")
        await alice.expect_type("offer_ended", offer_id=offer["offer_id"], reason="withdrawn")
        gone = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        assert gone["code"] == "offer_gone"


async def test_only_available_agents_get_offers(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice", available=False) as alice:
        await alice.request({"type": "set_presence", "presence": "away", "status_text": "lunch"})
        chat = await world.open_chat()
        await alice.request({"type": "set_presence", "presence": "busy"})
        await alice.request({"type": "set_presence", "presence": "available"})
        offer = (await alice.expect_type("offer"))["offer"]
        assert offer["conversation_id"] == chat["conversation"]["id"]
        assert [m["type"] for m in alice.received].count("offer") == 1


async def test_offer_is_resent_on_reconnect(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        offer = (await alice.expect_type("offer"))["offer"]
    async with world.agent("alice", available=False) as again:
        snapshot = [m for m in again.received if m["type"] == "offer"]
        assert [m["offer"]["offer_id"] for m in snapshot] == [offer["offer_id"]]
        await again.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        state = await again.expect_type("conversation")
        assert state["conversation"]["id"] == chat["conversation"]["id"]
