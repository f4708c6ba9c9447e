"""Logs: one JSON object per line with the request's or the connection's id, uvicorn's own
lines included; text when asked (or on a terminal)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.conftest import make_world
from tests.support import WsClient

from parley import logs


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """``logs.configure`` changes process-wide state: put it back."""
    root = logging.getLogger()
    saved_root = (list(root.handlers), root.level)
    saved = {
        name: (list(lg.handlers), lg.propagate, lg.level, list(lg.filters))
        for name in logs.UVICORN_LOGGERS
        for lg in [logging.getLogger(name)]
    }
    try:
        yield
    finally:
        root.handlers[:] = saved_root[0]
        root.setLevel(saved_root[1])
        for name, (handlers, propagate, level, filters) in saved.items():
            lg = logging.getLogger(name)
            lg.handlers[:] = handlers
            lg.propagate = propagate
            lg.setLevel(level)
            lg.filters[:] = filters


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    text = stream.getvalue()
    assert text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]  # every line is one JSON object


@pytest.mark.usefixtures("restore_logging")
async def test_every_line_of_a_request_carries_its_id(tmp_path: Path) -> None:
    stream = io.StringIO()
    async for world in make_world("sqlite", tmp_path):
        logs.configure("info", "json", stream)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).setLevel(logging.INFO)  # the tests' nodes run at warning
        async with world.node.http() as http:
            r = await http.get("/healthz?secret=1")
            other = await http.get("/readyz")
        rid = r.headers["x-request-id"]
        assert rid != other.headers["x-request-id"]
        async with WsClient.connect(world.node.ws_url) as ws:
            await ws.send({"type": "ping"})  # not hello: refused, and the socket closed
            refused = await ws.recv()
        assert refused["type"] == "error"
        logging.getLogger("parley.test").info("no request now", extra={"answer": 42})

    found = lines(stream)
    access = [x for x in found if x["logger"] == "uvicorn.access" and x["request_id"] == rid]
    assert len(access) == 1
    line = access[0]
    assert line["level"] == "info"
    assert line["method"] == "GET" and line["path"] == "/healthz" and line["status"] == 200
    assert "secret" not in line["msg"]  # the query string is left out
    assert line["ts"].endswith("Z")
    socket_lines = [x for x in found if "connection_id" in x]
    assert socket_lines, found
    assert all("request_id" not in x for x in socket_lines)
    assert any("WebSocket /ws" in x["msg"] for x in socket_lines)
    (plain,) = [x for x in found if x["msg"] == "no request now"]
    assert plain["answer"] == 42 and "request_id" not in plain and "connection_id" not in plain


def test_a_json_line_stays_one_line() -> None:
    try:
        raise ValueError("bad\nthing")
    except ValueError:
        import sys

        rec = logging.LogRecord(
            "parley.x", logging.ERROR, __file__, 1, "two\nlines %s", ("x",), sys.exc_info()
        )
    rec.__dict__["color_message"] = "uvicorn's copy with colours"
    token = logs.request_id.set("abc")
    try:
        text = logs.JsonFormatter().format(rec)
    finally:
        logs.request_id.reset(token)
    assert "\n" not in text
    line = json.loads(text)
    assert line["msg"] == "two\nlines x"
    assert line["request_id"] == "abc"
    assert line["level"] == "error" and line["logger"] == "parley.x"
    assert "ValueError: bad\nthing" in line["exc"]
    assert "color_message" not in line


@pytest.mark.usefixtures("restore_logging")
def test_text_when_asked() -> None:
    stream = io.StringIO()
    logs.configure("info", "text", stream)
    token = logs.connection_id.set("c0ffee")
    try:
        logging.getLogger("parley.x").info("hello %s", "there")
    finally:
        logs.connection_id.reset(token)
    text = stream.getvalue()
    assert text.endswith("INFO parley.x [conn c0ffee]: hello there\n")
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    assert logs.resolve("auto", _Terminal()) == "text"
    assert logs.resolve("auto", io.StringIO()) == "json"
    assert logs.resolve("json", _Terminal()) == "json"
    assert logs.resolve("text", io.StringIO()) == "text"


@pytest.mark.usefixtures("restore_logging")
def test_configure_replaces_its_own_handler_only() -> None:
    other = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(other)
    first = logs.configure("info", "json", io.StringIO())
    second = logs.configure("warning", "json", io.StringIO())
    assert first not in root.handlers and second in root.handlers and other in root.handlers
    assert root.level == logging.WARNING
