"""The archive: the policy admins set (retention per kind, legal holds, the notice everyone is
shown), the retention sweep, search and export for supervisors and compliance readers, a
customer's data on request, and the compliance right. Every change, search, export and
compliance read is written to the audit log in the transaction that does it.

Who may do what (``domain.access``): admins set the policy, holds, notice and the compliance
right, and delete a customer's data; supervisors and compliance readers search, read and
export the archive; a supervisor sees what ``access.can_read`` gives them anyway (customer
chats, open rooms, their own DMs), a compliance reader everything, each read of a staff
conversation they are not a member of audited as ``archive.compliance_read``.

The retention sweep (``sweep``, one of the Maintenance loop's) works in small batches, oldest
first, one short write transaction per batch, so sends keep committing in between
(``domain.retention`` says what goes and why that leaves no hole).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import html
import io
import json
import logging
import secrets
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from parley.clock import Clock
from parley.domain import access, retention
from parley.domain.access import Staff, StaffRole
from parley.domain.conversation import Conversation, Entry, Kind
from parley.domain.errors import InvalidInput, NotFound
from parley.domain.identity import Link
from parley.domain.profiles import Profile
from parley.domain.retention import Action, Hold
from parley.protocol import ArchiveNoticeOut
from parley.services.house_rules import actor_of
from parley.storage.archive import ArchiveQuery, ArchiveStore, ExportRow, Hit, HoldRow
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.profiles import ProfileStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore

log = logging.getLogger(__name__)

#: Conversations removed or trimmed per retention batch (one write transaction).
RETENTION_BATCH = 50
#: Batches per sweep; more waiting, and the sweep comes back at once.
RETENTION_BATCHES_PER_SWEEP = 4
#: How often the sweep looks when nothing was left to do.
RETENTION_IDLE = timedelta(minutes=10)
#: The most conversations one export holds.
MAX_EXPORT_CONVERSATIONS = 2000
#: The most hits one search page returns, and the deepest page.
MAX_SEARCH_LIMIT = 200
MAX_SEARCH_OFFSET = 10_000
#: The most conversations a customer's export or deletion covers in one request.
MAX_CUSTOMER_CONVERSATIONS = 1000
#: How often a running export writes its progress (every this many conversations), and its
#: heartbeat at least this often besides.
PROGRESS_EVERY = 10
EXPORT_HEARTBEAT = timedelta(minutes=1)
#: A running export whose heartbeat is older than this lost its node (stopped, crashed): the
#: retention job marks it failed (``interrupted``).
EXPORT_STALE = timedelta(minutes=10)
#: The default of ``archive_export_keep_days``: finished exports (rows and files) are deleted
#: by the retention job this long after they finished.
EXPORT_KEEP = timedelta(days=7)
#: The most exports one retention round deletes.
EXPORTS_PER_SWEEP = 100

NOTICE = "notice"
DEFAULT_NOTICE = ""


@dataclass(frozen=True, slots=True)
class ArchivePolicy:
    keep_days: dict[Kind, int | None]
    notice: str
    holds: list[HoldRow]
    #: Who holds the compliance right (user ids, deactivated accounts included).
    compliance_users: list[int]


@dataclass(frozen=True, slots=True)
class StaffNotice:
    notice: str
    updated_at: datetime | None
    keep_days: dict[Kind, int | None]
    lines: dict[Kind, str]

    def out(self) -> ArchiveNoticeOut:
        return ArchiveNoticeOut(
            notice=self.notice,
            updated_at=self.updated_at,
            keep_days={k.value: v for k, v in self.keep_days.items()},
            lines={k.value: v for k, v in self.lines.items()},
        )


@dataclass(frozen=True, slots=True)
class CustomerData:
    conversations: list[dict[str, Any]]
    left_messages: list[dict[str, Any]]
    #: The verified customer's profile and staff notes (``domain.profiles``), by ``sub`` only.
    profile: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class Deleted:
    conversations: list[str]
    left_messages: int
    #: What a legal hold keeps: (conversation id or "left_messages", hold).
    kept: list[tuple[str, Hold]]
    #: Chats not ended yet: not deleted (end them first).
    open_chats: list[str]


def _entry_json(conv: Conversation, e: Entry) -> dict[str, Any]:
    author = conv.participant(e.author) if e.author else None
    return {
        "type": "entry",
        "conversation_id": conv.id,
        "kind": conv.kind.value,
        "seq": e.seq,
        "entry_kind": e.kind.value,
        "author": e.author,
        "author_name": None if author is None else author.display_name,
        "body": e.body,
        "created_at": e.created_at.isoformat(),
    }


def _conversation_json(conv: Conversation) -> dict[str, Any]:
    return {
        "type": "conversation",
        "id": conv.id,
        "kind": conv.kind.value,
        "status": conv.status.value,
        "created_at": conv.created_at.isoformat(),
        "ended_at": None if conv.ended_at is None else conv.ended_at.isoformat(),
        "history_starts_at_seq": conv.history_starts_at_seq,
        "customer": None
        if conv.customer is None
        else {"sub": conv.customer.sub, "email": conv.customer.email, "name": conv.customer.name},
        "metadata": conv.metadata,
        "name": None if conv.room is None else conv.room.name,
        "participants": [
            {"key": p.key, "role": p.role.value, "name": p.display_name, "user_id": p.user_id}
            for p in conv.participants
        ],
    }


def transcript_html(conv: Conversation, entries: list[Entry]) -> str:
    """A readable transcript; everything a user wrote (names, room names, texts, metadata)
    is escaped."""
    e = html.escape
    title = conv.room.name if conv.room is not None and conv.room.name else conv.id
    rows = []
    for entry in entries:
        who = conv.participant(entry.author) if entry.author else None
        name = who.display_name if who is not None else (entry.author or "")
        text = entry.body.get("text") if isinstance(entry.body, dict) else None
        shown = text if isinstance(text, str) else entry.kind.value
        rows.append(
            f"<tr><td>{entry.seq}</td><td>{e(entry.created_at.isoformat())}</td>"
            f"<td>{e(name)}</td><td>{e(entry.kind.value)}</td><td>{e(shown)}</td></tr>"
        )
    removed = (
        f"<p>Entries before {conv.history_starts_at_seq} were removed by the archiving policy.</p>"
        if conv.history_starts_at_seq > 1
        else ""
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{e(title)}</title></head><body>"
        f"<h1>{e(title)}</h1><p>{e(conv.kind.value)}, {e(conv.status.value)}, started "
        f"{e(conv.created_at.isoformat())}</p>{removed}"
        "<table><thead><tr><th>#</th><th>when</th><th>who</th><th>what</th><th>text</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table></body></html>\n"
    )


class ArchiveService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        conversations: ConversationStore,
        archive: ArchiveStore,
        audit: AuditStore,
        workgroups: WorkgroupStore,
        node_id: str = "",
        export_keep: timedelta = EXPORT_KEEP,
        profiles: ProfileStore | None = None,
    ) -> None:
        """``node_id``: this node's, written on the exports it runs; ``export_keep``: how long
        a finished export is kept (``archive_export_keep_days``)."""
        self._db = db
        self._clock = clock
        self._conversations = conversations
        self._archive = archive
        self._audit = audit
        self._workgroups = workgroups
        self._node_id = node_id
        self.export_keep = export_keep
        self._profiles = profiles
        #: The exports this node runs: task -> export id.
        self._exports: dict[asyncio.Task[None], str] = {}
        #: When the retention job looks at the exports next (at most once a minute).
        self._exports_due: datetime | None = None

    async def start(self) -> None:
        """At start-up: an export a previous process left ``running`` (it stopped or crashed
        mid-export) is marked failed (``interrupted``): on SQLite every one (a single node),
        on PostgreSQL those of this node id and those whose heartbeat is stale (another
        node's that is alive goes on). Start it again to get it."""
        now = self._clock.now()
        async with self._db.write() as tx:
            count = await self._archive.interrupt_exports(
                tx,
                now,
                node_id=self._node_id or None,
                stale_before=now - EXPORT_STALE,
                everyone=self._db.is_sqlite,
            )
        if count:
            log.warning("%d archive export(s) left running by a stopped node marked failed", count)

    async def close(self) -> None:
        """Stop the exports this node runs; each is marked failed (``interrupted``)."""
        running = dict(self._exports)
        for task in running:
            task.cancel()
        for task in running:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if running:
            with contextlib.suppress(Exception):
                async with self._db.write() as tx:
                    await self._archive.interrupt_exports(
                        tx, self._clock.now(), ids=list(running.values())
                    )

    async def wait_exports(self) -> None:
        """Until every export this node started has finished (tests, shutdown)."""
        while self._exports:
            await asyncio.gather(*self._exports, return_exceptions=True)

    async def _record(
        self, tx: Tx, staff: Staff, action: str, subject: str, details: dict[str, Any]
    ) -> None:
        await self._audit.record(tx, self._clock.now(), actor_of(staff), action, subject, details)

    # The policy (admins) ---------------------------------------------------------------------

    async def policy(self, staff: Staff) -> ArchivePolicy:
        access.require_role(staff, StaffRole.ADMIN)
        async with self._db.read() as tx:
            policy = await self._archive.policy(tx)
            notice = await self._archive.setting(tx, NOTICE)
            holds = await self._archive.holds(tx)
            compliance_users = await self._archive.compliance_users(tx)
        return ArchivePolicy(
            {k: policy.days(k) for k in Kind}, notice or DEFAULT_NOTICE, holds, compliance_users
        )

    async def set_policy(
        self, staff: Staff, keep_days: dict[Kind, int | None], notice: str | None
    ) -> ArchivePolicy:
        access.require_role(staff, StaffRole.ADMIN)
        days = {k: retention.validate_keep_days(v) for k, v in keep_days.items()}
        text = None if notice is None else retention.validate_notice(notice)
        now = self._clock.now()
        async with self._db.write() as tx:
            for kind, value in days.items():
                await self._archive.set_policy(tx, kind, value, now)
            if text is not None:
                await self._archive.set_setting(tx, NOTICE, text, now)
            await self._record(
                tx,
                staff,
                "archive.policy",
                "archive",
                {"keep_days": {k.value: v for k, v in days.items()}, "notice": text},
            )
        return await self.policy(staff)

    async def notice(self) -> str:
        """The line shown where people write (public: the widget reads it)."""
        async with self._db.read() as tx:
            return await self._archive.setting(tx, NOTICE) or DEFAULT_NOTICE

    async def staff_notice(self) -> StaffNotice:
        """What every staff member is told (``welcome``, ``GET /archive/notice``): the notice,
        when it or the policy last changed, and per kind the days kept and a line to show."""
        async with self._db.read() as tx:
            notice = await self._archive.setting(tx, NOTICE) or DEFAULT_NOTICE
            policy = await self._archive.policy(tx)
            changed = await self._archive.changed_at(tx, NOTICE)
        return StaffNotice(
            notice,
            changed,
            {k: policy.days(k) for k in Kind},
            retention.kind_lines(policy),
        )

    async def add_hold(
        self,
        staff: Staff,
        conversation_id: str | None,
        customer_sub: str | None,
        customer_email: str | None,
        reason: str,
    ) -> HoldRow:
        access.require_role(staff, StaffRole.ADMIN)
        hold = retention.new_hold(conversation_id, customer_sub, customer_email, reason)
        now = self._clock.now()
        async with self._db.write() as tx:
            hold_id = await self._archive.add_hold(tx, hold, staff.user_id, now)
            await self._record(
                tx,
                staff,
                "archive.hold.created",
                f"hold:{hold_id}",
                {
                    "conversation_id": hold.conversation_id,
                    "customer_sub": hold.customer_sub,
                    "customer_email": hold.customer_email,
                    "reason": hold.reason,
                },
            )
        return HoldRow(dataclasses.replace(hold, id=hold_id), staff.user_id, now)

    async def release_hold(self, staff: Staff, hold_id: int) -> None:
        access.require_role(staff, StaffRole.ADMIN)
        async with self._db.write() as tx:
            if not await self._archive.delete_hold(tx, hold_id):
                raise NotFound("no such hold")
            await self._record(tx, staff, "archive.hold.released", f"hold:{hold_id}", {})

    async def set_compliance(self, staff: Staff, user_id: int, value: bool) -> None:
        """Give or take the compliance right (admins)."""
        access.require_role(staff, StaffRole.ADMIN)
        async with self._db.write() as tx:
            role = await self._archive.role_of(tx, user_id)
            if role is None:
                raise NotFound("no such staff member")
            if value:
                access.require_compliance_holder(role)
            await self._archive.set_compliance(tx, user_id, value)
            await self._record(
                tx, staff, "archive.compliance", f"user:{user_id}", {"compliance": value}
            )

    # Readers: supervisors and compliance ------------------------------------------------------

    async def _reader(self, tx: Tx, staff: Staff) -> Staff:
        """The staff member as an archive reader: with their compliance right, else a
        supervisor or admin; anyone else is refused."""
        if await self._archive.compliance(tx, staff.user_id):
            return dataclasses.replace(staff, compliance=True)
        return access.require_role(staff, StaffRole.SUPERVISOR)

    async def _readable(self, tx: Tx, reader: Staff) -> tuple[int, ...] | None:
        """The workgroups whose customer chats ``reader`` finds in the archive: a supervisor
        those they supervise or are a member of (``access.can_read``); None: every one."""
        if reader.compliance or reader.role is StaffRole.ADMIN:
            return None
        return tuple(await self._workgroups.readable_by(tx, reader.user_id))

    async def is_compliance(self, staff: Staff) -> bool:
        async with self._db.read() as tx:
            return await self._archive.compliance(tx, staff.user_id)

    async def rights(self, staff: Staff) -> access.ArchiveRights:
        """What ``staff`` may do with the archive (for the console's screens)."""
        return access.archive_rights(staff, await self.is_compliance(staff))

    async def search(self, staff: Staff, query: ArchiveQuery) -> list[Hit]:
        if not 1 <= query.limit <= MAX_SEARCH_LIMIT:
            raise InvalidInput(f"limit is 1 to {MAX_SEARCH_LIMIT}")
        if not 0 <= query.offset <= MAX_SEARCH_OFFSET:
            raise InvalidInput(f"offset is 0 to {MAX_SEARCH_OFFSET}")
        async with self._db.write() as tx:
            reader = await self._reader(tx, staff)
            query = dataclasses.replace(
                query,
                reader=None if reader.compliance else reader.user_id,
                workgroups=await self._readable(tx, reader),
            )
            hits = await self._archive.search(tx, query)
            await self._record(
                tx,
                staff,
                "archive.search",
                "archive",
                {**_query_json(query), "compliance": reader.compliance, "hits": len(hits)},
            )
        return hits

    async def transcripts(
        self, staff: Staff, query: ArchiveQuery, supervises: frozenset[int] | None
    ) -> list[Hit]:
        """Transcript search for QA: the customer chats of the workgroups ``staff``
        supervises (``supervises``; None: every workgroup, for admins), with the archive's
        words, dates and paging and the QA filters (agent, outcome, tag, rating, shopper).
        Audited like an archive search (``archive.search``, with ``scope: transcripts``)."""
        access.require_supervisor(staff)
        if not 1 <= query.limit <= MAX_SEARCH_LIMIT:
            raise InvalidInput(f"limit is 1 to {MAX_SEARCH_LIMIT}")
        if not 0 <= query.offset <= MAX_SEARCH_OFFSET:
            raise InvalidInput(f"offset is 0 to {MAX_SEARCH_OFFSET}")
        workgroups = query.workgroup_ids
        if supervises is not None:
            workgroups = supervises if workgroups is None else workgroups & supervises
        query = dataclasses.replace(
            query, kind=Kind.CUSTOMER_CHAT, workgroup_ids=workgroups, reader=None
        )
        async with self._db.write() as tx:
            hits = [] if workgroups == frozenset() else await self._archive.search(tx, query)
            await self._record(
                tx,
                staff,
                "archive.search",
                "archive",
                {**_query_json(query), "scope": "transcripts", "hits": len(hits)},
            )
        return hits

    async def read(self, staff: Staff, conversation_id: str) -> tuple[Conversation, list[Entry]]:
        """One conversation of the archive, with every entry kept; a compliance read of a
        staff conversation the reader is not a member of is audited as such."""
        async with self._db.write() as tx:
            reader = await self._reader(tx, staff)
            conv = await self._conversations.conversation(tx, conversation_id)
            if conv is None or not access.can_read(
                reader, conv, await self._readable(tx, reader) or ()
            ):
                raise NotFound(access.NO_SUCH_CONVERSATION)
            compliance = conv.staff_only and not access.can_read(
                dataclasses.replace(reader, compliance=False), conv
            )
            entries = await self._conversations.entries_after(tx, conv.id, 0)
            await self._record(
                tx,
                staff,
                "archive.compliance_read" if compliance else "archive.read",
                conv.id,
                {"kind": conv.kind.value},
            )
        return conv, entries

    # Exports ------------------------------------------------------------------------------

    async def start_export(self, staff: Staff, query: ArchiveQuery) -> ExportRow:
        export_id = secrets.token_hex(16)
        now = self._clock.now()
        async with self._db.write() as tx:
            reader = await self._reader(tx, staff)
            query = dataclasses.replace(
                query,
                reader=None if reader.compliance else reader.user_id,
                workgroups=await self._readable(tx, reader),
                offset=0,
            )
            saved = _query_json(query)
            await self._archive.create_export(
                tx, export_id, staff.user_id, saved, now, self._node_id
            )
            await self._record(
                tx,
                staff,
                "archive.export",
                f"export:{export_id}",
                {**saved, "compliance": reader.compliance},
            )
        task = asyncio.create_task(self._run_export(export_id, reader, query))
        self._exports[task] = export_id
        task.add_done_callback(lambda done: self._exports.pop(done, None))
        row = await self.export(staff, export_id)
        return row

    async def _run_export(self, export_id: str, reader: Staff, query: ArchiveQuery) -> None:
        try:
            async with self._db.read() as tx:
                ids = await self._archive.conversation_ids(tx, query, MAX_EXPORT_CONVERSATIONS)
            beat = self._clock.now()
            async with self._db.write() as tx:
                await self._archive.progress(tx, export_id, 0, len(ids), beat)
            lines = io.BytesIO()
            packed = io.BytesIO()
            with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as zf:
                for done, conversation_id in enumerate(ids, start=1):
                    async with self._db.read() as tx:
                        conv = await self._conversations.conversation(tx, conversation_id)
                        entries = (
                            []
                            if conv is None
                            else await self._conversations.entries_after(tx, conv.id, 0)
                        )
                    if conv is not None and access.can_read(reader, conv, query.workgroups or ()):
                        lines.write(_line(_conversation_json(conv)))
                        for entry in entries:
                            lines.write(_line(_entry_json(conv, entry)))
                        zf.writestr(f"{conv.id}.html", transcript_html(conv, entries))
                    now = self._clock.now()
                    if done < len(ids) and (
                        done % PROGRESS_EVERY == 0 or now - beat >= EXPORT_HEARTBEAT
                    ):
                        beat = now
                        async with self._db.write() as tx:
                            await self._archive.progress(tx, export_id, done, len(ids), now)
                    await asyncio.sleep(0)  # let sends in between
            async with self._db.write() as tx:
                await self._archive.progress(tx, export_id, len(ids), len(ids), self._clock.now())
                await self._archive.finish_export(
                    tx,
                    export_id,
                    self._clock.now(),
                    jsonl=lines.getvalue(),
                    html_zip=packed.getvalue(),
                )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("archive export %s failed", export_id)
            with contextlib.suppress(Exception):
                async with self._db.write() as tx:
                    await self._archive.finish_export(
                        tx, export_id, self._clock.now(), error=type(exc).__name__
                    )

    async def export(self, staff: Staff, export_id: str) -> ExportRow:
        """An export's state: for the one who started it only (anyone else: not found)."""
        async with self._db.read() as tx:
            row = await self._archive.export(tx, export_id)
        if row is None or row.created_by != staff.user_id:
            raise NotFound("no such export")
        return row

    async def export_file(self, staff: Staff, export_id: str, fmt: str) -> bytes:
        row = await self.export(staff, export_id)
        if row.state != "done":
            raise InvalidInput(f"the export is {row.state}, not done")
        async with self._db.write() as tx:
            data = await self._archive.export_file(tx, export_id, fmt)
            await self._record(
                tx, staff, "archive.export.downloaded", f"export:{export_id}", {"format": fmt}
            )
        if data is None:
            raise NotFound("no such export")
        return data

    # A customer's data on request ---------------------------------------------------------

    async def _customer_query(
        self, staff: Staff, sub: str | None, email: str | None, confirm_email: bool
    ) -> ArchiveQuery:
        if (sub is None) == (email is None):
            raise InvalidInput("name the customer by exactly one of sub or email")
        if email is not None and not confirm_email:
            raise InvalidInput(
                "an email is what was typed, not an identity: check it is theirs and send "
                "confirm_email: true"
            )
        if sub is not None:
            return ArchiveQuery(customer_sub=sub)
        assert email is not None
        return ArchiveQuery(customer_email=email)

    async def customer_export(
        self, staff: Staff, sub: str | None, email: str | None, confirm_email: bool = False
    ) -> CustomerData:
        """Everything held about one customer: their chats (with entries) and, by email, the
        messages they left. Admins and compliance readers."""
        query = await self._customer_query(staff, sub, email, confirm_email)
        async with self._db.write() as tx:
            if not await self._archive.compliance(tx, staff.user_id):
                access.require_role(staff, StaffRole.ADMIN)
            ids = await self._archive.conversation_ids(
                tx, dataclasses.replace(query, kind=Kind.CUSTOMER_CHAT), MAX_CUSTOMER_CONVERSATIONS
            )
            out: list[dict[str, Any]] = []
            for conversation_id in ids:
                conv = await self._conversations.conversation(tx, conversation_id)
                if conv is None:
                    continue
                entries = await self._conversations.entries_after(tx, conv.id, 0)
                out.append(
                    {
                        **_conversation_json(conv),
                        "entries": [_entry_json(conv, e) for e in entries],
                    }
                )
            left = [] if email is None else await self._archive.customer_left_messages(tx, email)
            profile = None
            if sub is not None and self._profiles is not None:
                found = await self._profiles.profile(tx, Link("sub", sub))
                profile = None if found is None else _profile_json(found)
            await self._record(
                tx,
                staff,
                "archive.customer.exported",
                f"customer:{sub or email}",
                {"conversations": len(out), "left_messages": len(left)},
            )
        return CustomerData(out, left, profile)

    async def customer_delete(
        self, staff: Staff, sub: str | None, email: str | None, confirm_email: bool = False
    ) -> Deleted:
        """Delete what is held about one customer (admins): their chats, each with its
        back-channel, and by email the messages they left, except what a legal hold keeps,
        which is named in the answer."""
        access.require_role(staff, StaffRole.ADMIN)
        query = await self._customer_query(staff, sub, email, confirm_email)
        async with self._db.write() as tx:
            holds = [h.hold for h in await self._archive.holds(tx)]
            ids = await self._archive.conversation_ids(
                tx, dataclasses.replace(query, kind=Kind.CUSTOMER_CHAT), MAX_CUSTOMER_CONVERSATIONS
            )
            removed: list[str] = []
            kept: list[tuple[str, Hold]] = []
            open_chats: list[str] = []
            for conversation_id in ids:
                conv = await self._conversations.conversation(tx, conversation_id, lock=True)
                if conv is None:
                    continue
                typed = conv.metadata.get("email") if isinstance(conv.metadata, dict) else None
                summary = retention.Summary(
                    conv.id,
                    conv.kind,
                    conv.ended_at is not None,
                    conv.created_at,
                    None,
                    None if conv.customer is None else conv.customer.sub,
                    None if conv.customer is None else conv.customer.email or None,
                    typed_email=typed if isinstance(typed, str) else None,
                )
                hold = retention.holding(holds, summary)
                if conv.ended_at is None:
                    open_chats.append(conv.id)
                    continue
                if hold is not None:
                    kept.append((conv.id, hold))
                    continue
                backchannel = await self._archive.backchannel_of(tx, conv.id)
                if backchannel is not None:
                    await self._archive.remove_conversation(tx, backchannel)
                await self._archive.remove_conversation(tx, conv.id)
                removed.append(conv.id)
            left = 0
            if email is not None:
                email_hold = next(
                    (
                        h
                        for h in holds
                        if h.customer_email is not None
                        and h.customer_email.casefold() == email.casefold()
                    ),
                    None,
                )
                if email_hold is not None:
                    kept.append(("left_messages", email_hold))
                else:
                    left = await self._archive.delete_left_messages(tx, email)
            profile = False
            if sub is not None and self._profiles is not None and not kept and not open_chats:
                # The profile and its staff notes go with the last of the customer's chats.
                profile = await self._profiles.delete(tx, Link("sub", sub))
            await self._record(
                tx,
                staff,
                "archive.customer.deleted",
                f"customer:{sub or email}",
                {
                    "conversations": removed,
                    "left_messages": left,
                    "kept": [{"what": what, "hold": h.id} for what, h in kept],
                    "open_chats": open_chats,
                    "profile": profile,
                },
            )
        return Deleted(removed, left, kept, open_chats)

    # The retention sweep ------------------------------------------------------------------

    async def sweep(self) -> datetime | None:
        """One round of the retention job: the exports first (``_sweep_exports``), then a few
        small batches of conversations, oldest first. Returns when to come back (at once if
        more is waiting)."""
        await self._sweep_exports()
        for _ in range(RETENTION_BATCHES_PER_SWEEP):
            if await self._batch() < RETENTION_BATCH:
                return self._clock.now() + RETENTION_IDLE
        return self._clock.now()

    async def _sweep_exports(self) -> None:
        """Exports whose node stopped (heartbeat older than ``EXPORT_STALE``, not one this
        node runs) are marked failed, and those finished more than ``export_keep`` ago are
        deleted, rows and files; one audit row (``archive.retention``) says how many. At most
        once per ``EXPORT_HEARTBEAT``."""
        now = self._clock.now()
        if self._exports_due is not None and now < self._exports_due:
            return
        self._exports_due = now + EXPORT_HEARTBEAT
        async with self._db.write() as tx:
            interrupted = await self._archive.interrupt_exports(
                tx, now, stale_before=now - EXPORT_STALE, alive=list(self._exports.values())
            )
            deleted = await self._archive.delete_exports(
                tx, now - self.export_keep, EXPORTS_PER_SWEEP
            )
            if interrupted or deleted:
                await self._audit.record(
                    tx,
                    now,
                    "system:retention",
                    "archive.retention",
                    "exports",
                    {"exports_deleted": deleted, "exports_interrupted": interrupted},
                )

    async def _batch(self) -> int:
        """One batch in one write transaction; how many conversations it looked at (the
        most of any kind)."""
        now = self._clock.now()
        async with self._db.write() as tx:
            policy = await self._archive.policy(tx)
            holds = [h.hold for h in await self._archive.holds(tx)]
            # What the holds keep (conversations, customers) is left out in the queries, so
            # that it does not fill every batch; ``plan`` checks every hold all the same.
            held = retention.held(holds)
            seen = 0
            removals: list[retention.Removal] = []
            chat_cutoff = policy.cutoff(Kind.CUSTOMER_CHAT, now)
            if chat_cutoff is not None:
                chats = await self._archive.expired_chats(tx, chat_cutoff, RETENTION_BATCH, held)
                seen = max(seen, len(chats))
                removals += retention.plan(policy, holds, chats, now)
            for kind in (Kind.DIRECT, Kind.ROOM, Kind.BACKCHANNEL):
                cutoff = policy.cutoff(kind, now)
                if cutoff is None:
                    continue
                staff_convs = await self._archive.staff_to_trim(
                    tx, kind, cutoff, RETENTION_BATCH, held
                )
                seen = max(seen, len(staff_convs))
                removals += retention.plan(policy, holds, staff_convs, now)
            removed = trimmed = profiles = 0
            for r in removals:
                if r.action is Action.REMOVE:
                    removed += await self._archive.remove_conversation(tx, r.conversation_id)
                else:
                    assert r.before is not None
                    if await self._archive.trim(tx, r.conversation_id, r.before) is not None:
                        trimmed += 1
            if removed and self._profiles is not None:
                # An anonymous browser's profile goes with its last chat (its notes with it).
                profiles = await self._profiles.delete_orphans(tx, RETENTION_BATCH)
            if removals:
                await self._audit.record(
                    tx,
                    now,
                    "system:retention",
                    "archive.retention",
                    "archive",
                    {"removed": removed, "trimmed": trimmed, "profiles": profiles},
                )
        # Held conversations stay candidates; a batch of nothing but held ones ends the round.
        return seen if removals else 0


def _line(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def _query_json(q: ArchiveQuery) -> dict[str, Any]:
    return {
        "words": q.words,
        "kind": None if q.kind is None else q.kind.value,
        "user_id": q.user_id,
        "customer_sub": q.customer_sub,
        "customer_email": q.customer_email,
        "since": None if q.since is None else q.since.isoformat(),
        "until": None if q.until is None else q.until.isoformat(),
        "offset": q.offset,
        "limit": q.limit,
        **_transcript_json(q),
    }


def _profile_json(p: Profile) -> dict[str, Any]:
    return {
        "name": p.name,
        "email": p.email,
        "company": p.company,
        "tags": list(p.tags),
        "updated_at": None if p.updated_at is None else p.updated_at.isoformat(),
        "notes": [
            {
                "text": n.text,
                "author": n.author_name,
                "created_at": n.created_at.isoformat(),
            }
            for n in p.notes
        ],
    }


def _transcript_json(q: ArchiveQuery) -> dict[str, Any]:
    """The transcript search's filters (QA), only those set: an archive search's audit row
    stays as it was."""
    out: dict[str, Any] = {
        "workgroup_ids": None if q.workgroup_ids is None else sorted(q.workgroup_ids),
        "agent_id": q.agent_id,
        "outcome": q.outcome,
        "tag": q.tag,
        "rating_min": q.rating_min,
        "rating_max": q.rating_max,
        "shopper": q.shopper,
    }
    return {k: v for k, v in out.items() if v is not None}
