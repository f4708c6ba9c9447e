"""Group commit: sends that arrive together are committed together, and nothing of what one
send at a time guaranteed is lost (services.group_commit, storage.writer).

Batches are made deterministic by holding the writer (``GroupCommit.held``) while the sends
queue up (``until_pending``), then letting them go as one batch.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.conftest import make_world
from tests.fakes import FakeClock
from tests.support import REDIS_URL, World, check_redis, postgres_schema, run_node, settings_for

from parley.domain import conversation as conv_policy
from parley.domain.access import Visitor
from parley.domain.errors import Conflict
from parley.services.group_commit import GroupCommit
from parley.storage.writer import BatchWriter, Conflicted

# Many sends to one conversation over REST: the abuse limit would measure itself.
FAST = {"send_limit": "10000 per second"}


@pytest.fixture
async def gc_world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(backend, tmp_path, **FAST):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=2)
        yield w


def visitor_http(world: World, chat: dict[str, Any]) -> httpx.AsyncClient:
    return world.node.http(headers={"X-Visitor-Token": chat["visitor_token"]})


async def post(http: httpx.AsyncClient, cid: str, client_id: str, text: str) -> httpx.Response:
    return await http.post(
        f"/api/v1/conversations/{cid}/messages", json={"client_id": client_id, "text": text}
    )


async def entries(http: httpx.AsyncClient, cid: str) -> list[dict[str, Any]]:
    r = await http.get(f"/api/v1/conversations/{cid}/entries")
    assert r.status_code == 200, r.text
    return list(r.json())


async def one_batch(group: GroupCommit, count: int, *sends: Any) -> list[Any]:
    """Start ``sends`` while the writer is held, wait until ``count`` of them are queued, then
    let them go together; their results, in order."""
    before = group.stats.batches
    async with group.held():
        tasks = [asyncio.ensure_future(s) for s in sends]
        # A deadline only so that a send that never queues fails the test instead of hanging.
        await asyncio.wait_for(group.until_pending(count), 60)
    results = await asyncio.gather(*tasks)
    assert group.stats.batches == before + 1
    assert group.stats.last_batch == count
    return results


async def test_a_batch_of_sends_is_one_commit_with_gapless_seqs(gc_world: World) -> None:
    group = gc_world.parley.writes
    chat = await gc_world.open_chat()
    cid = chat["conversation"]["id"]
    async with visitor_http(gc_world, chat) as http:
        answers = await one_batch(group, 8, *(post(http, cid, f"c{i}", f"m{i}") for i in range(8)))
        assert all(r.status_code == 200 for r in answers), [r.text for r in answers]
        assert sorted(r.json()["seq"] for r in answers) == list(range(2, 10))
        stored = await entries(http, cid)
    assert [e["seq"] for e in stored] == list(range(1, 10))
    by_client = {e["client_id"]: e["body"]["text"] for e in stored[1:]}
    assert by_client == {f"c{i}": f"m{i}" for i in range(8)}


async def test_duplicates_inside_one_batch_get_the_first_ones_answer(gc_world: World) -> None:
    group = gc_world.parley.writes
    chat = await gc_world.open_chat()
    cid = chat["conversation"]["id"]
    async with visitor_http(gc_world, chat) as http:
        first = await post(http, cid, "before", "stored before the batch")
        assert first.status_code == 200
        answers = await one_batch(
            group,
            6,
            post(http, cid, "a", "a, first try"),
            post(http, cid, "a", "a, second try"),
            post(http, cid, "b", "b"),
            post(http, cid, "a", "a, third try"),
            post(http, cid, "before", "again"),
            post(http, cid, "b", "b again"),
        )
        bodies = [r.json() for r in answers]
        assert all(r.status_code == 200 for r in answers)
        assert bodies[0] == bodies[1] == bodies[3]
        assert bodies[2] == bodies[5]
        assert bodies[4] == first.json()
        assert {bodies[0]["seq"], bodies[2]["seq"]} == {3, 4}
        stored = await entries(http, cid)
    assert [e["seq"] for e in stored] == [1, 2, 3, 4]
    assert stored[1]["client_id"] == "before"
    assert {e["client_id"] for e in stored[2:]} == {"a", "b"}


async def end_behind_the_nodes_back(world: World, cid: str) -> None:
    """End a conversation in the database alone, announcing nothing: what a node sees when
    another node ended it and the bus has not told it yet."""
    convs = world.parley.stores.conversations
    async with world.parley.db.write() as tx:
        conv = await convs.conversation(tx, cid, lock=True)
        assert conv is not None
        conv, ended = conv_policy.end(conv, None, "expired", world.clock.now())
        await convs.save_conversation(tx, conv)
        await convs.insert_entries(tx, conv.id, ended)


async def test_a_refused_item_among_good_ones_fails_alone(gc_world: World) -> None:
    """Refused before the queue (too long), refused on the snapshot (a visitor's private
    note), and refused in the batch (its conversation ended since it was cached): each gets
    its own answer, the others are stored."""
    group = gc_world.parley.writes
    good, ended = await gc_world.open_chat(name="Good"), await gc_world.open_chat(name="Gone")
    gid, eid = good["conversation"]["id"], ended["conversation"]["id"]
    async with visitor_http(gc_world, good) as g, visitor_http(gc_world, ended) as e:
        # Both conversations are cached by a first send each; then one ends elsewhere (as on
        # another node, whose bus message has not arrived yet: the snapshot here is stale).
        assert (await post(g, gid, "g0", "hi")).status_code == 200
        assert (await post(e, eid, "e0", "hi")).status_code == 200
        await end_behind_the_nodes_back(gc_world, eid)
        fallbacks = group.stats.fallbacks
        too_long = "x" * (gc_world.parley.settings.max_message_chars + 1)
        before = group.stats.batches
        async with group.held():
            tasks = [
                asyncio.ensure_future(post(g, gid, "g1", "one")),
                asyncio.ensure_future(post(e, eid, "e1", "too late")),
                asyncio.ensure_future(post(g, gid, "g2", "two")),
                asyncio.ensure_future(post(g, gid, "g3", too_long)),
                asyncio.ensure_future(
                    g.post(
                        f"/api/v1/conversations/{gid}/notes", json={"client_id": "n", "text": "x"}
                    )
                ),
                asyncio.ensure_future(post(g, gid, "g4", "three")),
            ]
            try:
                await asyncio.wait_for(group.until_pending(4), 20)
            except TimeoutError:
                print(
                    "PENDING",
                    group.pending,
                    [(t.done() and (t.exception() or t.result().status_code)) for t in tasks],
                )
                raise
        one, late, two, long, note, three = await asyncio.gather(*tasks)
        assert group.stats.batches == before + 1 and group.stats.last_batch == 4
        assert group.stats.fallbacks == fallbacks + 1  # the ended conversation's item
        assert late.status_code == 409 and late.json()["error"]["code"] == "conflict"
        assert long.status_code == 422 or long.json()["error"]["code"] == "too_long"
        assert note.status_code in (403, 404), note.text
        assert [r.status_code for r in (one, two, three)] == [200, 200, 200]
        assert sorted(r.json()["seq"] for r in (one, two, three)) == [3, 4, 5]
        stored = await entries(g, gid)
    assert [x["seq"] for x in stored] == [1, 2, 3, 4, 5]


async def test_a_batch_meeting_a_concurrent_duplicate_is_written_again(
    gc_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A unique violation (a duplicate committed meanwhile by another node, after the batch
    looked) rolls the batch back; written again, it answers the duplicate with the stored
    entry and stores the others."""
    group = gc_world.parley.writes
    chat = await gc_world.open_chat()
    cid = chat["conversation"]["id"]
    writer: BatchWriter = group._writer
    real = writer.write
    calls = 0

    async def conflicts_once(items: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise Conflicted("UNIQUE constraint failed: entries.conversation_id, ...")
        return await real(items)

    async with visitor_http(gc_world, chat) as http:
        first = await post(http, cid, "dup", "stored first")
        monkeypatch.setattr(writer, "write", conflicts_once)
        stats = replace(group.stats)
        answers = await one_batch(
            group,
            4,
            post(http, cid, "x", "x"),
            post(http, cid, "dup", "again"),
            post(http, cid, "y", "y"),
            post(http, cid, "x", "x again"),
        )
        assert group.stats.retried_batches == stats.retried_batches + 1
        assert (group.stats.failed_batches, group.stats.fallbacks) == (
            stats.failed_batches,
            stats.fallbacks,
        )
        assert [r.status_code for r in answers] == [200] * 4
        assert answers[1].json() == first.json()
        assert answers[0].json() == answers[3].json()
        assert sorted({r.json()["seq"] for r in answers}) == [2, 3, 4]
        assert [e["seq"] for e in await entries(http, cid)] == [1, 2, 3, 4]


async def test_a_failing_batch_is_sent_again_item_by_item(
    gc_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that cannot be written at all is rolled back and each item sent the ordinary
    way, in order: the good ones are stored, the repeat answered with the stored entry, and
    the one its conversation refuses (it ended) fails alone."""
    group = gc_world.parley.writes
    good, ended = await gc_world.open_chat(name="Good"), await gc_world.open_chat(name="Gone")
    gid, eid = good["conversation"]["id"], ended["conversation"]["id"]

    async def fails(items: Any) -> Any:
        raise RuntimeError("disk I/O error")

    async with visitor_http(gc_world, good) as g, visitor_http(gc_world, ended) as e:
        first = await post(g, gid, "dup", "stored first")
        assert (await post(e, eid, "e0", "hi")).status_code == 200
        await end_behind_the_nodes_back(gc_world, eid)
        monkeypatch.setattr(group._writer, "write", fails)
        stats = replace(group.stats)
        answers = await one_batch(
            group,
            5,
            post(g, gid, "x", "x"),
            post(g, gid, "dup", "again"),
            post(e, eid, "e1", "too late"),
            post(g, gid, "y", "y"),
            post(g, gid, "x", "x again"),
        )
        assert group.stats.failed_batches == stats.failed_batches + 1
        assert group.stats.fallbacks == stats.fallbacks + 5
        assert [r.status_code for r in answers] == [200, 200, 409, 200, 200]
        assert answers[1].json() == first.json()
        assert answers[0].json() == answers[4].json()
        # Separate HTTP requests reach the queue in any order (one sender's order is
        # test_one_senders_order_is_kept_across_batches): only the numbers are certain.
        assert sorted([answers[0].json()["seq"], answers[3].json()["seq"]]) == [3, 4]
        assert [x["seq"] for x in await entries(g, gid)] == [1, 2, 3, 4]


async def test_one_senders_order_is_kept_across_batches(tmp_path: Path, backend: str) -> None:
    """Batches of at most 3: ten sends of one visitor, interleaved with another's, are stored
    in the order they were submitted, each conversation's with consecutive seqs."""
    async for world in make_world(backend, tmp_path, write_batch_max=3, **FAST):
        await world.add_workgroup("sales")
        group = world.parley.writes
        a, b = await world.open_chat(name="A"), await world.open_chat(name="B")
        chat = world.parley.chat
        va, vb = Visitor(a["conversation"]["id"]), Visitor(b["conversation"]["id"])
        # Cached: from here a send queues without a database read.
        await chat.send(va, va.conversation_id, "warm", "hello")
        await chat.send(vb, vb.conversation_id, "warm", "hello")
        before = group.stats.batches
        sends = []
        async with group.held():
            for i in range(10):
                sends.append(asyncio.ensure_future(chat.send(va, va.conversation_id, f"a{i}", "a")))
                if i % 3 == 0:
                    sends.append(
                        asyncio.ensure_future(chat.send(vb, vb.conversation_id, f"b{i}", "b"))
                    )
            await group.until_pending(len(sends))
        out = await asyncio.gather(*sends)
        assert group.stats.batches == before + 5  # 14 sends, 3 at a time
        assert group.stats.largest_batch == 3
        mine = [e for e in out if e.client_id and e.client_id.startswith("a")]
        assert [e.client_id for e in mine] == [f"a{i}" for i in range(10)]
        assert [e.seq for e in mine] == list(range(3, 13))
        theirs = [e.seq for e in out if e.client_id and e.client_id.startswith("b")]
        assert theirs == [3, 4, 5, 6]


async def test_a_crash_between_commit_and_answer_is_answered_on_retry(
    gc_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The batch commits, then the node fails before announcing or answering: the sender gets
    an error, not an ack. Sent again with its client id, the message is answered with the
    original entry and seq, and followers catch it up from the record."""
    group = gc_world.parley.writes
    chat = await gc_world.open_chat()
    cid = chat["conversation"]["id"]
    real = group._answer
    crashed = False

    async def crash_once(done: Any) -> None:
        nonlocal crashed
        if not crashed:
            crashed = True
            for future, _ in done.answers:
                future.set_exception(RuntimeError("the node died after its commit"))
            return
        await real(done)

    monkeypatch.setattr(group, "_answer", crash_once)
    async with gc_world.visitor(chat["visitor_token"], {cid: 1}) as ws:
        lost = await ws.request(
            {"type": "send", "conversation_id": cid, "client_id": "m1", "text": "Hello?"}
        )
        assert lost["type"] == "error" and lost["code"] == "internal"
        retried = await ws.request(
            {"type": "send", "conversation_id": cid, "client_id": "m1", "text": "Hello?!"}
        )
        assert retried["type"] == "ack"
        assert retried["entry"]["seq"] == 2 and retried["entry"]["body"]["text"] == "Hello?"
    async with gc_world.visitor(chat["visitor_token"], {cid: 1}) as again:
        caught_up = await again.expect_type("entry")
        assert caught_up["entry"]["seq"] == 2 and caught_up["entry"]["client_id"] == "m1"
    async with visitor_http(gc_world, chat) as http:
        assert [e["seq"] for e in await entries(http, cid)] == [1, 2]


async def test_a_stale_snapshot_falls_back_and_is_refused(gc_world: World) -> None:
    """The agent leaves the chat elsewhere (as another node would: nothing tells this node's
    cache): the cached snapshot still lists them, the batch's UPDATE refuses its revision, and
    the ordinary path refuses the send as it always did."""
    await gc_world.add_staff("alice", workgroups=["sales"])
    parley = gc_world.parley
    async with gc_world.agent("alice") as alice:
        chat = await gc_world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
    async with gc_world.staff_http("alice") as http:
        assert (await post(http, cid, "a1", "How can I help?")).status_code == 200
        convs = parley.stores.conversations
        async with parley.db.write() as tx:
            conv = await convs.conversation(tx, cid, lock=True)
            assert conv is not None
            key = f"user:{gc_world.user_ids['alice']}"
            conv, left = conv_policy.leave(conv, key, "transferred", gc_world.clock.now())
            await convs.save_conversation(tx, conv)
            await convs.insert_entries(tx, conv.id, [left])
        fallbacks = parley.writes.stats.fallbacks
        r = await post(http, cid, "a2", "Still here?")
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"
        assert parley.writes.stats.fallbacks == fallbacks + 1
        assert [e["seq"] for e in await entries(http, cid)] == [1, 2, 3, 4]


async def test_an_ended_conversation_refuses_what_its_snapshot_allowed(gc_world: World) -> None:
    chat = await gc_world.open_chat()
    cid = chat["conversation"]["id"]
    async with visitor_http(gc_world, chat) as http:
        assert (await post(http, cid, "m1", "hi")).status_code == 200
        await end_behind_the_nodes_back(gc_world, cid)
        r = await post(http, cid, "m2", "hello?")
        assert r.status_code == 409 and r.json()["error"]["code"] == Conflict.code
        # The stored one is still answered, ended or not.
        assert (await post(http, cid, "m1", "hi")).json()["seq"] == 2


def count_reads(world: World, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many read transactions the node opens from now on (one counter in a list)."""
    db = world.parley.db
    read = db.read
    count = [0]

    def counted() -> Any:
        count[0] += 1
        return read()

    monkeypatch.setattr(db, "read", counted)
    return count


async def test_typing_is_relayed_from_the_cached_snapshot_without_a_read(
    gc_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = await gc_world.open_chat()
    cid = chat["conversation"]["id"]
    visitor = Visitor(conversation_id=cid)
    async with visitor_http(gc_world, chat) as http:
        assert (await post(http, cid, "m1", "hi")).status_code == 200  # caches the snapshot
    reads = count_reads(gc_world, monkeypatch)
    for active in (True, False, True):
        await gc_world.parley.chat.typing(visitor, cid, active)
    assert reads[0] == 0


async def test_typing_after_leaving_is_refused_once_the_bus_says_so(gc_world: World) -> None:
    """A change of who is in the conversation drops its snapshot on every node (the entry it
    appends comes over the bus): typing is checked against the record again."""
    await gc_world.add_staff("alice", workgroups=["sales"])
    parley = gc_world.parley
    async with gc_world.agent("alice") as alice:
        chat = await gc_world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hi"}
        )
        assert parley.chat._cache.get(cid) is not None
        await alice.request({"type": "end", "conversation_id": cid})
        await alice.expect(lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "ended")
    assert parley.chat._cache.get(cid) is None
    # Read again: the chat has ended, and typing into it is dropped quietly, as it always was.
    published: list[object] = []
    parley.bus.subscribe(lambda note: _record(published, note))
    staff = (await parley.auth.authenticate(gc_world.tokens["alice"])).staff
    await parley.chat.typing(staff, cid, True)
    assert published == []


async def _record(into: list[object], note: object) -> None:
    into.append(note)


@contextlib.asynccontextmanager
async def two_nodes(tmp_path: Path) -> AsyncIterator[tuple[World, World]]:
    """Two nodes on one PostgreSQL schema and one Redis channel, in this event loop."""
    await check_redis()
    clock = FakeClock()
    async with postgres_schema() as url:
        common: dict[str, Any] = {
            "database_url": url,
            "redis_url": REDIS_URL,
            "redis_channel": "parley-test:" + secrets.token_hex(4),
            **FAST,
        }
        async with (
            run_node(settings_for(tmp_path / "a", node_id="a", **common), clock) as a,
            run_node(settings_for(tmp_path / "b", node_id="b", **common), clock) as b,
        ):
            yield World(a, clock, "postgres"), World(b, clock, "postgres")


async def test_two_nodes_write_one_conversation_at_once(tmp_path: Path) -> None:
    """Both nodes commit a batch into one conversation at the same time, some client ids sent
    to both: every message once, seqs gapless, both nodes answer a repeat alike, and a
    follower on one node gets everything in order. (PostgreSQL only: nodes share it.)"""
    async with two_nodes(tmp_path) as (one, two):
        await one.add_workgroup("sales")
        chat = await one.open_chat()
        cid = chat["conversation"]["id"]
        ga, gb = one.parley.writes, two.parley.writes
        headers = {"X-Visitor-Token": chat["visitor_token"]}
        async with (
            one.node.http(headers=headers) as ha,
            two.node.http(headers=headers) as hb,
            two.visitor(chat["visitor_token"], {cid: 1}) as follower,
        ):
            both = [f"d{i}" for i in range(5)]
            on_a = [f"a{i}" for i in range(15)] + both
            on_b = [f"b{i}" for i in range(15)] + both
            async with ga.held(), gb.held():
                ta = [asyncio.ensure_future(post(ha, cid, c, f"{c} via a")) for c in on_a]
                tb = [asyncio.ensure_future(post(hb, cid, c, f"{c} via b")) for c in on_b]
                await ga.until_pending(len(on_a))
                await gb.until_pending(len(on_b))
            ra, rb = await asyncio.gather(*ta), await asyncio.gather(*tb)
            assert all(r.status_code == 200 for r in ra + rb), [r.text for r in ra + rb]
            answers_a = {r.json()["client_id"]: r.json() for r in ra}
            answers_b = {r.json()["client_id"]: r.json() for r in rb}
            for c in both:
                assert answers_a[c] == answers_b[c]
            stored = await entries(ha, cid)
            assert [e["seq"] for e in stored] == list(range(1, 37))
            assert len({e["client_id"] for e in stored[1:]}) == 35
            last = await follower.expect(
                lambda m: m.get("type") == "entry" and m["entry"]["seq"] == 36
            )
            assert last["entry"]["seq"] == 36
            assert [e["seq"] for e in follower.entries(cid)] == list(range(2, 37))
