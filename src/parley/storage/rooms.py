"""The staff IM's own rows: rooms (a DM's members, a room's name, topic and visibility, a
back-channel's customer chat) and read markers. The conversations themselves, their members
(participants) and messages (entries) are the ``ConversationStore``'s, as for every chat.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from parley.domain.conversation import (
    STAFF_KINDS,
    Conversation,
    Entry,
    EntryKind,
    Kind,
    RoomInfo,
    Visibility,
)
from parley.storage.tables import conversations, entries, participants, read_markers, rooms
from parley.storage.tx import Tx, lookupable

_STAFF_KINDS = [k.value for k in STAFF_KINDS]


def _entry(row: sa.Row[Any]) -> Entry:
    return Entry(row.seq, EntryKind(row.kind), row.author, row.body, row.created_at, row.client_id)


def like_pattern(text: str) -> str:
    """``text`` as a case-insensitive LIKE pattern matching it anywhere, wildcards escaped."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


async def room_infos(tx: Tx, conversation_ids: Sequence[str]) -> dict[str, RoomInfo]:
    """The ``RoomInfo`` of those of ``conversation_ids`` that are rooms or back-channels (read
    by ``ConversationStore`` with every conversation it loads of a staff kind)."""
    if not conversation_ids:
        return {}
    rows = await tx.all(sa.select(rooms).where(rooms.c.conversation_id.in_(conversation_ids)))
    return {
        r.conversation_id: RoomInfo(
            r.name, r.topic, Visibility(r.visibility), r.customer_conversation_id
        )
        for r in rows
        if r.direct_key is None
    }


class RoomStore:
    __slots__ = ()

    async def insert_room(
        self,
        tx: Tx,
        conv: Conversation,
        *,
        created_by: int,
        direct_key: str | None = None,
    ) -> None:
        """The row beside a new staff conversation (inserted by the ``ConversationStore`` in
        the same transaction). A second DM of the same members, or a second back-channel of
        one chat, violates a unique index: the caller reads the first one."""
        info = conv.room or RoomInfo()
        await tx.conn.execute(
            sa.insert(rooms).values(
                conversation_id=conv.id,
                name=info.name,
                topic=info.topic,
                visibility=info.visibility.value,
                direct_key=direct_key,
                customer_conversation_id=info.customer_chat_id,
                created_by=created_by,
                created_at=conv.created_at,
            )
        )

    async def direct_by_key(self, tx: Tx, key: str) -> str | None:
        row = await tx.one(sa.select(rooms.c.conversation_id).where(rooms.c.direct_key == key))
        return None if row is None else str(row.conversation_id)

    async def backchannel_of(self, tx: Tx, customer_conversation_id: str) -> str | None:
        if not lookupable(customer_conversation_id):
            return None
        row = await tx.one(
            sa.select(rooms.c.conversation_id).where(
                rooms.c.customer_conversation_id == customer_conversation_id
            )
        )
        return None if row is None else str(row.conversation_id)

    async def set_topic(self, tx: Tx, conversation_id: str, topic: str) -> None:
        await tx.conn.execute(
            sa.update(rooms).where(rooms.c.conversation_id == conversation_id).values(topic=topic)
        )

    async def conversations_of(self, tx: Tx, user_id: int, limit: int) -> list[str]:
        """The staff conversations ``user_id`` is a present member of, latest activity first."""
        last = (
            sa.select(entries.c.created_at)
            .where(
                entries.c.conversation_id == conversations.c.id,
                entries.c.seq == conversations.c.last_seq,
            )
            .scalar_subquery()
        )
        mine = sa.select(participants.c.conversation_id).where(
            participants.c.user_id == user_id, participants.c.left_at.is_(None)
        )
        rows = await tx.all(
            sa.select(conversations.c.id)
            .where(conversations.c.kind.in_(_STAFF_KINDS), conversations.c.id.in_(mine))
            .order_by(sa.func.coalesce(last, conversations.c.created_at).desc(), conversations.c.id)
            .limit(limit)
        )
        return [str(r.id) for r in rows]

    async def open_rooms(self, tx: Tx, search: str | None, limit: int) -> list[str]:
        """Open rooms, by name; ``search`` matches the name or the topic."""
        stmt = (
            sa.select(rooms.c.conversation_id)
            .join(conversations, conversations.c.id == rooms.c.conversation_id)
            .where(
                conversations.c.kind == Kind.ROOM.value,
                rooms.c.visibility == Visibility.OPEN.value,
            )
        )
        if search:
            if not lookupable(search):
                return []
            pattern = like_pattern(search)
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(rooms.c.name).like(pattern, escape="\\"),
                    sa.func.lower(rooms.c.topic).like(pattern, escape="\\"),
                )
            )
        rows = await tx.all(
            stmt.order_by(sa.func.lower(rooms.c.name), rooms.c.conversation_id).limit(limit)
        )
        return [str(r.conversation_id) for r in rows]

    async def last_entries(self, tx: Tx, conversation_ids: Sequence[str]) -> dict[str, Entry]:
        """The last entry of each conversation (those that have one)."""
        if not conversation_ids:
            return {}
        rows = await tx.all(
            sa.select(entries)
            .join(
                conversations,
                sa.and_(
                    conversations.c.id == entries.c.conversation_id,
                    conversations.c.last_seq == entries.c.seq,
                ),
            )
            .where(conversations.c.id.in_(conversation_ids))
        )
        return {r.conversation_id: _entry(r) for r in rows}

    async def read_markers(
        self, tx: Tx, user_id: int, conversation_ids: Sequence[str]
    ) -> dict[str, int]:
        if not conversation_ids:
            return {}
        rows = await tx.all(
            sa.select(read_markers.c.conversation_id, read_markers.c.last_read_seq).where(
                read_markers.c.user_id == user_id,
                read_markers.c.conversation_id.in_(conversation_ids),
            )
        )
        return {r.conversation_id: int(r.last_read_seq) for r in rows}

    async def unread(
        self, tx: Tx, user_id: int, author: str, conversation_ids: Sequence[str]
    ) -> dict[str, int]:
        """Per conversation, the messages after ``user_id``'s read marker that others wrote
        (``author`` is the reader's participant key). Conversations without any: absent."""
        if not conversation_ids:
            return {}
        marker = sa.func.coalesce(read_markers.c.last_read_seq, 0)
        rows = await tx.all(
            sa.select(entries.c.conversation_id, sa.func.count().label("n"))
            .select_from(
                entries.outerjoin(
                    read_markers,
                    sa.and_(
                        read_markers.c.conversation_id == entries.c.conversation_id,
                        read_markers.c.user_id == user_id,
                    ),
                )
            )
            .where(
                entries.c.conversation_id.in_(conversation_ids),
                entries.c.seq > marker,
                entries.c.kind == EntryKind.MESSAGE.value,
                entries.c.author != author,
            )
            .group_by(entries.c.conversation_id)
        )
        return {r.conversation_id: int(r.n) for r in rows}

    async def set_read_marker(
        self, tx: Tx, conversation_id: str, user_id: int, seq: int, now: datetime
    ) -> None:
        """Move the marker to ``seq`` if that is further on (never back), in one statement, so
        that two tabs marking at once cannot move it back."""
        insert = postgresql_insert if tx.postgres else sqlite_insert
        stmt = insert(read_markers).values(
            conversation_id=conversation_id, user_id=user_id, last_read_seq=seq, updated_at=now
        )
        await tx.conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[read_markers.c.conversation_id, read_markers.c.user_id],
                set_={"last_read_seq": stmt.excluded.last_read_seq, "updated_at": now},
                where=read_markers.c.last_read_seq < stmt.excluded.last_read_seq,
            )
        )

    async def entries_before(
        self, tx: Tx, conversation_id: str, before: int, limit: int
    ) -> list[Entry]:
        """History, a page at a time: the ``limit`` entries before ``seq`` ``before``, oldest
        first."""
        rows = await tx.all(
            sa.select(entries)
            .where(entries.c.conversation_id == conversation_id, entries.c.seq < before)
            .order_by(entries.c.seq.desc())
            .limit(limit)
        )
        return [_entry(r) for r in reversed(rows)]

    async def search(
        self, tx: Tx, conversation_id: str, text: str, before: int | None, limit: int
    ) -> list[Entry]:
        """Messages of one conversation whose text holds ``text`` (any case), newest first."""
        if not lookupable(text):
            return []
        stmt = sa.select(entries).where(
            entries.c.conversation_id == conversation_id,
            entries.c.kind == EntryKind.MESSAGE.value,
            sa.func.lower(entries.c.body["text"].as_string()).like(like_pattern(text), escape="\\"),
        )
        if before is not None:
            stmt = stmt.where(entries.c.seq < before)
        rows = await tx.all(stmt.order_by(entries.c.seq.desc()).limit(limit))
        return [_entry(r) for r in rows]
