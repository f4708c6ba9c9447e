"""Outgoing mail, as an adapter: ``SmtpMailer`` sends through an SMTP server with aiosmtplib;
``compose_left_message`` writes the mail for a left message.

The mail is plain text: what the visitor wrote is never interpreted. A visitor must not be able
to add a header or a recipient, nor forge a line of the mail's own text:

- The form refuses control characters and line breaks in the name, the address and the page,
  as typed and once RFC 2047 encoded words are decoded (``parley.domain.text``): a name
  ``=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?=`` is printable, but a header decodes it to a line
  break and a ``Bcc:`` header.
- Here, whatever is stored (rows from before that check too), every visitor value is decoded
  the way a header will decode it and reduced to one line of printable text (``one_line``)
  before it reaches a header (built as ``email.headerregistry`` objects: ``Address`` for From,
  To and Reply-To) or a one-line field of the body (``Name:``, ``Email:``, ``Page:``).
- The visitor's message comes last, after a separator line, so nothing in it can pass for one
  of those fields or for Parley's own text.
- Before it is sent, the mail is written out and read back (``_verified``): the same headers,
  each once, none holding a control character, or it is not sent (``MailError``).

Reply-To is the visitor, so an agent's "Reply" goes straight to them.
"""

from __future__ import annotations

import html
import logging
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, policy
from email.errors import HeaderParseError, MessageError
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Protocol

import aiosmtplib

from parley.domain.messages import LeftMessage
from parley.domain.text import has_control, one_line
from parley.settings import Settings

log = logging.getLogger(__name__)

MAX_SUBJECT_NAME_CHARS = 60
#: The line between the mail's own text and the visitor's message, which runs to the end.
MESSAGE_SEPARATOR = "----- The visitor's message, as written, to the end of this mail -----"


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


def compose_left_message(
    msg: LeftMessage, *, workgroup_name: str, to: str, sender: str
) -> EmailMessage:
    """The mail to the workgroup for a left message; ``MailError`` when it cannot be written
    safely (an address the headers cannot carry, or a header that does not read back)."""
    name = one_line(msg.name, 128) or "a visitor"
    email = one_line(msg.email, 254)
    page = one_line(msg.page, 2048)
    workgroup = one_line(workgroup_name, 128)
    mail = EmailMessage(policy=policy.SMTP)
    try:
        mail["From"] = Address("Parley", addr_spec=sender)
        mail["To"] = Address(addr_spec=one_line(to, 254))
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise MailError(f"the sender or the workgroup's address is not usable: {exc}") from exc
    try:
        mail["Reply-To"] = Address(display_name=name, addr_spec=email)
    except (ValueError, IndexError, HeaderParseError):
        # Not an address the mail headers can carry: it still appears in the body.
        log.warning("left message %s: the visitor's address cannot be a Reply-To", msg.id)
    subject_name = name if len(name) <= MAX_SUBJECT_NAME_CHARS else name[:59] + "…"
    mail["Subject"] = f"[{workgroup}] Message from {subject_name}"
    mail["Date"] = format_datetime(msg.created_at)
    # The domain given: make_msgid would otherwise look up this host's name on every mail.
    domain = sender.rpartition("@")[2] or "parley.invalid"
    mail["Message-ID"] = make_msgid(f"left-message-{msg.id}", domain=domain)
    # Parley's own text first, each field on one line; the visitor's message last.
    lines = [
        f"{name} left a message for {workgroup} when nobody could chat.",
        "Reply to this mail to answer the visitor directly.",
        "",
        f"Name:  {name}",
        f"Email: {email}",
    ]
    if page:
        lines.append(f"Page:  {page}")
    if msg.conversation_id:
        lines.append(f"After the chat {msg.conversation_id}")
    lines += ["", MESSAGE_SEPARATOR, msg.message]
    mail.set_content("\n".join(lines))
    return _verified(mail)


def _verified(mail: EmailMessage) -> EmailMessage:
    """``mail``, once written out and read back it has the same headers, each once, and none
    of them holds a control character (a line break that would start a header of its own)."""
    try:
        read = message_from_bytes(mail.as_bytes(), policy=policy.default)
    except (ValueError, MessageError) as exc:
        raise MailError(f"the mail cannot be written: {exc}") from exc
    written = [k.lower() for k in mail]
    if [k.lower() for k in read] != written or len(set(written)) != len(written):
        raise MailError("the mail's headers do not read back as written; not sent")
    if any(has_control(str(read[k])) for k in read):
        raise MailError("a header of the mail holds a control character; not sent")
    return mail


# A chat's transcript, mailed to the customer who asked for it -------------------------------


@dataclass(frozen=True, slots=True)
class TranscriptLine:
    """One public message of a transcript: who wrote it (a display name), when, the text."""

    author: str
    at: datetime
    text: str


def compose_transcript(
    *,
    to: str,
    sender: str,
    workgroup_name: str,
    conversation_id: str,
    started_at: datetime,
    question: str,
    lines: list[TranscriptLine],
    now: datetime,
) -> EmailMessage:
    """The transcript mail (plain text and HTML): the opening question and the public messages
    the caller chose (never a private note: ``services.transcripts`` keeps messages only).
    Every name is one printable line (``one_line``); every message line after the first is
    indented in the plain text, so a message cannot pass for another line of the transcript;
    the HTML escapes everything. ``MailError`` when the address cannot be a header."""
    workgroup = one_line(workgroup_name, 128)
    mail = EmailMessage(policy=policy.SMTP)
    try:
        mail["From"] = Address(workgroup or "Parley", addr_spec=sender)
        mail["To"] = Address(addr_spec=one_line(to, 254))
    except (ValueError, IndexError, HeaderParseError) as exc:
        raise MailError(f"the address is not usable: {exc}") from exc
    mail["Subject"] = f"Your chat with {workgroup}" if workgroup else "Your chat"
    mail["Date"] = format_datetime(now)
    domain = sender.rpartition("@")[2] or "parley.invalid"
    mail["Message-ID"] = make_msgid(f"transcript-{conversation_id}", domain=domain)
    stamp = "%Y-%m-%d %H:%M UTC"
    plain = [
        f"The transcript of your chat with {workgroup or 'us'}, started {started_at:{stamp}}.",
        "",
        "Your question:",
        *_indented(question or "(none)"),
        "",
    ]
    rows: list[str] = []
    for line in lines:
        who = one_line(line.author, 128) or "?"
        plain.append(f"[{line.at:%H:%M}] {who}:")
        plain += _indented(line.text)
        rows.append(
            '<tr><td style="color:#555;white-space:nowrap;vertical-align:top">'
            f'{line.at:%H:%M}</td><th style="text-align:left;vertical-align:top">'
            f'{html.escape(who)}</th><td style="white-space:pre-wrap">'
            f"{html.escape(line.text)}</td></tr>"
        )
    if not lines:
        plain.append("(no messages)")
    mail.set_content("\n".join(plain))
    title = html.escape(f"Your chat with {workgroup}" if workgroup else "Your chat")
    body = (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head>'
        f'<body><h1 style="font-size:1.2em">{title}</h1>'
        f"<p>Started {started_at:{stamp}}.</p>"
        '<h2 style="font-size:1em">Your question</h2>'
        f'<p style="white-space:pre-wrap">{html.escape(question or "(none)")}</p>'
        f"<table>{''.join(rows) or '<tr><td>(no messages)</td></tr>'}</table>"
        "</body></html>"
    )
    mail.add_alternative(body, subtype="html")
    return _verified(mail)


def _indented(text: str) -> list[str]:
    return ["    " + part for part in text.splitlines() or [""]]
