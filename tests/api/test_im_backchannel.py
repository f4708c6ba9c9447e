"""The back-channel beside a customer chat, on both backends: its staff talk there while the
chat goes on, and the customer never sees it in any path: socket (live, follow, resume,
gap repair), REST reads of the chat and of the back-channel itself, the transcript, their
earlier-chats list, and the email of a message they leave after the chat."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.api.test_im import is_entry, ok, ping, rest, send
from tests.conftest import make_world
from tests.smtp import SmtpSink, smtp_server
from tests.support import World, WsClient

from parley.domain.access import StaffRole

SECRET = "offer her the 30% retention discount"


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_server() as sink:
        yield sink


@pytest.fixture
async def mail_world(backend: str, tmp_path: Path, smtp: SmtpSink) -> AsyncIterator[World]:
    async for w in make_world(
        backend, tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    ):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        await w.add_staff("root", StaffRole.ADMIN)
        async with w.staff_http("root") as http:
            r = await http.put(
                "/api/v1/workgroups/sales/hours",
                json={"hours": None, "email": "sales@example.com", "queue_without_agents": True},
            )
            assert r.status_code == 200, r.text
        yield w


def never_saw(ws: WsClient, *secrets: str) -> None:
    raw = json.dumps(ws.received)
    for secret in secrets:
        assert secret not in raw


async def as_visitor(world: World, token: str, method: str, path: str, **kw: Any) -> Any:
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        return await http.request(method, path, **kw)


async def test_the_customer_never_sees_the_backchannel(mail_world: World, smtp: SmtpSink) -> None:
    world = mail_world
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob")
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    async with world.agent("alice") as alice:
        chat = await world.open_chat(question="Can I cancel?", email="zoe@example.com")
        cid, token = chat["conversation"]["id"], chat["visitor_token"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        async with world.visitor(token) as zoe, world.agent("bob", available=False) as bob:
            await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "Hi"}
            )
            # The chat's agent opens it (created now), again finds the same one.
            bc = await ok(world, "alice", "post", f"/api/v1/conversations/{cid}/backchannel")
            bid = bc["id"]
            assert bc["kind"] == "backchannel"
            assert bc["room"]["customer_conversation_id"] == cid
            assert [p["name"] for p in bc["participants"]] == ["Alice"]
            again = await ok(world, "alice", "post", f"/api/v1/conversations/{cid}/backchannel")
            assert again["id"] == bid
            await alice.expect(
                lambda m: m.get("type") == "conversation" and m["conversation"]["id"] == bid
            )
            # bob is not staff on the chat: not his, until alice pulls him in.
            r = await rest(world, "bob", "post", f"/api/v1/conversations/{cid}/backchannel")
            assert r.status_code == 404, r.text
            await ok(
                world,
                "alice",
                "post",
                f"/api/v1/im/conversations/{bid}/members",
                json={"user_id": world.user_ids["bob"]},
            )
            await bob.expect(is_entry(bid, "joined"))
            await bob.send({"type": "typing", "conversation_id": bid, "active": True})
            assert (await send(bob, bid, "b1", f"{SECRET}, @alice"))["type"] == "ack"
            await alice.expect(is_entry(bid))
            await alice.expect_type("mention")
            await send(alice, bid, "a1", "ok, will do")
            # bob, pulled in, opens it too: he is a member, the same one.
            assert (await ok(world, "bob", "post", f"/api/v1/conversations/{cid}/backchannel"))[
                "id"
            ] == bid
            await alice.request(
                {"type": "send", "conversation_id": cid, "client_id": "a2", "text": "Sure!"}
            )
            await zoe.expect(is_entry(cid))
            await ping(zoe)
            never_saw(zoe, SECRET, bid, "ok, will do", "backchannel")

        # Resume with the chat's cursor, and with a guessed cursor for the back-channel.
        async with world.visitor(token, cursors={cid: 0, bid: 0}) as zoe:
            refused = [m for m in zoe.received if m.get("type") == "error"]
            assert [(m["conversation_id"], m["code"]) for m in refused] == [(bid, "not_found")]
            assert [e["seq"] for e in zoe.entries(cid)][-1] >= 3
            assert not zoe.entries(bid)
            await world.parley.hub.resync()  # the gap repair path reads the record too
            await ping(zoe)
            never_saw(zoe, SECRET, "ok, will do", "backchannel")

        # REST, with the visitor's token: the chat, its entries, and the back-channel itself.
        for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/entries"):
            r = await as_visitor(world, token, "get", path)
            assert r.status_code == 200, r.text
            assert SECRET not in r.text and bid not in r.text and "backchannel" not in r.text
        for method, path, body in (
            ("get", f"/api/v1/conversations/{bid}", None),
            ("get", f"/api/v1/conversations/{bid}/entries", None),
            ("post", f"/api/v1/conversations/{bid}/messages", {"client_id": "z", "text": "x"}),
            ("post", f"/api/v1/conversations/{bid}/end", None),
        ):
            r = await as_visitor(world, token, method, path, json=body)
            assert r.status_code == 404, (path, r.text)
            assert r.json()["error"]["message"] == "no such conversation"
        for method, path in (
            ("post", f"/api/v1/conversations/{cid}/backchannel"),
            ("get", f"/api/v1/im/conversations/{bid}/history"),
            ("get", "/api/v1/im/conversations"),
        ):
            r = await as_visitor(world, token, method, path)
            assert r.status_code == 401, (path, r.text)

        # A supervisor reads the chat, not the back-channel of others.
        r = await rest(world, "sam", "get", f"/api/v1/conversations/{bid}")
        assert r.status_code == 404, r.text
        r = await rest(world, "sam", "post", f"/api/v1/conversations/{cid}/backchannel")
        assert r.status_code == 404, r.text
        transcript = await rest(world, "sam", "get", f"/api/v1/conversations/{cid}")
        assert SECRET not in transcript.text and bid not in transcript.text
        earlier = await rest(world, "alice", "get", f"/api/v1/conversations/{cid}/customer")
        assert earlier.status_code == 200 and bid not in earlier.text

        # The chat ends; the customer leaves a message afterwards: its email holds nothing of
        # the back-channel.
        await alice.request({"type": "end", "conversation_id": cid})
    r = await as_visitor(
        world,
        token,
        "post",
        "/api/v1/workgroups/sales/messages",
        json={"name": "Zoe", "email": "zoe@example.com", "message": "One more thing"},
    )
    assert r.status_code == 201, r.text
    mail = await smtp.next()
    body = mail.message.as_string()
    assert "One more thing" in body
    assert SECRET not in body and bid not in body and "ok, will do" not in body
    # The back-channel outlives the chat, for its members.
    page = await ok(world, "bob", "get", f"/api/v1/im/conversations/{bid}/history")
    assert SECRET in json.dumps(page)


async def test_backchannel_takes_the_chats_staff(world: World) -> None:
    """Opened by an invited helper, it holds the chat's agent too; a staff IM conversation
    cannot be ended, nor take private notes."""
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        async with world.agent("bob", available=False) as bob:
            await alice.request(
                {"type": "invite", "conversation_id": cid, "user_id": world.user_ids["bob"]}
            )
            card = (await bob.expect_type("invitation"))["invitation"]
            await bob.request({"type": "accept_invitation", "invitation_id": card["invitation_id"]})
            bc = await ok(world, "bob", "post", f"/api/v1/conversations/{cid}/backchannel")
            assert sorted(p["name"] for p in bc["participants"]) == ["Alice", "Bob"]
            bid = bc["id"]
            await alice.expect(
                lambda m: m.get("type") == "conversation" and m["conversation"]["id"] == bid
            )
            end = await alice.request({"type": "end", "conversation_id": bid})
            assert (end["type"], end["code"]) == ("error", "forbidden")
            note = await alice.request(
                {
                    "type": "send",
                    "conversation_id": bid,
                    "client_id": "n1",
                    "text": "x",
                    "private": True,
                }
            )
            assert (note["type"], note["code"]) == ("error", "forbidden")
            # A back-channel of a back-channel, or of a DM, does not exist.
            r = await rest(world, "alice", "post", f"/api/v1/conversations/{bid}/backchannel")
            assert r.status_code == 404, r.text
