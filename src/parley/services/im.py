"""The staff IM's use cases: direct messages, rooms, the back-channel beside a customer chat,
read markers, history and search, and mention notifications.

Messages are not sent here: a DM, a room or a back-channel is a conversation, and its
messages go through ``ChatService.send`` (the WebSocket ``send``, ``POST
/conversations/{id}/messages``) and the group commit, with the same ack, idempotency by
client id and gapless ``seq`` as a customer chat. Every staff conversation is loaded through
the one read gate (``services.conversations.readable``, then ``access``): one that is not
the reader's reads exactly like one that does not exist.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access
from parley.domain import im as im_policy
from parley.domain import presence as presence_policy
from parley.domain.access import NO_SUCH_CONVERSATION, Staff, StaffRole
from parley.domain.conversation import (
    Conversation,
    Kind,
    Participant,
    Role,
    Visibility,
    staff_key,
)
from parley.domain.errors import InvalidInput, NotFound, TooLong
from parley.protocol import ConversationOut, EntryOut, MentionMessage
from parley.realtime.bus import Bus
from parley.realtime.notifications import (
    Appended,
    Follow,
    Notification,
    ToUser,
    Unfollow,
)
from parley.services.conversations import readable
from parley.storage.agents import AgentStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.rooms import RoomStore
from parley.storage.staff import StaffStore, UserRow
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore

#: The most conversations ``mine`` lists, rooms ``open_rooms`` lists, entries a page holds.
MAX_LIST = 200
MAX_PAGE = 200
MAX_SEARCH_CHARS = 200
NO_SUCH_STAFF = "no such staff member"


@dataclass(frozen=True, slots=True)
class Summary:
    """One line of a member's list of DMs and rooms."""

    conversation: ConversationOut
    unread: int
    read_seq: int
    last_entry: EntryOut | None


@dataclass(frozen=True, slots=True)
class ReadState:
    read_seq: int
    unread: int


class ImService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        rooms: RoomStore,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._staff = staff
        self._workgroups = workgroups
        self._conversations = conversations
        self._rooms = rooms

    # Direct messages ------------------------------------------------------------------------

    async def open_direct(self, me: Staff, user_ids: Sequence[int]) -> ConversationOut:
        """The DM between ``me`` and ``user_ids``: the one that exists for this set of members,
        else a new one (every member's connections start following it)."""
        access.require_role(me, StaffRole.AGENT)  # a guest has their room only
        others = sorted(set(user_ids) - {me.user_id})
        if not others:
            raise InvalidInput("a direct message needs someone besides you")
        if len(others) >= im_policy.MAX_DIRECT_MEMBERS:
            raise TooLong(
                f"a direct message has at most {im_policy.MAX_DIRECT_MEMBERS} members; "
                "make a room instead"
            )
        key = im_policy.direct_key([me.user_id, *others])
        now = self._clock.now()
        for attempt in (1, 2):
            try:
                async with self._db.write() as tx:
                    # Someone deactivated since: refused, even for a DM that exists.
                    members = [_participant(u, now) for u in await self._users(tx, others)]
                    found = await self._rooms.direct_by_key(tx, key)
                    if found is not None:
                        conv = await self._staff_conversation(tx, me, found)
                        return ConversationOut.of(conv)
                    conv = im_policy.open_direct(
                        secrets.token_hex(16), [_me(me, now), *members], now
                    )
                    await self._conversations.insert_conversation(tx, conv)
                    await self._rooms.insert_room(tx, conv, created_by=me.user_id, direct_key=key)
            except IntegrityError:
                # The same DM opened at the same moment elsewhere: read that one.
                if attempt == 2:
                    raise
                continue
            break
        await self._bus.publish(
            [Follow(user_id=uid, conversation_id=conv.id) for uid in _user_ids(conv)]
        )
        return ConversationOut.of(conv)

    async def mine(self, me: Staff, limit: int = MAX_LIST) -> list[Summary]:
        """My DMs, rooms and back-channels, latest activity first, with unread counts (the
        messages of others after my read marker) and the last entry."""
        async with self._db.read() as tx:
            ids = await self._rooms.conversations_of(tx, me.user_id, min(limit, MAX_LIST))
            convs = await self._conversations.conversations(tx, ids)
            unread = await self._rooms.unread(tx, me.user_id, me.key, ids)
            markers = await self._rooms.read_markers(tx, me.user_id, ids)
            last = await self._rooms.last_entries(tx, ids)
        return [
            Summary(
                ConversationOut.of(c),
                unread.get(c.id, 0),
                markers.get(c.id, 0),
                None if c.id not in last else EntryOut.of(last[c.id]),
            )
            for c in convs
            if access.can_read(me, c)
        ]

    # Rooms ----------------------------------------------------------------------------------

    async def create_room(
        self, me: Staff, name: str, topic: str, visibility: Visibility
    ) -> ConversationOut:
        access.require_role(me, StaffRole.AGENT)
        now = self._clock.now()
        conv, entries = im_policy.open_room(
            secrets.token_hex(16), name, topic, visibility, _me(me, now), now
        )
        async with self._db.write() as tx:
            await self._conversations.insert_conversation(tx, conv)
            await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
            await self._conversations.insert_entries(tx, conv.id, entries)
            await self._rooms.insert_room(tx, conv, created_by=me.user_id)
            await self._rooms.set_read_marker(tx, conv.id, me.user_id, conv.last_seq, now)
        await self._bus.publish([Follow(user_id=me.user_id, conversation_id=conv.id)])
        return ConversationOut.of(conv)

    async def open_rooms(
        self, me: Staff, search: str | None = None, limit: int = MAX_LIST
    ) -> list[ConversationOut]:
        """The open rooms, by name; ``search`` matches names and topics."""
        access.require_role(me, StaffRole.AGENT)
        if search is not None and len(search) > MAX_SEARCH_CHARS:
            raise TooLong(f"a search is limited to {MAX_SEARCH_CHARS} characters")
        async with self._db.read() as tx:
            ids = await self._rooms.open_rooms(tx, search or None, min(limit, MAX_LIST))
            convs = await self._conversations.conversations(tx, ids)
        return [ConversationOut.of(c) for c in convs if access.can_read(me, c)]

    async def join(self, me: Staff, conversation_id: str) -> ConversationOut:
        """Join an open room (a member already: nothing changes)."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id, lock=True)
            access.require_join(me, conv)
            conv, notes = await self._add(tx, conv, _me(me, now), now)
        await self._bus.publish(notes)
        return ConversationOut.of(conv)

    async def add_member(self, me: Staff, conversation_id: str, user_id: int) -> ConversationOut:
        """Invite a colleague into a room (a private room: its owners), or pull one into a
        back-channel (any member). Someone deactivated reads like someone who does not exist."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id, lock=True)
            access.require_room_owner(me, conv)
            (user,) = await self._users(tx, [user_id])
            conv, notes = await self._add(tx, conv, _participant(user, now), now)
        await self._bus.publish(notes)
        return ConversationOut.of(conv)

    async def leave(self, me: Staff, conversation_id: str) -> None:
        """Leave a room or a back-channel: my connections stop following it; a private one I
        can no longer read."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id, lock=True)
            access.require_member(me, conv)
            conv, entry = im_policy.leave_room(conv, me.key, now)
            await self._conversations.save_conversation(tx, conv)
            await self._conversations.insert_entries(tx, conv.id, [entry])
        await self._bus.publish(
            [
                Appended(conversation_id=conv.id, entries=[EntryOut.of(entry)]),
                Unfollow(user_id=me.user_id, conversation_id=conv.id),
            ]
        )

    async def set_topic(self, me: Staff, conversation_id: str, topic: str) -> ConversationOut:
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id, lock=True)
            staff = access.require_room_owner(me, conv)
            member = conv.participant(staff.key)
            assert member is not None
            conv, entry = im_policy.set_topic(conv, member, topic, now)
            assert conv.room is not None
            await self._rooms.set_topic(tx, conv.id, conv.room.topic)
            await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
            await self._conversations.insert_entries(tx, conv.id, [entry])
        await self._bus.publish([Appended(conversation_id=conv.id, entries=[EntryOut.of(entry)])])
        return ConversationOut.of(conv)

    # Back-channels --------------------------------------------------------------------------

    async def backchannel(self, me: Staff, customer_conversation_id: str) -> ConversationOut:
        """The back-channel beside a customer chat, opened (and created, the first time) by
        the chat's present staff, who become members; its members read it. Anyone else, the
        chat's visitor above all, is told there is no such conversation."""
        now = self._clock.now()
        for attempt in (1, 2):
            notes: list[Notification] = []
            try:
                async with self._db.write() as tx:
                    found = await self._rooms.backchannel_of(tx, customer_conversation_id)
                    existing = None
                    if found is not None:
                        existing = await self._conversations.conversation(tx, found, lock=True)
                        assert existing is not None
                        conv = existing
                        if access.is_member(me, existing):
                            # A colleague pulled in need not read the customer chat.
                            break
                    chat = await readable(
                        tx, self._workgroups, self._conversations, me, customer_conversation_id
                    )
                    if chat.kind is not Kind.CUSTOMER_CHAT:
                        raise NotFound(NO_SUCH_CONVERSATION)
                    if not access.can_open_backchannel(me, chat):
                        raise NotFound(NO_SUCH_CONVERSATION)
                    if existing is not None:
                        conv, notes = await self._add(tx, existing, _me(me, now), now)
                    else:
                        conv, entries = im_policy.open_backchannel(
                            secrets.token_hex(16), chat, _me(me, now), now
                        )
                        await self._conversations.insert_conversation(tx, conv)
                        await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
                        await self._conversations.insert_entries(tx, conv.id, entries)
                        await self._rooms.insert_room(tx, conv, created_by=me.user_id)
                        notes = [
                            Follow(user_id=uid, conversation_id=conv.id) for uid in _user_ids(conv)
                        ]
            except IntegrityError:
                # Opened at the same moment by a colleague: take theirs.
                if attempt == 2:
                    raise
                continue
            break
        await self._bus.publish(notes)
        assert conv is not None
        return ConversationOut.of(conv)

    # Reading --------------------------------------------------------------------------------

    async def history(
        self, me: Staff, conversation_id: str, before: int | None, limit: int
    ) -> list[EntryOut]:
        """A page of history: the ``limit`` entries before ``seq`` ``before`` (the latest
        when None), oldest first."""
        async with self._db.read() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id)
            upto = conv.last_seq + 1 if before is None else before
            found = await self._rooms.entries_before(tx, conv.id, upto, min(limit, MAX_PAGE))
        return [EntryOut.of(e) for e in found]

    async def search(
        self, me: Staff, conversation_id: str, text: str, before: int | None, limit: int
    ) -> list[EntryOut]:
        """Messages of one staff conversation holding ``text`` (any case), newest first."""
        text = text.strip()
        if not text:
            raise InvalidInput("search for some text")
        if len(text) > MAX_SEARCH_CHARS:
            raise TooLong(f"a search is limited to {MAX_SEARCH_CHARS} characters")
        async with self._db.read() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id)
            found = await self._rooms.search(tx, conv.id, text, before, min(limit, MAX_PAGE))
        return [EntryOut.of(e) for e in found]

    async def mark_read(self, me: Staff, conversation_id: str, seq: int) -> ReadState:
        """Move my read marker to ``seq`` (never back); what is left unread."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await self._staff_conversation(tx, me, conversation_id)
            access.require_member(me, conv)
            im_policy.mark_read(0, seq, conv.last_seq)
            await self._rooms.set_read_marker(tx, conv.id, me.user_id, seq, now)
            marker = (await self._rooms.read_markers(tx, me.user_id, [conv.id])).get(conv.id, 0)
            unread = (await self._rooms.unread(tx, me.user_id, me.key, [conv.id])).get(conv.id, 0)
        return ReadState(marker, unread)

    # Helpers --------------------------------------------------------------------------------

    async def _staff_conversation(
        self, tx: Tx, me: Staff, conversation_id: str, *, lock: bool = False
    ) -> Conversation:
        """The read gate, for staff conversations only: a customer chat here reads like one
        that does not exist."""
        conv = await readable(
            tx, self._workgroups, self._conversations, me, conversation_id, lock=lock
        )
        if not conv.staff_only:
            raise NotFound(NO_SUCH_CONVERSATION)
        return conv

    async def _add(
        self, tx: Tx, conv: Conversation, member: Participant, now: datetime
    ) -> tuple[Conversation, list[Notification]]:
        """``member`` joins ``conv`` (locked): their read marker at their ``joined`` entry,
        their connections follow it from there (a back-channel: from its start, so that a
        colleague pulled in reads what was said)."""
        conv, entry = im_policy.add_member(conv, member, now)
        if entry is None:
            return conv, []
        await self._conversations.save_conversation(tx, conv)
        await self._conversations.insert_entries(tx, conv.id, [entry])
        assert member.user_id is not None
        await self._rooms.set_read_marker(tx, conv.id, member.user_id, entry.seq, now)
        cursor = 0 if conv.kind is Kind.BACKCHANNEL else entry.seq - 1
        return conv, [
            Appended(conversation_id=conv.id, entries=[EntryOut.of(entry)]),
            Follow(user_id=member.user_id, conversation_id=conv.id, cursor=cursor),
        ]

    async def _users(self, tx: Tx, user_ids: Sequence[int]) -> list[UserRow]:
        """Active staff accounts; a missing or deactivated one: ``NotFound``, the same."""
        found = []
        for user_id in user_ids:
            user = await self._staff.user(tx, user_id)
            if user is None or not access.can_message(user.active, user.role):
                raise NotFound(NO_SUCH_STAFF)
            found.append(user)
        return found


class MentionNotifier:
    """A bus subscriber on every node: a message of a staff conversation that mentions
    (``@username``) one of its members sends a ``mention`` to that member's connections on
    this node (each node tells its own connections, so nobody is told twice). A mention of
    someone who is not a member tells them nothing. Like every notification, a hint: the
    message itself is in the record."""

    def __init__(
        self,
        db: Database,
        deliver: Callable[[Notification], Awaitable[None]],
        connected: Callable[[int], bool],
        *,
        staff: StaffStore,
        conversations: ConversationStore,
        agents: AgentStore | None = None,
    ) -> None:
        """``deliver`` hands a notification to this node's connections only (``Hub.handle``);
        ``connected`` says whether a user has one here. With ``agents``, a member who is
        ``busy`` is not told (``domain.presence.silences_notifications``): the unread count
        still shows the message."""
        self._agents = agents
        self._db = db
        self._deliver = deliver
        self._connected = connected
        self._staff = staff
        self._conversations = conversations

    async def on_notification(self, note: Notification) -> None:
        if not isinstance(note, Appended):
            return
        wanted: list[tuple[EntryOut, str, list[str]]] = []
        for entry in note.entries:
            text = entry.body.get("text")
            if entry.kind == "message" and isinstance(text, str) and "@" in text:
                names = im_policy.mentions(text)
                if names and entry.author is not None:
                    wanted.append((entry, text, names))
        if not wanted:
            return
        out: list[ToUser] = []
        async with self._db.read() as tx:
            conv: Conversation | None = None
            for entry, text, names in wanted:
                ids: dict[str, int] = {}
                for name in names:
                    user = await self._staff.user_by_username(tx, name)
                    if user is not None and user.active and self._connected(user.id):
                        ids[name] = user.id
                if ids and self._agents is not None:
                    busy = {
                        p.agent_id
                        for p in await self._agents.agent_presences(tx, ids.values())
                        if presence_policy.silences_notifications(p.presence)
                    }
                    ids = {name: uid for name, uid in ids.items() if uid not in busy}
                if not ids:
                    continue
                if conv is None:
                    conv = await self._conversations.conversation(tx, note.conversation_id)
                    if conv is None or not conv.staff_only:
                        return
                assert entry.author is not None
                author = conv.participant(entry.author)
                message = MentionMessage(
                    conversation_id=conv.id,
                    conversation_kind=conv.kind.value,
                    seq=entry.seq,
                    author=entry.author,
                    name="" if author is None else author.display_name,
                    text=text,
                ).model_dump(mode="json")
                out += [
                    ToUser(user_id=uid, message=message)
                    for uid in im_policy.mentioned_members(conv, ids, entry.author)
                ]
        for one in out:
            await self._deliver(one)


def _participant(user: UserRow, now: datetime) -> Participant:
    return Participant(staff_key(user.id), Role.MEMBER, user.display_name, now, user.id)


def _me(me: Staff, now: datetime) -> Participant:
    return Participant(me.key, Role.MEMBER, me.display_name, now, me.user_id)


def _user_ids(conv: Conversation) -> list[int]:
    return [p.user_id for p in conv.participants if p.present and p.user_id is not None]
