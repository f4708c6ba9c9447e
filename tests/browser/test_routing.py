"""Offers in the console: one that times out, or is declined, goes to the next agent."""

from __future__ import annotations

import re

from playwright.async_api import FrameLocator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    login_agent,
    offer,
    open_widget,
    start_chat,
)

OFFER_TIMEOUT_SECS = 30  # the demo workgroups' default


async def two_agents_and_a_visitor(
    pages: Pages, observer: Observer, name: str
) -> tuple[Page, Page, FrameLocator]:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    bob = await pages.new("bob")
    await login_agent(bob, "bob")
    await observer.presence("bob", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, name, question="Which frame size for 1.80 m?")
    # Equal load, so the agent who has been available longest, Alice, gets the offer.
    await expect(offer(alice)).to_contain_text(name)
    await expect(offer(bob)).to_have_count(0)
    return alice, bob, widget


async def test_offer_that_times_out_goes_to_the_next_agent(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice, bob, widget = await two_agents_and_a_visitor(pages, observer, "Tim Out")
    # Seconds left, at most the 30 s of the offer (the count runs on the browser's real clock).
    await expect(alice.get_by_test_id("offer-countdown")).to_have_text(
        re.compile(r"^\D*([1-9]|[12]\d|30)\D*$")
    )

    demo.clock.advance(OFFER_TIMEOUT_SECS - 1)
    await expect(offer(bob)).to_have_count(0)
    await expect(offer(alice)).to_have_count(1)
    demo.clock.advance(1)

    await expect(offer(alice)).to_have_count(0)
    await expect(offer(bob)).to_contain_text("Tim Out")
    await expect(offer(bob)).to_contain_text("Which frame size for 1.80 m?")
    await accept_offer(bob, "Tim Out")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Bob")
    await expect(offer(alice)).to_have_count(0)


async def test_declined_offer_goes_to_the_next_agent(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice, bob, widget = await two_agents_and_a_visitor(pages, observer, "Dee Clined")
    await offer(alice).get_by_role("button", name="Decline", exact=True).click()

    await expect(offer(alice)).to_have_count(0)
    await expect(offer(bob)).to_contain_text("Dee Clined")
    await accept_offer(bob, "Dee Clined")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Bob")
    await expect(offer(alice)).to_have_count(0)
