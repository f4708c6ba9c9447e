"""What visitors and agents type is shown as text, never run as HTML, in both apps."""

from __future__ import annotations

from playwright.async_api import expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    chat_log,
    login_agent,
    message_with,
    offer,
    open_widget,
    send,
    start_chat,
)

PAYLOAD = "<img src=x onerror=alert(1)>"
INJECTED = 'img[src="x"]'


async def test_markup_from_users_is_shown_as_text(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, PAYLOAD, "xss@example.com", PAYLOAD)

    await expect(offer(alice)).to_contain_text(PAYLOAD)
    await expect(offer(alice).locator(INJECTED)).to_have_count(0)
    await accept_offer(alice, PAYLOAD)
    await expect(alice.get_by_role("tab", name=PAYLOAD)).to_be_visible()
    details = alice.get_by_test_id("customer-details")
    await expect(details).to_contain_text(PAYLOAD)

    await send(widget, PAYLOAD)
    await expect(message_with(widget, PAYLOAD, "visitor")).to_have_attribute("data-status", "sent")
    await expect(message_with(alice, PAYLOAD, "visitor")).to_be_visible()
    await send(alice, PAYLOAD + " (agent)")
    await expect(message_with(widget, PAYLOAD + " (agent)", "agent")).to_be_visible()
    await expect(message_with(alice, PAYLOAD + " (agent)", "agent")).to_be_visible()

    # The literal text is on screen, and no element was made of it anywhere.
    await expect(alice.get_by_text(PAYLOAD, exact=True).first).to_be_visible()
    await expect(widget.get_by_text(PAYLOAD, exact=True).first).to_be_visible()
    for scope in (alice, widget, visitor):
        await expect(scope.locator(INJECTED)).to_have_count(0)
    for part in (chat_log(alice), chat_log(widget), details, offer(alice)):
        await expect(part.locator("[onerror]")).to_have_count(0)
    assert not pages.dialogs, pages.dialogs


async def test_an_admin_unlocks_an_account_locked_by_failed_logins(
    demo: Demo, pages: Pages
) -> None:
    async with demo.node.http() as http:
        for _ in range(demo.parley.rules.login_failures.amount):
            r = await http.post(
                "/api/v1/auth/login", json={"username": "alice", "password": "not the password"}
            )
            assert r.status_code == 401, r.text
    alice = await pages.new("alice")
    await alice.goto("/console/")
    await alice.get_by_label("Username", exact=True).fill("alice")
    await alice.get_by_label("Password", exact=True).fill("demo")
    await alice.get_by_role("button", name="Log in", exact=True).click()
    await expect(alice.get_by_role("alert")).to_contain_text("too many failed logins")

    admin = await pages.new("admin")
    await login_agent(admin, "admin", presence=None)
    await admin.get_by_role("button", name="Admin", exact=True).click()
    await admin.get_by_role("button", name="Unlock login of alice", exact=True).click()
    await expect(admin.get_by_text("alice is unlocked and can log in again.")).to_be_visible()
    await login_agent(alice, "alice", presence=None)
