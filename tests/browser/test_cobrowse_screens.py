"""Co-browsing in real browsers (issue 13, first slice): Alice sends the visitor a page of the
demo site and, with one click on the card, the visitor's page goes there; with "follow me" on,
the visitor's page follows Alice across two pages, until the visitor stops it."""

from __future__ import annotations

import re

from playwright.async_api import FrameLocator, Page, expect
from tests.browser.helpers import Demo, Observer, Pages, begin_chat


def pane(alice: Page):  # type: ignore[no-untyped-def]
    return alice.get_by_test_id("cobrowse-pane")


async def address(alice: Page, url: str) -> None:
    await pane(alice).get_by_label("Address", exact=True).fill(url)
    await pane(alice).get_by_test_id("cobrowse-send").click()


def widget_of(visitor: Page) -> FrameLocator:
    return visitor.frame_locator("#parley-frame")


async def test_the_agent_pushes_a_page_and_the_demo_site_goes_there(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    await address(alice, f"{demo.base_url}/demo/delivery.html")
    card = widget.get_by_test_id("pushed-page")
    await expect(card).to_contain_text("Alice sent you a page")
    await card.get_by_role("button", name="Open this page").click()
    await expect(visitor).to_have_url(re.compile(r"/demo/delivery\.html$"))
    await expect(visitor.get_by_role("heading", name="Delivery", exact=True)).to_be_visible()
    # The chat came along (the same tab) and the card is still in it.
    await expect(widget_of(visitor).get_by_test_id("pushed-page")).to_be_visible()
    # Another site that is not allowed is refused with the server's message.
    await address(alice, "https://evil.example/")
    await expect(pane(alice).get_by_test_id("cobrowse-error")).to_contain_text(
        "neither the customer's site nor one of the workgroup's allowed sites"
    )
    await expect(widget_of(visitor).get_by_test_id("pushed-page")).to_have_count(1)


async def test_follow_me_across_two_pages_until_the_customer_stops(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    # Checked once the server stored it (the box shows the chat's state, from its entries).
    await pane(alice).get_by_test_id("follow-me").click()
    await expect(pane(alice).get_by_test_id("follow-me")).to_be_checked()
    await expect(widget.get_by_test_id("following")).to_contain_text("Following Alice")
    await address(alice, f"{demo.base_url}/demo/delivery.html")
    await expect(visitor).to_have_url(re.compile(r"/demo/delivery\.html$"))
    await expect(widget_of(visitor).get_by_test_id("following")).to_contain_text("Following Alice")
    await address(alice, f"{demo.base_url}/demo/")
    await expect(visitor).to_have_url(re.compile(r"/demo/$"))
    banner = widget_of(visitor).get_by_test_id("following")
    await expect(banner).to_be_visible()
    await banner.get_by_role("button", name="Stop").click()
    await expect(widget_of(visitor).get_by_test_id("following")).to_have_count(0)
    await expect(pane(alice).get_by_test_id("follow-me")).not_to_be_checked()
    # Alice's next page is a card again (a push), and the visitor's page stays where it is.
    await address(alice, f"{demo.base_url}/demo/delivery.html")
    await expect(widget_of(visitor).get_by_test_id("pushed-page")).to_be_visible()
    await expect(visitor).to_have_url(re.compile(r"/demo/$"))
