"""Outgoing mail, as an adapter: ``SmtpMailer`` sends through an SMTP server with aiosmtplib;
``compose_left_message`` writes the mail for a left message.

The mail is plain text: what the visitor wrote is never interpreted. Header values that come
from the visitor (name, address) are reduced to one line of printable text before they reach a
header, and ``EmailMessage`` refuses any line break left in one, so a visitor cannot add headers
or recipients. Reply-To is the visitor, so an agent's "Reply" goes straight to them.
"""

from __future__ import annotations

import logging
from email.errors import HeaderParseError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

import aiosmtplib

from parley.domain.messages import LeftMessage
from parley.settings import Settings

log = logging.getLogger(__name__)

MAX_SUBJECT_NAME_CHARS = 60


class MailError(Exception):
    """Sending failed; the message says why (shown to admins, no secrets in it)."""


class Mailer(Protocol):
    @property
    def enabled(self) -> bool: ...

    async def send(self, message: EmailMessage) -> None:
        """Deliver ``message`` to the server, or raise ``MailError``."""
        ...


class NoMailer:
    """Mail is not configured (no ``smtp_host``): left messages reach the inbox only."""

    enabled = False

    async def send(self, message: EmailMessage) -> None:
        raise MailError("mail is not configured (set PARLEY_SMTP_HOST)")


class SmtpMailer:
    enabled = True

    def __init__(
        self,
        host: str,
        port: int,
        *,
        security: str = "starttls",
        username: str = "",
        password: str = "",
        timeout_secs: float = 15,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout_secs = timeout_secs

    async def send(self, message: EmailMessage) -> None:
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username or None,
                password=self._password or None,
                use_tls=self._security == "ssl",
                start_tls=self._security == "starttls",
                timeout=self._timeout_secs,
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            raise MailError(f"{type(exc).__name__}: {exc}"[:500]) from exc


def mailer_for(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return NoMailer()
    return SmtpMailer(
        settings.smtp_host,
        settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username,
        password=settings.smtp_password,
        timeout_secs=settings.smtp_timeout_secs,
    )


def one_line(text: str, limit: int) -> str:
    """Printable text on one line, for a header: control characters become spaces."""
    cleaned = "".join(ch if ch.isprintable() else " " for ch in text)
    return " ".join(cleaned.split())[:limit]


def compose_left_message(
    msg: LeftMessage, *, workgroup_name: str, to: str, sender: str
) -> EmailMessage:
    name = one_line(msg.name, 128) or "a visitor"
    mail = EmailMessage()
    mail["From"] = Address("Parley", addr_spec=sender)
    mail["To"] = to
    try:
        mail["Reply-To"] = Address(display_name=name, addr_spec=one_line(msg.email, 254))
    except (ValueError, IndexError, HeaderParseError):
        # Not an address the mail headers can carry: it still appears in the body.
        log.warning("left message %s: the visitor's address cannot be a Reply-To", msg.id)
    subject_name = name if len(name) <= MAX_SUBJECT_NAME_CHARS else name[:59] + "…"
    mail["Subject"] = f"[{one_line(workgroup_name, 128)}] Message from {subject_name}"
    mail["Date"] = format_datetime(msg.created_at)
    # The domain given: make_msgid would otherwise look up this host's name on every mail.
    domain = sender.rpartition("@")[2] or "parley.invalid"
    mail["Message-ID"] = make_msgid(f"left-message-{msg.id}", domain=domain)
    lines = [
        f"{name} left a message for {workgroup_name} when nobody could chat.",
        "",
        f"Name:  {msg.name}",
        f"Email: {msg.email}",
    ]
    if msg.page:
        lines.append(f"Page:  {msg.page}")
    if msg.conversation_id:
        lines.append(f"After the chat {msg.conversation_id}")
    lines += ["", msg.message, "", "--", "Reply to this mail to answer the visitor directly."]
    mail.set_content("\n".join(lines))
    return mail
