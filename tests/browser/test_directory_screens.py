"""The console's directory, profile, idle presence and two-factor screens, against a real node:
two colleagues see each other's presence change live in the directory (a dot and its word) and
the unread count of their DM; an idle browser turns its agent away (her offer is withdrawn) and
back (the browser's clock is Playwright's, moved by hand: no waiting); a staff member enrols in
two-factor sign-in and logs in with the second step."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pyotp
import pytest
from playwright.async_api import Browser, Locator, Page, expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    login_agent,
    offer,
    open_widget,
    run_demo_node,
    set_presence,
    start_chat,
)

from parley.demo import DEMO_PASSWORD
from parley.web.pages import STATIC

IDLE_SECS = 30


def person(page: Page, username: str, demo: Demo) -> Locator:
    """A colleague's line in the directory's "Everyone" list."""
    return (
        page.get_by_test_id("directory-everyone")
        .get_by_test_id("directory-person")
        .and_(page.locator(f'[data-user-id="{demo.user_ids[username]}"]'))
    )


def presence_of(page: Page, username: str, demo: Demo) -> Locator:
    return person(page, username, demo).get_by_test_id("presence-label")


def dm_item(page: Page, name: str) -> Locator:
    return page.get_by_test_id("team-conversation").filter(has_text=name)


def im_view(page: Page) -> Locator:
    return page.get_by_test_id("im-view")


async def im_send(page: Page, text: str) -> None:
    await im_view(page).get_by_role("textbox", name="Message", exact=True).fill(text)
    await im_view(page).get_by_role("button", name="Send", exact=True).click()


async def test_colleagues_see_presence_live_and_dm_unread(demo: Demo, pages: Pages) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    bob = await pages.new("bob")
    await login_agent(bob, "bob")
    await expect(presence_of(alice, "bob", demo)).to_have_text("Available")
    await expect(person(alice, "bob", demo)).to_have_attribute("data-presence", "available")
    await expect(presence_of(bob, "alice", demo)).to_have_text("Available")

    # Bob is busy, then says why in his profile: Alice sees both, live.
    await set_presence(bob, "Busy")
    await expect(presence_of(alice, "bob", demo)).to_have_text("Busy")
    await bob.get_by_role("button", name="My profile", exact=True).click()
    await bob.get_by_label("Title", exact=True).fill("Night <b>shift</b> lead")
    await bob.get_by_role("button", name="Save title", exact=True).click()
    await bob.get_by_label("Status text", exact=True).fill("In a meeting until 3")
    await bob.get_by_role("button", name="Save status", exact=True).click()
    await expect(bob.get_by_test_id("status-saved")).to_be_visible()
    await expect(person(alice, "bob", demo).get_by_test_id("directory-status")).to_have_text(
        "In a meeting until 3"
    )
    await expect(person(alice, "bob", demo).get_by_test_id("directory-title")).to_have_text(
        "Night <b>shift</b> lead"
    )
    await expect(person(alice, "bob", demo).locator("b")).to_have_count(0)
    await expect(presence_of(alice, "bob", demo)).to_have_text("Busy")

    # Alice opens the DM from the directory and writes; Bob was elsewhere: one unread.
    await person(alice, "bob", demo).get_by_role("button").first.click()
    await expect(im_view(alice)).to_contain_text("Bob")
    await im_send(alice, "Coffee after your meeting?")
    await expect(dm_item(bob, "Alice").get_by_test_id("team-unread")).to_have_text("1")
    await dm_item(bob, "Alice").click()
    await expect(dm_item(bob, "Alice").get_by_test_id("team-unread")).to_have_count(0)

    # Alice looks at her chats and goes away; Bob answers: her DM counts it, he sees her away.
    await alice.get_by_role("button", name="Chats", exact=True).click()
    await set_presence(alice, "Away")
    await expect(presence_of(bob, "alice", demo)).to_have_text("Away")
    await im_send(bob, "Yes, at 3")
    await expect(dm_item(alice, "Bob").get_by_test_id("team-unread")).to_have_text("1")
    await set_presence(bob, "Available")
    await expect(presence_of(alice, "bob", demo)).to_have_text("Available")
    await dm_item(alice, "Bob").click()
    await expect(dm_item(alice, "Bob").get_by_test_id("team-unread")).to_have_count(0)
    await expect(im_view(alice).get_by_role("log")).to_contain_text("Yes, at 3")

    # The directory's search, and a favourite that stays after a reload (it is on the server).
    search = alice.get_by_label("Search staff", exact=True)
    await search.fill("night")
    await expect(alice.get_by_test_id("directory-person")).to_have_count(1)
    await search.fill("")
    await alice.get_by_role("button", name="Buddy list: Bob", exact=True).click()
    dialog = alice.get_by_role("dialog", name="Buddy list: Bob")
    await dialog.get_by_label("Favourite", exact=True).check()
    await dialog.get_by_role("button", name="Save", exact=True).click()
    await expect(alice.get_by_test_id("buddy-favourites")).to_contain_text("Bob")
    await alice.reload()
    await expect(alice.get_by_test_id("buddy-favourites")).to_contain_text("Bob")


@pytest.fixture
async def idle_demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """A demo node whose staff browsers go idle after ``IDLE_SECS``."""
    if not (STATIC / "widget.js").exists():
        pytest.fail("the web front ends are not built: run `make assets`")
    async with run_demo_node(tmp_path, idle_away_secs=IDLE_SECS) as d:
        yield d


@pytest.fixture
async def idle_pages(browser: Browser, idle_demo: Demo) -> AsyncIterator[Pages]:
    p = Pages(browser, idle_demo.base_url)
    try:
        yield p
    finally:
        for context in p.contexts:
            await context.close()
    assert not p.dialogs, f"a dialog opened: {p.dialogs}"


async def test_an_idle_browser_turns_its_agent_away_and_back(
    idle_demo: Demo, idle_pages: Pages
) -> None:
    demo, pages = idle_demo, idle_pages
    async with Observer.connect(demo) as observer:
        alice = await pages.new("alice")
        # The page's clock is Playwright's: time is moved by hand, nobody waits for it.
        await alice.clock.install()
        await login_agent(alice, "alice")
        await observer.presence("alice", "available")
        bob = await pages.new("bob")
        await login_agent(bob, "bob", presence=None)
        await expect(presence_of(bob, "alice", demo)).to_have_text("Available")

        visitor = await pages.new("visitor")
        widget = await open_widget(visitor)
        await start_chat(widget, "Dana", "dana@example.com", "Do you ship to Norway?")
        await expect(offer(alice)).to_contain_text("Dana")

        # No input for the threshold: away, by idleness. The offer she held is withdrawn.
        await alice.clock.fast_forward(IDLE_SECS * 1000 + 1000)
        await observer.presence("alice", "away")
        await expect(presence_of(bob, "alice", demo)).to_have_text("Away (idle)")
        await expect(offer(alice)).to_have_count(0)
        notice = alice.get_by_test_id("presence-notice")
        await expect(notice).to_contain_text("no chats are offered")
        await expect(alice.get_by_label("Presence", exact=True)).to_have_value("away")

        # She is back: available again by itself, and the chat is offered again.
        await alice.mouse.move(200, 200)
        await alice.keyboard.press("Shift")
        await observer.presence("alice", "available")
        await expect(presence_of(bob, "alice", demo)).to_have_text("Available")
        await expect(alice.get_by_test_id("presence-notice")).to_have_count(0)
        await expect(offer(alice)).to_contain_text("Dana")


def totp_now(demo: Demo, secret: str) -> str:
    return str(pyotp.TOTP(secret).at(demo.clock.now()))


async def test_two_factor_enrolment_and_the_second_step(demo: Demo, pages: Pages) -> None:
    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    await sam.get_by_role("button", name="Security", exact=True).click()
    await expect(sam.get_by_test_id("two-factor-status")).to_have_attribute("data-enabled", "false")
    await sam.get_by_role("button", name="Set up two-factor sign-in", exact=True).click()
    shown = await sam.get_by_test_id("totp-secret").inner_text()
    assert all(len(group) == 4 for group in shown.split(" ")[:-1]), shown
    secret = shown.replace(" ", "")
    await sam.get_by_label("Code from the app", exact=True).fill(totp_now(demo, secret))
    await sam.get_by_role("button", name="Turn on two-factor sign-in", exact=True).click()
    codes = sam.get_by_test_id("recovery-codes").locator("li")
    await expect(codes).to_have_count(10)
    recovery = (await codes.all_inner_texts())[0]
    await sam.get_by_role("button", name="I have saved them", exact=True).click()
    await expect(sam.get_by_test_id("two-factor-status")).to_have_attribute("data-enabled", "true")

    # Log in again: the password, then the code (a later one: each works once).
    await sam.get_by_role("button", name="Log out", exact=True).click()
    await sam.get_by_label("Username", exact=True).fill("sam")
    await sam.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await sam.get_by_role("button", name="Log in", exact=True).click()
    await expect(sam.get_by_role("heading", name="Two-factor sign-in")).to_be_visible()
    await sam.get_by_label("Authentication code", exact=True).fill("000000")
    await sam.get_by_role("button", name="Verify", exact=True).click()
    await expect(sam.get_by_role("alert")).to_contain_text("not right")
    demo.clock.advance(30)
    await sam.get_by_label("Authentication code", exact=True).fill(totp_now(demo, secret))
    await sam.get_by_role("button", name="Verify", exact=True).click()
    await expect(sam.get_by_role("button", name="Log out", exact=True)).to_be_visible()

    # And with a recovery code instead.
    await sam.get_by_role("button", name="Log out", exact=True).click()
    await sam.get_by_label("Username", exact=True).fill("sam")
    await sam.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await sam.get_by_role("button", name="Log in", exact=True).click()
    await sam.get_by_role("button", name="Use a recovery code instead", exact=True).click()
    await sam.get_by_label("Recovery code", exact=True).fill(recovery)
    await sam.get_by_role("button", name="Verify", exact=True).click()
    await expect(sam.get_by_role("button", name="Log out", exact=True)).to_be_visible()
    await sam.get_by_role("button", name="Security", exact=True).click()
    await expect(sam.get_by_test_id("two-factor-status")).to_contain_text("9 recovery codes left")


async def test_a_guest_invited_into_a_room_until_the_network_goes_internal_only(
    demo: Demo, pages: Pages
) -> None:
    alice = await pages.new("alice")
    await login_agent(alice, "alice", presence=None)
    await alice.get_by_role("button", name="New room", exact=True).click()
    dialog = alice.get_by_role("dialog", name="New room")
    await dialog.get_by_label("Room name").fill("Partners")
    await dialog.get_by_role("button", name="Create room", exact=True).click()
    await expect(im_view(alice)).to_contain_text("Partners")

    # The owner invites by email; no mail is set up here, so the one-time link is shown.
    await im_view(alice).get_by_role("button", name="Invite a guest", exact=True).click()
    invite = alice.get_by_role("dialog", name="Invite a guest")
    await invite.get_by_label("Guest's email").fill("gus@partner.example")
    await invite.get_by_role("button", name="Send invitation", exact=True).click()
    link = await invite.get_by_test_id("guest-link").input_value()
    assert "/console/#/guest?token=" in link, link
    await invite.get_by_role("button", name="Done", exact=True).click()

    # The guest accepts on the console's page and sees the room, and nothing else.
    gus = await pages.new("gus")
    await gus.goto(link)
    await gus.get_by_label("Username", exact=True).fill("gus")
    await gus.get_by_label("Your name", exact=True).fill("Gus <i>Partner</i>")
    await gus.get_by_label("Password", exact=True).fill("a long password")
    await gus.get_by_label("Password again", exact=True).fill("a long password")
    await gus.get_by_role("button", name="Accept and sign in", exact=True).click()
    await expect(gus.get_by_test_id("guest-console")).to_be_visible()
    assert "token" not in gus.url
    await expect(im_view(gus)).to_contain_text("Partners")
    await expect(gus.get_by_role("navigation", name="Main")).to_have_count(0)
    await expect(gus.get_by_test_id("directory-person")).to_have_count(0)
    await expect(im_view(alice).get_by_test_id("im-members")).to_contain_text("Gus <i>Partner</i>")
    await im_send(alice, "Welcome, Gus")
    await expect(im_view(gus).get_by_role("log")).to_contain_text("Welcome, Gus")
    await im_send(gus, "Thanks!")
    await expect(im_view(alice).get_by_role("log")).to_contain_text("Thanks!")

    # The admin makes the network internal-only: told first what it does, then the guest is out.
    admin = await pages.new("admin")
    await login_agent(admin, "admin", presence=None)
    await admin.get_by_role("button", name="Account policy", exact=True).click()
    await admin.get_by_label("Internal-only network (no guests)").check()
    await admin.get_by_role("button", name="Save account policy", exact=True).click()
    confirm = admin.get_by_role("dialog", name="Change the account policy?")
    await expect(confirm).to_contain_text("every guest is removed")
    await confirm.get_by_role("button", name="Save and apply now", exact=True).click()
    await expect(admin.get_by_role("status").filter(has_text="saved")).to_be_visible()
    await expect(gus.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    await expect(im_view(alice).get_by_role("log")).to_contain_text("left")
    # And inviting is refused, saying why.
    await im_view(alice).get_by_role("button", name="Invite a guest", exact=True).click()
    invite = alice.get_by_role("dialog", name="Invite a guest")
    await invite.get_by_label("Guest's email").fill("una@partner.example")
    await invite.get_by_role("button", name="Send invitation", exact=True).click()
    await expect(invite.get_by_test_id("guest-refused")).to_contain_text("internal-only")
