"""The whole chat through the public API: request, offer, accept, talk, type, end."""

from __future__ import annotations

from tests.support import World

from parley.domain.access import StaffRole


async def test_visitor_and_agent_chat(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
    assert status["open"] is False

    async with world.agent("alice") as alice:
        async with world.node.http() as http:
            status = (await http.get("/api/v1/workgroups/sales/status")).json()
        assert status == {
            "slug": "sales",
            "name": "Sales",
            "button_text": "Chat with Sales",
            "open": True,
            "form_fields": [],
            "accepting": True,
            "reason": None,
            "next_open": None,
            "identity": "optional",
            "archive_notice": "",  # none set (see test_archive.py)
            # Parley's own look (see test_branding.py).
            "branding": {"color": None, "logo_url": None, "greeting": "", "position": "right"},
        }
        chat = await world.open_chat(name="Zoe", email="zoe@example.com", question="Price?")
        cid = chat["conversation"]["id"]
        assert chat["position"] == 1

        async with world.visitor(chat["visitor_token"]) as zoe:
            offer = (await alice.expect_type("offer"))["offer"]
            assert offer["conversation_id"] == cid
            assert offer["metadata"]["question"] == "Price?"

            # The visitor may write while waiting; the agent reads it on accept.
            ack = await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "Hello?"}
            )
            assert ack["type"] == "ack" and ack["entry"]["seq"] == 2

            assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
                "type"
            ] == "ok"
            state = await alice.expect_type("conversation")
            assert state["conversation"]["id"] == cid
            joined = await zoe.expect(
                lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "joined"
            )
            assert joined["entry"]["body"]["name"] == "Alice"
            await zoe.expect_type("queue", status="accepted")

            await alice.send({"type": "typing", "conversation_id": cid, "active": True})
            typing = await zoe.expect_type("typing")
            assert typing["name"] == "Alice" and typing["active"] is True

            await alice.request(
                {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hi Zoe"}
            )
            got = await zoe.expect(
                lambda m: (
                    m.get("type") == "entry"
                    and m["entry"]["kind"] == "message"
                    and m["entry"]["author"] != "visitor"
                )
            )
            assert got["entry"]["body"]["text"] == "Hi Zoe"

            await zoe.request({"type": "end", "conversation_id": cid})
            ended = await alice.expect(
                lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "ended"
            )
            assert ended["entry"]["author"] == "visitor"

    kinds = [e["kind"] for e in alice.entries(cid)]
    assert kinds == ["queued", "message", "joined", "message", "ended"]
    assert [e["seq"] for e in alice.entries(cid)] == [1, 2, 3, 4, 5]

    async with world.staff_http("alice") as http:
        r = await http.get("/api/v1/conversations")
        assert r.status_code == 200, r.text
        past = r.json()
        assert [c["id"] for c in past] == [cid]
        transcript = (await http.get(f"/api/v1/conversations/{cid}")).json()
    assert transcript["conversation"]["status"] == "ended"
    assert transcript["conversation"]["metadata"]["email"] == "zoe@example.com"
    assert [e["body"].get("text") for e in transcript["entries"] if e["kind"] == "message"] == [
        "Hello?",
        "Hi Zoe",
    ]


async def test_past_chats_search_values_not_field_names(world: World) -> None:
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
    await world.open_chat(name="Zoe", email="zoe@example.com", question="Do you ship to Oslo?")
    yuri = await world.open_chat(name="Yuri", question="Price of the blue bike?")
    async with world.node.http(headers={"X-Visitor-Token": yuri["visitor_token"]}) as http:
        r = await http.post(
            f"/api/v1/conversations/{yuri['conversation']['id']}/messages",
            json={"client_id": "y1", "text": "Also a helmet"},
        )
        assert r.status_code == 200, r.text
    async with world.staff_http("sam") as http:

        async def names(q: str) -> list[str]:
            r = await http.get("/api/v1/conversations", params={"q": q, "all": "true"})
            assert r.status_code == 200, r.text
            return sorted(c["metadata"]["name"] for c in r.json())

        assert await names("oslo") == ["Zoe"]
        assert await names("zoe@") == ["Zoe"]
        assert await names("yuri") == ["Yuri"]
        assert await names("helmet") == ["Yuri"]  # message text
        assert await names("email") == []  # field names are not searched
        assert await names("text") == []
        assert await names("100%") == []
