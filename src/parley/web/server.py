"""The uvicorn configuration of a node, and the one limit uvicorn lacks: a deadline for headers.

What uvicorn offers, and what Parley sets (see ``docs/security.md``, "Limits"):

- ``timeout_keep_alive``: an idle keep-alive connection *between* requests is closed after that
  many seconds (5). It is armed only after a response: a connection that never completes a
  request is not covered by it.
- ``h11_max_incomplete_event_size``: the h11 parser refuses a request line plus headers over
  that size (400). The httptools parser, which uvicorn prefers when it is installed, has no such
  limit (a 3 MB header is accepted).
- ``limit_concurrency``: answers 503 once that many connections and tasks are open in total. It
  counts WebSockets too and is not per client, so Parley leaves it unset and caps WebSockets per
  client address instead (``ws_connections_per_ip``).
- No timeout for reading a request's headers: a client can open a connection and send one byte
  of headers every few seconds for ever (slowloris).

So ``http_protocol`` returns uvicorn's own HTTP protocol (httptools, or h11 when httptools is
not installed) with two additions: a connection whose request line and headers are not complete
within ``header_timeout_secs`` of its first byte (or of its opening) is closed, and request line
plus headers over ``max_header_bytes`` get 431 and the connection is closed. Not covered: a slow
*body* (the body size is capped by ``web.limits.BodySizeLimit``, not its pace), slow reading of
responses, and WebSocket handshakes that stall after their headers (the hello timeout covers
the socket once it is open).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import uvicorn

from parley.metrics import Metrics
from parley.settings import Settings
from parley.web.headers import headers_for

log = logging.getLogger(__name__)

KEEP_ALIVE_SECS = 5
GRACEFUL_SHUTDOWN_SECS = 10


def plain_response(settings: Settings, status: int, reason: str, text: str) -> bytes:
    """A whole HTTP/1.1 response written by the protocol itself (before or instead of the app),
    with the security headers every response carries (``web.headers``), and a closing
    connection."""
    body = text.encode("utf-8")
    headers = {
        "content-type": "text/plain; charset=utf-8",
        "connection": "close",
        "content-length": str(len(body)),
        **headers_for(settings, "", "text/plain", https=False, status=status),
    }
    lines = [f"HTTP/1.1 {status} {reason}"] + [f"{k}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


class _HeaderLimits:
    """Mixed into a uvicorn HTTP protocol: a deadline and a size cap for request headers."""

    header_timeout: float = 10.0
    max_header_bytes: int = 16_384
    settings: Settings
    metrics: Metrics | None = None
    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    _header_timer: asyncio.TimerHandle | None = None
    _header_bytes: int = 0
    _parsed_header_bytes: int = 0

    def _headers_pending(self) -> None:
        if self._header_timer is None:
            self._header_bytes = 0
            self._parsed_header_bytes = 0
            self._header_timer = self.loop.call_later(self.header_timeout, self._header_deadline)

    def _headers_done(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_deadline(self) -> None:
        self._header_timer = None
        self._limit_hit("header_timeout")
        log.info("limit header_timeout reached: closing a connection with incomplete headers")
        self.transport.close()

    def _count_parsed_header_bytes(self, size: int) -> bool:
        """Count the request line and header bytes the parser hands over. Headers that arrive
        whole in one read are complete before ``_count_header_bytes`` sees them, so this count
        is what catches them; False (after answering 431 and closing) when over the cap."""
        if self._header_timer is None:
            return True
        self._parsed_header_bytes += size
        if self._parsed_header_bytes <= self.max_header_bytes:
            return True
        return self._refuse_headers()

    def _count_header_bytes(self, size: int) -> bool:
        """Count bytes received while headers are pending (a slow or endless header the parser
        is still buffering); False (after answering 431 and closing) when over the cap."""
        if self._header_timer is None:
            return True
        self._header_bytes += size
        if self._header_bytes <= self.max_header_bytes:
            return True
        return self._refuse_headers()

    def _refuse_headers(self) -> bool:
        self._headers_done()
        self._limit_hit("max_header_bytes")
        log.info("limit max_header_bytes reached: 431")
        if not self.transport.is_closing():
            self.transport.write(
                plain_response(
                    self.settings,
                    431,
                    "Request Header Fields Too Large",
                    "request headers are too large\r\n",
                )
            )
            self.transport.close()
        return False

    def _limit_hit(self, name: str) -> None:
        if self.metrics is not None:
            self.metrics.limit_hit(name)

    # Both uvicorn protocols: the deadline starts with the connection and ends with it.

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        self._headers_pending()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_done()
        super().connection_lost(exc)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a request it cannot parse, with the security headers."""
        if not self.transport.is_closing():  # not after our own 431
            self.transport.write(plain_response(self.settings, 400, "Bad Request", msg))
            self.transport.close()


class HeadersTooLarge(Exception):
    """Raised from a parser callback to stop parsing a request whose headers are over the cap."""


def http_protocol(settings: Settings, metrics: Metrics | None = None) -> type[asyncio.Protocol]:
    """uvicorn's preferred HTTP protocol with the header limits of ``settings`` (their hits
    counted in ``metrics``)."""
    try:
        import httptools  # noqa: F401
    except ImportError:  # pragma: no cover - httptools comes with uvicorn[standard]
        return h11_protocol(settings, metrics)
    return httptools_protocol(settings, metrics)


def httptools_protocol(
    settings: Settings, metrics: Metrics | None = None
) -> type[asyncio.Protocol]:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    settings_, metrics_ = settings, metrics

    class Protocol(_HeaderLimits, HttpToolsProtocol):
        header_timeout = settings_.header_timeout_secs
        max_header_bytes = settings_.max_header_bytes
        settings = settings_
        metrics = metrics_

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            self._count_header_bytes(len(data))

        def on_message_begin(self) -> None:
            self._headers_pending()
            super().on_message_begin()

        def on_url(self, url: bytes) -> None:
            if not self._count_parsed_header_bytes(len(url)):
                raise HeadersTooLarge  # stops the parser; the 431 is already sent
            super().on_url(url)

        def on_header(self, name: bytes, value: bytes) -> None:
            if not self._count_parsed_header_bytes(len(name) + len(value) + 4):
                raise HeadersTooLarge
            super().on_header(name, value)

        def on_headers_complete(self) -> None:
            self._headers_done()
            super().on_headers_complete()

    return Protocol


def h11_protocol(settings: Settings, metrics: Metrics | None = None) -> type[asyncio.Protocol]:
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    settings_, metrics_ = settings, metrics

    class Protocol(_HeaderLimits, H11Protocol):
        # h11 itself refuses headers over h11_max_incomplete_event_size (see ``config``).
        header_timeout = settings_.header_timeout_secs
        max_header_bytes = settings_.max_header_bytes
        settings = settings_
        metrics = metrics_

        def data_received(self, data: bytes) -> None:
            if self.conn.their_state is h11.IDLE:
                self._headers_pending()  # the first bytes of a (next) request
            super().data_received(data)
            if self.conn.their_state is not h11.IDLE:
                self._headers_done()

    return Protocol


def config(
    app: Any, settings: Settings, metrics: Metrics | None = None, **overrides: Any
) -> uvicorn.Config:
    """The uvicorn configuration of ``parley serve`` (tests pass overrides: port 0, no pings).
    Logging is left to ``parley.logs``: uvicorn's loggers write through its handler."""
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "ws_max_size": settings.max_frame_bytes,
        # uvicorn offers permessage-deflate unless told not to: each compressed socket keeps
        # two zlib streams (tens of KB) for as long as it lives.
        "ws_per_message_deflate": settings.ws_per_message_deflate,
        "ws_ping_interval": settings.heartbeat_secs,
        "ws_ping_timeout": settings.heartbeat_secs,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN_SECS,
        "timeout_keep_alive": KEEP_ALIVE_SECS,
        "http": http_protocol(settings, metrics),
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        # The application decides whom to believe (``trusted_proxies``, see web.limits): the
        # server must not rewrite the client's address from headers on its own.
        "proxy_headers": False,
        # No logging set-up of uvicorn's own (its formats, its handlers): see parley.logs.
        "log_config": None,
    }
    options.update(overrides)
    return uvicorn.Config(app, **options)
