"""The agent's workspace in real browsers: Alice types ``/ref`` in the reply box, picks a canned
response with the customer's name filled in, edits it and sends it; a suggested article is
inserted into the chat; the widget's help search finds a public article and not an internal
one, and a waiting visitor whose question it answered leaves the queue.

(The demo routes questions about refunds to Bob's billing queue: the chats here ask for their
"money back", so that Alice gets them.)"""

from __future__ import annotations

import re
from typing import Any

from playwright.async_api import expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    begin_chat,
    composer,
    login_agent,
    message_with,
    offer,
    open_widget,
    start_chat,
)


async def _as_admin(demo: Demo, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.request(method, f"/api/v1{path}", json=body)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())


async def _articles(demo: Demo) -> tuple[dict[str, Any], dict[str, Any]]:
    public = await _as_admin(
        demo,
        "POST",
        "/kb/articles",
        {
            "workgroup": "sales",
            "title": "Refunds",
            "body": "A **refund** (your money back) is paid to your card within 30 days"
            " of the return.",
            "visibility": "public",
        },
    )
    internal = await _as_admin(
        demo,
        "POST",
        "/kb/articles",
        {
            "workgroup": "sales",
            "title": "Refund escalation",
            "body": "Internal: refunds over 500 EUR need a supervisor.",
            "visibility": "internal",
        },
    )
    return public, internal


async def test_slash_ref_inserts_a_canned_response_for_editing(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await _as_admin(
        demo,
        "POST",
        "/canned",
        {
            "scope": "workgroup",
            "workgroup": "sales",
            "shortcut": "refund",
            "title": "Refund policy",
            "text": "Hi {customer.first_name|there}, refunds take up to 30 days.",
            "category": "Billing",
        },
    )
    public, _ = await _articles(demo)
    _, widget, alice = await begin_chat(
        pages, observer, name="Dana Scully", question="How do I get my money back?"
    )
    box = composer(alice)
    await box.click()
    await box.press_sequentially("/ref")
    picker = alice.get_by_test_id("canned-picker")
    option = picker.get_by_role("option").filter(has_text="/refund")
    await expect(option).to_be_visible()
    await expect(option).to_have_attribute("aria-selected", "true")
    await box.press("Enter")
    await expect(box).to_have_value("Hi Dana, refunds take up to 30 days.")
    await expect(picker).to_have_count(0)
    # Nothing was sent: the visitor has no message from Alice yet.
    await expect(widget.locator('[data-testid="message"][data-author="agent"]')).to_have_count(0)
    await box.press("End")
    await box.press_sequentially(" Anything else?")
    await box.press("Enter")
    sent = "Hi Dana, refunds take up to 30 days. Anything else?"
    await expect(message_with(widget, sent, "agent")).to_be_visible()
    await expect(box).to_have_value("")

    # The article suggested for the customer's question, inserted as a link.
    suggestion = alice.get_by_test_id("kb-suggestion").filter(has_text="Refunds")
    await expect(suggestion.first).to_be_visible()
    await suggestion.first.get_by_role("button", name="Insert link").click()
    await expect(box).to_have_value(re.compile(rf"/help/sales/{public['id']}$"))
    await box.press("Enter")
    link = message_with(widget, f"/help/sales/{public['id']}", "agent")
    await expect(link).to_be_visible()
    page = await pages.new("reader")
    await page.goto(f"/help/sales/{public['id']}")
    await expect(page.get_by_role("heading", name="Refunds")).to_be_visible()
    await expect(page.locator("strong")).to_have_text("refund")

    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        listed = (await http.get("/api/v1/canned")).json()
    assert [c["uses"] for c in listed if c["shortcut"] == "refund"] == [1]


async def test_the_widget_finds_public_articles_and_a_waiting_visitor_leaves_the_queue(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    public, internal = await _articles(demo)
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")

    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    # Before the chat: search the help articles.
    await widget.get_by_role("button", name="Search our help articles").click()
    await widget.get_by_label("Search our help articles").fill("refund")
    results = widget.get_by_test_id("help-results")
    await expect(results.get_by_role("button").filter(has_text="Refunds")).to_be_visible()
    await expect(results).not_to_contain_text("escalation")
    await expect(results.get_by_role("button")).to_have_count(1)
    await widget.get_by_role("button", name="Hide help articles").click()

    # Waiting in the queue (Alice does not accept yet): the question's articles, one answers it.
    await start_chat(widget, "Dana", question="money back for my order")
    await expect(offer(alice)).to_contain_text("Dana")
    await expect(widget.get_by_test_id("queue-position")).to_contain_text("1")
    await widget.get_by_role("button", name="Search our help articles").click()
    await results.get_by_role("button").filter(has_text="Refunds").click()
    article = widget.get_by_test_id("help-article")
    await expect(article.locator("strong")).to_have_text("refund")
    await widget.get_by_role("button", name="This answered my question").click()
    await expect(widget.get_by_test_id("ended")).to_be_visible()
    await expect(offer(alice)).to_have_count(0)
    conversation = await demo.only_conversation()
    assert conversation["status"] == "ended"
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        stored = (await http.get(f"/api/v1/kb/articles/{public['id']}")).json()
        hidden = await http.get(f"/api/v1/workgroups/sales/kb/{internal['id']}")
    assert stored["answered"] == 1
    assert hidden.status_code == 404
