"""Invitations and private notes through the public API, on both backends: an agent invites a
colleague, who reads the transcript, talks to the customer, writes private notes the visitor
never sees (live, after a reconnect, over REST), and leaves."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from tests.support import World, WsClient

from parley.domain.access import StaffRole

SECRET = "refund code 7731, do not tell the customer"


def is_entry(kind: str) -> Any:
    return lambda m: m.get("type") == "entry" and m["entry"]["kind"] == kind


def never_saw(ws: WsClient, secret: str = SECRET) -> None:
    """Nothing the client received holds the note's text (or a note at all)."""
    raw = json.dumps(ws.received)
    assert secret not in raw
    assert '"kind": "note"' not in raw


@asynccontextmanager
async def chat_with_alice(world: World) -> AsyncIterator[tuple[WsClient, WsClient, str, str]]:
    """alice (agent in sales) has accepted Zoe's chat; yields (alice, zoe, id, visitor token)."""
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat(question="Where is my refund?")
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        async with world.visitor(chat["visitor_token"]) as zoe:
            yield alice, zoe, cid, chat["visitor_token"]


async def invite(alice: WsClient, cid: str, user_id: int, note: str = "") -> dict[str, Any]:
    return await alice.request(
        {"type": "invite", "conversation_id": cid, "user_id": user_id, "note": note}
    )


async def test_invite_accept_talk_note_and_leave(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid, token):
        await world.add_staff("bob", workgroups=["sales"])
        bob_id = world.user_ids["bob"]
        async with world.agent("bob", available=False) as bob:
            await zoe.request(
                {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "Hi!"}
            )
            assert (await invite(alice, cid, bob_id, "Can you check the refund?"))["type"] == "ok"
            card = (await bob.expect_type("invitation"))["invitation"]
            assert card["note"] == "Can you check the refund?"
            assert card["from_name"] == "Alice"
            assert card["to_user_id"] == bob_id
            assert card["metadata"]["question"] == "Where is my refund?"
            assert (await alice.expect_type("invitation"))["invitation"] == card
            assert card["invitation_id"] in {
                i["invitation_id"]
                for i in (await rest(world, "bob", "get", "/api/v1/me/invitations")).json()
            }

            ok = await bob.request(
                {"type": "accept_invitation", "invitation_id": card["invitation_id"]}
            )
            assert ok["type"] == "ok"
            await bob.expect_type("invitation_ended", reason="accepted")
            await alice.expect_type("invitation_ended", reason="accepted")
            # bob follows the chat from its first entry: the whole transcript.
            state = (await bob.expect_type("conversation"))["conversation"]
            assert state["id"] == cid
            joined = await bob.expect(
                lambda m: is_entry("joined")(m) and m["entry"]["author"] == f"user:{bob_id}"
            )
            assert joined["entry"]["body"] == {"name": "Bob", "role": "helper"}
            seen = [e["kind"] for e in bob.entries(cid)]
            assert seen[:3] == ["queued", "joined", "message"]
            helper_joined = await zoe.expect(
                lambda m: is_entry("joined")(m) and m["entry"]["body"]["role"] == "helper"
            )
            assert helper_joined["entry"]["body"]["name"] == "Bob"

            # bob talks to the customer...
            said = await bob.request(
                {"type": "send", "conversation_id": cid, "client_id": "b1", "text": "Bob here."}
            )
            assert said["type"] == "ack"
            heard = await zoe.expect(is_entry("message"))
            while heard["entry"]["author"] != f"user:{bob_id}":
                heard = await zoe.expect(is_entry("message"))
            assert heard["entry"]["body"] == {"text": "Bob here."}

            # ...and writes a private note, which only staff see.
            noted = await bob.request(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "client_id": "b2",
                    "text": SECRET,
                    "private": True,
                }
            )
            assert noted["type"] == "ack"
            assert noted["entry"]["kind"] == "note"
            note_seq = noted["entry"]["seq"]
            on_alice = await alice.expect(is_entry("note"))
            assert on_alice["entry"]["body"] == {"text": SECRET}
            hidden = await zoe.expect(is_entry("hidden"))
            assert hidden["entry"]["seq"] == note_seq
            assert hidden["entry"]["author"] is None
            assert hidden["entry"]["body"] == {}
            assert hidden["entry"]["client_id"] is None
            # The next message follows without a gap (and without a catch-up).
            await alice.request(
                {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Thanks"}
            )
            after = await zoe.expect(
                lambda m: is_entry("message")(m) and m["entry"]["body"]["text"] == "Thanks"
            )
            assert after["entry"]["seq"] == note_seq + 1
            # A note over REST is private too; a visitor cannot write one.
            r = await rest(
                world,
                "alice",
                "post",
                f"/api/v1/conversations/{cid}/notes",
                json={"client_id": "a2", "text": SECRET},
            )
            assert r.status_code == 200, r.text
            assert r.json()["kind"] == "note"
            await zoe.expect(
                lambda m: is_entry("hidden")(m) and m["entry"]["seq"] == r.json()["seq"]
            )
            async with world.node.http(headers={"X-Visitor-Token": token}) as http:
                r = await http.post(
                    f"/api/v1/conversations/{cid}/notes", json={"client_id": "z2", "text": "x"}
                )
                assert r.status_code == 403
            denied = await zoe.request(
                {
                    "type": "send",
                    "conversation_id": cid,
                    "client_id": "z3",
                    "text": "x",
                    "private": True,
                }
            )
            assert denied["code"] == "forbidden"

            # A helper does not end the customer's chat; it leaves.
            refused = await bob.request({"type": "end", "conversation_id": cid})
            assert refused["code"] == "forbidden"
            assert (await bob.request({"type": "leave", "conversation_id": cid}))["type"] == "ok"
            left = await zoe.expect(is_entry("left"))
            assert left["entry"]["body"] == {"name": "Bob", "role": "helper", "reason": "left"}
            late = await bob.request(
                {"type": "send", "conversation_id": cid, "client_id": "b3", "text": "one more"}
            )
            assert late["code"] == "forbidden"
            never_saw(zoe)

        # Reconnecting from scratch, and resuming just before the note: placeholders only.
        async with world.visitor(token) as again:
            await again.expect(is_entry("left"))
            assert [e["seq"] for e in again.entries(cid)] == list(
                range(1, len(again.entries(cid)) + 1)
            )
            kinds = {e["seq"]: e["kind"] for e in again.entries(cid)}
            assert kinds[note_seq] == "hidden"
            never_saw(again)
        async with world.visitor(token, cursors={cid: note_seq - 1}) as resumed:
            await resumed.expect(is_entry("left"))
            assert resumed.entries(cid)[0]["seq"] == note_seq
            assert resumed.entries(cid)[0]["kind"] == "hidden"
            never_saw(resumed)

        # REST: the transcript and the entries, for the visitor and for staff.
        async with world.node.http(headers={"X-Visitor-Token": token}) as http:
            whole = await http.get(f"/api/v1/conversations/{cid}")
            part = await http.get(f"/api/v1/conversations/{cid}/entries", params={"after": 0})
        for r in (whole, part):
            assert r.status_code == 200
            assert SECRET not in r.text
            assert '"note"' not in r.text
        got = whole.json()["entries"]
        assert [e["seq"] for e in got] == list(range(1, len(got) + 1))
        assert got[note_seq - 1] == {**got[note_seq - 1], "kind": "hidden", "body": {}}
        staff_view = await rest(world, "alice", "get", f"/api/v1/conversations/{cid}")
        assert staff_view.json()["entries"][note_seq - 1]["body"] == {"text": SECRET}

        kinds_recorded = [e.kind for e in await _events(world, cid)]
        assert kinds_recorded == ["invited", "invite_accepted", "invite_left"]
        invited = (await _events(world, cid))[0]
        assert invited.actor_id == world.user_ids["alice"]
        assert invited.agent_id == bob_id
        assert invited.note == "Can you check the refund?"
        assert invited.from_workgroup_id is not None


async def test_a_helper_does_not_count_against_capacity(world: World) -> None:
    async with chat_with_alice(world) as (alice, _zoe, cid, _token):
        await world.add_staff("bob", workgroups=["sales"])
        async with world.agent("bob") as bob:
            await invite(alice, cid, world.user_ids["bob"])
            card = (await bob.expect_type("invitation"))["invitation"]
            await bob.request({"type": "accept_invitation", "invitation_id": card["invitation_id"]})
            await bob.expect_type("conversation")
            async with world.parley.db.read() as tx:
                wg = await world.parley.stores.workgroups.workgroup_by_slug(tx, "sales")
                assert wg is not None
                router = await world.parley.stores.requests.load_router(tx, wg)
            assert router.agents[world.user_ids["bob"]].active_chats == 0
            assert router.agents[world.user_ids["alice"]].active_chats == 1


async def test_decline(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid, _token):
        await world.add_staff("bob", workgroups=["sales"])
        async with world.agent("bob") as bob:
            await invite(alice, cid, world.user_ids["bob"], "help?")
            card = (await bob.expect_type("invitation"))["invitation"]
            r = await rest(
                world, "bob", "post", f"/api/v1/invitations/{card['invitation_id']}/decline"
            )
            assert r.status_code == 204
            await alice.expect_type("invitation_ended", reason="declined")
            await bob.expect_type("invitation_ended", reason="declined")
            again = await bob.request(
                {"type": "accept_invitation", "invitation_id": card["invitation_id"]}
            )
            assert again["code"] == "invitation_gone"
            # Declined, bob may be invited again.
            assert (await invite(alice, cid, world.user_ids["bob"]))["type"] == "ok"
        assert [e.kind for e in await _events(world, cid)] == [
            "invited",
            "invite_declined",
            "invited",
        ]
        assert not [m for m in zoe.drain_pending() if m["type"].startswith("invitation")]


async def test_timeout_and_snapshot(world: World) -> None:
    async with chat_with_alice(world) as (alice, _zoe, cid, _token):
        await world.add_staff("sam", StaffRole.SUPERVISOR)  # not a member: supervisors may come
        await invite(alice, cid, world.user_ids["sam"], "a second opinion")
        async with world.agent("sam", available=False) as sam:
            # The connect snapshot holds the pending invitation.
            card = (await sam.expect_type("invitation"))["invitation"]
            assert card["note"] == "a second opinion"
            world.clock.advance(30)  # the workgroup's offer timeout
            ended = await sam.expect_type("invitation_ended")
            assert ended["reason"] == "timed_out"
            assert ended["invitation_id"] == card["invitation_id"]
            await alice.expect_type("invitation_ended", reason="timed_out")
            late = await sam.request(
                {"type": "accept_invitation", "invitation_id": card["invitation_id"]}
            )
            assert late["code"] == "invitation_gone"
        assert [e.kind for e in await _events(world, cid)] == ["invited", "invite_timed_out"]


async def test_cancel_and_end_of_chat(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid, _token):
        await world.add_staff("bob", workgroups=["sales"])
        await world.add_staff("carol", workgroups=["sales"])
        async with world.agent("bob", available=False) as bob:
            await invite(alice, cid, world.user_ids["bob"])
            card = (await bob.expect_type("invitation"))["invitation"]
            # Only who sent it cancels it.
            r = await rest(
                world, "bob", "post", f"/api/v1/invitations/{card['invitation_id']}/cancel"
            )
            assert r.status_code == 403
            ok = await alice.request(
                {"type": "cancel_invitation", "invitation_id": card["invitation_id"]}
            )
            assert ok["type"] == "ok"
            await bob.expect_type("invitation_ended", reason="cancelled")
            # A chat that ends takes its pending invitations with it.
            await invite(alice, cid, world.user_ids["carol"])
            await zoe.request({"type": "end", "conversation_id": cid})
            ended = await alice.expect(
                lambda m: (
                    m.get("type") == "invitation_ended"
                    and m["reason"] == "cancelled"
                    and m["invitation_id"] != card["invitation_id"]
                )
            )
            assert ended["conversation_id"] == cid
        async with world.parley.db.read() as tx:
            assert (
                await world.parley.stores.invitations.pending_invitations(tx, conversation_id=cid)
                == []
            )
        assert [e.kind for e in await _events(world, cid)] == [
            "invited",
            "invite_cancelled",
            "invited",
            "invite_cancelled",
        ]


async def test_who_may_invite_and_be_invited(world: World) -> None:
    async with chat_with_alice(world) as (alice, _zoe, cid, _token):
        await world.add_staff("bob", workgroups=["sales"])
        await world.add_staff("carol", workgroups=["sales"])
        await world.add_workgroup("support")
        await world.add_staff("dave", workgroups=["support"])
        await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
        ids = world.user_ids
        url = f"/api/v1/conversations/{cid}/invitations"

        # Not a participant: another agent, or a supervisor who may read but is not in it.
        for outsider in ("carol", "sam"):
            r = await rest(world, outsider, "post", url, json={"user_id": ids["bob"]})
            assert r.status_code == 403, r.text
        # An agent of another workgroup cannot be invited; a supervisor can.
        r = await rest(world, "alice", "post", url, json={"user_id": ids["dave"]})
        assert r.status_code == 403
        r = await rest(world, "alice", "post", url, json={"user_id": ids["sam"], "note": "hi"})
        assert r.status_code == 201, r.text
        assert r.json()["to_name"] == "Sam"
        # At most one pending invitation per invitee; nobody already in the chat.
        r = await rest(world, "alice", "post", url, json={"user_id": ids["sam"]})
        assert r.status_code == 409
        r = await rest(world, "alice", "post", url, json={"user_id": ids["alice"]})
        assert r.status_code == 409
        r = await rest(world, "alice", "post", url, json={"user_id": 9999})
        assert r.status_code == 404

        # The workgroup's policy off: 403.
        async with world.parley.db.write() as tx:
            wg = await world.parley.stores.workgroups.workgroup_by_slug(tx, "sales")
            assert wg is not None
            await world.parley.stores.workgroups.update_workgroup(tx, wg.id, invitations=False)
        r = await rest(world, "alice", "post", url, json={"user_id": ids["bob"]})
        assert r.status_code == 403
        assert "does not allow" in r.json()["error"]["message"]
        refused = await invite(alice, cid, ids["bob"])
        assert refused["code"] == "forbidden"

        # Any staff may read the directory.
        r = await rest(world, "carol", "get", "/api/v1/staff")
        assert r.status_code == 200
        names = {m["username"]: m for m in r.json()}
        assert {"alice", "bob", "carol", "dave", "sam"} <= names.keys()
        assert names["alice"]["presence"] == "available"
        assert names["sam"]["role"] == "supervisor"


async def rest(world: World, username: str, method: str, url: str, **kwargs: Any) -> Any:
    async with world.staff_http(username) as http:
        return await http.request(method.upper(), url, **kwargs)


async def _events(world: World, cid: str) -> list[Any]:
    async with world.parley.db.read() as tx:
        return list(await world.parley.stores.requests.events_of(tx, cid))
