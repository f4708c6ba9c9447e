"""The dispatcher's kept queue, brought up to date from the change feed, equals the queue loaded
whole: the zulip-style check, on SQLite and on PostgreSQL.

Chats go through everything that changes a waiting request (queued, offered, declined, timed
out, accepted, cancelled, transferred to an agent and to another workgroup, expired). After each
step every stale copy taken so far (each a ``KeptQueue`` at the revision it was read at, plus the
one the dispatcher itself keeps) is refreshed with ``RequestStore.refresh`` and must answer
every decision as a fresh ``load_router`` does. The pure half of the same check (any change,
Hypothesis) is ``tests/domain/test_domain_routing_refresh.py``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from tests.api.test_transfers import transfer
from tests.domain.test_domain_routing_refresh import same_decisions
from tests.support import World

from parley.storage.requests import KeptQueue


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
