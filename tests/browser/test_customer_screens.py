"""Browser tests of issue 12's customer pieces: the transcript a customer asks for by email on
the ended screen reaches the SMTP server without the private note, and a customer who closes the
tab is shown as gone and their chat ends by itself, freeing the agent's slot (fake clock)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    begin_chat,
    chat_log,
    offer,
    open_widget,
    run_demo_node,
    send,
    start_chat,
)
from tests.smtp import SmtpSink, smtp_server

from parley.web.pages import STATIC

GRACE_SECS = 30  # settings.visitor_grace_secs, by default
IDLE_SECS = 60


@pytest.fixture
async def smtp() -> AsyncIterator[SmtpSink]:
    async with smtp_server() as sink:
        yield sink


async def test_the_transcript_email_reaches_the_smtp_server_without_private_notes(
    browser: Browser, tmp_path: Path, smtp: SmtpSink
) -> None:
    if not (STATIC / "widget.js").exists():
        pytest.fail("the web front ends are not built: run `make assets`")
    async with run_demo_node(
        tmp_path, smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_security="none"
    ) as demo:
        pages = Pages(browser, demo.base_url)
        try:
            async with Observer.connect(demo) as observer:
                visitor, widget, alice = await begin_chat(pages, observer)
                await send(widget, "Can I pay by invoice?")
                await expect(chat_log(alice)).to_contain_text("Can I pay by invoice?")
                await send(alice, "Yes, up to 30 days.")
                await alice.get_by_label("Private note", exact=True).check()
                await send(alice, "SECRET-NOTE: check her credit")
                await expect(chat_log(alice)).to_contain_text("SECRET-NOTE")
                await alice.get_by_role("button", name="End chat", exact=True).click()
                form = widget.get_by_test_id("transcript-email")
                await expect(form).to_be_visible()
                # The email typed into the pre-chat form is offered; it is only where to send.
                field = form.get_by_label("Email me the transcript", exact=True)
                await expect(field).to_have_value("dana@example.com")
                await field.fill("dana.home@example.com")
                await form.get_by_role("button", name="Send", exact=True).click()
                await expect(widget.get_by_test_id("transcript-email-sent")).to_have_text(
                    "The transcript is on its way to dana.home@example.com."
                )
                mail = await smtp.next()
                assert mail.rcpt_tos == ["dana.home@example.com"]
                raw = mail.raw.decode("utf-8", "replace")
                assert "SECRET-NOTE" not in raw
                plain = mail.message.get_body(("plain",))
                assert plain is not None
                text = str(plain.get_content())
                assert "Do you ship to Norway?" in text  # the opening question
                assert "Can I pay by invoice?" in text and "Yes, up to 30 days." in text
                assert visitor is not None
        finally:
            for context in pages.contexts:
                await context.close()


async def test_a_customer_leaving_is_shown_and_the_slot_freed(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.put(
            "/api/v1/admin/workgroups/sales",
            json={"name": "Sales", "max_chats": 1, "customer_idle_secs": IDLE_SECS},
        )
        assert r.status_code == 200, r.text
    visitor, widget, alice = await begin_chat(pages, observer)
    # Dana's sockets, before anyone else's (the server's side of them).
    dana = [c for c in demo.parley.hub.connections if c.audience == "visitor"]
    await send(widget, "One moment, please")
    await expect(chat_log(alice)).to_contain_text("One moment, please")
    # A second customer waits: alice has no free slot.
    other = await pages.new("second visitor")
    second = await open_widget(other)
    await start_chat(second, "Yan", question="Opening hours?")
    await expect(second.get_by_test_id("queue-position")).to_be_visible()
    await expect(offer(alice)).to_have_count(0)

    # Dana closes the tab.
    await visitor.close()
    for conn in dana:
        await conn.closed.wait()
    demo.clock.advance(GRACE_SECS)
    await expect(chat_log(alice)).to_contain_text(
        "Dana left (closed the page or lost the connection)"
    )
    await expect(alice.get_by_test_id("customer-left")).to_be_visible()  # in the chat list
    await expect(alice.get_by_test_id("customer-gone")).to_have_text("Customer left")
    demo.clock.advance(IDLE_SECS)
    await expect(chat_log(alice)).to_contain_text("Chat ended: the customer left")
    # The slot is free: Yan is offered to alice at once.
    await accept_offer(alice, "Yan")
