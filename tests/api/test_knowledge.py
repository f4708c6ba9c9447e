"""The knowledge base through the public API, on both backends: who keeps and who reads the
articles (another workgroup's agent reads them like ones that do not exist), bad input and
markup in bodies, ranked full-text search, the suggestions beside a chat, and the widget's
public search (public articles only, rate-limited) with "this answered my question"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from tests.conftest import make_world
from tests.support import World

from parley.domain.access import StaffRole

ARTICLES = "/api/v1/kb/articles"

CORPUS = [
    ("Reset your password", "Open **Settings → Security** and choose *Forgot password*.", "public"),
    ("Refunds", "A refund is paid to your card within 30 days of the return.", "public"),
    ("Invoices", "Your invoice is in *Account → Billing*; wrong VAT? Write to billing.", "public"),
    ("Shipping to Norway", "Parcels to Oslo and the rest of Norway take 4-6 days.", "public"),
    ("Escalating a refund", "Internal: refunds over 500 EUR need a supervisor.", "internal"),
]


async def _team(world: World) -> None:
    await world.add_workgroup("support")
    await world.add_staff("root", StaffRole.ADMIN)
    await world.add_staff("sue", StaffRole.SUPERVISOR, workgroups=["sales"])
    await world.add_staff("alice", workgroups=["sales"])
    await world.add_staff("bob", workgroups=["support"])


async def _article(http: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    r = await http.post(ARTICLES, json=body)
    assert r.status_code == 201, r.text
    return dict(r.json())


async def _corpus(world: World) -> dict[str, int]:
    ids = {}
    async with world.staff_http("sue") as sue:
        for title, body, visibility in CORPUS:
            made = await _article(
                sue, workgroup="sales", title=title, body=body, visibility=visibility
            )
            ids[title] = made["id"]
    return ids


async def test_who_keeps_and_who_reads_articles(world: World) -> None:
    await _team(world)
    async with world.staff_http("sue") as sue:
        made = await _article(
            sue,
            workgroup="sales",
            title="Refunds",
            body="# Refunds\n\nWithin **30 days**.",
            category="Billing",
        )
    assert made["html"] == "<h1>Refunds</h1>\n<p>Within <strong>30 days</strong>.</p>\n"
    assert (made["visibility"], made["category"], made["editable"]) == (
        "internal",
        "Billing",
        True,
    )
    aid = made["id"]
    change = {"title": "Refunds", "body": "Changed", "visibility": "public"}
    async with world.staff_http("alice") as alice:
        seen = (await alice.get(f"{ARTICLES}/{aid}")).json()
        assert (seen["title"], seen["editable"]) == ("Refunds", False)
        r = await alice.post(ARTICLES, json={"workgroup": "sales", "title": "t", "body": "b"})
        assert r.status_code == 403
        assert (await alice.put(f"{ARTICLES}/{aid}", json=change)).status_code == 403
        assert (await alice.delete(f"{ARTICLES}/{aid}")).status_code == 403
        assert [a["id"] for a in (await alice.get(ARTICLES)).json()] == [aid]
    async with world.staff_http("bob") as bob:
        missing = await bob.get(f"{ARTICLES}/99999")
        assert missing.status_code == 404
        for r in (
            await bob.get(f"{ARTICLES}/{aid}"),
            await bob.put(f"{ARTICLES}/{aid}", json=change),
            await bob.delete(f"{ARTICLES}/{aid}"),
        ):
            assert (r.status_code, r.json()) == (404, missing.json())
        assert (await bob.get(ARTICLES)).json() == []
        assert (await bob.get(ARTICLES, params={"q": "refunds"})).json() == []
        r = await bob.get(ARTICLES, params={"workgroup": "sales"})
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no such workgroup")
        r = await bob.post(ARTICLES, json={"workgroup": "sales", "title": "t", "body": "b"})
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no such workgroup")
    async with world.staff_http("root") as root:
        r = await root.put(f"{ARTICLES}/{aid}", json=change)
        assert (r.status_code, r.json()["visibility"], r.json()["html"]) == (
            200,
            "public",
            "<p>Changed</p>\n",
        )
        assert (await root.delete(f"{ARTICLES}/{aid}")).status_code == 204
        assert (await root.get(f"{ARTICLES}/{aid}")).status_code == 404
        audited = (await root.get("/api/v1/admin/audit", params={"action": "kb"})).json()
    assert [a["action"] for a in audited] == ["kb.deleted", "kb.updated", "kb.created"]


async def test_bad_articles_and_markup_in_bodies(world: World) -> None:
    await world.add_staff("root", StaffRole.ADMIN)
    async with world.staff_http("root") as http:
        base = {"workgroup": "sales", "title": "t", "body": "b"}
        for change, message in (
            ({"title": "t" * 10_000}, "title is 1 to 200"),
            ({"title": "two\nlines"}, "one line"),
            ({"body": "   "}, "body is 1 to 50000"),
            ({"body": "x" * 50_001}, "body is 1 to 50000"),
            ({"category": "c" * 41}, "category is 0 to 40"),
        ):
            r = await http.post(ARTICLES, json={**base, **change})
            assert r.status_code == 422, (change, r.text)
            assert message in r.json()["error"]["message"], (change, r.text)
        r = await http.post(ARTICLES, json={**base, "visibility": "secret"})
        assert r.status_code == 422
        r = await http.post(ARTICLES, json={**base, "workgroup": "nope"})
        assert r.status_code == 404
        made = await _article(
            http,
            workgroup="sales",
            title="t",
            body=(
                "<script>alert(1)</script> <img src=x onerror=alert(1)> "
                "[bad](javascript:alert(1)) [good](https://help.example/x) **ok**"
            ),
        )
    html = made["html"]
    assert "<script" not in html and "<img" not in html and 'href="javascript' not in html
    assert "&lt;script&gt;" in html  # shown as text
    assert (
        '<a href="https://help.example/x" target="_blank" rel="noopener noreferrer nofollow">'
        in html
    )
    assert "<strong>ok</strong>" in html
    # The plain text (the excerpt) has no markup.
    assert "**" not in made["excerpt"] and "https://help.example" not in made["excerpt"]


async def test_search_is_ranked(world: World) -> None:
    await _team(world)
    ids = await _corpus(world)
    async with world.staff_http("alice") as alice:

        async def titles(q: str, **params: Any) -> list[str]:
            r = await alice.get(ARTICLES, params={"q": q, **params})
            assert r.status_code == 200, r.text
            by_id = {v: k for k, v in ids.items()}
            return [by_id[a["id"]] for a in r.json()]

        assert set((await titles("refund"))[:2]) == {"Refunds", "Escalating a refund"}
        assert (await titles("refunds over 500"))[0] == "Escalating a refund"
        assert (await titles("how do I reset my password?"))[0] == "Reset your password"
        assert (await titles("passw"))[0] == "Reset your password"  # the last word as a prefix
        assert (await titles("NORWAY"))[0] == "Shipping to Norway"
        assert await titles("refund", visibility="public") == ["Refunds"]
        assert await titles("the and of") == []  # nothing but stopwords
        assert await titles('" OR * NEAR( ^') == []  # no query syntax gets through
        r = await alice.get(ARTICLES, params={"q": "x" * 501})
        assert r.status_code == 422
        hits = (await alice.get(ARTICLES, params={"q": "oslo"})).json()
        assert "Oslo" in hits[0]["excerpt"]


async def test_suggestions_beside_a_chat_follow_the_customer(world: World) -> None:
    await _team(world)
    ids = await _corpus(world)
    chat = await world.open_chat(name="Dana", question="How do I reset my password?")
    cid = chat["conversation"]["id"]
    async with world.staff_http("alice") as alice:
        url = f"/api/v1/conversations/{cid}/kb/suggestions"
        first = (await alice.get(url)).json()
        assert first[0]["id"] == ids["Reset your password"]
        assert len(first) <= 3
        async with world.node.http(headers={"X-Visitor-Token": chat["visitor_token"]}) as http:
            r = await http.post(
                f"/api/v1/conversations/{cid}/messages",
                json={"client_id": "d1", "text": "Also: my invoice has the wrong VAT"},
            )
            assert r.status_code == 200, r.text
        later = [a["id"] for a in (await alice.get(url)).json()]
        assert {ids["Invoices"], ids["Reset your password"]} <= set(later)
    async with world.staff_http("bob") as bob:
        r = await bob.get(url)
        assert (r.status_code, r.json()["error"]["message"]) == (404, "no such conversation")


async def test_the_widget_finds_public_articles_only_and_a_visitor_leaves_the_queue(
    world: World,
) -> None:
    await _team(world)
    ids = await _corpus(world)
    async with world.staff_http("root") as root:
        other = await _article(
            root, workgroup="support", title="Refunds elsewhere", body="refund", visibility="public"
        )
    async with world.node.http() as http:
        r = await http.get("/api/v1/workgroups/sales/kb", params={"q": "refund"})
        assert r.status_code == 200, r.text
        found = r.json()
        assert [a["id"] for a in found] == [ids["Refunds"]]  # not the internal one
        assert set(found[0]) == {"id", "title", "category", "excerpt"}
        missing = await http.get("/api/v1/workgroups/sales/kb/99999")
        assert missing.status_code == 404
        for aid in (ids["Escalating a refund"], other["id"]):
            r = await http.get(f"/api/v1/workgroups/sales/kb/{aid}")
            assert (r.status_code, r.json()) == (404, missing.json())
        article = (await http.get(f"/api/v1/workgroups/sales/kb/{ids['Refunds']}")).json()
        assert article["html"].startswith("<p>A refund")
        assert (await http.get("/api/v1/workgroups/nope/kb", params={"q": "x"})).status_code == 404

    chat = await world.open_chat(name="Dana", question="refund?")
    cid = chat["conversation"]["id"]
    async with world.node.http(headers={"X-Visitor-Token": chat["visitor_token"]}) as http:
        r = await http.post(f"/api/v1/workgroups/sales/kb/{ids['Escalating a refund']}/answered")
        assert r.status_code == 404
        r = await http.post(f"/api/v1/workgroups/sales/kb/{ids['Refunds']}/answered")
        assert (r.status_code, r.json()) == (200, {"left_queue": True})
        conv = (await http.get(f"/api/v1/conversations/{cid}")).json()["conversation"]
        assert conv["status"] == "ended"
        # Again (the chat is over): counted, nothing left to leave.
        r = await http.post(f"/api/v1/workgroups/sales/kb/{ids['Refunds']}/answered")
        assert r.json() == {"left_queue": False}
    async with world.node.http(headers={"X-Visitor-Token": "forged"}) as http:
        r = await http.post(f"/api/v1/workgroups/sales/kb/{ids['Refunds']}/answered")
        assert r.status_code == 401
    async with world.staff_http("alice") as alice:
        assert (await alice.get(f"{ARTICLES}/{ids['Refunds']}")).json()["answered"] == 2


@asynccontextmanager
async def _limited(backend: str, tmp_path: Path) -> AsyncIterator[World]:
    worlds = make_world(
        backend,
        tmp_path,
        kb_ip_limit="3 per minute",
        kb_workgroup_limit="4 per minute",
        trusted_proxies="127.0.0.1",
    )
    world = await worlds.__anext__()
    try:
        await world.add_workgroup("sales")
        await world.add_workgroup("support")
        yield world
    finally:
        await worlds.aclose()


async def test_the_public_search_is_limited_per_address_and_per_workgroup(
    backend: str, tmp_path: Path
) -> None:
    async with _limited(backend, tmp_path) as world, world.node.http() as http:

        async def search(slug: str, ip: str) -> httpx.Response:
            return await http.get(
                f"/api/v1/workgroups/{slug}/kb",
                params={"q": "refund"},
                headers={"X-Forwarded-For": ip},
            )

        for _ in range(3):
            assert (await search("sales", "203.0.113.1")).status_code == 200
        r = await search("support", "203.0.113.1")
        assert (r.status_code, r.json()["error"]["code"]) == (429, "rate_limited")
        assert "address" in r.json()["error"]["message"]
        assert (await search("sales", "203.0.113.2")).status_code == 200
        r = await search("sales", "203.0.113.3")
        assert r.status_code == 429 and "workgroup" in r.json()["error"]["message"]
        assert (await search("support", "203.0.113.3")).status_code == 200


async def test_the_public_page_of_an_article(world: World) -> None:
    await _team(world)
    ids = await _corpus(world)
    async with world.staff_http("sue") as sue:
        tricky = await _article(
            sue,
            workgroup="sales",
            title="<b>Bold</b> & co",
            body="[x](https://help.example) <script>alert(1)</script>",
            visibility="public",
        )
    async with world.node.http() as http:
        r = await http.get(f"/help/sales/{ids['Refunds']}")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        assert "<h1>Refunds</h1>" in r.text and "<p>A refund is paid" in r.text
        assert "script-src 'self'" in r.headers["content-security-policy"]
        r = await http.get(f"/help/sales/{tricky['id']}")
        assert "<h1>&lt;b&gt;Bold&lt;/b&gt; &amp; co</h1>" in r.text
        assert "<script>" not in r.text
        for path in (f"/help/sales/{ids['Escalating a refund']}", "/help/sales/99999", "/help/x/1"):
            r = await http.get(path)
            assert r.status_code == 404 and "No such article" in r.text
