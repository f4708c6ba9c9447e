"""The widget as a business wants it, in the browser: German from ``data-lang`` (its system lines
too) with hidden fields and the referrer reaching the agent; the unread badge on a minimised
widget, also after a reload; the brand colour and corner, and each agent's name and photo above
their messages after a transfer; the launcher saying "closed" when the workgroup is closed, with
a leave-a-message form that fits a 1280x800 screen; the branding screen and its embed snippet.

Host pages with other script tags than the demo's are served by the browser itself
(``page.route``) on the node's own origin, so the widget may be framed there.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image
from playwright.async_api import FrameLocator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    begin_chat,
    launcher,
    login_agent,
    message_with,
    offer,
    send,
)
from tests.browser.test_transfer_screens import transfer_to_bob

from parley.domain.hours import parse_hours
from parley.services.inbox import HoursSettings

BRAND = "#1f6b45"
BRAND_RGB = "rgb(31, 107, 69)"


def host_page(before: str = "", **attributes: str) -> str:
    attrs = " ".join(f'{name}="{value}"' for name, value in attributes.items())
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Shop</title></head>"
        f"<body><h1>A shop</h1>{before}<script src='/widget.js' {attrs} async></script>"
        "</body></html>"
    )


# The page calls setFields before widget.js has loaded: the documented queue (operations.md).
QUEUED = (
    "<script>window.Parley = window.Parley || {q: []};"
    "Parley.setFields = Parley.setFields || function (f) { Parley.q.push(['setFields', f]); };"
    "Parley.setFields({cart: '3 bikes'});</script>"
)


async def serve(page: Page, path: str, html: str) -> None:
    async def fulfil(route: Any) -> None:
        await route.fulfill(status=200, content_type="text/html", body=html)

    await page.route(f"**{path}*", fulfil)  # with any query or fragment


async def open_on(page: Page, path: str, **goto: Any) -> FrameLocator:
    await page.goto(path, **goto)
    await launcher(page).click()
    await expect(page.locator("#parley-frame")).to_be_visible()
    return page.frame_locator("#parley-frame")


async def as_staff(demo: Demo, who: str, method: str, path: str, **kw: Any) -> Any:
    """A REST call with ``who``'s session token as a bearer token."""
    token = await demo.token(who)
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.request(method, path, **kw)
    assert r.status_code < 300, r.text
    return r.json() if r.content else None


def photo(colour: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), colour).save(out, format="PNG")
    return out.getvalue()


async def test_german_widget_with_hidden_fields_and_the_referrer(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    visitor = await pages.new("visitor")
    await serve(
        visitor,
        "/demo/de.html",
        host_page(
            QUEUED,
            **{
                "data-workgroup": "sales",
                "data-lang": "de",
                "data-field-plan": "pro",
                "data-field-order-number": "A-17",
                "data-field-9lives": "x",
            },
        ),
    )
    warnings: list[str] = []
    visitor.on("console", lambda m: warnings.append(m.text) if m.type == "warning" else None)
    widget = await open_on(
        visitor, "/demo/de.html?session=secret#frag", referer="https://www.search.example/q?x=1"
    )
    # After the launcher loaded: one more field, one removed.
    await visitor.evaluate("Parley.setFields({seats: 12, order_number: null})")
    # Every word from the German catalogue.
    await expect(widget.locator("html")).to_have_attribute("lang", "de")
    await expect(widget.get_by_test_id("greeting")).to_contain_text("Hallo!")
    await widget.get_by_label("Name", exact=True).fill("Dana")
    await widget.get_by_label("Frage", exact=True).fill("Liefern Sie nach Wien?")
    await widget.get_by_role("button", name="Chat starten", exact=True).click()
    await expect(widget.get_by_text("Warten auf einen Mitarbeiter…")).to_be_visible()

    # The agent sees the hidden fields, labelled, and where the visitor came from.
    card = offer(alice)
    await expect(card).to_contain_text("Dana")
    await expect(card.get_by_test_id("hidden-field")).to_have_text(["Plan", "Cart", "Seats"])
    await expect(card.get_by_test_id("hidden-fields")).to_contain_text("3 bikes")
    await accept_offer(alice, "Dana")
    details = alice.get_by_test_id("customer-details")
    await expect(details.get_by_test_id("hidden-fields")).to_contain_text("pro")
    await expect(details.get_by_test_id("referrer")).to_have_text("https://www.search.example/q")

    # The system line and the header, in German.
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chat mit Alice")
    await expect(message_with(widget, "Alice ist dem Chat beigetreten", "system")).to_be_visible()
    await send(alice, "Ja, gern!")
    await expect(message_with(widget, "Ja, gern!", "agent")).to_be_visible()
    await widget.get_by_role("button", name="Chat beenden", exact=True).click()
    await expect(message_with(widget, "Chat beendet", "system")).to_have_count(1)
    await expect(widget.locator("header")).to_have_attribute("data-phase", "ended")
    await expect(widget.locator("h1")).to_have_text("Ihr Chat mit Alice")
    await expect(widget.get_by_role("link", name="Verlauf herunterladen")).to_be_visible()

    # What was recorded: the page without its query, the referrer, the fields; the bad key was
    # left out with a console warning, not silently.
    conversation = await demo.only_conversation()
    m = conversation["metadata"]
    assert m["page"].endswith("/demo/de.html"), m
    assert m["referrer"] == "https://www.search.example/q"
    assert m["fields"] == {"plan": "pro", "cart": "3 bikes", "seats": "12"}
    assert any('hidden field "9lives" left out' in w for w in warnings), warnings


async def test_unread_badge_on_a_minimised_widget(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    visitor, widget, alice = await begin_chat(pages, observer)
    button = launcher(visitor)
    await expect(button).to_have_attribute("data-parley-unread", "0")
    await widget.get_by_role("button", name="Minimize chat window").click()
    await expect(visitor.locator("#parley-panel")).to_be_hidden()

    await send(alice, "Are you still there?")
    await send(alice, "I found the answer.")
    await expect(button).to_have_attribute("data-parley-unread", "2")
    await expect(visitor.locator("#parley-unread")).to_have_text("2")
    await expect(button).to_have_attribute("aria-description", "2 new message(s)")
    # The button keeps its name; opening it shows the messages and clears the badge.
    await visitor.get_by_role("button", name="Chat with Sales", exact=True).click()
    await expect(message_with(widget, "I found the answer.", "agent")).to_be_visible()
    await expect(button).to_have_attribute("data-parley-unread", "0")
    await expect(visitor.locator("#parley-unread")).to_have_count(0)

    # Minimised, then the page reloads: the iframe loads hidden, and counts only what is new.
    await widget.get_by_role("button", name="Minimize chat window").click()
    await visitor.reload()
    await expect(launcher(visitor)).to_have_attribute("aria-expanded", "false")
    await expect(visitor.locator("#parley-frame")).to_be_attached()
    await send(alice, "Written while you were reloading")
    await expect(launcher(visitor)).to_have_attribute("data-parley-unread", "1")
    await launcher(visitor).click()
    await expect(
        message_with(visitor.frame_locator("#parley-frame"), "Written while you were reloading")
    ).to_be_visible()
    await expect(launcher(visitor)).to_have_attribute("data-parley-unread", "0")


async def test_brand_colour_and_the_agents_names_and_photos_after_a_transfer(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await as_staff(
        demo,
        "admin",
        "put",
        "/api/v1/admin/workgroups/sales/branding",
        json={"color": BRAND, "greeting": "Welcome to Northwind!", "position": "left"},
    )
    await as_staff(demo, "bob", "put", "/api/v1/me/photo", content=photo("orange"))
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    bob = await pages.new("bob")
    await login_agent(bob, "bob")
    await observer.presence("bob", "available")

    visitor = await pages.new("visitor")
    await visitor.goto("/demo/")
    button = launcher(visitor)
    await expect(button).to_have_css("background-color", BRAND_RGB)
    await expect(button).to_have_attribute("data-parley-position", "left")
    box = await button.bounding_box()
    assert box is not None and box["x"] < 100, box  # bottom left
    await button.click()
    widget = visitor.frame_locator("#parley-frame")
    panel = await visitor.locator("#parley-panel").bounding_box()
    assert panel is not None and panel["x"] < 100, panel
    await expect(widget.locator("header")).to_have_css("background-color", BRAND_RGB)
    await expect(widget.get_by_test_id("greeting")).to_have_text("Welcome to Northwind!")

    await widget.get_by_label("Name", exact=True).fill("Zoe")
    await widget.get_by_role("button", name="Start chat", exact=True).click()
    await accept_offer(alice, "Zoe")
    await send(alice, "Hi, Alice here")
    await expect(message_with(widget, "Hi, Alice here", "agent")).to_be_visible()
    await send(widget, "My card was charged twice")
    await expect(message_with(widget, "My card was charged twice", "visitor")).to_have_css(
        "background-color", BRAND_RGB
    )
    await transfer_to_bob(alice)
    await accept_offer(bob, "Zoe")
    await send(bob, "Bob here, refunding it")
    await expect(message_with(widget, "Bob here, refunding it", "agent")).to_be_visible()

    # Who wrote what: a byline above each agent's run, with Bob's photo; Alice has none.
    bylines = widget.get_by_test_id("byline")
    await expect(bylines).to_have_text(["AAlice", "Bob"])
    photo_img = bylines.nth(1).get_by_test_id("agent-photo")
    await expect(photo_img).to_be_visible()
    assert (await photo_img.get_attribute("src") or "").startswith("data:image/png;base64,")
    await expect(bylines.nth(0).locator("img")).to_have_count(0)
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Bob")


async def test_closed_workgroup_says_closed_and_the_form_fits_the_screen(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await demo.parley.inbox.set_hours(
        None, "sales", HoursSettings(parse_hours("UTC", {}, closed_by_hand=True))
    )
    # Alice is available, but the workgroup is closed: the launcher says closed, not offline.
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    for lang, closed in (("en", "(closed)"), ("de", "(geschlossen)")):
        visitor = await pages.new(f"visitor {lang}")
        await serve(
            visitor, "/demo/shop.html", host_page(**{"data-workgroup": "sales", "data-lang": lang})
        )
        await visitor.goto("/demo/shop.html")
        button = launcher(visitor)
        await expect(button).to_have_attribute("data-parley-status", "closed")
        await expect(button).to_have_attribute("data-parley-reason", "closed")
        await expect(button).to_contain_text(closed)
        await expect(button).not_to_contain_text("offline")
        await button.click()
        widget = visitor.frame_locator("#parley-frame")
        form = widget.get_by_test_id("leave-message")
        await expect(form).to_be_visible()
        # On a 1280x800 screen the whole form shows without scrolling: every field and the
        # button inside the panel, the panel inside the window.
        panel = await visitor.locator("#parley-panel").bounding_box()
        assert panel is not None
        assert panel["y"] >= 0 and panel["y"] + panel["height"] <= 800, panel
        send_name = "Send message" if lang == "en" else "Nachricht senden"
        parts = [
            widget.get_by_test_id("unavailable"),
            widget.locator("#pw-lm-name"),
            widget.locator("#pw-lm-email"),
            widget.locator("#pw-lm-message"),
            widget.get_by_role("button", name=send_name, exact=True),
        ]
        for part in parts:
            b = await part.bounding_box()
            assert b is not None
            # Bounding boxes of elements in the frame are in the page's coordinates.
            assert b["y"] >= panel["y"] and b["y"] + b["height"] <= panel["y"] + panel["height"], (
                lang,
                await part.evaluate("e => e.outerHTML.slice(0, 60)"),
                b,
                panel,
            )
            assert b["x"] >= panel["x"] and b["x"] + b["width"] <= panel["x"] + panel["width"]


async def test_branding_screen_and_embed_snippet(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    admin = await pages.new("admin")
    await admin.context.grant_permissions(["clipboard-read", "clipboard-write"])
    await login_agent(admin, "admin", presence=None)
    await admin.get_by_role("button", name="Admin", exact=True).click()
    form = admin.get_by_role("form", name="Widget branding")
    await expect(form).to_be_visible()
    await form.get_by_label("Workgroup to brand").select_option("sales")
    colour = form.get_by_label("Brand colour", exact=True)
    await colour.fill("#ffb020")
    await expect(form.get_by_test_id("contrast-verdict")).to_contain_text("Too light")
    await expect(form.get_by_role("button", name="Save branding")).to_be_disabled()
    await colour.fill(BRAND)
    await form.get_by_label("Greeting").fill("Hej <b>there</b>")
    await form.get_by_label("Bottom left").check()
    await form.get_by_role("button", name="Save branding").click()
    await expect(admin.get_by_role("status").filter(has_text="Saved the branding")).to_be_visible()
    async with demo.node.http() as http:
        status = (await http.get("/api/v1/workgroups/sales/status")).json()
    assert status["branding"] == {
        "color": BRAND,
        "logo_url": None,
        "greeting": "Hej <b>there</b>",
        "position": "left",
    }

    snippet = admin.get_by_test_id("embed-snippet")
    code = snippet.get_by_test_id("embed-code")
    await expect(code).to_have_value(
        f'<script src="{demo.base_url}/widget.js" data-workgroup="sales" async></script>'
    )
    await snippet.get_by_label("Widget language").select_option("de")
    await expect(code).to_have_value(
        f'<script src="{demo.base_url}/widget.js" data-workgroup="sales" data-lang="de" async>'
        "</script>"
    )
    await snippet.get_by_role("button", name="Copy snippet").click()
    await expect(snippet.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert await admin.evaluate("navigator.clipboard.readText()") == await code.input_value()
    await expect(snippet.get_by_test_id("embed-origins")).to_contain_text("--allowed-origin")
