"""Co-browsing, first slice (issue 13): the agent pushes a page, "follow me", the customer
stops; the workgroup's allowed sites. Permissions, refusals and the entries, on both backends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.support import World, WsClient

from parley.domain.access import StaffRole

PAGE = "https://shop.example/pricing"


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales")
        await w.add_workgroup("support")
        await w.add_staff("root", StaffRole.ADMIN)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("bob", workgroups=["sales"])
        await w.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
        yield w


def is_entry(cid: str, kind: str) -> Any:
    return lambda m: (
        m.get("type") == "entry" and m["conversation_id"] == cid and m["entry"]["kind"] == kind
    )


async def accepted(world: World, alice: WsClient, **form: Any) -> dict[str, Any]:
    chat = await world.open_chat(page=PAGE, **form)
    cid = chat["conversation"]["id"]
    offer = await alice.expect(
        lambda m: m["type"] == "offer" and m["offer"]["conversation_id"] == cid
    )
    reply = await alice.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
    assert reply["type"] == "ok", reply
    return chat


async def allow(world: World, *sites: str) -> Any:
    async with world.staff_http("root") as http:
        return await http.put(
            "/api/v1/admin/workgroups/sales/cobrowse/sites", json={"sites": list(sites)}
        )


def visitor_http(world: World, token: str) -> Any:
    return world.node.http(headers={"X-Visitor-Token": token})


async def test_admins_list_the_allowed_sites(world: World) -> None:
    r = await allow(world, "https://Docs.Example/", "https://help.example:8443")
    assert r.status_code == 200, r.text
    assert r.json() == {"sites": ["https://docs.example", "https://help.example:8443"]}
    async with world.staff_http("root") as http:
        r = await http.get("/api/v1/admin/workgroups/sales/cobrowse/sites")
        assert r.json()["sites"] == ["https://docs.example", "https://help.example:8443"]
        r = await http.get("/api/v1/admin/workgroups/support/cobrowse/sites")
        assert r.json() == {"sites": []}
        r = await http.get("/api/v1/admin/workgroups/nope/cobrowse/sites")
        assert r.status_code == 404
    bad = await allow(world, "https://docs.example/guide")
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "url_refused"
    assert bad.json()["error"]["details"] == {"reason": "malformed"}
    async with world.staff_http("alice") as http:
        r = await http.put(
            "/api/v1/admin/workgroups/sales/cobrowse/sites", json={"sites": ["https://x.example"]}
        )
        assert r.status_code == 403
    async with world.staff_http("root") as http:
        r = await http.get("/api/v1/admin/workgroups/sales/cobrowse/sites")
        assert r.json()["sites"] == ["https://docs.example", "https://help.example:8443"]


async def test_the_agent_pushes_a_page_and_the_customer_gets_the_entry(world: World) -> None:
    await allow(world, "https://docs.example")
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        async with world.visitor(token) as zoe, world.staff_http("alice") as http:
            r = await http.get(f"/api/v1/conversations/{cid}/cobrowse")
            assert r.json() == {
                "following": False,
                "by": None,
                "name": "",
                "customer_site": "https://shop.example",
                "allowed_sites": ["https://docs.example"],
            }
            same = await http.post(
                f"/api/v1/conversations/{cid}/cobrowse/push",
                json={
                    "url": "https://shop.example/checkout",
                    "title": "Checkout",
                    "client_id": "p1",
                },
            )
            assert same.status_code == 200, same.text
            entry = same.json()
            assert entry["kind"] == "cobrowse"
            assert entry["body"] == {
                "action": "push",
                "url": "https://shop.example/checkout",
                "target": "same",
                "title": "Checkout",
                "name": "Alice",
            }
            seen = await zoe.expect(is_entry(cid, "cobrowse"))
            assert seen["entry"]["body"]["url"] == "https://shop.example/checkout"
            # A retry answers with the entry stored the first time.
            again = await http.post(
                f"/api/v1/conversations/{cid}/cobrowse/push",
                json={
                    "url": "https://shop.example/checkout",
                    "title": "Checkout",
                    "client_id": "p1",
                },
            )
            assert again.json()["seq"] == entry["seq"]
            other = await http.post(
                f"/api/v1/conversations/{cid}/cobrowse/push",
                json={"url": "https://docs.example/guide", "client_id": "p2"},
            )
            assert other.json()["body"]["target"] == "new_tab"
        # In the history (a reload) and the transcript.
        async with visitor_http(world, token) as v:
            r = await v.get(f"/api/v1/conversations/{cid}/entries")
            kinds = [(e["kind"], e["body"].get("action")) for e in r.json()]
            assert kinds.count(("cobrowse", "push")) == 2


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("javascript:alert(1)", "scheme"),
        ("data:text/html,hi", "scheme"),
        ("https://shop.example@evil.example/", "userinfo"),
        ("https://evil.example/", "not_allowed"),
        ("https://shop.example:8443/", "not_allowed"),
        ("https://shop.example./", "host"),
    ],
)
async def test_a_refused_address_stores_nothing(world: World, url: str, reason: str) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid = chat["conversation"]["id"]
        async with world.staff_http("alice") as http:
            before = (await http.get(f"/api/v1/conversations/{cid}/entries")).json()
            r = await http.post(
                f"/api/v1/conversations/{cid}/cobrowse/push", json={"url": url, "client_id": "p"}
            )
            assert r.status_code == 422, r.text
            assert r.json()["error"]["code"] == "url_refused"
            assert r.json()["error"]["details"] == {"reason": reason}
            after = (await http.get(f"/api/v1/conversations/{cid}/entries")).json()
            assert after == before


async def test_only_the_chats_agents_push_and_lead(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        other = await world.open_chat(name="Yan", page=PAGE)
        push = {"url": "https://shop.example/", "client_id": "p"}
        # bob (same workgroup, not in the chat) and sam (supervises it) read, never lead.
        for who in ("bob", "sam"):
            async with world.staff_http(who) as http:
                r = await http.post(f"/api/v1/conversations/{cid}/cobrowse/push", json=push)
                assert r.status_code == 403, (who, r.text)
                r = await http.post(f"/api/v1/conversations/{cid}/cobrowse/follow")
                assert r.status_code == 403
        async with visitor_http(world, token) as v:
            r = await v.post(f"/api/v1/conversations/{cid}/cobrowse/push", json=push)
            assert r.status_code == 403
            r = await v.post(f"/api/v1/conversations/{cid}/cobrowse/follow")
            assert r.status_code == 403
            r = await v.get(f"/api/v1/conversations/{cid}/cobrowse")
            assert r.json()["allowed_sites"] == [] and r.json()["customer_site"] is None
        # Another chat's visitor reads nothing: the same 404 as for no chat at all.
        async with visitor_http(world, other["visitor_token"]) as v:
            for path in ("cobrowse",):
                r = await v.get(f"/api/v1/conversations/{cid}/{path}")
                assert r.status_code == 404
            r = await v.post(f"/api/v1/conversations/{cid}/cobrowse/unfollow")
            assert r.status_code == 404
            missing = await v.post("/api/v1/conversations/nochat/cobrowse/unfollow")
            assert missing.json() == r.json()


async def test_follow_me_navigates_until_the_customer_stops(world: World) -> None:
    await allow(world, "https://docs.example")
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        base = f"/api/v1/conversations/{cid}/cobrowse"
        async with world.staff_http("alice") as http:
            r = await http.post(f"{base}/navigate", json={"url": PAGE, "client_id": "n0"})
            assert r.status_code == 409  # not following yet
            r = await http.post(f"{base}/follow")
            assert r.status_code == 200 and r.json()["body"] == {
                "action": "follow",
                "name": "Alice",
            }
            assert (await http.post(f"{base}/follow")).status_code == 204  # already on
            for i, page in enumerate(["https://shop.example/a", "https://shop.example/b"]):
                r = await http.post(f"{base}/navigate", json={"url": page, "client_id": f"n{i}"})
                assert r.status_code == 200, r.text
                assert r.json()["body"]["url"] == page
            r = await http.post(
                f"{base}/navigate", json={"url": "https://docs.example/", "client_id": "n9"}
            )
            assert r.status_code == 422 and r.json()["error"]["details"]["reason"] == "not_allowed"
        async with world.visitor(token) as zoe:  # a reconnect reads the state again
            async with visitor_http(world, token) as v:
                state = (await v.get(base)).json()
                assert state["following"] is True and state["name"] == "Alice"
                r = await v.post(f"{base}/unfollow")
                assert r.status_code == 200
                assert r.json()["body"] == {"action": "unfollow", "by": "customer"}
                assert (await v.post(f"{base}/unfollow")).status_code == 204
                assert (await v.get(base)).json()["following"] is False
            await zoe.expect(
                lambda m: (
                    is_entry(cid, "cobrowse")(m) and m["entry"]["body"]["action"] == "unfollow"
                )
            )
        await alice.expect(
            lambda m: is_entry(cid, "cobrowse")(m) and m["entry"]["body"]["action"] == "unfollow"
        )
        async with world.staff_http("alice") as http:
            r = await http.post(f"{base}/navigate", json={"url": PAGE, "client_id": "n5"})
            assert r.status_code == 409
            # The agent turns it on again, and off from the console.
            assert (await http.post(f"{base}/follow")).status_code == 200
            r = await http.post(f"{base}/unfollow")
            assert r.json()["body"] == {"action": "unfollow", "by": "agent"}


async def test_ended_chats_take_no_push(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid = chat["conversation"]["id"]
        async with world.staff_http("alice") as http:
            await http.post(f"/api/v1/conversations/{cid}/end")
            r = await http.post(
                f"/api/v1/conversations/{cid}/cobrowse/push",
                json={"url": PAGE, "client_id": "p"},
            )
            assert r.status_code in (403, 409), r.text


async def test_a_client_id_of_a_message_is_not_a_push(world: World) -> None:
    async with world.agent("alice") as alice:
        chat = await accepted(world, alice)
        cid = chat["conversation"]["id"]
        async with world.staff_http("alice") as http:
            r = await http.post(
                f"/api/v1/conversations/{cid}/messages", json={"text": "hi", "client_id": "x1"}
            )
            assert r.status_code in (200, 201), r.text
            r = await http.post(
                f"/api/v1/conversations/{cid}/cobrowse/push", json={"url": PAGE, "client_id": "x1"}
            )
            assert r.status_code == 409, r.text
