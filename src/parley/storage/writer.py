"""Group commit, the storage half: a batch of sends written in one transaction, one commit.

A send reaches here as a ``SendItem``: the entry the domain drafted on a cached snapshot of
its conversation (``parley.services.group_commit``), with the snapshot's ``revision``. A batch
is written in one transaction:

1. one query finds every item whose ``(conversation, author, client_id)`` is already stored:
   it is answered with the stored entry (idempotent sends); a repeat inside the batch gets the
   first one's answer;
2. per conversation, in the order of conversation ids (the same lock order on every node),
   ``UPDATE conversations SET last_seq = last_seq + k WHERE id = :id AND revision = :rev AND
   status <> 'ended' RETURNING last_seq`` reserves the block of ``k`` sequence numbers for the
   batch's ``k`` new messages of that conversation, in submission order, without reading the
   row first. The ``revision`` condition proves, in the same statement, that the snapshot the
   permission check ran on is still current (every change of participants, status, workgroup
   or metadata adds one to it, see ``ConversationStore.save_conversation``); on PostgreSQL the
   statement also takes the row lock, so that writers on several nodes number one conversation
   in turn;
3. one multi-row insert stores the entries; then one commit (one fsync).

A conversation whose UPDATE matched no row (the snapshot is stale, the chat ended), or whose
items were drafted on different revisions, comes back ``STALE``: its items go through the
ordinary send path, which re-reads and locks and gives today's exact answers. Any other error
rolls the whole batch back and raises; the caller then sends each item the ordinary way.

Two writers: ``SqliteBatchWriter``, a dedicated thread on the standard ``sqlite3`` module with
its own connection (the same PRAGMAs as SQLAlchemy's), running a whole batch in one hop while
it holds the node's SQLite writer turn; and ``SqlBatchWriter`` on SQLAlchemy core (PostgreSQL,
where the entries go out as one multi-row insert, and an in-memory SQLite database).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Protocol

import sqlalchemy as sa

from parley.domain.conversation import Conversation, Entry, EntryKind, Status
from parley.storage.conversations import ConversationStore
from parley.storage.db import SQLITE_PRAGMAS, Database
from parley.storage.tables import conversations, entries
from parley.storage.tx import Tx

Key = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class SendItem:
    """A message or note to store: ``entry`` as the domain drafted it (its ``seq`` is assigned
    here), for ``conversation_id`` as of ``revision``."""

    conversation_id: str
    revision: int
    entry: Entry

    @property
    def key(self) -> Key:
        assert self.entry.author is not None and self.entry.client_id is not None
        return (self.conversation_id, self.entry.author, self.entry.client_id)


@dataclass(frozen=True, slots=True)
class Stored:
    """The item's entry, committed. ``fresh``: stored by this batch (else it was there before,
    or it repeats an item earlier in the batch): only fresh entries are announced."""

    entry: Entry
    fresh: bool


class Stale:
    """The snapshot did not hold: send the item the ordinary way."""

    def __repr__(self) -> str:
        return "STALE"


STALE = Stale()
Outcome = Stored | Stale


class Conflicted(Exception):
    """The batch broke a constraint (the same client id committed meanwhile by another
    writer): rolled back, nothing of it stored; written again, its look-up finds that entry."""


class BatchWriter(Protocol):
    async def start(self) -> None: ...

    async def write(self, items: Sequence[SendItem]) -> list[Outcome]:
        """One outcome per item, in order; raises (nothing committed) on any other error."""
        ...

    async def close(self) -> None: ...


def writer_for(db: Database) -> BatchWriter:
    path = db.sqlite_file
    return SqliteBatchWriter(db, path) if path is not None else SqlBatchWriter(db)


async def snapshot(
    tx: Tx, conversations_store: ConversationStore, conversation_id: str
) -> tuple[Conversation, int] | None:
    """A conversation and the revision it is at least as new as. The revision is read first:
    a change in between leaves a newer conversation with an older revision, which the batch's
    UPDATE then refuses (the safe way round)."""
    row = (
        await tx.conn.execute(
            sa.select(conversations.c.revision).where(conversations.c.id == conversation_id)
        )
    ).first()
    if row is None:
        return None
    conv = await conversations_store.conversation(tx, conversation_id)
    return None if conv is None else (conv, int(row.revision))


@dataclass(frozen=True, slots=True)
class _Group:
    conversation_id: str
    revision: int
    indexes: tuple[int, ...]


class _Plan:
    """What a batch does, the same on every backend: which items are answered by entries
    already stored, which repeat an earlier item, and one group of new items per
    conversation."""

    def __init__(self, items: Sequence[SendItem], stored: dict[Key, Entry]) -> None:
        self._items = items
        self._outcomes: list[Outcome | None] = [None] * len(items)
        self._repeats: list[tuple[int, int]] = []
        first: dict[Key, int] = {}
        new: dict[str, list[int]] = {}
        for i, item in enumerate(items):
            key = item.key
            if key in stored:
                self._outcomes[i] = Stored(stored[key], fresh=False)
            elif key in first:
                self._repeats.append((i, first[key]))
            else:
                first[key] = i
                new.setdefault(item.conversation_id, []).append(i)
        self.groups: list[_Group] = []
        for conversation_id in sorted(new):  # one lock order for every writer
            indexes = new[conversation_id]
            revisions = {items[i].revision for i in indexes}
            if len(revisions) == 1:
                self.groups.append(_Group(conversation_id, revisions.pop(), tuple(indexes)))
            else:  # drafted on two snapshots: the older one is stale
                for i in indexes:
                    self._outcomes[i] = STALE

    def numbered(self, group: _Group, last_seq: int | None) -> None:
        """The group's UPDATE answered ``last_seq`` (None: it matched no row)."""
        first = 0 if last_seq is None else last_seq - len(group.indexes) + 1
        for n, i in enumerate(group.indexes):
            self._outcomes[i] = (
                STALE
                if last_seq is None
                else Stored(replace(self._items[i].entry, seq=first + n), fresh=True)
            )

    def new_entries(self) -> list[tuple[str, Entry]]:
        return [
            (self._items[i].conversation_id, o.entry)
            for i, o in enumerate(self._outcomes)
            if isinstance(o, Stored) and o.fresh
        ]

    def outcomes(self) -> list[Outcome]:
        for i, first in self._repeats:
            answer = self._outcomes[first]
            assert answer is not None
            self._outcomes[i] = (
                Stored(answer.entry, fresh=False) if isinstance(answer, Stored) else STALE
            )
        done = [o for o in self._outcomes if o is not None]
        assert len(done) == len(self._items)
        return done


def _lookup_values(items: Sequence[SendItem]) -> tuple[list[str], list[str], list[str]]:
    """The distinct conversations, authors and client ids: three IN lists that use the unique
    index (a row-value IN makes SQLite scan); rows matching no item are dropped after."""
    keys = {item.key for item in items}
    return (
        sorted({k[0] for k in keys}),
        sorted({k[1] for k in keys}),
        sorted({k[2] for k in keys}),
    )


def _matching(rows: Iterable[tuple[str, Entry]], wanted: set[Key]) -> dict[Key, Entry]:
    found: dict[Key, Entry] = {}
    for conversation_id, entry in rows:
        if entry.author is None or entry.client_id is None:
            continue
        key = (conversation_id, entry.author, entry.client_id)
        if key in wanted:
            found[key] = entry
    return found


# SQLite: one thread, the sqlite3 module, one hop per batch -----------------------------------

_SQLITE_LOOKUP = (
    "SELECT conversation_id, seq, kind, author, body, client_id, created_at FROM entries "
    "WHERE conversation_id IN ({c}) AND author IN ({a}) AND client_id IN ({i})"
)
_SQLITE_NUMBER = (
    "UPDATE conversations SET last_seq = last_seq + ? "
    "WHERE id = ? AND revision = ? AND status <> 'ended' RETURNING last_seq"
)
_SQLITE_INSERT = (
    "INSERT INTO entries (conversation_id, seq, kind, author, body, client_id, created_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)"
)


def _sqlite_time(value: datetime) -> str:
    """As SQLAlchemy stores ``UTCDateTime`` on SQLite: naive UTC, microseconds."""
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def _sqlite_entry(row: tuple[Any, ...]) -> tuple[str, Entry]:
    conversation_id, seq, kind, author, body, client_id, created_at = row
    when = datetime.fromisoformat(created_at).replace(tzinfo=UTC)
    return conversation_id, Entry(seq, EntryKind(kind), author, json.loads(body), when, client_id)


class SqliteBatchWriter:
    """Batches on a dedicated thread with its own ``sqlite3`` connection. Each batch holds the
    node's SQLite writer turn (``Database.writer_turn``), so no SQLAlchemy write transaction is
    interleaved; its statements are prepared once and cached by the connection."""

    def __init__(self, db: Database, path: str) -> None:
        self._db = db
        self._path = path
        self._executor: ThreadPoolExecutor | None = None
        self._conn: sqlite3.Connection | None = None

    async def start(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-writer")
        await asyncio.get_running_loop().run_in_executor(self._executor, self._open)

    def _open(self) -> None:
        conn = sqlite3.connect(self._path, isolation_level=None, cached_statements=512)
        for pragma in SQLITE_PRAGMAS:
            conn.execute(pragma)
        self._conn = conn

    async def write(self, items: Sequence[SendItem]) -> list[Outcome]:
        assert self._executor is not None, "the writer was not started"
        loop = asyncio.get_running_loop()
        async with self._db.writer_turn():
            job = loop.run_in_executor(self._executor, self._write, list(items))
            try:
                return await asyncio.shield(job)
            except asyncio.CancelledError:
                # Keep the turn until the thread is done with its transaction.
                await asyncio.wait([job])
                raise

    def _write(self, items: list[SendItem]) -> list[Outcome]:
        conn = self._conn
        assert conn is not None
        conn.execute("BEGIN IMMEDIATE")
        try:
            plan = _Plan(items, self._stored(conn, items))
            for group in plan.groups:
                row = conn.execute(
                    _SQLITE_NUMBER, (len(group.indexes), group.conversation_id, group.revision)
                ).fetchone()
                plan.numbered(group, None if row is None else int(row[0]))
            rows = [
                (
                    conversation_id,
                    e.seq,
                    e.kind.value,
                    e.author,
                    json.dumps(e.body),
                    e.client_id,
                    _sqlite_time(e.created_at),
                )
                for conversation_id, e in plan.new_entries()
            ]
            if rows:
                conn.executemany(_SQLITE_INSERT, rows)
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            if isinstance(exc, sqlite3.IntegrityError):
                raise Conflicted(str(exc)) from exc
            raise
        return plan.outcomes()

    def _stored(self, conn: sqlite3.Connection, items: list[SendItem]) -> dict[Key, Entry]:
        cids, authors, client_ids = _lookup_values(items)
        sql = _SQLITE_LOOKUP.format(
            c=",".join("?" * len(cids)),
            a=",".join("?" * len(authors)),
            i=",".join("?" * len(client_ids)),
        )
        rows = conn.execute(sql, (*cids, *authors, *client_ids)).fetchall()
        return _matching(map(_sqlite_entry, rows), {item.key for item in items})

    async def close(self) -> None:
        if self._executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)
        self._executor = None

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


# SQLAlchemy core: PostgreSQL (psycopg 3), and an in-memory SQLite database ---------------------

_NUMBER = (
    sa.update(conversations)
    .where(
        conversations.c.id == sa.bindparam("cid"),
        conversations.c.revision == sa.bindparam("rev"),
        conversations.c.status != Status.ENDED.value,
    )
    .values(last_seq=conversations.c.last_seq + sa.bindparam("n", type_=sa.Integer))
    .returning(conversations.c.last_seq)
)


class SqlBatchWriter:
    """Batches in one ``Database.write()`` transaction: the lookup, one UPDATE per
    conversation, and the entries in one multi-row INSERT (SQLAlchemy's insertmanyvalues)."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def start(self) -> None:
        return None

    async def write(self, items: Sequence[SendItem]) -> list[Outcome]:
        try:
            return await self._write(items)
        except sa.exc.IntegrityError as exc:
            raise Conflicted(str(exc.orig)) from exc

    async def _write(self, items: Sequence[SendItem]) -> list[Outcome]:
        async with self._db.write() as tx:
            conn = tx.conn
            cids, authors, client_ids = _lookup_values(items)
            found = await conn.execute(
                sa.select(entries).where(
                    entries.c.conversation_id.in_(cids),
                    entries.c.author.in_(authors),
                    entries.c.client_id.in_(client_ids),
                )
            )
            stored = _matching(
                (
                    (
                        r.conversation_id,
                        Entry(
                            r.seq, EntryKind(r.kind), r.author, r.body, r.created_at, r.client_id
                        ),
                    )
                    for r in found
                ),
                {item.key for item in items},
            )
            plan = _Plan(items, stored)
            for group in plan.groups:
                row = (
                    await conn.execute(
                        _NUMBER,
                        {
                            "cid": group.conversation_id,
                            "rev": group.revision,
                            "n": len(group.indexes),
                        },
                    )
                ).first()
                plan.numbered(group, None if row is None else int(row.last_seq))
            new = plan.new_entries()
            if new:
                await conn.execute(
                    sa.insert(entries),
                    [
                        {
                            "conversation_id": conversation_id,
                            "seq": e.seq,
                            "kind": e.kind.value,
                            "author": e.author,
                            "body": e.body,
                            "client_id": e.client_id,
                            "created_at": e.created_at,
                        }
                        for conversation_id, e in new
                    ],
                )
        return plan.outcomes()

    async def close(self) -> None:
        return None
