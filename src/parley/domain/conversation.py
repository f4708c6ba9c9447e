"""Conversations: participants in roles and a log of entries with gapless sequence numbers.

A conversation is the one general thing every kind of chat is made of: a customer chat today;
staff direct messages, rooms, the back-channel beside a customer chat, supervisors watching,
transfers and invitations later. They differ in their kind, their participants' roles and their
policies, never in how entries are written, numbered, stored or delivered.

Each entry gets ``seq = last_seq + 1``; the services call these functions with the conversation
loaded under a lock, so the sequence stays gapless across processes.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from parley.domain.errors import Conflict, Forbidden, InvalidInput, TooLong
from parley.domain.identity import Customer, Link, customer_link

DEFAULT_MAX_MESSAGE_CHARS = 4000
MAX_CLIENT_ID_CHARS = 64
VISITOR_KEY = "visitor"


class Kind(StrEnum):
    CUSTOMER_CHAT = "customer_chat"
    #: Staff direct messages: one to one, or a small group (``domain.im``).
    DIRECT = "direct"
    #: A staff room: open to all staff, or private by invitation (``domain.im``).
    ROOM = "room"
    #: The staff-only room beside one customer chat (``domain.im``); never a visitor's.
    BACKCHANNEL = "backchannel"


#: The kinds of the staff IM: only staff ever read or write them.
STAFF_KINDS = frozenset({Kind.DIRECT, Kind.ROOM, Kind.BACKCHANNEL})


class Status(StrEnum):
    QUEUED = "queued"  # waiting for an agent
    ACTIVE = "active"
    ENDED = "ended"


class Role(StrEnum):
    VISITOR = "visitor"
    AGENT = "agent"
    #: Invited in by the chat's agent (see ``parley.domain.invitations``): reads and writes like
    #: an agent, but the chat is not theirs: it does not count against their capacity
    #: (``agent_ids`` and the routing load leave them out), and they leave instead of ending it.
    HELPER = "helper"
    #: A member of a staff conversation (a DM, a room, a back-channel).
    MEMBER = "member"
    #: A room's owner: a member who also invites into a private room and sets the topic.
    OWNER = "owner"


class Visibility(StrEnum):
    """Who may find and join a room: every staff member, or only those invited."""

    OPEN = "open"
    PRIVATE = "private"


class EntryKind(StrEnum):
    MESSAGE = "message"
    QUEUED = "queued"
    JOINED = "joined"
    LEFT = "left"
    ENDED = "ended"
    #: A private note: only staff see it. Visitors get a ``HIDDEN`` placeholder in its place.
    NOTE = "note"
    #: Never stored: what a visitor is sent for an entry they may not see, so that their
    #: ``seq`` stays gapless (see ``hidden``).
    HIDDEN = "hidden"
    #: A room's topic was set (``domain.im.set_topic``); body ``{"topic", "name"}``.
    TOPIC = "topic"
    #: Staff only: the customer left (every socket of theirs closed beyond the grace time);
    #: body ``{"ends_in_secs"}`` (0: the chat does not end by itself). ``domain.visitor_presence``.
    AWAY = "away"
    #: Staff only: the customer who left came back before the chat ended.
    BACK = "back"
    #: Co-browsing (``domain.cobrowse``): a pushed page, follow me on and off, the pages the
    #: customer's page followed; ``body["action"]`` says which.
    COBROWSE = "cobrowse"


def staff_key(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True, slots=True)
class Participant:
    key: str
    role: Role
    display_name: str
    joined_at: datetime
    user_id: int | None = None
    left_at: datetime | None = None

    @property
    def present(self) -> bool:
        return self.left_at is None


@dataclass(frozen=True, slots=True)
class Entry:
    """One item of a conversation's log. ``author`` is a participant key, or None for system."""

    seq: int
    kind: EntryKind
    author: str | None
    body: dict[str, Any]
    created_at: datetime
    client_id: str | None = None


@dataclass(frozen=True, slots=True)
class RoomInfo:
    """What a room or a back-channel has beyond its participants (``domain.im``)."""

    name: str = ""
    topic: str = ""
    visibility: Visibility = Visibility.PRIVATE
    #: A back-channel's customer chat.
    customer_chat_id: str | None = None


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    kind: Kind
    status: Status
    created_at: datetime
    workgroup_id: int | None = None
    participants: tuple[Participant, ...] = ()
    last_seq: int = 0
    ended_at: datetime | None = None
    end_reason: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    #: The verified customer (a signed identity token), if any; ``metadata`` holds only what
    #: the visitor typed.
    customer: Customer | None = None
    #: The anonymous visitor id (the same browser) the chat was opened with, if any.
    visitor_id: str | None = None
    #: Rooms and back-channels: name, topic, visibility, the customer chat (None otherwise).
    room: RoomInfo | None = None
    #: The first ``seq`` still kept (the retention job trims staff conversations as a prefix,
    #: ``domain.retention``); 1 when nothing was removed.
    history_starts_at_seq: int = 1

    @property
    def staff_only(self) -> bool:
        """A conversation of the staff IM (a DM, a room, a back-channel): no visitor in it."""
        return self.kind in STAFF_KINDS

    @property
    def link(self) -> Link | None:
        """What ties this chat to the same customer's others (``domain.identity``)."""
        return customer_link(self.customer, self.visitor_id)

    def participant(self, key: str) -> Participant | None:
        for p in self.participants:
            if p.key == key:
                return p
        return None

    def agent_ids(self) -> list[int]:
        return [
            p.user_id
            for p in self.participants
            if p.role is Role.AGENT and p.present and p.user_id is not None
        ]


def _append(
    conv: Conversation,
    kind: EntryKind,
    author: str | None,
    body: dict[str, Any],
    now: datetime,
    client_id: str | None = None,
) -> tuple[Conversation, Entry]:
    entry = Entry(conv.last_seq + 1, kind, author, body, now, client_id)
    return replace(conv, last_seq=entry.seq), entry


def open_customer_chat(
    conversation_id: str,
    workgroup_id: int,
    visitor_name: str,
    metadata: dict[str, Any],
    now: datetime,
    *,
    customer: Customer | None = None,
    visitor_id: str | None = None,
) -> tuple[Conversation, list[Entry]]:
    visitor = Participant(VISITOR_KEY, Role.VISITOR, visitor_name, now)
    conv = Conversation(
        conversation_id,
        Kind.CUSTOMER_CHAT,
        Status.QUEUED,
        now,
        workgroup_id=workgroup_id,
        participants=(visitor,),
        metadata=metadata,
        customer=customer,
        visitor_id=visitor_id,
    )
    conv, entry = _append(conv, EntryKind.QUEUED, None, {"workgroup_id": workgroup_id}, now)
    return conv, [entry]


def validate_text(text: str, max_chars: int) -> str:
    if not text.strip():
        raise InvalidInput("a message needs some text")
    if len(text) > max_chars:
        raise TooLong(f"a message is limited to {max_chars} characters")
    return text


def validate_client_id(client_id: str) -> str:
    if not client_id or len(client_id) > MAX_CLIENT_ID_CHARS:
        raise InvalidInput(f"client_id must be 1 to {MAX_CLIENT_ID_CHARS} characters")
    return client_id


def post_message(
    conv: Conversation,
    author: str,
    text: str,
    client_id: str,
    now: datetime,
    max_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
) -> tuple[Conversation, Entry]:
    """Append a message. The visitor may write while queued: the agent reads it on accept."""
    _writer(conv, author, text, client_id, max_chars)
    return _append(conv, EntryKind.MESSAGE, author, {"text": text}, now, client_id)


def post_note(
    conv: Conversation,
    author: str,
    text: str,
    client_id: str,
    now: datetime,
    max_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
) -> tuple[Conversation, Entry]:
    """Append a private note, which only staff see: for present staff participants."""
    if _writer(conv, author, text, client_id, max_chars).role is Role.VISITOR:
        raise Forbidden("private notes are for staff")
    if conv.staff_only:
        raise Forbidden("private notes are for customer chats: everything here is staff-only")
    return _append(conv, EntryKind.NOTE, author, {"text": text}, now, client_id)


def post_whisper(
    conv: Conversation,
    author: str,
    name: str,
    text: str,
    client_id: str,
    now: datetime,
    max_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
) -> tuple[Conversation, Entry]:
    """Append a supervisor's whisper to the chat's agents: a private note (so that whatever
    keeps notes from the visitor keeps it too) marked as coaching, by someone watching who is
    not a participant (``access.require_coach`` decides who may). It needs an agent to read it:
    an active chat."""
    validate_text(text, max_chars)
    validate_client_id(client_id)
    if conv.kind is not Kind.CUSTOMER_CHAT:
        raise Forbidden("whispers are for customer chats")
    if conv.status is Status.ENDED:
        raise Conflict("this conversation has ended")
    if not conv.agent_ids():
        raise Conflict("nobody to coach: this chat has no agent yet")
    body = {"text": text, "coaching": True, "name": name}
    return _append(conv, EntryKind.NOTE, author, body, now, client_id)


def is_coaching(entry: Entry) -> bool:
    """A supervisor's whisper (``post_whisper``)."""
    return entry.kind is EntryKind.NOTE and entry.body.get("coaching") is True


def take_over(
    conv: Conversation, supervisor: Participant, now: datetime
) -> tuple[Conversation, list[Entry], list[int]]:
    """A supervisor takes the chat over: its present agents leave (reason ``taken_over``) and
    the supervisor becomes its agent (a supervisor who barged in as a helper changes role).
    Returns the chat, the entries (the agents' ``left``, then the supervisor's ``joined``)
    and the user ids of the agents who left."""
    if conv.kind is not Kind.CUSTOMER_CHAT or conv.status is not Status.ACTIVE:
        raise Conflict("only an active customer chat can be taken over")
    if supervisor.role is not Role.AGENT:
        raise InvalidInput("the one who takes a chat over becomes its agent")
    me = conv.participant(supervisor.key)
    if me is not None and me.present and me.role is Role.AGENT:
        raise Conflict("this chat is already yours")
    entries: list[Entry] = []
    left: list[int] = []
    for p in conv.participants:
        if p.role is Role.AGENT and p.present and p.key != supervisor.key:
            conv, entry = leave(conv, p.key, "taken_over", now)
            entries.append(entry)
            if p.user_id is not None:
                left.append(p.user_id)
    conv, joined = join(conv, replace(supervisor, joined_at=now), now)
    return conv, [*entries, joined], left


def _writer(
    conv: Conversation, author: str, text: str, client_id: str, max_chars: int
) -> Participant:
    """Check a message or note before it is appended; returns its author."""
    validate_text(text, max_chars)
    validate_client_id(client_id)
    if conv.status is Status.ENDED:
        raise Conflict("this conversation has ended")
    participant = conv.participant(author)
    if participant is None or not participant.present:
        raise Forbidden("only a participant can write here")
    return participant


def customer_away(
    conv: Conversation, ends_in_secs: int, now: datetime
) -> tuple[Conversation, Entry]:
    """The staff-only line: the customer left (``domain.visitor_presence``); the chat ends by
    itself in ``ends_in_secs`` (0: it does not)."""
    return _append(conv, EntryKind.AWAY, None, {"ends_in_secs": ends_in_secs}, now)


def customer_back(conv: Conversation, now: datetime) -> tuple[Conversation, Entry]:
    """The staff-only line: the customer who left came back."""
    return _append(conv, EntryKind.BACK, None, {}, now)


def hidden(entry: Entry) -> Entry:
    """The placeholder shown in place of an entry its reader may not see: same ``seq`` and
    time, nothing else."""
    return Entry(entry.seq, EntryKind.HIDDEN, None, {}, entry.created_at)


def join(conv: Conversation, participant: Participant, now: datetime) -> tuple[Conversation, Entry]:
    if conv.status is Status.ENDED:
        raise Conflict("this conversation has ended")
    others = tuple(p for p in conv.participants if p.key != participant.key)
    status = Status.ACTIVE if participant.role is Role.AGENT else conv.status
    conv = replace(conv, participants=(*others, participant), status=status)
    body = {"name": participant.display_name, "role": participant.role.value}
    return _append(conv, EntryKind.JOINED, participant.key, body, now)


def leave(conv: Conversation, key: str, reason: str, now: datetime) -> tuple[Conversation, Entry]:
    """A staff participant leaves a conversation that goes on (after a transfer, or an invited
    helper's visit). ``reason``: transferred, left."""
    if conv.status is Status.ENDED:
        raise Conflict("this conversation has ended")
    me = conv.participant(key)
    if me is None or not me.present:
        raise Forbidden("only a participant can leave this conversation")
    if me.role is Role.VISITOR:
        raise Forbidden("the visitor ends the conversation instead")
    participants = tuple(replace(p, left_at=now) if p.key == key else p for p in conv.participants)
    conv = replace(conv, participants=participants)
    body = {"name": me.display_name, "role": me.role.value, "reason": reason}
    return _append(conv, EntryKind.LEFT, key, body, now)


def end(
    conv: Conversation, by: str | None, reason: str, now: datetime
) -> tuple[Conversation, list[Entry]]:
    """End the conversation. ``reason``: ended (by a participant), cancelled, expired.

    Ending twice is a no-op, so that a retried end never fails.
    """
    if conv.status is Status.ENDED:
        return conv, []
    if by is not None:
        participant = conv.participant(by)
        if participant is None or not participant.present:
            raise Forbidden("only a participant can end this conversation")
        if participant.role is Role.HELPER:
            raise Forbidden("an invited helper leaves the chat; its agent ends it")
        if conv.staff_only:
            raise Forbidden("a staff conversation does not end; its members leave it")
    participants = tuple(
        p if p.left_at is not None else replace(p, left_at=now) for p in conv.participants
    )
    conv = replace(
        conv,
        status=Status.ENDED,
        ended_at=now,
        end_reason=reason,
        participants=participants,
    )
    conv, entry = _append(conv, EntryKind.ENDED, by, {"reason": reason}, now)
    return conv, [entry]
