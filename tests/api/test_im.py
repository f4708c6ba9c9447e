"""The staff IM through the public API, on both backends: direct messages, rooms, read markers,
unread counts, mentions, history and search, and the same send path (ack, idempotency, seq) as
customer chats. Leaks of the back-channel are in ``test_im_backchannel.py``."""

from __future__ import annotations

import random
from typing import Any

from tests.support import World, WsClient

from parley.domain.access import StaffRole


async def rest(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    async with world.staff_http(who) as http:
        return await http.request(method, path, **kw)


async def ok(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    r = await rest(world, who, method, path, **kw)
    assert r.status_code in (200, 201, 204), r.text
    return None if r.status_code == 204 else r.json()


async def send(ws: WsClient, cid: str, client_id: str, text: str) -> dict[str, Any]:
    return await ws.request(
        {"type": "send", "conversation_id": cid, "client_id": client_id, "text": text}
    )


def is_entry(cid: str, kind: str = "message") -> Any:
    return lambda m: (
        m.get("type") == "entry" and m["conversation_id"] == cid and m["entry"]["kind"] == kind
    )


async def test_direct_message_flow(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    await world.add_staff("root", StaffRole.ADMIN)
    bob_id = world.user_ids["bob"]
    async with world.agent("bob", available=False) as bob:
        dm = await ok(world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [bob_id]})
        cid = dm["id"]
        assert dm["kind"] == "direct" and dm["room"] is None
        assert sorted(p["role"] for p in dm["participants"]) == ["member", "member"]
        # Opening it again, from either side, finds the same one.
        again = await ok(
            world,
            "bob",
            "post",
            "/api/v1/im/direct",
            json={"user_ids": [world.user_ids["alice"], bob_id]},
        )
        assert again["id"] == cid
        # bob's connection follows the new DM at once.
        state = await bob.expect_type("conversation")
        assert state["conversation"]["id"] == cid

        async with world.agent("alice", available=False, cursors={cid: 0}) as alice:
            ack = await send(alice, cid, "a1", "Lunch, @bob?")
            assert ack["type"] == "ack" and ack["entry"]["seq"] == 1
            # The same client id again: the same entry, nothing new.
            assert (await send(alice, cid, "a1", "Lunch, @bob?"))["entry"] == ack["entry"]
            got = await bob.expect(is_entry(cid))
            assert got["entry"]["body"]["text"] == "Lunch, @bob?"
            mention = await bob.expect_type("mention")
            assert mention["conversation_id"] == cid
            assert (mention["seq"], mention["name"]) == (1, "Alice")
            await bob.send({"type": "typing", "conversation_id": cid, "active": True})
            typing = await alice.expect_type("typing")
            assert typing["conversation_id"] == cid and typing["name"] == "Bob"
            ack2 = await send(bob, cid, "b1", "Sure")
            assert ack2["entry"]["seq"] == 2
            await alice.expect(is_entry(cid))

        # Unread: the messages of others after my marker.
        (line,) = await ok(world, "bob", "get", "/api/v1/im/conversations")
        assert (line["unread"], line["read_seq"]) == (1, 0)
        assert line["last_entry"]["body"]["text"] == "Sure"
        (mine,) = await ok(world, "alice", "get", "/api/v1/im/conversations")
        assert mine["unread"] == 1  # bob's "Sure"; her own message does not count
        read = await ok(
            world, "bob", "post", f"/api/v1/im/conversations/{cid}/read", json={"seq": 2}
        )
        assert read == {"read_seq": 2, "unread": 0}
        # A marker never goes back.
        read = await ok(
            world, "bob", "post", f"/api/v1/im/conversations/{cid}/read", json={"seq": 1}
        )
        assert read["read_seq"] == 2
        r = await rest(
            world, "bob", "post", f"/api/v1/im/conversations/{cid}/read", json={"seq": 99}
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "cursor_out_of_range"

        # History, by pages, and search.
        page = await ok(world, "bob", "get", f"/api/v1/im/conversations/{cid}/history?limit=1")
        assert [e["seq"] for e in page] == [2]
        page = await ok(
            world, "bob", "get", f"/api/v1/im/conversations/{cid}/history?before=2&limit=5"
        )
        assert [e["seq"] for e in page] == [1]
        found = await ok(world, "bob", "get", f"/api/v1/im/conversations/{cid}/search?q=LUNCH")
        assert [e["seq"] for e in found] == [1]
        assert await ok(world, "bob", "get", f"/api/v1/im/conversations/{cid}/search?q=%25") == []

        # Sending over REST takes the same path: same seq numbering, same idempotency.
        sent = await ok(
            world,
            "alice",
            "post",
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "a1", "text": "Lunch, @bob?"},
        )
        assert sent["seq"] == 1

    # Supervisors and admins do not read DMs: it reads like one that does not exist.
    for who in ("sam", "root"):
        for method, path, body in (
            ("get", f"/api/v1/conversations/{cid}", None),
            ("get", f"/api/v1/conversations/{cid}/entries", None),
            ("get", f"/api/v1/im/conversations/{cid}/history", None),
            ("post", f"/api/v1/conversations/{cid}/messages", {"client_id": "x", "text": "x"}),
            ("post", f"/api/v1/im/conversations/{cid}/join", None),
        ):
            r = await rest(world, who, method, path, json=body)
            assert r.status_code == 404, (who, path, r.text)
            assert r.json()["error"]["message"] == "no such conversation"
        async with world.agent(who, available=False, cursors={cid: 0}) as spy:
            assert any(
                m.get("type") == "error" and m.get("conversation_id") == cid for m in spy.received
            )
            assert not spy.entries(cid)
        assert await ok(world, who, "get", "/api/v1/conversations?all=true") == []


async def test_rooms_open_and_private(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    await world.add_staff("carol")
    bob_id, carol_id = world.user_ids["bob"], world.user_ids["carol"]
    general = await ok(
        world,
        "alice",
        "post",
        "/api/v1/im/rooms",
        json={"name": "General", "topic": "Anything", "visibility": "open"},
    )
    gid = general["id"]
    assert general["room"] == {
        "name": "General",
        "topic": "Anything",
        "visibility": "open",
        "customer_conversation_id": None,
    }
    assert [p["role"] for p in general["participants"]] == ["owner"]
    found = await ok(world, "bob", "get", "/api/v1/im/rooms?q=gen")
    assert [r["id"] for r in found] == [gid]
    # An open room is readable by any staff member, written only by its members.
    assert (await rest(world, "bob", "get", f"/api/v1/conversations/{gid}")).status_code == 200
    r = await rest(
        world,
        "bob",
        "post",
        f"/api/v1/conversations/{gid}/messages",
        json={"client_id": "b0", "text": "hi"},
    )
    assert r.status_code == 403, r.text
    async with world.agent("bob", available=False) as bob:
        joined = await ok(world, "bob", "post", f"/api/v1/im/conversations/{gid}/join")
        assert {p["name"] for p in joined["participants"]} == {"Alice", "Bob"}
        await bob.expect_type("conversation")
        await bob.expect(is_entry(gid, "joined"))
        assert (await send(bob, gid, "b1", "hello all"))["type"] == "ack"
        topic = await ok(
            world,
            "alice",
            "put",
            f"/api/v1/im/conversations/{gid}/topic",
            json={"topic": "Lunch plans"},
        )
        assert topic["room"]["topic"] == "Lunch plans"
        changed = await bob.expect(is_entry(gid, "topic"))
        assert changed["entry"]["body"] == {"topic": "Lunch plans", "name": "Alice"}

        secret = await ok(
            world,
            "alice",
            "post",
            "/api/v1/im/rooms",
            json={"name": "Hiring", "visibility": "private"},
        )
        sid = secret["id"]
        # A private room: not found, not listed, not joinable, for anyone not in it.
        for method, path in (
            ("get", f"/api/v1/conversations/{sid}"),
            ("post", f"/api/v1/im/conversations/{sid}/join"),
            ("get", f"/api/v1/im/conversations/{sid}/search?q=x"),
        ):
            r = await rest(world, "bob", method, path)
            assert r.status_code == 404, (path, r.text)
        assert sid not in {r["id"] for r in await ok(world, "bob", "get", "/api/v1/im/rooms")}
        await ok(
            world,
            "alice",
            "post",
            f"/api/v1/im/conversations/{sid}/members",
            json={"user_id": bob_id},
        )
        await bob.expect(
            lambda m: m.get("type") == "conversation" and m["conversation"]["id"] == sid
        )
        # Only owners invite into a private room.
        r = await rest(
            world,
            "bob",
            "post",
            f"/api/v1/im/conversations/{sid}/members",
            json={"user_id": carol_id},
        )
        assert r.status_code == 403, r.text
        assert (await send(bob, sid, "b2", "thanks")).get("type") == "ack"
        # Leaving: no more live entries, no more reading.
        await ok(world, "bob", "post", f"/api/v1/im/conversations/{sid}/leave")
        await bob.expect(is_entry(sid, "left"))
        async with world.agent("alice", available=False, cursors={sid: 0}) as alice:
            await send(alice, sid, "a9", "the shortlist is ...")
        await ping(bob)
        assert "the shortlist" not in str(bob.received)
        r = await rest(world, "bob", "get", f"/api/v1/conversations/{sid}")
        assert r.status_code == 404, r.text

    lines = {
        line["conversation"]["id"]: line
        for line in await ok(world, "bob", "get", "/api/v1/im/conversations")
    }
    assert set(lines) == {gid}
    assert lines[gid]["unread"] == 0  # only his own message and a topic since he joined


async def ping(ws: WsClient) -> None:
    """Everything queued for ``ws`` before this has arrived."""
    assert (await ws.request({"type": "ping"}))["type"] == "pong"


async def test_mentions_notify_members_only(world: World) -> None:
    await world.add_staff("alice")
    await world.add_staff("bob")
    await world.add_staff("carol")
    room = await ok(
        world, "alice", "post", "/api/v1/im/rooms", json={"name": "Ops", "visibility": "private"}
    )
    rid = room["id"]
    await ok(
        world,
        "alice",
        "post",
        f"/api/v1/im/conversations/{rid}/members",
        json={"user_id": world.user_ids["bob"]},
    )
    async with (
        world.agent("bob", available=False) as bob,
        world.agent("carol", available=False) as carol,
        world.agent("alice", available=False, cursors={rid: 0}) as alice,
    ):
        await send(alice, rid, "m1", "@carol @bob @nobody and mail zoe@example.com")
        mention = await bob.expect_type("mention")
        assert mention["text"].startswith("@carol")
        await ping(carol)
        await ping(alice)
        # carol is not a member: she hears nothing, not even that the room exists.
        assert not [m for m in carol.received if m.get("type") == "mention"]
        assert rid not in str(carol.received)
        assert not [m for m in alice.received if m.get("type") == "mention"]


async def test_nobody_outside_a_dm_reads_it_over_rest(world: World) -> None:
    """Random members, non-members and roles (seeded, so the same every run) against every
    REST path that reads or writes a conversation: only members get in."""
    rng = random.Random(20260105)
    names = [f"u{i}" for i in range(7)]
    for name in names:
        await world.add_staff(name, rng.choice([r for r in StaffRole if r is not StaffRole.GUEST]))
    dms: dict[str, set[str]] = {}
    for _ in range(4):
        members = rng.sample(names, rng.randint(2, 4))
        others = [world.user_ids[m] for m in members[1:]]
        dm = await ok(world, members[0], "post", "/api/v1/im/direct", json={"user_ids": others})
        await ok(
            world,
            members[0],
            "post",
            f"/api/v1/conversations/{dm['id']}/messages",
            json={"client_id": "c", "text": "between us"},
        )
        dms[dm["id"]] = set(members)
    for cid, members in dms.items():
        for name in names:
            inside = name in members
            for method, path, body in (
                ("get", f"/api/v1/conversations/{cid}", None),
                ("get", f"/api/v1/conversations/{cid}/entries", None),
                ("get", f"/api/v1/im/conversations/{cid}/history", None),
                ("get", f"/api/v1/im/conversations/{cid}/search?q=between", None),
                ("post", f"/api/v1/im/conversations/{cid}/read", {"seq": 1}),
                (
                    "post",
                    f"/api/v1/conversations/{cid}/messages",
                    {"client_id": f"x-{name}", "text": "hi"},
                ),
            ):
                r = await rest(world, name, method, path, json=body)
                if inside:
                    assert r.status_code == 200, (name, path, r.text)
                else:
                    assert r.status_code == 404, (name, path, r.text)
                    assert "between us" not in r.text
            listed = {
                line["conversation"]["id"]
                for line in await ok(world, name, "get", "/api/v1/im/conversations")
            }
            assert (cid in listed) == inside
            everyone = await rest(world, name, "get", "/api/v1/conversations?all=true")
            assert cid not in everyone.text


async def test_bad_input(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    await world.add_staff("bob")
    await world.add_staff("gone")
    bob_id, gone_id = world.user_ids["bob"], world.user_ids["gone"]
    await ok(world, "root", "patch", "/api/v1/admin/users/gone", json={"active": False})

    async def refused(path: str, body: Any, status: int, code: str, method: str = "post") -> None:
        r = await rest(world, "alice", method, path, json=body)
        assert r.status_code == status, (path, r.text)
        assert r.json()["error"]["code"] == code, r.text

    # DMs: a deactivated user reads like one that does not exist; so does an unknown id.
    await refused("/api/v1/im/direct", {"user_ids": [gone_id]}, 404, "not_found")
    await refused("/api/v1/im/direct", {"user_ids": [bob_id, gone_id]}, 404, "not_found")
    await refused("/api/v1/im/direct", {"user_ids": [987654]}, 404, "not_found")
    await refused(
        "/api/v1/im/direct", {"user_ids": [world.user_ids["alice"]]}, 422, "invalid_input"
    )
    await refused("/api/v1/im/direct", {"user_ids": []}, 422, "invalid_input")
    await refused("/api/v1/im/direct", {"user_ids": list(range(1, 12))}, 422, "invalid_input")
    await refused("/api/v1/im/direct", {"user_ids": ["bob"]}, 422, "invalid_input")
    await refused("/api/v1/im/direct", {"user_ids": [bob_id], "extra": 1}, 422, "invalid_input")
    # Rooms: a name of 10,000 characters, none, two lines; a bad visibility; a long topic.
    await refused("/api/v1/im/rooms", {"name": "x" * 10_000}, 422, "too_long")
    await refused("/api/v1/im/rooms", {"name": "   "}, 422, "invalid_input")
    await refused("/api/v1/im/rooms", {"name": "a\nb"}, 422, "invalid_input")
    await refused("/api/v1/im/rooms", {"name": "nul\u0000"}, 422, "invalid_input")
    await refused("/api/v1/im/rooms", {"name": "R", "visibility": "secret"}, 422, "invalid_input")
    await refused("/api/v1/im/rooms", {"name": "R", "topic": "t" * 251}, 422, "too_long")
    room = await ok(world, "alice", "post", "/api/v1/im/rooms", json={"name": "R"})
    rid = room["id"]
    await refused(
        f"/api/v1/im/conversations/{rid}/topic", {"topic": "t" * 10_000}, 422, "too_long", "put"
    )
    await refused(f"/api/v1/im/conversations/{rid}/members", {"user_id": gone_id}, 404, "not_found")
    # A private room is joined by invitation only; a DM's members are fixed.
    r = await rest(world, "bob", "post", f"/api/v1/im/conversations/{rid}/join")
    assert r.status_code == 404, r.text
    dm = await ok(world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [bob_id]})
    await refused(
        f"/api/v1/im/conversations/{dm['id']}/members", {"user_id": bob_id}, 403, "forbidden"
    )
    await refused(f"/api/v1/im/conversations/{dm['id']}/leave", None, 403, "forbidden")
    await refused(
        f"/api/v1/im/conversations/{dm['id']}/topic", {"topic": "x"}, 403, "forbidden", "put"
    )
    # Reading: bad pages, searches, markers; unknown ids; a customer chat at an IM path.
    for path in (
        f"/api/v1/im/conversations/{rid}/history?limit=0",
        f"/api/v1/im/conversations/{rid}/history?limit=100000",
        f"/api/v1/im/conversations/{rid}/history?before=-1",
        f"/api/v1/im/conversations/{rid}/search?q=",
        f"/api/v1/im/conversations/{rid}/search?q={'x' * 201}",
        "/api/v1/im/rooms?limit=100000",
    ):
        r = await rest(world, "alice", "get", path)
        assert r.status_code == 422, (path, r.text)
    await refused(f"/api/v1/im/conversations/{rid}/read", {"seq": -1}, 422, "invalid_input")
    for cid in ("0" * 32, "nope", "%00", "x" * 5000):
        r = await rest(world, "alice", "get", f"/api/v1/im/conversations/{cid}/history")
        assert r.status_code == 404, (cid, r.text)
    chat = await world.open_chat()
    r = await rest(
        world, "alice", "get", f"/api/v1/im/conversations/{chat['conversation']['id']}/history"
    )
    assert r.status_code == 404, r.text
    # Sending: the customer chats' checks, unchanged.
    await refused(
        f"/api/v1/conversations/{rid}/messages",
        {"client_id": "c", "text": " "},
        422,
        "invalid_input",
    )
    await refused(
        f"/api/v1/conversations/{rid}/messages",
        {"client_id": "c", "text": "x" * 5000},
        422,
        "too_long",
    )
    # Not signed in at all.
    async with world.node.http() as http:
        assert (await http.get("/api/v1/im/conversations")).status_code == 401


async def test_follow_a_dm_opened_while_away(world: World) -> None:
    """A DM opened with bob while he was not connected is not followed by his next hello;
    after listing it he follows it with ``follow`` from the list's ``last_seq``, and gets what
    was written since, then live entries. What he may not read is refused like a missing one."""
    await world.add_staff("alice")
    await world.add_staff("bob")
    await world.add_staff("carol")
    bob_id = world.user_ids["bob"]
    dm = await ok(world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [bob_id]})
    cid = dm["id"]
    private = await ok(
        world, "alice", "post", "/api/v1/im/direct", json={"user_ids": [world.user_ids["carol"]]}
    )
    async with world.agent("alice", available=False, cursors={cid: 0}) as alice:
        await send(alice, cid, "a1", "Are you there?")
        async with world.agent("bob", available=False) as bob:
            assert not bob.entries(cid)  # not followed by the hello
            (line,) = await ok(world, "bob", "get", "/api/v1/im/conversations")
            assert line["conversation"]["last_seq"] == 1
            await send(alice, cid, "a2", "Hello?")  # between the list and the follow
            reply = await bob.request(
                {
                    "type": "follow",
                    "cursors": {cid: line["conversation"]["last_seq"], private["id"]: 0},
                }
            )
            assert reply["type"] == "ok"
            refused = [m for m in bob.received if m.get("type") == "error"]
            assert [(m["code"], m["conversation_id"]) for m in refused] == [
                ("not_found", private["id"])
            ]
            assert [e["body"]["text"] for e in bob.entries(cid)] == ["Hello?"]
            assert not bob.entries(private["id"])
            await send(alice, cid, "a3", "Lunch?")
            got = await bob.expect(lambda m: is_entry(cid)(m) and m["entry"]["seq"] == 3)
            assert got["entry"]["body"]["text"] == "Lunch?"
            # Following it again changes nothing; an empty follow is invalid.
            assert (await bob.request({"type": "follow", "cursors": {cid: 0}}))["type"] == "ok"
            assert [e["seq"] for e in bob.entries(cid)] == [2, 3]
            bad = await bob.request({"type": "follow", "cursors": {}})
            assert bad["type"] == "error" and bad["code"] == "invalid_message"
