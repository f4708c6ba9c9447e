"""A visitor on the demo site chats with Alice in the console: messages, typing, reloads and
network drops, and nothing is lost or doubled.

The README's screenshots come from ``test_visitor_and_agent_chat``. Regenerate them with
(after ``make assets``)::

    PARLEY_SCREENSHOTS=1 .venv/bin/pytest tests/browser/test_chat.py -k test_visitor_and_agent_chat

which writes ``docs/screenshots/widget.png`` and ``docs/screenshots/console.png``.
"""

from __future__ import annotations

import re

from playwright.async_api import FrameLocator, Locator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    assert_log_matches_server,
    begin_chat,
    composer,
    launcher,
    login_agent,
    message_with,
    messages,
    offer,
    open_widget,
    screenshot,
    send,
    seqs,
    start_chat,
)

# Reconnecting goes through the client's backoff (0.5 s doubling, with jitter), which runs on
# the browser's real clock; give it more than the usual 10 s.
RECONNECT_TIMEOUT_MS = 25_000


def reconnecting(scope: Page | FrameLocator) -> Locator:
    """The connection status, while it says it is reconnecting (absent or else otherwise)."""
    return scope.get_by_test_id("connection-status").filter(
        has_text=re.compile("reconnecting", re.IGNORECASE)
    )


def typing_shown(scope: Page | FrameLocator) -> Locator:
    """The typing indicator while it says someone types (it may stay in the DOM, empty)."""
    return scope.get_by_test_id("typing").filter(has_text="is typing")


async def test_visitor_and_agent_chat(demo: Demo, pages: Pages, observer: Observer) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")

    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await expect(launcher(visitor)).to_have_attribute("data-parley-status", "open")
    await expect(visitor.get_by_role("button", name="Chat with Sales", exact=True)).to_be_visible()
    await expect(visitor.locator("#parley-frame")).to_have_attribute("title", "Chat with Sales")
    await start_chat(widget, "Dana", "dana@example.com", "Do you ship to Norway?")

    # Waiting in the queue until Alice answers the offer.
    await expect(widget.get_by_test_id("queue-position")).to_contain_text("1")
    await expect(widget.get_by_role("button", name="Cancel", exact=True)).to_be_visible()
    card = offer(alice)
    for shown in ("Dana", "dana@example.com", "Do you ship to Norway?", "/demo/"):
        await expect(card).to_contain_text(shown)
    await expect(alice.get_by_test_id("offer-countdown")).to_have_text(re.compile(r"\d"))
    await accept_offer(alice, "Dana")

    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await expect(alice.get_by_role("tab", name="Dana")).to_be_visible()
    details = alice.get_by_test_id("customer-details")
    for shown in ("Dana", "dana@example.com", "Do you ship to Norway?"):
        await expect(details).to_contain_text(shown)

    # Visitor -> agent.
    await send(widget, "Hello! Is the blue bike in stock?")
    mine = message_with(widget, "Hello! Is the blue bike in stock?", "visitor")
    await expect(mine).to_have_attribute("data-status", "sent")
    await expect(mine).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    await expect(
        message_with(alice, "Hello! Is the blue bike in stock?", "visitor")
    ).to_be_visible()

    # The agent sees the visitor typing, and the visitor sees the agent typing.
    await composer(widget).fill("And what about")
    await expect(alice.get_by_test_id("typing")).to_contain_text("Dana")
    await composer(alice).fill("Let me check")
    await expect(widget.get_by_test_id("typing")).to_have_text("Alice is typing…")

    # Agent -> visitor; sending ends the typing indicator.
    await send(alice, "Yes, we have it in all sizes.")
    await expect(message_with(widget, "Yes, we have it in all sizes.", "agent")).to_be_visible()
    await expect(typing_shown(widget)).to_have_count(0)
    await send(widget, "And what about delivery to Oslo?")
    await expect(message_with(alice, "And what about delivery to Oslo?", "visitor")).to_be_visible()
    await expect(typing_shown(alice)).to_have_count(0)
    await send(alice, "Two days, free of charge.")
    await expect(message_with(widget, "Two days, free of charge.", "agent")).to_be_visible()

    await assert_log_matches_server(widget, demo)
    await assert_log_matches_server(alice, demo)

    await screenshot(visitor, "widget.png")
    await screenshot(alice, "console.png")


async def test_reload_shows_the_conversation_once(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    for i in range(3):
        await send(widget, f"Visitor line {i}")
        await expect(message_with(alice, f"Visitor line {i}", "visitor")).to_be_visible()
        await send(alice, f"Agent line {i}")
        await expect(message_with(widget, f"Agent line {i}", "agent")).to_be_visible()
    await assert_log_matches_server(widget, demo)
    before = await seqs(widget)

    await visitor.reload()
    # The chat under way opens again by itself (the launcher remembers it for this tab).
    await expect(visitor.locator("#parley-frame")).to_be_visible()
    await expect(launcher(visitor)).to_have_attribute("aria-expanded", "true")
    widget = visitor.frame_locator("#parley-frame")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await expect(messages(widget)).to_have_count(len(before))
    assert await seqs(widget) == before
    await assert_log_matches_server(widget, demo)

    # The chat goes on after the reload, both ways.
    await send(widget, "Still here after a reload")
    await expect(message_with(alice, "Still here after a reload", "visitor")).to_have_count(1)
    await send(alice, "Welcome back")
    await expect(message_with(widget, "Welcome back", "agent")).to_have_count(1)
    await assert_log_matches_server(widget, demo)
    await assert_log_matches_server(alice, demo)


async def test_visitor_network_drop_loses_and_doubles_nothing(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    await send(widget, "Before the tunnel")
    await expect(message_with(alice, "Before the tunnel", "visitor")).to_be_visible()

    await visitor.context.set_offline(True)
    assert demo.drop_connections(visitor=True) == 1
    await expect(widget.get_by_test_id("connection-status")).to_contain_text("Reconnecting…")

    await send(widget, "Typed in the tunnel")
    pending = message_with(widget, "Typed in the tunnel", "visitor")
    await expect(pending).to_have_attribute("data-status", "sending")
    await expect(pending).not_to_have_attribute("data-seq", re.compile(r".*"))
    await send(alice, "Are you still there?")
    await expect(message_with(alice, "Are you still there?", "agent")).to_be_visible()
    await expect(message_with(alice, "Typed in the tunnel")).to_have_count(0)

    await visitor.context.set_offline(False)
    await expect(pending).to_have_attribute("data-status", "sent", timeout=RECONNECT_TIMEOUT_MS)
    await expect(pending).to_have_attribute("data-seq", re.compile(r"^\d+$"))
    await expect(reconnecting(widget)).to_have_count(0)
    await expect(message_with(widget, "Are you still there?", "agent")).to_have_count(1)
    await expect(message_with(alice, "Typed in the tunnel", "visitor")).to_have_count(1)
    await expect(pending).to_have_count(1)

    await assert_log_matches_server(widget, demo)
    await assert_log_matches_server(alice, demo)


async def test_agent_network_drop_loses_and_doubles_nothing(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    _, widget, alice = await begin_chat(pages, observer)
    await send(alice, "Hello Dana")
    await expect(message_with(widget, "Hello Dana", "agent")).to_be_visible()

    await alice.context.set_offline(True)
    assert demo.drop_connections(staff="alice") >= 1
    await expect(alice.get_by_test_id("connection-status")).to_contain_text(
        "Connection lost, reconnecting…"
    )

    await send(alice, "Typed while my Wi-Fi was down")
    await send(widget, "Hello? Anyone?")
    await expect(message_with(widget, "Hello? Anyone?", "visitor")).to_have_attribute(
        "data-status", "sent"
    )
    await expect(message_with(widget, "Typed while my Wi-Fi was down")).to_have_count(0)

    await alice.context.set_offline(False)
    await expect(message_with(widget, "Typed while my Wi-Fi was down", "agent")).to_have_count(
        1, timeout=RECONNECT_TIMEOUT_MS
    )
    await expect(message_with(alice, "Hello? Anyone?", "visitor")).to_have_count(1)
    await expect(reconnecting(alice)).to_have_count(0)
    await expect(message_with(alice, "Typed while my Wi-Fi was down", "agent")).to_have_count(1)

    await assert_log_matches_server(widget, demo)
    await assert_log_matches_server(alice, demo)
