"""The staff IM: direct messages, rooms and the back-channel beside a customer chat.

None of them is a second message model. Each is a ``Conversation`` of another ``Kind``, with
the same entries, gapless ``seq``, idempotent sends (``conversation.post_message``), cursors
and resume as a customer chat; what differs is who takes part (``Role.MEMBER``,
``Role.OWNER``), who may read (``domain.access``), and the few facts a room has
(``RoomInfo``: name, topic, visibility, a back-channel's customer chat).

- **Direct messages** (``Kind.DIRECT``): 2 to ``MAX_DIRECT_MEMBERS`` staff members, fixed at
  creation; one conversation per set of members (``direct_key``), so that opening it again
  finds it.
- **Rooms** (``Kind.ROOM``): a name (at most ``MAX_ROOM_NAME_CHARS``), a topic (at most
  ``MAX_TOPIC_CHARS``), open to all staff or private by invitation; the creator is its owner.
- **Back-channels** (``Kind.BACKCHANNEL``): one per customer chat, created when first opened,
  with the chat's staff (its agents and helpers) and the colleagues they pull in. A visitor
  never reads one: ``access.can_read`` says no to every visitor for every staff kind.

Read markers and unread counts: a member's marker is the last ``seq`` they have read (it never
goes back, ``mark_read``); what is unread is derived, never stored: the messages after the
marker that others wrote (``storage.rooms.RoomStore.unread``).

Pure: every function takes ``now`` and returns new state and entries.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from parley.domain.conversation import (
    Conversation,
    Entry,
    EntryKind,
    Kind,
    Participant,
    Role,
    RoomInfo,
    Status,
    Visibility,
    _append,
    join,
    leave,
    staff_key,
)
from parley.domain.errors import Conflict, CursorOutOfRange, Forbidden, InvalidInput, TooLong
from parley.domain.text import has_control

#: A direct message is for small groups; a bigger one is a room.
MAX_DIRECT_MEMBERS = 9
MAX_ROOM_NAME_CHARS = 80
MAX_TOPIC_CHARS = 250
#: Members of one room or back-channel at most (every public entry point has a limit).
MAX_ROOM_MEMBERS = 1000
#: Mentions of one message that notify anyone; the rest are plain text.
MAX_MENTIONS = 20

# A mention is ``@`` and a username (``services.admin``: lowercase letters, digits, ``.``,
# ``_``, ``-``, starting with a letter or digit), not preceded by a word character, ``@`` or
# ``.`` (so that ``zoe@example.com`` mentions nobody). A fixed pattern of ours, linear.
_MENTION = re.compile(r"(?<![\w@.])@([A-Za-z0-9][A-Za-z0-9_.-]{0,63})")


def direct_key(user_ids: Iterable[int]) -> str:
    """The one name of a set of members: a second "open" of the same set finds the first."""
    return ",".join(str(i) for i in sorted(set(user_ids)))


def open_direct(
    conversation_id: str, members: Sequence[Participant], now: datetime
) -> Conversation:
    """A direct message between ``members`` (the opener among them), no entries yet."""
    keys = {m.key for m in members}
    if len(keys) != len(members):
        raise InvalidInput("each member of a direct message is named once")
    if len(members) < 2:
        raise InvalidInput("a direct message needs someone besides you")
    if len(members) > MAX_DIRECT_MEMBERS:
        raise TooLong(
            f"a direct message has at most {MAX_DIRECT_MEMBERS} members; make a room instead"
        )
    return Conversation(
        conversation_id,
        Kind.DIRECT,
        Status.ACTIVE,
        now,
        participants=tuple(replace(m, role=Role.MEMBER, joined_at=now) for m in members),
    )


def validate_room_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput("a room needs a name")
    if len(name) > MAX_ROOM_NAME_CHARS:
        raise TooLong(f"a room name is limited to {MAX_ROOM_NAME_CHARS} characters")
    if has_control(name):
        raise InvalidInput("a room name is one line, without control characters")
    return name


def validate_topic(topic: str) -> str:
    topic = topic.strip()
    if len(topic) > MAX_TOPIC_CHARS:
        raise TooLong(f"a topic is limited to {MAX_TOPIC_CHARS} characters")
    if has_control(topic):
        raise InvalidInput("a topic is one line, without control characters")
    return topic


def open_room(
    conversation_id: str,
    name: str,
    topic: str,
    visibility: Visibility,
    owner: Participant,
    now: datetime,
) -> tuple[Conversation, list[Entry]]:
    """A room with its creator as owner; the owner's ``joined`` entry is its first."""
    info = RoomInfo(validate_room_name(name), validate_topic(topic), visibility)
    conv = Conversation(conversation_id, Kind.ROOM, Status.ACTIVE, now, room=info)
    conv, entry = join(conv, replace(owner, role=Role.OWNER, joined_at=now), now)
    return conv, [entry]


def open_backchannel(
    conversation_id: str, customer_chat: Conversation, opener: Participant, now: datetime
) -> tuple[Conversation, list[Entry]]:
    """The back-channel of ``customer_chat``, with every staff member present in the chat
    (its agents and helpers) and ``opener``. ``access.require_backchannel_opener`` checked
    who may open it."""
    if customer_chat.kind is not Kind.CUSTOMER_CHAT:
        raise InvalidInput("a back-channel belongs to a customer chat")
    info = RoomInfo(visibility=Visibility.PRIVATE, customer_chat_id=customer_chat.id)
    conv = Conversation(conversation_id, Kind.BACKCHANNEL, Status.ACTIVE, now, room=info)
    staff = [
        Participant(p.key, Role.MEMBER, p.display_name, now, p.user_id)
        for p in customer_chat.participants
        if p.present and p.role in (Role.AGENT, Role.HELPER) and p.key != opener.key
    ]
    entries: list[Entry] = []
    for member in (replace(opener, role=Role.MEMBER, joined_at=now), *staff):
        conv, entry = join(conv, member, now)
        entries.append(entry)
    return conv, entries


def add_member(
    conv: Conversation, member: Participant, now: datetime
) -> tuple[Conversation, Entry | None]:
    """``member`` joins a room or a back-channel (joining, an invitation, pulled in). Someone
    already present: nothing changes (None), so that a retry never fails."""
    if conv.kind not in (Kind.ROOM, Kind.BACKCHANNEL):
        raise Forbidden("the members of a direct message are fixed; start another one")
    found = conv.participant(member.key)
    if found is not None and found.present:
        return conv, None
    present = sum(1 for p in conv.participants if p.present)
    if present >= MAX_ROOM_MEMBERS:
        raise Conflict(f"a room has at most {MAX_ROOM_MEMBERS} members")
    # Someone coming back is a member again: an owner who left handed the room on.
    return join(conv, replace(member, role=Role.MEMBER, joined_at=now, left_at=None), now)


def leave_room(conv: Conversation, key: str, now: datetime) -> tuple[Conversation, Entry]:
    """A member leaves a room or a back-channel. The last owner of a room with other members
    hands it on first: the oldest other member becomes owner."""
    if conv.kind not in (Kind.ROOM, Kind.BACKCHANNEL):
        raise Forbidden("a direct message cannot be left")
    me = conv.participant(key)
    if me is None or not me.present:
        raise Forbidden("only a member can leave")
    others = [p for p in conv.participants if p.present and p.key != key]
    if me.role is Role.OWNER and others and not any(p.role is Role.OWNER for p in others):
        heir = others[0].key
        conv = replace(
            conv,
            participants=tuple(
                replace(p, role=Role.OWNER) if p.key == heir else p for p in conv.participants
            ),
        )
    return leave(conv, key, "left", now)


def set_topic(
    conv: Conversation, by: Participant, topic: str, now: datetime
) -> tuple[Conversation, Entry]:
    """A new topic, as an entry (so that every follower sees it, in order)."""
    if conv.room is None:
        raise Forbidden("only rooms and back-channels have a topic")
    topic = validate_topic(topic)
    conv = replace(conv, room=replace(conv.room, topic=topic))
    return _append(conv, EntryKind.TOPIC, by.key, {"topic": topic, "name": by.display_name}, now)


def mentions(text: str) -> list[str]:
    """The usernames ``text`` mentions (``@alice``), lowercased, each once, in order; at most
    ``MAX_MENTIONS``. A trailing ``.`` (the end of a sentence) is not part of the name."""
    found: list[str] = []
    for match in _MENTION.finditer(text):
        name = match.group(1).rstrip(".").lower()
        if name and name not in found:
            found.append(name)
            if len(found) == MAX_MENTIONS:
                break
    return found


def mentioned_members(conv: Conversation, user_ids: dict[str, int], author: str) -> list[int]:
    """Whom a message mentions and may be notified: present members of ``conv`` (by the
    ``user_ids`` of the mentioned usernames), never its author. A mention of anyone else is
    plain text: it tells nobody outside the conversation anything."""
    members = {p.user_id for p in conv.participants if p.present and p.user_id is not None}
    return [
        uid
        for uid in dict.fromkeys(user_ids.values())
        if uid in members and staff_key(uid) != author
    ]


def mark_read(current: int, seq: int, last_seq: int) -> int:
    """The new read marker: ``seq`` if it is further on; a marker never goes back."""
    if seq < 0:
        raise InvalidInput("seq must be at least 0")
    if seq > last_seq:
        raise CursorOutOfRange(f"seq {seq} does not exist yet (last is {last_seq})")
    return max(current, seq)
