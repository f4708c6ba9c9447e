"""Invitations in the console: alice invites bob with a note, bob accepts and reads the
transcript, writes a private note the widget never shows, talks to the customer, and leaves."""

from __future__ import annotations

from playwright.async_api import expect
from tests.browser.helpers import (
    Observer,
    Pages,
    accept_offer,
    login_agent,
    message_with,
    messages,
    open_widget,
    send,
    start_chat,
)

SECRET = "Refund code 7731, internal only"


async def test_invite_a_colleague_who_writes_a_private_note_and_leaves(
    pages: Pages, observer: Observer
) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    bob = await pages.new("bob")
    await login_agent(bob, "bob", presence=None)  # not available: no offers, still invitable
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, "Ivy Vite", question="Can I return a bike?")
    await accept_offer(alice, "Ivy Vite")
    await send(widget, "Hello there")
    await expect(message_with(alice, "Hello there")).to_have_count(1)

    await alice.get_by_role("button", name="Invite", exact=True).click()
    dialog = alice.get_by_role("dialog", name="Invite a colleague")
    bob_option = await dialog.locator("option", has_text="(bob,").text_content()
    assert bob_option
    await dialog.get_by_label("Colleague").select_option(label=bob_option)
    await dialog.get_by_label("Note for them").fill("Return policy for used bikes?")
    await dialog.get_by_role("button", name="Send invitation").click()
    await expect(alice.get_by_test_id("invitation-sent")).to_contain_text("Bob")

    card = bob.get_by_test_id("invitation")
    await expect(card).to_contain_text("Alice invites you to help")
    await expect(card.get_by_test_id("invitation-note")).to_have_text(
        "Return policy for used bikes?"
    )
    await card.get_by_role("button", name="Accept invitation").click()
    await expect(card).to_have_count(0)
    # The whole transcript, from before bob came in.
    await expect(message_with(bob, "Hello there")).to_have_count(1)
    await expect(alice.get_by_test_id("invitation-sent")).to_have_count(0)

    await bob.get_by_label("Private note").check()
    await send(bob, SECRET)
    for page in (alice, bob):
        note = page.locator('[data-testid="message"][data-private="true"]')
        await expect(note).to_contain_text(SECRET)
        await expect(note).to_contain_text("Note — only staff see this")
    await bob.get_by_label("Private note").uncheck()
    await send(bob, "Bob here, used bikes can be returned within 14 days.")
    await expect(message_with(widget, "within 14 days")).to_have_count(1)
    # The widget shows nothing of the note, not even a placeholder.
    assert SECRET not in await widget.locator("body").inner_text()
    shown = [await m.get_attribute("data-seq") for m in await messages(widget).all()]
    assert len(shown) == len(set(shown))
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")

    await bob.get_by_role("button", name="Leave chat").click()
    await expect(widget.get_by_role("log")).to_contain_text("Bob left")
    await expect(bob.get_by_role("button", name="Close", exact=True)).to_be_visible()
    assert SECRET not in await widget.locator("body").inner_text()
