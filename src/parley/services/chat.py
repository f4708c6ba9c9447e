"""Conversation use cases: open a chat request, send, type, end, read history, resume."""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access, retention
from parley.domain import conversation as conv_policy
from parley.domain import hours as hours_policy
from parley.domain import identity as identity_policy
from parley.domain.access import Principal, Staff, StaffRole, Visitor
from parley.domain.branding import Branding
from parley.domain.conversation import Conversation, Entry, Kind, Status
from parley.domain.errors import (
    Conflict,
    CursorOutOfRange,
    DomainError,
    Forbidden,
    NotFound,
    Unauthenticated,
    Unavailable,
)
from parley.domain.forms import FormField, check_answers
from parley.domain.hidden_fields import check_hidden_fields
from parley.domain.hours import Availability, Reason
from parley.domain.identity import Mode as IdentityMode
from parley.domain.wordfilter import Outcome as FilterOutcome
from parley.domain.wordfilter import Scope as FilterScope
from parley.metrics import Metrics
from parley.protocol import ConversationOut, EntryOut, Error, Outcome, TypingOut
from parley.realtime.bus import Bus
from parley.realtime.hub import Backlog, Catchup
from parley.realtime.notifications import Appended, Kick, Notification, ToConversation
from parley.services.conversations import member_of, readable, require_participant
from parley.services.group_commit import ConversationCache, GroupCommit
from parley.services.house_rules import AuditRecord, HouseRulesService, audit_record, refusal
from parley.services.identity import IdentityService
from parley.services.routing import RoutingService
from parley.storage import writer
from parley.storage.agents import AgentStore
from parley.storage.branding import BrandingStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.requests import RequestStore
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore
from parley.storage.writer import SendItem

#: Earlier conversations of a customer shown beside a chat.
HISTORY_LIMIT = 20
#: How many of the customer's other conversations are looked at for those (the reader may
#: read only some of them).
HISTORY_SCAN = 200


@dataclass(frozen=True, slots=True)
class ChatForm:
    """What a visitor fills in before chatting (validated by the web layer's schema)."""

    name: str
    email: str = ""
    question: str = ""
    page: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    #: What the company's page passed along (``domain.hidden_fields``), checked on opening.
    fields: dict[str, str] = field(default_factory=dict)
    #: The page that brought the visitor to the company's page (``page``), if the browser said.
    referrer: str = ""

    def metadata(self) -> dict[str, object]:
        data: dict[str, object] = {
            "name": self.name,
            "email": self.email,
            "question": self.question,
            "page": self.page,
            "extra": dict(self.extra),
        }
        if self.fields:
            data["fields"] = dict(self.fields)
        if self.referrer:
            data["referrer"] = self.referrer
        return data


@dataclass(frozen=True, slots=True)
class OpenedChat:
    conversation: ConversationOut
    visitor_token: str
    position: int | None
    #: The browser's anonymous visitor id, signed: the widget keeps it for its next chat.
    visitor_id: str = ""


ALWAYS = Availability(True)


@dataclass(frozen=True, slots=True)
class WorkgroupStatus:
    slug: str
    name: str
    button_text: str
    open: bool
    form_fields: tuple[FormField, ...]
    #: Whether a new chat is taken now (else the widget offers to leave a message), and why not.
    availability: Availability = ALWAYS
    #: Whether a chat needs a verified identity token.
    identity: IdentityMode = IdentityMode.OPTIONAL
    #: How the widget looks: colour, greeting, corner, logo.
    branding: Branding = field(default_factory=Branding)


@dataclass(frozen=True, slots=True)
class Subscription:
    conversation_id: str
    cursor: int
    #: Whether the client sent this cursor (then ``history_removed`` is said if the archiving
    #: policy removed what follows it; a conversation followed without one is sent silently
    #: from what is kept).
    sent: bool = False


@dataclass(frozen=True, slots=True)
class RefusedCursor:
    conversation_id: str
    error: DomainError


@dataclass(frozen=True, slots=True)
class Resume:
    """What a (re)connecting client follows, and the cursors it sent that were refused."""

    subscriptions: list[Subscription]
    errors: list[RefusedCursor]


class ChatService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        routing: RoutingService,
        issue_visitor_token: Callable[[str], str],
        identity: IdentityService,
        *,
        max_message_chars: int,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        requests: RequestStore,
        agents: AgentStore,
        metrics: Metrics,
        writes: GroupCommit | None = None,
        cache: ConversationCache | None = None,
        house_rules: HouseRulesService | None = None,
        supervision: SupervisionStore | None = None,
        branding: BrandingStore | None = None,
    ) -> None:
        """``writes``: the node's group commit (without it, or before it runs, every send
        goes the ordinary way); ``cache``: its snapshots of live conversations;
        ``house_rules``: the blocked words every message is checked against (none without)."""
        self._house_rules = house_rules
        self._supervision = supervision
        self._branding = branding
        self._writes = writes
        self._cache = cache if cache is not None else ConversationCache(0)
        self._metrics = metrics
        self._workgroups = workgroups
        self._conversations = conversations
        self._requests = requests
        self._agents = agents
        self._issue_visitor_token = issue_visitor_token
        self._identity = identity
        self._db = db
        self._bus = bus
        self._clock = clock
        self._routing = routing
        self.max_message_chars = max_message_chars

    # Visitors ---------------------------------------------------------------------------------

    async def workgroup_status(self, slug: str) -> WorkgroupStatus:
        async with self._db.read() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            available = await self._agents.available_agents(tx, wg.id)
            now_available = await _availability(
                tx, self._workgroups, wg, available, self._clock.now()
            )
            looks = Branding()
            if self._branding is not None:
                looks = await self._branding.branding(tx, wg.id)
        return WorkgroupStatus(
            wg.slug,
            wg.name,
            wg.button_text or f"Chat with {wg.name}",
            available > 0,
            wg.form_fields,
            now_available,
            wg.identity,
            looks,
        )

    async def open_chat(
        self,
        slug: str,
        form: ChatForm,
        *,
        identity_token: str | None = None,
        visitor_id: str | None = None,
        on_open: Callable[[Tx, Conversation], Awaitable[None]] | None = None,
    ) -> OpenedChat:
        """Open a chat request. ``identity_token``: the company's signed identity of the
        customer (verified, else ``InvalidIdentity``; required by some workgroups);
        ``visitor_id``: the signed anonymous id the browser got with its last chat (one this
        server did not sign is ignored, and a new one issued); ``on_open``: runs in the
        transaction that opens it, once the conversation is written and before it is queued
        (a secret shopper's link is spent and the chat flagged there, ``QaService``); what it
        raises opens nothing."""
        form = replace(form, fields=check_hidden_fields(form.fields))
        now = self._clock.now()
        conversation_id = secrets.token_hex(16)
        browser = self._identity.visitor_id_of(visitor_id) or self._identity.new_visitor_id()
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            # The workgroup first (queue lengths are checked under its lock), before the
            # conversation's row refers to it.
            await self._workgroups.workgroup(tx, wg.id, lock=True)
            customer = None
            if identity_token is not None:
                customer = await self._identity.verify(tx, wg, identity_token, now)
            identity_policy.require_identity(wg.identity, customer)
            check_answers(wg.form_fields, form.extra)
            await _require_accepting(tx, self._workgroups, self._agents, wg, now)
            metadata = form.metadata()
            if form.extra:
                # The labels the form showed, as they were then: staff read labels, not keys.
                metadata["extra_labels"] = {
                    f.name: f.label for f in wg.form_fields if f.name in form.extra
                }
            conv, entries = conv_policy.open_customer_chat(
                conversation_id,
                wg.id,
                form.name,
                metadata,
                now,
                customer=customer,
                visitor_id=browser,
            )
            await self._conversations.insert_conversation(tx, conv)
            await self._conversations.insert_entries(tx, conv.id, entries)
            if on_open is not None:
                await on_open(tx, conv)
            position, notes = await self._routing.enqueue_in(tx, wg, conv, now)
        await self._bus.publish(notes)
        return OpenedChat(
            ConversationOut.of(conv),
            self._issue_visitor_token(conv.id),
            position,
            self._identity.sign_visitor_id(browser),
        )

    # Participants -----------------------------------------------------------------------------

    async def send(
        self,
        principal: Principal,
        conversation_id: str,
        client_id: str,
        text: str,
        *,
        private: bool = False,
        confirm: bool = False,
    ) -> EntryOut:
        """Store a message (a private note, which only staff see, with ``private``); repeated
        client ids answer with the original entry.

        The house rules' blocked words see the text first (``services.house_rules``): a
        refused message raises ``BlockedWord`` and nothing is stored (the refusal is
        audited); a warned one raises ``BlockedWordWarning`` unless ``confirm``; a masked one
        is stored masked. What staff write in a customer chat is in scope
        ``staff_to_customer``, their private notes and everything in DMs, rooms and
        back-channels in ``staff_im``, a visitor's text in ``customer``. A message the audit
        log keeps (masked, or a notify rule matched) is stored the ordinary way, with its
        audit row in the same transaction. The text is read after the sender's previous
        message in the conversation if it was stored within a minute through this node
        (``HouseRulesService.previous``): a term split over the two is caught in this one.

        The message is checked on the node's snapshot of the conversation and goes into the
        next group commit (``services.group_commit``); whatever the snapshot cannot answer
        (not cached, refused, stale) goes the ordinary way (``_send_locked``), which gives
        the exact answers."""
        conv_policy.validate_text(text, self.max_message_chars)
        conv_policy.validate_client_id(client_id)
        record: AuditRecord | None = None
        if self._house_rules is not None:
            # Access first: a stranger's send answers exactly like one to a conversation that
            # does not exist (and a reader's who is not a participant, ``forbidden``), before
            # the words are looked at, so that neither writes an audit row.
            kind = await self._sender_kind(principal, conversation_id, client_id)
            text, record = await self._filter(
                principal, conversation_id, kind, text, private, confirm
            )
        now = self._clock.now()

        async def ordinary() -> tuple[Entry, bool]:
            self._cache.drop(conversation_id)
            return await self._send_locked(
                principal, conversation_id, client_id, text, private, now, record
            )

        item = None
        if self._writes is not None and self._writes.running and record is None:
            item = await self._draft(principal, conversation_id, client_id, text, private, now)
        if self._writes is None or item is None:
            entry, fresh = await ordinary()
            out = EntryOut.of(entry)
            if fresh:
                await self._bus.publish([Appended(conversation_id=conversation_id, entries=[out])])
                if record is not None and self._house_rules is not None:
                    await self._house_rules.notify(record)
        else:
            out = EntryOut.of(await self._writes.submit(item, ordinary))
        if self._house_rules is not None:
            # What the next message of the sender is read after (a term split over the two).
            self._house_rules.said(conversation_id, principal.key, private, text)
        return out

    async def _sender_kind(
        self, principal: Principal, conversation_id: str, client_id: str
    ) -> Kind:
        """The kind of the conversation ``principal`` may write in, checked before its words
        are: from the node's snapshot when they are a present participant there (no read; the
        send is drafted on it next), else read as the ordinary send reads it: ``NotFound`` if
        they may not read it (the same as for none), ``Forbidden`` for a reader who is not a
        present participant (``access.require_participant``), unless the client id is one
        they stored before (the ordinary send answers a retry with its entry, as always)."""
        cached = self._cache.get(conversation_id)
        if cached is not None:
            try:
                access.require_participant(principal, cached[0])
                return cached[0].kind
            except DomainError:
                pass
        async with self._db.read() as tx:
            found = await writer.snapshot(tx, self._conversations, conversation_id)
            if found is None:
                access.require_read(principal, None)  # raises NotFound
            assert found is not None
            conv = access.require_read(
                principal,
                found[0],
                await member_of(tx, self._workgroups, principal, found[0]),
            )
            existing = await self._conversations.entry_by_client_id(
                tx, conv.id, principal.key, client_id
            )
            if existing is None:
                await require_participant(tx, self._workgroups, principal, conv, self._supervision)
        self._cache.put(*found)
        return conv.kind

    async def _filter(
        self,
        principal: Principal,
        conversation_id: str,
        kind: Kind,
        text: str,
        private: bool,
        confirm: bool,
    ) -> tuple[str, AuditRecord | None]:
        """The text to store under the house rules, and what the audit log keeps of it."""
        assert self._house_rules is not None
        if isinstance(principal, Visitor):
            scope = FilterScope.CUSTOMER
        elif private or kind is not Kind.CUSTOMER_CHAT:
            scope = FilterScope.STAFF_IM  # notes, DMs, rooms, back-channels: staff among staff
        else:
            scope = FilterScope.STAFF_TO_CUSTOMER
        previous = self._house_rules.previous(conversation_id, principal.key, private)
        verdict = await self._house_rules.check(text, scope, confirmed=confirm, previous=previous)
        record = audit_record(principal, conversation_id, scope, text, verdict)
        if verdict.outcome is FilterOutcome.REFUSED:
            assert record is not None
            await self._house_rules.record_refusal(record)
            raise refusal(verdict)
        if verdict.outcome is FilterOutcome.WARN:
            raise refusal(verdict)
        assert verdict.text is not None
        return verdict.text, record

    async def _draft(
        self,
        principal: Principal,
        conversation_id: str,
        client_id: str,
        text: str,
        private: bool,
        now: datetime,
    ) -> SendItem | None:
        """The send drafted by the domain on the cached snapshot; None if the snapshot cannot
        say yes (the ordinary path then answers)."""
        cached = self._cache.get(conversation_id)
        if cached is None:
            async with self._db.read() as tx:
                cached = await writer.snapshot(tx, self._conversations, conversation_id)
            if cached is None:
                return None
            self._cache.put(*cached)
        conv, revision = cached
        post = conv_policy.post_note if private else conv_policy.post_message
        try:
            access.require_participant(principal, conv)
            _, entry = post(conv, principal.key, text, client_id, now, self.max_message_chars)
        except DomainError:
            self._cache.drop(conversation_id)
            return None
        return SendItem(conv.id, revision, entry)

    async def _send_locked(
        self,
        principal: Principal,
        conversation_id: str,
        client_id: str,
        text: str,
        private: bool,
        now: datetime,
        record: AuditRecord | None = None,
    ) -> tuple[Entry, bool]:
        """The ordinary send: read and lock the conversation, check, number, insert, commit
        (with ``record`` in the audit log). Returns the entry and whether it was stored just
        now (not announced here)."""
        started = time.perf_counter()
        try:
            async with self._db.write() as tx:
                conv = await self._conversation(tx, principal, conversation_id, lock=True)
                existing = await self._conversations.entry_by_client_id(
                    tx, conv.id, principal.key, client_id
                )
                if existing is not None:
                    return existing, False
                if conv.status is Status.ENDED:
                    raise Conflict("this conversation has ended")
                await require_participant(tx, self._workgroups, principal, conv, self._supervision)
                post = conv_policy.post_note if private else conv_policy.post_message
                conv, entry = post(
                    conv, principal.key, text, client_id, now, self.max_message_chars
                )
                await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
                await self._conversations.insert_entries(tx, conv.id, [entry])
                if record is not None:
                    assert self._house_rules is not None
                    await self._house_rules.record(tx, record)
        except IntegrityError:
            # The same client id committed concurrently (on another node): answer with it.
            async with self._db.read() as tx:
                existing = await self._conversations.entry_by_client_id(
                    tx, conversation_id, principal.key, client_id
                )
            if existing is None:
                raise
            return existing, False
        # Stored on its own, outside a batch.
        self._metrics.batch_committed(1, time.perf_counter() - started)
        self._metrics.messages_committed(1)
        return entry, True

    async def typing(self, principal: Principal, conversation_id: str, active: bool) -> None:
        """Tell the others that ``principal`` is typing. Nothing is stored, so a present
        participant in the send path's cached snapshot (see ``ConversationCache``) needs no
        database read: typing is most of what a busy node is sent. The one staleness this
        allows: someone who left the conversation through another node can show as typing on
        this one until its snapshot is next read (a send refused, evicted, or this node's own
        change). Anyone else goes the ordinary way, with its errors."""
        conv = self._typing_snapshot(principal, conversation_id)
        if conv is None:
            async with self._db.read() as tx:
                conv = await self._conversation(tx, principal, conversation_id)
                if conv.status is Status.ENDED:
                    return
                await require_participant(tx, self._workgroups, principal, conv, self._supervision)
        me = conv.participant(principal.key)
        assert me is not None
        message = TypingOut(
            conversation_id=conv.id, participant=me.key, name=me.display_name, active=active
        )
        await self._bus.publish(
            [
                ToConversation(
                    conversation_id=conv.id,
                    message=message.model_dump(mode="json"),
                    except_participant=me.key,
                )
            ]
        )

    def _typing_snapshot(self, principal: Principal, conversation_id: str) -> Conversation | None:
        cached = self._cache.get(conversation_id)
        if cached is None:
            return None
        conv = cached[0]
        try:
            access.require_participant(principal, conv)
        except DomainError:
            return None
        return conv

    async def end(
        self,
        principal: Principal,
        conversation_id: str,
        outcome: Outcome | None = None,
        *,
        reason: str = "ended",
    ) -> None:
        """End a chat; a visitor ending it while still queued cancels the request, and ending
        it calls off a transfer under way. Staff may record the chat's ``outcome``. Another
        ``reason`` than ``ended`` (``customer_left``: ``services.visitor_presence``) is the
        system's doing: the ``ended`` entry has no author."""
        if outcome is not None and not isinstance(principal, Staff):
            raise Forbidden("only staff record a chat's outcome")
        now = self._clock.now()
        for attempt in (1, 2):
            try:
                notes = await self._end(principal, conversation_id, outcome, now, reason)
            except _Relock:
                # A transfer started between our look and our lock: again, with its lock.
                if attempt == 2:
                    raise Conflict("the chat changed while ending it; try again") from None
                continue
            break
        await self._bus.publish(notes)

    async def _end(
        self,
        principal: Principal,
        conversation_id: str,
        outcome: Outcome | None,
        now: datetime,
        reason: str = "ended",
    ) -> list[Notification]:
        notes: list[Notification] = []
        async with self._db.write() as tx:
            peek = await self._conversation(tx, principal, conversation_id)
            # Lock order everywhere: workgroup, agent, conversation. A waiting request (the
            # queue, or a transfer under way) lives in its workgroup's queue.
            wg = None
            state = await self._requests.request_state(tx, peek.id)
            if state is not None and state.status == "waiting":
                wg = await self._workgroups.workgroup(tx, state.workgroup_id, lock=True)
            conv = await self._conversation(tx, principal, conversation_id, lock=True)
            if conv.status is Status.ENDED:
                # Ending twice is a no-op for anyone who took part, so that a retry never fails.
                if conv.participant(principal.key) is None:
                    raise Forbidden("only a participant can end this conversation")
                # The customer ended it first: the outcome its agent picks at wrap-up still
                # counts (``WrapUpService.set_outcome`` changes it afterwards).
                if (
                    outcome is not None
                    and isinstance(principal, Staff)
                    and access.took_part(principal, conv)
                ):
                    await self._conversations.set_outcome(
                        tx, conv.id, outcome, principal.user_id, now
                    )
                return []
            after = await self._requests.request_state(tx, conv.id)
            if after is not None and after.status == "waiting" and wg is None:
                raise _Relock
            await require_participant(tx, self._workgroups, principal, conv, self._supervision)
            if wg is not None:
                notes += await self._routing.cancel_in(tx, wg, conv.id)
            if conv.status is not Status.QUEUED:
                if outcome is not None:
                    assert isinstance(principal, Staff)
                    await self._conversations.set_outcome(
                        tx, conv.id, outcome, principal.user_id, now
                    )
                conv = await self._conversation(tx, principal, conversation_id, lock=True)
                agents = conv.agent_ids()
                by = principal.key if reason == "ended" else None
                conv, entries = conv_policy.end(conv, by, reason, now)
                await self._conversations.save_conversation(tx, conv)
                await self._conversations.insert_entries(tx, conv.id, entries)
                notes.append(
                    Appended(conversation_id=conv.id, entries=[EntryOut.of(e) for e in entries])
                )
                # The agents freed a slot: their workgroups may have someone for them.
                for agent_id in agents:
                    await self._agents.set_idle_since(tx, agent_id, now)
                    notes += [
                        Kick(workgroup_id=w)
                        for w in await self._workgroups.workgroups_of(tx, agent_id)
                    ]
        return notes

    # Reading ----------------------------------------------------------------------------------

    async def conversation(
        self, principal: Principal, conversation_id: str
    ) -> tuple[ConversationOut, list[EntryOut]]:
        async with self._db.read() as tx:
            conv = await self._conversation(tx, principal, conversation_id)
            entries = await self._conversations.entries_after(tx, conv.id, 0)
        return ConversationOut.of(conv), [
            EntryOut.of(access.visible_entry(principal, e)) for e in entries
        ]

    async def entries(
        self, principal: Principal, conversation_id: str, after: int, limit: int
    ) -> list[EntryOut]:
        async with self._db.read() as tx:
            conv = await self._conversation(tx, principal, conversation_id)
            if after > conv.last_seq:
                raise CursorOutOfRange(f"seq {after} does not exist yet (last is {conv.last_seq})")
            if 0 < after < conv.history_starts_at_seq - 1:
                # As on the socket: a cursor the archiving policy left behind is told so (0
                # asks for everything kept).
                raise retention.history_removed(conv.id, conv.history_starts_at_seq)
            found = await self._conversations.entries_after(tx, conv.id, after, limit)
        return [EntryOut.of(access.visible_entry(principal, e)) for e in found]

    async def history(
        self,
        staff: Staff,
        *,
        search: str | None,
        everyone: bool,
        limit: int,
        before: datetime | None,
    ) -> list[ConversationOut]:
        """A staff member's conversations, newest first; supervisors may ask for everyone's:
        those of the workgroups they supervise or are a member of (admins: all)."""
        if everyone:
            access.require_role(staff, StaffRole.SUPERVISOR)
        async with self._db.read() as tx:
            mine: list[int] | None = None
            if everyone and staff.role is not StaffRole.ADMIN:
                mine = await self._workgroups.readable_by(tx, staff.user_id)
            convs = await self._conversations.conversations_of(
                tx,
                None if everyone else staff.user_id,
                search=search,
                limit=limit,
                before=before,
                workgroups=mine,
            )
        return [ConversationOut.of(c) for c in convs if access.can_read(staff, c, mine or ())]

    async def resume(
        self, principal: Principal, cursors: dict[str, int], *, only_cursors: bool = False
    ) -> Resume:
        """What a connecting client follows: the visitor its chat; staff their open chats and
        any other they are allowed to read and sent a cursor for. With ``only_cursors`` (a
        ``follow`` on a live connection), just the conversations named by ``cursors``."""
        subs: list[Subscription] = []
        errors: list[RefusedCursor] = []
        async with self._db.read() as tx:
            convs: list[Conversation]
            mine: frozenset[int]
            if only_cursors:
                convs = []
                mine = frozenset(
                    await self._workgroups.readable_by(tx, principal.user_id)
                    if isinstance(principal, Staff)
                    else ()
                )
            elif isinstance(principal, Visitor):
                conv = await self._conversations.conversation(tx, principal.conversation_id)
                if conv is None:
                    raise Unauthenticated("this visitor token names no conversation")
                convs = [conv]
                mine = frozenset()
            else:
                convs = await self._conversations.conversations_of(
                    tx, principal.user_id, active_only=True, limit=1000
                )
                mine = frozenset(await self._workgroups.readable_by(tx, principal.user_id))
            known = {c.id for c in convs}
            for other_id in cursors.keys() - known:
                # Missing or not theirs: the same refusal (access.require_read).
                try:
                    convs.append(
                        access.require_read(
                            principal, await self._conversations.conversation(tx, other_id), mine
                        )
                    )
                except DomainError as exc:
                    errors.append(RefusedCursor(other_id, exc))
        for conv in convs:
            cursor = cursors.get(conv.id, 0)
            if cursor > conv.last_seq:
                errors.append(
                    RefusedCursor(
                        conv.id,
                        CursorOutOfRange(
                            f"conversation {conv.id} has no seq {cursor} (last is "
                            f"{conv.last_seq}); it is sent again from the start"
                        ),
                    )
                )
                cursor = 0
            # A cursor below what the archiving policy kept is told ``history_removed`` by the
            # hub as it follows (Hub.follow), in the same read as the entries it then sends.
            subs.append(Subscription(conv.id, cursor, conv.id in cursors))
        return Resume(subs, errors)

    async def resume_visitor(self, visitor: Visitor, cursors: dict[str, int]) -> Catchup:
        """A visitor's hello in one read transaction: its conversation (the row read now, its
        participants taken from the node's snapshot when the row is still at the snapshot's
        revision: ``ConversationStore.conversation_at``), the entries after its cursor, and
        its place in the queue. Called by ``Hub.follow_read`` after the connection was
        registered, so ``last_seq`` and the state are read after registering. A cursor
        beyond ``last_seq`` is refused (``cursor_out_of_range``) and the log sent from the
        start; cursors for any other conversation get ``not_found``. No such conversation:
        ``Unauthenticated`` (a signed token for a conversation that is gone)."""
        cid = visitor.conversation_id
        refused: list[BaseModel] = []
        for other_id in sorted(cursors.keys() - {cid}):
            # A visitor reads only its own conversation: every other is the same "no such".
            try:
                access.require_read(visitor, None)
            except DomainError as exc:
                refused.append(Error(code=exc.code, message=exc.message, conversation_id=other_id))
        async with self._db.read() as tx:
            found = await self._conversations.conversation_at(tx, cid, self._cache.get(cid))
            if found is None:
                raise Unauthenticated("this visitor token names no conversation")
            conv, revision = found
            cursor = cursors.get(cid, 0)
            if cursor > conv.last_seq:
                refused.append(
                    Error(
                        code=CursorOutOfRange.code,
                        message=f"conversation {cid} has no seq {cursor} (last is "
                        f"{conv.last_seq}); it is sent again from the start",
                        conversation_id=cid,
                    )
                )
                cursor = 0
            start = conv.history_starts_at_seq
            if cursor < start - 1:
                # Customer chats go whole, never trimmed; the same answer as everywhere.
                if cid in cursors:
                    removed = retention.history_removed(cid, start)
                    refused.append(
                        Error(
                            code=removed.code,
                            message=removed.message,
                            conversation_id=cid,
                            history_starts_at_seq=start,
                        )
                    )
                cursor = start - 1
            entries = await self._conversations.entries_after(tx, cid, cursor)
            # Only a queued conversation has a place in a queue to show: it turns active when
            # its agent joins (the request accepted in the same commit), and a transfer's
            # request waits again with ``transfer_from`` set, which the visitor is not shown.
            status = (
                await self._routing.queue_status_in(tx, cid)
                if conv.status is Status.QUEUED
                else None
            )
        self._cache.put(conv, revision)
        return Catchup(
            ConversationOut.of(conv),
            cursor,
            [EntryOut.of(e) for e in entries],
            before=refused,
            after=[] if status is None else [status],
        )

    async def customer_history(self, staff: Staff, conversation_id: str) -> list[ConversationOut]:
        """The customer's earlier conversations, newest first: linked by the verified identity,
        else by the same browser (never by a typed email), and only those the reader may read
        anyway (``access.can_read_earlier``). A receiver sees them before typing a word."""
        async with self._db.read() as tx:
            conv = await self._conversation(tx, staff, conversation_id)
            mine = frozenset(await self._workgroups.readable_by(tx, staff.user_id))
            others = await self._conversations.conversations_linked(
                tx, conv.link, conv.id, HISTORY_SCAN
            )
        shown = [o for o in others if access.can_read_earlier(staff, conv, o, mine)]
        return [ConversationOut.of(c) for c in shown[:HISTORY_LIMIT]]

    async def customer_transcript(
        self, staff: Staff, conversation_id: str, other_id: str
    ) -> tuple[ConversationOut, list[EntryOut]]:
        """One of the customer's earlier conversations (``customer_history``). Anything else
        answers exactly like a conversation that does not exist."""
        async with self._db.read() as tx:
            conv = await self._conversation(tx, staff, conversation_id)
            mine = frozenset(await self._workgroups.readable_by(tx, staff.user_id))
            other = access.require_read_earlier(
                staff, conv, await self._conversations.conversation(tx, other_id), mine
            )
            entries = await self._conversations.entries_after(tx, other.id, 0)
        return ConversationOut.of(other), [
            EntryOut.of(access.visible_entry(staff, e)) for e in entries
        ]

    # The hub's view of the record (parley.realtime.hub.SyncSource) -----------------------------

    async def backlog(
        self, conversation_id: str, after: int, *, state: bool = False
    ) -> Backlog | None:
        """Where the conversation's kept history starts and the entries after ``after`` (from
        there), with its state when ``state``: one read transaction, so they agree however
        the retention job trims meanwhile."""
        async with self._db.read() as tx:
            out = None
            if state:
                conv = await self._conversations.conversation(tx, conversation_id)
                if conv is None:
                    return None
                out, start = ConversationOut.of(conv), conv.history_starts_at_seq
            else:
                found = await self._conversations.history_start(tx, conversation_id)
                if found is None:
                    return None
                start = found
            entries = await self._conversations.entries_after(
                tx, conversation_id, max(after, start - 1)
            )
        return Backlog(start, [EntryOut.of(e) for e in entries], out)

    async def _conversation(
        self, tx: Tx, principal: Principal, conversation_id: str, *, lock: bool = False
    ) -> Conversation:
        return await readable(
            tx, self._workgroups, self._conversations, principal, conversation_id, lock=lock
        )


async def _availability(
    tx: Tx, workgroups: WorkgroupStore, wg: WorkgroupRow, available: int, now: datetime
) -> Availability:
    settings = await workgroups.workgroup_hours(tx, wg.id)
    return hours_policy.availability(
        None if settings is None else settings.hours,
        now,
        available,
        queue_without_agents=settings is not None and settings.queue_without_agents,
    )


async def _require_accepting(
    tx: Tx, workgroups: WorkgroupStore, agents: AgentStore, wg: WorkgroupRow, now: datetime
) -> None:
    """Closed, or nobody available (unless the workgroup lets visitors wait): ``Unavailable``,
    and the widget offers to leave a message instead."""
    found = await _availability(tx, workgroups, wg, await agents.available_agents(tx, wg.id), now)
    if found.reason is not None:
        raise Unavailable(_UNAVAILABLE[found.reason], found.reason.value)


_UNAVAILABLE = {
    Reason.CLOSED: "we're closed right now: please leave a message",
    Reason.NO_AGENTS: "nobody is available right now: please leave a message",
}


class _Relock(Exception):
    """The locks taken do not cover the chat's state any more: roll back and start again."""


async def _workgroup(tx: Tx, workgroups: WorkgroupStore, slug: str) -> WorkgroupRow:
    wg = await workgroups.workgroup_by_slug(tx, slug)
    if wg is None:
        raise NotFound(f"no workgroup {slug!r}")
    return wg
