"""JSON from clients, parsed strictly: WebSocket frames and REST request bodies alike.

A client's JSON is refused (``bad_json``) when it nests arrays and objects deeper than
``MAX_JSON_DEPTH``, repeats a key in one object (``{"type": "ping", "type": "send"}``: parsers
disagree about which one wins, so the message is ambiguous), or holds ``NaN`` or ``Infinity``
(not JSON). The depth is measured by a linear scan without recursion *before* anything parses the
text, so that no parser recurses a thousand levels deep.

``check`` is called on every WebSocket frame before the protocol model validates it, and
``StrictJsonBodies`` (ASGI middleware) checks every JSON request body as the route reads it.
"""

from __future__ import annotations

import json
import re
from collections.abc import MutableMapping
from itertools import accumulate
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_JSON_DEPTH = 32

_STRINGS = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\\?\Z)', re.DOTALL)
_NOT_BRACKETS = re.compile(r"[^\[\]{}]+")
_DELTA = {"[": 1, "{": 1, "]": -1, "}": -1}
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class BadJson(ValueError):
    """The text is not JSON that Parley accepts; the message says why."""


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text``, not counting brackets inside strings.

    Linear in the length and without recursion: the strings are cut out by one regular
    expression whose possessive quantifiers never backtrack (an unterminated string runs to the
    end), then the brackets left are summed.
    """
    brackets = _NOT_BRACKETS.sub("", _STRINGS.sub("", text))
    if not brackets:
        return 0
    return max(accumulate(map(_DELTA.__getitem__, brackets)))


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise BadJson(f"the key {key[:64]!r} appears twice in one object")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise BadJson(f"{name} is not a JSON value")


def check(text: str) -> None:
    """Raise ``BadJson`` unless ``text`` is JSON within the limits above."""
    # Fewer opening brackets than the limit cannot nest deeper: most messages stop here.
    openers = text.count("[") + text.count("{")
    if openers > MAX_JSON_DEPTH and nesting_depth(text) > MAX_JSON_DEPTH:
        raise BadJson(f"nested deeper than {MAX_JSON_DEPTH} levels")
    try:
        json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except BadJson:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadJson("not valid JSON") from exc


class _BodyRefused(json.JSONDecodeError):
    """Raised from ``receive`` when a JSON body is refused: FastAPI answers any JSONDecodeError
    from reading the body with a ``json_invalid`` validation error (400 ``bad_json`` here)."""

    def __init__(self, reason: str, body: str) -> None:
        super().__init__(reason, body, 0)


def _is_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media = bytes(value).split(b";", 1)[0].strip().lower()
            return media == b"application/json" or media.endswith(b"+json")
    return True  # FastAPI parses a body without a content type as JSON


class StrictJsonBodies:
    """Checks each JSON request body with ``check`` once the route has read all of it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS or not _is_json(scope):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []

        async def checked_receive() -> Message:
            message: MutableMapping[str, Any] = await receive()
            if message["type"] == "http.request":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    body = b"".join(chunks)
                    chunks.clear()
                    if body:
                        _check_body(body)
            return message

        await self.app(scope, checked_receive, send)


def _check_body(body: bytes) -> None:
    try:
        text = body.decode(json.detect_encoding(body), "surrogatepass")
    except (UnicodeDecodeError, LookupError):
        return  # the route's own parser refuses it
    try:
        check(text)
    except BadJson as exc:
        raise _BodyRefused(str(exc), text) from None
