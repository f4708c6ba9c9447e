"""QA in the browser. A secret shopper end to end: Sam makes a link in the console's QA screen,
the shopper opens the demo site with it and chats with Alice, who sees an ordinary chat; the
shopper scores it on the checklist in the widget; the wallboard's service level counts only the
real customer's chat, and the QA report shows the shopper's score. And a supervisor's review of
a past chat, filled beside its transcript, which the agent then sees."""

from __future__ import annotations

from playwright.async_api import Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    begin_chat,
    launcher,
    login_agent,
    message_with,
    send,
    start_chat,
)
from tests.browser.test_supervisor_screens import tile


async def qa_tab(page: Page, name: str) -> None:
    await page.get_by_role("button", name="QA", exact=True).click()
    await page.get_by_role("tab", name=name, exact=True).click()


async def test_a_shopper_chat_is_scored_and_missing_from_the_service_level(
    pages: Pages, observer: Observer
) -> None:
    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    await qa_tab(sam, "Secret shoppers")
    await sam.get_by_role("button", name="Make a link", exact=True).click()
    url = await sam.get_by_test_id("shopper-url").input_value()
    assert "/demo/#shopper=" in url

    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")

    # The shopper: the demo site with the link; the token leaves the address at once.
    shopper = await pages.new("shopper")
    await shopper.goto(url[url.index("/demo/") :])
    await expect(launcher(shopper)).to_be_visible()
    assert "shopper" not in shopper.url
    await launcher(shopper).click()
    widget = shopper.frame_locator("#parley-frame")
    await start_chat(widget, "Sally", question="Do you ship helmets?")
    await accept_offer(alice, "Sally")
    await send(alice, "Hi Sally, I am Alice. Yes, we do.")
    await expect(message_with(widget, "Yes, we do.")).to_be_visible()
    # Alice sees an ordinary chat: nothing says shopper.
    assert "shopper" not in (await alice.content()).lower()
    await widget.get_by_role("button", name="End chat", exact=True).click()
    checklist = widget.get_by_test_id("shopper-checklist")
    await expect(checklist).to_be_visible()
    for item in ("Greeted me promptly and politely", "Gave their name", "The answer was accurate"):
        await checklist.get_by_label(item).check()
    await checklist.get_by_role("button", name="Send the score", exact=True).click()
    await expect(widget.get_by_test_id("shopper-sent")).to_be_visible()

    # The wallboard: the shopper's chat is not answered, nor in the service level.
    await sam.get_by_role("button", name="Supervisor", exact=True).click()
    answered = tile(sam, "sales", "answered").get_by_test_id("tile-value")
    level = tile(sam, "sales", "service_level").get_by_test_id("tile-value")
    await expect(answered).to_have_text("0")
    await expect(level).to_have_text("\u2013")  # no value: nothing counts yet
    # A real customer's chat counts.
    customer = await pages.new("customer")
    await customer.goto("/demo/")
    await launcher(customer).click()
    await start_chat(customer.frame_locator("#parley-frame"), "Quinn", question="Red one?")
    await accept_offer(alice, "Quinn")
    await expect(answered).to_have_text("1")
    await expect(level).to_have_text("100 %")

    # The QA report: Alice's shopper score, apart from reviews (3 of 5: 60 %).
    await qa_tab(sam, "QA report")
    agents = sam.get_by_test_id("qa-report-agents")
    await expect(
        agents.get_by_role("row", name="Alice").get_by_test_id("qa-shopper-average")
    ).to_have_text("60%")


async def test_a_past_chat_is_reviewed_beside_its_transcript(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.post(
            "/api/v1/admin/qa/scorecards",
            json={
                "name": "Chat QA",
                "categories": [
                    {"key": "greeting", "name": "Greeting", "scale": 5},
                    {"key": "privacy", "name": "Privacy", "scale": 4, "critical": True},
                ],
            },
        )
        assert r.status_code == 201, r.text
    _visitor, widget, alice = await begin_chat(pages, observer, name="Dana")
    await send(alice, "Hello Dana, <b>welcome</b>")
    await widget.get_by_role("button", name="End chat", exact=True).click()

    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    await sam.get_by_role("button", name="Past chats", exact=True).click()
    await sam.get_by_label("Everyone\u2019s chats").check()
    await sam.get_by_test_id("past-chat").filter(has_text="Dana").click()
    await sam.get_by_role("button", name="Review", exact=True).click()
    panel = sam.get_by_test_id("qa-panel")
    await panel.get_by_label("Greeting score").fill("5")
    await panel.get_by_label("Privacy score").fill("1")
    # A critical category below half its scale zeroes the review.
    await expect(panel.get_by_test_id("qa-preview")).to_have_text("Score: 0%")
    await panel.get_by_label("Privacy score").fill("2")
    await expect(panel.get_by_test_id("qa-preview")).to_have_text("Score: 75%")
    await panel.get_by_label("Comment", exact=True).fill("Good <i>start</i>")
    await panel.get_by_role("button", name="Save review", exact=True).click()
    await expect(panel.get_by_test_id("qa-review-score")).to_have_text("75%")
    # The transcript stays beside it.
    await expect(sam.get_by_role("log")).to_contain_text("Hello Dana, <b>welcome</b>")

    # Alice sees her review, as text.
    await alice.get_by_role("button", name="My reviews", exact=True).click()
    mine = alice.get_by_test_id("my-review")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text("75%")
    await expect(mine).to_contain_text("Good <i>start</i>")
