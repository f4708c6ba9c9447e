"""Helpers of the browser tests: a demo node in the test's event loop, pages in fresh browser
contexts, and the DOM contract of frontend/README.md as functions (logging an agent into the
console, opening the widget as a visitor, finding messages, offers, the launcher)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    Dialog,
    FrameLocator,
    Locator,
    Page,
    expect,
)
from tests.fakes import FakeClock
from tests.support import Node, WsClient, run_node, settings_for

from parley.bootstrap import Parley
from parley.demo import DEMO_PASSWORD, seed

#: How long any UI expectation may take. Generous for a busy CI machine; a passing run never
#: waits for it (expect() returns as soon as the condition holds).
TIMEOUT_MS = 10_000

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1280, "height": 800}

expect.set_options(timeout=TIMEOUT_MS)


def chromium_path() -> str | None:
    found = shutil.which("chromium")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


# --- the server -----------------------------------------------------------------------------


@dataclass
class Demo:
    """A running node with the demo data: workgroups sales and support, agents alice and bob,
    supervisor sam and admin (password "demo"), and the demo site at /demo/."""

    node: Node
    clock: FakeClock
    user_ids: dict[str, int] = field(default_factory=dict)

    @property
    def parley(self) -> Parley:
        return self.node.parley

    @property
    def base_url(self) -> str:
        return self.node.base_url

    async def token(self, username: str) -> str:
        async with self.node.http() as http:
            r = await http.post(
                "/api/v1/auth/login", json={"username": username, "password": DEMO_PASSWORD}
            )
            assert r.status_code == 200, r.text
            return str(r.cookies["parley_session"])

    async def conversations(self) -> list[dict[str, Any]]:
        """Every conversation, newest first, as the admin reads them over the API."""
        token = await self.token("admin")
        async with self.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.get("/api/v1/conversations", params={"all": "true"})
            assert r.status_code == 200, r.text
            return list(r.json())

    async def entries(self, conversation_id: str) -> list[dict[str, Any]]:
        """The stored log of a conversation (the record the UIs must match)."""
        token = await self.token("admin")
        async with self.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.get(f"/api/v1/conversations/{conversation_id}")
            assert r.status_code == 200, r.text
            return list(r.json()["entries"])

    async def only_conversation(self) -> dict[str, Any]:
        conversations = await self.conversations()
        assert len(conversations) == 1, conversations
        return conversations[0]

    def drop_connections(self, *, visitor: bool = False, staff: str | None = None) -> int:
        """Close the server side of the visitors' WebSockets, or of one staff member's.

        Chromium keeps open WebSockets working when a context goes offline (only new
        connections fail), so a test that cuts the network also drops the sockets here."""
        user_id = self.user_ids[staff] if staff is not None else None
        dropped = 0
        for conn in self.parley.hub.connections:
            if (visitor and conn.audience == "visitor") or (
                user_id is not None and conn.user_id == user_id
            ):
                conn.request_close(1012, "test: connection dropped")
                dropped += 1
        return dropped


@asynccontextmanager
async def run_demo_node(tmp_path: Path, **settings: Any) -> AsyncIterator[Demo]:
    """A fresh node on a random port, SQLite, a FakeClock, the demo site and the demo data.

    The fake clock starts at the real time: the browsers compare the server's timestamps (offer
    deadlines, message times) with their own clock.
    """
    clock = FakeClock(datetime.now(UTC))
    node_settings = settings_for(tmp_path, **settings)
    async with run_node(node_settings, clock, demo=True, on_started=seed) as node:
        demo = Demo(node, clock)
        token = await demo.token("admin")
        async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
            r = await http.get("/api/v1/admin/users")
            assert r.status_code == 200, r.text
            demo.user_ids = {u["username"]: u["id"] for u in r.json()}
        yield demo


class Observer:
    """A staff WebSocket (the admin's) that sees every presence change: tests wait on it for
    the server to have recorded what a console did, instead of sleeping."""

    def __init__(self, demo: Demo, ws: WsClient) -> None:
        self.demo = demo
        self.ws = ws

    async def presence(self, username: str, presence: str) -> None:
        user_id = self.demo.user_ids[username]
        await self.ws.expect(
            lambda m: (
                m.get("type") == "presence"
                and m.get("user_id") == user_id
                and m.get("presence") == presence
            )
        )

    @classmethod
    @asynccontextmanager
    async def connect(cls, demo: Demo) -> AsyncIterator[Observer]:
        token = await demo.token("admin")
        async with WsClient.connect(demo.node.ws_url) as ws:
            await ws.hello(token=token)
            yield cls(demo, ws)


# --- browsers -------------------------------------------------------------------------------


@dataclass
class Pages:
    """Opens pages, each in its own fresh browser context (one per person), and records any
    JavaScript dialog (alert, confirm, prompt): none may ever open."""

    browser: Browser
    base_url: str
    contexts: list[BrowserContext] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    async def new(self, who: str) -> Page:
        context = await self.browser.new_context(base_url=self.base_url, viewport=VIEWPORT)
        context.set_default_timeout(TIMEOUT_MS)
        self.contexts.append(context)
        page = await context.new_page()

        async def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(f"{who}: {dialog.type} {dialog.message!r}")
            await dialog.dismiss()

        page.on("dialog", on_dialog)
        return page


# --- helpers: the console -------------------------------------------------------------------


async def login_agent(page: Page, username: str, presence: str | None = "Available") -> None:
    """Log into /console/ as ``username`` (password "demo") and set the presence."""
    await page.goto("/console/")
    await page.get_by_label("Username", exact=True).fill(username)
    await page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    await page.get_by_role("button", name="Log in", exact=True).click()
    await expect(page.get_by_role("button", name="Log out", exact=True)).to_be_visible()
    if presence is not None:
        await set_presence(page, presence)


async def set_presence(page: Page, presence: str) -> None:
    await page.get_by_label("Presence", exact=True).select_option(label=presence)


def offer(page: Page) -> Locator:
    return page.get_by_test_id("offer")


def chat_log(scope: Page | FrameLocator) -> Locator:
    return scope.get_by_role("log")


def messages(scope: Page | FrameLocator, author: str | None = None) -> Locator:
    if author is None:
        return chat_log(scope).get_by_test_id("message")
    return chat_log(scope).locator(f'[data-testid="message"][data-author="{author}"]')


def message_with(scope: Page | FrameLocator, text: str, author: str | None = None) -> Locator:
    return messages(scope, author).filter(has_text=text)


async def send(scope: Page | FrameLocator, text: str) -> None:
    await composer(scope).fill(text)
    await scope.get_by_role("button", name="Send", exact=True).click()


def composer(scope: Page | FrameLocator) -> Locator:
    return scope.get_by_role("textbox", name="Message", exact=True)


# --- helpers: the widget --------------------------------------------------------------------


def launcher(page: Page) -> Locator:
    return page.locator("#parley-launcher")


async def open_widget(page: Page) -> FrameLocator:
    """As a visitor: go to the demo site, click the launcher, return the chat's iframe."""
    await page.goto("/demo/")
    await launcher(page).click()
    await expect(page.locator("#parley-frame")).to_be_visible()
    return page.frame_locator("#parley-frame")


async def start_chat(widget: FrameLocator, name: str, email: str = "", question: str = "") -> None:
    """Fill the pre-chat form and start the chat."""
    await widget.get_by_label("Name", exact=True).fill(name)
    if email:
        # Not exact: the label reads "Email (optional)".
        await widget.get_by_label("Email").fill(email)
    if question:
        await widget.get_by_label("Question", exact=True).fill(question)
    await widget.get_by_role("button", name="Start chat", exact=True).click()


async def accept_offer(page: Page, customer: str) -> None:
    await expect(offer(page)).to_contain_text(customer)
    await offer(page).get_by_role("button", name="Accept", exact=True).click()
    await expect(offer(page)).to_have_count(0)
    await expect(chat_log(page)).to_be_visible()


async def seqs(scope: Page | FrameLocator) -> list[int]:
    """The ``data-seq`` of every message shown in the log, in order."""
    values = await messages(scope).evaluate_all("els => els.map(e => e.dataset.seq ?? null)")
    assert None not in values, f"a message has no data-seq: {values}"
    return [int(v) for v in values]


async def assert_log_matches_server(scope: Page | FrameLocator, demo: Demo) -> None:
    """Every message of the stored conversation is shown exactly once, and nothing else
    claims to be one: compared by seq, author side and text."""
    conversation = await demo.only_conversation()
    stored = [e for e in await demo.entries(conversation["id"]) if e["kind"] == "message"]
    await expect(chat_log(scope).locator('[data-status="sending"]')).to_have_count(0)
    shown = await messages(scope).evaluate_all(
        "els => els.map(e => [e.dataset.seq ?? null, e.dataset.author, e.textContent])"
    )
    shown_seqs = [int(seq) for seq, _, _ in shown if seq is not None]
    assert len(shown_seqs) == len(set(shown_seqs)), f"duplicated messages: {shown}"
    by_seq = {int(seq): (author, text) for seq, author, text in shown if seq is not None}
    for entry in stored:
        assert entry["seq"] in by_seq, f"message {entry} is missing from {shown}"
        author, text = by_seq[entry["seq"]]
        assert entry["body"]["text"] in text, (entry, text)
        assert author == ("visitor" if entry["author"] == "visitor" else "agent"), (entry, author)
    user_messages = [int(seq) for seq, author, _ in shown if author in ("visitor", "agent")]
    assert sorted(user_messages) == [e["seq"] for e in stored], shown


async def begin_chat(
    pages: Pages,
    observer: Observer,
    name: str = "Dana",
    email: str = "dana@example.com",
    question: str = "Do you ship to Norway?",
) -> tuple[Page, FrameLocator, Page]:
    """Alice (available) accepts a chat started by a visitor on the demo site.
    Returns (the visitor's page, the widget's frame, Alice's console)."""
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await start_chat(widget, name, email, question)
    await accept_offer(alice, name)
    await expect(widget.get_by_test_id("agent-name")).to_have_text("Chatting with Alice")
    return visitor, widget, alice


SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


async def screenshot(page: Page, name: str) -> None:
    """Save ``docs/screenshots/<name>`` only when PARLEY_SCREENSHOTS=1 (CI leaves the tree
    clean)."""
    if os.environ.get("PARLEY_SCREENSHOTS") != "1":
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=SCREENSHOTS / name, animations="disabled", caret="hide")
