"""Transfers in the console and the widget: Alice hands a chat to Bob with a note; Bob sees who
sent it and why before accepting, then the whole chat; the visitor sees Bob take over. And a
transfer Bob declines comes back to Alice, who keeps chatting."""

from __future__ import annotations

from playwright.async_api import FrameLocator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    composer,
    login_agent,
    message_with,
    offer,
    open_widget,
    send,
    start_chat,
)

NOTE = "Wants a refund for order <b>42</b>"


async def chatting_with_alice(
    pages: Pages, observer: Observer, name: str
) -> tuple[Page, Page, FrameLocator]:
    """Alice and Bob available; a visitor's chat that Alice accepted (she was available
    first), with one message from the visitor. Returns (Alice, Bob, the widget)."""
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    bob = await pages.new("bob")
    await login_agent(bob, "bob")
    await observer.presence("bob", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, name, question="My card was charged twice")
    await accept_offer(alice, name)
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await send(widget, "Order 42, both on Monday")
    await expect(message_with(alice, "Order 42, both on Monday", "visitor")).to_be_visible()
    return alice, bob, widget


async def transfer_to_bob(alice: Page, note: str = "") -> None:
    await alice.get_by_role("button", name="Transfer", exact=True).click()
    dialog = alice.get_by_test_id("transfer-dialog")
    await expect(dialog).to_be_visible()
    await expect(dialog.get_by_label("To an agent", exact=True)).to_be_checked()
    await dialog.get_by_label("Agent", exact=True).select_option("bob")
    if note:
        await dialog.get_by_label("Note for the receiver", exact=True).fill(note)
    await dialog.get_by_role("button", name="Transfer chat", exact=True).click()
    await expect(dialog).to_have_count(0)
    await expect(alice.get_by_test_id("transfer-status")).to_contain_text("Transfer to Bob pending")


async def test_transfer_to_an_agent_with_a_note(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice, bob, widget = await chatting_with_alice(pages, observer, "Zoe Refund")
    await transfer_to_bob(alice, NOTE)

    # Bob's offer says who sends it and why, before he accepts; the note is text.
    card = offer(bob)
    await expect(card.get_by_test_id("offer-transfer")).to_contain_text("Transfer from Alice")
    await expect(card.get_by_test_id("offer-transfer-note")).to_have_text(NOTE)
    await expect(card.locator("b")).to_have_count(0)
    # Alice keeps the chat meanwhile.
    await send(alice, "One moment, a colleague will take over")
    await expect(
        message_with(widget, "One moment, a colleague will take over", "agent")
    ).to_be_visible()

    await accept_offer(bob, "Zoe Refund")
    # Bob sees the whole chat, and the note stays in the side panel.
    await expect(message_with(bob, "Order 42, both on Monday", "visitor")).to_be_visible()
    await expect(
        message_with(bob, "One moment, a colleague will take over", "agent")
    ).to_be_visible()
    handoff = bob.get_by_test_id("customer-details").get_by_test_id("handoff-note")
    await expect(handoff).to_contain_text("Transfer from Alice")
    await expect(handoff).to_contain_text(NOTE)

    # The visitor sees Bob take over, and Alice leave.
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Bob")
    await expect(message_with(widget, "Now chatting with Bob", "system")).to_be_visible()
    await expect(message_with(widget, "Alice left the chat", "system")).to_be_visible()

    # Alice's console shows the chat as handed on, without a composer.
    await expect(alice.get_by_test_id("transferred")).to_contain_text("Transferred to Bob")
    await expect(alice.get_by_role("tab")).to_contain_text("transferred")
    await expect(composer(alice)).to_have_count(0)
    await expect(alice.get_by_role("button", name="End chat", exact=True)).to_have_count(0)

    # Bob and the visitor go on.
    await send(bob, "Hi, I am refunding the second charge")
    await expect(
        message_with(widget, "Hi, I am refunding the second charge", "agent")
    ).to_be_visible()
    await send(widget, "Thanks!")
    await expect(message_with(bob, "Thanks!", "visitor")).to_be_visible()

    kinds = [e["kind"] for e in await demo.entries((await demo.only_conversation())["id"])]
    assert kinds.count("joined") == 2 and kinds.count("left") == 1, kinds


async def test_a_declined_transfer_stays_with_the_sender(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice, bob, widget = await chatting_with_alice(pages, observer, "Dee Clined")
    await transfer_to_bob(alice, "Billing question")
    await expect(offer(bob).get_by_test_id("offer-transfer")).to_contain_text("Transfer from Alice")
    await offer(bob).get_by_role("button", name="Decline", exact=True).click()
    await expect(offer(bob)).to_have_count(0)

    notice = alice.get_by_test_id("transfer-notice")
    await expect(notice).to_contain_text("Nobody accepted the transfer; the chat is still yours")
    await expect(alice.get_by_test_id("transfer-status")).to_have_count(0)
    await expect(alice.get_by_test_id("transferred")).to_have_count(0)
    await send(alice, "Still here, let me look myself")
    await expect(message_with(widget, "Still here, let me look myself", "agent")).to_be_visible()
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await notice.get_by_role("button", name="Dismiss", exact=True).click()
    await expect(notice).to_have_count(0)
    await expect(bob.get_by_role("tab")).to_have_count(0)
