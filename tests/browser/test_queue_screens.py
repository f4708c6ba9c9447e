"""Queues, rules, skills and strategies in the console: rules pick the German billing queue and
its skilled agent, a request nobody takes fails over to the backup queue, a broadcast offer
disappears from everyone else when one agent accepts, manual pick from the waiting list, and the
rule tester. The routing setup goes through the REST API (the admin's); only the tests about the
routing screen click through it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from playwright.async_api import FrameLocator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    chat_log,
    login_agent,
    offer,
    open_widget,
    screenshot,
    start_chat,
)

GERMAN_BILLING = {
    "all": [
        {"field": "product", "op": "equals", "value": "billing"},
        {"field": "language", "op": "equals", "value": "de"},
    ]
}
#: Scroll the console's content so that an element is at its top (for the screenshot).
SCROLL_TO_TOP = """el => {
  const box = el.closest(".content");
  box.scrollTop += el.getBoundingClientRect().top - box.getBoundingClientRect().top - 12;
}"""
EXTRA_FIELDS = [
    {"name": "product", "label": "Product", "required": False},
    {"name": "language", "label": "Language", "required": False},
]


@asynccontextmanager
async def admin_api(demo: Demo) -> AsyncIterator[httpx.AsyncClient]:
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        yield http


async def call(demo: Demo, method: str, path: str, body: Any = None) -> Any:
    async with admin_api(demo) as http:
        r = await http.request(method, f"/api/v1{path}", json=body)
    assert r.status_code < 300, r.text
    return None if r.status_code == 204 else r.json()


async def configure_sales(demo: Demo, **settings: Any) -> None:
    """PUT the sales workgroup's settings (PUT replaces them all: name and fields included)."""
    await call(demo, "PUT", "/admin/workgroups/sales", {"name": "Sales", **settings})


async def add_queue(demo: Demo, **queue: Any) -> None:
    await call(demo, "POST", "/admin/workgroups/sales/queues", queue)


async def set_rules(demo: Demo, *rules: dict[str, Any]) -> None:
    await call(demo, "PUT", "/admin/workgroups/sales/rules", {"rules": list(rules)})


async def set_skills(demo: Demo, username: str, **skills: int) -> None:
    await call(demo, "PUT", f"/admin/users/{username}/routing", {"skills": skills})


async def set_default_strategy(demo: Demo, strategy: str) -> None:
    body = {"name": "default", "strategy": strategy}
    await call(demo, "PUT", "/admin/workgroups/sales/queues/default", body)


async def agents(pages: Pages, observer: Observer, *names: str) -> list[Page]:
    """Log each agent into the console, available, and wait until the server knows it."""
    consoles = []
    for name in names:
        page = await pages.new(name)
        await login_agent(page, name)
        await observer.presence(name, "available")
        consoles.append(page)
    return consoles


async def visitor_chat(pages: Pages, name: str, question: str, **extra: str) -> FrameLocator:
    """A visitor on the demo site starts a chat, answering the extra fields by their label."""
    page = await pages.new("visitor")
    widget = await open_widget(page)
    for label, value in extra.items():
        await widget.get_by_label(label).fill(value)
    await start_chat(widget, name, question=question)
    return widget


async def test_rules_send_a_german_billing_question_to_the_skilled_agent(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await configure_sales(demo, form_fields=EXTRA_FIELDS)
    await add_queue(demo, name="billing-de", skills={"billing": 2, "german": 3})
    await set_rules(
        demo, {"name": "German billing", "condition": GERMAN_BILLING, "queue": "billing-de"}
    )
    await set_skills(demo, "alice", billing=5, german=1)  # not German enough
    await set_skills(demo, "bob", billing=3, german=5)
    alice, bob = await agents(pages, observer, "alice", "bob")

    widget = await visitor_chat(
        pages, "Greta", "Meine Rechnung ist falsch", Product="billing", Language="de"
    )

    await expect(offer(bob)).to_contain_text("Greta")
    await expect(offer(bob).get_by_test_id("offer-queue")).to_have_text("Queue: billing-de")
    await expect(offer(bob).get_by_test_id("offer-broadcast")).to_have_count(0)
    await expect(offer(alice)).to_have_count(0)
    await accept_offer(bob, "Greta")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Bob")
    await expect(offer(alice)).to_have_count(0)


async def test_a_request_nobody_takes_fails_over_to_the_backup_queue(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await configure_sales(demo, offer_timeout_secs=10, max_missed_offers=1)
    await add_queue(demo, name="backup", skills={"general": 1})
    await add_queue(
        demo,
        name="specialists",
        skills={"wizardry": 1},
        overflow_action="queue",
        overflow_secs=15,
        overflow_target="backup",
    )
    magic = {"field": "question", "op": "contains", "value": "magic"}
    await set_rules(demo, {"condition": magic, "queue": "specialists"})
    await set_skills(demo, "bob", wizardry=9)
    await set_skills(demo, "alice", general=5)
    alice, bob = await agents(pages, observer, "alice", "bob")

    widget = await visitor_chat(pages, "Mags", "Some magic please")
    await expect(offer(bob).get_by_test_id("offer-queue")).to_have_text("Queue: specialists")
    await expect(offer(alice)).to_have_count(0)

    demo.clock.advance(10)  # Bob lets the offer time out, and so is set away
    await expect(offer(bob)).to_have_count(0)
    await expect(bob.get_by_test_id("presence-notice")).to_contain_text("You were set to Away")
    await expect(bob.get_by_label("Presence", exact=True)).to_have_value("away")
    await expect(offer(alice)).to_have_count(0)  # still the specialists' request
    demo.clock.advance(5)  # 15 s in the specialists' queue: it moves to the backup queue

    await expect(offer(alice)).to_contain_text("Mags")
    await expect(offer(alice).get_by_test_id("offer-queue")).to_have_text("Queue: backup")
    await accept_offer(alice, "Mags")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await expect(offer(bob)).to_have_count(0)


async def test_a_broadcast_offer_vanishes_from_the_others_when_one_accepts(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await set_default_strategy(demo, "broadcast")
    alice, bob = await agents(pages, observer, "alice", "bob")

    widget = await visitor_chat(pages, "Bea Cast", "Anyone there?")
    for console in (alice, bob):
        await expect(offer(console)).to_contain_text("Bea Cast")
        await expect(offer(console).get_by_test_id("offer-broadcast")).to_have_text(
            "offered to several agents"
        )

    await offer(bob).get_by_role("button", name="Accept", exact=True).click()
    # The clock stands still: nothing times out, the server withdraws Alice's offer.
    await expect(offer(alice)).to_have_count(0)
    await expect(offer(bob)).to_have_count(0)
    await expect(chat_log(bob)).to_be_visible()
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Bob")


async def test_an_agent_takes_a_chat_from_the_waiting_list(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await set_default_strategy(demo, "manual")
    (alice,) = await agents(pages, observer, "alice")
    await alice.get_by_role("button", name="Waiting").click()
    await expect(alice.get_by_test_id("waiting-empty")).to_be_visible()

    widget = await visitor_chat(pages, "Manu", "Pick me")
    row = alice.get_by_test_id("waiting-request")
    await expect(row).to_contain_text("Manu")  # refetched on waiting_changed
    await expect(row).to_contain_text("Pick me")
    await expect(row).to_contain_text("default")
    await expect(offer(alice)).to_have_count(0)

    await row.get_by_role("button", name="Take chat with Manu").click()
    await expect(alice.get_by_role("tab", name="Manu")).to_be_visible()
    await expect(chat_log(alice)).to_be_visible()
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    await alice.get_by_role("button", name="Waiting").click()
    await expect(alice.get_by_test_id("waiting-empty")).to_be_visible()


async def test_the_rule_tester_shows_where_sample_metadata_goes(demo: Demo, pages: Pages) -> None:
    await call(demo, "PUT", "/admin/workgroups/sales/rules", {"rules": []})  # the demo's own
    await add_queue(demo, name="billing-de", skills={"billing": 2, "german": 3})
    admin = await pages.new("admin")
    await login_agent(admin, "admin", presence=None)
    await admin.get_by_role("button", name="Routing", exact=True).click()
    await expect(admin.get_by_role("heading", name="Queues")).to_be_visible()
    await expect(admin.get_by_role("form", name="Queue billing-de")).to_be_visible()

    # A rule, unsaved: product equals billing and language is one of de, at.
    await admin.get_by_role("button", name="Add rule", exact=True).click()
    rule = admin.get_by_test_id("rule")
    await rule.get_by_label("Rule name").fill("German billing")
    await rule.get_by_label("Target queue").select_option("billing-de")
    await rule.get_by_label("Priority").fill("5")
    await rule.get_by_label("Field of rule #1 condition 1").fill("product")
    await rule.get_by_label("Operator of rule #1 condition 1").select_option("equals")
    await rule.get_by_label("Value of rule #1 condition 1").fill("billing")
    await rule.get_by_role("button", name="Add condition", exact=True).click()
    await rule.get_by_label("Field of rule #1 condition 2").fill("language")
    await rule.get_by_label("Operator of rule #1 condition 2").select_option("one_of")
    await rule.get_by_label("Value of rule #1 condition 2").fill("de, at")

    result = admin.get_by_test_id("rule-test-result")
    await admin.get_by_label("Sample name").fill("Greta")
    await admin.get_by_label("Sample extra fields").fill("product=Billing\nlanguage=AT")
    await admin.get_by_role("button", name="Test rules", exact=True).click()
    await expect(result).to_have_text("→ queue billing-de, priority 5, rule #1")

    await admin.get_by_label("Sample extra fields").fill("product=shoes")
    await admin.get_by_role("button", name="Test rules", exact=True).click()
    await expect(result).to_have_text("→ queue default, priority 0, default")
    # Trying saved nothing.
    assert await call(demo, "GET", "/admin/workgroups/sales/rules") == []

    # A bad pattern is refused with the server's reason, naming the rule.
    await rule.get_by_label("Operator of rule #1 condition 1").select_option("matches")
    await rule.get_by_label("Value of rule #1 condition 1").fill("(unclosed")
    await admin.get_by_role("button", name="Save rules", exact=True).click()
    await expect(admin.get_by_test_id("rules-error")).to_contain_text("rule #1")
    await expect(admin.get_by_test_id("rules-error")).to_contain_text("pattern")
    # One RE2 cannot run: refused, in the tester too, the reason shown next to the rule.
    await rule.get_by_label("Value of rule #1 condition 1").fill("billing(?=$)")
    await admin.get_by_role("button", name="Test rules", exact=True).click()
    await expect(rule.get_by_test_id("rule-error")).to_contain_text(
        "rule #1 ('German billing'): condition.all[0].value: RE2 cannot run this pattern:"
        " lookahead (?=...) is not supported"
    )

    await rule.get_by_label("Value of rule #1 condition 1").fill("^billing$")
    await admin.get_by_role("button", name="Save rules", exact=True).click()
    await expect(admin.get_by_text("Rules saved (1).")).to_be_visible()
    saved = await call(demo, "GET", "/admin/workgroups/sales/rules")
    assert saved == [
        {
            "name": "German billing",
            "queue": "billing-de",
            "priority": 5,
            "condition": {
                "all": [
                    {"field": "product", "op": "matches", "value": "^billing$"},
                    {"field": "language", "op": "one_of", "value": ["de", "at"]},
                ]
            },
            "problem": None,
        }
    ]
    await admin.get_by_label("Sample extra fields").fill("product=billing\nlanguage=de")
    await admin.get_by_role("button", name="Test rules", exact=True).click()
    await expect(result).to_have_text("→ queue billing-de, priority 5, rule #1")
    await admin.locator("#rules-heading").evaluate(SCROLL_TO_TOP)
    await screenshot(admin, "routing.png")
