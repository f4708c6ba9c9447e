"""Hidden fields and the referrer through the public API, on both backends: what the company's
page passes with a chat request (``data-field-*``, ``Parley.setFields``) is stored apart from
the form's answers and shown to the agent; over a limit it is refused naming the field, and no
chat is opened; routing rules match it as ``fields.<key>``."""

from __future__ import annotations

from typing import Any

import httpx
from tests.api.test_queues import add_queue, call
from tests.support import World

from parley.domain.access import StaffRole

CHATS = "/api/v1/workgroups/sales/chats"


async def post(world: World, **body: Any) -> httpx.Response:
    async with world.node.http() as http:
        return await http.post(CHATS, json={"name": "Zoe", **body})


async def test_hidden_fields_and_the_referrer_reach_the_agent(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    async with world.agent("alice") as alice:
        r = await post(
            world,
            page="https://shop.example/pricing",
            referrer="https://www.search.example/",
            extra={"order_number": "typed by the visitor"},
            fields={"plan": "pro", "order_number": " A-17 ", "seats": "12"},
        )
        assert r.status_code == 201, r.text
        cid = r.json()["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        m = offer["metadata"]
        # Apart from what the visitor typed: same key, both kept.
        assert m["fields"] == {"plan": "pro", "order_number": "A-17", "seats": "12"}
        assert m["extra"] == {"order_number": "typed by the visitor"}
        assert m["page"] == "https://shop.example/pricing"
        assert m["referrer"] == "https://www.search.example/"
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
    async with world.staff_http("alice") as http:
        stored = (await http.get(f"/api/v1/conversations/{cid}")).json()["conversation"]
    assert stored["metadata"]["fields"]["plan"] == "pro"
    assert stored["metadata"]["referrer"] == "https://www.search.example/"
    # None passed: no keys at all (older clients and readers see what they always did).
    plain = await post(world, page="https://shop.example/")
    assert set(plain.json()["conversation"]["metadata"]) == {
        "name",
        "email",
        "question",
        "page",
        "extra",
    }


async def test_hidden_fields_over_a_limit_are_refused_naming_the_field(world: World) -> None:
    await world.add_staff("sam", StaffRole.SUPERVISOR, supervises=["sales"])
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({f"f{i}": "x" for i in range(21)}, "", "at most 20"),
        ({"Plan": "pro"}, "Plan", "lowercase"),
        ({"order-number": "A-17"}, "order-number", "lowercase"),
        ({"1st": "x"}, "1st", "starting with a letter"),
        ({"a" * 33: "x"}, "a" * 33, "1 to 32"),
        ({"plan": "x" * 257}, "plan", "at most 256"),
        ({"plan": "pro\nBcc: x@evil.example"}, "plan", "line breaks"),
        ({"plan": "=?utf-8?q?a=0D=0Ab?="}, "plan", "RFC 2047"),
    ]
    for fields, field, words in cases:
        r = await post(world, fields=fields)
        assert r.status_code == 422, (fields, r.text)
        error = r.json()["error"]
        assert error["code"] == "invalid_hidden_field", r.text
        assert error["details"] == {"field": field}
        assert words in error["message"], error["message"]
    # Just within every limit: accepted.
    fine = {f"k{i}": "v" * 256 for i in range(19)} | {"b" * 32: "ok"}
    assert (await post(world, fields=fine)).status_code == 201
    # A value that is not text, a referrer on two lines: the schema's answers.
    r = await post(world, fields={"plan": 3})
    assert r.status_code == 422
    r = await post(world, referrer="https://x.example/\r\nLocation: evil")
    assert r.status_code == 422
    # Nothing was opened for the refusals: the one chat accepted is the only one.
    async with world.staff_http("sam") as http:
        listed = (await http.get("/api/v1/conversations", params={"all": "true"})).json()
    assert len(listed) == 1


async def test_routing_rules_match_hidden_fields(world: World) -> None:
    await world.add_staff("alice", workgroups=["sales"])
    await add_queue(world, name="priority")
    rules = [
        {
            "name": "Pro plan",
            "condition": {"field": "fields.plan", "op": "equals", "value": "pro"},
            "queue": "priority",
            "priority": 5,
        }
    ]
    await call(world, "PUT", "/admin/workgroups/sales/rules", {"rules": rules})
    async with world.agent("alice") as alice:
        await post(world, fields={"plan": "PRO"})
        offer = (await alice.expect_type("offer"))["offer"]
        assert offer["queue_name"] == "priority"
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        # Typed into the form under the same name, it is not the page's field.
        await post(world, extra={"plan": "pro"})
        again = await alice.expect(
            lambda m: m.get("type") == "offer" and m["offer"]["offer_id"] != offer["offer_id"]
        )
        assert again["offer"]["queue_name"] == "default"
