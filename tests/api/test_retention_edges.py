"""The archive's edges, on both backends: a read while the retention job trims is one
snapshot; a cursor left behind by a trim is told ``history_removed`` on every path that sends
history from it; exports do not outlive their retention or a stopped server; a hold on a
customer keeps their chats."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_world
from tests.support import World, WsClient

from parley.domain.access import StaffRole
from parley.storage.conversations import ConversationStore

ADMIN = "/api/v1/admin/archive"
DAY = 86_400


async def ok(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    async with world.staff_http(who) as http:
        r: httpx.Response = await http.request(method, path, **kw)
    assert r.status_code in (200, 201, 202, 204), r.text
    return None if r.status_code == 204 else r.json()


async def say(world: World, who: str, cid: str, client_id: str, text: str) -> int:
    entry = await ok(
        world,
        who,
        "post",
        f"/api/v1/conversations/{cid}/messages",
        json={"client_id": client_id, "text": text},
    )
    return int(entry["seq"])


async def taken(world: World, agent: WsClient, **form: Any) -> str:
    """A chat opened in sales and accepted by ``agent``; returns its id."""
    chat = await world.open_chat(**form)
    cid = str(chat["conversation"]["id"])
    offer = await agent.expect(
        lambda m: m["type"] == "offer" and m["offer"]["conversation_id"] == cid
    )
    reply = await agent.request({"type": "accept_offer", "offer_id": offer["offer"]["offer_id"]})
    assert reply["type"] == "ok", reply
    return cid


async def old_room(world: World, old: int = 3) -> str:
    """A room of alice's with ``old`` messages two days old (rooms kept one day), and the
    sweeps left to the test."""
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    room = await ok(world, "alice", "post", "/api/v1/im/rooms", json={"name": "Ops"})
    cid = str(room["id"])
    for i in range(old):
        await say(world, "alice", cid, f"old{i}", f"old news {i}")
    await ok(world, "root", "put", ADMIN, json={"keep_days": {"room": 1}})
    world.clock.advance(2 * DAY)
    return cid


async def test_reading_a_conversation_while_it_is_trimmed_sees_one_snapshot(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    cid = await old_room(world)
    fresh = await say(world, "alice", cid, "new", "fresh news")
    original = ConversationStore.entries_after
    starts: list[int | None] = []

    async def trimmed_meanwhile(
        self: ConversationStore, tx: Any, conversation_id: str, after: int, limit: int | None = None
    ) -> Any:
        # The retention job commits its trim between the reader's look at the conversation
        # and its read of the entries (deterministically: right here).
        if conversation_id == cid and not starts:
            async with world.parley.db.write() as trim_tx:
                before = world.clock.now() - timedelta(days=1)
                starts.append(await world.parley.stores.archive.trim(trim_tx, cid, before))
        return await original(self, tx, conversation_id, after, limit)

    monkeypatch.setattr(ConversationStore, "entries_after", trimmed_meanwhile)
    got = await ok(world, "alice", "get", f"/api/v1/conversations/{cid}")
    assert starts == [fresh]  # the trim did commit during the read
    start = got["conversation"]["history_starts_at_seq"]
    last = got["conversation"]["last_seq"]
    # What was read is what one moment held: the conversation and its entries agree.
    assert [e["seq"] for e in got["entries"]] == list(range(start, last + 1))
    assert start == 1  # the moment before the trim
    # Read again, the trim shows, and agrees with itself too.
    got = await ok(world, "alice", "get", f"/api/v1/conversations/{cid}")
    assert got["conversation"]["history_starts_at_seq"] == fresh
    assert [e["seq"] for e in got["entries"]] == [fresh]


async def test_a_connected_client_left_behind_by_a_trim_is_told_history_removed(
    world: World,
) -> None:
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice")
    room = await ok(world, "alice", "post", "/api/v1/im/rooms", json={"name": "Ops"})
    cid = str(room["id"])
    seen = await say(world, "alice", cid, "a0", "seen by the socket")
    await ok(world, "root", "put", ADMIN, json={"keep_days": {"room": 1}})
    bus = world.parley.bus
    deliver = world.parley.hub.handle
    at = bus._handlers.index(deliver)
    async with world.agent("alice", available=False, cursors={cid: seen}) as alice:
        # The hints of the next two entries are lost on the way to this node's hub (a Redis
        # outage, say): the socket does not get them.
        async def lost(note: Any) -> None:
            if getattr(note, "conversation_id", None) != cid:
                await deliver(note)

        bus._handlers[at] = lost
        try:
            missed = [await say(world, "alice", cid, f"m{i}", f"missed {i}") for i in range(2)]
        finally:
            bus._handlers[at] = deliver
        # Two days on, the retention job removes everything up to now...
        world.clock.advance(2 * DAY)
        await world.parley.archive.sweep()
        # ...and the next entry shows the socket a gap: it reads the record, and is told
        # that what it missed was removed, before it gets what is kept.
        fresh = await say(world, "alice", cid, "f", "fresh")
        error = await alice.expect_type("error")
        assert error["code"] == "history_removed" and error["conversation_id"] == cid
        assert error["history_starts_at_seq"] == fresh == missed[-1] + 1
        entry = await alice.expect_type("entry")
        assert entry["entry"]["seq"] == fresh
        assert [e["seq"] for e in alice.entries(cid)] == [fresh]
    # REST answers a cursor the trim left behind the same way (0 asks for what is kept).
    async with world.staff_http("alice") as http:
        r = await http.get(f"/api/v1/conversations/{cid}/entries", params={"after": seen})
        assert r.status_code == 410, r.text
        body = r.json()["error"]
        assert body["code"] == "history_removed"
        assert body["details"] == {"history_starts_at_seq": fresh}
        for after in (0, fresh - 1):
            r = await http.get(f"/api/v1/conversations/{cid}/entries", params={"after": after})
            assert [e["seq"] for e in r.json()] == [fresh], r.text


EXPORTS = "/api/v1/archive/exports"


async def test_exports_a_stopped_node_left_running_are_failed_not_running_forever(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    await world.open_chat(name="Zoe")
    archive, store = world.parley.archive, world.parley.stores.archive
    now = world.clock.now()
    # Rows as processes that are gone left them: this node id's (a previous process with the
    # same id), a node's whose heartbeat stopped an hour ago, and a live node's.
    rows = {"own": world.parley.node_id, "stale": "gone", "alive": "other"}
    async with world.parley.db.write() as tx:
        for export_id, node in rows.items():
            await store.create_export(tx, export_id, world.user_ids["sam"], {}, now, node)
        await store.progress(tx, "stale", 0, 5, now - timedelta(hours=1))

    async def state(export_id: str) -> tuple[str, str | None]:
        async with world.parley.db.read() as tx:
            row = await store.export(tx, export_id)
        assert row is not None
        return row.state, row.error

    await archive.start()  # what a node does as it starts
    assert await state("own") == ("failed", "interrupted")
    assert await state("stale") == ("failed", "interrupted")
    # On SQLite there is one node: nothing else can be running one. On PostgreSQL a live
    # node's export goes on, until its heartbeat is stale too.
    if world.backend == "sqlite":
        assert await state("alive") == ("failed", "interrupted")
    else:
        assert await state("alive") == ("running", None)
        world.clock.advance(11 * 60)
        await archive.sweep()
        assert await state("alive") == ("failed", "interrupted")

    # A node that stops mid-export marks it failed as it stops.
    from parley.storage.archive import ArchiveStore

    async def never(*_: Any, **__: Any) -> list[str]:
        await world.clock.sleep_until(world.clock.now() + timedelta(days=365))
        return []

    monkeypatch.setattr(ArchiveStore, "conversation_ids", never)
    started = await ok(world, "sam", "post", EXPORTS, json={})
    assert started["state"] == "running"
    await archive.close()
    got = await ok(world, "sam", "get", f"{EXPORTS}/{started['id']}")
    assert got["state"] == "failed" and got["error"] == "interrupted"


async def test_finished_exports_are_deleted_after_their_retention(
    backend: str, tmp_path: Path
) -> None:
    # Sessions that outlive the days this test lets pass.
    async for world in make_world(backend, tmp_path, session_days=30):
        await world.add_workgroup("sales")
        await finished_exports_are_deleted(world)


async def finished_exports_are_deleted(world: World) -> None:
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sam", StaffRole.SUPERVISOR)
    await world.open_chat(name="Zoe")
    assert world.parley.archive.export_keep == timedelta(days=7)  # the default
    first = await ok(world, "sam", "post", EXPORTS, json={})
    await world.parley.archive.wait_exports()
    world.clock.advance(3 * DAY)
    second = await ok(world, "sam", "post", EXPORTS, json={})
    await world.parley.archive.wait_exports()
    world.clock.advance(5 * DAY)  # the first finished 8 days ago, the second 5
    await world.parley.archive.sweep()
    async with world.staff_http("sam") as http:
        for path in ("", "/download", "/download?format=html"):
            r = await http.get(f"{EXPORTS}/{first['id']}{path}")
            assert r.status_code == 404, (path, r.text)
        r = await http.get(f"{EXPORTS}/{second['id']}/download")
        assert r.status_code == 200
    async with world.parley.db.read() as tx:
        assert await world.parley.stores.archive.export(tx, first["id"]) is None
    rows = await ok(world, "root", "get", "/api/v1/admin/audit", params={"action": "archive"})
    retention = [r for r in rows if r["action"] == "archive.retention"]
    assert [r["details"] for r in retention] == [{"exports_deleted": 1, "exports_interrupted": 0}]
    world.clock.advance(3 * DAY)
    await world.parley.archive.sweep()
    async with world.staff_http("sam") as http:
        assert (await http.get(f"{EXPORTS}/{second['id']}")).status_code == 404


async def test_a_hold_on_a_customer_keeps_their_chats_and_back_channels(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.identity import new_key, sign

    from parley.services import archive

    # Batches of two: held chats (the oldest here) must not fill every batch.
    monkeypatch.setattr(archive, "RETENTION_BATCH", 2)
    world.parley.maintenance.sweeps.remove(world.parley.archive.sweep)
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("alice", workgroups=["sales"])
    key = await new_key(world)
    async with world.agent("alice") as alice:
        # Dana, verified (sub "dana"), with a back-channel where colleagues talked.
        dana = await taken(world, alice, identity=sign(world, key, "dana"))
        bc = await ok(world, "alice", "post", f"/api/v1/conversations/{dana}/backchannel")
        await say(world, "alice", bc["id"], "b1", "what do we tell Dana?")
        # Erin typed her email (any case); Fred's is only in his identity token.
        await alice.request({"type": "end", "conversation_id": dana})
        erin = await taken(world, alice, email="Erin@Example.COM")
        await alice.request({"type": "end", "conversation_id": erin})
        fred = await taken(world, alice, identity=sign(world, key, "fred"))
        await alice.request({"type": "end", "conversation_id": fred})
        world.clock.advance(60)
        # Ended last, not held: it goes.
        free = await taken(world, alice, email="zed@example.com")
        await alice.request({"type": "end", "conversation_id": free})
    await ok(
        world,
        "root",
        "put",
        ADMIN,
        json={"keep_days": {"customer_chat": 1, "backchannel": 1}},
    )
    for hold in (
        {"customer_sub": "dana"},
        {"customer_email": "erin@example.com"},
        {"customer_email": "FRED@example.com"},
    ):
        await ok(world, "root", "post", f"{ADMIN}/holds", json={**hold, "reason": "suit"})
    world.clock.advance(2 * DAY)
    await world.parley.archive.sweep()

    async def status(cid: str) -> int:
        async with world.staff_http("root") as http:
            return (await http.get(f"/api/v1/archive/conversations/{cid}")).status_code

    assert [await status(c) for c in (dana, erin, fred)] == [200, 200, 200]
    assert await status(free) == 404
    # The held chat's back-channel keeps everything too (held with its chat).
    kept = await ok(world, "alice", "get", f"/api/v1/conversations/{bc['id']}")
    assert kept["conversation"]["history_starts_at_seq"] == 1
    assert "what do we tell Dana?" in [e["body"].get("text") for e in kept["entries"]]
