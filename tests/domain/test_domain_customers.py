"""The pure rules of issue 12's customer pieces: whether the customer is there
(``domain.visitor_presence``), profiles (``domain.profiles``) and transcripts by email
(``domain.transcripts``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import profiles, transcripts
from parley.domain import visitor_presence as vp
from parley.domain.conversation import Entry, EntryKind, Status
from parley.domain.errors import Conflict, InvalidInput, RateLimited, TooLong
from parley.domain.identity import Link

T0 = datetime(2026, 12, 4, 9, tzinfo=UTC)
GRACE = timedelta(seconds=30)
IDLE = timedelta(seconds=300)


def test_the_grace_starts_with_the_last_socket_only() -> None:
    assert vp.disconnected(vp.THERE, 1, T0) == vp.THERE  # another tab is open
    gone = vp.disconnected(vp.THERE, 0, T0)
    assert gone == vp.VisitorPresence(gone_at=T0)
    assert vp.disconnected(gone, 0, T0 + GRACE) == gone  # it started once


def test_announced_after_the_grace_then_ended_after_the_idle_time() -> None:
    gone = vp.VisitorPresence(gone_at=T0)
    assert vp.due(gone, Status.ACTIVE, T0 + GRACE / 2, GRACE, IDLE) == (vp.Due.NOTHING, T0 + GRACE)
    later = T0 + GRACE
    assert vp.due(gone, Status.ACTIVE, later, GRACE, IDLE) == (vp.Due.ANNOUNCE, later + IDLE)
    left = vp.VisitorPresence(gone_at=T0, left_at=later)
    assert vp.due(left, Status.ACTIVE, later + IDLE / 2, GRACE, IDLE) == (
        vp.Due.NOTHING,
        later + IDLE,
    )
    assert vp.due(left, Status.ACTIVE, later + IDLE, GRACE, IDLE) == (vp.Due.END, None)


def test_never_ended_with_no_idle_time_and_queued_chats_wait() -> None:
    gone = vp.VisitorPresence(gone_at=T0)
    never = timedelta(0)
    assert vp.due(gone, Status.ACTIVE, T0 + GRACE, GRACE, never) == (vp.Due.ANNOUNCE, None)
    left = vp.VisitorPresence(gone_at=T0, left_at=T0 + GRACE)
    assert vp.due(left, Status.ACTIVE, T0 + timedelta(days=9), GRACE, never) == (
        vp.Due.NOTHING,
        None,
    )
    assert vp.due(gone, Status.QUEUED, T0 + timedelta(days=1), GRACE, IDLE) == (
        vp.Due.NOTHING,
        None,
    )
    assert vp.due(vp.THERE, Status.ACTIVE, T0, GRACE, IDLE) == (vp.Due.NOTHING, None)


def test_back_says_whether_the_agents_had_been_told() -> None:
    assert vp.connected(vp.VisitorPresence(gone_at=T0)) == (vp.THERE, False)
    assert vp.connected(vp.VisitorPresence(gone_at=T0, left_at=T0)) == (vp.THERE, True)


def test_a_profile_edit_checks_every_field_and_keeps_the_key() -> None:
    p = profiles.Profile(link=Link("visitor", "v1"))
    changes = profiles.Changes(name=" Dana ", tags=["vip", "VIP", " b2b "], email="d@x.example")
    edited = profiles.edit(p, changes, 7, T0)
    assert (edited.name, edited.tags, edited.email, edited.link) == (
        "Dana",
        ("vip", "b2b"),
        "d@x.example",
        Link("visitor", "v1"),  # an email never changes whose profile it is
    )
    assert (edited.updated_by, edited.updated_at) == (7, T0)
    for bad in (
        profiles.Changes(company="a\nb"),
        profiles.Changes(email="=?utf-8?q?eve=40evil.example?=@x.example"),
        profiles.Changes(email="nope"),
        profiles.Changes(tags=["a,b"]),
    ):
        with pytest.raises(InvalidInput):
            profiles.edit(p, bad, 7, T0)
    with pytest.raises(TooLong):
        profiles.edit(p, profiles.Changes(tags=[f"t{i}" for i in range(21)]), 7, T0)


def test_notes_are_bounded() -> None:
    assert profiles.check_note("  two\nlines ", 0) == "two\nlines"
    with pytest.raises(TooLong):
        profiles.check_note("x" * (profiles.MAX_NOTE_CHARS + 1), 0)
    with pytest.raises(Conflict):
        profiles.check_note("one more", profiles.MAX_NOTES)
    with pytest.raises(InvalidInput):
        profiles.check_note("bell \x07", 0)


def test_a_transcript_holds_public_messages_only() -> None:
    def e(seq: int, kind: EntryKind) -> Entry:
        return Entry(seq, kind, "visitor", {"text": str(seq)}, T0)

    log = [e(1, EntryKind.QUEUED), e(2, EntryKind.MESSAGE), e(3, EntryKind.NOTE)]
    log += [e(4, EntryKind.AWAY), e(5, EntryKind.MESSAGE)]
    assert [x.seq for x in transcripts.public_messages(log)] == [2, 5]


def test_transcript_addresses_and_limits() -> None:
    assert transcripts.check_address(" zoe@example.com ") == "zoe@example.com"
    for bad in ("", "zoe", "a@b", "a@b.example, c@d.example", "a@b.example\r\nBcc: x@y.example"):
        with pytest.raises(InvalidInput):
            transcripts.check_address(bad)
    transcripts.check_limits(transcripts.MAX_PER_CHAT - 1, 0, None, T0)
    with pytest.raises(RateLimited):
        transcripts.check_limits(transcripts.MAX_PER_CHAT, 0, None, T0)
    with pytest.raises(RateLimited) as refused:
        transcripts.check_limits(0, transcripts.MAX_PER_ADDRESS, T0 - timedelta(hours=23), T0)
    assert 3600 <= refused.value.retry_after <= 3601
    with pytest.raises(Conflict):
        transcripts.require_ended(Status.ACTIVE)
