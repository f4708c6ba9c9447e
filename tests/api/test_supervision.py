"""Supervisors, live, through the public API on both backends: who supervises what (and that
another workgroup reads like one that does not exist, and agents see none of it), the wallboard
pushed over the socket, the live chats, silent monitoring (read-only, never seen by the
customer), whispers (the agents only), barging in and taking over, and the audit log."""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.fakes import FakeClock
from tests.support import (
    REDIS_URL,
    World,
    WsClient,
    check_redis,
    postgres_schema,
    run_node,
    settings_for,
)

from parley.domain.access import StaffRole
from parley.storage.audit import AuditQuery

SECRET = "coach: offer the 10 % voucher"


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """Workgroups sales and support; alice (agent, sales), bob (agent, support), sam
    (supervisor of sales), tess (supervisor of support), admin. Pushes go out at once."""
    async for w in make_world(backend, tmp_path, wallboard_push_interval_secs=0):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        await w.add_workgroup("support", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("bob", workgroups=["support"])
        await w.add_staff("sam", StaffRole.SUPERVISOR)
        await w.add_staff("tess", StaffRole.SUPERVISOR)
        await w.add_staff("admin", StaffRole.ADMIN)
        for slug, who in (("sales", ["sam"]), ("support", ["tess"])):
            r = await rest(
                w,
                "admin",
                "put",
                f"/api/v1/admin/workgroups/{slug}/supervisors",
                json={"usernames": who},
            )
            assert r.status_code == 200, r.text
        yield w


async def rest(world: World, username: str, method: str, url: str, **kwargs: Any) -> Any:
    async with world.staff_http(username) as http:
        return await http.request(method.upper(), url, **kwargs)


def is_entry(kind: str) -> Any:
    return lambda m: m.get("type") == "entry" and m["entry"]["kind"] == kind


def board_of(slug: str, **total: Any) -> Any:
    """A ``wallboard`` frame of the workgroup whose totals have these values."""

    def match(m: dict[str, Any]) -> bool:
        if m.get("type") != "wallboard" or m["board"] is None or m["board"]["slug"] != slug:
            return False
        return all(m["board"]["total"][k] == v for k, v in total.items())

    return match


async def sales_id(world: World) -> int:
    async with world.parley.db.read() as tx:
        wg = await world.parley.stores.workgroups.workgroup_by_slug(tx, "sales")
    assert wg is not None
    return wg.id


@asynccontextmanager
async def chat_with_alice(world: World) -> AsyncIterator[tuple[WsClient, WsClient, str]]:
    """alice has accepted Zoe's sales chat; yields (alice, zoe, conversation id)."""
    async with world.agent("alice") as alice:
        chat = await world.open_chat(question="Where is my voucher?")
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        ok = await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        assert ok["type"] == "ok"
        await alice.expect(is_entry("joined"))
        async with world.visitor(chat["visitor_token"]) as zoe:
            yield alice, zoe, cid


@asynccontextmanager
async def staff_socket(world: World, username: str) -> AsyncIterator[WsClient]:
    async with world.agent(username, available=False) as ws:
        yield ws


def told_nothing(ws: WsClient, *words: str) -> None:
    """Nothing the visitor received names the watcher, the whisper, or monitoring."""
    raw = json.dumps(ws.received)
    for word in (SECRET, "watching", "monitor", "coaching", "Sam", *words):
        assert word not in raw, word


async def test_who_supervises_what(world: World) -> None:
    # Agents see none of it: the REST routes and the frames are refused.
    for url in (
        "/api/v1/supervision/workgroups/sales/wallboard",
        "/api/v1/supervision/chats",
    ):
        r = await rest(world, "alice", "get", url)
        assert (r.status_code, r.json()["error"]["code"]) == (403, "forbidden"), url
    mine = await rest(world, "alice", "get", "/api/v1/supervision/workgroups")
    assert mine.status_code == 403
    async with staff_socket(world, "alice") as alice:
        for frame in (
            {"type": "supervise"},
            {"type": "monitor", "conversation_id": "0" * 32},
        ):
            refused = await alice.request(frame)
            assert (refused["type"], refused["code"]) == ("error", "forbidden")

    # A supervisor sees the workgroups they supervise; another reads like none at all.
    mine = await rest(world, "sam", "get", "/api/v1/supervision/workgroups")
    assert [w["slug"] for w in mine.json()] == ["sales"]
    assert mine.json()[0]["settings"]["sl_target_secs"] == 45
    theirs = await rest(world, "sam", "get", "/api/v1/supervision/workgroups/support/wallboard")
    missing = await rest(world, "sam", "get", "/api/v1/supervision/workgroups/nope/wallboard")
    assert theirs.status_code == missing.status_code == 404
    assert theirs.json() == missing.json()
    r = await rest(
        world, "sam", "get", "/api/v1/supervision/chats", params={"workgroup": "support"}
    )
    assert r.status_code == 404
    # Admins see every workgroup.
    every = await rest(world, "admin", "get", "/api/v1/supervision/workgroups")
    assert sorted(w["slug"] for w in every.json()) == ["sales", "support"]

    # Only supervisors can be made supervisors; only admins do it, and it is audited.
    r = await rest(
        world,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/supervisors",
        json={"usernames": ["alice"]},
    )
    assert (r.status_code, r.json()["error"]["code"]) == (422, "invalid_input")
    r = await rest(
        world,
        "sam",
        "put",
        "/api/v1/admin/workgroups/sales/supervisors",
        json={"usernames": ["sam", "tess"]},
    )
    assert r.status_code == 403
    r = await rest(world, "admin", "get", "/api/v1/admin/workgroups/sales/supervisors")
    assert r.json() == {"usernames": ["sam"]}
    async with world.parley.db.read() as tx:
        rows = await world.parley.stores.audit.search(
            tx, AuditQuery(action="supervision.supervisors_set")
        )
    assert len(rows) == 2

    # Settings: admins set them (checked), supervisors read them with their workgroups.
    r = await rest(
        world,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/supervision",
        json={"sl_target_secs": 0},
    )
    assert r.status_code == 422
    r = await rest(
        world,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/supervision",
        json={"sl_target_secs": 30, "alert_waiting": 1, "show_monitoring": True},
    )
    assert r.status_code == 200, r.text
    assert r.json()["sl_target_secs"] == 30
    mine = await rest(world, "sam", "get", "/api/v1/supervision/workgroups")
    assert mine.json()[0]["settings"]["alert_waiting"] == 1


async def test_wallboard_is_pushed_and_changes_with_the_queue(world: World) -> None:
    r = await rest(
        world,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/supervision",
        json={"alert_waiting": 1},
    )
    assert r.status_code == 200
    async with staff_socket(world, "sam") as sam, staff_socket(world, "tess") as tess:
        assert (await sam.request({"type": "supervise"}))["type"] == "ok"
        first = await sam.expect(board_of("sales", waiting=0, answered=0))
        assert first["board"]["alerts"] == []
        assert first["board"]["total"]["service_level"] is None
        assert (await tess.request({"type": "supervise"}))["type"] == "ok"
        await tess.expect(board_of("support", waiting=0))

        chat = await world.open_chat(question="hello")
        cid = chat["conversation"]["id"]
        queued = await sam.expect(board_of("sales", waiting=1))
        assert "waiting" in queued["board"]["alerts"]  # the threshold: red
        assert queued["board"]["total"]["alerts"] == ["waiting"]
        assert [q["name"] for q in queued["board"]["queues"]] == ["default"]
        assert queued["board"]["queues"][0]["waiting"] == 1

        world.clock.advance(20)  # the wait grows on the next tick (the node's clock)
        grown = await sam.expect(board_of("sales", waiting=1, longest_wait_secs=20))
        assert grown["board"]["total"]["longest_wait_secs"] == 20

        async with world.agent("alice") as alice:
            offer = (await alice.expect_type("offer"))["offer"]
            await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            answered = await sam.expect(board_of("sales", waiting=0, answered=1))
            tile = answered["board"]["total"]
            assert tile["answered_in_target"] == 1 and tile["service_level"] == 1.0
            assert tile["asa_secs"] == 20.0
            assert answered["board"]["alerts"] == []
            alice_tile = next(a for a in answered["board"]["agents"] if a["name"] == "Alice")
            assert (alice_tile["chats"], alice_tile["capacity"]) == (1, 2)
            assert answered["board"]["occupancy"] == 0.5
            [live] = answered["board"]["chats"]
            assert live["conversation_id"] == cid and live["wait_secs"] == 20
            assert live["agents"] == [{"user_id": world.user_ids["alice"], "name": "Alice"}]
            # The customer is still typing... (a message moves the chat's last message time).
            async with world.visitor(chat["visitor_token"]) as zoe:
                world.clock.advance(200)
                stalled = await sam.expect(
                    lambda m: (
                        board_of("sales")(m) and any(c["stalled"] for c in m["board"]["chats"])
                    )
                )
                assert stalled["board"]["chats"][0]["idle_secs"] == 200
                await zoe.request(
                    {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "hi"}
                )
                await sam.expect(
                    lambda m: (
                        board_of("sales")(m)
                        and m["board"]["chats"]
                        and not m["board"]["chats"][0]["stalled"]
                    )
                )
                await zoe.request({"type": "end", "conversation_id": cid})
                await sam.expect(lambda m: board_of("sales")(m) and m["board"]["chats"] == [])

        # A chat that gives up waiting is abandoned.
        gone = await world.open_chat(name="Yann")
        await sam.expect(board_of("sales", waiting=1))
        async with world.visitor(gone["visitor_token"]) as yann:
            await yann.request({"type": "end", "conversation_id": gone["conversation"]["id"]})
        left = await sam.expect(board_of("sales", waiting=0, abandoned=1))
        assert left["board"]["total"]["answered"] == 1
        # Tess (support) was never sent anything of sales.
        assert not [m for m in tess.received if board_of("sales")(m)]

        # Read now, over REST: the same numbers.
        r = await rest(world, "sam", "get", "/api/v1/supervision/workgroups/sales/wallboard")
        assert r.status_code == 200
        assert r.json()["total"]["abandoned"] == 1 and r.json()["total"]["answered"] == 1

        # No longer supervising sales: the board goes off sam's screen.
        r = await rest(
            world,
            "admin",
            "put",
            "/api/v1/admin/workgroups/sales/supervisors",
            json={"usernames": []},
        )
        assert r.status_code == 200
        await sam.expect(lambda m: m.get("type") == "wallboard" and m["board"] is None)


async def test_live_chats_filtered(world: World) -> None:
    async with chat_with_alice(world) as (_alice, _zoe, cid):
        chats = await rest(world, "sam", "get", "/api/v1/supervision/chats")
        assert [c["conversation_id"] for c in chats.json()] == [cid]
        assert chats.json()[0]["customer"] == "Zoe"
        by_agent = await rest(
            world,
            "sam",
            "get",
            "/api/v1/supervision/chats",
            params={"agent": world.user_ids["bob"]},
        )
        assert by_agent.json() == []
        by_agent = await rest(
            world,
            "sam",
            "get",
            "/api/v1/supervision/chats",
            params={"agent": world.user_ids["alice"], "workgroup": "sales"},
        )
        assert [c["conversation_id"] for c in by_agent.json()] == [cid]
        queue = chats.json()[0]["queue_id"]
        by_queue = await rest(
            world, "sam", "get", "/api/v1/supervision/chats", params={"queue": queue + 1000}
        )
        assert by_queue.json() == []
        # Tess supervises support only: sales' chats are not hers.
        theirs = await rest(world, "tess", "get", "/api/v1/supervision/chats")
        assert theirs.json() == []


async def test_a_supervisor_reads_only_the_chats_of_their_workgroups(world: World) -> None:
    """Sam supervises sales and reads its chats; Tess supervises support and reads none of
    them, on every path (REST, the past-chats list, hello cursors, follow, the customer's
    history), each answering exactly like a chat that does not exist; an admin reads all."""
    async with chat_with_alice(world) as (alice, _zoe, cid):
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hello Zoe"}
        )
        missing = "0" * 32
        for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/entries"):
            assert (await rest(world, "sam", "get", path)).status_code == 200
            assert (await rest(world, "admin", "get", path)).status_code == 200
            theirs = await rest(world, "tess", "get", path)
            none = await rest(world, "tess", "get", path.replace(cid, missing))
            assert theirs.status_code == none.status_code == 404
            assert theirs.json() == none.json()
        listed = await rest(world, "sam", "get", "/api/v1/conversations", params={"all": "true"})
        assert [c["id"] for c in listed.json()] == [cid]
        listed = await rest(world, "tess", "get", "/api/v1/conversations", params={"all": "true"})
        assert listed.json() == []
        r = await rest(world, "tess", "get", f"/api/v1/conversations/{cid}/customer")
        assert r.status_code == 404
        async with world.agent("tess", available=False, cursors={cid: 0}) as tess:
            refused = [m for m in tess.received if m.get("type") == "error"]
            assert [(m["code"], m["conversation_id"]) for m in refused] == [("not_found", cid)]
            reply = await tess.request({"type": "follow", "cursors": {cid: 0}})
            assert reply["type"] == "ok"
            assert not tess.entries(cid)
        async with world.agent("sam", available=False, cursors={cid: 0}) as sam:
            assert [e["kind"] for e in sam.entries(cid)][-1] == "message"


async def test_monitoring_is_silent_and_read_only(world: World) -> None:
    r = await rest(
        world,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/supervision",
        json={"show_monitoring": True},
    )
    assert r.status_code == 200
    async with chat_with_alice(world) as (alice, zoe, cid), staff_socket(world, "sam") as sam:
        await zoe.request(
            {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "first"}
        )
        ok = await sam.request({"type": "monitor", "conversation_id": cid})
        assert ok["type"] == "ok"
        state = next(m for m in sam.received if m.get("type") == "conversation")
        assert state["conversation"]["id"] == cid
        # Sam is not in the chat: nothing changed in it.
        assert all(
            p["key"] != f"user:{world.user_ids['sam']}"
            for p in state["conversation"]["participants"]
        )
        assert [e["kind"] for e in sam.entries(cid)] == ["queued", "joined", "message"]
        # The agent is told (this workgroup shows it).
        watching = await alice.expect_type("watching", conversation_id=cid)
        assert watching["watchers"] == [{"user_id": world.user_ids["sam"], "name": "Sam"}]

        # Each message, live.
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hello Zoe"}
        )
        heard = await sam.expect(is_entry("message"))
        while heard["entry"]["body"]["text"] != "Hello Zoe":
            heard = await sam.expect(is_entry("message"))

        # Monitoring never turns into writing: a send, a note, typing, ending are refused.
        for frame in (
            {"type": "send", "conversation_id": cid, "client_id": "s1", "text": "oops"},
            {
                "type": "send",
                "conversation_id": cid,
                "client_id": "s2",
                "text": "x",
                "private": True,
            },
            {"type": "end", "conversation_id": cid},
        ):
            refused = await sam.request(frame)
            assert (refused["type"], refused["code"]) == ("error", "monitor_read_only"), frame
        r = await rest(
            world,
            "sam",
            "post",
            f"/api/v1/conversations/{cid}/messages",
            json={"client_id": "s3", "text": "oops"},
        )
        assert (r.status_code, r.json()["error"]["code"]) == (403, "monitor_read_only")
        await sam.send({"type": "typing", "conversation_id": cid, "active": True})
        refused = await sam.expect(lambda m: m.get("code") == "monitor_read_only")
        assert refused["type"] == "error"

        # Another workgroup's chat reads like none at all.
        async with staff_socket(world, "tess") as tess:
            nope = await tess.request({"type": "monitor", "conversation_id": cid})
            missing = await tess.request({"type": "monitor", "conversation_id": "f" * 32})
            assert nope["code"] == missing["code"] == "not_found"
            assert nope["message"] == missing["message"]

        # Stopping: the agent is told, the socket follows the chat no more.
        assert (await sam.request({"type": "unmonitor", "conversation_id": cid}))["type"] == "ok"
        after = await alice.expect(lambda m: m.get("type") == "watching" and m["watchers"] == [])
        assert after["conversation_id"] == cid
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a2", "text": "not for sam"}
        )
        await zoe.expect(
            lambda m: is_entry("message")(m) and m["entry"]["body"]["text"] == "not for sam"
        )
        never = await sam.request({"type": "ping"})
        assert never["type"] == "pong"
        assert all(
            m.get("entry", {}).get("body", {}).get("text") != "not for sam" for m in sam.received
        )

        # The customer learned nothing, on the socket or over REST.
        told_nothing(zoe)
    async with world.node.http(headers={"X-Visitor-Token": await _token(world, cid)}) as http:
        r = await http.get(f"/api/v1/conversations/{cid}")
        assert "Sam" not in r.text and "watching" not in r.text
    async with world.parley.db.read() as tx:
        rows = await world.parley.stores.audit.search(tx, AuditQuery(action="supervision"))
    assert [(r.action, r.subject, r.actor) for r in rows] == [
        ("supervision.monitor", cid, f"staff:{world.user_ids['sam']}"),
        (
            "supervision.settings_set",
            f"workgroup:{await sales_id(world)}",
            f"staff:{world.user_ids['admin']}",
        ),
        *[(r.action, r.subject, r.actor) for r in rows[2:]],
    ]


async def test_watchers_hidden_unless_the_workgroup_shows_them(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid), staff_socket(world, "sam") as sam:
        assert (await sam.request({"type": "monitor", "conversation_id": cid}))["type"] == "ok"
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "hi"}
        )
        await sam.expect(is_entry("message"))
        assert not [m for m in alice.received if m.get("type") == "watching"]
        told_nothing(zoe)


async def test_watching_on_reconnect_and_when_the_socket_closes(world: World) -> None:
    r = await rest(
        world,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/supervision",
        json={"show_monitoring": True},
    )
    assert r.status_code == 200
    async with chat_with_alice(world) as (alice, _zoe, cid):
        async with staff_socket(world, "sam") as sam:
            assert (await sam.request({"type": "monitor", "conversation_id": cid}))["type"] == "ok"
            await alice.expect(lambda m: m.get("type") == "watching" and m["watchers"])
            # Alice comes back on another socket: she is told at once.
            async with world.agent("alice") as again:
                snap = await _watching_after_synced(again, cid)
                assert [w["name"] for w in snap["watchers"]] == ["Sam"]
        # Sam's socket closed: nobody watches any more.
        await alice.expect(lambda m: m.get("type") == "watching" and m["watchers"] == [])


async def _watching_after_synced(ws: WsClient, cid: str) -> dict[str, Any]:
    return next(
        m for m in ws.received if m.get("type") == "watching" and m["conversation_id"] == cid
    )


async def test_whisper_reaches_the_agents_only(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid), staff_socket(world, "sam") as sam:
        assert (await sam.request({"type": "monitor", "conversation_id": cid}))["type"] == "ok"
        acked = await sam.request(
            {"type": "whisper", "conversation_id": cid, "client_id": "w1", "text": SECRET}
        )
        assert acked["type"] == "ack", acked
        entry = acked["entry"]
        assert entry["kind"] == "note"
        assert entry["body"] == {"text": SECRET, "coaching": True, "name": "Sam"}
        assert entry["author"] == f"user:{world.user_ids['sam']}"
        on_alice = await alice.expect(is_entry("note"))
        assert on_alice["entry"]["body"]["coaching"] is True
        hidden = await zoe.expect(is_entry("hidden"))
        assert hidden["entry"] == {
            **hidden["entry"],
            "seq": entry["seq"],
            "body": {},
            "author": None,
        }
        # The same client id again: the same entry, not a second one.
        again = await sam.request(
            {"type": "whisper", "conversation_id": cid, "client_id": "w1", "text": SECRET}
        )
        assert again["entry"]["seq"] == entry["seq"]
        # Over REST too.
        r = await rest(
            world,
            "sam",
            "post",
            f"/api/v1/supervision/chats/{cid}/whisper",
            json={"client_id": "w2", "text": SECRET + " (2)"},
        )
        assert r.status_code == 200, r.text
        await zoe.expect(lambda m: is_entry("hidden")(m) and m["entry"]["seq"] == r.json()["seq"])
        # Not hers to coach: Tess reads it like no chat at all; an agent is refused.
        r = await rest(
            world,
            "tess",
            "post",
            f"/api/v1/supervision/chats/{cid}/whisper",
            json={"client_id": "w3", "text": "x"},
        )
        assert r.status_code == 404
        r = await rest(
            world,
            "alice",
            "post",
            f"/api/v1/supervision/chats/{cid}/whisper",
            json={"client_id": "w4", "text": "x"},
        )
        assert r.status_code == 403
        told_nothing(zoe)
        token = await _token(world, cid)
    # The customer never sees it: after a reload, over REST, in the transcript.
    async with world.visitor(token) as reloaded:
        await reloaded.request({"type": "ping"})
        told_nothing(reloaded)
        kinds = {e["kind"] for e in reloaded.entries(cid)}
        assert "note" not in kinds and "hidden" in kinds
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        for url in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/entries"):
            r = await http.get(url, params={"after": 0} if "entries" in url else None)
            assert r.status_code == 200
            assert SECRET not in r.text and "coaching" not in r.text
    staff_view = await rest(world, "alice", "get", f"/api/v1/conversations/{cid}")
    assert SECRET in staff_view.text
    async with world.parley.db.read() as tx:
        rows = await world.parley.stores.audit.search(tx, AuditQuery(action="supervision.whisper"))
    assert len(rows) == 2 and {r.subject for r in rows} == {cid}


async def test_barge_in_shows_the_supervisor_joining(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid), staff_socket(world, "sam") as sam:
        assert (await sam.request({"type": "monitor", "conversation_id": cid}))["type"] == "ok"
        assert (await sam.request({"type": "barge", "conversation_id": cid}))["type"] == "ok"
        joined = await zoe.expect(
            lambda m: is_entry("joined")(m) and m["entry"]["body"]["name"] == "Sam"
        )
        assert joined["entry"]["body"]["role"] == "helper"
        await alice.expect(lambda m: is_entry("joined")(m) and m["entry"]["body"]["name"] == "Sam")
        # Now a participant, Sam writes to the customer.
        said = await sam.request(
            {"type": "send", "conversation_id": cid, "client_id": "s1", "text": "Sam here"}
        )
        assert said["type"] == "ack", said
        await zoe.expect(
            lambda m: is_entry("message")(m) and m["entry"]["body"]["text"] == "Sam here"
        )
        twice = await sam.request({"type": "barge", "conversation_id": cid})
        assert twice["code"] == "conflict"
        # Done watching, but in the chat: the socket still follows it.
        assert (await sam.request({"type": "unmonitor", "conversation_id": cid}))["type"] == "ok"
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a7", "text": "for both"}
        )
        await sam.expect(
            lambda m: is_entry("message")(m) and m["entry"]["body"]["text"] == "for both"
        )
        # Still alice's chat: she has it against her capacity, sam does not.
        board = await rest(world, "sam", "get", "/api/v1/supervision/workgroups/sales/wallboard")
        [live] = board.json()["chats"]
        assert [a["name"] for a in live["agents"]] == ["Alice"]
    async with world.parley.db.read() as tx:
        rows = await world.parley.stores.audit.search(tx, AuditQuery(action="supervision.barge"))
    assert [r.subject for r in rows] == [cid]


async def test_take_over(world: World) -> None:
    async with chat_with_alice(world) as (alice, zoe, cid), staff_socket(world, "sam") as sam:
        r = await rest(world, "tess", "post", f"/api/v1/supervision/chats/{cid}/take-over")
        assert r.status_code == 404
        r = await rest(world, "alice", "post", f"/api/v1/supervision/chats/{cid}/take-over")
        assert r.status_code == 403
        r = await rest(world, "sam", "post", f"/api/v1/supervision/chats/{cid}/take-over")
        assert r.status_code == 204, r.text
        left = await zoe.expect(is_entry("left"))
        assert left["entry"]["body"] == {"name": "Alice", "role": "agent", "reason": "taken_over"}
        joined = await zoe.expect(
            lambda m: is_entry("joined")(m) and m["entry"]["body"]["name"] == "Sam"
        )
        assert joined["entry"]["body"]["role"] == "agent"
        await alice.expect(is_entry("left"))
        # Sam's socket follows the chat now (he took part), and writes in it.
        await sam.expect(lambda m: m.get("type") == "conversation")
        said = await sam.request(
            {"type": "send", "conversation_id": cid, "client_id": "s1", "text": "Sam now"}
        )
        assert said["type"] == "ack", said
        refused = await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a9", "text": "still me?"}
        )
        assert refused["code"] == "forbidden"
        again = await rest(world, "sam", "post", f"/api/v1/supervision/chats/{cid}/take-over")
        assert again.status_code == 409
        # Routing and capacity agree: alice holds no chat, the request names sam.
        board = await rest(world, "sam", "get", "/api/v1/supervision/workgroups/sales/wallboard")
        alice_tile = next(a for a in board.json()["agents"] if a["name"] == "Alice")
        assert alice_tile["chats"] == 0
        assert [a["name"] for a in board.json()["chats"][0]["agents"]] == ["Sam"]
        async with world.parley.db.read() as tx:
            state = await world.parley.stores.requests.request_state(tx, cid)
        assert state is not None and state.agent_id == world.user_ids["sam"]
        # Sam ends it like its agent.
        assert (await sam.request({"type": "end", "conversation_id": cid}))["type"] == "ok"
    async with world.parley.db.read() as tx:
        rows = await world.parley.stores.audit.search(
            tx, AuditQuery(action="supervision.take_over")
        )
    assert [r.subject for r in rows] == [cid]
    assert rows[0].details["agents"] == [world.user_ids["alice"]]


async def _token(world: World, cid: str) -> str:
    return world.parley.auth.visitor_token(cid)


async def test_two_nodes_one_wallboard_one_monitor(tmp_path: Path) -> None:
    """PostgreSQL + Redis, two nodes: the supervisor's socket on node A, the agent, the
    visitor and their changes on node B. A's board follows B's changes (the bus wakes it,
    the database answers), A's watcher sees B's messages, and B refuses a send from the
    watcher (the ``monitors`` row)."""
    await check_redis()
    clock = FakeClock()
    async with postgres_schema() as url:
        shared = settings_for(
            tmp_path,
            database_url=url,
            redis_url=REDIS_URL,
            redis_channel="parley-test:" + secrets.token_hex(4),
            wallboard_push_interval_secs=0,
        )
        a_settings = shared.model_copy(update={"node_id": "board-a"})
        b_settings = shared.model_copy(update={"node_id": "board-b"})
        async with run_node(a_settings, clock) as a, run_node(b_settings, clock) as b:
            on_a, on_b = World(a, clock, "postgres"), World(b, clock, "postgres")
            await on_a.add_workgroup("sales")
            await on_b.add_staff("alice", workgroups=["sales"])
            await on_a.add_staff("sam", StaffRole.SUPERVISOR)
            await on_a.add_staff("admin", StaffRole.ADMIN)
            r = await rest(
                on_a,
                "admin",
                "put",
                "/api/v1/admin/workgroups/sales/supervisors",
                json={"usernames": ["sam"]},
            )
            assert r.status_code == 200
            on_b.tokens["sam"] = on_a.tokens["sam"]
            async with staff_socket(on_a, "sam") as sam:
                assert (await sam.request({"type": "supervise"}))["type"] == "ok"
                await sam.expect(board_of("sales", waiting=0))
                async with on_b.agent("alice") as alice:
                    chat = await on_b.open_chat()
                    cid = chat["conversation"]["id"]
                    await sam.expect(board_of("sales", waiting=1))
                    offer = (await alice.expect_type("offer"))["offer"]
                    await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
                    await sam.expect(board_of("sales", waiting=0, answered=1))

                    ok = await sam.request({"type": "monitor", "conversation_id": cid})
                    assert ok["type"] == "ok"
                    await alice.request(
                        {
                            "type": "send",
                            "conversation_id": cid,
                            "client_id": "a1",
                            "text": "from node B",
                        }
                    )
                    await sam.expect(
                        lambda m: (
                            is_entry("message")(m) and m["entry"]["body"]["text"] == "from node B"
                        )
                    )
                    r = await rest(
                        on_b,
                        "sam",
                        "post",
                        f"/api/v1/conversations/{cid}/messages",
                        json={"client_id": "s1", "text": "oops"},
                    )
                    assert r.json()["error"]["code"] == "monitor_read_only"
                    acked = await sam.request(
                        {
                            "type": "whisper",
                            "conversation_id": cid,
                            "client_id": "w1",
                            "text": SECRET,
                        }
                    )
                    assert acked["type"] == "ack"
                    coached = await alice.expect(is_entry("note"))
                    assert coached["entry"]["body"]["coaching"] is True
