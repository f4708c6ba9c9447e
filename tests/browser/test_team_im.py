"""The staff IM in the console: two colleagues DM each other with unread counts and mentions; a
back-channel beside a live customer chat that the customer never sees (neither in the widget's
DOM nor in any frame its socket receives); and the house rules' blocked words: "guarantee"
refused in a customer chat (the text stays to rephrase), masked in a room, a warned word sent
anyway, the supervisor's notice, and the admin's screens."""

from __future__ import annotations

import json
import re
from typing import Any

from playwright.async_api import Locator, Page, WebSocket, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    composer,
    login_agent,
    message_with,
    open_widget,
    start_chat,
)


def team_item(page: Page, name: str) -> Locator:
    return page.get_by_test_id("team-conversation").filter(has_text=name)


def im_view(page: Page) -> Locator:
    return page.get_by_test_id("im-view")


def backchannel(page: Page) -> Locator:
    return page.get_by_test_id("backchannel")


async def im_send(scope: Locator, text: str, *, side: bool = False) -> None:
    box = "Back-channel message" if side else "Message"
    await scope.get_by_role("textbox", name=box, exact=True).fill(text)
    button = "Send to colleagues" if side else "Send"
    await scope.get_by_role("button", name=button, exact=True).click()


def im_message(scope: Locator, text: str) -> Locator:
    return scope.get_by_role("log").get_by_test_id("message").filter(has_text=text)


def sent_message(scope: Locator, text: str) -> Locator:
    """A message the server acknowledged (not the outbox's copy while it is sending)."""
    return scope.get_by_role("log").locator('[data-status="sent"]').filter(has_text=text)


async def add_rule(demo: Demo, **rule: Any) -> None:
    token = await demo.token("admin")
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.post("/api/v1/admin/blocked-words", json=rule)
        assert r.status_code == 201, r.text


async def test_two_colleagues_dm_with_unread_counts(demo: Demo, pages: Pages) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice", presence=None)
    bob = await pages.new("bob")
    await login_agent(bob, "bob", presence=None)
    await expect(bob.get_by_test_id("team-empty")).to_be_visible()

    # Alice starts a DM with Bob from "New message".
    await alice.get_by_role("button", name="New message", exact=True).click()
    dialog = alice.get_by_role("dialog", name="New message")
    await dialog.get_by_label("Find colleagues").fill("bo")
    await dialog.get_by_role("checkbox", name=re.compile(r"^Bob \(bob")).check()
    await dialog.get_by_role("button", name="Open conversation", exact=True).click()
    await expect(im_view(alice)).to_contain_text("Bob")
    await im_send(im_view(alice), "Hi Bob, <b>lunch</b>?")
    await expect(sent_message(im_view(alice), "lunch")).to_have_count(1)

    # Bob was not looking: the DM appears in his Team list, one unread.
    await expect(team_item(bob, "Alice").get_by_test_id("team-unread")).to_have_text("1")
    await im_send(im_view(alice), "Or coffee")
    await expect(team_item(bob, "Alice").get_by_test_id("team-unread")).to_have_text("2")
    await team_item(bob, "Alice").click()
    # Escaped as text, never markup.
    await expect(im_message(im_view(bob), "Hi Bob, <b>lunch</b>?")).to_have_count(1)
    await expect(im_view(bob).locator("b")).to_have_count(0)
    await expect(team_item(bob, "Alice").get_by_test_id("team-unread")).to_have_count(0)
    # The read marker is on the server: after a reload, still nothing unread.
    await bob.reload()
    await expect(team_item(bob, "Alice")).to_be_visible()
    await expect(team_item(bob, "Alice").get_by_test_id("team-unread")).to_have_count(0)

    # Alice looks at her chats; Bob answers and mentions her.
    await alice.get_by_role("button", name="Chats", exact=True).click()
    await team_item(bob, "Alice").click()
    await im_send(im_view(bob), "@alice coffee at 3")
    await expect(team_item(alice, "Bob").get_by_test_id("team-unread")).to_have_text("1")
    await expect(team_item(alice, "Bob").get_by_test_id("team-mentioned")).to_be_visible()
    notice = alice.get_by_test_id("mention-notice")
    await expect(notice).to_contain_text("Bob mentioned you")
    await notice.get_by_role("button", name="Open", exact=True).click()
    mention = im_message(im_view(alice), "coffee at 3").get_by_test_id("mention")
    await expect(mention).to_have_text("@alice")
    await expect(mention).to_have_class(re.compile(r"\bme\b"))
    await expect(team_item(alice, "Bob").get_by_test_id("team-unread")).to_have_count(0)
    await expect(alice.get_by_test_id("mention-notice")).to_have_count(0)

    # History: a reload shows the whole conversation again, from REST.
    await alice.reload()
    await team_item(alice, "Bob").click()
    for text in ("lunch", "Or coffee", "coffee at 3"):
        await expect(im_message(im_view(alice), text)).to_have_count(1)
    # And searched.
    await im_view(alice).get_by_role("searchbox", name="Search this conversation").fill("COFFEE")
    await im_view(alice).get_by_role("searchbox", name="Search this conversation").press("Enter")
    await expect(alice.get_by_test_id("im-search-result")).to_have_count(2)


async def test_backchannel_the_customer_never_sees(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    bob = await pages.new("bob")
    await login_agent(bob, "bob", presence=None)

    visitor = await pages.new("visitor")
    frames: list[str] = []

    def on_socket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    visitor.on("websocket", on_socket)
    widget = await open_widget(visitor)
    await start_chat(widget, "Dana", "dana@example.com", "Do you ship to Norway?")
    await accept_offer(alice, "Dana")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")

    # Alice opens the back-channel beside the chat and pulls Bob in.
    await alice.get_by_role("button", name="Back-channel", exact=True).click()
    side = backchannel(alice)
    await expect(side).to_be_visible()
    await expect(alice.get_by_role("tabpanel").get_by_role("log")).to_have_count(2)
    await side.get_by_role("button", name="Add colleague", exact=True).click()
    await side.get_by_label("Colleague to add").select_option(str(demo.user_ids["bob"]))
    await side.get_by_role("button", name="Add", exact=True).click()
    await expect(side.get_by_test_id("im-members")).to_contain_text("Bob")
    await im_send(side, "Dana asks about Norway, secret-ideas?", side=True)
    await expect(sent_message(side, "secret-ideas?")).to_have_count(1)
    backchannel_id = await side.get_attribute("data-conversation")
    assert backchannel_id

    # Bob gets it in his Team list, reads and answers it without reading the customer chat.
    item = bob.get_by_test_id("team-conversation").and_(bob.locator('[data-kind="backchannel"]'))
    await expect(item.get_by_test_id("team-unread")).to_have_text("1")
    await item.click()
    await expect(im_message(im_view(bob), "secret-ideas?")).to_have_count(1)
    await im_send(im_view(bob), "Yes: hidden-answer 3 to 5 days")

    # Alice sees the answer beside the chat and passes it on to Dana.
    await expect(im_message(side, "hidden-answer")).to_have_count(1)
    await composer(alice).fill("Yes, we ship to Norway in 3 to 5 days.")
    await alice.get_by_role("button", name="Send", exact=True).click()
    await expect(message_with(widget, "ship to Norway in 3 to 5 days", "agent")).to_have_count(1)

    # The customer never sees any of it: not in the widget, not on its socket.
    body = await widget.locator("body").inner_text()
    assert "secret-ideas" not in body and "hidden-answer" not in body, body
    received = "\n".join(frames)
    assert frames, "the widget's socket received nothing"
    assert "ship to Norway in 3 to 5 days" in received
    assert "secret-ideas" not in received and "hidden-answer" not in received
    assert backchannel_id not in received
    assert all(json.loads(f).get("conversation_id") != backchannel_id for f in frames)


async def test_blocked_words_refused_in_a_chat_and_masked_in_a_room(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    await add_rule(
        demo,
        kind="term",
        value="guarantee",
        action="refuse",
        scopes=["staff_to_customer"],
        reason="We make no promises",
    )
    await add_rule(
        demo, kind="term", value="guarantee", action="mask", scopes=["staff_im"], reason="Mind it"
    )
    await add_rule(
        demo,
        kind="term",
        value="discount",
        action="warn",
        scopes=["staff_to_customer"],
        reason="Discounts need approval",
    )
    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, "Dana", "dana@example.com", "Is it guaranteed?")
    await accept_offer(alice, "Dana")
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")

    # Refused: the agent sees why, the text is back in the box, nothing reaches Dana.
    await composer(alice).fill("We g\u200buarantee delivery by Friday")
    await alice.get_by_role("button", name="Send", exact=True).click()
    refused = alice.get_by_test_id("blocked-word")
    await expect(refused).to_contain_text("We make no promises")
    await expect(composer(alice)).to_have_value("We g\u200buarantee delivery by Friday")
    # Warned: "Send anyway?" sends it as written, and the supervisor is told.
    await composer(alice).fill("A discount is possible")
    await alice.get_by_role("button", name="Send", exact=True).click()
    warning = alice.get_by_test_id("blocked-word-warning")
    await expect(warning).to_contain_text("Send anyway?")
    await warning.get_by_role("button", name="Send anyway", exact=True).click()
    await expect(message_with(widget, "A discount is possible", "agent")).to_have_count(1)
    await expect(sam.get_by_test_id("blocked-word-notice")).to_contain_text("discount")
    body = await widget.locator("body").inner_text()
    assert "uarantee delivery" not in body, body
    stored = await demo.entries((await demo.only_conversation())["id"])
    assert not [e for e in stored if "delivery" in str(e["body"].get("text", ""))], stored

    # Masked in a room.
    await alice.get_by_role("button", name="New room", exact=True).click()
    dialog = alice.get_by_role("dialog", name="New room")
    await dialog.get_by_label("Room name").fill("Shipping desk")
    await dialog.get_by_label("Room topic").fill("Norway questions")
    await dialog.get_by_role("button", name="Create room", exact=True).click()
    await expect(im_view(alice).get_by_test_id("im-topic")).to_contain_text("Norway questions")
    await im_send(im_view(alice), "I guarantee it ships")
    shown = sent_message(im_view(alice), "ships")
    await expect(shown).to_contain_text("I *** it ships")
    await expect(shown).not_to_contain_text("guarantee")
    # The topic is editable, and the change is a line in the log.
    await im_view(alice).get_by_role("button", name="Edit topic", exact=True).click()
    await im_view(alice).get_by_label("Topic").fill("Nordics")
    await im_view(alice).get_by_role("button", name="Save topic", exact=True).click()
    await expect(im_view(alice).get_by_test_id("im-topic")).to_contain_text("Nordics")
    await expect(im_message(im_view(alice), "set the topic: Nordics")).to_have_count(1)

    # The admin's screens: the rules, the tester and the audit log.
    admin = await pages.new("admin")
    await login_agent(admin, "admin", presence=None)
    await admin.get_by_role("button", name="Blocked words", exact=True).click()
    await expect(admin.get_by_test_id("blocked-word-rule")).to_have_count(3)
    await admin.get_by_label("Sample message").fill("We GUARANTEE it")
    await admin.get_by_role("button", name="Test message", exact=True).click()
    await expect(admin.get_by_test_id("blocked-word-test-result")).to_contain_text("refused")
    await admin.get_by_role("button", name="Edit discount", exact=True).click()
    await admin.get_by_label("Reason (shown to the sender)").fill("Ask a supervisor first")
    await admin.get_by_role("button", name="Save blocked word", exact=True).click()
    edited = admin.get_by_test_id("blocked-word-rule").filter(has_text="discount")
    await expect(edited).to_contain_text("Ask a supervisor first")
    await admin.get_by_role("button", name="Delete discount", exact=True).click()
    await expect(admin.get_by_test_id("blocked-word-rule")).to_have_count(2)
    await admin.get_by_role("button", name="Audit log", exact=True).click()
    await expect(admin.get_by_test_id("audit-row").first).to_be_visible()
    await admin.get_by_label("Action").fill("blocked_word")
    await admin.get_by_role("button", name="Search audit log", exact=True).click()
    rows = admin.get_by_test_id("audit-row")
    await expect(rows.filter(has_text="blocked_word.refused")).to_have_count(1)
    await expect(rows.filter(has_text="blocked_word.masked")).to_have_count(1)
    await expect(rows.filter(has_text="blocked_words.created")).to_have_count(0)


async def test_rooms_browse_join_and_leave(demo: Demo, pages: Pages) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice", presence=None)
    bob = await pages.new("bob")
    await login_agent(bob, "bob", presence=None)

    await alice.get_by_role("button", name="New room", exact=True).click()
    dialog = alice.get_by_role("dialog", name="New room")
    await dialog.get_by_label("Room name").fill("Coffee club")
    await dialog.get_by_role("button", name="Create room", exact=True).click()
    await expect(team_item(alice, "Coffee club")).to_be_visible()
    await im_send(im_view(alice), "Welcome, @bob")

    await bob.get_by_role("button", name="Browse rooms", exact=True).click()
    browse = bob.get_by_role("dialog", name="Browse rooms")
    await browse.get_by_label("Search rooms").fill("coffee")
    await browse.get_by_role("button", name="Join Coffee club", exact=True).click()
    await expect(im_view(bob).get_by_test_id("im-members")).to_contain_text("Bob (you)")
    # What was said before Bob joined is history, read over REST.
    await expect(sent_message(im_view(bob), "Welcome")).to_have_count(1)
    await expect(im_view(alice).get_by_test_id("im-members")).to_contain_text("Bob")

    await alice.get_by_role("button", name="Chats", exact=True).click()
    await im_send(im_view(bob), "Thanks!")
    await expect(team_item(alice, "Coffee club").get_by_test_id("team-unread")).to_have_text("1")

    await im_view(bob).get_by_role("button", name="Leave room", exact=True).click()
    await expect(team_item(bob, "Coffee club")).to_have_count(0)
    await team_item(alice, "Coffee club").click()
    await expect(im_message(im_view(alice), "Bob left")).to_have_count(1)
