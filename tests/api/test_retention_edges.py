"""The archive's edges, on both backends: a read while the retention job trims is one
snapshot; a cursor left behind by a trim is told ``history_removed`` on every path that sends
history from it; exports do not outlive their retention or a stopped server; a hold on a
customer keeps their chats."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from tests.support import World

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
