"""Resume: a client that drops at random points receives every entry exactly once, in order."""

from __future__ import annotations

import random

from tests.support import World


async def test_visitor_resumes_from_its_cursor(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    rng = random.Random(20261122)
    total = 40
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})

        seen: list[int] = []  # every seq the visitor received, over all its connections
        texts: list[str] = []
        sent = 0
        while sent < total:
            cursor = seen[-1] if seen else 0
            async with world.visitor(chat["visitor_token"], cursors={cid: cursor}) as zoe:
                # Messages sent while the visitor was away arrived during catch-up.
                for _ in range(rng.randint(0, 6)):
                    if sent == total:
                        break
                    sent += 1
                    await alice.request(
                        {
                            "type": "send",
                            "conversation_id": cid,
                            "client_id": f"a{sent}",
                            "text": f"m{sent}",
                        }
                    )
                await zoe.request({"type": "ping"})  # everything sent so far has been delivered
                for entry in zoe.entries(cid):
                    seen.append(entry["seq"])
                    if entry["kind"] == "message":
                        texts.append(entry["body"]["text"])
            # Some messages are sent while the visitor is disconnected.
            for _ in range(rng.randint(0, 3)):
                if sent == total:
                    break
                sent += 1
                await alice.request(
                    {
                        "type": "send",
                        "conversation_id": cid,
                        "client_id": f"a{sent}",
                        "text": f"m{sent}",
                    }
                )
        async with world.visitor(chat["visitor_token"], cursors={cid: seen[-1]}) as zoe:
            await zoe.request({"type": "ping"})
            for entry in zoe.entries(cid):
                seen.append(entry["seq"])
                if entry["kind"] == "message":
                    texts.append(entry["body"]["text"])

    assert seen == list(range(1, len(seen) + 1)), "every entry exactly once, in order"
    assert texts == [f"m{i}" for i in range(1, total + 1)]


async def test_stale_state_plus_events_equals_fresh_state(world: World) -> None:
    """An agent's console that reconnects with its cursor ends up with the same transcript as
    one that fetches everything fresh."""
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.expect_type("conversation")
        await alice.request({"type": "ping"})
        stale = alice.entries(cid)
    async with world.visitor(chat["visitor_token"], cursors={cid: stale[-1]["seq"]}) as zoe:
        for i in range(5):
            await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": f"z{i}", "text": f"q{i}"}
            )
    async with world.agent("alice", available=False, cursors={cid: stale[-1]["seq"]}) as again:
        resumed = stale + again.entries(cid)
    async with world.staff_http("alice") as http:
        fresh = (await http.get(f"/api/v1/conversations/{cid}")).json()["entries"]
    assert resumed == fresh


async def test_repeated_send_after_reconnect_stores_once(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    message = {"type": "send", "conversation_id": cid, "client_id": "same", "text": "hello"}
    async with world.visitor(chat["visitor_token"]) as zoe:
        first = await zoe.request(message)
    async with world.visitor(chat["visitor_token"], cursors={cid: first["entry"]["seq"]}) as zoe:
        again = await zoe.request({**message, "text": "different"})
        assert again["entry"] == first["entry"]
        await zoe.request({"type": "ping"})
        # Nothing new was stored, so no entry was sent: only the ack, with the original.
        assert [m for m in zoe.received if m["type"] == "entry"] == []


async def test_a_cached_snapshot_is_reused_only_at_its_own_revision(world: World) -> None:
    """``ConversationStore.conversation_at`` (a visitor's hello): the node's snapshot of a
    conversation gives its participants only while the row is still at the snapshot's
    revision; once someone joined (the revision moved), they are read again."""
    await world.add_staff("alice", workgroups=["sales"])
    store = world.parley.stores.conversations
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    async with world.parley.db.read() as tx:
        before = await store.conversation_at(tx, cid)
    assert before is not None
    async with world.agent("alice") as alice:
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
    async with world.parley.db.read() as tx:
        stale = await store.conversation_at(tx, cid, before)
        fresh = await store.conversation_at(tx, cid)
        again = await store.conversation_at(tx, cid, fresh)
    assert stale is not None and fresh is not None and again is not None
    assert stale[1] > before[1]
    assert stale == fresh
    assert len(stale[0].participants) == len(before[0].participants) + 1
    assert again == fresh and again[0].participants is fresh[0].participants
