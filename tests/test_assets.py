"""The built front ends stay within their budgets: the launcher script a company embeds under
3 KB gzipped, the widget's iframe app under 30 KB gzipped (everything its page loads)."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import pytest
from tests.support import IN_CI

from parley.web.pages import STATIC

LOADER_BUDGET_BYTES = 3 * 1024
WIDGET_APP_BUDGET_BYTES = 30 * 1024


def gzipped(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


@pytest.fixture
def static() -> Path:
    if not (STATIC / "widget.js").exists():
        if IN_CI:
            pytest.fail("the web assets were not built: `make test` builds them first")
        pytest.skip("web assets not built (run `make assets`)")
    return STATIC


def test_loader_script_is_small(static: Path) -> None:
    assert gzipped(static / "widget.js") < LOADER_BUDGET_BYTES


def test_widget_app_is_small(static: Path) -> None:
    page = (static / "widget" / "index.html").read_text()
    loaded = set(re.findall(r'(?:src|href)="/static/([^"]+\.(?:js|css))"', page))
    assert any(name.endswith(".js") for name in loaded), "the widget page loads no script"
    total = sum(gzipped(static / name) for name in loaded)
    assert total < WIDGET_APP_BUDGET_BYTES, f"{total} bytes gzipped: {sorted(loaded)}"
