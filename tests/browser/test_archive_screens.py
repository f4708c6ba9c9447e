"""The archive in the browsers: the notice an admin sets in the console reaches the widget
before the customer's first message (and staff as a banner at first login, dismissed for
good); a supervisor searches the archive, opens a conversation read-only, and exports the
result with a progress bar that advances as the server reports, to a download.

The export is made deterministic by holding it between conversations: the archive service's
reads in the export task wait for a permit the test gives, one at a time, and progress is
written after every conversation (``PROGRESS_EVERY`` 1)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect
from tests.browser.helpers import (
    Demo,
    Observer,
    Pages,
    accept_offer,
    login_agent,
    messages,
    open_widget,
    send,
    start_chat,
)

from parley.storage.db import Database
from parley.storage.tx import Tx

NOTICE = "Chats are archived for 90 days and may be reviewed. <b>Ask us</b> for a copy."


async def test_the_archive_notice_reaches_the_widget_before_the_first_message(
    demo: Demo, pages: Pages, observer: Observer
) -> None:
    # The admin sets the notice in the console.
    admin = await pages.new("admin")
    await login_agent(admin, "admin", presence=None)
    await admin.get_by_role("button", name="Archiving", exact=True).click()
    await admin.get_by_label("Archive notice").fill(NOTICE)
    await admin.get_by_role("button", name="Save policy", exact=True).click()
    await expect(admin.get_by_role("status").filter(has_text="Saved the archiving")).to_be_visible()

    # A visitor sees it in the widget before writing anything: in the form, as text.
    alice = await pages.new("alice")
    await login_agent(alice, "alice")
    await observer.presence("alice", "available")
    visitor = await pages.new("visitor")
    widget = await open_widget(visitor)
    await expect(widget.get_by_test_id("archive-notice")).to_have_text(NOTICE)
    await expect(widget.locator("b")).to_have_count(0)
    await start_chat(widget, "Dana", "dana@example.com")
    await accept_offer(alice, "Dana")
    await send(widget, "Hello, a question about my order")
    await expect(messages(widget, "visitor")).to_have_count(1)
    # In the chat, the notice is the log's first line, before the customer's first message.
    log = widget.get_by_role("log")
    first = await log.evaluate("el => el.firstElementChild.dataset.testid")
    assert first == "archive-notice", first
    order = await log.evaluate(
        """el => {
            const notice = el.querySelector('[data-testid="archive-notice"]');
            const message = el.querySelector('[data-testid="message"][data-author="visitor"]');
            return !!(notice.compareDocumentPosition(message) & Node.DOCUMENT_POSITION_FOLLOWING);
        }"""
    )
    assert order is True

    # Staff: a banner at first login, until dismissed (remembered across reloads), and the
    # line in their DMs and rooms; agents have no archive screens.
    banner = alice.get_by_test_id("archive-banner")
    await expect(banner).to_contain_text(NOTICE)
    await expect(alice.get_by_role("button", name="Archive", exact=True)).to_have_count(0)
    await banner.get_by_role("button", name="Got it", exact=True).click()
    await expect(banner).to_have_count(0)
    await alice.reload()
    await expect(alice.get_by_role("button", name="Log out", exact=True)).to_be_visible()
    await expect(alice.get_by_test_id("team-empty")).to_be_visible()
    await expect(alice.get_by_test_id("archive-banner")).to_have_count(0)
    await alice.get_by_role("button", name="New room", exact=True).click()
    dialog = alice.get_by_role("dialog", name="New room")
    await dialog.get_by_label("Room name").fill("Orders")
    await dialog.get_by_role("button", name="Create room", exact=True).click()
    view = alice.get_by_test_id("im-view")
    await expect(view.get_by_test_id("archive-notice")).to_have_text(NOTICE)


class HeldExport:
    """Holds the export task before each of its reads until the test gives a permit."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._permits: asyncio.Queue[None] = asyncio.Queue()
        self.waiting = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)

    def release(self) -> None:
        self._permits.put_nowait(None)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        task = asyncio.current_task()
        if task is not None and task.get_coro().__qualname__ == "ArchiveService._run_export":  # type: ignore[union-attr]
            self.waiting.set()
            await self._permits.get()
        async with self._db.read() as tx:
            yield tx


async def staff_api(demo: Demo, who: str, method: str, path: str, body: Any = None) -> Any:
    token = await demo.token(who)
    async with demo.node.http(headers={"Authorization": f"Bearer {token}"}) as http:
        r = await http.request(method, f"/api/v1{path}", json=body)
        assert r.status_code < 300, r.text
        return r.json() if r.content else None


async def test_a_supervisor_searches_and_exports_with_a_progress_bar(
    demo: Demo, pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Four open rooms that talk about refunds (a supervisor reads open rooms).
    rooms = []
    for i in range(4):
        room = await staff_api(
            demo, "alice", "POST", "/im/rooms", {"name": f"Orders {i}", "visibility": "open"}
        )
        await staff_api(
            demo,
            "alice",
            "POST",
            f"/conversations/{room['id']}/messages",
            {"client_id": f"c{i}", "text": f"The REFUND of order {i} <i>is late</i>"},
        )
        rooms.append(room["id"])
    monkeypatch.setattr("parley.services.archive.PROGRESS_EVERY", 1)
    held = HeldExport(demo.parley.archive._db)
    monkeypatch.setattr(demo.parley.archive, "_db", held)

    sam = await pages.new("sam")
    await login_agent(sam, "sam", presence=None)
    await sam.get_by_role("button", name="Archive", exact=True).click()
    await sam.get_by_label("Words").fill("refund")
    await sam.get_by_label("Kind").select_option(label="Rooms")
    await sam.get_by_role("button", name="Search", exact=True).click()
    hits = sam.get_by_test_id("archive-hit")
    await expect(hits).to_have_count(4)
    # The words are marked; what people wrote stays text.
    await expect(hits.first.locator("mark")).to_have_text("REFUND")
    await expect(sam.get_by_test_id("archive-snippet").locator("i")).to_have_count(0)
    await expect(hits.first).to_contain_text("<i>is late</i>")

    # Opened read-only, and said to be an audited read.
    await hits.first.get_by_role("button", name="Open conversation").click()
    reader = sam.get_by_test_id("archive-reader")
    await expect(reader.get_by_test_id("archive-read-audited")).to_contain_text("audited read")
    await expect(reader.get_by_role("log")).to_contain_text("is late")
    await expect(reader.get_by_role("textbox")).to_have_count(0)

    # The export: the bar follows what the server reports, conversation by conversation.
    await sam.get_by_role("button", name="Export these results", exact=True).click()
    bar = sam.get_by_role("progressbar", name="Export progress")
    await expect(bar).to_have_attribute("value", "0")
    await asyncio.wait_for(held.waiting.wait(), 10)
    held.release()  # counted: 4 conversations, none done
    await expect(bar).to_have_attribute("aria-valuetext", "0%, 0 of 4 conversations")
    for done, percent in ((1, 25), (2, 50), (3, 75)):
        held.release()
        await expect(bar).to_have_attribute(
            "aria-valuetext", f"{percent}%, {done} of 4 conversations"
        )
        await expect(sam.get_by_test_id("export-status")).to_have_text(
            f"Exporting… {done} of 4 conversations ({percent}%)"
        )
    held.release()
    await expect(bar).to_have_attribute("value", "100")
    await expect(sam.get_by_test_id("export-status")).to_have_text("Export ready: 4 conversations.")
    link = sam.get_by_role("link", name="Download JSON lines")
    await expect(sam.get_by_role("link", name="Download HTML transcripts (zip)")).to_be_visible()

    # The link works with the console's session, and holds the four rooms.
    async with sam.expect_download() as download_info:
        await link.click()
    download = await download_info.value
    assert download.suggested_filename.endswith(".jsonl")
    path = await download.path()
    text = await asyncio.to_thread(Path(path).read_text, encoding="utf-8")
    lines = [json.loads(x) for x in text.splitlines()]
    exported = sorted(x["id"] for x in lines if x["type"] == "conversation")
    assert exported == sorted(rooms)
    actions = [
        r["action"]
        for r in await staff_api(demo, "admin", "GET", "/admin/audit?action=archive&limit=50")
    ]
    for action in ("archive.search", "archive.read", "archive.export", "archive.export.downloaded"):
        assert action in actions, actions
