"""axe-core on every screen of the console and the widget: no violation of impact "serious" or
"critical" (the WCAG 2 A and AA rules axe runs by default: colour contrast, names of controls,
headings, landmarks, ...).

Every screen the console's main navigation offers is visited as an agent, a supervisor and an
admin (so that a screen added later is checked without changing this test), with a live chat and
the Team panel showing; the widget is checked closed, on its pre-chat form, waiting, chatting,
ended, and on the leave-a-message form. axe is the npm package the front end's dev dependencies
install (``frontend/node_modules/axe-core``); it is evaluated in the page over the DevTools
protocol, which the pages' CSP does not govern."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from playwright.async_api import Frame, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    begin_chat,
    launcher,
    login_agent,
    start_chat,
)

AXE = Path(__file__).resolve().parents[2] / "frontend" / "node_modules" / "axe-core" / "axe.min.js"

#: What axe reports, per screen: the two worst impacts fail the test, and the rules named here
#: whatever their impact (a page without a top-level heading is "moderate").
FAILING = ("serious", "critical")
ALSO = ("page-has-heading-one",)

RUN = """async ([failing, also]) => {
  const result = await axe.run(document, { resultTypes: ["violations"] });
  return result.violations
    .filter((v) => failing.includes(v.impact) || also.includes(v.id))
    .map((v) => ({
      rule: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => n.target.join(" ") + ": " + n.failureSummary),
    }));
}"""


async def violations(target: Page | Frame) -> list[dict[str, Any]]:
    if not await target.evaluate("() => typeof axe !== 'undefined'"):
        await target.evaluate(AXE.read_text())
    found: list[dict[str, Any]] = await target.evaluate(RUN, [list(FAILING), list(ALSO)])
    return found


async def check(target: Page | Frame, screen: str, report: dict[str, list[dict[str, Any]]]) -> None:
    found = await violations(target)
    if found:
        report[screen] = found


def assert_clean(report: dict[str, list[dict[str, Any]]]) -> None:
    assert not report, "axe found serious or critical violations:\n" + json.dumps(report, indent=1)


async def widget_frame(page: Page) -> Frame:
    handle = await page.locator("#parley-frame").element_handle()
    assert handle is not None
    frame = await handle.content_frame()
    assert frame is not None
    return frame


async def every_screen(page: Page, who: str, report: dict[str, list[dict[str, Any]]]) -> None:
    """Each button of the console's main navigation, in turn."""
    nav = page.get_by_role("navigation", name="Main")
    names = [n.strip() for n in await nav.get_by_role("button").all_inner_texts()]
    assert names, "no main navigation"
    for name in names:
        await nav.get_by_role("button", name=name, exact=True).click()
        await expect(nav.get_by_role("button", name=name, exact=True)).to_have_attribute(
            "aria-current", "page"
        )
        await check(page, f"console {who}: {name}", report)


async def test_console_screens(demo: Demo, pages: Pages, observer: Observer) -> None:
    report: dict[str, list[dict[str, Any]]] = {}
    login = await pages.new("nobody")
    await login.goto("/console/")
    await expect(login.get_by_label("Username", exact=True)).to_be_visible()
    await check(login, "console: login", report)

    # Alice with a live chat open (and the Team panel beside it).
    _visitor, _widget, alice = await begin_chat(pages, observer)
    await check(alice, "console alice: a live chat", report)
    # The dialogs opened from the chat and from the Team panel.
    for button in ("Transfer", "Invite"):
        await alice.get_by_role("button", name=button, exact=True).click()
        dialog = alice.get_by_role("dialog")
        await expect(dialog).to_be_visible()
        await check(alice, f"console alice: the {button} dialog", report)
        await alice.keyboard.press("Escape")
        if await dialog.count():
            await dialog.get_by_role("button", name="Cancel", exact=True).click()
        await expect(dialog).to_have_count(0)
    await alice.get_by_role("button", name="New message", exact=True).click()
    await expect(alice.get_by_role("dialog", name="New message")).to_be_visible()
    await check(alice, "console alice: the New message dialog", report)
    await alice.keyboard.press("Escape")
    await every_screen(alice, "alice", report)

    for who in ("sam", "admin"):
        page = await pages.new(who)
        await login_agent(page, who, presence=None)
        await every_screen(page, who, report)
    assert_clean(report)


async def test_widget_screens(demo: Demo, pages: Pages, observer: Observer) -> None:
    report: dict[str, list[dict[str, Any]]] = {}
    visitor = await pages.new("visitor")
    await visitor.goto("/demo/")
    await expect(launcher(visitor)).to_be_visible()
    await check(visitor, "demo site, widget closed", report)
    await launcher(visitor).click()
    await expect(visitor.locator("#parley-frame")).to_be_visible()
    frame = await widget_frame(visitor)
    # Nobody is available: the leave-a-message form (or the pre-chat form, if the demo queues).
    await expect(frame.locator("form")).to_be_visible()
    await check(frame, "widget: first form, nobody available", report)

    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    await visitor.reload()
    await launcher(visitor).click()
    frame = await widget_frame(visitor)
    await expect(frame.get_by_role("button", name="Start chat", exact=True)).to_be_visible()
    await check(frame, "widget: pre-chat form", report)
    widget = visitor.frame_locator("#parley-frame")
    await start_chat(widget, "Dana", "dana@example.com", "Do you ship to Norway?")
    await expect(alice.get_by_test_id("offer")).to_be_visible()
    await check(frame, "widget: waiting", report)
    await alice.get_by_test_id("offer").get_by_role("button", name="Accept", exact=True).click()
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await widget.get_by_role("textbox", name="Message", exact=True).fill("Hello")
    await widget.get_by_role("button", name="Send", exact=True).click()
    await expect(alice.get_by_role("log").get_by_text("Hello")).to_be_visible()
    await check(frame, "widget: chatting", report)
    await widget.get_by_role("button", name="End chat").first.click()
    await expect(widget.get_by_text("Chat ended").first).to_be_visible()
    await check(frame, "widget: ended", report)
    assert_clean(report)
