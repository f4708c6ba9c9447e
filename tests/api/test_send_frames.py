"""One frame to the sender: the ``ack`` carrying the entry; the ``entry`` to everyone else (the
sender's other tabs included); retries answer with the stored entry; a resumed connection gets
its own messages back as entries."""

from __future__ import annotations

from typing import Any

from tests.support import World, WsClient


def send(cid: str, client_id: str, text: str) -> dict[str, Any]:
    return {"type": "send", "conversation_id": cid, "client_id": client_id, "text": text}


async def frames_for(ws: WsClient, message: dict[str, Any]) -> list[dict[str, Any]]:
    """Every frame ``ws`` gets from sending ``message`` until a ``pong`` for a ping sent after
    the reply (the socket handles one message at a time, so nothing for the send comes later)."""
    ws.drain_pending()
    start = len(ws.received)
    reply = await ws.request(message)
    await ws.request({"type": "ping"})
    got = ws.received[start:]
    assert reply in got
    return [m for m in got if m["type"] != "pong"]


async def until_pong(ws: WsClient) -> list[dict[str, Any]]:
    """What ``ws`` received up to the answer of a ping sent now (pending ones included)."""
    start = len(ws.received)
    pending = ws.drain_pending()
    await ws.request({"type": "ping"})
    return pending + [m for m in ws.received[start:] if m["type"] != "pong"]


async def test_the_sender_gets_one_frame_and_everyone_else_the_entry(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.expect(lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "joined")
        async with (
            world.visitor(chat["visitor_token"]) as zoe,
            world.visitor(chat["visitor_token"]) as zoe_tab,
        ):
            frames = await frames_for(zoe, send(cid, "z1", "Hello?"))
            assert [m["type"] for m in frames] == ["ack"]
            ack = frames[0]
            assert ack["entry"]["body"] == {"text": "Hello?"}
            assert ack["entry"]["client_id"] == "z1"
            for other in (zoe_tab, alice):
                got = await other.expect(
                    lambda m: m.get("type") == "entry" and m["entry"]["client_id"] == "z1"
                )
                assert got["entry"] == ack["entry"]
                assert all(m["type"] != "ack" for m in await until_pong(other))

            frames = await frames_for(alice, send(cid, "a1", "Yes?"))
            assert [m["type"] for m in frames] == ["ack"]
            for visitor in (zoe, zoe_tab):
                got = await visitor.expect(
                    lambda m: m.get("type") == "entry" and m["entry"]["client_id"] == "a1"
                )
                assert got["entry"] == frames[0]["entry"]

            # Each connection's stream stays gapless: the ack counts as the entry it carries.
            for ws in (zoe, zoe_tab, alice):
                seqs = [e["seq"] for e in ws.entries(cid)]
                assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))


async def test_a_retry_answers_the_stored_entry_and_tells_nobody(world: World) -> None:
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    async with (
        world.visitor(chat["visitor_token"]) as zoe,
        world.visitor(chat["visitor_token"]) as zoe_tab,
    ):
        first = await frames_for(zoe, send(cid, "same", "hello"))
        assert [m["type"] for m in first] == ["ack"]
        await zoe_tab.expect(lambda m: m.get("type") == "entry" and m["entry"]["seq"] == 2)

        again = await frames_for(zoe, send(cid, "same", "hello"))
        assert [m["type"] for m in again] == ["ack"]
        assert again[0]["entry"] == first[0]["entry"]
        # The other tab may send it too (tabs share their outbox): an ack, no entry.
        from_tab = await frames_for(zoe_tab, send(cid, "same", "hello"))
        assert [m["type"] for m in from_tab] == ["ack"]
        assert from_tab[0]["entry"] == first[0]["entry"]
        assert await until_pong(zoe) == []


async def test_a_resumed_connection_gets_its_own_message_as_an_entry(world: World) -> None:
    chat = await world.open_chat()
    cid = chat["conversation"]["id"]
    async with world.visitor(chat["visitor_token"]) as zoe:
        ack = await zoe.request(send(cid, "lost", "did you get this?"))
    before = ack["entry"]["seq"] - 1
    # The ack never arrived, say: the client comes back with the cursor it had.
    async with world.visitor(chat["visitor_token"], cursors={cid: before}) as zoe:
        replay = zoe.entries(cid)
        assert replay == [ack["entry"]]
        assert [m["type"] for m in zoe.received if m["type"] in ("entry", "ack")] == ["entry"]
        # Its outbox still holds the message: sent again, it is acknowledged, not repeated.
        frames = await frames_for(zoe, send(cid, "lost", "did you get this?"))
        assert [m["type"] for m in frames] == ["ack"]
        assert frames[0]["entry"] == ack["entry"]
