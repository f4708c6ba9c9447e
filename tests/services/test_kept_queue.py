"""A kept queue, brought up to date from the change feed, equals the queue loaded whole: the
zulip-style check, on SQLite and on PostgreSQL.

Chats go through everything that changes a waiting request (queued, offered, declined, timed
out, accepted, cancelled, transferred to an agent and to another workgroup, expired). After each
step every stale copy taken so far (each a ``KeptQueue`` at the revision it was read at, plus the
one the dispatcher itself keeps) is refreshed with ``RequestStore.refresh`` and must answer
every decision as a fresh ``load_router`` does. The pure half of the same check (any change,
Hypothesis) is ``tests/domain/test_domain_routing_refresh.py``.

Every routing transaction, not only the dispatcher's run, loads through the kept queue
(``RoutingService._router``): ``checked`` wraps ``RequestStore.refresh`` so that each router a
service path gets from a kept copy is compared, in the same transaction, with a fresh load, and
records which path it was. A second ``RoutingService`` on the same database stands for another
node whose copy went stale; a transaction that rolls back must keep nothing.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from typing import Any

import pytest
from tests.api.test_queues import call
from tests.api.test_transfers import transfer
from tests.domain.test_domain_routing_refresh import same_decisions
from tests.support import World

from parley.domain import routing
from parley.domain.access import Staff, StaffRole
from parley.services.routing import RoutingService
from parley.storage.requests import KeptQueue, RequestStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow


class Loads(list[tuple[str, str]]):
    """Each routing path's loads: (the ``RoutingService`` method, how the queue was loaded);
    ``keeps``: the queue each load handed back to be kept."""

    def __init__(self) -> None:
        super().__init__()
        self.keeps: list[KeptQueue] = []


class Copies:
    """Stale copies of each workgroup's queue, and how each refresh of them went."""

    def __init__(self, world: World, *slugs: str) -> None:
        self.world = world
        self.slugs = slugs
        self.stale: dict[str, list[KeptQueue]] = {s: [] for s in slugs}
        self.hows: list[str] = []

    async def check(self) -> None:
        p = self.world.parley
        requests, workgroups = p.stores.requests, p.stores.workgroups
        for slug in self.slugs:
            async with p.db.write() as tx:
                found = await workgroups.workgroup_by_slug(tx, slug)
                assert found is not None
                wg = await workgroups.workgroup(tx, found.id, lock=True)
                assert wg is not None
                whole = await requests.load_router(tx, wg)
                kept = p.routing.kept(wg.id)
                for copy in [*self.stale[slug], *([] if kept is None else [kept])]:
                    router, again, how = await requests.refresh(tx, wg, copy)
                    self.hows.append(how)
                    same_decisions(router, whole, self.world.clock.now())
                    assert again.revision == wg.routing_revision
                _, fresh, _ = await requests.refresh(tx, wg, None)
            self.stale[slug].append(fresh)


async def test_a_kept_queue_refreshed_equals_the_queue_loaded_whole(world: World) -> None:
    await world.add_workgroup("support", offer_timeout_secs=30, wait_timeout_secs=300)
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    await world.add_staff("dave", workgroups=["support"])
    copies = Copies(world, "sales", "support")
    await copies.check()
    chats: list[dict[str, Any]] = [await world.open_chat(name=f"C{i}") for i in range(5)]
    await copies.check()
    async with world.agent("alice") as alice:
        first = (await alice.expect_type("offer"))["offer"]
        await copies.check()
        await alice.request({"type": "decline_offer", "offer_id": first["offer_id"]})
        second = (await alice.expect_type("offer"))["offer"]
        await copies.check()
        await alice.request({"type": "accept_offer", "offer_id": second["offer_id"]})
        third = (await alice.expect_type("offer"))["offer"]
        await copies.check()
        world.clock.advance(30)  # the offer times out; alice is offered the next one
        await alice.expect_type("offer_ended", offer_id=third["offer_id"], reason="timed_out")
        fourth = (await alice.expect_type("offer"))["offer"]
        await copies.check()
        # A visitor gives up while queued (their offer, if any, is withdrawn).
        waiting = next(c for c in chats if c["conversation"]["id"] == fourth["conversation_id"])
        async with world.visitor(waiting["visitor_token"]) as zoe:
            await zoe.request({"type": "end", "conversation_id": fourth["conversation_id"]})
            await zoe.expect_type("queue", status="cancelled")
        await alice.expect_type("offer_ended", offer_id=fourth["offer_id"], reason="withdrawn")
        await copies.check()
        async with world.agent("bob") as bob:
            offer = (await bob.expect_type("offer"))["offer"]
            await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            await copies.check()
            # Bob hands his chat to alice, who lets it time out: it comes back to him.
            assert (
                await transfer(
                    world, "bob", offer["conversation_id"], kind="agent", name="alice", note="n"
                )
                == 202
            )
            await bob.expect_type("transfer", status="pending")
            await copies.check()
            # And to another workgroup, where dave takes it.
            async with world.agent("dave") as dave:
                await world.open_chat(name="C5")
                took = (await bob.expect_type("offer"))["offer"]
                await bob.request({"type": "accept_offer", "offer_id": took["offer_id"]})
                await copies.check()
                mid = took["conversation_id"]
                assert (
                    await transfer(world, "bob", mid, kind="workgroup", name="support", note="")
                    == 202
                )
                taken = (await dave.expect_type("offer"))["offer"]
                await copies.check()
                await dave.request({"type": "accept_offer", "offer_id": taken["offer_id"]})
                await copies.check()
    last = await world.open_chat(name="C6")
    async with world.visitor(last["visitor_token"]) as zoe:
        world.clock.advance(300)  # everything still waiting expires
        await zoe.expect_type("queue", status="expired")
    # The agents' grace periods ran out too: the maintenance task takes them offline in the
    # background. Sweep here, so that every change due now is committed before the check reads
    # the queue twice (on PostgreSQL each statement sees the latest commit: a change landing
    # between the two reads would differ them).
    await world.parley.presence.sweep()
    await copies.check()
    assert "changes" in copies.hows  # the feed was read, not only whole loads
    assert "full" not in copies.hows  # and nothing here should need one


async def test_what_the_feed_cannot_vouch_for_is_loaded_whole(world: World) -> None:
    """A changed set of queues, a revision gone back, a gap (pruned changes): loaded whole."""
    await world.add_staff("alice", workgroups=["sales"])
    p = world.parley
    requests, workgroups = p.stores.requests, p.stores.workgroups
    async with p.db.read() as tx:
        found = await workgroups.workgroup_by_slug(tx, "sales")
        assert found is not None
        _, old, _ = await requests.refresh(tx, found, None)
    for i in range(3):
        await world.open_chat(name=f"C{i}")
    async with p.db.write() as tx:
        wg = await workgroups.workgroup(tx, found.id, lock=True)
        assert wg is not None and wg.routing_revision >= old.revision + 3
        whole = await requests.load_router(tx, wg)
        for stale, expected in [
            (old, "changes"),
            (replace(old, queue_ids=old.queue_ids | {10_000}), "full"),
            (replace(old, default_queue=10_000), "full"),
            (replace(old, revision=wg.routing_revision + 1), "full"),
            (replace(old, revision=wg.routing_revision), "unchanged"),
        ]:
            router, _, how = await requests.refresh(tx, wg, stale)
            assert how == expected
            if expected != "unchanged":
                same_decisions(router, whole, world.clock.now())
        await requests.prune_changes(tx, wg.id, old.revision + 1)
        router, _, how = await requests.refresh(tx, wg, old)
        assert how == "full"
        same_decisions(router, whole, world.clock.now())


@pytest.fixture
def checked(world: World, monkeypatch: pytest.MonkeyPatch) -> Loads:
    """Every ``refresh`` from a kept copy is checked against a fresh load in its transaction."""
    real = RequestStore.refresh
    loads = Loads()

    async def refresh(
        self: RequestStore, tx: Tx, wg: WorkgroupRow, kept: KeptQueue | None
    ) -> tuple[routing.Router, KeptQueue, str]:
        caller = sys._getframe(2).f_code.co_name  # RoutingService.<path> -> _router -> here
        router, keep, how = await real(self, tx, wg, kept)
        if kept is not None:
            fresh, again, _ = await real(self, tx, wg, None)
            same_decisions(router, fresh, world.clock.now())
            assert keep.revision == again.revision == wg.routing_revision
        loads.append((caller, how))
        loads.keeps.append(keep)
        return router, keep, how

    monkeypatch.setattr(RequestStore, "refresh", refresh)
    return loads


def caught_up(loads: Loads) -> set[str]:
    """The paths that loaded from a kept copy (not whole) at least once."""
    return {caller for caller, how in loads if how != "full"}


async def test_every_routing_path_loads_from_the_kept_queue(world: World, checked: Loads) -> None:
    """Opening a chat, the dispatcher, decline, accept, transfer, calling a transfer off, a
    visitor giving up, and claiming from a manual-pick queue: each loads the queue this node
    kept, caught up from the feed, and it decides as a fresh load does."""
    await world.add_workgroup("support")
    await call(
        world,
        "PUT",
        "/admin/workgroups/support/queues/default",
        {"name": "default", "strategy": "manual"},
    )
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    await world.add_staff("dave", workgroups=["support"])
    copies = Copies(world, "sales", "support")
    chats = [await world.open_chat(name=f"C{i}") for i in range(4)]
    async with world.agent("alice") as alice:
        first = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "decline_offer", "offer_id": first["offer_id"]})
        second = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": second["offer_id"]})
        third = (await alice.expect_type("offer"))["offer"]
        await copies.check()
        waiting = next(c for c in chats if c["conversation"]["id"] == third["conversation_id"])
        async with world.visitor(waiting["visitor_token"]) as zoe:
            await zoe.request({"type": "end", "conversation_id": third["conversation_id"]})
            await zoe.expect_type("queue", status="cancelled")
        await alice.expect_type("offer_ended", offer_id=third["offer_id"], reason="withdrawn")
        await copies.check()
        async with world.agent("bob") as bob:
            offer = (await bob.expect_type("offer"))["offer"]
            await bob.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            cid = offer["conversation_id"]
            assert await transfer(world, "bob", cid, kind="queue", name="default", note="") == 202
            await bob.expect_type("transfer", status="pending")
            await copies.check()
            async with world.staff_http("bob") as http:
                r = await http.post(f"/api/v1/conversations/{cid}/transfer/cancel")
                assert r.status_code == 204, r.text
            await bob.expect_type("transfer", status="cancelled")
            await copies.check()
    async with world.agent("dave"):
        for i in range(2):
            await world.open_chat("support", name=f"S{i}")
        manual = await world.open_chat("support", name="S2")
        async with world.staff_http("dave") as http:
            r = await http.post(f"/api/v1/waiting/{manual['conversation']['id']}/claim")
            assert r.status_code == 200, r.text
    await copies.check()
    paths = {"enqueue_in", "run", "decline", "accept", "transfer", "cancel_in", "claim"}
    assert paths <= caught_up(checked), checked
    # Each workgroup is loaded whole at most once, when this node first uses it; never after.
    assert len([c for c, how in checked if c in paths and how == "full"]) <= 2, checked


def node(world: World) -> RoutingService:
    """A second node's routing service on the same database (its own kept queues)."""
    p = world.parley
    return RoutingService(
        p.db,
        p.bus,
        world.clock,
        staff=p.stores.staff,
        workgroups=p.stores.workgroups,
        conversations=p.stores.conversations,
        requests=p.stores.requests,
        agents=p.stores.agents,
        metrics=p.metrics,
    )


async def test_another_nodes_stale_copy_is_caught_up(world: World, checked: Loads) -> None:
    """Node B accepts and declines offers that node A's dispatcher made, while A opens chats
    and dispatches: B's copy is behind by many revisions each time and is caught up right."""
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    b = node(world)
    staff = {
        name: Staff(world.user_ids[name], name, name.capitalize(), StaffRole.AGENT)
        for name in ("alice", "bob")
    }
    for i in range(3):
        await world.open_chat(name=f"C{i}")
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        clients = {"alice": alice, "bob": bob}
        for step in range(4):
            for name, client in clients.items():
                offer = (await client.expect_type("offer"))["offer"]
                if (step + len(name)) % 2:
                    await b.decline(staff[name], offer["offer_id"])
                else:
                    await b.accept(staff[name], offer["offer_id"])
                for i in range(2):  # node A moves on: B's copy falls behind
                    await world.open_chat(name=f"D{step}{name}{i}")
    b_loads = [how for caller, how in checked if caller in ("accept", "decline")]
    assert b_loads[0] == "full" and set(b_loads[1:]) == {"changes"}, checked
    async with world.parley.db.write() as tx:
        found = await world.parley.stores.workgroups.workgroup_by_slug(tx, "sales")
        assert found is not None
        kept = b.kept(found.id)
        assert kept is not None and kept.revision < found.routing_revision


class Boom(Exception):
    pass


async def test_a_transaction_that_rolls_back_keeps_nothing(world: World, checked: Loads) -> None:
    """A path's writes rolled back: the node's kept copy stays the one from before (still true
    at its revision), and catching it up gives what the database holds."""
    p = world.parley
    chats = [await world.open_chat(name=f"C{i}") for i in range(3)]
    async with p.db.read() as tx:
        found = await p.stores.workgroups.workgroup_by_slug(tx, "sales")
        assert found is not None
    with pytest.raises(Boom):
        async with p.db.write() as tx:
            wg = await p.stores.workgroups.workgroup(tx, found.id, lock=True)
            assert wg is not None
            await p.routing.cancel_in(tx, wg, chats[0]["conversation"]["id"])
            failed = checked.keeps[-1]
            raise Boom
    # (The dispatcher may have run meanwhile and kept its own copy: never the failed one.)
    assert p.routing.kept(found.id) is not failed
    async with p.db.write() as tx:
        wg = await p.stores.workgroups.workgroup(tx, found.id, lock=True)
        assert wg is not None
        kept = p.routing.kept(found.id)
        assert kept is not None
        router, _, _ = await p.stores.requests.refresh(tx, wg, kept)
        assert [r.request_id for r in router.requests] == [c["conversation"]["id"] for c in chats]
