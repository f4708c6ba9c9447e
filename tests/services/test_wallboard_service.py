"""The wallboard service, one round at a time (no loop, no sleeping): a burst of wake-ups is
one read and one board; a board that did not change is not sent again; a message moves a chat's
time without reading the database; the kept facts, brought up to date read by read, equal the
facts read whole (the stale-copy check), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

from tests.support import World

from parley.domain import wallboard
from parley.domain.access import Staff, StaffRole
from parley.protocol import EntryOut
from parley.realtime.hub import ClientConnection
from parley.realtime.notifications import Appended, Kick, ToStaff
from parley.services.wallboard import WallboardService, load
from parley.storage.supervision import SupervisionStore

ADMIN = Staff(999, "root", "Root", StaffRole.ADMIN)


def frames(conn: ClientConnection) -> list[dict[str, Any]]:
    out = [json.loads(t) for t in conn.outbox if t is not None]
    conn.outbox.clear()
    return out


async def test_rounds_coalesce_and_send_only_changes(world: World) -> None:
    parley = world.parley
    service = WallboardService(
        parley.db,
        world.clock,
        workgroups=parley.stores.workgroups,
        supervision=parley.stores.supervision,
    )
    conn = ClientConnection("test", ADMIN)
    await service.subscribe(conn)
    await service._round(world.clock.now())
    [first] = frames(conn)
    assert first["type"] == "wallboard" and first["board"]["total"]["waiting"] == 0
    sales = first["workgroup_id"]

    # Nothing changed: nothing sent, nothing read.
    reads = service.reads
    await service._round(world.clock.now())
    assert frames(conn) == [] and service.reads == reads

    # Three chats open, three wake-ups: one read, one board.
    chats = [await world.open_chat(name=f"C{i}") for i in range(3)]
    for _ in chats:
        await service.on_notification(Kick(workgroup_id=sales))
    await service._round(world.clock.now())
    [burst] = frames(conn)
    assert burst["board"]["total"]["waiting"] == 3
    assert service.reads == reads + 1

    # Time passes: the waits grow, computed again from memory (no read).
    world.clock.advance(30)
    await service._round(world.clock.now())
    [later] = frames(conn)
    assert later["board"]["total"]["longest_wait_secs"] == 30
    assert service.reads == reads + 1

    # Whatever the kept copy went through, it is what a whole read gives.
    now = world.clock.now()
    async with parley.db.read() as tx:
        fresh = await load(
            tx, parley.stores.workgroups, parley.stores.supervision, sales, now, None
        )
    kept = service._kept[sales]
    assert fresh is not None
    assert wallboard.compute(kept.facts, kept.settings, kept.start, now) == wallboard.compute(
        fresh.facts, fresh.settings, fresh.start, now
    )


async def test_a_message_moves_the_chat_without_a_read(world: World) -> None:
    parley = world.parley
    await world.add_staff("alice", workgroups=["sales"])
    service = WallboardService(
        parley.db,
        world.clock,
        workgroups=parley.stores.workgroups,
        supervision=parley.stores.supervision,
    )
    conn = ClientConnection("test", ADMIN)
    async with world.agent("alice") as alice:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await service.subscribe(conn)
        await service._round(world.clock.now())
        [board] = frames(conn)
        assert [c["conversation_id"] for c in board["board"]["chats"]] == [cid]
        world.clock.advance(200)
        await service._round(world.clock.now())
        [quiet] = frames(conn)
        assert quiet["board"]["chats"][0]["stalled"] is True
        reads = service.reads
        sent = await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "still here"}
        )
        entry = EntryOut.model_validate(sent["entry"])
        await service.on_notification(Appended(conversation_id=cid, entries=[entry]))
        await service._round(world.clock.now())
        [moved] = frames(conn)
        assert moved["board"]["chats"][0]["stalled"] is False
        assert moved["board"]["chats"][0]["idle_secs"] == 0
        assert service.reads == reads  # a message reads nothing


async def test_between_ticks_a_round_computes_only_what_changed(world: World) -> None:
    """An event costs its workgroup's board, not every board: a round within ``TICK_SECS`` of
    the last computation of every board computes only the boards whose facts changed; the
    next tick computes them all again (waits grow by themselves)."""
    parley = world.parley
    await world.add_workgroup("support")
    service = WallboardService(
        parley.db,
        world.clock,
        workgroups=parley.stores.workgroups,
        supervision=parley.stores.supervision,
    )
    computed: list[int] = []
    board = service._board

    def counting(kept: Any, now: Any) -> Any:
        computed.append(kept.wg.id)
        return board(kept, now)

    service._board = counting  # type: ignore[method-assign]
    conn = ClientConnection("test", ADMIN)
    await service.subscribe(conn)
    await service._round(world.clock.now())
    first = {f["workgroup_id"]: f for f in frames(conn)}
    assert len(first) == 2 and len(computed) == 2
    sales = next(w for w, f in first.items() if f["board"]["slug"] == "sales")

    computed.clear()
    await world.open_chat()
    world.clock.advance(0.5)
    await service.on_notification(Kick(workgroup_id=sales))
    await service._round(world.clock.now())
    assert computed == [sales]
    [sent] = frames(conn)
    assert sent["workgroup_id"] == sales and sent["board"]["total"]["waiting"] == 1

    computed.clear()
    world.clock.advance(1)
    await service._round(world.clock.now())
    assert sorted(computed) == sorted(first)


async def test_a_transfer_keeps_the_first_answer_where_it_was(world: World) -> None:
    """As the reports count it (``docs/metrics.md``): a request transferred to another
    workgroup stays answered in the workgroup where it first waited, with its first wait (in
    the service level and the average speed of answer); the workgroup that took it does not
    count it again."""
    parley = world.parley
    await world.add_workgroup("support")
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("carl", workgroups=["support"])
    service = WallboardService(
        parley.db,
        world.clock,
        workgroups=parley.stores.workgroups,
        supervision=parley.stores.supervision,
    )
    async with world.agent("alice") as alice, world.agent("carl") as carl:
        chat = await world.open_chat()
        cid = chat["conversation"]["id"]
        world.clock.advance(12)
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        sales = offer["workgroup_id"]
        conn = ClientConnection("test", ADMIN)
        await service.subscribe(conn)
        await service._round(world.clock.now())
        before = {f["workgroup_id"]: f["board"]["total"] for f in frames(conn)}
        assert before[sales]["answered"] == 1 and before[sales]["asa_secs"] == 12
        world.clock.advance(60)
        async with world.staff_http("alice") as http:
            r = await http.post(
                f"/api/v1/conversations/{cid}/transfer",
                json={"kind": "workgroup", "name": "support"},
            )
            assert r.status_code == 202, r.text
        world.clock.advance(50)  # past the service level target: a late answer would miss it
        offer = (await carl.expect_type("offer"))["offer"]
        support = offer["workgroup_id"]
        await carl.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        for w in (sales, support):
            await service.on_notification(Kick(workgroup_id=w))
        world.clock.advance(1)
        await service._round(world.clock.now())
        now = world.clock.now()
        boards = {
            w: wallboard.compute(k.facts, k.settings, k.start, now)
            for w, k in service._kept.items()
        }
        for w in (sales, support):
            async with parley.db.read() as tx:
                fresh = await load(
                    tx, parley.stores.workgroups, parley.stores.supervision, w, now, None
                )
            assert fresh is not None
            assert boards[w] == wallboard.compute(fresh.facts, fresh.settings, fresh.start, now)
        assert boards[sales].total.answered == 1 and boards[sales].total.asa_secs == 12
        assert boards[sales].total.service_level == 1
        assert boards[support].total.answered == 0


async def test_a_presence_reads_only_the_agents(world: World) -> None:
    """A member's presence change reads their workgroup's agents again, nothing else, and the
    kept facts are still what a whole read gives."""
    parley = world.parley
    await world.add_staff("alice", workgroups=["sales"])
    calls: list[str] = []

    class Spy(SupervisionStore):
        async def waiting(self, *args: Any) -> Any:
            calls.append("waiting")
            return await super().waiting(*args)

        async def finished(self, *args: Any) -> Any:
            calls.append("finished")
            return await super().finished(*args)

        async def live_chats(self, *args: Any) -> Any:
            calls.append("live_chats")
            return await super().live_chats(*args)

        async def agents(self, *args: Any) -> Any:
            calls.append("agents")
            return await super().agents(*args)

    store = Spy()
    service = WallboardService(
        parley.db, world.clock, workgroups=parley.stores.workgroups, supervision=store
    )
    conn = ClientConnection("test", ADMIN)
    await service.subscribe(conn)
    await service._round(world.clock.now())
    [first] = frames(conn)
    sales = first["workgroup_id"]
    calls.clear()
    async with world.agent("alice"):
        alice = world.user_ids["alice"]
        await service.on_notification(
            ToStaff(message={"type": "presence", "user_id": alice, "presence": "available"})
        )
        await service._round(world.clock.now())
        assert calls == ["agents"]
        [board] = frames(conn)
        [tile] = [a for a in board["board"]["agents"] if a["user_id"] == alice]
        assert tile["presence"] == "available"
    now = world.clock.now()
    async with parley.db.read() as tx:
        fresh = await load(tx, parley.stores.workgroups, store, sales, now, None)
    kept = service._kept[sales]
    assert fresh is not None
    assert wallboard.compute(kept.facts, kept.settings, kept.start, now) == wallboard.compute(
        fresh.facts, fresh.settings, fresh.start, now
    )
