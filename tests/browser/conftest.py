"""Browser end-to-end tests: Debian's Chromium, driven by Playwright's async API, against a real
Parley node running in the test's event loop (the demo site, the demo accounts, a FakeClock).

Chromium is never downloaded (no ``playwright install``): the tests use ``/usr/bin/chromium``.
In CI (``CI=true``) a missing Chromium fails the run; elsewhere these tests are skipped.

Each test gets its own node on a random port and a fresh browser context per person; the browser
itself is launched once per test module. Run them alone with ``.venv/bin/pytest tests/browser``,
after building the front ends (``make assets``, i.e. ``cd frontend && npm run build``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, async_playwright
from tests.browser.helpers import (
    CHROMIUM_ARGS,
    Demo,
    Observer,
    Pages,
    chromium_path,
    run_demo_node,
)
from tests.support import IN_CI

from parley.web.pages import STATIC


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    # Module scope, so that the module's browser and its tests share one event loop.
    return "asyncio"


@pytest.fixture(scope="module")
async def browser(anyio_backend: str) -> AsyncIterator[Browser]:
    path = chromium_path()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if IN_CI:
            pytest.fail(message + "; CI must provide it")
        pytest.skip(message)
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def demo(tmp_path: Path) -> AsyncIterator[Demo]:
    """A fresh node with the demo site and data (see ``run_demo_node``)."""
    if not (STATIC / "widget.js").exists():
        pytest.fail("the web front ends are not built: run `make assets`")
    async with run_demo_node(tmp_path) as d:
        yield d


@pytest.fixture
async def observer(demo: Demo) -> AsyncIterator[Observer]:
    """The admin's WebSocket, to wait for presence changes made in a console."""
    async with Observer.connect(demo) as o:
        yield o


@pytest.fixture
async def pages(browser: Browser, demo: Demo) -> AsyncIterator[Pages]:
    """Fresh browser contexts (one per person), closed before the node stops; no JavaScript
    dialog may open in any of them."""
    p = Pages(browser, demo.base_url)
    try:
        yield p
    finally:
        for context in p.contexts:
            await context.close()
    assert not p.dialogs, f"a dialog opened: {p.dialogs}"
