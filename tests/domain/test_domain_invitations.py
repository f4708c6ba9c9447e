"""Invitations, helpers and private notes: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from parley.domain import access
from parley.domain import invitations as inv
from parley.domain.access import Staff, StaffRole, Visitor
from parley.domain.conversation import (
    Conversation,
    EntryKind,
    Participant,
    Role,
    Status,
    end,
    join,
    leave,
    open_customer_chat,
    post_note,
    staff_key,
)
from parley.domain.errors import Conflict, Forbidden, InvalidInput, InvitationGone

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TIMEOUT = timedelta(seconds=30)
ALICE = Staff(1, "alice", "Alice", StaffRole.AGENT)
BOB = Staff(2, "bob", "Bob", StaffRole.AGENT)
SAM = Staff(3, "sam", "Sam", StaffRole.SUPERVISOR)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def active_chat() -> Conversation:
    conv, _ = open_customer_chat("c" * 32, 1, "Zoe", {}, T0)
    conv, _ = join(conv, Participant(ALICE.key, Role.AGENT, "Alice", T0, ALICE.user_id), T0)
    return conv


def invitee(staff: Staff, *, member: bool = True, active: bool = True) -> inv.Invitee:
    return inv.Invitee(staff.user_id, staff.display_name, staff.role, active, member)


def invite(
    conv: Conversation,
    by: access.Principal = ALICE,
    to: inv.Invitee | None = None,
    pending: tuple[inv.Invitation, ...] = (),
    *,
    allowed: bool = True,
    note: str = "help?",
) -> inv.Invitation:
    return inv.invite(
        conv,
        by,
        to or invitee(BOB),
        pending,
        allowed=allowed,
        invitation_id="i1",
        note=note,
        timeout=TIMEOUT,
        now=T0,
    )


def test_the_chats_agent_invites_and_the_invitee_joins_as_a_helper() -> None:
    conv = active_chat()
    invitation = invite(conv)
    assert invitation.pending
    assert invitation.expires_at == T0 + TIMEOUT
    assert (invitation.from_agent, invitation.to_user, invitation.note) == (1, 2, "help?")
    done, helper = inv.accept(invitation, BOB, conv, at(5))
    assert done.status is inv.Status.ACCEPTED and done.ended_at == at(5)
    assert helper is not None and helper.role is Role.HELPER
    conv, joined = join(conv, helper, at(5))
    assert joined.body == {"name": "Bob", "role": "helper"}
    # A helper neither counts as the chat's agent nor ends it; the helper leaves.
    assert conv.agent_ids() == [ALICE.user_id]
    assert conv.status is Status.ACTIVE
    with pytest.raises(Forbidden):
        end(conv, BOB.key, "ended", at(6))
    access.require_helper(BOB, conv)
    with pytest.raises(Forbidden):
        access.require_helper(ALICE, conv)
    conv, left = leave(conv, BOB.key, "left", at(7))
    assert left.kind is EntryKind.LEFT
    participant = conv.participant(BOB.key)
    assert participant is not None and not participant.present


def test_who_may_invite() -> None:
    conv = active_chat()
    with pytest.raises(Forbidden):
        invite(conv, by=BOB)  # not in the chat
    with pytest.raises(Forbidden):
        invite(conv, by=SAM)  # may read it, but is not in it
    with pytest.raises(Forbidden):
        invite(conv, by=Visitor(conv.id))
    with pytest.raises(Forbidden, match="does not allow"):
        invite(conv, allowed=False)
    queued, _ = open_customer_chat("d" * 32, 1, "Zoe", {}, T0)
    with pytest.raises(Forbidden):
        invite(queued)
    ended, _ = end(conv, ALICE.key, "ended", at(1))
    with pytest.raises(Forbidden):
        invite(ended)
    # A helper may not invite others in.
    conv, _ = join(conv, Participant(BOB.key, Role.HELPER, "Bob", T0, BOB.user_id), T0)
    carol = Staff(4, "carol", "Carol", StaffRole.AGENT)
    with pytest.raises(Forbidden):
        invite(conv, by=BOB, to=invitee(carol))


def test_who_may_be_invited() -> None:
    conv = active_chat()
    with pytest.raises(Forbidden):
        invite(conv, to=invitee(BOB, member=False))  # another workgroup's agent
    with pytest.raises(Forbidden):
        invite(conv, to=invitee(BOB, active=False))
    assert invite(conv, to=invitee(SAM, member=False)).to_user == SAM.user_id
    with pytest.raises(Conflict):
        invite(conv, to=invitee(ALICE))  # already there
    first = invite(conv)
    with pytest.raises(Conflict):
        invite(conv, pending=(first,))
    declined = inv.decline(first, BOB, at(1))
    assert invite(conv, pending=(declined,)).pending
    with pytest.raises(InvalidInput):
        invite(conv, note="x" * (inv.MAX_NOTE_CHARS + 1))


def test_answers_and_endings() -> None:
    conv = active_chat()
    invitation = invite(conv)
    with pytest.raises(InvitationGone):
        inv.accept(invitation, SAM, conv, at(1))  # not theirs
    with pytest.raises(InvitationGone):
        inv.decline(invitation, ALICE, at(1))
    with pytest.raises(InvitationGone):
        inv.accept(invitation, BOB, conv, at(30))  # expired, even before the sweep
    with pytest.raises(Forbidden):
        inv.cancel(invitation, BOB, at(1))
    assert inv.cancel(invitation, ALICE, at(1)).status is inv.Status.CANCELLED
    assert inv.cancel(invitation, SAM, at(1)).status is inv.Status.CANCELLED
    declined = inv.decline(invitation, BOB, at(1))
    with pytest.raises(InvitationGone):
        inv.accept(declined, BOB, conv, at(2))
    with pytest.raises(InvitationGone):
        inv.cancel(declined, ALICE, at(2))
    ended, _ = end(conv, ALICE.key, "ended", at(3))
    with pytest.raises(InvitationGone):
        inv.accept(invitation, BOB, ended, at(4))


def test_expire() -> None:
    conv = active_chat()
    invitation = invite(conv)
    assert inv.expire(invitation, conv, at(29)) is None
    timed_out = inv.expire(invitation, conv, at(30))
    assert timed_out is not None and timed_out.status is inv.Status.TIMED_OUT
    assert inv.expire(timed_out, conv, at(31)) is None
    ended, _ = end(conv, ALICE.key, "ended", at(3))
    cancelled = inv.expire(invitation, ended, at(4))
    assert cancelled is not None and cancelled.status is inv.Status.CANCELLED


def test_notes_are_for_staff_and_hidden_from_visitors() -> None:
    conv = active_chat()
    conv, note = post_note(conv, ALICE.key, "between us", "n1", at(1))
    assert note.kind is EntryKind.NOTE and note.seq == conv.last_seq
    with pytest.raises(Forbidden):
        post_note(conv, "visitor", "hi", "n2", at(2))
    with pytest.raises(Forbidden):
        post_note(conv, staff_key(BOB.user_id), "hi", "n2", at(2))
    assert access.visible_entry(ALICE, note) == note
    assert access.visible_entry(SAM, note) == note
    hidden = access.visible_entry(Visitor(conv.id), note)
    assert (hidden.seq, hidden.kind, hidden.author, hidden.body, hidden.client_id) == (
        note.seq,
        EntryKind.HIDDEN,
        None,
        {},
        None,
    )
