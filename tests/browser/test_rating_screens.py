"""Ratings end to end: a chat ends, the customer rates it 5 with a comment in the widget (a
radio group of stars, by keyboard), the thanks stays after a reload, and Alice sees the
rating in her Ratings view; from there she opens the chat, records its outcome although the
customer ended it, and marks the follow-up resolved."""

from __future__ import annotations

from playwright.async_api import expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    begin_chat,
    launcher,
    message_with,
    send,
)


async def test_the_customer_rates_and_the_agent_sees_it(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    await send(alice, "Glad to help!")
    await expect(message_with(widget, "Glad to help!", "agent")).to_be_visible()

    await widget.get_by_role("button", name="End chat", exact=True).click()
    rating = widget.get_by_test_id("rating")
    await expect(rating).to_be_visible()
    # Alice's tab of the ended chat offers its wrap-up (the outcome is not lost).
    await expect(alice.get_by_test_id("ended")).to_be_visible()
    await expect(alice.get_by_test_id("wrap-up").get_by_label("Outcome")).to_be_visible()
    stars = rating.get_by_role("radio")
    await expect(stars).to_have_count(5)
    # Keyboard: focus the first star, then the arrow keys move along the group.
    await rating.get_by_role("radio", name="1 star: very poor").focus()
    for _ in range(4):
        await visitor.keyboard.press("ArrowRight")
    await expect(rating.get_by_role("radio", name="5 stars: excellent")).to_be_checked()
    await rating.get_by_label("Anything you'd like to add? (optional)").fill("Quick & <b>kind</b>")
    await rating.get_by_role("button", name="Send rating").click()
    await expect(widget.get_by_test_id("rating-thanks")).to_have_text("Thank you for your rating!")

    # A reload does not ask again.
    await visitor.reload()
    # An ended chat does not reopen by itself (only one under way does): open the widget.
    await expect(launcher(visitor)).to_have_attribute("aria-expanded", "false")
    await launcher(visitor).click()
    widget = visitor.frame_locator("#parley-frame")
    await expect(widget.get_by_test_id("ended")).to_be_visible()
    await expect(widget.get_by_test_id("rating-thanks")).to_be_visible()
    await expect(widget.get_by_test_id("rating")).to_have_count(0)

    await alice.get_by_role("button", name="Ratings", exact=True).click()
    row = alice.get_by_test_id("rating-row")
    await expect(row).to_have_count(1)
    await expect(row).to_have_attribute("data-score", "5")
    await expect(row).to_contain_text("Quick & <b>kind</b>")
    await expect(row).to_contain_text("Dana")
    await alice.get_by_role("button", name="Open the chat with Dana").click()

    # The customer ended it: Alice records the outcome at wrap-up all the same.
    wrap = alice.get_by_test_id("wrap-up")
    await wrap.get_by_label("Outcome").select_option("follow_up")
    await wrap.get_by_role("button", name="Save outcome").click()
    await expect(wrap.get_by_test_id("wrap-up-recorded")).to_contain_text("Needs follow-up")
    await alice.get_by_role("button", name="Follow-ups", exact=True).click()
    await expect(alice.get_by_test_id("follow-up")).to_have_count(1)
    await alice.get_by_role("button", name="Mark the chat with Dana resolved").click()
    await expect(alice.get_by_test_id("follow-ups-empty")).to_be_visible()
