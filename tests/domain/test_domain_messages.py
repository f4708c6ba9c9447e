"""Left messages: the form's checks, taking and finishing, and the email retry schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import messages
from parley.domain.errors import Conflict, InvalidInput, TooLong
from parley.domain.messages import LeftMessage, MessageForm, Status

T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def left() -> LeftMessage:
    return LeftMessage(1, 7, None, "Zoe", "zoe@example.com", "Call me", "", T0)


def test_the_form_is_trimmed_and_checked() -> None:
    form = messages.validate_form(MessageForm("  Zoe ", " zoe@example.com", " Hi\n", "/p"))
    assert form == MessageForm("Zoe", "zoe@example.com", "Hi", "/p")
    for bad, error in [
        (MessageForm(" ", "zoe@example.com", "Hi"), InvalidInput),
        (MessageForm("Zoe", "zoe", "Hi"), InvalidInput),
        (MessageForm("Zoe", "zoe@example.com\nBcc: x@y.z", "Hi"), InvalidInput),
        (MessageForm("Zoe", "zoe@example.com", " \n "), InvalidInput),
        (MessageForm("Zoe", "zoe@example.com", "x" * 4001), TooLong),
        (MessageForm("Z" * 129, "zoe@example.com", "Hi"), TooLong),
        (MessageForm("Zoe\r\nBcc: x@y.z", "zoe@example.com", "Hi"), InvalidInput),
    ]:
        with pytest.raises(error):
            messages.validate_form(bad)


def test_take_then_done() -> None:
    taken = messages.take(left(), 3, T0)
    assert (taken.status, taken.taken_by, taken.taken_at) == (Status.TAKEN, 3, T0)
    assert messages.take(taken, 3, T0 + timedelta(1)) == taken  # idempotent
    with pytest.raises(Conflict, match="already taken"):
        messages.take(taken, 4, T0)
    with pytest.raises(Conflict, match="another agent"):
        messages.done(taken, 4, T0, may_override=False)
    finished = messages.done(taken, 4, T0, may_override=True)
    assert (finished.status, finished.taken_by, finished.done_at) == (Status.DONE, 3, T0)
    assert messages.done(finished, 3, T0, may_override=False) == finished
    with pytest.raises(Conflict, match="already done"):
        messages.take(finished, 3, T0)
    # Answered without taking it first: whoever answered took it.
    direct = messages.done(left(), 5, T0, may_override=False)
    assert (direct.status, direct.taken_by) == (Status.DONE, 5)


def test_email_retries_back_off_then_stop() -> None:
    assert [messages.retry_delay(n).total_seconds() for n in (1, 2, 3, 8, 20)] == [
        30,
        60,
        120,
        3600,
        3600,
    ]
    msg = left()
    for attempt in range(1, messages.MAX_EMAIL_ATTEMPTS):
        msg = messages.email_failed(msg, "refused", T0)
        assert msg.next_email_at == T0 + messages.retry_delay(attempt)
    msg = messages.email_failed(msg, "refused", T0)
    assert (msg.email_attempts, msg.next_email_at) == (messages.MAX_EMAIL_ATTEMPTS, None)
    sent = messages.email_sent(messages.email_failed(left(), "x", T0), T0)
    assert (sent.emailed_at, sent.email_attempts, sent.last_email_error) == (T0, 2, None)
