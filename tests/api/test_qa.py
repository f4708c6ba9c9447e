"""QA review through the public API on both backends: scorecards (admins), reviews filled
beside a transcript (supervisors of the chat's workgroup only), the weights and the critical
rule, an agent's own reviews, the QA report (JSON and CSV), and the transcript search with its
filters, every search audited."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from tests.conftest import make_world
from tests.support import World

from parley.domain.access import StaffRole
from parley.storage.tables import conversation_tags, ratings, tags


@pytest.fixture
async def world(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    """sales (alice, agent; sam supervises it) and support (bob; tess supervises it); admin."""
    async for w in make_world(backend, tmp_path):
        await w.add_workgroup("sales", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_workgroup("support", offer_timeout_secs=30, wait_timeout_secs=300)
        await w.add_staff("alice", workgroups=["sales"])
        await w.add_staff("bob", workgroups=["support"])
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


async def rest(world: World, who: str, method: str, path: str, **kw: Any) -> httpx.Response:
    async with world.staff_http(who) as http:
        return await http.request(method.upper(), path, **kw)


async def ok(world: World, who: str, method: str, path: str, **kw: Any) -> Any:
    r = await rest(world, who, method, path, **kw)
    assert r.status_code in (200, 201, 204), r.text
    return None if r.status_code == 204 else r.json()


def refused(r: httpx.Response, status: int, code: str) -> None:
    assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text


async def served_chat(
    world: World,
    agent: str,
    slug: str,
    text: str,
    *,
    outcome: str | None = None,
    chat: dict[str, Any] | None = None,
) -> str:
    """A chat of ``slug`` that ``agent`` accepted, answered with ``text`` and ended."""
    async with world.agent(agent) as ws:
        chat = chat or await world.open_chat(slug, question="Is the Harbour 3 in stock?")
        cid = chat["conversation"]["id"]
        offer = (await ws.expect_type("offer"))["offer"]
        assert (await ws.request({"type": "accept_offer", "offer_id": offer["offer_id"]}))[
            "type"
        ] == "ok"
        sent = await ws.request(
            {"type": "send", "conversation_id": cid, "client_id": "a1", "text": text}
        )
        assert sent["type"] == "ack", sent
        end: dict[str, Any] = {"type": "end", "conversation_id": cid}
        if outcome is not None:
            end["outcome"] = outcome
        assert (await ws.request(end))["type"] == "ok"
    return str(cid)


CARD = {
    "name": "Chat QA",
    "categories": [
        {"key": "greeting", "name": "Greeting", "weight": 1, "scale": 5},
        {"key": "accuracy", "name": "Accuracy", "weight": 3, "scale": 5},
        {"key": "privacy", "name": "Privacy", "weight": 1, "scale": 4, "critical": True},
    ],
}


async def scorecard(world: World) -> int:
    card = await ok(world, "admin", "post", "/api/v1/admin/qa/scorecards", json=CARD)
    return int(card["id"])


async def test_scorecards_are_the_admins_and_bad_ones_are_refused(world: World) -> None:
    refused(
        await rest(world, "sam", "post", "/api/v1/admin/qa/scorecards", json=CARD), 403, "forbidden"
    )
    card_id = await scorecard(world)
    cards = await ok(world, "sam", "get", "/api/v1/qa/scorecards")
    assert [c["name"] for c in cards] == ["Chat QA"]
    assert cards[0]["categories"][2] == {
        "key": "privacy",
        "name": "Privacy",
        "weight": 1,
        "scale": 4,
        "critical": True,
    }
    refused(await rest(world, "alice", "get", "/api/v1/qa/scorecards"), 403, "forbidden")
    for bad in (
        {**CARD, "categories": []},
        {**CARD, "categories": [{"key": "a", "name": "A", "scale": 11}]},
        {**CARD, "categories": [{"key": "a", "name": "A"}, {"key": "a", "name": "B"}]},
        {**CARD, "categories": [{"key": "Bad key", "name": "A"}]},
        {**CARD, "purpose": "shopper"},  # a checklist is yes/no
        {**CARD, "extra": 1},
    ):
        r = await rest(world, "admin", "post", "/api/v1/admin/qa/scorecards", json=bad)
        assert r.status_code == 422, (bad, r.text)
    assert len(await ok(world, "admin", "get", "/api/v1/qa/scorecards")) == 1
    changed = await ok(
        world,
        "admin",
        "put",
        f"/api/v1/admin/qa/scorecards/{card_id}",
        json={**CARD, "name": "QA 2"},
    )
    assert changed["name"] == "QA 2"
    r = await rest(world, "admin", "put", "/api/v1/admin/qa/scorecards/999", json=CARD)
    refused(r, 404, "not_found")


async def test_review_weights_critical_rule_and_who_sees_what(world: World) -> None:
    card_id = await scorecard(world)
    sales = await served_chat(world, "alice", "sales", "Yes, two left.")
    support = await served_chat(world, "bob", "support", "Let me check.")
    path = f"/api/v1/qa/conversations/{sales}/reviews"
    scores = {"greeting": 5, "accuracy": 2, "privacy": 4}
    body = {"scorecard_id": card_id, "scores": scores, "comments": {"accuracy": "<b>check</b>"}}
    # (5/5 + 3 * 2/5 + 4/4) / 5 = 64 %
    review = await ok(world, "sam", "post", path, json=body)
    assert (review["score"], review["failed_critical"], review["agent_name"]) == (64.0, [], "Alice")
    assert review["comments"] == {"accuracy": "<b>check</b>"}  # kept as written, escaped by clients
    assert review["shopper"] is False
    # A critical category below half its scale zeroes the review; exactly half does not.
    zero = await ok(world, "sam", "post", path, json={**body, "scores": {**scores, "privacy": 1}})
    assert (zero["score"], zero["failed_critical"]) == (0.0, ["privacy"])
    half = await ok(world, "sam", "post", path, json={**body, "scores": {**scores, "privacy": 2}})
    assert half["score"] == 54.0
    # Bad scores store nothing.
    for bad in (
        {"greeting": 5, "accuracy": 2},
        {**scores, "accuracy": 6},
        {**scores, "other": 1},
        {**scores, "accuracy": "3"},
    ):
        r = await rest(world, "sam", "post", path, json={**body, "scores": bad})
        assert r.status_code == 422, (bad, r.text)
    assert len(await ok(world, "sam", "get", path)) == 3

    # A supervisor of another workgroup sees nothing: like a chat that does not exist.
    missing = await rest(world, "tess", "get", "/api/v1/qa/conversations/" + "f" * 32 + "/reviews")
    for r in (
        await rest(world, "tess", "get", path),
        await rest(world, "tess", "post", path, json=body),
        missing,
    ):
        refused(r, 404, "not_found")
        assert r.json()["error"]["message"] == missing.json()["error"]["message"]
    refused(
        await rest(world, "tess", "get", f"/api/v1/qa/reviews/{review['id']}"), 404, "not_found"
    )
    refused(
        await rest(
            world, "tess", "put", f"/api/v1/qa/reviews/{review['id']}", json={"scores": scores}
        ),
        404,
        "not_found",
    )
    assert await ok(world, "tess", "get", "/api/v1/qa/reviews") == []
    refused(
        await rest(world, "tess", "get", "/api/v1/qa/reviews", params={"workgroup": "sales"}),
        404,
        "not_found",
    )
    # tess reviews her own workgroup's chat; an admin sees both.
    await ok(world, "tess", "post", f"/api/v1/qa/conversations/{support}/reviews", json=body)
    assert len(await ok(world, "admin", "get", "/api/v1/qa/reviews")) == 4

    # Agents: no reviewing, only their own reviews, read-only.
    refused(await rest(world, "alice", "post", path, json=body), 403, "forbidden")
    refused(await rest(world, "alice", "get", "/api/v1/qa/reviews"), 403, "forbidden")
    mine = await ok(world, "alice", "get", "/api/v1/me/qa/reviews")
    assert sorted(r["score"] for r in mine) == [0.0, 54.0, 64.0]
    assert all("shopper" not in r for r in mine)
    own = await ok(world, "alice", "get", f"/api/v1/qa/reviews/{review['id']}")
    assert own["score"] == 64.0 and "shopper" not in own
    assert await ok(world, "bob", "get", "/api/v1/me/qa/reviews") != []
    bobs = (await ok(world, "bob", "get", "/api/v1/me/qa/reviews"))[0]["id"]
    refused(await rest(world, "alice", "get", f"/api/v1/qa/reviews/{bobs}"), 404, "not_found")
    refused(
        await rest(
            world, "alice", "put", f"/api/v1/qa/reviews/{review['id']}", json={"scores": scores}
        ),
        403,
        "forbidden",
    )

    # sam changes his review: scored again on the card as it was.
    await ok(
        world,
        "admin",
        "put",
        f"/api/v1/admin/qa/scorecards/{card_id}",
        json={**CARD, "categories": CARD["categories"][:1]},
    )
    again = await ok(
        world,
        "sam",
        "put",
        f"/api/v1/qa/reviews/{review['id']}",
        json={"scores": {**scores, "accuracy": 5}},
    )
    assert again["score"] == 100.0
    assert len(again["scorecard"]["categories"]) == 3


async def test_a_live_chat_is_not_reviewed_yet(world: World) -> None:
    card_id = await scorecard(world)
    chat = await world.open_chat("sales")
    r = await rest(
        world,
        "sam",
        "post",
        f"/api/v1/qa/conversations/{chat['conversation']['id']}/reviews",
        json={"scorecard_id": card_id, "scores": {"greeting": 1, "accuracy": 1, "privacy": 1}},
    )
    refused(r, 409, "conflict")


async def test_qa_report_per_agent_and_category_json_and_csv(world: World) -> None:
    card_id = await scorecard(world)
    since = world.clock.now() - timedelta(hours=1)
    a1 = await served_chat(world, "alice", "sales", "Hi")
    a2 = await served_chat(world, "alice", "sales", "Hi again")
    b1 = await served_chat(world, "bob", "support", "Hello")
    for cid, who, s in (
        (a1, "sam", {"greeting": 5, "accuracy": 5, "privacy": 4}),  # 100
        (a2, "sam", {"greeting": 0, "accuracy": 5, "privacy": 0}),  # 0 (critical)
        (b1, "tess", {"greeting": 5, "accuracy": 0, "privacy": 4}),  # 40
    ):
        await ok(
            world,
            who,
            "post",
            f"/api/v1/qa/conversations/{cid}/reviews",
            json={"scorecard_id": card_id, "scores": s},
        )
    until = world.clock.now() + timedelta(hours=1)
    params = {"since": since.isoformat(), "until": until.isoformat()}
    report = await ok(world, "admin", "get", "/api/v1/qa/report", params=params)
    agents = {a["agent_name"]: a for a in report["agents"]}
    assert agents["Alice"]["reviews"] == {"reviews": 2, "score": 50.0}
    assert agents["Bob"]["reviews"] == {"reviews": 1, "score": 40.0}
    cats = {c["key"]: c for c in report["categories"]}
    assert cats["greeting"]["percent"] == round(200 / 3, 2)
    assert cats["accuracy"]["percent"] == round(200 / 3, 2)
    assert report["overall"] == {"reviews": 3, "score": 46.67}
    # sam sees only sales; tess only support; agents none of it.
    sams = await ok(world, "sam", "get", "/api/v1/qa/report", params=params)
    assert [a["agent_name"] for a in sams["agents"]] == ["Alice"]
    refused(
        await rest(
            world, "sam", "get", "/api/v1/qa/report", params={**params, "workgroup": "support"}
        ),
        404,
        "not_found",
    )
    refused(await rest(world, "alice", "get", "/api/v1/qa/report", params=params), 403, "forbidden")
    # CSV: the same numbers.
    r = await rest(world, "admin", "get", "/api/v1/qa/report", params={**params, "format": "csv"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(r.text)))
    alice = next(row for row in rows if row["name"] == "Alice")
    assert (alice["section"], alice["reviews"], alice["score"]) == ("agent", "2", "50.0")
    # A range is bounded and ordered.
    refused(
        await rest(
            world,
            "admin",
            "get",
            "/api/v1/qa/report",
            params={"since": until.isoformat(), "until": since.isoformat()},
        ),
        422,
        "invalid_input",
    )
    far = (since + timedelta(days=400)).isoformat()
    r = await rest(world, "admin", "get", "/api/v1/qa/report", params={**params, "until": far})
    refused(r, 422, "invalid_input")


async def test_transcript_search_filters_and_audit(world: World) -> None:
    resolved = await served_chat(
        world, "alice", "sales", "The saddle ships Monday", outcome="resolved"
    )
    escalated = await served_chat(
        world, "alice", "sales", "The saddle is back-ordered", outcome="escalated"
    )
    other = await served_chat(world, "bob", "support", "The saddle is in support")
    now = world.clock.now()
    async with world.parley.db.write() as tx:
        tag_id = (
            await tx.conn.execute(
                sa.insert(tags).values(name="billing", created_at=now).returning(tags.c.id)
            )
        ).scalar_one()
        await tx.conn.execute(
            sa.insert(conversation_tags).values(
                conversation_id=escalated, tag_id=tag_id, added_at=now
            )
        )
        for cid, score in ((resolved, 5), (escalated, 2)):
            await tx.conn.execute(
                sa.insert(ratings).values(conversation_id=cid, score=score, created_at=now)
            )

    async def found(who: str, **body: Any) -> set[str]:
        hits = await ok(world, who, "post", "/api/v1/qa/search", json={"words": "saddle", **body})
        return {h["conversation_id"] for h in hits}

    assert await found("admin") == {resolved, escalated, other}
    # A supervisor searches their own workgroups only.
    assert await found("sam") == {resolved, escalated}
    assert await found("tess") == {other}
    refused(
        await rest(world, "sam", "post", "/api/v1/qa/search", json={"workgroups": ["support"]}),
        404,
        "not_found",
    )
    assert await found("sam", outcome="resolved") == {resolved}
    assert await found("sam", tag="billing") == {escalated}
    assert await found("sam", tag="nothing") == set()
    assert await found("sam", rating_min=4) == {resolved}
    assert await found("sam", rating_max=3) == {escalated}
    assert await found("admin", agent_id=world.user_ids["bob"]) == {other}
    assert await found("admin", workgroups=["support"]) == {other}
    assert await found("sam", since=(now + timedelta(minutes=1)).isoformat()) == set()
    assert await found("sam", shopper=True) == set()
    assert await found("sam", words="back ordered") == {escalated}
    # Paginated and bounded.
    r = await rest(world, "admin", "post", "/api/v1/qa/search?limit=1", json={"words": "saddle"})
    assert len(r.json()) == 1
    assert (
        await rest(world, "admin", "post", "/api/v1/qa/search?limit=201", json={})
    ).status_code == 422
    # Agents cannot search.
    refused(await rest(world, "alice", "post", "/api/v1/qa/search", json={}), 403, "forbidden")
    # Every search is audited like the archive's.
    rows = await ok(
        world, "admin", "get", "/api/v1/admin/audit", params={"action": "archive.search"}
    )
    mine = [r for r in rows if r["details"].get("scope") == "transcripts"]
    assert len(mine) >= 12
    assert any(r["details"].get("tag") == "billing" for r in mine)


async def test_the_report_in_sql_equals_the_domain_definition(world: World) -> None:
    """Reviews on two scorecards (one edited in between), supervisors' and a spread of
    scores: the database's averages are ``domain.qa.report``'s over the same reviews."""
    from parley.domain import qa

    first = await scorecard(world)
    second = await ok(
        world,
        "admin",
        "post",
        "/api/v1/admin/qa/scorecards",
        json={
            "name": "Short",
            "categories": [
                {"key": "greeting", "name": "Hello", "weight": 2, "scale": 3},
                {"key": "tone", "name": "Tone", "weight": 1, "scale": 10, "critical": True},
            ],
        },
    )
    since = world.clock.now() - timedelta(hours=1)
    chats = [
        await served_chat(world, who, slug, "Hi")
        for who, slug in (("alice", "sales"), ("bob", "support"))
    ]
    for i in range(12):
        cid = chats[i % 2]
        who = "sam" if i % 2 == 0 else "tess"
        if i % 3 == 0:
            body = {
                "scorecard_id": second["id"],
                "scores": {"greeting": i % 4, "tone": (i * 7) % 11},
            }
        else:
            body = {
                "scorecard_id": first,
                "scores": {"greeting": i % 6, "accuracy": (i * 3) % 6, "privacy": (i * 5) % 5},
            }
        await ok(world, who, "post", f"/api/v1/qa/conversations/{cid}/reviews", json=body)
        world.clock.advance(60)
    until = world.clock.now() + timedelta(hours=1)
    reviews = await ok(world, "admin", "get", "/api/v1/qa/reviews", params={"limit": 200})
    assert len(reviews) == 12

    def card(r: dict[str, Any]) -> qa.Scorecard:
        c = r["scorecard"]
        return qa.Scorecard(
            c["name"],
            qa.Purpose(c["purpose"]),
            tuple(qa.Category(**x) for x in c["categories"]),
        )

    expected = qa.report(
        qa.Reviewed(r["agent_id"], r["agent_name"], r["shopper"], r["score"], card(r), r["scores"])
        for r in reviews
    )
    got = await ok(
        world,
        "admin",
        "get",
        "/api/v1/qa/report",
        params={"since": since.isoformat(), "until": until.isoformat()},
    )
    assert [(a["agent_name"], a["reviews"]) for a in got["agents"]] == [
        (a.agent_name, {"reviews": a.reviews.reviews, "score": a.reviews.score})
        for a in expected.agents
    ]
    assert [(c["key"], c["shopper"], c["reviews"], c["percent"]) for c in got["categories"]] == [
        (c.key, c.shopper, c.reviews, c.percent) for c in expected.categories
    ]
    assert expected.overall is not None
    assert got["overall"] == {"reviews": expected.overall.reviews, "score": expected.overall.score}
