"""The launcher on the demo site says whether anyone is available, and follows changes.

The launcher polls ``/api/v1/workgroups/sales/status`` every 30 s of real time. Rather than
wait, the test installs Playwright's fake clock in the visitor's page and fast-forwards it by
30 s, which fires the real polling timer; a page loaded afterwards shows the new state at once.
"""

from __future__ import annotations

from playwright.async_api import expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    launcher,
    login_agent,
    set_presence,
)

POLL_MS = 30_000


async def test_launcher_shows_offline_then_open(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor = await pages.new("visitor")
    await visitor.clock.install()
    await visitor.goto("/demo/")
    button = visitor.get_by_role("button", name="Chat with Sales", exact=True)
    await expect(button).to_have_attribute("data-parley-status", "closed")
    await expect(button).to_contain_text("offline")
    await expect(button).to_have_id("parley-launcher")

    # Opening it while nobody is available says so, instead of offering a form.
    await button.click()
    frame = visitor.locator("#parley-frame")
    await expect(frame).to_have_attribute("title", "Chat with Sales")
    widget = visitor.frame_locator("#parley-frame")
    await expect(widget.get_by_test_id("unavailable")).to_be_visible()
    await expect(widget.get_by_role("button", name="Start chat", exact=True)).to_have_count(0)

    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    await expect(launcher(visitor)).to_have_attribute("data-parley-status", "closed")
    await visitor.clock.fast_forward(POLL_MS)
    await expect(launcher(visitor)).to_have_attribute("data-parley-status", "open")
    await expect(launcher(visitor)).not_to_contain_text("offline")
    await expect(button).to_be_visible()

    # A page loaded now shows it open straight away.
    other = await pages.new("another visitor")
    await other.goto("/demo/")
    await expect(launcher(other)).to_have_attribute("data-parley-status", "open")

    # And back: Alice goes away.
    await set_presence(alice, "Away")
    await observer.presence("alice", "away")
    await visitor.clock.fast_forward(POLL_MS)
    await expect(launcher(visitor)).to_have_attribute("data-parley-status", "closed")
    await expect(launcher(visitor)).to_contain_text("offline")
