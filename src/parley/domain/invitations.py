"""Invitations: the chat's agent asks another agent (or a supervisor) in to help.

The invitee sees the whole transcript, talks to the customer or only to staff (private notes,
``conversation.post_note``), and leaves (``conversation.leave``); the chat stays the agent's.
Invited staff join as ``Role.HELPER``: a helper does not count against their capacity and does
not end the customer's chat.

An invitation is ``pending`` until the invitee accepts or declines it, the inviter (or a
supervisor) cancels it, or it times out after the workgroup's offer timeout. At most one is
pending per invitee and conversation (the database backs that up with a partial unique index).
Every function takes ``now`` and returns a new value; nothing is mutated.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from parley.domain import access
from parley.domain.access import Principal, Staff, StaffRole
from parley.domain.conversation import Conversation, Participant, Role, staff_key
from parley.domain.conversation import Status as ChatStatus
from parley.domain.errors import Conflict, Forbidden, InvalidInput, InvitationGone

MAX_NOTE_CHARS = 1000


class Status(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Invitation:
    invitation_id: str
    conversation_id: str
    from_agent: int
    to_user: int
    note: str
    created_at: datetime
    expires_at: datetime
    status: Status = Status.PENDING
    ended_at: datetime | None = None

    @property
    def pending(self) -> bool:
        return self.status is Status.PENDING


@dataclass(frozen=True, slots=True)
class Invitee:
    """Who is being invited, as far as the rules need to know."""

    user_id: int
    display_name: str
    role: StaffRole
    active: bool
    #: A member of the chat's workgroup.
    member: bool


def invite(
    conv: Conversation,
    inviter: Principal,
    invitee: Invitee,
    pending: Iterable[Invitation],
    *,
    allowed: bool,
    invitation_id: str,
    note: str,
    timeout: timedelta,
    now: datetime,
) -> Invitation:
    """A new pending invitation. ``pending``: the conversation's pending invitations;
    ``allowed``: the workgroup's policy."""
    staff = access.require_inviter(inviter, conv, allowed)
    if len(note) > MAX_NOTE_CHARS:
        raise InvalidInput(f"an invitation's note is limited to {MAX_NOTE_CHARS} characters")
    if not access.can_be_invited(invitee.role, invitee.active, invitee.member):
        raise Forbidden("only active agents of this workgroup, supervisors and admins")
    present = conv.participant(staff_key(invitee.user_id))
    if present is not None and present.present:
        raise Conflict(f"{invitee.display_name} is already in this chat")
    if any(i.to_user == invitee.user_id and i.pending for i in pending):
        raise Conflict(f"{invitee.display_name} has already been invited")
    return Invitation(
        invitation_id,
        conv.id,
        staff.user_id,
        invitee.user_id,
        note,
        now,
        now + timeout,
    )


def _open(invitation: Invitation, now: datetime) -> None:
    if not invitation.pending or now >= invitation.expires_at:
        raise InvitationGone("this invitation is no longer open")


def accept(
    invitation: Invitation, staff: Staff, conv: Conversation, now: datetime
) -> tuple[Invitation, Participant | None]:
    """The invitee accepts. Returns the invitation and the helper who joins (None when they are
    in the chat already, for example after a transfer to them)."""
    if invitation.to_user != staff.user_id:
        raise InvitationGone("this invitation is no longer open")
    _open(invitation, now)
    if conv.status is ChatStatus.ENDED:
        raise InvitationGone("this chat has ended")
    done = replace(invitation, status=Status.ACCEPTED, ended_at=now)
    there = conv.participant(staff.key)
    if there is not None and there.present:
        return done, None
    return done, Participant(staff.key, Role.HELPER, staff.display_name, now, staff.user_id)


def decline(invitation: Invitation, staff: Staff, now: datetime) -> Invitation:
    if invitation.to_user != staff.user_id:
        raise InvitationGone("this invitation is no longer open")
    _open(invitation, now)
    return replace(invitation, status=Status.DECLINED, ended_at=now)


def cancel(invitation: Invitation, principal: Principal, now: datetime) -> Invitation:
    """The inviter (or a supervisor or admin) calls it off."""
    mine = isinstance(principal, Staff) and principal.user_id == invitation.from_agent
    if not (mine or access.can_override(principal)):
        raise Forbidden("only who sent the invitation can cancel it")
    if not invitation.pending:
        raise InvitationGone("this invitation is no longer open")
    return replace(invitation, status=Status.CANCELLED, ended_at=now)


def expire(invitation: Invitation, conv: Conversation | None, now: datetime) -> Invitation | None:
    """What a pending invitation becomes by itself: ``timed_out`` past ``expires_at``,
    ``cancelled`` once its chat has ended (or its inviter left it); None while it stands."""
    if not invitation.pending:
        return None
    if now >= invitation.expires_at:
        return replace(invitation, status=Status.TIMED_OUT, ended_at=now)
    inviter = None if conv is None else conv.participant(staff_key(invitation.from_agent))
    if conv is None or conv.status is ChatStatus.ENDED or inviter is None or not inviter.present:
        return replace(invitation, status=Status.CANCELLED, ended_at=now)
    return None
