"""Secret shoppers through the public API on both backends: a supervisor's link (signed,
one-time, expiring), the chat it opens flagged in the database and looking exactly like any
other to the agent (frames, REST answers), the shopper's checklist score counted in the QA
report, and the wallboard leaving shopper chats out of waits, answered and service level."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.api.test_qa import ok, refused, rest
from tests.conftest import make_world
from tests.support import World, WsClient

from parley.domain.access import StaffRole
from parley.storage.tables import conversations

CHECKS = ["greeting", "name", "wait", "accuracy", "closing"]


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    async for w in make_world(backend, tmp_path, wallboard_push_interval_secs=0):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300, max_chats=4)
        await w.add_workgroup("support", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("sam", StaffRole.SUPERVISOR)
        await w.add_staff("tess", StaffRole.SUPERVISOR)
        await w.add_staff("admin", StaffRole.ADMIN)
        for slug, who in (("sales", ["sam"]), ("support", ["tess"])):
            await ok(
                w,
                "admin",
                "put",
                f"/api/v1/admin/workgroups/{slug}/supervisors",
                json={"usernames": who},
            )
        yield w


async def new_link(world: World, who: str = "sam", **body: Any) -> dict[str, Any]:
    return dict(
        await ok(
            world, who, "post", "/api/v1/qa/shopper-links", json={"workgroup": "sales", **body}
        )
    )


async def open_chat(world: World, slug: str = "sales", **form: Any) -> httpx.Response:
    async with world.node.http() as http:
        return await http.post(
            f"/api/v1/workgroups/{slug}/chats",
            json={
                "name": "Zoe",
                "question": "Is the Harbour 3 in stock?",
                "page": "https://shop.example/bikes",
                **form,
            },
        )


async def is_shopper(world: World, cid: str) -> bool:
    async with world.parley.db.read() as tx:
        row = await tx.one(sa.select(conversations.c.shopper).where(conversations.c.id == cid))
    assert row is not None
    return bool(row.shopper)


async def test_links_are_for_supervisors_of_the_workgroup(world: World) -> None:
    link = await new_link(world)
    assert link["expires_at"] > link["created_at"]
    assert link["url"] == "/demo/#shopper=" + link["token"]
    lifetime = (
        json.loads(json.dumps(link))["expires_at"],
        (world.clock.now() + timedelta(hours=24)).isoformat(),
    )
    assert lifetime[0][:16] == lifetime[1][:16]
    week = await new_link(world, hours=168)
    assert week["id"] != link["id"]
    for hours in (169, 0, -1):
        r = await rest(
            world,
            "sam",
            "post",
            "/api/v1/qa/shopper-links",
            json={"workgroup": "sales", "hours": hours},
        )
        assert r.status_code == 422, r.text
    # Another workgroup's supervisor: like a workgroup that does not exist; agents: forbidden.
    r = await rest(world, "tess", "post", "/api/v1/qa/shopper-links", json={"workgroup": "sales"})
    missing = await rest(
        world, "tess", "post", "/api/v1/qa/shopper-links", json={"workgroup": "nope"}
    )
    refused(r, 404, "not_found")
    assert r.json() == missing.json()
    r = await rest(world, "alice", "post", "/api/v1/qa/shopper-links", json={"workgroup": "sales"})
    refused(r, 403, "forbidden")
    refused(await rest(world, "alice", "get", "/api/v1/qa/shopper-links"), 403, "forbidden")
    assert [x["id"] for x in await ok(world, "sam", "get", "/api/v1/qa/shopper-links")] == [
        link["id"],
        week["id"],
    ] or len(await ok(world, "sam", "get", "/api/v1/qa/shopper-links")) == 2
    assert await ok(world, "tess", "get", "/api/v1/qa/shopper-links") == []
    assert all(
        "token" not in x for x in await ok(world, "admin", "get", "/api/v1/qa/shopper-links")
    )


async def test_a_link_opens_one_chat_and_forged_or_expired_ones_none(world: World) -> None:
    link = await new_link(world)
    first = await open_chat(world, shopper_link=link["token"])
    assert first.status_code == 201, first.text
    cid = first.json()["conversation"]["id"]
    assert await is_shopper(world, cid)
    # One-time: the second use is refused and opens nothing.
    refused(await open_chat(world, shopper_link=link["token"]), 401, "shopper_link_used")
    # Forged: another server's signature, or a changed one.
    forged = link["token"][:-2] + ("AA" if not link["token"].endswith("AA") else "BB")
    refused(await open_chat(world, shopper_link=forged), 401, "shopper_link_invalid")
    refused(await open_chat(world, shopper_link="not.a.token"), 401, "shopper_link_invalid")
    # A link of sales does not open a support chat.
    other = await new_link(world)
    refused(
        await open_chat(world, "support", shopper_link=other["token"]), 401, "shopper_link_invalid"
    )
    # Expired.
    world.clock.advance(24 * 3600 + 1)
    refused(await open_chat(world, shopper_link=other["token"]), 401, "shopper_link_expired")
    async with world.parley.db.read() as tx:
        shoppers = await tx.all(
            sa.select(conversations.c.id).where(conversations.c.shopper.is_(True))
        )
        total = await tx.all(sa.select(conversations.c.id))
    assert [r.id for r in shoppers] == [cid]
    assert len(total) == 1  # the refused ones opened nothing
    # The link says what became of it.
    rows = {x["id"]: x for x in await ok(world, "sam", "get", "/api/v1/qa/shopper-links")}
    assert rows[link["id"]]["conversation_id"] == cid and rows[link["id"]]["used_at"] is not None
    assert rows[other["id"]]["used_at"] is None


def _normal(frames: list[Any], ids: dict[str, str]) -> list[Any]:
    """The frames with the ids that differ between any two chats aliased (and the refs of
    alice's own requests, which count up)."""
    frames = [
        {k: v for k, v in f.items() if k != "ref"} if isinstance(f, dict) else f for f in frames
    ]
    text = json.dumps(frames, sort_keys=True)
    for real, alias in ids.items():
        text = text.replace(real, alias)
    return list(json.loads(text))


async def _serve(
    world: World, alice: WsClient, chat: dict[str, Any]
) -> tuple[list[Any], dict[str, str]]:
    """alice accepts, answers, and ends ``chat``; what she got, and the ids to alias."""
    cid = chat["conversation"]["id"]
    start = len(alice.received)
    offer = (await alice.expect_type("offer"))["offer"]
    assert (await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
        "type"
    ] == "ok"
    async with world.visitor(chat["visitor_token"]) as zoe:
        await zoe.request(
            {"type": "send", "conversation_id": cid, "client_id": "z1", "text": "Hello"}
        )
        await alice.expect(
            lambda m: (
                m.get("type") == "entry"
                and m["entry"]["author"] is not None
                and m["entry"]["body"].get("text") == "Hello"
            )
        )
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hi, I am Alice"}
        )
        assert (
            await alice.request({"type": "end", "conversation_id": cid, "outcome": "resolved"})
        )["type"] == "ok"
    await alice.expect(lambda m: m.get("type") == "entry" and m["entry"]["kind"] == "ended")
    frames = [
        m
        for m in alice.received[start:]
        if m.get("conversation_id", (m.get("offer") or {}).get("conversation_id")) == cid
        or cid in json.dumps(m)
    ]
    ids = {cid: "CID", offer["offer_id"]: "OFFER"}
    for m in frames:
        for found in re.findall(r'"visitor_id": "([^"]+)"', json.dumps(m)):
            ids[found] = "VISITOR"
    return frames, ids


async def _agent_rest(world: World, cid: str) -> list[Any]:
    out = []
    async with world.staff_http("alice") as http:
        for path in (f"/api/v1/conversations/{cid}", f"/api/v1/conversations/{cid}/entries"):
            r = await http.get(path)
            out.append((path.replace(cid, "CID"), r.status_code, r.json()))
        # Her past chats: the same item.
        r = await http.get("/api/v1/conversations")
        out.append(("list", r.status_code, [c for c in r.json() if c["id"] == cid]))
    return out


async def test_the_agent_cannot_tell_a_shopper_chat(world: World) -> None:
    link = await new_link(world)
    async with world.agent("alice") as alice:
        normal = (await open_chat(world)).json()
        normal_frames, normal_ids = await _serve(world, alice, normal)
        shopper = (await open_chat(world, shopper_link=link["token"])).json()
        shopper_frames, shopper_ids = await _serve(world, alice, shopper)
    assert await is_shopper(world, shopper["conversation"]["id"])
    assert not await is_shopper(world, normal["conversation"]["id"])
    kinds = [m["type"] for m in normal_frames]
    assert {"offer", "conversation", "entry", "ack"} <= set(kinds), kinds
    assert _normal(shopper_frames, shopper_ids) == _normal(normal_frames, normal_ids)
    assert "shopper" not in json.dumps(shopper_frames)
    # REST: the same answers, nothing named shopper.
    a = await _agent_rest(world, normal["conversation"]["id"])
    b = await _agent_rest(world, shopper["conversation"]["id"])
    assert [status for _, status, _ in a] == [200] * len(a)
    assert len(a[-1][2]) == 1  # the chat is in her past chats
    assert _normal(b, shopper_ids) == _normal(a, normal_ids)
    assert "shopper" not in json.dumps(b)
    # The visitor's own answer: the same shape too (the token aside).
    assert set(shopper) == set(normal)


async def _served_shopper_chat(world: World, token: str) -> str:
    async with world.agent("alice") as alice:
        chat = (await open_chat(world, shopper_link=token)).json()
        cid = chat["conversation"]["id"]
        offer = (await alice.expect_type("offer"))["offer"]
        await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
        await alice.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": "Hi"}
        )
        # Not ended yet: not scored yet.
        async with world.node.http() as http:
            r = await http.post(
                "/api/v1/shopper/score", json={"link": token, "scores": dict.fromkeys(CHECKS, 1)}
            )
        refused(r, 409, "conflict")
        await alice.request({"type": "end", "conversation_id": cid})
    return str(cid)


async def test_the_shopper_scores_the_chat_once_and_it_counts_in_qa(world: World) -> None:
    since = world.clock.now() - timedelta(hours=1)
    link = await new_link(world)
    async with world.node.http() as http:
        status = await http.get("/api/v1/shopper", headers={"X-Shopper-Link": link["token"]})
        assert status.json()["state"] == "unused"
        assert [c["key"] for c in status.json()["checklist"]["categories"]] == CHECKS
        refused(
            await http.post(
                "/api/v1/shopper/score",
                json={"link": link["token"], "scores": dict.fromkeys(CHECKS, 1)},
            ),
            409,
            "conflict",
        )
    cid = await _served_shopper_chat(world, link["token"])
    async with world.node.http() as http:
        status = await http.get("/api/v1/shopper", headers={"X-Shopper-Link": link["token"]})
        assert (status.json()["state"], status.json()["chat_ended"]) == ("used", True)
        bad = await http.post(
            "/api/v1/shopper/score",
            json={"link": link["token"], "scores": {**dict.fromkeys(CHECKS, 1), "wait": 2}},
        )
        assert bad.status_code == 422
        scores = {**dict.fromkeys(CHECKS, 1), "name": 0, "closing": 0}
        r = await http.post(
            "/api/v1/shopper/score",
            json={"link": link["token"], "scores": scores, "comment": "No name given"},
        )
        assert r.status_code == 201, r.text
        assert r.json() == {"score": 60.0}
        again = await http.post(
            "/api/v1/shopper/score", json={"link": link["token"], "scores": scores}
        )
        refused(again, 401, "shopper_link_used")
        forged = await http.post(
            "/api/v1/shopper/score", json={"link": "x" + link["token"], "scores": scores}
        )
        refused(forged, 401, "shopper_link_invalid")
        status = await http.get("/api/v1/shopper", headers={"X-Shopper-Link": link["token"]})
        assert status.json()["state"] == "scored"
    # Supervisors see it as a shopper's; the report counts it apart.
    reviews = await ok(world, "sam", "get", f"/api/v1/qa/conversations/{cid}/reviews")
    assert [(r["shopper"], r["score"], r["agent_name"]) for r in reviews] == [(True, 60.0, "Alice")]
    until = world.clock.now() + timedelta(hours=1)
    report = await ok(
        world,
        "sam",
        "get",
        "/api/v1/qa/report",
        params={"since": since.isoformat(), "until": until.isoformat()},
    )
    (alice,) = report["agents"]
    assert alice["shoppers"] == {"reviews": 1, "score": 60.0}
    assert alice["reviews"] == {"reviews": 0, "score": 0.0}
    assert report["shoppers"] == {"reviews": 1, "score": 60.0}
    assert {c["key"] for c in report["categories"] if c["shopper"]} == set(CHECKS)
    # The agent never sees it: not in her reviews, not by id, and her chat reads as any other.
    assert await ok(world, "alice", "get", "/api/v1/me/qa/reviews") == []
    refused(
        await rest(world, "alice", "get", f"/api/v1/qa/reviews/{reviews[0]['id']}"),
        404,
        "not_found",
    )
    # A supervisor cannot rewrite the shopper's score.
    r = await rest(
        world,
        "sam",
        "put",
        f"/api/v1/qa/reviews/{reviews[0]['id']}",
        json={"scores": dict.fromkeys(CHECKS, 1)},
    )
    refused(r, 409, "conflict")
    # Transcript search finds shopper chats on request.
    hits = await ok(world, "sam", "post", "/api/v1/qa/search", json={"shopper": True})
    assert {h["conversation_id"] for h in hits} == {cid}


async def test_an_admin_checklist_replaces_the_built_in_one(world: World) -> None:
    await ok(
        world,
        "admin",
        "post",
        "/api/v1/admin/qa/scorecards",
        json={
            "name": "Shopper",
            "purpose": "shopper",
            "categories": [
                {"key": "greeting", "name": "Greeted", "scale": 1},
                {"key": "upsell", "name": "Offered the lock", "scale": 1, "weight": 3},
            ],
        },
    )
    link = await new_link(world)
    await _served_shopper_chat(world, link["token"])
    async with world.node.http() as http:
        r = await http.post(
            "/api/v1/shopper/score",
            json={"link": link["token"], "scores": {"greeting": 1, "upsell": 0}},
        )
    assert r.json() == {"score": 25.0}


async def test_the_wallboard_leaves_shopper_chats_out(world: World) -> None:
    link = await new_link(world)
    board = "/api/v1/supervision/workgroups/sales/wallboard"
    await open_chat(world, shopper_link=link["token"])
    total = (await ok(world, "sam", "get", board))["total"]
    assert (total["waiting"], total["answered"]) == (0, 0)
    await open_chat(world)
    total = (await ok(world, "sam", "get", board))["total"]
    assert total["waiting"] == 1
    async with world.agent("alice") as alice:
        for _ in range(2):
            offer = (await alice.expect_type("offer"))["offer"]
            await alice.request({"type": "accept_offer", "offer_id": offer["offer_id"]})
    world.clock.advance(5)
    total = (await ok(world, "sam", "get", board))["total"]
    assert (total["waiting"], total["answered"], total["answered_in_target"]) == (0, 1, 1)
    assert total["service_level"] == 1.0


async def test_the_shoppers_routes_are_limited(backend: str, tmp_path: Path) -> None:
    async for w in make_world(backend, tmp_path, shopper_ip_limit="2 per minute"):
        async with w.node.http() as http:
            for _ in range(2):
                r = await http.get("/api/v1/shopper", headers={"X-Shopper-Link": "forged"})
                refused(r, 401, "shopper_link_invalid")
            r = await http.post("/api/v1/shopper/score", json={"link": "forged", "scores": {}})
            refused(r, 429, "rate_limited")
            assert "retry-after" in r.headers
