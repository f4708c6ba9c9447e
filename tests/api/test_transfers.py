"""Transfers through the public API: to an agent, a queue or another workgroup, with a note;
the chat comes back to the sender when nobody takes it, and every step is recorded."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from tests.identity import new_key, sign
from tests.support import World, WsClient

from parley.storage.tables import conversations


def is_entry(kind: str) -> Any:
    return lambda m: m.get("type") == "entry" and m["entry"]["kind"] == kind


async def chatting(world: World, alice: WsClient, **form: Any) -> dict[str, Any]:
    """A chat that alice accepted."""
    chat = await world.open_chat(**form)
    offer = (await alice.expect_type("offer"))["offer"]
    assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
        "type"
    ] == "ok"
    return chat


async def transfer(world: World, who: str, cid: str, **body: Any) -> int:
    async with world.staff_http(who) as http:
        r = await http.post(f"/api/v1/conversations/{cid}/transfer", json=body)
    assert r.status_code in (202, 403, 404, 409, 422), r.text
    return r.status_code


async def events(world: World, cid: str) -> list[str]:
    async with world.parley.db.read() as tx:
        return [e.kind for e in await world.parley.stores.requests.events_of(tx, cid)]


async def test_transfer_to_an_agent_with_a_note(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    key = await new_key(world)
    async with world.agent("alice") as alice:
        earlier = await chatting(world, alice, identity=sign(world, key, "zoe"))
        await alice.request({"type": "end", "conversation_id": earlier["conversation"]["id"]})
        chat = await chatting(world, alice, identity=sign(world, key, "zoe"), question="Refund?")
        cid = chat["conversation"]["id"]
        async with world.visitor(chat["visitor_token"]) as zoe:
            await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": "m1", "text": "My card"}
            )
            async with world.agent("bob") as bob:
                status = await transfer(
                    world, "alice", cid, kind="agent", name="bob", note="Wants a refund"
                )
                assert status == 202
                await alice.expect_type("transfer", status="pending")
                offer = (await bob.expect_type("offer"))["offer"]
                assert offer["conversation_id"] == cid
                assert offer["transfer"] == {
                    "from_user_id": world.user_ids["alice"],
                    "from_name": "Alice",
                    "note": "Wants a refund",
                }
                assert offer["metadata"]["question"] == "Refund?"
                # Alice keeps the chat while the transfer waits.
                ok = await alice.request(
                    {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Sec"}
                )
                assert ok["type"] == "ack"
                await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
                # Bob sees the whole transcript before typing a word.
                state = await bob.expect_type("conversation")
                assert state["conversation"]["id"] == cid
                texts = [
                    m["entry"]["body"].get("text")
                    for m in bob.received
                    if m["type"] == "entry" and m["conversation_id"] == cid
                ]
                assert "My card" in texts and "Sec" in texts
                # The visitor sees who joined, and Alice leave.
                await zoe.expect(
                    lambda m: is_entry("joined")(m) and m["entry"]["body"]["name"] == "Bob"
                )
                left = await zoe.expect(is_entry("left"))
                assert left["entry"]["body"] == {
                    "name": "Alice",
                    "role": "agent",
                    "reason": "transferred",
                }
                done = await alice.expect_type("transfer", status="accepted")
                assert done["to_name"] == "Bob"
                # Alice is no longer in the chat; Bob is.
                refused = await alice.request(
                    {"type": "send", "conversation_id": cid, "client_id": "a2", "text": "Hi"}
                )
                assert refused["code"] == "forbidden"
                async with world.staff_http("bob") as http:
                    history = (await http.get(f"/api/v1/conversations/{cid}/customer")).json()
                assert [c["id"] for c in history] == [earlier["conversation"]["id"]]
                # Bob never took part in it, but it is his workgroup's: he reads it as this
                # (verified) customer's history...
                eid = earlier["conversation"]["id"]
                async with world.staff_http("bob") as http:
                    assert (await http.get(f"/api/v1/conversations/{eid}")).status_code == 200
                    r = await http.get(f"/api/v1/conversations/{cid}/customer/{eid}")
                    assert r.status_code == 200, r.text
                    assert r.json()["conversation"]["id"] == eid
                    assert r.json()["conversation"]["customer"]["sub"] == "zoe"
                    # ...but nothing else through that door.
                    other = await world.open_chat(email="zoe@example.com")
                    oid = other["conversation"]["id"]
                    r = await http.get(f"/api/v1/conversations/{cid}/customer/{oid}")
                    assert r.status_code == 404
    # On her next connect the chat she handed on is not reopened for Alice.
    async with world.agent("alice", available=False) as again:
        reopened = [m for m in again.received if m["type"] == "conversation"]
        assert [m["conversation"]["id"] for m in reopened] == []
    assert await events(world, cid) == ["transfer_requested", "transfer_accepted"]


async def test_a_declined_transfer_comes_back_to_the_sender(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        chat = await chatting(world, alice)
        cid = chat["conversation"]["id"]
        assert await transfer(world, "alice", cid, kind="agent", name="bob") == 202
        offer = (await bob.expect_type("offer"))["offer"]
        # A reconnecting receiver still sees who sent it, and where it waits.
        async with world.agent("bob", available=False) as again:
            (snapshot,) = [m["offer"] for m in again.received if m["type"] == "offer"]
            assert snapshot["transfer"]["from_name"] == "Alice"
            assert snapshot["queue_name"] == "default"
        # The visitor is not told about a transfer.
        async with world.visitor(chat["visitor_token"]) as zoe:
            assert not [m for m in zoe.received if m["type"] == "queue"]
        await bob.request({"type": "decline_offer", "offer_id": offer["offer_id"]})
        await alice.expect_type("transfer", status="failed")
        ok = await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Still me"}
        )
        assert ok["type"] == "ack"
        # It can be tried again, now to the queue, and time out there.
        assert await transfer(world, "alice", cid, kind="queue", name="default") == 202
        offer = (await bob.expect(lambda m: m["type"] == "offer"))["offer"]
        world.clock.advance(30)
        await bob.expect_type("offer_ended", offer_id=offer["offer_id"], reason="timed_out")
        world.clock.advance(270)  # the 300 s wait timeout
        await alice.expect(lambda m: m["type"] == "transfer" and m["status"] == "failed")
    assert await events(world, cid) == [
        "transfer_requested",
        "transfer_failed",
        "transfer_requested",
        "transfer_failed",
    ]


async def test_transfer_to_another_workgroup(world: World) -> None:
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("carl", workgroups=["support"])
    async with world.agent("alice") as alice, world.agent("carl") as carl:
        chat = await chatting(world, alice)
        cid = chat["conversation"]["id"]
        assert await transfer(world, "alice", cid, kind="workgroup", name="support") == 202
        offer = (await carl.expect_type("offer"))["offer"]
        await carl.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        state = await carl.expect_type("conversation")
        async with world.staff_http("carl") as http:
            conv = (await http.get(f"/api/v1/conversations/{cid}")).json()["conversation"]
        assert conv["workgroup_id"] == offer["workgroup_id"] != chat["conversation"]["workgroup_id"]
        assert state["conversation"]["id"] == cid


async def test_ending_the_chat_calls_the_transfer_off(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        chat = await chatting(world, alice)
        cid = chat["conversation"]["id"]
        assert await transfer(world, "alice", cid, kind="agent", name="bob") == 202
        offer = (await bob.expect_type("offer"))["offer"]
        async with world.visitor(chat["visitor_token"]) as zoe:
            await zoe.request({"type": "end", "conversation_id": cid})
        await bob.expect_type("offer_ended", offer_id=offer["offer_id"], reason="withdrawn")
        await alice.expect_type("transfer", status="cancelled")
        late = await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        assert late["code"] == "offer_gone"


async def test_the_sender_can_call_a_transfer_off(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        chat = await chatting(world, alice)
        cid = chat["conversation"]["id"]
        assert await transfer(world, "alice", cid, kind="agent", name="bob") == 202
        await bob.expect_type("offer")
        assert await transfer(world, "alice", cid, kind="agent", name="bob") == 409
        async with world.staff_http("alice") as http:
            r = await http.post(f"/api/v1/conversations/{cid}/transfer/cancel")
            assert r.status_code == 204, r.text
        await bob.expect_type("offer_ended", reason="withdrawn")
        await alice.expect_type("transfer", status="cancelled")


async def test_transfer_policy_and_permissions(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    await world.add_staff("dan", workgroups=[])
    settings = {"name": "Sales", "max_chats": 2, "transfer_targets": ["queue"], "max_transfers": 1}
    async with world.staff_http("alice") as http:
        assert (await http.put("/api/v1/admin/workgroups/sales", json=settings)).status_code == 403
    await world.parley.admin.update_workgroup(
        _admin(), "sales", _settings(transfer_targets=frozenset({"queue"}), max_transfers=1)
    )
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        chat = await chatting(world, alice)
        cid = chat["conversation"]["id"]
        assert await transfer(world, "alice", cid, kind="agent", name="bob") == 403
        assert await transfer(world, "bob", cid, kind="queue", name="default") == 403  # not his
        assert await transfer(world, "alice", cid, kind="queue", name="nope") == 404
        assert await transfer(world, "alice", cid, kind="queue", name="default") == 202
        offer = (await bob.expect_type("offer"))["offer"]
        await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.expect_type("transfer", status="accepted")
        # One transfer per chat here.
        assert await transfer(world, "bob", cid, kind="queue", name="default") == 403


async def test_the_outcome_is_recorded_when_ending(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await chatting(world, alice)
        cid = chat["conversation"]["id"]
        async with world.visitor(chat["visitor_token"]) as zoe:
            refused = await zoe.request(
                {"type": "end", "conversation_id": cid, "outcome": "resolved"}
            )
            assert refused["code"] == "forbidden"
        bad = await alice.request({"type": "end", "conversation_id": cid, "outcome": "meh"})
        assert bad["type"] == "error"
        ok = await alice.request({"type": "end", "conversation_id": cid, "outcome": "escalated"})
        assert ok["type"] == "ok"
    async with world.parley.db.read() as tx:
        row = await tx.one(sa.select(conversations.c.outcome).where(conversations.c.id == cid))
    assert row is not None and row.outcome == "escalated"


def _admin() -> Any:
    from parley.domain.access import Staff, StaffRole

    return Staff(0, "root", "Root", StaffRole.ADMIN)


def _settings(**changes: Any) -> Any:
    from parley.services.admin import WorkgroupSettings

    return WorkgroupSettings(name="Sales", max_chats=2, **changes)
