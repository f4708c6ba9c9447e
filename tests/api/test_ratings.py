"""Ratings through the public API on both backends: the chat's visitor rates it once, after it
ended, and only their own; bad scores are typed errors that store nothing; the rating goes to
the last staff member who wrote; agents read their own, supervisors their workgroups', admins
all; a workgroup that does not ask for ratings takes none."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.support import World

from parley.domain.access import StaffRole
from parley.settings import Settings


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


async def rest(world: World, username: str, method: str, url: str, **kwargs: Any) -> Any:
    async with world.staff_http(username) as http:
        return await http.request(method.upper(), url, **kwargs)


async def as_visitor(world: World, token: str, method: str, url: str, **kwargs: Any) -> Any:
    async with world.node.http(headers={"X-Visitor-Token": token}) as http:
        return await http.request(method.upper(), url, **kwargs)


async def chat(
    world: World, agent: str, slug: str = "sales", *, say: str | None = "Hello!", end: bool = True
) -> tuple[str, str]:
    """A chat ``agent`` takes and writes ``say`` in, ended by the customer: (id, token)."""
    async with world.agent(agent) as ws:
        opened = await world.open_chat(slug)
        cid, token = opened["conversation"]["id"], opened["visitor_token"]
        offer = (await ws.expect_type("offer"))["offer"]
        assert (await ws.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        if say is not None:
            ack = await ws.request(
                {"type": "send", "conversation_id": cid, "client_id": "a1", "text": say}
            )
            assert ack["type"] == "ack", ack
        await ws.request({"type": "set_presence", "presence": "away"})
    if end:
        r = await as_visitor(world, token, "post", f"/api/v1/conversations/{cid}/end")
        assert r.status_code == 204, r.text
    return cid, token


async def test_a_visitor_rates_once_after_the_end(world: World) -> None:
    cid, token = await chat(world, "alice", end=False)
    url = f"/api/v1/conversations/{cid}/rating"

    status = await as_visitor(world, token, "get", url)
    assert status.json() == {"wanted": True, "rating": None}
    early = await as_visitor(world, token, "post", url, json={"score": 5})
    assert early.status_code == 409 and early.json()["error"]["code"] == "conflict"

    r = await as_visitor(world, token, "post", f"/api/v1/conversations/{cid}/end")
    assert r.status_code == 204
    r = await as_visitor(world, token, "post", url, json={"score": 5, "comment": " <b>Great</b> "})
    assert r.status_code == 201, r.text
    assert r.json()["score"] == 5 and r.json()["comment"] == "<b>Great</b>"

    again = await as_visitor(world, token, "post", url, json={"score": 1})
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"
    # The first stands; the widget does not ask again (after a reload too).
    status = (await as_visitor(world, token, "get", url)).json()
    assert status["wanted"] is False and status["rating"]["score"] == 5

    mine = (await rest(world, "alice", "get", "/api/v1/ratings?mine=true")).json()
    assert [(m["conversation_id"], m["score"], m["comment"]) for m in mine] == [
        (cid, 5, "<b>Great</b>")
    ]
    assert mine[0]["agent_name"] == "Alice" and mine[0]["workgroup"] == "sales"
    assert mine[0]["shopper"] is None  # an agent is never told


async def test_not_another_chats_and_not_staff(world: World) -> None:
    cid, _ = await chat(world, "alice")
    _, other_token = await chat(world, "alice")
    url = f"/api/v1/conversations/{cid}/rating"
    for r in (
        await as_visitor(world, other_token, "post", url, json={"score": 4}),
        await as_visitor(world, other_token, "get", url),
        await rest(world, "alice", "post", url, json={"score": 4}),
        await as_visitor(
            world, other_token, "post", "/api/v1/conversations/nope/rating", json={"score": 4}
        ),
    ):
        assert r.status_code == 404, r.text
        assert r.json()["error"] == {"code": "not_found", "message": "no such conversation"}
    assert (await rest(world, "admin", "get", "/api/v1/ratings")).json() == []


@pytest.mark.parametrize(
    "body",
    [
        {"score": 0},
        {"score": 6},
        {"score": -1},
        {"score": "five"},
        {"score": 3.5},
        {},
        {"score": 3, "comment": "x" * 1001},
        {"score": 3, "extra": 1},
    ],
)
async def test_bad_ratings_are_typed_and_store_nothing(world: World, body: Any) -> None:
    cid, token = await chat(world, "alice")
    r = await as_visitor(world, token, "post", f"/api/v1/conversations/{cid}/rating", json=body)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] in ("invalid_input", "too_long")
    status = (await as_visitor(world, token, "get", f"/api/v1/conversations/{cid}/rating")).json()
    assert status == {"wanted": True, "rating": None}


async def test_it_goes_to_the_last_staff_member_who_wrote(world: World) -> None:
    # Nobody wrote: the rating is kept, given to nobody.
    silent, silent_token = await chat(world, "alice", say=None)
    r = await as_visitor(
        world, silent_token, "post", f"/api/v1/conversations/{silent}/rating", json={"score": 2}
    )
    assert r.status_code == 201
    everything = (await rest(world, "admin", "get", "/api/v1/ratings")).json()
    assert [(x["conversation_id"], x["agent_id"]) for x in everything] == [(silent, None)]
    assert (await rest(world, "alice", "get", "/api/v1/ratings")).json() == []


async def test_who_reads_which_ratings(world: World) -> None:
    a, a_token = await chat(world, "alice")
    c, c_token = await chat(world, "carl")
    b, b_token = await chat(world, "bob", "support")
    for cid, token, score in ((a, a_token, 5), (c, c_token, 3), (b, b_token, 1)):
        r = await as_visitor(
            world, token, "post", f"/api/v1/conversations/{cid}/rating", json={"score": score}
        )
        assert r.status_code == 201, r.text

    async def seen(who: str, query: str = "") -> set[str]:
        r = await rest(world, who, "get", f"/api/v1/ratings{query}")
        assert r.status_code == 200, r.text
        return {x["conversation_id"] for x in r.json()}

    assert await seen("alice") == {a}  # her own only, not carl's of the same workgroup
    assert await seen("carl") == {c}
    assert await seen("bob") == {b}
    assert await seen("sam") == {a, c}
    assert await seen("tess") == {b}  # another workgroup's supervisor sees none of sales
    assert await seen("tess", "?workgroup=sales") == set()
    assert await seen("admin") == {a, b, c}
    assert await seen("admin", "?workgroup=support") == {b}
    assert await seen("admin", f"?agent={world.user_ids['carl']}") == {c}
    assert await seen("sam", "?mine=true") == set()
    sam = (await rest(world, "sam", "get", "/api/v1/ratings")).json()
    assert {x["shopper"] for x in sam} == {False}
    r = await rest(world, "admin", "get", "/api/v1/ratings?workgroup=nope")
    assert r.status_code == 404
    async with world.node.http() as http:
        assert (await http.get("/api/v1/ratings")).status_code == 401


async def test_a_workgroup_that_does_not_ask(world: World) -> None:
    url = "/api/v1/admin/workgroups/sales/supervision"
    settings = (await rest(world, "admin", "get", url)).json()
    assert settings["ratings"] is True  # the default
    r = await rest(world, "admin", "put", url, json={**settings, "ratings": False})
    assert r.status_code == 200 and r.json()["ratings"] is False
    assert (await rest(world, "admin", "get", url)).json()["ratings"] is False

    cid, token = await chat(world, "alice")
    rating = f"/api/v1/conversations/{cid}/rating"
    assert (await as_visitor(world, token, "get", rating)).json() == {
        "wanted": False,
        "rating": None,
    }
    r = await as_visitor(world, token, "post", rating, json={"score": 5})
    assert r.status_code == 409 and r.json()["error"]["code"] == "conflict"


async def test_shopper_chats_are_stored_and_flagged(world: World) -> None:
    import sqlalchemy as sa

    from parley.storage.tables import conversations

    cid, token = await chat(world, "alice")
    async with world.parley.db.write() as tx:
        await tx.conn.execute(
            sa.update(conversations).where(conversations.c.id == cid).values(shopper=True)
        )
    r = await as_visitor(
        world, token, "post", f"/api/v1/conversations/{cid}/rating", json={"score": 4}
    )
    assert r.status_code == 201
    assert [x["shopper"] for x in (await rest(world, "sam", "get", "/api/v1/ratings")).json()] == [
        True
    ]
    assert [
        x["shopper"] for x in (await rest(world, "alice", "get", "/api/v1/ratings")).json()
    ] == [None]


async def test_the_token_expires_and_so_does_rating(world: World) -> None:
    cid, token = await chat(world, "alice")
    world.clock.advance(Settings().visitor_token_hours * 3600 + 1)  # the default, 24 h
    r = await as_visitor(
        world, token, "post", f"/api/v1/conversations/{cid}/rating", json={"score": 4}
    )
    assert r.status_code == 401


async def test_a_chat_nobody_answered_is_not_rated(world: World) -> None:
    opened = await world.open_chat("sales")
    cid, token = opened["conversation"]["id"], opened["visitor_token"]
    r = await as_visitor(world, token, "post", f"/api/v1/conversations/{cid}/end")
    assert r.status_code == 204
    url = f"/api/v1/conversations/{cid}/rating"
    assert (await as_visitor(world, token, "get", url)).json() == {"wanted": False, "rating": None}
    r = await as_visitor(world, token, "post", url, json={"score": 5})
    assert (r.status_code, r.json()["error"]["code"]) == (409, "conflict")


async def test_two_ratings_at_once_one_stands(world: World) -> None:
    import asyncio

    cid, token = await chat(world, "alice")
    url = f"/api/v1/conversations/{cid}/rating"
    answers = await asyncio.gather(
        *(as_visitor(world, token, "post", url, json={"score": s}) for s in (1, 5))
    )
    assert sorted(r.status_code for r in answers) == [201, 409]
    stood = next(r.json()["score"] for r in answers if r.status_code == 201)
    assert (await as_visitor(world, token, "get", url)).json()["rating"]["score"] == stood


async def test_a_whisper_does_not_count_a_barged_in_message_does(world: World) -> None:
    async def rated(cid: str, token: str) -> int | None:
        r = await as_visitor(world, token, "post", f"/api/v1/conversations/{cid}/end")
        assert r.status_code == 204
        r = await as_visitor(
            world, token, "post", f"/api/v1/conversations/{cid}/rating", json={"score": 4}
        )
        assert r.status_code == 201, r.text
        found = (await rest(world, "admin", "get", "/api/v1/ratings")).json()
        return next(x["agent_id"] for x in found if x["conversation_id"] == cid)

    whispered, w_token = await chat(world, "alice", end=False)
    r = await rest(
        world,
        "sam",
        "post",
        f"/api/v1/supervision/chats/{whispered}/whisper",
        json={"client_id": "w1", "text": "offer the voucher"},
    )
    assert r.status_code == 200, r.text
    assert await rated(whispered, w_token) == world.user_ids["alice"]

    barged, b_token = await chat(world, "alice", end=False)
    r = await rest(world, "sam", "post", f"/api/v1/supervision/chats/{barged}/barge")
    assert r.status_code == 204, r.text
    r = await rest(
        world,
        "sam",
        "post",
        f"/api/v1/conversations/{barged}/messages",
        json={"client_id": "s1", "text": "Sam here, happy to help"},
    )
    assert r.status_code == 200, r.text
    assert await rated(barged, b_token) == world.user_ids["sam"]
    # Sam reads it as his own too.
    mine = (await rest(world, "sam", "get", "/api/v1/ratings?mine=true")).json()
    assert [x["conversation_id"] for x in mine] == [barged]
