"""The Supervisor view: Sam (supervisor of sales and support in the demo) watches the wallboard
change as a chat queues and is answered, watches a chat live while the customer's page shows
nothing of it, whispers to the agent only, and barges in, which the customer sees."""

from __future__ import annotations

from playwright.async_api import Locator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    begin_chat,
    login_agent,
    message_with,
    messages,
    offer,
    open_widget,
    send,
    start_chat,
)

WHISPER = "Offer the spring voucher"


def tile(page: Page, workgroup: str, metric: str) -> Locator:
    board = page.locator(f'[data-testid="wallboard"][data-workgroup="{workgroup}"]')
    return board.locator(f'[data-testid="tile"][data-metric="{metric}"]')


def in_pane(pane: Locator, text: str) -> Locator:
    """A message with ``text`` in the monitor pane's log."""
    return pane.get_by_role("log").get_by_test_id("message").filter(has_text=text)


async def open_supervisor(page: Page) -> None:
    await login_agent(page, "sam", presence=None)
    await page.get_by_role("button", name="Supervisor", exact=True).click()
    await expect(page.get_by_role("heading", name="Supervisor", exact=True)).to_be_visible()


async def test_a_queued_chat_changes_the_wallboard(pages: Pages, observer: Observer) -> None:
    sam = await pages.new("sam")
    await open_supervisor(sam)
    waiting = tile(sam, "sales", "waiting")
    answered = tile(sam, "sales", "answered")
    await expect(waiting.get_by_test_id("tile-value")).to_have_text("0")
    await expect(answered.get_by_test_id("tile-value")).to_have_text("0")
    await expect(tile(sam, "support", "waiting")).to_have_count(1)

    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, "Quinn", question="Is the red one in stock?")
    # Queued (offered to Alice, not taken yet): the tile changes by itself, never polled.
    await expect(offer(alice)).to_contain_text("Quinn")
    await expect(waiting.get_by_test_id("tile-value")).to_have_text("1")
    await accept_offer(alice, "Quinn")
    await expect(waiting.get_by_test_id("tile-value")).to_have_text("0")
    await expect(answered.get_by_test_id("tile-value")).to_have_text("1")
    await expect(tile(sam, "sales", "service_level").get_by_test_id("tile-value")).to_have_text(
        "100 %"
    )
    live = sam.get_by_test_id("live-chat")
    await expect(live).to_have_count(1)
    await expect(live).to_contain_text("Quinn")
    await expect(live).to_contain_text("Alice")


async def test_watch_whisper_and_barge_in(demo: Demo, pages: Pages, observer: Observer) -> None:
    # Agents are told who watches (a workgroup setting); the customer never is.
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.put(
            "/api/v1/admin/workgroups/sales/supervision", json={"show_monitoring": True}
        )
        assert r.status_code == 200, r.text
    visitor, widget, alice = await begin_chat(pages, observer, name="Dana")
    sam = await pages.new("sam")
    await open_supervisor(sam)
    row = sam.get_by_test_id("live-chat").filter(has_text="Dana")
    await row.get_by_role("button", name="Watch the chat with Dana").click()
    pane = sam.get_by_test_id("monitor-pane")
    await expect(pane).to_contain_text("Watching Dana")
    # Read-only: no composer anywhere in the pane, only the labelled whisper box.
    await expect(pane.get_by_role("textbox", name="Message", exact=True)).to_have_count(0)
    await expect(pane.get_by_role("button", name="Send", exact=True)).to_have_count(0)
    whisper_box = pane.get_by_label("Whisper to the agents (the customer never sees this)")
    await expect(whisper_box).to_be_visible()
    await expect(alice.get_by_test_id("watching")).to_have_text("Sam is watching")

    # Every message, live, in the pane.
    await send(widget, "Do you have it in blue?")
    await expect(in_pane(pane, "Do you have it in blue?")).to_have_count(1)
    await send(alice, "Let me check for you.")
    await expect(in_pane(pane, "Let me check for you.")).to_have_count(1)

    # A whisper reaches Alice (marked as coaching), never the customer.
    await whisper_box.fill(WHISPER)
    await pane.get_by_role("button", name="Send whisper").click()
    coaching = alice.locator('[data-testid="message"][data-coaching="true"]')
    await expect(coaching).to_contain_text(WHISPER)
    await expect(coaching).to_contain_text("Coaching from Sam")
    await expect(in_pane(pane, WHISPER)).to_have_count(1)
    await send(alice, "Blue is in stock.")
    await expect(message_with(widget, "Blue is in stock.")).to_have_count(1)
    widget_text = await widget.locator("body").inner_text()
    for hidden in (WHISPER, "Sam", "watching", "Coaching"):
        assert hidden not in widget_text, hidden

    # After a reload, still nothing of it.
    await visitor.reload()
    # The chat under way opens again by itself (the launcher remembers it for this tab).
    await expect(visitor.locator("#parley-frame")).to_be_visible()
    widget = visitor.frame_locator("#parley-frame")
    await expect(message_with(widget, "Blue is in stock.")).to_have_count(1)
    widget_text = await widget.locator("body").inner_text()
    assert WHISPER not in widget_text and "Sam" not in widget_text

    # Barging in, after confirming: the customer sees Sam join.
    await pane.get_by_role("button", name="Barge in", exact=True).click()
    await sam.get_by_role("button", name="Yes, barge in").click()
    await expect(messages(widget, "system").filter(has_text="Sam joined")).to_have_count(1)
    await expect(sam.get_by_test_id("monitor-joined")).to_be_visible()
    await sam.get_by_role("button", name="Open in Chats").click()
    await expect(sam.get_by_role("tab", name="Dana")).to_be_visible()
    await send(sam, "Hi Dana, Sam here.")
    await expect(message_with(widget, "Hi Dana, Sam here.")).to_have_count(1)
