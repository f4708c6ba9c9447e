"""Who may do what. Every permission check in Parley goes through this module.

Principals are a staff member (with a role) or a visitor (holding a token for exactly one
conversation). Roles are ordered: agent < supervisor < admin; a higher role can do everything
a lower one can.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from parley.domain.conversation import VISITOR_KEY, Conversation, staff_key
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
