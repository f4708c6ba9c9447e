"""Queues, rules, skills, strategies and failover through the public API, on a fake clock."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
from tests.identity import new_key, sign
from tests.support import World

from parley.domain.access import StaffRole

GERMAN_BILLING = {
    "all": [
        {"field": "product", "op": "equals", "value": "billing"},
        {"field": "language", "op": "equals", "value": "de"},
    ]
}


async def admin(world: World) -> httpx.AsyncClient:
    if "root" not in world.tokens:
        await world.add_staff("root", StaffRole.ADMIN)
    return world.staff_http("root")


async def call(world: World, method: str, path: str, body: Any = None) -> Any:
    async with await admin(world) as http:
        r = await http.request(method, f"/api/v1{path}", json=body)
    assert r.status_code < 300, r.text
    return None if r.status_code == 204 else r.json()


async def add_queue(world: World, **queue: Any) -> dict[str, Any]:
    return dict(await call(world, "POST", "/admin/workgroups/sales/queues", queue))


async def set_skills(world: World, username: str, **skills: int) -> None:
    await call(world, "PUT", f"/admin/users/{username}/routing", {"skills": skills})


async def test_rules_send_german_billing_to_its_queue_and_skilled_agent(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    await add_queue(world, name="billing-de", skills={"billing": 2, "german": 3})
    rules = [{"name": "German billing", "condition": GERMAN_BILLING, "queue": "billing-de"}]
    saved = await call(world, "PUT", "/admin/workgroups/sales/rules", {"rules": rules})
    assert saved[0]["queue"] == "billing-de"
    await set_skills(world, "bob", billing=3, german=5)
    await set_skills(world, "alice", billing=5, german=1)  # not German enough
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        await world.open_chat(extra={"product": "Billing", "language": "DE"})
        offer = (await bob.expect_type("offer"))["offer"]
        assert offer["queue_name"] == "billing-de"
        other = await world.open_chat(extra={"product": "shoes"})
        offer2 = (await alice.expect_type("offer"))["offer"]
        assert offer2["conversation_id"] == other["conversation"]["id"]
        assert offer2["queue_name"] == "default"


async def test_rule_tester_tries_unsaved_rules(world: World) -> None:
    await add_queue(world, name="billing-de")
    sample = {"metadata": {"name": "Zoe", "extra": {"product": "billing", "language": "de"}}}
    saved = await call(world, "POST", "/admin/workgroups/sales/rules/test", sample)
    assert saved == {"queue": "default", "priority": 0, "rule": None}
    rules = [{"condition": GERMAN_BILLING, "queue": "billing-de", "priority": 5}]
    tried = await call(
        world, "POST", "/admin/workgroups/sales/rules/test", {**sample, "rules": rules}
    )
    assert tried == {"queue": "billing-de", "priority": 5, "rule": 0}
    # Nothing was saved by trying.
    assert await call(world, "GET", "/admin/workgroups/sales/rules") == []


async def test_bad_rules_and_queues_are_refused_with_reasons(world: World) -> None:
    async with await admin(world) as http:
        bad = {"field": "page", "op": "matches", "value": "(unclosed"}
        r = await http.put(
            "/api/v1/admin/workgroups/sales/rules",
            json={"rules": [{"condition": bad, "queue": "default"}]},
        )
        assert r.status_code == 422
        assert "rule 0" in r.json()["error"]["message"]
        assert "pattern" in r.json()["error"]["message"]
        r = await http.put(
            "/api/v1/admin/workgroups/sales/rules",
            json={"rules": [{"condition": GERMAN_BILLING, "queue": "nope"}]},
        )
        assert r.status_code == 404
        r = await http.post(
            "/api/v1/admin/workgroups/sales/queues",
            json={"name": "x", "overflow_action": "queue", "overflow_secs": 30},
        )
        assert r.status_code == 422
        assert "backup" in r.json()["error"]["message"]
        r = await http.delete("/api/v1/admin/workgroups/sales/queues/default")
        assert r.status_code == 409
    await world.add_staff("alice", workgroups=["sales"])
    async with world.staff_http("alice") as http:
        r = await http.post("/api/v1/admin/workgroups/sales/queues", json={"name": "mine"})
        assert r.status_code == 403
        r = await http.put("/api/v1/admin/users/alice/routing", json={"skills": {"x": 5}})
        assert r.status_code == 403


async def test_broadcast_withdraws_the_other_offers_at_the_first_accept(world: World) -> None:
    await call(
        world,
        "PUT",
        "/admin/workgroups/sales/queues/default",
        {"name": "default", "strategy": "broadcast"},
    )
    for name in ("alice", "bob", "carol"):
        await world.add_staff(name, workgroups=["sales"])
    async with (
        world.agent("alice") as alice,
        world.agent("bob") as bob,
        world.agent("carol") as carol,
    ):
        chat = await world.open_chat()
        offers = [(await ws.expect_type("offer"))["offer"] for ws in (alice, bob, carol)]
        assert {o["conversation_id"] for o in offers} == {chat["conversation"]["id"]}
        assert all(o["broadcast"] for o in offers)
        await carol.request({"type": "decline_offer", "offer_id": offers[2]["offer_id"]})
        ok = await bob.request({"type": "accept_offer", "offer_id": offers[1]["offer_id"]})
        assert ok["type"] == "ok"
        await alice.expect_type("offer_ended", offer_id=offers[0]["offer_id"], reason="withdrawn")
        late = await alice.request({"type": "accept_offer", "offer_id": offers[0]["offer_id"]})
        assert late["code"] == "offer_gone"


async def test_failover_moves_to_the_backup_queue(world: World) -> None:
    """Nobody in the first queue accepts in time: the request moves, it is never cancelled."""
    await add_queue(world, name="backup")
    await add_queue(
        world,
        name="specialists",
        skills={"wizardry": 1},
        overflow_action="queue",
        overflow_secs=60,
        overflow_target="backup",
    )
    rule = {"condition": {"field": "question", "op": "contains", "value": "magic"}}
    await call(
        world, "PUT", "/admin/workgroups/sales/rules", {"rules": [{**rule, "queue": "specialists"}]}
    )
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("merlin", workgroups=["sales"])
    await set_skills(world, "merlin", wizardry=9)
    async with world.agent("merlin") as merlin, world.agent("alice") as alice:
        chat = await world.open_chat(question="Some magic please")
        cid = chat["conversation"]["id"]
        offer = (await merlin.expect_type("offer"))["offer"]
        assert offer["queue_name"] == "specialists"
        async with world.visitor(chat["visitor_token"]) as zoe:
            world.clock.advance(30)  # merlin lets it time out (30 s)
            await merlin.expect_type("offer_ended", reason="timed_out")
            world.clock.advance(30)  # 60 s in the specialists' queue: overflow
            moved = (await alice.expect_type("offer"))["offer"]
            assert moved["conversation_id"] == cid
            assert moved["queue_name"] == "backup"
            status = await zoe.expect_type("queue", status="waiting")
            assert status["position"] == 1
            await alice.request({"type": "accept_offer", "offer_id": moved["offer_id"]})
            await zoe.expect_type("queue", status="accepted")


async def test_manual_pick_lists_waiting_requests_and_one_claim_wins(world: World) -> None:
    await call(
        world,
        "PUT",
        "/admin/workgroups/sales/queues/default",
        {"name": "default", "strategy": "manual"},
    )
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob"):
        chat = await world.open_chat(question="Who wants me?")
        cid = chat["conversation"]["id"]
        await alice.expect_type("waiting_changed")
        async with world.staff_http("alice") as http:
            waiting = (await http.get("/api/v1/waiting")).json()
            assert [w["conversation_id"] for w in waiting] == [cid]
            assert waiting[0]["metadata"]["question"] == "Who wants me?"
            r = await http.post(f"/api/v1/waiting/{cid}/claim")
            assert r.status_code == 200, r.text
        async with world.staff_http("bob") as http:
            r = await http.post(f"/api/v1/waiting/{cid}/claim")
            assert r.status_code == 409
            assert r.json()["error"]["code"] == "offer_gone"
            assert (await http.get("/api/v1/waiting")).json() == []
        assert not [m for m in alice.received if m["type"] == "offer"]


async def test_full_queue_asks_for_a_message(world: World) -> None:
    await call(
        world, "PUT", "/admin/workgroups/sales/queues/default", {"name": "default", "max_length": 2}
    )
    await world.open_chat(name="One")
    await world.open_chat(name="Two")
    async with world.node.http() as http:
        r = await http.post("/api/v1/workgroups/sales/chats", json={"name": "Three"})
    assert r.status_code == 409
    assert r.json()["error"]["code"] == "unavailable"
    assert r.json()["error"]["details"] == {"reason": "queue_full"}


async def test_waiting_visitors_get_an_estimate_from_real_waits(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        # Two chats answered after 40 s each, from position 1: 40 s per place.
        for name in ("One", "Two"):
            chat = await world.open_chat(name=name)
            offer = (await alice.expect_type("offer"))["offer"]
            world.clock.advance(20)
            await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
            world.clock.advance(20)
            await alice.request({"type": "end", "conversation_id": chat["conversation"]["id"]})
        # Both samples waited 20 s (the time to accept) at position 1.
        await alice.request({"type": "set_presence", "presence": "away"})
        await world.open_chat(name="Three")
        fourth = await world.open_chat(name="Four")
        async with world.visitor(fourth["visitor_token"]) as four:
            status = await four.expect_type("queue", status="waiting")
            assert status["position"] == 2
            assert status["estimated_wait_secs"] == 40


async def test_agent_who_lets_offers_time_out_is_set_away(world: World) -> None:
    settings = {"name": "Sales", "max_chats": 2, "offer_timeout_secs": 10, "max_missed_offers": 2}
    updated = await call(world, "PUT", "/admin/workgroups/sales", settings)
    assert updated["max_missed_offers"] == 2 and updated["decline_cooldown_secs"] == 20
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        await world.open_chat(name="One")
        await alice.expect_type("offer")
        world.clock.advance(10)
        await alice.expect_type("offer_ended", reason="timed_out")
        world.clock.advance(20)  # the 20 s cooldown: offered again
        await alice.expect(lambda m: m["type"] == "offer" and m["offer"]["offer_id"].endswith(".2"))
        world.clock.advance(10)
        away = await alice.expect_type("presence", presence="away")
        assert "2 offers in a row" in away["status_text"]
        world.clock.advance(60)
        assert len([m for m in alice.received if m["type"] == "offer"]) == 2


async def test_returning_customer_is_offered_to_their_last_agent_first(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    key = await new_key(world)
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        first = await world.open_chat(identity=sign(world, key, "zoe-7"))
        offer = (await alice.expect_type("offer"))["offer"]  # idle longest
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.request({"type": "end", "conversation_id": first["conversation"]["id"]})
        world.clock.advance(5)
        # Bob is now idle longest, but Zoe (the same verified customer) comes back: Alice
        # first, for 10 s.
        await bob.request({"type": "set_presence", "presence": "away"})
        await bob.request({"type": "set_presence", "presence": "available"})
        again = await world.open_chat(identity=sign(world, key, "zoe-7"))
        preferred = (await alice.expect_type("offer"))["offer"]
        assert preferred["conversation_id"] == again["conversation"]["id"]
        assert offer_secs(preferred) == 10
        world.clock.advance(10)
        await alice.expect_type("offer_ended", reason="timed_out")
        fallback = (await bob.expect_type("offer"))["offer"]
        assert fallback["conversation_id"] == again["conversation"]["id"]


async def test_returning_browser_is_offered_to_its_last_agent_first(world: World) -> None:
    """An anonymous visitor is recognised by the signed visitor id its browser keeps."""
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["sales"])
    async with world.agent("alice") as alice, world.agent("bob") as bob:
        first = await world.open_chat()
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.request({"type": "end", "conversation_id": first["conversation"]["id"]})
        world.clock.advance(5)
        await bob.request({"type": "set_presence", "presence": "away"})
        await bob.request({"type": "set_presence", "presence": "available"})
        again = await world.open_chat(visitor_id=first["visitor_id"])
        preferred = (await alice.expect_type("offer"))["offer"]
        assert preferred["conversation_id"] == again["conversation"]["id"]
        assert offer_secs(preferred) == 10  # the preferred agent's head start


async def test_a_typed_email_does_not_pick_the_agent(world: World) -> None:
    """Regression: a visitor typing a returning customer's email was routed to that customer's
    last agent, as that customer."""
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        first = await world.open_chat(email="zoe@example.com")
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.request({"type": "end", "conversation_id": first["conversation"]["id"]})
        world.clock.advance(5)
        # Someone else types Zoe's email: an ordinary offer (30 s), no returning customer's
        # head start (10 s).
        again = await world.open_chat(email="ZOE@example.com")
        offer = (await alice.expect_type("offer"))["offer"]
        assert offer["conversation_id"] == again["conversation"]["id"]
        assert offer_secs(offer) == 30


def offer_secs(offer: dict[str, Any]) -> float:
    return (
        datetime.fromisoformat(offer["expires_at"]) - datetime.fromisoformat(offer["offered_at"])
    ).total_seconds()


async def test_per_agent_capacity_overrides_the_workgroup(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])  # sales allows 2
    await call(world, "PUT", "/admin/users/alice/routing", {"skills": {}, "max_chats": 1})
    async with world.agent("alice") as alice:
        await world.open_chat(name="One")
        second = await world.open_chat(name="Two")
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        async with world.visitor(second["visitor_token"]) as two:
            await two.expect_type("queue", status="waiting", position=1)
        world.clock.advance(5)
        assert [m["type"] for m in alice.received].count("offer") == 1


async def test_deleting_a_queue_moves_its_requests_to_the_default(world: World) -> None:
    await add_queue(world, name="vip", skills={"vip": 1})
    await call(
        world,
        "PUT",
        "/admin/workgroups/sales/rules",
        {
            "rules": [
                {"condition": {"field": "name", "op": "equals", "value": "Vic"}, "queue": "vip"}
            ]
        },
    )
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        chat = await world.open_chat(name="Vic")
        await call(world, "DELETE", "/admin/workgroups/sales/queues/vip")
        offer = (await alice.expect_type("offer"))["offer"]
        assert offer["conversation_id"] == chat["conversation"]["id"]
        assert offer["queue_name"] == "default"
    assert await call(world, "GET", "/admin/workgroups/sales/rules") == []


async def test_a_higher_priority_newcomer_moves_the_others_back(world: World) -> None:
    rule = {"condition": {"field": "name", "op": "equals", "value": "Vip"}, "priority": 5}
    await call(
        world, "PUT", "/admin/workgroups/sales/rules", {"rules": [{**rule, "queue": "default"}]}
    )
    zoe = await world.open_chat(name="Zoe")
    async with world.visitor(zoe["visitor_token"]) as visitor:
        await visitor.expect_type("queue", status="waiting", position=1)
        vip = await world.open_chat(name="Vip")
        assert vip["position"] == 1
        await visitor.expect_type("queue", status="waiting", position=2)
