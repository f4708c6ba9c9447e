"""Logs: one event per line, JSON for machines, text for people (``docs/operations.md``, "Logs").

``configure`` installs one handler on the root logger, and sends uvicorn's own loggers (its
errors and its access log) through it: every line of the process has the same format. With
``log_format`` ``auto`` the format is text when the stream is a terminal, JSON lines otherwise.

While a request or a WebSocket is handled, ``web.request_context`` puts its id in a context
variable (``request_id`` or ``connection_id``); every line logged meanwhile carries it, tasks
started from there included (asyncio copies the context into them).
"""

from __future__ import annotations

import json
import logging
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

LogFormat = Literal["auto", "json", "text"]

request_id: ContextVar[str | None] = ContextVar("parley_request_id", default=None)
connection_id: ContextVar[str | None] = ContextVar("parley_connection_id", default=None)

#: uvicorn's loggers: their own handlers are removed, so that they propagate to ours.
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access", "uvicorn.asgi")

# The attributes every LogRecord has; anything else was passed with ``extra=`` and is a field
# (but uvicorn's ``color_message``: the message again, with terminal colours).
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


def new_id() -> str:
    """A request or connection id: 16 hex digits."""
    return secrets.token_hex(8)


def context() -> dict[str, str]:
    """The ids of what is being handled now (none, one or, rarely, both)."""
    found = {}
    rid, cid = request_id.get(), connection_id.get()
    if rid is not None:
        found["request_id"] = rid
    if cid is not None:
        found["connection_id"] = cid
    return found


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``ts``, ``level``, ``logger``, ``msg``, the ids of
    ``context()``, the fields given with ``extra=``, and ``exc`` (the traceback) if any.
    ``json.dumps`` escapes newlines, so a message can never span or forge lines."""

    def format(self, record: logging.LogRecord) -> str:
        when = datetime.fromtimestamp(record.created, UTC)
        line: dict[str, Any] = {
            "ts": when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **context(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_") and key not in line:
                line[key] = value
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``2025-06-01 12:00:00,123 INFO parley.web.ws [conn 1f2e...]: message``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s%(ids)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        ids = context()
        parts = [f"req {ids['request_id']}"] if "request_id" in ids else []
        if "connection_id" in ids:
            parts.append(f"conn {ids['connection_id']}")
        record.__dict__["ids"] = f" [{', '.join(parts)}]" if parts else ""
        try:
            return super().format(record)
        finally:
            del record.__dict__["ids"]


class AccessFields(logging.Filter):
    """uvicorn's access log as fields (``client``, ``method``, ``path``, ``status``), and the
    query string left out: it can hold what staff searched for (customers' names)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5:
            client, method, path, http_version, status = args
            path = str(path).split("?", 1)[0]
            record.args = (client, method, path, http_version, status)
            record.client = client
            record.method = method
            record.path = path
            record.status = status
        return True


def is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def resolve(fmt: LogFormat, stream: TextIO) -> Literal["json", "text"]:
    if fmt == "auto":
        return "text" if is_terminal(stream) else "json"
    return fmt


def configure(level: str, fmt: LogFormat = "auto", stream: TextIO | None = None) -> logging.Handler:
    """Log at ``level`` (debug, info, warning, error) to ``stream`` (standard error) in
    ``fmt``. Replaces a handler an earlier call installed; returns the new one."""
    stream = sys.stderr if stream is None else stream
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter() if resolve(fmt, stream) == "json" else TextFormatter())
    handler.set_name("parley")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "parley"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, AccessFields) for f in access.filters):
        access.addFilter(AccessFields())
    return handler
