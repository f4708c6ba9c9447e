"""The hub: one per node, it holds this node's client connections and delivers notifications.

Every connection keeps a cursor per conversation it follows: the last ``seq`` it was sent.
Entries at or below the cursor are dropped (nothing twice); an entry beyond ``cursor + 1`` means
something was missed (a lost or reordered bus message), so the connection reads what follows its
cursor from the database (nothing lost, in order). Deliveries to one connection are serialised
by its lock, which also covers the catch-up when it starts following a conversation.

The connection that sent a message gets one frame for it, the ``ack`` that carries the entry,
in the entry's place in its stream (``expect_ack`` before the send, ``answer`` after it); every
other connection gets the ``entry``. A connection that comes back later gets its own messages
as entries, in the replay that follows its cursor.

Each connection has a bounded outbox drained by its transport; a client too slow to keep up is
disconnected rather than allowed to hold memory, and resumes from its cursors when it returns.
Frames that only carry the latest state of something (``LATEST_KINDS``: presence, a staff
profile, a queue position, a typing indicator, a "fetch the waiting list again" hint) are
coalesced: the outbox holds at most one unsent frame per kind and subject, and a newer one
replaces it in place. Entries, acks and every other frame are never coalesced nor dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel

from parley.domain import retention
from parley.domain.access import Principal, Staff, Visitor, can_see_directory
from parley.metrics import Metrics
from parley.protocol import Ack, ConversationOut, ConversationState, EntryMessage, EntryOut, Error
from parley.realtime.notifications import (
    Appended,
    Follow,
    Kick,
    Notification,
    Rebalance,
    Revoke,
    ToConversation,
    ToStaff,
    ToUser,
    Unfollow,
)

log = logging.getLogger(__name__)

DEFAULT_OUTBOX_LIMIT = 1000
#: The most latest-state frames (distinct subjects) waiting in one outbox; they do not count
#: towards ``DEFAULT_OUTBOX_LIMIT``: they are bounded by what exists (staff members, followed
#: conversations), and this bounds them again.
DEFAULT_LATEST_LIMIT = 20_000

#: Kinds of server frames where only the latest per subject matters, and the fields that name
#: the subject. A client relies on the latest state of each subject, not on every transition.
LATEST_KINDS: dict[str, tuple[str, ...]] = {
    "presence": ("user_id",),
    "staff_profile": ("user_id",),
    "queue": ("conversation_id",),
    "typing": ("conversation_id", "participant"),
    "waiting_changed": ("workgroup_id",),
}

LatestKey = tuple[object, ...]


def latest_key(message: BaseModel | dict[str, object]) -> LatestKey | None:
    """The (kind, subject) a latest-state frame coalesces under; None for every other frame."""
    if isinstance(message, BaseModel):
        kind = getattr(message, "type", None)
        fields = LATEST_KINDS.get(kind) if isinstance(kind, str) else None
        if fields is None:
            return None
        return (kind, *(getattr(message, f, None) for f in fields))
    kind = message.get("type")
    fields = LATEST_KINDS.get(kind) if isinstance(kind, str) else None
    if fields is None:
        return None
    return (kind, *(message.get(f) for f in fields))


class _Latest:
    """An outbox slot for a latest-state frame: ``text`` is replaced while it waits."""

    __slots__ = ("key", "text")

    def __init__(self, key: LatestKey, text: str) -> None:
        self.key = key
        self.text = text


@dataclass(frozen=True, slots=True)
class Backlog:
    """One read of the record (one snapshot): where the kept history of a conversation starts,
    the entries after a cursor (none below ``history_starts_at_seq``), and, when asked for,
    the conversation's state."""

    history_starts_at_seq: int
    entries: Sequence[EntryOut]
    state: ConversationOut | None = None


class SyncSource(Protocol):
    """Reads the record; implemented by the chat service."""

    async def backlog(
        self, conversation_id: str, after: int, *, state: bool = False
    ) -> Backlog | None:
        """None: no such conversation (any more)."""
        ...


class Transport(Protocol):
    """Where a connection's frames go (a Starlette ``WebSocket`` is one)."""

    async def send_text(self, data: str) -> None: ...

    async def close(self, code: int, reason: str) -> None: ...


class ClientConnection:
    """A client's connection as the hub sees it, whatever the transport.

    Frames wait in the outbox, in order, until ``start`` gives the connection its transport;
    then a task sends them, one at a time, and ends when the outbox is empty: an idle
    connection holds no task, only what it must (a few hundred bytes here; see
    ``bench/idle_connections.py``). More than ``outbox_limit`` frames waiting closes it (1013).

    A latest-state frame (``latest_key``) waits in a slot of its own: while it is unsent, the
    next frame of the same kind and subject replaces its text in place, so that the outbox
    holds at most one per subject; those slots are counted against ``latest_limit``, not
    ``outbox_limit``.
    """

    __slots__ = (
        "_closed",
        "_drainer",
        "_ended",
        "_latest",
        "_latest_limit",
        "_outbox_limit",
        "_transport",
        "acks",
        "close_with",
        "cursors",
        "id",
        "lock",
        "outbox",
        "overflowed",
        "principal",
        "token_hash",
    )

    def __init__(
        self,
        connection_id: str,
        principal: Principal,
        outbox_limit: int = DEFAULT_OUTBOX_LIMIT,
        latest_limit: int = DEFAULT_LATEST_LIMIT,
    ) -> None:
        self.id = connection_id
        self.principal = principal
        self.cursors: dict[str, int] = {}
        self.lock = asyncio.Lock()
        #: Frames not yet handed to the transport, in order; None stands for the close, a
        #: ``_Latest`` for a latest-state frame (``pop`` reads them all as text).
        self.outbox: deque[str | _Latest | None] = deque()
        self._outbox_limit = outbox_limit
        self._latest_limit = latest_limit
        #: The latest-state slots waiting in the outbox, by (kind, subject); None when none.
        self._latest: dict[LatestKey, _Latest] | None = None
        self._transport: Transport | None = None
        self._drainer: asyncio.Task[None] | None = None
        #: The SHA-256 of the staff token this connection authenticated with, for revocation.
        self.token_hash: str | None = None
        self.overflowed = False
        #: Set by the transport when asked to close: (WebSocket close code, reason).
        self.close_with: tuple[int, str] | None = None
        self._ended = False
        self._closed: asyncio.Event | None = None
        #: Sends of this connection not yet answered: (conversation id, client id) -> ref.
        self.acks: dict[tuple[str, str], str | None] = {}

    def request_close(self, code: int, reason: str) -> None:
        """Close after what is already queued has been sent; nothing sent later goes out."""
        if self.close_with is None:
            self.close_with = (code, reason)
            self.outbox.append(None)
            self._drain_soon()

    def start(self, transport: Transport) -> None:
        """Send what is queued, and from now on what is sent, through ``transport``."""
        self._transport = transport
        self._drain_soon()

    async def stop(self) -> None:
        """The transport is done: after a requested close, wait until it is sent (and the
        socket closed); otherwise (the client went away) drop what waits."""
        drainer = self._drainer
        if self.close_with is None:
            self._transport = None
            self._clear()
            if drainer is not None:
                drainer.cancel()
        if drainer is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await drainer
        self._transport = None

    def mark_closed(self) -> None:
        """The connection is gone for good (``closed`` is set)."""
        self._ended = True
        if self._closed is not None:
            self._closed.set()

    @property
    def closed(self) -> asyncio.Event:
        """Set once the connection is gone (made on first use: most are never waited for)."""
        if self._closed is None:
            self._closed = asyncio.Event()
            if self._ended:
                self._closed.set()
        return self._closed

    def pop(self) -> str | None:
        """The next frame's text (None: the close), taken out of the outbox (which must not be
        empty); a latest-state frame's slot is freed, so that the next one queues anew."""
        item = self.outbox.popleft()
        if isinstance(item, _Latest):
            latest = self._latest
            if latest is not None:
                latest.pop(item.key, None)
                if not latest:
                    self._latest = None  # an emptied dict keeps its table: drop it
            return item.text
        return item

    def _clear(self) -> None:
        self.outbox.clear()
        self._latest = None

    def _drain_soon(self) -> None:
        if self._drainer is None and self._transport is not None and self.outbox:
            self._drainer = asyncio.create_task(self._drain(self._transport))

    async def _drain(self, transport: Transport) -> None:
        try:
            while self.outbox:
                text = self.pop()
                if text is None:
                    code, reason = self.close_with or (1000, "")
                    self._clear()
                    with contextlib.suppress(Exception):
                        await transport.close(code, reason)
                    return
                await transport.send_text(text)
        except Exception:
            # The socket is gone: its reader sees the disconnect and ends the session.
            log.debug("connection %s: sending failed", self.id, exc_info=True)
            self._transport = None
            self._clear()
        finally:
            self._drainer = None

    @property
    def audience(self) -> str:
        return "visitor" if isinstance(self.principal, Visitor) else "staff"

    @property
    def sees_directory(self) -> bool:
        """Gets every staff member's presence and profile (``ToStaff``): not a guest."""
        return can_see_directory(self.principal)

    @property
    def user_id(self) -> int | None:
        return self.principal.user_id if isinstance(self.principal, Staff) else None

    @property
    def participant_key(self) -> str:
        return self.principal.key

    def send(self, message: BaseModel | dict[str, object]) -> None:
        if self.overflowed or self.close_with is not None:
            return
        # Dicts come from notifications, already dumped in JSON mode.
        text = message.model_dump_json() if isinstance(message, BaseModel) else json.dumps(message)
        self.send_text(text, latest_key(message))

    def send_text(self, text: str, key: LatestKey | None = None) -> None:
        """Queue a frame already encoded (a fan-out encodes once for every connection);
        ``key`` is its ``latest_key``: an unsent frame with the same key is replaced."""
        if self.overflowed or self.close_with is not None:
            return
        latest = self._latest
        if key is not None:
            if latest is not None:
                slot = latest.get(key)
                if slot is not None:
                    slot.text = text  # in its place; nothing grows
                    return
            else:
                latest = self._latest = {}
            if len(latest) >= self._latest_limit:
                self._overflow()
                return
            slot = latest[key] = _Latest(key, text)
            self.outbox.append(slot)
        else:
            if len(self.outbox) - (0 if latest is None else len(latest)) >= self._outbox_limit:
                self._overflow()
                return
            self.outbox.append(text)
        self._drain_soon()

    def _overflow(self) -> None:
        log.warning("connection %s cannot keep up; disconnecting it", self.id)
        self.overflowed = True
        self.request_close(1013, "too slow; reconnect and resume")


Snapshot = Callable[[Principal], Awaitable[Sequence[BaseModel]]]


@dataclass(frozen=True, slots=True)
class Catchup:
    """What one read of the record found for a connection starting to follow a conversation
    (``Hub.follow_read``): its state, the cursor the entries follow (0 when the client's was
    refused), those entries, and frames that go with them, before the state (the refused
    cursors) and after the entries (the visitor's queue position)."""

    state: ConversationOut
    cursor: int
    entries: Sequence[EntryOut]
    before: Sequence[BaseModel] = ()
    after: Sequence[BaseModel] = ()


class Hub:
    def __init__(
        self, source: SyncSource, snapshot: Snapshot, metrics: Metrics | None = None
    ) -> None:
        self._source = source
        self._snapshot = snapshot
        self._metrics = metrics
        self._all: set[ClientConnection] = set()
        self._by_conversation: defaultdict[str, set[ClientConnection]] = defaultdict(set)
        self._by_user: defaultdict[int, set[ClientConnection]] = defaultdict(set)

    @property
    def connections(self) -> frozenset[ClientConnection]:
        return frozenset(self._all)

    def connected(self, user_id: int) -> bool:
        """Whether a staff member has a connection on this node."""
        return user_id in self._by_user

    def attach(self, conn: ClientConnection) -> None:
        self._all.add(conn)
        if conn.user_id is not None:
            self._by_user[conn.user_id].add(conn)

    def detach(self, conn: ClientConnection) -> None:
        self._all.discard(conn)
        if conn.user_id is not None:
            self._by_user[conn.user_id].discard(conn)
            if not self._by_user[conn.user_id]:
                del self._by_user[conn.user_id]
        for conversation_id in conn.cursors:
            followers = self._by_conversation.get(conversation_id)
            if followers is not None:
                followers.discard(conn)
                if not followers:
                    del self._by_conversation[conversation_id]

    async def follow(
        self,
        conn: ClientConnection,
        conversation_id: str,
        cursor: int,
        *,
        announce: bool | None = None,
    ) -> None:
        """Start following a conversation: its state, what follows ``cursor``, then live.

        The connection is registered before the database is read, so that an entry committed
        in between arrives either in the read or as a notification (deduplicated by cursor).
        The state and the entries come from one read (``SyncSource.backlog``). A cursor below
        what the archiving policy kept is told ``history_removed`` before the state when
        ``announce`` (default: when the cursor is above 0; a hello says whether the client
        sent one), and is sent from ``history_starts_at_seq`` either way.
        """
        async with conn.lock:
            if conversation_id in conn.cursors:
                cursor = min(cursor, conn.cursors[conversation_id])
            self._by_conversation[conversation_id].add(conn)
            conn.cursors[conversation_id] = cursor
            found = await self._source.backlog(conversation_id, cursor, state=True)
            if found is None or found.state is None:
                return
            self._send_backlog(
                conn,
                conversation_id,
                found,
                announce=cursor > 0 if announce is None else announce,
                state=found.state,
            )

    async def follow_read(
        self,
        conn: ClientConnection,
        conversation_id: str,
        read: Callable[[], Awaitable[Catchup]],
    ) -> Catchup:
        """Start following a conversation with the caller's own read of the record (a
        visitor's hello reads everything it needs in one transaction). As in ``follow``, the
        connection is registered first and ``read`` runs after, under the connection's lock:
        an entry committed after the read arrives as a notification (held back by the lock,
        then dropped at or below the cursor, and a gap is read from the record), so the state
        and the cursor must come from ``read`` itself, never from a snapshot taken before.
        If ``read`` raises, the connection does not follow the conversation."""
        async with conn.lock:
            already = conversation_id in conn.cursors
            self._by_conversation[conversation_id].add(conn)
            conn.cursors.setdefault(conversation_id, 0)
            try:
                found = await read()
            except BaseException:
                if not already:
                    self._forget(conn, conversation_id)
                raise
            for message in found.before:
                conn.send(message)
            conn.send(ConversationState(conversation=found.state))
            if already:  # its own cursor may be behind the read's: the record, from there
                conn.cursors[conversation_id] = min(found.cursor, conn.cursors[conversation_id])
                await self._catch_up(conn, conversation_id)
            else:
                cursor = found.cursor
                for entry in found.entries:
                    if entry.seq > cursor:
                        conn.send(_entry_for(conn, conversation_id, entry))
                        cursor = entry.seq
                conn.cursors[conversation_id] = cursor
            for message in found.after:
                conn.send(message)
            return found

    def _forget(self, conn: ClientConnection, conversation_id: str) -> None:
        conn.cursors.pop(conversation_id, None)
        followers = self._by_conversation.get(conversation_id)
        if followers is not None:
            followers.discard(conn)
            if not followers:
                del self._by_conversation[conversation_id]

    async def unfollow(self, conn: ClientConnection, conversation_id: str) -> None:
        """Stop following a conversation: nothing more of it reaches this connection."""
        async with conn.lock:
            self._forget(conn, conversation_id)

    async def handle(self, note: Notification) -> None:
        match note:
            case Appended():
                for conn in list(self._by_conversation.get(note.conversation_id, ())):
                    await self._deliver(conn, note.conversation_id, note.entries)
            case ToConversation():
                conns = [
                    conn
                    for conn in self._by_conversation.get(note.conversation_id, ())
                    if (note.audience is None or conn.audience == note.audience)
                    and note.except_participant != conn.participant_key
                ]
                _fan_out(conns, note.message)
            case ToUser():
                _fan_out(list(self._by_user.get(note.user_id, ())), note.message)
            case ToStaff():
                _fan_out([conn for conn in self._all if conn.sees_directory], note.message)
            case Follow():
                for conn in list(self._by_user.get(note.user_id, ())):
                    # A connection already following it (a supervisor watching, or one that
                    # resumed meanwhile) has what it needs: sending it again would double it.
                    if note.conversation_id not in conn.cursors:
                        await self.follow(conn, note.conversation_id, note.cursor)
            case Unfollow():
                for conn in list(self._by_user.get(note.user_id, ())):
                    await self.unfollow(conn, note.conversation_id)
            case Revoke():
                for conn in list(self._by_user.get(note.user_id, ())):
                    if note.token_hash is None or note.token_hash == conn.token_hash:
                        conn.send(Error(code="unauthenticated", message="your session has ended"))
                        conn.request_close(1008, "session ended")
            case Kick() | Rebalance():
                pass  # for the dispatcher

    async def resync(self, conns: Iterable[ClientConnection] | None = None) -> None:
        """Catch every connection up from the database after the bus lost messages: the
        entries they missed, then a fresh snapshot of presence, offers and queue position."""
        for conn in list(self._all if conns is None else conns):
            async with conn.lock:
                for conversation_id in list(conn.cursors):
                    await self._catch_up(conn, conversation_id)
                for message in await self._snapshot(conn.principal):
                    conn.send(message)

    async def _deliver(
        self, conn: ClientConnection, conversation_id: str, entries: list[EntryOut]
    ) -> None:
        async with conn.lock:
            cursor = conn.cursors.get(conversation_id)
            if cursor is None:
                return
            for entry in sorted(entries, key=lambda e: e.seq):
                if entry.seq <= cursor:
                    continue
                if entry.seq > cursor + 1:
                    # A gap: something was lost or overtaken on the way. Read the record.
                    await self._catch_up(conn, conversation_id)
                    return
                conn.send(_entry_for(conn, conversation_id, entry))
                if self._metrics is not None:
                    self._metrics.delivered_since(entry.created_at)
                cursor = entry.seq
                conn.cursors[conversation_id] = cursor

    async def _catch_up(self, conn: ClientConnection, conversation_id: str) -> None:
        """Send what follows the connection's cursor, read from the record (a gap, a resync,
        an ack that would overtake): a cursor the retention job has since left behind is told
        ``history_removed`` first, as on hello."""
        found = await self._source.backlog(conversation_id, conn.cursors[conversation_id])
        if found is not None:
            self._send_backlog(conn, conversation_id, found, announce=True)

    def _send_backlog(
        self,
        conn: ClientConnection,
        conversation_id: str,
        found: Backlog,
        *,
        announce: bool,
        state: ConversationOut | None = None,
    ) -> None:
        """``history_removed`` (when the cursor is below what is kept and ``announce``), the
        state (when given), then the entries after the cursor; the cursor then stands at
        least at ``history_starts_at_seq - 1``, so nothing removed is ever announced twice."""
        cursor = conn.cursors[conversation_id]
        start = found.history_starts_at_seq
        if cursor < start - 1:  # domain.retention.cursor_answer: history_removed
            if announce:
                removed = retention.history_removed(conversation_id, start)
                conn.send(
                    Error(
                        code=removed.code,
                        message=removed.message,
                        conversation_id=conversation_id,
                        history_starts_at_seq=start,
                    )
                )
            cursor = start - 1
        if state is not None:
            conn.send(ConversationState(conversation=state))
        for entry in found.entries:
            if entry.seq > cursor:
                conn.send(_entry_for(conn, conversation_id, entry))
                cursor = entry.seq
        conn.cursors[conversation_id] = cursor

    def expect_ack(
        self, conn: ClientConnection, conversation_id: str, client_id: str, ref: str | None
    ) -> None:
        """``conn`` is sending ``client_id``: the entry, when it reaches ``conn``, goes as the
        ``ack`` (ref ``ref``) in its place. Call ``answer`` once the send returns, or
        ``forget_ack`` if it fails."""
        conn.acks[(conversation_id, client_id)] = ref

    def forget_ack(self, conn: ClientConnection, conversation_id: str, client_id: str) -> None:
        conn.acks.pop((conversation_id, client_id), None)

    async def answer(
        self, conn: ClientConnection, conversation_id: str, client_id: str, entry: EntryOut
    ) -> None:
        """The send returned ``entry``: answer it with the ``ack``, unless the delivery of the
        commit already did, in order. An entry already behind the cursor (a retry of a stored
        ``client_id``, or one that came back in a replay) is acknowledged at once; one that
        would leave a gap (an earlier entry's notification has not arrived yet) waits for the
        record to be read, so that the stream stays in order."""
        key = (conversation_id, client_id)
        async with conn.lock:
            if key not in conn.acks:
                return
            cursor = conn.cursors.get(conversation_id)
            if cursor is not None and entry.seq > cursor + 1:
                await self._catch_up(conn, conversation_id)
                if key not in conn.acks:
                    return
            ref = conn.acks.pop(key)
            conn.send(Ack(ref=ref, conversation_id=conversation_id, entry=entry))
            if cursor is not None and entry.seq == cursor + 1:
                conn.cursors[conversation_id] = entry.seq
                if self._metrics is not None:
                    self._metrics.delivered_since(entry.created_at)


def _fan_out(conns: Sequence[ClientConnection], message: dict[str, object]) -> None:
    """A notification's message to ``conns``, encoded once for all of them."""
    if not conns:
        return
    text, key = json.dumps(message), latest_key(message)
    for conn in conns:
        conn.send_text(text, key)


def _entry_for(conn: ClientConnection, conversation_id: str, entry: EntryOut) -> EntryMessage | Ack:
    """Every entry goes out through here: to the connection that is sending it, as the ``ack``
    that answers the send; a private note reaches a visitor only as a placeholder with its
    ``seq``, so that the visitor's cursor stays gapless."""
    if conn.acks and entry.client_id is not None and entry.author == conn.participant_key:
        key = (conversation_id, entry.client_id)
        if key in conn.acks:
            return Ack(ref=conn.acks.pop(key), conversation_id=conversation_id, entry=entry)
    return EntryMessage(conversation_id=conversation_id, entry=entry.visible_to(conn.principal))
