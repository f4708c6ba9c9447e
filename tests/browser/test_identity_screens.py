"""A signed-in customer on the demo site's account page: the page hands the widget the token its
backend signed (``data-identity``), the token stays out of every URL a server sees, and the agent
sees a verified customer; an anonymous visitor shows as not verified."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    launcher,
    login_agent,
    start_chat,
)


async def test_a_signed_in_customer_is_verified_for_the_agent(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")

    visitor = await pages.new("visitor")
    requested: list[str] = []
    visitor.on("request", lambda r: requested.append(r.url))
    await visitor.goto("/demo/account.html")
    await launcher(visitor).click()
    frame = visitor.locator("#parley-frame")
    await expect(frame).to_be_visible()
    # The token reaches the chat app in the fragment, never in a query string.
    src = urlsplit(str(await frame.get_attribute("src")))
    assert "identity" not in src.query and src.fragment.startswith("identity=")
    widget = visitor.frame_locator("#parley-frame")
    await expect(widget.get_by_test_id("signed-in")).to_have_text("You are signed in as Dana Berg.")
    await expect(widget.get_by_label("Name", exact=True)).to_have_value("Dana Berg")
    await start_chat(widget, "Dana Berg", question="Is my warranty still valid?")

    await accept_offer(alice, "Dana Berg")
    identity = alice.get_by_test_id("customer-details").get_by_test_id("identity")
    await expect(identity).to_have_attribute("data-verified", "true")
    await expect(identity).to_contain_text("Verified")
    await expect(identity).to_contain_text("cust-1042")
    token = src.fragment.removeprefix("identity=")
    assert not [u for u in requested if token[:40] in u], "the identity token was in a URL"
    (conversation,) = await demo.conversations()
    assert conversation["customer"]["sub"] == "cust-1042"

    # An anonymous visitor on the plain site: not verified, whatever email they type.
    other = await pages.new("anonymous visitor")
    await other.goto("/demo/")
    await launcher(other).click()
    anon = other.frame_locator("#parley-frame")
    await expect(anon.get_by_test_id("signed-in")).to_have_count(0)
    await start_chat(anon, "Eve", "dana@example.com", "What did I order?")
    await accept_offer(alice, "Eve")
    details = alice.get_by_test_id("customer-details")
    await expect(details.get_by_test_id("identity")).to_have_attribute("data-verified", "false")
    await expect(details.get_by_test_id("identity")).to_contain_text("Not verified")
    await expect(details.get_by_test_id("earlier-conversations")).to_contain_text("None")
