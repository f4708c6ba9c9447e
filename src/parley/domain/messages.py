"""Left messages: what a visitor writes when nobody can chat, and its life in the inbox.

A message is ``new`` until an agent takes it (``taken``, by that agent) and ``done`` once
answered. Separately it is emailed to the workgroup's address; a failed attempt is retried with
a growing delay (``retry_delay``) until ``MAX_EMAIL_ATTEMPTS``. The inbox holds the message
whatever the mail does.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from parley.domain.errors import Conflict, InvalidInput, TooLong
from parley.domain.text import multi_line_problem, one_line_problem

MAX_NAME_CHARS = 128
MAX_EMAIL_CHARS = 254
MAX_MESSAGE_CHARS = 4000
MAX_PAGE_CHARS = 2048
MAX_EMAIL_ATTEMPTS = 12
FIRST_RETRY = timedelta(seconds=30)
MAX_RETRY = timedelta(hours=1)
# Deliberately loose ("valid-ish"): one @, no spaces or control characters, a dot in the domain.
# The web layer validates with email-validator first; this keeps every other caller honest.
_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]{1,64}@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$")


class Status(StrEnum):
    NEW = "new"
    TAKEN = "taken"
    DONE = "done"


@dataclass(frozen=True, slots=True)
class MessageForm:
    name: str
    email: str
    message: str
    page: str = ""


@dataclass(frozen=True, slots=True)
class LeftMessage:
    id: int
    workgroup_id: int
    conversation_id: str | None
    name: str
    email: str
    message: str
    page: str
    created_at: datetime
    status: Status = Status.NEW
    taken_by: int | None = None
    taken_at: datetime | None = None
    done_at: datetime | None = None
    emailed_at: datetime | None = None
    email_attempts: int = 0
    last_email_error: str | None = None
    next_email_at: datetime | None = None
    #: The id the API and the console use: random, so it cannot be guessed (``id`` is the
    #: store's internal key).
    public_id: str = ""


def looks_like_email(text: str) -> bool:
    return len(text) <= MAX_EMAIL_CHARS and _EMAIL.fullmatch(text) is not None


def validate_form(form: MessageForm) -> MessageForm:
    """The form, trimmed, or ``InvalidInput`` saying what is wrong."""
    name, email, message = form.name.strip(), form.email.strip(), form.message.strip()
    if not name:
        raise InvalidInput("please give your name")
    if len(name) > MAX_NAME_CHARS:
        raise TooLong(f"a name is limited to {MAX_NAME_CHARS} characters")
    if not looks_like_email(email):
        raise InvalidInput("please give an email address we can answer to")
    if not message:
        raise InvalidInput("please write a message")
    if len(message) > MAX_MESSAGE_CHARS:
        raise TooLong(f"a message is limited to {MAX_MESSAGE_CHARS} characters")
    if len(form.page) > MAX_PAGE_CHARS:
        raise TooLong(f"a page address is limited to {MAX_PAGE_CHARS} characters")
    # Name and email reach the mail's headers, and with the page they are one-line fields of
    # its body: one line of printable text, also once RFC 2047 encoded words are decoded.
    for field, value in (("name", name), ("email", email), ("page", form.page)):
        problem = one_line_problem(value)
        if problem is not None:
            raise InvalidInput(f"{field}: {problem}")
    problem = multi_line_problem(message)
    if problem is not None:
        raise InvalidInput(f"message: {problem}")
    return MessageForm(name, email, message, form.page)


def take(msg: LeftMessage, user_id: int, now: datetime) -> LeftMessage:
    """An agent takes a new message; taking one's own again changes nothing."""
    if msg.status is Status.TAKEN and msg.taken_by == user_id:
        return msg
    if msg.status is not Status.NEW:
        raise Conflict(f"this message is already {msg.status.value}")
    return replace(msg, status=Status.TAKEN, taken_by=user_id, taken_at=now)


def done(msg: LeftMessage, user_id: int, now: datetime, *, may_override: bool) -> LeftMessage:
    """Mark a message answered. Someone else's taken message only with ``may_override``
    (supervisors); a new one counts as taken by whoever answered it; done twice is a no-op."""
    if msg.status is Status.DONE:
        return msg
    if msg.status is Status.TAKEN and msg.taken_by != user_id and not may_override:
        raise Conflict("another agent took this message")
    taken_by = msg.taken_by if msg.taken_by is not None else user_id
    taken_at = msg.taken_at or now
    return replace(msg, status=Status.DONE, taken_by=taken_by, taken_at=taken_at, done_at=now)


def retry_delay(attempts: int) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: 30 s, 1 min, 2 min, ... at most 1 h."""
    return min(FIRST_RETRY * (1 << max(attempts - 1, 0)), MAX_RETRY)


def email_failed(msg: LeftMessage, error: str, now: datetime) -> LeftMessage:
    attempts = msg.email_attempts + 1
    next_at = now + retry_delay(attempts) if attempts < MAX_EMAIL_ATTEMPTS else None
    return replace(
        msg, email_attempts=attempts, last_email_error=error[:500], next_email_at=next_at
    )


def email_sent(msg: LeftMessage, now: datetime) -> LeftMessage:
    return replace(
        msg,
        email_attempts=msg.email_attempts + 1,
        emailed_at=now,
        last_email_error=None,
        next_email_at=None,
    )
