"""Conversations with their participants, entries and metadata; a customer's other chats.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.conversation import (
    STAFF_KINDS,
    Conversation,
    Entry,
    EntryKind,
    Kind,
    Participant,
    Role,
    RoomInfo,
    Status,
)
from parley.domain.identity import Customer, Link
from parley.storage.rooms import room_infos
from parley.storage.tables import (
    conversation_tags,
    conversations,
    entries,
    participants,
)
from parley.storage.tx import Tx, lookupable


def linked(link: Link) -> list[sa.ColumnElement[bool]]:
    """Conversations of the customer ``link`` names: the same verified ``sub``; or, for an
    anonymous customer, the same browser's visitor id among anonymous chats only."""
    if link.kind == "sub":
        return [conversations.c.customer_sub == link.value]
    return [conversations.c.visitor_id == link.value, conversations.c.customer_sub.is_(None)]


def _entry(row: sa.Row[Any]) -> Entry:
    return Entry(row.seq, EntryKind(row.kind), row.author, row.body, row.created_at, row.client_id)


class ConversationStore:
    __slots__ = ()

    async def insert_conversation(self, tx: Tx, conv: Conversation) -> None:
        await tx.conn.execute(
            sa.insert(conversations).values(
                id=conv.id,
                kind=conv.kind.value,
                status=conv.status.value,
                workgroup_id=conv.workgroup_id,
                last_seq=conv.last_seq,
                metadata=conv.metadata,
                created_at=conv.created_at,
                ended_at=conv.ended_at,
                end_reason=conv.end_reason,
                customer_sub=None if conv.customer is None else conv.customer.sub,
                customer_email=None if conv.customer is None else conv.customer.email,
                customer_name=None if conv.customer is None else conv.customer.name,
                visitor_id=conv.visitor_id,
            )
        )
        await self._save_participants(tx, conv)

    async def save_conversation(self, tx: Tx, conv: Conversation) -> None:
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conv.id)
            .values(
                status=conv.status.value,
                last_seq=conv.last_seq,
                ended_at=conv.ended_at,
                end_reason=conv.end_reason,
                revision=conversations.c.revision + 1,  # parley.storage.writer
            )
        )
        await self._save_participants(tx, conv)

    async def _save_participants(self, tx: Tx, conv: Conversation) -> None:
        await tx.conn.execute(
            sa.delete(participants).where(participants.c.conversation_id == conv.id)
        )
        rows = [
            {
                "conversation_id": conv.id,
                "key": p.key,
                "role": p.role.value,
                "user_id": p.user_id,
                "display_name": p.display_name,
                "joined_at": p.joined_at,
                "left_at": p.left_at,
            }
            for p in conv.participants
        ]
        if rows:
            await tx.conn.execute(sa.insert(participants), rows)

    async def conversation_ended_at(self, tx: Tx, conversation_id: str) -> datetime | None:
        """When the conversation ended; ``None`` while it goes on, or if there is none."""
        if not lookupable(conversation_id):
            return None
        row = await tx.one(
            sa.select(conversations.c.ended_at).where(conversations.c.id == conversation_id)
        )
        return None if row is None else row.ended_at

    async def conversation(
        self, tx: Tx, conversation_id: str, *, lock: bool = False
    ) -> Conversation | None:
        if not lookupable(conversation_id):
            return None
        stmt = sa.select(conversations).where(conversations.c.id == conversation_id)
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        if row is None:
            return None
        return (await self._conversations_from(tx, [row]))[0]

    async def history_start(self, tx: Tx, conversation_id: str) -> int | None:
        """The conversation's ``history_starts_at_seq`` (None: no such conversation)."""
        if not lookupable(conversation_id):
            return None
        row = await tx.one(
            sa.select(conversations.c.history_starts_at_seq).where(
                conversations.c.id == conversation_id
            )
        )
        return None if row is None else int(row.history_starts_at_seq)

    async def conversation_at(
        self, tx: Tx, conversation_id: str, known: tuple[Conversation, int] | None = None
    ) -> tuple[Conversation, int] | None:
        """A conversation and its revision, read now. ``known``: a snapshot of it with the
        revision it is at least as new as (the node's ``ConversationCache``). When the row is
        still at that revision, the snapshot's participants are still exact (every change to
        them bumps the revision in the same transaction: ``save_conversation``), so they are
        not read again; the row itself (``last_seq``, status, metadata) always is. Staff
        conversations (rooms) are always read whole."""
        if not lookupable(conversation_id):
            return None
        row = await tx.one(sa.select(conversations).where(conversations.c.id == conversation_id))
        if row is None:
            return None
        revision = int(row.revision)
        if (
            known is not None
            and known[1] == revision
            and known[0].id == row.id
            and Kind(row.kind) not in STAFF_KINDS
        ):
            return _conversation_of(row, known[0].participants, None), revision
        return (await self._conversations_from(tx, [row]))[0], revision

    async def conversations(self, tx: Tx, conversation_ids: Sequence[str]) -> list[Conversation]:
        """Several conversations, in the order of ``conversation_ids`` (missing ones left out)."""
        if not conversation_ids:
            return []
        rows = await tx.all(
            sa.select(conversations).where(conversations.c.id.in_(list(conversation_ids)))
        )
        order = {cid: i for i, cid in enumerate(conversation_ids)}
        return await self._conversations_from(tx, sorted(rows, key=lambda r: order[r.id]))

    async def _conversations_from(self, tx: Tx, rows: Sequence[sa.Row[Any]]) -> list[Conversation]:
        ids = [r.id for r in rows]
        staff_only = {Kind(r.kind) for r in rows} & STAFF_KINDS
        rooms = await room_infos(tx, [r.id for r in rows if Kind(r.kind) in staff_only])
        by_conv: dict[str, list[Participant]] = {i: [] for i in ids}
        if ids:
            prows = await tx.all(
                sa.select(participants)
                .where(participants.c.conversation_id.in_(ids))
                .order_by(participants.c.joined_at)
            )
            for p in prows:
                by_conv[p.conversation_id].append(
                    Participant(
                        p.key, Role(p.role), p.display_name, p.joined_at, p.user_id, p.left_at
                    )
                )
        return [_conversation_of(r, tuple(by_conv[r.id]), rooms.get(r.id)) for r in rows]

    async def metadata_of(
        self, tx: Tx, conversation_ids: Sequence[str]
    ) -> dict[str, dict[str, Any]]:
        """The pre-chat metadata of several conversations, in one query."""
        if not conversation_ids:
            return {}
        rows = await tx.all(
            sa.select(conversations.c.id, conversations.c.metadata).where(
                conversations.c.id.in_(list(conversation_ids))
            )
        )
        return {r.id: dict(r.metadata) for r in rows}

    async def set_last_seq(self, tx: Tx, conversation_id: str, last_seq: int) -> None:
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(last_seq=last_seq)
        )

    async def insert_entries(self, tx: Tx, conversation_id: str, new: Iterable[Entry]) -> None:
        rows = [
            {
                "conversation_id": conversation_id,
                "seq": e.seq,
                "kind": e.kind.value,
                "author": e.author,
                "body": e.body,
                "client_id": e.client_id,
                "created_at": e.created_at,
            }
            for e in new
        ]
        if rows:
            await tx.conn.execute(sa.insert(entries), rows)

    async def entries_after(
        self, tx: Tx, conversation_id: str, after: int, limit: int | None = None
    ) -> list[Entry]:
        stmt = (
            sa.select(entries)
            .where(entries.c.conversation_id == conversation_id, entries.c.seq > after)
            .order_by(entries.c.seq)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_entry(r) for r in await tx.all(stmt)]

    async def entry_by_client_id(
        self, tx: Tx, conversation_id: str, author: str, client_id: str
    ) -> Entry | None:
        row = await tx.one(
            sa.select(entries).where(
                entries.c.conversation_id == conversation_id,
                entries.c.author == author,
                entries.c.client_id == client_id,
            )
        )
        return None if row is None else _entry(row)

    async def conversations_of(
        self,
        tx: Tx,
        user_id: int | None,
        *,
        active_only: bool = False,
        search: str | None = None,
        limit: int = 50,
        before: datetime | None = None,
        kind: Kind = Kind.CUSTOMER_CHAT,
        workgroups: Collection[int] | None = None,
        outcome: str | None = None,
        tag_id: int | None = None,
        oldest_ended_first: bool = False,
    ) -> list[Conversation]:
        """Conversations of one ``kind`` (customer chats unless told) a staff member took part
        in (every one when ``user_id`` is None), newest first; with ``workgroups``, only those
        of these workgroups. ``search`` matches the customer's name, email and message text;
        ``outcome`` and ``tag_id`` keep those with that outcome or tag (``oldest_ended_first``:
        ordered by their end, oldest first, as the follow-up list is). The staff IM lists its
        own (``RoomStore.conversations_of``)."""
        stmt = sa.select(conversations).where(conversations.c.kind == kind.value)
        if workgroups is not None:
            stmt = stmt.where(conversations.c.workgroup_id.in_(list(workgroups)))
        if outcome is not None:
            stmt = stmt.where(conversations.c.outcome == outcome)
        if tag_id is not None:
            tagged = sa.select(conversation_tags.c.conversation_id).where(
                conversation_tags.c.tag_id == tag_id
            )
            stmt = stmt.where(conversations.c.id.in_(tagged))
        if user_id is not None:
            mine = sa.select(participants.c.conversation_id).where(
                participants.c.user_id == user_id
            )
            if active_only:
                # Chats they left (transferred, or a helper's visit) are history, not work.
                mine = mine.where(participants.c.left_at.is_(None))
            stmt = stmt.where(conversations.c.id.in_(mine))
        if active_only:
            stmt = stmt.where(conversations.c.status != Status.ENDED.value)
        if before is not None:
            stmt = stmt.where(conversations.c.created_at < before)
        if search and not lookupable(search):
            return []
        if search:
            pattern = (
                "%"
                + search.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                + "%"
            )
            in_text = sa.select(entries.c.conversation_id).where(
                entries.c.kind == EntryKind.MESSAGE.value,
                sa.func.lower(entries.c.body["text"].as_string()).like(pattern, escape="\\"),
            )
            in_people = sa.select(participants.c.conversation_id).where(
                sa.func.lower(participants.c.display_name).like(pattern, escape="\\")
            )
            # The form's values, not the JSON text (whose keys would match "email" everywhere).
            in_metadata = sa.or_(
                *(
                    sa.func.lower(conversations.c.metadata[key].as_string()).like(
                        pattern, escape="\\"
                    )
                    for key in ("name", "email", "question", "page")
                )
            )
            stmt = stmt.where(
                sa.or_(
                    conversations.c.id.in_(in_text),
                    conversations.c.id.in_(in_people),
                    in_metadata,
                )
            )
        if oldest_ended_first:
            stmt = stmt.order_by(conversations.c.ended_at, conversations.c.id)
        else:
            stmt = stmt.order_by(conversations.c.created_at.desc(), conversations.c.id)
        return await self._conversations_from(tx, await tx.all(stmt.limit(limit)))

    async def set_conversation_workgroup(
        self, tx: Tx, conversation_id: str, workgroup_id: int
    ) -> None:
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(workgroup_id=workgroup_id, revision=conversations.c.revision + 1)
        )

    async def set_outcome(
        self,
        tx: Tx,
        conversation_id: str,
        outcome: str,
        by: int | None = None,
        at: datetime | None = None,
    ) -> None:
        """Record the chat's outcome, and who recorded it when (``outcome_by``/``outcome_at``)."""
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(outcome=outcome, outcome_by=by, outcome_at=at)
        )

    async def conversations_linked(
        self, tx: Tx, link: Link | None, exclude: str, limit: int
    ) -> list[Conversation]:
        """The same customer's other conversations (``domain.identity.customer_link``), newest
        first, in every workgroup: the caller keeps those its reader may read."""
        if link is None:
            return []
        rows = await tx.all(
            sa.select(conversations)
            .where(*linked(link), conversations.c.id != exclude)
            .order_by(conversations.c.created_at.desc(), conversations.c.id)
            .limit(limit)
        )
        return await self._conversations_from(tx, rows)


def _conversation_of(
    r: sa.Row[Any], participants: tuple[Participant, ...], room: RoomInfo | None
) -> Conversation:
    return Conversation(
        id=r.id,
        kind=Kind(r.kind),
        status=Status(r.status),
        created_at=r.created_at,
        workgroup_id=r.workgroup_id,
        participants=participants,
        last_seq=r.last_seq,
        ended_at=r.ended_at,
        end_reason=r.end_reason,
        metadata=r.metadata,
        customer=None
        if r.customer_sub is None
        else Customer(r.customer_sub, r.customer_email or "", r.customer_name or ""),
        visitor_id=r.visitor_id,
        room=room,
        history_starts_at_seq=r.history_starts_at_seq,
    )
