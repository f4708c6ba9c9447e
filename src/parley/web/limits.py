"""Limits at the edge of the web layer: who the client is, how big a body may be, and the route
limits of the public entry points (see ``docs/security.md``, "Limits").

- ``client_ip``: the one answer to "which address is this request from", for HTTP and WebSocket
  alike. It is the socket's peer, unless that peer is a trusted proxy (``trusted_proxies``): then
  ``install`` has uvicorn's ``ProxyHeadersMiddleware`` replace it (and the scheme) with what the
  proxy put in ``X-Forwarded-For`` (the right-most address that is not itself a trusted proxy)
  and ``X-Forwarded-Proto``. By default no proxy is trusted and the headers are ignored.
- ``BodySizeLimit``: a request whose ``Content-Length`` is over ``max_body_bytes`` gets 413 before
  a byte of its body is read; a body without a length (chunked) is counted as it streams in and
  refused with 413 as soon as it is over. The application never holds more than the limit.
  Two routes take more, ``max_photo_bytes``: the photo upload (``PHOTO_UPLOAD_PATH``) and a
  workgroup's logo (``LOGO_UPLOAD_PATH``); a chat attachment (``ATTACHMENT_UPLOAD_PATH``) takes up
  to ``max_attachment_bytes``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from parley.metrics import Metrics
from parley.services.limits import Limiter, Rule
from parley.settings import Settings
from parley.web.errors import error_response

BODY_TOO_LARGE = "body_too_large"
#: The routes whose body may be larger than ``max_body_bytes`` (up to ``max_photo_bytes``): a
#: staff photo, a workgroup's logo.
PHOTO_UPLOAD_PATH = "/api/v1/me/photo"
LOGO_UPLOAD_PATH = re.compile(r"^/api/v1/admin/workgroups/[^/]+/logo$")
#: A chat attachment's upload: up to ``max_attachment_bytes`` (its chat's policy may say less,
#: which the route checks before reading: ``web.attachments_api``).
ATTACHMENT_UPLOAD_PATH = re.compile(r"^/api/v1/conversations/[^/]+/attachments$")


def client_ip(scope: Scope) -> str:
    """The client's address: the socket's peer, or what a trusted proxy said it was."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def install(app: FastAPI, settings: Settings, metrics: Metrics | None = None) -> None:
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        metrics=metrics,
        larger={PHOTO_UPLOAD_PATH: settings.max_photo_bytes},
        larger_patterns=[
            (LOGO_UPLOAD_PATH, settings.max_photo_bytes),
            (ATTACHMENT_UPLOAD_PATH, settings.max_attachment_bytes),
        ],
    )
    proxies = settings.trusted_proxy_list()
    if proxies:
        # Added last: the outermost middleware, so everything inside sees the client's address.
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=proxies)


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a streamed body is over the limit. An ``HTTPException``, so
    that FastAPI passes it on (instead of turning it into a 400) to the error handlers, which
    answer 413 ``body_too_large``."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is larger than {max_bytes} bytes")
        self.max_bytes = max_bytes


def too_large_response(max_bytes: int) -> Any:
    return error_response(
        413,
        BODY_TOO_LARGE,
        f"the request body is larger than {max_bytes} bytes",
        {"max_bytes": max_bytes},
        {"Connection": "close"},
    )


class BodySizeLimit:
    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        metrics: Metrics | None = None,
        larger: dict[str, int] | None = None,
        larger_patterns: list[tuple[re.Pattern[str], int]] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.metrics = metrics
        #: Paths with a limit of their own, and path patterns with one.
        self.larger = dict(larger or {})
        self.larger_patterns = list(larger_patterns or [])

    def limit_of(self, path: str) -> int:
        if path in self.larger:
            return self.larger[path]
        for pattern, limit in self.larger_patterns:
            if pattern.match(path):
                return limit
        return self.max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(scope.get("path", ""))
        length = _content_length(scope)
        if length is not None and length > limit:
            # Refused on the header alone: nothing of the body is read.
            self._refused()
            await too_large_response(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    self._refused()
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            # Raised where no error handler answers it (another middleware reading the body).
            if started:
                raise
            await too_large_response(limit)(scope, receive, send)

    def _refused(self) -> None:
        if self.metrics is not None:
            self.metrics.limit_hit(BODY_TOO_LARGE)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# Route limits ---------------------------------------------------------------------------------


async def check_visitor_limits(
    limiter: Limiter, per_ip: Rule, per_workgroup: Rule, what: str, request: Request, slug: str
) -> None:
    """The check of ``/workgroups/{slug}/...``, called once the request is valid: one hit per
    client address, then one per workgroup (only when the address was within its limit)."""
    await limiter.hit(
        per_ip,
        client_ip(request.scope),
        message=f"too many {what} from your address; try again later",
    )
    await limiter.hit(
        per_workgroup, slug, message=f"too many {what} for this workgroup; try again later"
    )


async def check_send_limit(
    limiter: Limiter, rule: Rule, request: Request, conversation_id: str
) -> None:
    """The check of ``/conversations/{conversation_id}/messages``, called once the request is
    valid and authenticated: per conversation and client address."""
    await limiter.hit(
        rule,
        conversation_id,
        client_ip(request.scope),
        message="too many messages; wait a moment and send again",
    )
