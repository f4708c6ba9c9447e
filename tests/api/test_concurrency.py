"""Races: concurrent identical sends, and one agent shared by two workgroups."""

from __future__ import annotations

import asyncio

from tests.support import World


async def test_concurrent_sends_with_one_client_id_store_one_entry(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:

        async def send(i: int) -> dict[str, object]:
            r = await http.post(
                f"/api/v1/conversations/{cid}/messages",
                json={"client_id": "once", "text": f"attempt {i}"},
            )
            assert r.status_code == 200, r.text
            return dict(r.json())

        answers = await asyncio.gather(*(send(i) for i in range(12)))
        assert len({a["seq"] for a in answers}) == 1
        assert len({a["body"]["text"] for a in answers}) == 1  # type: ignore[index]
        entries = (await http.get(f"/api/v1/conversations/{cid}/entries")).json()
    assert [e["kind"] for e in entries] == ["queued", "message"]


async def test_concurrent_sends_get_gapless_sequence_numbers(world: World) -> None:
    chat = await world.open_chat()
    cid, token = chat["conversation"]["id"], chat["visitor_token"]
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        answers = await asyncio.gather(
            *(
                http.post(
                    f"/api/v1/conversations/{cid}/messages",
                    json={"client_id": f"c{i}", "text": f"m{i}"},
                )
                for i in range(20)
            )
        )
        assert sorted(r.json()["seq"] for r in answers) == list(range(2, 22))
        entries = (await http.get(f"/api/v1/conversations/{cid}/entries")).json()
    assert [e["seq"] for e in entries] == list(range(1, 22))


async def test_an_agent_in_two_workgroups_holds_one_offer_and_stays_within_capacity(
    world: World,
) -> None:
    await world.add_workgroup("support", max_chats=1)  # sales allows 2 chats, support 1
    await world.add_staff("alice", workgroups=["sales", "support"])
    async with world.agent("alice") as alice:
        sales = await world.open_chat("sales", name="S")
        first = (await alice.expect_type("offer"))["offer"]
        assert first["conversation_id"] == sales["conversation"]["id"]
        support = await world.open_chat("support", name="P")
        # She holds the sales offer: support does not offer her a second one.
        async with world.visitor(support["visitor_token"]) as visitor:
            await visitor.expect_type("queue", status="waiting", position=1)
        await alice.request({"type": "ping"})
        assert [m["type"] for m in alice.drain_pending()].count("offer") == 0

        await alice.request({"type": "accept_offer", "offer_id": first["offer_id"]})
        # One chat: under the sales limit of 2, at the support limit of 1. No support offer.
        await alice.request({"type": "ping"})
        assert [m["type"] for m in alice.drain_pending()].count("offer") == 0

        # Her sales chat ends: now support's request is offered to her at once.
        await alice.request({"type": "end", "conversation_id": sales["conversation"]["id"]})
        second = (await alice.expect_type("offer"))["offer"]
        assert second["conversation_id"] == support["conversation"]["id"]
        assert (await alice.request({"type": "accept_offer", "offer_id": second["offer_id"]}))[
            "type"
        ] == "ok"


async def test_a_declined_offer_in_one_workgroup_frees_the_agent_for_another(
    world: World,
) -> None:
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales", "support"])
    async with world.agent("alice") as alice:
        sales = await world.open_chat("sales", name="S")
        first = (await alice.expect_type("offer"))["offer"]
        support = await world.open_chat("support", name="P")
        await alice.request({"type": "decline_offer", "offer_id": first["offer_id"]})
        second = (await alice.expect_type("offer"))["offer"]
        assert second["conversation_id"] == support["conversation"]["id"]
        assert first["conversation_id"] == sales["conversation"]["id"]
