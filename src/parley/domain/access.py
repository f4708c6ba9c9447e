"""Who may do what. Every permission check in Parley goes through this module.

Principals are a staff member (with a role) or a visitor (holding a token for exactly one
conversation). Roles are ordered: agent < supervisor < admin; a higher role can do everything
a lower one can.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from parley.domain.conversation import (
    VISITOR_KEY,
    Conversation,
    Entry,
    EntryKind,
    Kind,
    Role,
    Status,
    hidden,
    staff_key,
)
from parley.domain.errors import Forbidden


class StaffRole(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


_RANK = {StaffRole.AGENT: 0, StaffRole.SUPERVISOR: 1, StaffRole.ADMIN: 2}


@dataclass(frozen=True, slots=True)
class Staff:
    user_id: int
    username: str
    display_name: str
    role: StaffRole

    @property
    def key(self) -> str:
        return staff_key(self.user_id)


@dataclass(frozen=True, slots=True)
class Visitor:
    conversation_id: str

    @property
    def key(self) -> str:
        return VISITOR_KEY


Principal = Staff | Visitor


def require_role(principal: Principal, role: StaffRole) -> Staff:
    """The principal must be staff with at least ``role``."""
    if not isinstance(principal, Staff):
        raise Forbidden("this needs a staff account")
    if _RANK[principal.role] < _RANK[role]:
        raise Forbidden(f"this needs the {role.value} role")
    return principal


def can_read(principal: Principal, conv: Conversation) -> bool:
    if isinstance(principal, Visitor):
        return principal.conversation_id == conv.id
    if _RANK[principal.role] >= _RANK[StaffRole.SUPERVISOR]:
        return True
    return conv.participant(principal.key) is not None


def require_read(principal: Principal, conv: Conversation) -> None:
    if not can_read(principal, conv):
        # Same wording whether it exists or not: a token for another chat learns nothing.
        raise Forbidden("you have no access to this conversation")


def require_participant(principal: Principal, conv: Conversation) -> None:
    """Writing (messages, typing, ending) is for present participants only."""
    require_read(principal, conv)
    participant = conv.participant(principal.key)
    if participant is None or not participant.present:
        raise Forbidden("only a participant can do this")


def can_work_in(principal: Principal, workgroup_id: int, member_of: Collection[int]) -> bool:
    """A workgroup's own work (its inbox of left messages): its agents, and every supervisor
    and admin. ``member_of`` holds the workgroups the principal is a member of."""
    if not isinstance(principal, Staff):
        return False
    return _RANK[principal.role] >= _RANK[StaffRole.SUPERVISOR] or workgroup_id in member_of


def require_work_in(principal: Principal, workgroup_id: int, member_of: Collection[int]) -> Staff:
    if not can_work_in(principal, workgroup_id, member_of):
        raise Forbidden("this is for the workgroup's agents, supervisors and admins")
    assert isinstance(principal, Staff)
    return principal


def can_override(principal: Principal) -> bool:
    """Supervisors and admins may finish what another agent took."""
    return isinstance(principal, Staff) and _RANK[principal.role] >= _RANK[StaffRole.SUPERVISOR]


# Invitations and private notes ----------------------------------------------------------------


def can_see_entry(principal: Principal, kind: str) -> bool:
    """Private notes are for staff: a visitor never sees one (they get a placeholder)."""
    return isinstance(principal, Staff) or kind != EntryKind.NOTE.value


def visible_entry(principal: Principal, entry: Entry) -> Entry:
    """``entry`` as ``principal`` may see it: itself, or a placeholder with its ``seq``."""
    return entry if can_see_entry(principal, entry.kind.value) else hidden(entry)


def require_inviter(principal: Principal, conv: Conversation, allowed: bool) -> Staff:
    """Inviting someone in is for the chat's own agent (present, not an invited helper), while
    the customer chat is active, in a workgroup whose policy (``allowed``) lets agents invite."""
    staff = require_role(principal, StaffRole.AGENT)
    require_participant(staff, conv)
    me = conv.participant(staff.key)
    if me is None or me.role is not Role.AGENT:
        raise Forbidden("only the chat's agent can invite someone in")
    if conv.kind is not Kind.CUSTOMER_CHAT or conv.status is not Status.ACTIVE:
        raise Forbidden("invitations are for active customer chats")
    if not allowed:
        raise Forbidden("this workgroup does not allow invitations")
    return staff


def can_be_invited(role: StaffRole, active: bool, member: bool) -> bool:
    """Who may be invited: an active agent of the chat's workgroup (``member``), or any active
    supervisor or admin."""
    return active and (member or _RANK[role] >= _RANK[StaffRole.SUPERVISOR])


def require_helper(principal: Principal, conv: Conversation) -> Staff:
    """Leaving a chat that goes on is for invited helpers; the chat's agent ends or transfers
    it instead."""
    staff = require_role(principal, StaffRole.AGENT)
    require_participant(staff, conv)
    me = conv.participant(staff.key)
    if me is None or me.role is not Role.HELPER:
        raise Forbidden("only an invited helper can leave this chat")
    return staff


def same_customer(conv: Conversation, other: Conversation) -> bool:
    """Both customer chats give the same (non-empty) email: whoever may read one may read the
    other as that customer's history."""
    mine, theirs = conv.metadata.get("email"), other.metadata.get("email")
    return (
        isinstance(mine, str)
        and isinstance(theirs, str)
        and bool(mine.strip())
        and mine.strip().casefold() == theirs.strip().casefold()
    )


def can_manage_token(principal: Principal, owner_id: int) -> bool:
    """API tokens are listed and revoked by their owner and by admins. Whoever may not manage
    a token is told it does not exist (``NotFound``), never that it is someone else's."""
    return isinstance(principal, Staff) and (
        principal.user_id == owner_id or _RANK[principal.role] >= _RANK[StaffRole.ADMIN]
    )
