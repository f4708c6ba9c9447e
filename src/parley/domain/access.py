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
from parley.domain.errors import Conflict, Forbidden, InvalidInput, MonitorReadOnly, NotFound


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


def can_see_directory(principal: Principal) -> bool:
    """Who sees the staff directory and everyone's presence and profile (``presence`` and
    ``staff_profile`` frames, live and in the snapshot): staff from agents up. Never a visitor,
    nor a guest, who sees only the members of their one room in it."""
    return isinstance(principal, Staff) and _RANK[principal.role] >= _RANK[StaffRole.AGENT]


def can_read(principal: Principal, conv: Conversation, member_of: Collection[int] = ()) -> bool:
    """Who reads a conversation (its transcript, entries, private notes included for staff):
    a visitor its own chat; admins (and compliance readers) every one; agents and supervisors
    those they took part in, and those of the workgroups in ``member_of``: for an agent the
    workgroups they are a member of, for a supervisor also those they supervise
    (``WorkgroupStore.readable_by``). A supervisor of one workgroup reads nothing of another's.

    The staff IM (DMs, rooms, back-channels) has rules of its own: ``can_read_staff_only``."""
    if conv.staff_only:
        return can_read_staff_only(principal, conv)
    if is_guest(principal):
        return False  # no customer chat, whatever its workgroup or participants
    if isinstance(principal, Visitor):
        return principal.conversation_id == conv.id
    if principal.role is StaffRole.ADMIN or principal.compliance:
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


def require_compliance_holder(role: StaffRole) -> None:
    """Who may hold the compliance right (reading every conversation through the archive):
    staff, never a guest, whose account is limited to one room (``InvalidInput``)."""
    if role is StaffRole.GUEST:
        raise InvalidInput("a guest cannot hold the compliance right")


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
    principal: Principal,
    conv: Conversation,
    member_of: Collection[int] = (),
    *,
    monitoring: bool = False,
) -> None:
    """Writing (messages, typing, ending) is for present participants only. Whoever may not
    even read the conversation gets ``NotFound``, like for a missing one; a reader who is not
    a participant (a supervisor, a colleague of the workgroup) gets ``Forbidden``, and a
    supervisor watching it (``monitoring``: silent monitoring, ``require_monitor``) gets
    ``MonitorReadOnly``: watching never turns into writing."""
    require_read(principal, conv, member_of)
    participant = conv.participant(principal.key)
    if monitoring and (participant is None or not participant.present):
        raise MonitorReadOnly(
            "you are watching this chat: monitoring is read-only (whisper to its agents, "
            "or barge in to write to the customer)"
        )
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


#: What a visitor is sent only as a placeholder: private notes and whispers, and the lines that
#: tell the agents the customer left or came back.
STAFF_ONLY_KINDS = frozenset({EntryKind.NOTE.value, EntryKind.AWAY.value, EntryKind.BACK.value})


def can_see_entry(principal: Principal, kind: str) -> bool:
    """Private notes are for staff: a visitor never sees one (they get a placeholder). A
    supervisor's whisper to the agents is a note too (``conversation.post_whisper``); so are
    the ``away`` and ``back`` lines about the customer's sockets."""
    return isinstance(principal, Staff) or kind not in STAFF_ONLY_KINDS


def visible_entry(principal: Principal, entry: Entry) -> Entry:
    """``entry`` as ``principal`` may see it: itself, or a placeholder with its ``seq``."""
    return entry if can_see_entry(principal, entry.kind.value) else hidden(entry)


#: What anyone gets for a file they may not fetch, and for one that does not exist.
NO_SUCH_ATTACHMENT = "no such attachment"


def require_attachment_reader(principal: Principal, private: bool) -> None:
    """A chat's file is for whoever reads the chat (``require_read``, checked first: a
    conversation not theirs is ``NotFound`` like a missing one) and may see the entry that
    carries it: a private note's file is for staff alone. Anyone else gets the same
    ``NotFound`` as for a file that does not exist (``domain.attachments``)."""
    kind = EntryKind.NOTE.value if private else EntryKind.MESSAGE.value
    if not can_see_entry(principal, kind):
        raise NotFound(NO_SUCH_ATTACHMENT)


def require_attachment_policy_editor(principal: Principal) -> Staff:
    """A workgroup's attachment policy (size, types, files per chat) is for admins."""
    return require_role(principal, StaffRole.ADMIN)


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


# Supervisors: the wallboard, live chats, monitoring, whispers, barging in, taking over ----------

#: What a supervisor gets for a workgroup they do not supervise, and for one that does not
#: exist: the same answer.
NO_SUCH_WORKGROUP = "no such workgroup"


def require_supervisor(principal: Principal) -> Staff:
    """The supervisor screens and frames (wallboard, live chats, monitoring) are for
    supervisors and admins: an agent, a guest or a visitor is refused (``Forbidden``)."""
    return require_role(principal, StaffRole.SUPERVISOR)


def can_supervise(
    principal: Principal, workgroup_id: int | None, supervises: Collection[int]
) -> bool:
    """An admin supervises every workgroup; a supervisor those an admin made them supervise
    (``supervises``: ``workgroup_supervisors``); nobody else any. Membership of a workgroup
    (taking its chats) gives nothing here."""
    if workgroup_id is None or not isinstance(principal, Staff):
        return False
    if principal.role is StaffRole.ADMIN:
        return True
    return principal.role is StaffRole.SUPERVISOR and workgroup_id in supervises


def supervised(
    principal: Principal, supervises: Collection[int], every: Collection[int]
) -> frozenset[int]:
    """The workgroups (of ``every``) whose wallboard and live chats the principal sees."""
    staff = require_supervisor(principal)
    return frozenset(w for w in every if can_supervise(staff, w, supervises))


def require_supervise(
    principal: Principal, workgroup_id: int | None, supervises: Collection[int]
) -> Staff:
    """A workgroup's wallboard, live chats and supervision settings: for its supervisors and
    admins. Another workgroup reads exactly like one that does not exist."""
    staff = require_supervisor(principal)
    if not can_supervise(staff, workgroup_id, supervises):
        raise NotFound(NO_SUCH_WORKGROUP)
    return staff


def require_monitor(
    principal: Principal, conv: Conversation | None, supervises: Collection[int]
) -> Staff:
    """Watching a chat as it happens (silent monitoring): a customer chat, queued or active,
    of a workgroup the principal supervises. A chat of another workgroup, a staff
    conversation or a missing one: the same ``NotFound`` as for no such conversation. The
    watcher takes no part: the conversation does not change, and a send from them is refused
    (``require_participant`` with ``monitoring``)."""
    staff = require_supervisor(principal)
    if (
        conv is None
        or conv.kind is not Kind.CUSTOMER_CHAT
        or not can_supervise(staff, conv.workgroup_id, supervises)
    ):
        raise NotFound(NO_SUCH_CONVERSATION)
    if conv.status is Status.ENDED:
        raise Conflict("this chat has ended")
    return staff


def require_coach(
    principal: Principal, conv: Conversation | None, supervises: Collection[int]
) -> Staff:
    """A whisper (coaching the chat's agents; the customer never sees it): whoever may watch
    the chat (``require_monitor``), participant or not."""
    return require_monitor(principal, conv, supervises)


def require_barge(
    principal: Principal, conv: Conversation | None, supervises: Collection[int]
) -> Staff:
    """Barging in (joining the chat, which the customer sees): whoever may watch it, once an
    agent has it, and not already in it."""
    staff = require_monitor(principal, conv, supervises)
    assert conv is not None
    if conv.status is not Status.ACTIVE:
        raise Conflict("this chat is still waiting for an agent")
    me = conv.participant(staff.key)
    if me is not None and me.present:
        raise Conflict("you are already in this chat")
    return staff


def require_take_over(
    principal: Principal, conv: Conversation | None, supervises: Collection[int]
) -> Staff:
    """Taking a chat over (its agents leave, the supervisor becomes its agent): whoever may
    watch it, once an agent has it."""
    staff = require_monitor(principal, conv, supervises)
    assert conv is not None
    if conv.status is not Status.ACTIVE:
        raise Conflict("this chat is still waiting for an agent")
    return staff


# Canned responses and the knowledge base -----------------------------------------------------


def can_manage_workgroup_content(
    principal: Principal, workgroup_id: int, member_of: Collection[int]
) -> bool:
    """A workgroup's shared canned responses, its automatic greeting and its knowledge-base
    articles are kept by its supervisors (a supervisor who supervises it or is a member of it:
    ``member_of`` is ``WorkgroupStore.readable_by``) and by every admin; its agents only use
    them."""
    if not isinstance(principal, Staff) or principal.role is StaffRole.GUEST:
        return False
    if principal.role is StaffRole.ADMIN:
        return True
    return principal.role is StaffRole.SUPERVISOR and workgroup_id in member_of


#: What anyone gets for a canned response or an article they may not read, and for one that
#: does not exist (the same ``NotFound``): its id tells nothing.
NO_SUCH_CANNED = "no such canned response"
NO_SUCH_ARTICLE = "no such article"


def require_workgroup_content_reader(
    principal: Principal, workgroup_id: int | None, member_of: Collection[int], missing: str
) -> Staff:
    """Reading a workgroup's shared canned responses and internal articles is for those who
    work in it (``can_work_in``: its agents, every supervisor and admin). Anyone else, and a
    workgroup that does not exist (None), gets the same ``NotFound(missing)``."""
    if workgroup_id is None or not can_work_in(principal, workgroup_id, member_of):
        raise NotFound(missing)
    assert isinstance(principal, Staff)
    return principal


def require_workgroup_content_editor(
    principal: Principal, workgroup_id: int | None, member_of: Collection[int], missing: str
) -> Staff:
    """Changing it: whoever may not even read it gets ``NotFound``, a reader who may not keep
    it (an agent) ``Forbidden``."""
    staff = require_workgroup_content_reader(principal, workgroup_id, member_of, missing)
    if not can_manage_workgroup_content(staff, workgroup_id or 0, member_of):
        raise Forbidden("this is kept by the workgroup's supervisors and by admins")
    return staff


def require_canned(
    principal: Principal,
    workgroup_id: int | None,
    owner_id: int | None,
    member_of: Collection[int],
    *,
    edit: bool = False,
) -> Staff:
    """A canned response, to use (or, with ``edit``, to change): a personal one is its owner's
    alone (for anyone else, admins too, it does not exist); a shared one as
    ``require_workgroup_content_reader`` / ``_editor`` say."""
    staff = require_role(principal, StaffRole.AGENT)
    if owner_id is not None:
        if owner_id != staff.user_id:
            raise NotFound(NO_SUCH_CANNED)
        return staff
    check = require_workgroup_content_editor if edit else require_workgroup_content_reader
    return check(staff, workgroup_id, member_of, NO_SUCH_CANNED)


def can_read_public_article(visibility: str, article_workgroup: int, workgroup_id: int) -> bool:
    """Anyone on the company's site (the widget, no account) reads the public articles of the
    workgroup whose widget they use, and nothing else: an internal article, or another
    workgroup's, reads like one that does not exist."""
    return visibility == "public" and article_workgroup == workgroup_id


# After the fact: ratings, outcomes at wrap-up, tags ----------------------------------------------


def require_rater(principal: Principal, conv: Conversation | None) -> Visitor:
    """Rating a chat is for its own visitor (the token names it), once it ended. Staff, another
    chat's visitor, a missing chat: the same ``NotFound`` as for no such conversation. The
    token is refused ``visitor_token_hours`` after the end (``AuthService.visitor``): that is
    the window to rate in."""
    require_rating_reader(principal, conv)
    assert isinstance(principal, Visitor) and conv is not None
    if conv.status is not Status.ENDED:
        raise Conflict("a chat is rated once it has ended")
    if not answered(conv):
        raise Conflict("nobody answered this chat: there is nothing to rate")
    return principal


def require_rating_reader(principal: Principal, conv: Conversation | None) -> Visitor:
    """Whether to ask for a rating, and the rating given: for the chat's own visitor, ended or
    not (anyone else, any other chat: the same ``NotFound``)."""
    if (
        not isinstance(principal, Visitor)
        or conv is None
        or conv.kind is not Kind.CUSTOMER_CHAT
        or principal.conversation_id != conv.id
    ):
        raise NotFound(NO_SUCH_CONVERSATION)
    return principal


def answered(conv: Conversation) -> bool:
    """Some staff member took the chat (a chat that ended in the queue is not rated)."""
    return any(p.role in (Role.AGENT, Role.HELPER) for p in conv.participants)


@dataclass(frozen=True, slots=True)
class RatingScope:
    """Whose ratings a staff member reads: their own (``agent_id``), those of the workgroups
    they supervise (``workgroups``), or, an admin, every one (``everything``)."""

    agent_id: int
    workgroups: frozenset[int]
    everything: bool
    #: Whether the reader is told a rating came from a secret shopper's chat (supervisors and
    #: admins; an agent must not be able to tell a shopper from a customer).
    sees_shoppers: bool


def rating_scope(principal: Principal, supervises: Collection[int]) -> RatingScope:
    """Agents read the ratings given to them; supervisors also those of the workgroups they
    supervise; admins every one. A guest or a visitor reads none (``Forbidden``)."""
    staff = require_role(principal, StaffRole.AGENT)
    admin = staff.role is StaffRole.ADMIN
    supervisor = staff.role is StaffRole.SUPERVISOR
    return RatingScope(
        agent_id=staff.user_id,
        workgroups=frozenset(supervises) if supervisor else frozenset(),
        everything=admin,
        sees_shoppers=admin or supervisor,
    )


def took_part(principal: Principal, conv: Conversation) -> bool:
    """Was (or is) one of the chat's staff: its agent, an agent it was transferred from, an
    invited helper, a supervisor who barged in; present or not."""
    if not isinstance(principal, Staff):
        return False
    me = conv.participant(principal.key)
    return me is not None and me.role in (Role.AGENT, Role.HELPER)


def require_wrap_up(
    principal: Principal,
    conv: Conversation | None,
    member_of: Collection[int],
    supervises: Collection[int],
) -> Staff:
    """Wrapping a customer chat up (its outcome, its tags): the staff who took part in it
    (``took_part``), and the supervisors of its workgroup (admins: every one). Whoever may not
    read it gets the same ``NotFound`` as for a missing one; a reader who may not wrap it up
    (a colleague of the workgroup, another workgroup's supervisor) ``Forbidden``."""
    found = require_read(principal, conv, member_of)
    if found.kind is not Kind.CUSTOMER_CHAT or is_guest(principal):
        raise NotFound(NO_SUCH_CONVERSATION)
    staff = require_role(principal, StaffRole.AGENT)
    if not (took_part(staff, found) or can_supervise(staff, found.workgroup_id, supervises)):
        raise Forbidden("only the chat's agents and its workgroup's supervisors wrap it up")
    return staff


def require_outcome_setter(
    principal: Principal,
    conv: Conversation | None,
    member_of: Collection[int],
    supervises: Collection[int],
) -> Staff:
    """Setting or changing the outcome of an ended chat (``require_wrap_up``); a chat going on
    records it when its agent ends it (``Conflict`` here)."""
    staff = require_wrap_up(principal, conv, member_of, supervises)
    assert conv is not None
    if conv.status is not Status.ENDED:
        raise Conflict("the chat is still going on: its outcome is recorded when it ends")
    return staff


def require_tag_reader(principal: Principal) -> Staff:
    """The list of tags: every staff member from agents up (never a guest or a visitor)."""
    return require_role(principal, StaffRole.AGENT)


def require_tag_editor(principal: Principal) -> Staff:
    """Keeping the list of tags (create, rename, delete) is for admins."""
    return require_role(principal, StaffRole.ADMIN)


# Customer profiles ---------------------------------------------------------------------------


def require_profile_reader(
    principal: Principal, conv: Conversation, member_of: Collection[int]
) -> Staff:
    """Who reads and edits the profile of ``conv``'s customer, staff notes included: staff
    (not a guest) who may read the chat itself. Never a visitor, whatever their token names:
    a chat not theirs, a staff conversation, or a visitor asking, all read as a missing
    conversation (``NotFound``)."""
    if (
        not isinstance(principal, Staff)
        or is_guest(principal)
        or conv.staff_only
        or conv.link is None
        or not can_read(principal, conv, member_of)
    ):
        raise NotFound(NO_SUCH_CONVERSATION)
    return principal


def can_list_in_profile(
    principal: Principal, conv: Conversation, other: Conversation, member_of: Collection[int]
) -> bool:
    """``other`` is listed among the conversations of ``conv``'s customer: the same trustworthy
    link (``domain.identity``: never a typed email) and the principal may read it anyway."""
    return (
        conv.link is not None and other.link == conv.link and can_read(principal, other, member_of)
    )


def can_delete_customer_note(principal: Staff, author_id: int | None) -> bool:
    """A note about a customer goes with its author, or a supervisor or an admin."""
    return principal.user_id == author_id or _RANK[principal.role] >= _RANK[StaffRole.SUPERVISOR]


def require_transcript_requester(principal: Principal, conv: Conversation) -> Visitor:
    """Only the chat's own customer asks for its transcript by email (``domain.transcripts``);
    staff cannot send a chat to an address of their choosing this way."""
    if not isinstance(principal, Visitor):
        raise Forbidden("only the customer asks for their transcript by email")
    if principal.conversation_id != conv.id or conv.staff_only:
        raise NotFound(NO_SUCH_CONVERSATION)
    return principal


# QA review and secret shoppers ------------------------------------------------------------

NO_SUCH_REVIEW = "no such review"


def require_reviewer(
    principal: Principal, conv: Conversation | None, supervises: Collection[int]
) -> Staff:
    """Reviewing a chat and reading its reviews (shoppers' included): a customer chat of a
    workgroup the principal supervises (admins: any). Another workgroup's chat, a staff
    conversation or a missing one: the same ``NotFound`` as for no such conversation."""
    staff = require_supervisor(principal)
    if (
        conv is None
        or conv.kind is not Kind.CUSTOMER_CHAT
        or not can_supervise(staff, conv.workgroup_id, supervises)
    ):
        raise NotFound(NO_SUCH_CONVERSATION)
    return staff


def can_read_review(
    principal: Principal,
    agent_id: int | None,
    workgroup_id: int,
    shopper: bool,
    supervises: Collection[int],
) -> bool:
    """A review is read by its workgroup's supervisors and admins, and by the agent it is of,
    unless it is a secret shopper's: nothing an agent is shown says a chat was a shopper's."""
    if not isinstance(principal, Staff) or is_guest(principal):
        return False
    if agent_id == principal.user_id and not shopper:
        return True
    return can_supervise(principal, workgroup_id, supervises)


def require_review_editor(
    principal: Principal, workgroup_id: int | None, shopper: bool, supervises: Collection[int]
) -> Staff:
    """Changing or deleting a review: its workgroup's supervisors and admins (another's reads
    like none: ``NotFound``), never a secret shopper's score (``Conflict``)."""
    staff = require_supervisor(principal)
    if workgroup_id is None or not can_supervise(staff, workgroup_id, supervises):
        raise NotFound(NO_SUCH_REVIEW)
    if shopper:
        raise Conflict("a shopper's score is theirs: it cannot be changed")
    return staff


# Reports (after the fact) -----------------------------------------------------------------------


def require_reports(
    principal: Principal, workgroup_id: int | None, supervises: Collection[int]
) -> Staff:
    """A workgroup's reports: for its supervisors and admins, like its wallboard. An agent (or
    anyone below a supervisor) is refused (``Forbidden``); another workgroup reads exactly
    like one that does not exist (``NotFound``)."""
    return require_supervise(principal, workgroup_id, supervises)


# Co-browsing (``domain.cobrowse``) ---------------------------------------------------------------


def require_cobrowse_agent(principal: Principal, conv: Conversation) -> Staff:
    """Pushing a page and "follow me" are for the chat's own agents: present participants in
    the role of agent or invited helper. ``conv`` was loaded through the read gate
    (``require_read``: a conversation not theirs is ``NotFound`` like a missing one); a
    supervisor who only watches, a colleague who reads it, and its visitor get ``Forbidden``."""
    if not isinstance(principal, Staff):
        raise Forbidden("only the chat's agents push pages and lead the customer")
    me = _present(principal, conv)
    if me.role not in (Role.AGENT, Role.HELPER):
        raise Forbidden("only the chat's agents push pages and lead the customer")
    return principal


def require_cobrowse_customer(principal: Principal, conv: Conversation) -> Visitor:
    """Stopping "follow me" from the widget is the chat's customer's (the agent stops it
    from the console with their own call). Anyone else's visitor token reads nothing
    (``require_read`` first: ``NotFound``)."""
    require_read(principal, conv)
    if not isinstance(principal, Visitor):
        raise Forbidden("this is the customer's own control")
    return principal


def require_cobrowse_sites_editor(principal: Principal) -> Staff:
    """A workgroup's list of sites agents may push pages of is for admins."""
    return require_role(principal, StaffRole.ADMIN)
