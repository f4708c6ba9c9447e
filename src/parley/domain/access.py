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
    Participant,
    Role,
    Status,
    Visibility,
    hidden,
    staff_key,
)
from parley.domain.errors import Forbidden, NotFound


class StaffRole(StrEnum):
    #: Someone outside the company, invited by email into one room (``can_read_as_guest``):
    #: below every staff role, so that ``require_role(..., AGENT)`` refuses a guest.
    GUEST = "guest"
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


_RANK = {StaffRole.GUEST: -1, StaffRole.AGENT: 0, StaffRole.SUPERVISOR: 1, StaffRole.ADMIN: 2}


def rank(role: StaffRole) -> int:
    return _RANK[role]


def is_guest(principal: Principal) -> bool:
    return isinstance(principal, Staff) and principal.role is StaffRole.GUEST


@dataclass(frozen=True, slots=True)
class Staff:
    user_id: int
    username: str
    display_name: str
    role: StaffRole
    #: The archive's compliance right (an admin gives it, ``users.compliance``). Set only on
    #: the principal ``services.archive`` reads with, so that every read it allows goes
    #: through the archive API and its audit log; the socket and the IM never carry it.
    compliance: bool = False

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


#: What anyone gets for a conversation they may not read, and for one that does not exist: the
#: same status, code and message, so that "not yours" reads exactly like "does not exist".
NO_SUCH_CONVERSATION = "no such conversation"


def can_read(principal: Principal, conv: Conversation, member_of: Collection[int] = ()) -> bool:
    """Who reads a conversation (its transcript, entries, private notes included for staff):
    a visitor its own chat; supervisors and admins every one; an agent those they took part
    in, and those of the workgroups they are a member of (``member_of``).

    The staff IM (DMs, rooms, back-channels) has rules of its own: ``can_read_staff_only``."""
    if conv.staff_only:
        return can_read_staff_only(principal, conv)
    if is_guest(principal):
        return False  # no customer chat, whatever its workgroup or participants
    if isinstance(principal, Visitor):
        return principal.conversation_id == conv.id
    if _RANK[principal.role] >= _RANK[StaffRole.SUPERVISOR] or principal.compliance:
        return True
    if conv.participant(principal.key) is not None:
        return True
    return conv.workgroup_id is not None and conv.workgroup_id in member_of


def is_member(principal: Principal, conv: Conversation) -> bool:
    """A present member (participant) of ``conv``, as staff."""
    if not isinstance(principal, Staff):
        return False
    me = conv.participant(principal.key)
    return me is not None and me.present


def can_read_staff_only(principal: Principal, conv: Conversation) -> bool:
    """Who reads a DM, a room or a back-channel: never a visitor (whatever their token
    names); a present member; any staff member an open room. Roles give nothing here:
    supervisors and admins do NOT read DMs, private rooms or back-channels they are not in.
    Someone who left reads no more (a new member of a private room reads its history).

    The one exception is ``can_read_for_compliance``."""
    if not isinstance(principal, Staff):
        return False
    if is_guest(principal):
        return can_read_as_guest(principal, conv)
    if is_member(principal, conv):
        return True
    if conv.kind is Kind.ROOM and conv.room is not None and conv.room.visibility is Visibility.OPEN:
        return True
    return can_read_for_compliance(principal, conv)


def can_read_as_guest(principal: Staff, conv: Conversation) -> bool:
    """A guest reads the room they were invited into, while a present member, and nothing
    else: no open room they are not in, no DM, no back-channel, no customer chat."""
    return conv.kind is Kind.ROOM and is_member(principal, conv)


def require_guest_inviter(principal: Principal, conv: Conversation) -> Staff:
    """Inviting a guest (someone outside the company, by email) is for the owners of a room
    (open or private): never into a DM or a back-channel, never by a guest."""
    staff = require_role(principal, StaffRole.AGENT)
    if conv.kind is not Kind.ROOM or conv.room is None:
        raise Forbidden("guests are invited into rooms only")
    me = conv.participant(staff.key)
    if me is None or not me.present or me.role is not Role.OWNER:
        raise Forbidden("only the room's owners can invite a guest")
    return staff


def can_read_for_compliance(principal: Staff, conv: Conversation) -> bool:
    """The archive's compliance right: a staff member an admin gave it reads every staff
    conversation, through the archive API only (``services.archive``), which records each
    such read in the audit log (``archive.compliance_read``) in the transaction that reads
    it. Principals built for the socket, the IM and the rest of the API never carry the
    flag, so nobody reads a DM they are not in anywhere else, whatever their role."""
    return principal.compliance


@dataclass(frozen=True, slots=True)
class ArchiveRights:
    """What a staff member may do with the archive (``services.archive`` enforces each one;
    the console reads these to show only the screens that will work)."""

    #: Holds the compliance right (``users.compliance``).
    compliance: bool
    #: Search, read and export the archive: supervisors and up, and compliance readers.
    search: bool
    #: Export everything about one customer: admins and compliance readers.
    customer_export: bool
    #: Delete a customer's data: admins.
    customer_delete: bool
    #: Set the policy, legal holds, the notice and the compliance right: admins.
    policy: bool


def archive_rights(principal: Staff, compliance: bool) -> ArchiveRights:
    """``principal``'s archive rights, ``compliance`` read from ``users.compliance``."""
    rank = _RANK[principal.role]
    admin = rank >= _RANK[StaffRole.ADMIN]
    return ArchiveRights(
        compliance=compliance,
        search=compliance or rank >= _RANK[StaffRole.SUPERVISOR],
        customer_export=compliance or admin,
        customer_delete=admin,
        policy=admin,
    )


def require_member(principal: Principal, conv: Conversation) -> Staff:
    """Changing a staff conversation (inviting, pulling a colleague in, leaving) is for its
    present members. ``conv`` was loaded through the read gate, so a reader who is not a
    member (an open room's visitor) gets ``Forbidden``."""
    if not is_member(principal, conv):
        raise Forbidden("only a member can do this")
    assert isinstance(principal, Staff)
    return principal


def require_join(principal: Principal, conv: Conversation) -> Staff:
    """Joining by oneself is for open rooms (read through the gate: any staff member)."""
    staff = require_role(principal, StaffRole.AGENT)
    if (
        conv.kind is not Kind.ROOM
        or conv.room is None
        or conv.room.visibility is not Visibility.OPEN
    ):
        raise Forbidden("only open rooms can be joined; ask a member of this one to invite you")
    return staff


def require_room_owner(principal: Principal, conv: Conversation) -> Staff:
    """Inviting into a private room and setting a room's topic are for its owners; in a
    back-channel, every member (they are all the chat's staff or their colleagues); in an
    open room anyone may join, so any member may invite."""
    staff = require_member(principal, conv)
    if staff.role is StaffRole.GUEST:
        raise Forbidden("a guest cannot do this")
    if conv.kind is Kind.BACKCHANNEL:
        return staff
    if conv.kind is not Kind.ROOM or conv.room is None:
        raise Forbidden("this is for rooms")
    me = conv.participant(staff.key)
    assert me is not None
    if me.role is not Role.OWNER and conv.room.visibility is Visibility.PRIVATE:
        raise Forbidden("only the room's owners can do this")
    return staff


def can_open_backchannel(principal: Principal, chat: Conversation) -> bool:
    """A customer chat's back-channel is opened by the chat's present staff (its agent and
    helpers), and read afterwards by its members, who pull colleagues in."""
    if not isinstance(principal, Staff) or chat.kind is not Kind.CUSTOMER_CHAT:
        return False
    me = chat.participant(principal.key)
    return me is not None and me.present and me.role in (Role.AGENT, Role.HELPER)


def can_message(active: bool, role: StaffRole = StaffRole.AGENT) -> bool:
    """Whom a DM, an invitation or a pull-in may name: an active staff account (one that was
    deactivated reads like one that does not exist). Never a guest: a guest is reached in the
    room they were invited into, and only there."""
    return active and role is not StaffRole.GUEST


def needs_membership(principal: Principal, conv: Conversation) -> bool:
    """Whether ``can_read`` depends on the principal's workgroups here (so that the services
    load them only then)."""
    return (
        isinstance(principal, Staff)
        and conv.workgroup_id is not None
        and not can_read(principal, conv)
    )


def require_read(
    principal: Principal, conv: Conversation | None, member_of: Collection[int] = ()
) -> Conversation:
    """The conversation, if ``principal`` may read it. A missing conversation (None) and one
    that is not theirs raise the very same ``NotFound``."""
    if conv is None or not can_read(principal, conv, member_of):
        raise NotFound(NO_SUCH_CONVERSATION)
    return conv


def require_participant(
    principal: Principal, conv: Conversation, member_of: Collection[int] = ()
) -> None:
    """Writing (messages, typing, ending) is for present participants only. Whoever may not
    even read the conversation gets ``NotFound``, like for a missing one; a reader who is not
    a participant (a supervisor, a colleague of the workgroup) gets ``Forbidden``."""
    require_read(principal, conv, member_of)
    _present(principal, conv)


def _present(principal: Principal, conv: Conversation) -> Participant:
    participant = conv.participant(principal.key)
    if participant is None or not participant.present:
        raise Forbidden("only a participant can do this")
    return participant


def can_read_earlier(
    principal: Principal, conv: Conversation, other: Conversation, member_of: Collection[int]
) -> bool:
    """``other`` is shown beside ``conv`` as the customer's earlier conversation when the
    principal reads ``conv``, both are one customer's through a trustworthy link (the verified
    ``sub``, else the same browser's signed visitor id; never a typed email: see
    ``domain.identity``), and the principal may read ``other`` anyway (``can_read``)."""
    return (
        other.id != conv.id
        and conv.link is not None
        and conv.link == other.link
        and can_read(principal, conv, member_of)
        and can_read(principal, other, member_of)
    )


def require_read_earlier(
    principal: Principal,
    conv: Conversation,
    other: Conversation | None,
    member_of: Collection[int],
) -> Conversation:
    """``other`` as an earlier conversation of ``conv``'s customer, else the same ``NotFound``
    as for a missing conversation."""
    if other is None or not can_read_earlier(principal, conv, other, member_of):
        raise NotFound(NO_SUCH_CONVERSATION)
    return other


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
    the customer chat is active, in a workgroup whose policy (``allowed``) lets agents invite.
    ``conv`` was loaded through the read gate (``require_read``)."""
    staff = require_role(principal, StaffRole.AGENT)
    me = _present(staff, conv)
    if me.role is not Role.AGENT:
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
    it instead. ``conv`` was loaded through the read gate (``require_read``)."""
    staff = require_role(principal, StaffRole.AGENT)
    me = _present(staff, conv)
    if me.role is not Role.HELPER:
        raise Forbidden("only an invited helper can leave this chat")
    return staff


# Routing rules and the inbox ----------------------------------------------------------------


def require_rule_editor(principal: Principal) -> Staff:
    """Editing a workgroup's routing rules, and trying rules in the rule tester (which runs
    patterns as the router does), is for admins."""
    return require_role(principal, StaffRole.ADMIN)


def require_message_of(
    principal: Principal, workgroup_id: int | None, member_of: Collection[int]
) -> Staff:
    """A left message, by its public id: only for those who work in its workgroup
    (``can_work_in``). ``workgroup_id`` None: no such message. A message of another workgroup
    reads exactly like one that does not exist (the same ``NotFound``), so its id tells
    nothing."""
    if workgroup_id is None or not can_work_in(principal, workgroup_id, member_of):
        raise NotFound("no such message")
    assert isinstance(principal, Staff)
    return principal


# The widget's branding and the staff photos it shows ---------------------------------------------


def require_branding_editor(principal: Principal) -> Staff:
    """A workgroup's branding of the widget (colour, logo, greeting, corner) is for admins;
    what it looks like is public (the workgroup's status)."""
    return require_role(principal, StaffRole.ADMIN)


def can_see_participant_photo(
    principal: Principal, conv: Conversation, user_id: int, member_of: Collection[int] = ()
) -> bool:
    """The photo beside a staff member's messages in a chat: for whoever may read the chat (a
    visitor their own), and only of staff who are or were in it (an agent who handed it on
    included), so that a visitor's token shows no other staff member's face. Whoever may not
    gets the same ``NotFound`` as for a photo that does not exist."""
    return can_read(principal, conv, member_of) and conv.participant(staff_key(user_id)) is not None


def can_manage_token(principal: Principal, owner_id: int) -> bool:
    """API tokens are listed and revoked by their owner and by admins. Whoever may not manage
    a token is told it does not exist (``NotFound``), never that it is someone else's."""
    return isinstance(principal, Staff) and (
        principal.user_id == owner_id or _RANK[principal.role] >= _RANK[StaffRole.ADMIN]
    )
