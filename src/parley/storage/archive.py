"""The archive: retention policies, legal holds, the notice, full-text search, exports, the
compliance right, and what the retention job and a customer's deletion remove.

A stateless store: each method takes the transaction (``Tx``) it runs in. Full text: SQLite's
FTS5 table ``entries_fts`` (kept in step by triggers on ``entries``, migration 0015), or
PostgreSQL's generated ``entries.text_tsv`` with a GIN index.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.access import StaffRole
from parley.domain.conversation import Kind, Role
from parley.domain.retention import Held, Hold, Policy, Summary
from parley.storage.tables import (
    archive_exports,
    archive_settings,
    conversation_tags,
    conversations,
    entries,
    left_messages,
    legal_holds,
    participants,
    ratings,
    retention_policies,
    rooms,
    tags,
    users,
)
from parley.storage.tx import Tx, lookupable

#: The words of a search, as FTS5 and PostgreSQL both see them: letters and digits.
_WORD = re.compile(r"\w+", re.UNICODE)
#: The most words one search uses.
MAX_WORDS = 16
NOTHING_HELD = Held()
#: The ``error`` of an export whose node stopped before it finished.
INTERRUPTED = "interrupted"
#: The most entries one trim removes (about 40 µs each on SQLite, through the FTS trigger).
MAX_TRIM_ENTRIES = 2000


def words_of(text: str) -> list[str]:
    """The words to look for, lower case, accents folded (as both indexes fold them)."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return _WORD.findall(plain)[:MAX_WORDS]


@dataclass(frozen=True, slots=True)
class HoldRow:
    hold: Hold
    created_by: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ArchiveQuery:
    """Every field narrows the search."""

    words: str | None = None
    kind: Kind | None = None
    #: A staff member: the conversations they are (or were) a participant of.
    user_id: int | None = None
    #: A customer: by verified ``sub``, or by email (verified or typed).
    customer_sub: str | None = None
    customer_email: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: Not a compliance reader: only customer chats, open rooms, and what this user is in.
    reader: int | None = None
    #: Customer chats only of these workgroups (a supervisor's, ``access.can_read``), and the
    #: reader's own; None: of every workgroup.
    workgroups: tuple[int, ...] | None = None
    #: Transcript search (QA, issue 11): customer chats of these workgroups only (None: any).
    workgroup_ids: frozenset[int] | None = None
    #: An agent who took part (role agent) in the chat.
    agent_id: int | None = None
    outcome: str | None = None
    #: A tag on the chat (``conversation_tags``), by its name.
    tag: str | None = None
    #: The customer's rating (``ratings.score``), from and to (inclusive).
    rating_min: int | None = None
    rating_max: int | None = None
    #: Secret-shopper chats only (True), none of them (False), or either (None).
    shopper: bool | None = None
    offset: int = 0
    limit: int = 50


@dataclass(frozen=True, slots=True)
class Hit:
    conversation_id: str
    kind: Kind
    seq: int
    entry_kind: str
    author: str | None
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ExportRow:
    id: str
    created_by: int
    created_at: datetime
    query: dict[str, Any]
    state: str
    total: int
    done: int
    finished_at: datetime | None
    error: str | None


def _customer_email(email: str) -> sa.ColumnElement[bool]:
    email = email.casefold()
    return sa.or_(
        sa.func.lower(conversations.c.customer_email) == email,
        sa.func.lower(conversations.c.metadata["email"].as_string()) == email,
    )


class ArchiveStore:
    __slots__ = ()

    # Policy, holds, settings -------------------------------------------------------------

    async def policy(self, tx: Tx) -> Policy:
        rows = await tx.all(sa.select(retention_policies))
        kinds = {k.value for k in Kind}
        return Policy({Kind(r.kind): r.keep_days for r in rows if r.kind in kinds})

    async def set_policy(self, tx: Tx, kind: Kind, keep_days: int | None, now: datetime) -> None:
        await tx.conn.execute(
            sa.delete(retention_policies).where(retention_policies.c.kind == kind.value)
        )
        await tx.conn.execute(
            sa.insert(retention_policies).values(
                kind=kind.value, keep_days=keep_days, updated_at=now
            )
        )

    async def holds(self, tx: Tx) -> list[HoldRow]:
        rows = await tx.all(sa.select(legal_holds).order_by(legal_holds.c.id))
        return [
            HoldRow(
                Hold(r.id, r.conversation_id, r.customer_sub, r.customer_email, r.reason),
                r.created_by,
                r.created_at,
            )
            for r in rows
        ]

    async def add_hold(self, tx: Tx, hold: Hold, created_by: int, now: datetime) -> int:
        result = await tx.conn.execute(
            sa.insert(legal_holds)
            .values(
                conversation_id=hold.conversation_id,
                customer_sub=hold.customer_sub,
                customer_email=hold.customer_email,
                reason=hold.reason,
                created_by=created_by,
                created_at=now,
            )
            .returning(legal_holds.c.id)
        )
        return int(result.scalar_one())

    async def delete_hold(self, tx: Tx, hold_id: int) -> bool:
        result = await tx.conn.execute(sa.delete(legal_holds).where(legal_holds.c.id == hold_id))
        return bool(result.rowcount)

    async def setting(self, tx: Tx, name: str) -> str | None:
        row = await tx.one(
            sa.select(archive_settings.c.value).where(archive_settings.c.name == name)
        )
        return None if row is None else str(row.value)

    async def changed_at(self, tx: Tx, name: str) -> datetime | None:
        """When the setting ``name`` or any retention policy last changed (None: never)."""
        times = [
            r.at
            for r in await tx.all(
                sa.union_all(
                    sa.select(sa.func.max(archive_settings.c.updated_at).label("at")).where(
                        archive_settings.c.name == name
                    ),
                    sa.select(sa.func.max(retention_policies.c.updated_at).label("at")),
                )
            )
            if r.at is not None
        ]
        return max(times, default=None)

    async def set_setting(self, tx: Tx, name: str, value: str, now: datetime) -> None:
        await tx.conn.execute(sa.delete(archive_settings).where(archive_settings.c.name == name))
        await tx.conn.execute(
            sa.insert(archive_settings).values(name=name, value=value, updated_at=now)
        )

    # The compliance right ----------------------------------------------------------------

    async def compliance(self, tx: Tx, user_id: int) -> bool:
        row = await tx.one(
            sa.select(users.c.compliance).where(users.c.id == user_id, users.c.active.is_(True))
        )
        return row is not None and bool(row.compliance)

    async def compliance_users(self, tx: Tx) -> list[int]:
        """Every account holding the compliance right (active or not), by id."""
        rows = await tx.all(
            sa.select(users.c.id).where(users.c.compliance.is_(True)).order_by(users.c.id)
        )
        return [int(r.id) for r in rows]

    async def role_of(self, tx: Tx, user_id: int) -> StaffRole | None:
        row = await tx.one(sa.select(users.c.role).where(users.c.id == user_id))
        return None if row is None else StaffRole(row.role)

    async def set_compliance(self, tx: Tx, user_id: int, value: bool) -> bool:
        result = await tx.conn.execute(
            sa.update(users).where(users.c.id == user_id).values(compliance=value)
        )
        return bool(result.rowcount)

    # Retention -----------------------------------------------------------------------------

    async def expired_chats(
        self, tx: Tx, before: datetime, limit: int, held: Held = NOTHING_HELD
    ) -> list[Summary]:
        """Ended customer chats last active before ``before``, oldest first, each with its
        back-channel's summary; what ``held`` names (conversations, customers by ``sub`` or
        either email) left out, so that held chats do not fill every batch."""
        rows = await tx.all(
            sa.select(conversations)
            .where(
                conversations.c.kind == Kind.CUSTOMER_CHAT.value,
                conversations.c.status == "ended",
                conversations.c.ended_at < before,
                *_not_held(conversations, held),
            )
            .order_by(conversations.c.ended_at, conversations.c.id)
            .limit(limit)
        )
        if not rows:
            return []
        bc_rows = await tx.all(
            sa.select(rooms.c.customer_conversation_id, conversations)
            .join(conversations, conversations.c.id == rooms.c.conversation_id)
            .where(rooms.c.customer_conversation_id.in_([r.id for r in rows]))
        )
        last = await self._last_activity(tx, [r.id for r in bc_rows])
        chats = {r.id: r for r in rows}
        backchannels = {
            r.customer_conversation_id: Summary(
                r.id,
                Kind.BACKCHANNEL,
                False,
                last.get(r.id, r.created_at),
                None,
                # Held with its chat: by the chat's id, or its customer's.
                chats[r.customer_conversation_id].customer_sub,
                chats[r.customer_conversation_id].customer_email,
                held_with=r.customer_conversation_id,
                typed_email=_typed_email(chats[r.customer_conversation_id].metadata),
            )
            for r in bc_rows
        }
        return [
            Summary(
                r.id,
                Kind.CUSTOMER_CHAT,
                True,
                r.ended_at,
                None,
                r.customer_sub,
                r.customer_email,
                None,
                backchannels.get(r.id),
                _typed_email(r.metadata),
            )
            for r in rows
        ]

    async def _last_activity(self, tx: Tx, ids: Sequence[str]) -> dict[str, datetime]:
        """The newest entry's time of each (back-channels: a few per batch)."""
        out: dict[str, datetime] = {}
        for conversation_id in ids:
            row = await tx.one(
                sa.select(entries.c.created_at)
                .where(entries.c.conversation_id == conversation_id)
                .order_by(entries.c.seq.desc())
                .limit(1)
            )
            if row is not None:
                out[conversation_id] = row.created_at
        return out

    async def staff_to_trim(
        self, tx: Tx, kind: Kind, before: datetime, limit: int, held: Held = NOTHING_HELD
    ) -> list[Summary]:
        """Staff conversations of ``kind`` whose oldest kept entry was created before
        ``before``, oldest first (one primary-key lookup each: the entry at
        ``history_starts_at_seq``). A back-channel's summary carries its chat's customer;
        what ``held`` names is left out (a back-channel with its chat, by the chat's id or
        its customer)."""
        first = entries.alias("first")
        chat = conversations.alias("chat")
        rows = await tx.all(
            sa.select(
                conversations.c.id,
                conversations.c.created_at,
                first.c.created_at.label("oldest"),
                rooms.c.customer_conversation_id,
                chat.c.customer_sub,
                chat.c.customer_email,
                chat.c.metadata,
            )
            .join(
                first,
                sa.and_(
                    first.c.conversation_id == conversations.c.id,
                    first.c.seq == conversations.c.history_starts_at_seq,
                ),
            )
            .outerjoin(rooms, rooms.c.conversation_id == conversations.c.id)
            .outerjoin(chat, chat.c.id == rooms.c.customer_conversation_id)
            .where(
                conversations.c.kind == kind.value,
                first.c.created_at < before,
                *_not_held(conversations, Held(conversations=held.conversations)),
                *_not_held(chat, held),
            )
            .order_by(first.c.created_at, conversations.c.id)
            .limit(limit)
        )
        return [
            Summary(
                r.id,
                kind,
                False,
                r.oldest,  # only used for chats; a trim needs the oldest entry
                r.oldest,
                r.customer_sub,
                r.customer_email,
                held_with=r.customer_conversation_id,
                typed_email=_typed_email(r.metadata),
            )
            for r in rows
        ]

    async def remove_conversation(self, tx: Tx, conversation_id: str) -> bool:
        """Delete a conversation and everything that hangs on it (participants, entries,
        requests, offers, invitations, rooms, read markers: ``ON DELETE CASCADE``; a left
        message keeps itself, its link is cleared)."""
        result = await tx.conn.execute(
            sa.delete(conversations).where(conversations.c.id == conversation_id)
        )
        return bool(result.rowcount)

    async def trim(self, tx: Tx, conversation_id: str, before: datetime) -> int | None:
        """Remove the prefix of entries created before ``before`` (``retention.trim_point``):
        the new ``history_starts_at_seq``, None if the conversation is gone."""
        row = await tx.one(
            tx.locked(
                sa.select(conversations.c.last_seq, conversations.c.history_starts_at_seq).where(
                    conversations.c.id == conversation_id
                )
            )
        )
        if row is None:
            return None
        kept = await tx.one(
            sa.select(sa.func.min(entries.c.seq).label("seq")).where(
                entries.c.conversation_id == conversation_id, entries.c.created_at >= before
            )
        )
        start = row.last_seq + 1 if kept is None or kept.seq is None else int(kept.seq)
        # At most MAX_TRIM_ENTRIES a time (still a prefix): a long room's first trim is spread
        # over several short transactions instead of holding the writer for seconds.
        begin = int(row.history_starts_at_seq)
        start = max(min(start, begin + MAX_TRIM_ENTRIES), begin)
        await tx.conn.execute(
            sa.delete(entries).where(
                entries.c.conversation_id == conversation_id, entries.c.seq < start
            )
        )
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(history_starts_at_seq=start)
        )
        return start

    async def history_starts(self, tx: Tx, ids: Sequence[str]) -> dict[str, int]:
        if not ids:
            return {}
        rows = await tx.all(
            sa.select(conversations.c.id, conversations.c.history_starts_at_seq).where(
                conversations.c.id.in_(ids)
            )
        )
        return {r.id: int(r.history_starts_at_seq) for r in rows}

    # Search --------------------------------------------------------------------------------

    def _conversation_filter(self, q: ArchiveQuery) -> list[sa.ColumnElement[bool]]:
        where: list[sa.ColumnElement[bool]] = []
        if q.kind is not None:
            where.append(conversations.c.kind == q.kind.value)
        if q.customer_sub is not None:
            where.append(conversations.c.customer_sub == q.customer_sub)
        if q.customer_email is not None:
            where.append(_customer_email(q.customer_email))
        if q.user_id is not None:
            where.append(
                conversations.c.id.in_(
                    sa.select(participants.c.conversation_id).where(
                        participants.c.user_id == q.user_id
                    )
                )
            )
        if q.workgroup_ids is not None:
            where.append(conversations.c.kind == Kind.CUSTOMER_CHAT.value)
            where.append(conversations.c.workgroup_id.in_(sorted(q.workgroup_ids)))
        if q.agent_id is not None:
            where.append(
                conversations.c.id.in_(
                    sa.select(participants.c.conversation_id).where(
                        participants.c.user_id == q.agent_id,
                        participants.c.role == Role.AGENT.value,
                    )
                )
            )
        if q.outcome is not None:
            where.append(conversations.c.outcome == q.outcome)
        if q.tag is not None:
            where.append(
                conversations.c.id.in_(
                    sa.select(conversation_tags.c.conversation_id)
                    .join(tags, tags.c.id == conversation_tags.c.tag_id)
                    .where(tags.c.name == q.tag)
                )
            )
        if q.rating_min is not None or q.rating_max is not None:
            rated = sa.select(ratings.c.conversation_id)
            if q.rating_min is not None:
                rated = rated.where(ratings.c.score >= q.rating_min)
            if q.rating_max is not None:
                rated = rated.where(ratings.c.score <= q.rating_max)
            where.append(conversations.c.id.in_(rated))
        if q.shopper is not None:
            where.append(conversations.c.shopper.is_(q.shopper))
        if q.reader is not None:
            customer = conversations.c.kind == Kind.CUSTOMER_CHAT.value
            if q.workgroups is not None:
                customer = sa.and_(
                    customer,
                    sa.or_(
                        conversations.c.workgroup_id.in_(q.workgroups),
                        conversations.c.id.in_(
                            sa.select(participants.c.conversation_id).where(
                                participants.c.user_id == q.reader
                            )
                        ),
                    ),
                )
            where.append(
                sa.or_(
                    customer,
                    conversations.c.id.in_(
                        sa.select(rooms.c.conversation_id).where(rooms.c.visibility == "open")
                    ),
                    conversations.c.id.in_(
                        sa.select(participants.c.conversation_id).where(
                            participants.c.user_id == q.reader, participants.c.left_at.is_(None)
                        )
                    ),
                )
            )
        return where

    async def search(self, tx: Tx, q: ArchiveQuery) -> list[Hit]:
        """Entries with text, newest first, narrowed by ``q``."""
        for value in (q.customer_sub, q.customer_email, q.words, q.tag):
            if value is not None and not lookupable(value):
                return []
        text = entries.c.body["text"].as_string()
        stmt = (
            sa.select(
                entries.c.conversation_id,
                conversations.c.kind,
                entries.c.seq,
                entries.c.kind.label("entry_kind"),
                entries.c.author,
                text.label("text"),
                entries.c.created_at,
            )
            .join(conversations, conversations.c.id == entries.c.conversation_id)
            .where(text.is_not(None), *self._conversation_filter(q))
        )
        if q.since is not None:
            stmt = stmt.where(entries.c.created_at >= q.since)
        if q.until is not None:
            stmt = stmt.where(entries.c.created_at < q.until)
        words = words_of(q.words or "")
        if q.words is not None and not words:
            return []
        if words:
            if tx.postgres:
                stmt = stmt.where(
                    sa.literal_column("entries.text_tsv").op("@@")(
                        sa.func.plainto_tsquery(sa.literal_column("'simple'"), " ".join(words))
                    )
                )
            else:
                match = " AND ".join('text : "' + w.replace('"', '""') + '"' for w in words)
                fts = sa.table("entries_fts", sa.column("conversation_id"), sa.column("seq"))
                stmt = stmt.where(
                    sa.tuple_(entries.c.conversation_id, entries.c.seq).in_(
                        sa.select(fts.c.conversation_id, fts.c.seq).where(
                            sa.text("entries_fts MATCH :match").bindparams(match=match)
                        )
                    )
                )
        rows = await tx.all(
            stmt.order_by(
                entries.c.created_at.desc(), entries.c.conversation_id.desc(), entries.c.seq.desc()
            )
            .offset(q.offset)
            .limit(q.limit)
        )
        return [
            Hit(
                r.conversation_id, Kind(r.kind), r.seq, r.entry_kind, r.author, r.text, r.created_at
            )
            for r in rows
        ]

    async def conversation_ids(self, tx: Tx, q: ArchiveQuery, limit: int) -> list[str]:
        """The conversations an export of ``q`` covers, oldest first."""
        if q.words is not None or q.since is not None or q.until is not None:
            hits = await self.search(
                tx, ArchiveQuery(**{**_fields(q), "offset": 0, "limit": limit * 20})
            )
            seen: dict[str, None] = {}
            for h in reversed(hits):
                seen.setdefault(h.conversation_id, None)
            return list(seen)[:limit]
        for value in (q.customer_sub, q.customer_email):
            if value is not None and not lookupable(value):
                return []
        rows = await tx.all(
            sa.select(conversations.c.id)
            .where(*self._conversation_filter(q))
            .order_by(conversations.c.created_at, conversations.c.id)
            .limit(limit)
        )
        return [r.id for r in rows]

    async def customer_left_messages(self, tx: Tx, email: str) -> list[dict[str, Any]]:
        if not lookupable(email):
            return []
        rows = await tx.all(
            sa.select(left_messages)
            .where(sa.func.lower(left_messages.c.email) == email.casefold())
            .order_by(left_messages.c.id)
            .limit(1000)
        )
        return [
            {
                "id": r.public_id,
                "name": r.name,
                "email": r.email,
                "message": r.message,
                "page": r.page,
                "created_at": r.created_at.isoformat(),
                "status": r.status,
            }
            for r in rows
        ]

    async def delete_left_messages(self, tx: Tx, email: str) -> int:
        if not lookupable(email):
            return 0
        result = await tx.conn.execute(
            sa.delete(left_messages).where(sa.func.lower(left_messages.c.email) == email.casefold())
        )
        return int(result.rowcount or 0)

    async def backchannel_of(self, tx: Tx, conversation_id: str) -> str | None:
        row = await tx.one(
            sa.select(rooms.c.conversation_id).where(
                rooms.c.customer_conversation_id == conversation_id
            )
        )
        return None if row is None else str(row.conversation_id)

    # Exports ------------------------------------------------------------------------------

    async def create_export(
        self,
        tx: Tx,
        export_id: str,
        created_by: int,
        query: dict[str, Any],
        now: datetime,
        node_id: str,
    ) -> None:
        await tx.conn.execute(
            sa.insert(archive_exports).values(
                id=export_id,
                created_by=created_by,
                created_at=now,
                query=query,
                state="running",
                node_id=node_id,
                heartbeat_at=now,
            )
        )

    async def export(self, tx: Tx, export_id: str) -> ExportRow | None:
        if not lookupable(export_id):
            return None
        row = await tx.one(
            sa.select(*[c for c in archive_exports.c if c.name not in ("jsonl", "html_zip")]).where(
                archive_exports.c.id == export_id
            )
        )
        if row is None:
            return None
        return ExportRow(
            row.id,
            row.created_by,
            row.created_at,
            dict(row.query),
            row.state,
            row.total,
            row.done,
            row.finished_at,
            row.error,
        )

    async def progress(self, tx: Tx, export_id: str, done: int, total: int, now: datetime) -> None:
        """The export's progress, and its node's heartbeat."""
        await tx.conn.execute(
            sa.update(archive_exports)
            .where(archive_exports.c.id == export_id)
            .values(done=done, total=total, heartbeat_at=now)
        )

    async def interrupt_exports(
        self,
        tx: Tx,
        now: datetime,
        *,
        node_id: str | None = None,
        stale_before: datetime | None = None,
        everyone: bool = False,
        ids: Sequence[str] = (),
        alive: Sequence[str] = (),
    ) -> int:
        """Mark failed (``interrupted``) the exports still ``running`` whose node is gone:
        those of ``node_id``, those whose heartbeat is older than ``stale_before``, every one
        when ``everyone`` (one node alone on SQLite), and ``ids``; never those in ``alive``
        (the caller's own, running). How many."""
        which: list[sa.ColumnElement[bool]] = []
        if everyone:
            which.append(sa.true())
        if node_id is not None:
            which.append(archive_exports.c.node_id == node_id)
        if stale_before is not None:
            which.append(
                sa.or_(
                    archive_exports.c.heartbeat_at.is_(None),
                    archive_exports.c.heartbeat_at < stale_before,
                )
            )
        if ids:
            which.append(archive_exports.c.id.in_(list(ids)))
        if not which:
            return 0
        result = await tx.conn.execute(
            sa.update(archive_exports)
            .where(
                archive_exports.c.state == "running",
                archive_exports.c.id.not_in(list(alive)),
                sa.or_(*which),
            )
            .values(state="failed", error=INTERRUPTED, finished_at=now, jsonl=None, html_zip=None)
        )
        return int(result.rowcount or 0)

    async def delete_exports(self, tx: Tx, finished_before: datetime, limit: int) -> int:
        """Delete exports (their rows, and the files in them) that finished (done or failed)
        before ``finished_before``, oldest first, at most ``limit``. How many."""
        old = (
            sa.select(archive_exports.c.id)
            .where(
                archive_exports.c.state != "running",
                archive_exports.c.finished_at < finished_before,
            )
            .order_by(archive_exports.c.finished_at)
            .limit(limit)
        )
        ids = [r.id for r in await tx.all(old)]
        if not ids:
            return 0
        await tx.conn.execute(sa.delete(archive_exports).where(archive_exports.c.id.in_(ids)))
        return len(ids)

    async def finish_export(
        self,
        tx: Tx,
        export_id: str,
        now: datetime,
        *,
        jsonl: bytes | None = None,
        html_zip: bytes | None = None,
        error: str | None = None,
    ) -> None:
        await tx.conn.execute(
            sa.update(archive_exports)
            .where(archive_exports.c.id == export_id)
            .values(
                state="failed" if error else "done",
                finished_at=now,
                jsonl=jsonl,
                html_zip=html_zip,
                error=error,
            )
        )

    async def export_file(self, tx: Tx, export_id: str, fmt: str) -> bytes | None:
        column = archive_exports.c.jsonl if fmt == "jsonl" else archive_exports.c.html_zip
        row = await tx.one(sa.select(column.label("data")).where(archive_exports.c.id == export_id))
        return None if row is None or row.data is None else bytes(row.data)


def _typed_email(metadata: Any) -> str | None:
    """The email typed in a chat's pre-chat form (``metadata.email``), if any."""
    email = metadata.get("email") if isinstance(metadata, dict) else None
    return email if isinstance(email, str) and email else None


def _not_held(table: sa.FromClause, held: Held) -> list[sa.ColumnElement[bool]]:
    """Conditions that leave out the conversations of ``table`` (``conversations`` or an
    alias; a row of an outer join that found none passes) that ``held`` names. NULLs pass:
    ``x NOT IN (...)`` alone is not true for a NULL ``x``."""
    c = table.c
    out: list[sa.ColumnElement[bool]] = []
    if held.conversations:
        out.append(sa.or_(c.id.is_(None), c.id.not_in(held.conversations)))
    if held.subs:
        out.append(sa.or_(c.customer_sub.is_(None), c.customer_sub.not_in(held.subs)))
    if held.emails:
        typed = sa.func.lower(c.metadata["email"].as_string())
        verified = sa.func.lower(c.customer_email)
        out.append(sa.or_(verified.is_(None), verified.not_in(held.emails)))
        out.append(sa.or_(typed.is_(None), typed.not_in(held.emails)))
    return out


def _fields(q: ArchiveQuery) -> dict[str, Any]:
    return {name: getattr(q, name) for name in ArchiveQuery.__dataclass_fields__}
