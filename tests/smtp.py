"""A real SMTP server for the tests (aiosmtpd), in the test's own event loop, on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP

RECV_TIMEOUT_SECS = 10.0


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    #: The message exactly as the server received it.
    raw: bytes = b""

    def header_names(self) -> list[str]:
        """The names of the raw header lines, in order (continuation lines are not headers)."""
        head = self.raw.split(b"\r\n\r\n", 1)[0]
        return [
            line.split(b":", 1)[0].decode("ascii", "replace")
            for line in head.split(b"\r\n")
            if line and line[:1] not in (b" ", b"\t")
        ]


@dataclass
class SmtpSink:
    """Collects every mail the server accepts."""

    port: int = 0
    received: asyncio.Queue[Received] = field(default_factory=asyncio.Queue)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.put_nowait(
            Received(envelope.mail_from, list(envelope.rcpt_tos), message, bytes(envelope.content))
        )
        return "250 Message accepted for delivery"

    async def next(self) -> Received:
        return await asyncio.wait_for(self.received.get(), RECV_TIMEOUT_SECS)


def free_port() -> int:
    """A port nothing listens on (yet)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@asynccontextmanager
async def smtp_server(port: int = 0) -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="mail.test", loop=loop), "127.0.0.1", port
    )
    sink.port = int(server.sockets[0].getsockname()[1])
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
