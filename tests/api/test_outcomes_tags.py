"""Outcomes at wrap-up and tags through the public API on both backends: the outcome survives
the customer ending the chat (set afterwards by its agent, with who and when), only the chat's
staff and its workgroup's supervisors set it, past chats show and filter both, the follow-up
list (oldest first, marked resolved), the admin's list of tags and who may tag what."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.api.test_ratings import as_visitor, chat, rest
from tests.conftest import make_world
from tests.support import World

from parley.domain.access import StaffRole


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """Workgroups sales and support; alice and carl (agents, sales), bob (agent, support), sam
    (supervisor of sales), tess (supervisor of support), admin."""
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_workgroup("support", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("carl", workgroups=["sales"])
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


def code(r: Any) -> tuple[int, str]:
    return r.status_code, r.json()["error"]["code"]


async def test_the_outcome_after_the_customer_ended(world: World) -> None:
    cid, _ = await chat(world, "alice")
    wrap = f"/api/v1/conversations/{cid}/wrap-up"
    assert (await rest(world, "alice", "get", wrap)).json() == {
        "outcome": None,
        "outcome_by": None,
        "outcome_at": None,
        "tags": [],
    }
    url = f"/api/v1/conversations/{cid}/outcome"
    r = await rest(world, "alice", "put", url, json={"outcome": "follow_up"})
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["outcome"] == "follow_up" and got["outcome_by"] == world.user_ids["alice"]
    assert got["outcome_at"] is not None

    # The end message with an outcome, sent after the customer ended it, counts too.
    async with world.agent("alice", available=False) as ws:
        await ws.request({"type": "end", "conversation_id": cid, "outcome": "escalated"})
    assert (await rest(world, "alice", "get", wrap)).json()["outcome"] == "escalated"

    # The workgroup's supervisor may change it; a colleague may not; another workgroup's
    # supervisor or agent does not even read it.
    r = await rest(world, "sam", "put", url, json={"outcome": "resolved"})
    assert r.status_code == 200 and r.json()["outcome_by"] == world.user_ids["sam"]
    assert code(await rest(world, "carl", "put", url, json={"outcome": "escalated"})) == (
        403,
        "forbidden",
    )
    assert code(await rest(world, "tess", "put", url, json={"outcome": "escalated"})) == (
        404,
        "not_found",
    )
    assert code(await rest(world, "bob", "put", url, json={"outcome": "escalated"})) == (
        404,
        "not_found",
    )
    assert code(await rest(world, "bob", "get", wrap)) == (404, "not_found")
    assert code(await rest(world, "alice", "put", url, json={"outcome": "lost"})) == (
        422,
        "invalid_input",
    )
    assert (await rest(world, "alice", "get", wrap)).json()["outcome"] == "resolved"
    missing = "/api/v1/conversations/nope/outcome"
    assert code(await rest(world, "alice", "put", missing, json={"outcome": "resolved"})) == (
        404,
        "not_found",
    )


async def test_no_outcome_afterwards_while_the_chat_goes_on(world: World) -> None:
    cid, token = await chat(world, "alice", end=False)
    url = f"/api/v1/conversations/{cid}/outcome"
    assert code(await rest(world, "alice", "put", url, json={"outcome": "resolved"})) == (
        409,
        "conflict",
    )
    r = await as_visitor(world, token, "put", url, json={"outcome": "resolved"})
    assert r.status_code in (401, 403, 404)


async def test_past_chats_and_the_follow_up_list(world: World) -> None:
    first, _ = await chat(world, "alice")
    world.clock.advance(60)
    second, _ = await chat(world, "alice")
    world.clock.advance(60)
    third, _ = await chat(world, "alice")
    for cid, outcome in ((first, "follow_up"), (second, "resolved"), (third, "follow_up")):
        r = await rest(
            world, "alice", "put", f"/api/v1/conversations/{cid}/outcome", json={"outcome": outcome}
        )
        assert r.status_code == 200, r.text

    past = (await rest(world, "alice", "get", "/api/v1/past-chats")).json()
    assert [(p["conversation"]["id"], p["wrap_up"]["outcome"]) for p in past] == [
        (third, "follow_up"),
        (second, "resolved"),
        (first, "follow_up"),
    ]
    resolved = (await rest(world, "alice", "get", "/api/v1/past-chats?outcome=resolved")).json()
    assert [p["conversation"]["id"] for p in resolved] == [second]
    r = await rest(world, "alice", "get", "/api/v1/past-chats?outcome=lost")
    assert code(r) == (422, "invalid_input")

    follow = (await rest(world, "alice", "get", "/api/v1/follow-ups")).json()
    assert [p["conversation"]["id"] for p in follow] == [first, third]  # oldest first
    assert (await rest(world, "carl", "get", "/api/v1/follow-ups")).json() == []
    assert code(await rest(world, "carl", "get", "/api/v1/follow-ups?all=true")) == (
        403,
        "forbidden",
    )
    everyone = (await rest(world, "sam", "get", "/api/v1/follow-ups?all=true")).json()
    assert [p["conversation"]["id"] for p in everyone] == [first, third]

    # Marked resolved from the list: it leaves it.
    r = await rest(
        world,
        "alice",
        "put",
        f"/api/v1/conversations/{first}/outcome",
        json={"outcome": "resolved"},
    )
    assert r.status_code == 200
    follow = (await rest(world, "alice", "get", "/api/v1/follow-ups")).json()
    assert [p["conversation"]["id"] for p in follow] == [third]


async def test_the_admins_list_of_tags(world: World) -> None:
    r = await rest(world, "admin", "post", "/api/v1/admin/tags", json={"name": "  Billing  "})
    assert r.status_code == 201, r.text
    billing = r.json()
    assert billing["name"] == "Billing"
    assert code(
        await rest(world, "admin", "post", "/api/v1/admin/tags", json={"name": "billing"})
    ) == (
        409,
        "conflict",
    )
    for bad in ({"name": ""}, {"name": "   "}, {"name": "x" * 65}, {"name": "a\nb"}, {}):
        r = await rest(world, "admin", "post", "/api/v1/admin/tags", json=bad)
        assert r.status_code == 422, (bad, r.text)
    for who in ("alice", "sam"):
        r = await rest(world, who, "post", "/api/v1/admin/tags", json={"name": "Refund"})
        assert code(r) == (403, "forbidden")
    r = await rest(world, "admin", "post", "/api/v1/admin/tags", json={"name": "Refund"})
    refund = r.json()

    assert [t["name"] for t in (await rest(world, "alice", "get", "/api/v1/tags")).json()] == [
        "Billing",
        "Refund",
    ]
    url = f"/api/v1/admin/tags/{refund['id']}"
    r = await rest(world, "admin", "put", url, json={"name": "Refunds"})
    assert r.status_code == 200 and r.json()["name"] == "Refunds"
    r = await rest(world, "admin", "put", url, json={"name": "Billing"})
    assert code(r) == (409, "conflict")
    assert code(await rest(world, "alice", "put", url, json={"name": "X"})) == (403, "forbidden")
    assert code(await rest(world, "alice", "delete", url)) == (403, "forbidden")
    assert (await rest(world, "admin", "delete", url)).status_code == 204
    assert code(await rest(world, "admin", "delete", url)) == (404, "not_found")
    assert code(await rest(world, "admin", "put", url, json={"name": "Y"})) == (404, "not_found")
    assert [t["name"] for t in (await rest(world, "admin", "get", "/api/v1/tags")).json()] == [
        "Billing"
    ]
    async with world.node.http() as http:
        assert (await http.get("/api/v1/tags")).status_code == 401


async def test_tagging_chats(world: World) -> None:
    tags = {}
    for name in ("Billing", "Refund"):
        r = await rest(world, "admin", "post", "/api/v1/admin/tags", json={"name": name})
        tags[name] = r.json()["id"]
    mine, _ = await chat(world, "alice")
    other, _ = await chat(world, "alice")
    base = f"/api/v1/conversations/{mine}/tags"

    r = await rest(world, "alice", "put", f"{base}/{tags['Billing']}")
    assert r.status_code == 200, r.text
    assert [t["name"] for t in r.json()["tags"]] == ["Billing"]
    r = await rest(world, "alice", "put", f"{base}/{tags['Billing']}")  # again: no change
    assert [t["name"] for t in r.json()["tags"]] == ["Billing"]
    r = await rest(world, "sam", "put", f"{base}/{tags['Refund']}")
    assert [t["name"] for t in r.json()["tags"]] == ["Billing", "Refund"]
    assert code(await rest(world, "alice", "put", f"{base}/999")) == (404, "not_found")
    assert code(await rest(world, "carl", "put", f"{base}/{tags['Refund']}")) == (403, "forbidden")
    assert code(await rest(world, "tess", "put", f"{base}/{tags['Refund']}")) == (404, "not_found")
    assert code(await rest(world, "bob", "put", f"{base}/{tags['Refund']}")) == (404, "not_found")
    assert code(await rest(world, "bob", "delete", f"{base}/{tags['Refund']}")) == (
        404,
        "not_found",
    )

    r = await rest(world, "alice", "delete", f"{base}/{tags['Refund']}")
    assert [t["name"] for t in r.json()["tags"]] == ["Billing"]

    # Shown and filterable in past chats.
    past = (await rest(world, "alice", "get", "/api/v1/past-chats")).json()
    assert {p["conversation"]["id"]: [t["name"] for t in p["wrap_up"]["tags"]] for p in past} == {
        mine: ["Billing"],
        other: [],
    }
    tagged = (await rest(world, "alice", "get", f"/api/v1/past-chats?tag={tags['Billing']}")).json()
    assert [p["conversation"]["id"] for p in tagged] == [mine]

    # A deleted tag goes off every chat.
    assert (
        await rest(world, "admin", "delete", f"/api/v1/admin/tags/{tags['Billing']}")
    ).status_code == 204
    r = await rest(world, "alice", "get", f"/api/v1/conversations/{mine}/wrap-up")
    assert r.json()["tags"] == []


async def test_tags_while_the_chat_goes_on_and_at_most_twenty(world: World) -> None:
    ids = []
    for i in range(21):
        r = await rest(world, "admin", "post", "/api/v1/admin/tags", json={"name": f"t{i:02}"})
        ids.append(r.json()["id"])
    cid, _ = await chat(world, "alice", end=False)
    base = f"/api/v1/conversations/{cid}/tags"
    for tag_id in ids[:20]:
        assert (await rest(world, "alice", "put", f"{base}/{tag_id}")).status_code == 200
    assert code(await rest(world, "alice", "put", f"{base}/{ids[20]}")) == (409, "conflict")
