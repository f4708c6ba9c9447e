"""Leave a message in the browser: a closed workgroup shows the leave-a-message form instead of
the pre-chat form; the message arrives at a real SMTP server and in the console's inbox, live."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from tests.browser.helpers import Pages, login_agent, open_widget, run_demo_node
from tests.smtp import SmtpSink, smtp_server

from parley.domain.hours import parse_hours
from parley.services.inbox import HoursSettings
from parley.web.pages import STATIC


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_server() as sink:
        yield sink


async def test_closed_workgroup_takes_a_message_to_smtp_and_the_inbox(
    browser: Browser, tmp_path: Path, smtp: SmtpSink
) -> None:
    if not (STATIC / "widget.js").exists():
        pytest.fail("the web front ends are not built: run `make assets`")
    async with run_demo_node(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    ) as demo:
        pages = Pages(browser, demo.base_url)
        try:
            # Closed by hand, although Alice is available: closed wins.
            await demo.parley.inbox.set_hours(
                None,
                "sales",
                HoursSettings(
                    parse_hours("UTC", {}, closed_by_hand=True), email="sales@example.com"
                ),
            )
            alice = await pages.new("alice")
            await login_agent(alice, "alice")
            await alice.get_by_role("button", name="Inbox", exact=True).click()
            await expect(alice.get_by_test_id("inbox-empty")).to_be_visible()

            visitor = await pages.new("visitor")
            widget = await open_widget(visitor)
            await expect(widget.get_by_test_id("unavailable")).to_have_text(
                "We're closed right now."
            )
            await expect(widget.get_by_role("button", name="Start chat")).to_have_count(0)
            await widget.get_by_label("Name", exact=True).fill("Dana <b>Doe</b>")
            await widget.get_by_label("Email", exact=True).fill("dana@example.com")
            await widget.get_by_label("Your message", exact=True).fill("Do you ship to Norway?")
            await widget.get_by_role("button", name="Send message", exact=True).click()
            await expect(widget.get_by_test_id("message-sent")).to_be_visible()

            mail = await smtp.next()
            assert mail.rcpt_tos == ["sales@example.com"]
            assert mail.message["Reply-To"] == '"Dana <b>Doe</b>" <dana@example.com>'
            assert "Do you ship to Norway?" in mail.message.get_content()

            # Alice's inbox shows it without a reload; she takes it, replies and marks it done.
            item = alice.get_by_test_id("left-message")
            await expect(item).to_contain_text("Dana <b>Doe</b>")
            await expect(item).to_contain_text("Do you ship to Norway?")
            await item.get_by_role("button", name="Take", exact=True).click()
            await expect(alice.get_by_test_id("left-message")).to_have_count(0)  # not new
            await alice.get_by_label("Show", exact=True).select_option(label="Taken")
            await expect(item.get_by_test_id("left-message-state")).to_contain_text(
                "Taken by Alice"
            )
            reply = item.get_by_role("link", name="Reply by email", exact=True)
            assert (await reply.get_attribute("href") or "").startswith(
                "mailto:dana%40example.com?"
            )
            await item.get_by_role("button", name="Mark done", exact=True).click()
            await expect(alice.get_by_test_id("left-message")).to_have_count(0)
        finally:
            for context in pages.contexts:
                await context.close()
        assert not pages.dialogs, pages.dialogs
