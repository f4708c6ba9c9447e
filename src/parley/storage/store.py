"""Queries, bound to one transaction. Services get a ``Store`` from ``Database.write()`` or
``Database.read()`` and never write SQL themselves.

Rows come back as domain objects or small frozen records; nothing leaks SQLAlchemy types.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from parley.domain import routing, rules
from parley.domain.access import StaffRole
from parley.domain.conversation import (
    Conversation,
    Entry,
    EntryKind,
    Kind,
    Participant,
    Role,
    Status,
)
from parley.domain.forms import FormField
from parley.domain.hours import BusinessHours, parse_hours, weekly_plain
from parley.domain.identity import Customer, Link
from parley.domain.identity import Mode as IdentityMode
from parley.domain.invitations import Invitation
from parley.domain.invitations import Status as InvitationStatus
from parley.domain.messages import LeftMessage
from parley.domain.messages import Status as MessageStatus
from parley.domain.presence import AgentPresence, Presence
from parley.storage.tables import (
    agent_state,
    auth_tokens,
    chat_requests,
    connections,
    conversations,
    entries,
    identity_keys,
    invitations,
    left_messages,
    offers,
    participants,
    queues,
    routing_events,
    routing_rules,
    server_keys,
    users,
    workgroup_hours,
    workgroup_members,
    workgroups,
)


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: StaffRole
    password_hash: str
    active: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TokenRow:
    token_hash: str
    user_id: int
    kind: str
    csrf_token: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    public_id: str
    last_used_at: datetime | None


@dataclass(frozen=True, slots=True)
class WorkgroupRow:
    id: int
    slug: str
    name: str
    button_text: str
    offer_timeout_secs: int
    wait_timeout_secs: int
    max_chats: int
    created_at: datetime
    form_fields: tuple[FormField, ...] = ()
    decline_cooldown_secs: int = 20
    preferred_agent_secs: int = 10
    max_missed_offers: int = 3
    transfer_targets: frozenset[str] = frozenset({"agent", "queue", "workgroup"})
    max_transfers: int = 3
    invitations: bool = True
    identity: IdentityMode = IdentityMode.OPTIONAL

    def transfer_policy(self) -> routing.TransferPolicy:
        return routing.TransferPolicy(self.transfer_targets, self.max_transfers, self.invitations)

    def policy(self) -> routing.Policy:
        return routing.Policy(
            offer_timeout=timedelta(seconds=self.offer_timeout_secs),
            wait_timeout=timedelta(seconds=self.wait_timeout_secs),
            decline_cooldown=timedelta(seconds=self.decline_cooldown_secs),
            preferred_timeout=timedelta(seconds=self.preferred_agent_secs),
            max_missed=self.max_missed_offers,
        )


@dataclass(frozen=True, slots=True)
class IdentityKeyRow:
    """A key a workgroup's company signs identity tokens with (the secret is not in here)."""

    kid: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class QueueRow:
    id: int
    workgroup_id: int
    name: str
    position: int
    is_default: bool
    strategy: routing.Strategy
    skills: dict[str, int]
    overflow_action: routing.OverflowAction
    overflow_secs: int | None
    overflow_target: int | None
    max_length: int | None
    last_offered: int | None

    def spec(self) -> routing.QueueSpec:
        return routing.QueueSpec(
            queue_id=self.id,
            name=self.name,
            strategy=self.strategy,
            skills=dict(self.skills),
            overflow=routing.Overflow(
                self.overflow_action,
                None if self.overflow_secs is None else timedelta(seconds=self.overflow_secs),
                self.overflow_target,
            ),
            max_length=self.max_length,
        )


@dataclass(frozen=True, slots=True)
class RequestState:
    """A conversation's routing request as stored: where it is and who has it."""

    workgroup_id: int
    status: str  # waiting accepted cancelled expired
    offers_made: int
    agent_id: int | None
    transfer_from: int | None
    transfer_note: str = ""
    queue_id: int | None = None
    arrival: int = 0


@dataclass(frozen=True, slots=True)
class RoutingEventRow:
    """A transfer or invitation step (``tables.routing_events``)."""

    conversation_id: str
    kind: str
    at: datetime
    actor_id: int | None = None
    agent_id: int | None = None
    from_workgroup_id: int | None = None
    to_workgroup_id: int | None = None
    to_queue_id: int | None = None
    note: str | None = None


@dataclass(frozen=True, slots=True)
class RuleRow:
    id: int
    position: int
    name: str
    condition: dict[str, Any]
    queue_id: int
    priority: int

    def rule(self) -> rules.Rule:
        """As the router runs it: a pattern RE2 cannot run never matches (``parse_stored``)."""
        return rules.Rule(
            rules.parse_stored(self.condition), self.queue_id, self.priority, self.name
        )


@dataclass(frozen=True, slots=True)
class AgentRow:
    presence: AgentPresence
    idle_since: datetime


@dataclass(frozen=True, slots=True)
class PendingOffer:
    offer: routing.Offer
    workgroup_id: int


def fields_json(fields: tuple[FormField, ...]) -> list[dict[str, object]]:
    return [{"name": f.name, "label": f.label, "required": f.required} for f in fields]


def _lookupable(key: str) -> bool:
    """A key that came from a URL or a message may hold what PostgreSQL refuses to compare
    (NUL) or what no row could have: such a lookup simply finds nothing."""
    return "\x00" not in key and key.isprintable()


def _linked(link: Link) -> list[sa.ColumnElement[bool]]:
    """Conversations of the customer ``link`` names: the same verified ``sub``; or, for an
    anonymous customer, the same browser's visitor id among anonymous chats only."""
    if link.kind == "sub":
        return [conversations.c.customer_sub == link.value]
    return [conversations.c.visitor_id == link.value, conversations.c.customer_sub.is_(None)]


def _token(row: sa.Row[Any]) -> TokenRow:
    return TokenRow(
        row.token_hash,
        row.user_id,
        row.kind,
        row.csrf_token,
        row.label,
        row.created_at,
        row.expires_at,
        row.public_id,
        row.last_used_at,
    )


def _user(row: sa.Row[Any]) -> UserRow:
    return UserRow(
        row.id,
        row.username,
        row.display_name,
        StaffRole(row.role),
        row.password_hash,
        row.active,
        row.created_at,
    )


def _workgroup(row: sa.Row[Any]) -> WorkgroupRow:
    return WorkgroupRow(
        row.id,
        row.slug,
        row.name,
        row.button_text,
        row.offer_timeout_secs,
        row.wait_timeout_secs,
        row.max_chats,
        row.created_at,
        tuple(FormField(f["name"], f["label"], bool(f.get("required"))) for f in row.form_fields),
        row.decline_cooldown_secs,
        row.preferred_agent_secs,
        row.max_missed_offers,
        frozenset(row.transfer_targets),
        row.max_transfers,
        bool(row.invitations),
        IdentityMode(row.identity),
    )


def _queue(row: sa.Row[Any]) -> QueueRow:
    return QueueRow(
        row.id,
        row.workgroup_id,
        row.name,
        row.position,
        row.is_default,
        routing.Strategy(row.strategy),
        {str(k): int(v) for k, v in row.skills.items()},
        routing.OverflowAction(row.overflow_action),
        row.overflow_secs,
        row.overflow_target,
        row.max_length,
        row.last_offered,
    )


def _declined(raw: Any, created_at: datetime) -> dict[int, datetime]:
    """``declined_by`` as stored: ``{"7": iso time}`` (a plain list from before 0004)."""
    if isinstance(raw, list):
        return {int(a): created_at for a in raw}
    return {int(a): datetime.fromisoformat(at) for a, at in raw.items()}


def _entry(row: sa.Row[Any]) -> Entry:
    return Entry(row.seq, EntryKind(row.kind), row.author, row.body, row.created_at, row.client_id)


def _invitation(row: sa.Row[Any]) -> Invitation:
    return Invitation(
        row.id,
        row.conversation_id,
        row.from_user_id,
        row.to_user_id,
        row.note,
        row.created_at,
        row.expires_at,
        InvitationStatus(row.status),
        row.ended_at,
    )


def _offer(row: sa.Row[Any]) -> routing.Offer:
    return routing.Offer(
        row.offer_id,
        row.request_id,
        row.agent_id,
        row.offered_at,
        row.expires_at,
        bool(row.broadcast),
        bool(row.preferred),
    )


class Store:
    def __init__(self, conn: AsyncConnection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    async def _one(self, stmt: sa.Executable) -> sa.Row[Any] | None:
        return (await self.conn.execute(stmt)).first()

    async def _all(self, stmt: sa.Executable) -> Sequence[sa.Row[Any]]:
        return (await self.conn.execute(stmt)).all()

    def _locked(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        # SQLite has one writer at a time (BEGIN IMMEDIATE): the lock is the transaction.
        # FOR NO KEY UPDATE: it does not conflict with the KEY SHARE locks that inserting rows
        # referring to this one takes (a chat opening in a locked workgroup).
        return stmt.with_for_update(key_share=True) if self.postgres else stmt

    # Server keys ------------------------------------------------------------------------------

    async def server_key(self, name: str, candidate: str) -> str:
        """The stored key called ``name``; stores ``candidate`` if there is none yet."""
        # Several nodes may start at once on a fresh database: the first insert wins.
        insert = postgresql_insert if self.postgres else sqlite_insert
        await self.conn.execute(
            insert(server_keys).values(name=name, value=candidate).on_conflict_do_nothing()
        )
        row = await self._one(sa.select(server_keys.c.value).where(server_keys.c.name == name))
        assert row is not None
        return str(row.value)

    # Users and tokens -------------------------------------------------------------------------

    async def insert_user(
        self, username: str, display_name: str, role: StaffRole, password_hash: str, now: datetime
    ) -> int:
        result = await self.conn.execute(
            sa.insert(users)
            .values(
                username=username,
                display_name=display_name,
                role=role.value,
                password_hash=password_hash,
                active=True,
                created_at=now,
            )
            .returning(users.c.id)
        )
        return int(result.scalar_one())

    async def user_by_username(self, username: str) -> UserRow | None:
        if not _lookupable(username):
            return None
        row = await self._one(sa.select(users).where(users.c.username == username))
        return None if row is None else _user(row)

    async def user(self, user_id: int) -> UserRow | None:
        row = await self._one(sa.select(users).where(users.c.id == user_id))
        return None if row is None else _user(row)

    async def list_users(self) -> list[UserRow]:
        return [_user(r) for r in await self._all(sa.select(users).order_by(users.c.username))]

    async def update_user(self, user_id: int, **values: Any) -> None:
        await self.conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))

    async def insert_token(self, token: TokenRow) -> None:
        await self.conn.execute(
            sa.insert(auth_tokens).values(
                token_hash=token.token_hash,
                user_id=token.user_id,
                kind=token.kind,
                csrf_token=token.csrf_token,
                label=token.label,
                created_at=token.created_at,
                expires_at=token.expires_at,
                public_id=token.public_id,
                last_used_at=token.last_used_at,
            )
        )

    async def token(self, token_hash: str) -> tuple[TokenRow, UserRow] | None:
        row = await self._one(
            sa.select(auth_tokens, users)
            .join(users, users.c.id == auth_tokens.c.user_id)
            .where(auth_tokens.c.token_hash == token_hash)
        )
        if row is None:
            return None
        return _token(row), _user(row)

    async def token_by_public_id(self, public_id: str) -> TokenRow | None:
        if not _lookupable(public_id) or not public_id:
            return None
        row = await self._one(sa.select(auth_tokens).where(auth_tokens.c.public_id == public_id))
        return None if row is None else _token(row)

    async def tokens_of(self, user_id: int, kind: str) -> list[TokenRow]:
        rows = await self._all(
            sa.select(auth_tokens)
            .where(auth_tokens.c.user_id == user_id, auth_tokens.c.kind == kind)
            .order_by(auth_tokens.c.created_at, auth_tokens.c.label, auth_tokens.c.public_id)
        )
        return [_token(r) for r in rows]

    async def touch_token(self, token_hash: str, now: datetime, stale: datetime) -> None:
        """Record a use, unless the last one recorded (by any node) is later than ``stale``."""
        await self.conn.execute(
            sa.update(auth_tokens)
            .where(
                auth_tokens.c.token_hash == token_hash,
                sa.or_(
                    auth_tokens.c.last_used_at.is_(None),
                    auth_tokens.c.last_used_at <= stale,
                ),
            )
            .values(last_used_at=now)
        )

    async def delete_token(self, token_hash: str) -> None:
        await self.conn.execute(
            sa.delete(auth_tokens).where(auth_tokens.c.token_hash == token_hash)
        )

    async def delete_tokens_of(self, user_id: int) -> None:
        await self.conn.execute(sa.delete(auth_tokens).where(auth_tokens.c.user_id == user_id))

    # Workgroups -------------------------------------------------------------------------------

    async def insert_workgroup(
        self,
        slug: str,
        name: str,
        button_text: str,
        offer_timeout_secs: int,
        wait_timeout_secs: int,
        max_chats: int,
        now: datetime,
        form_fields: tuple[FormField, ...] = (),
    ) -> int:
        result = await self.conn.execute(
            sa.insert(workgroups)
            .values(
                form_fields=fields_json(form_fields),
                slug=slug,
                name=name,
                button_text=button_text,
                offer_timeout_secs=offer_timeout_secs,
                wait_timeout_secs=wait_timeout_secs,
                max_chats=max_chats,
                created_at=now,
            )
            .returning(workgroups.c.id)
        )
        return int(result.scalar_one())

    async def workgroup(self, workgroup_id: int, *, lock: bool = False) -> WorkgroupRow | None:
        stmt = sa.select(workgroups).where(workgroups.c.id == workgroup_id)
        row = await self._one(self._locked(stmt) if lock else stmt)
        return None if row is None else _workgroup(row)

    async def workgroup_by_slug(self, slug: str) -> WorkgroupRow | None:
        if not _lookupable(slug):
            return None
        row = await self._one(sa.select(workgroups).where(workgroups.c.slug == slug))
        return None if row is None else _workgroup(row)

    async def list_workgroups(self) -> list[WorkgroupRow]:
        rows = await self._all(sa.select(workgroups).order_by(workgroups.c.slug))
        return [_workgroup(r) for r in rows]

    async def update_workgroup(self, workgroup_id: int, **values: Any) -> None:
        await self.conn.execute(
            sa.update(workgroups).where(workgroups.c.id == workgroup_id).values(**values)
        )

    async def members(self, workgroup_id: int) -> list[int]:
        rows = await self._all(
            sa.select(workgroup_members.c.user_id)
            .where(workgroup_members.c.workgroup_id == workgroup_id)
            .order_by(workgroup_members.c.user_id)
        )
        return [int(r.user_id) for r in rows]

    async def add_member(self, workgroup_id: int, user_id: int) -> None:
        if user_id not in await self.members(workgroup_id):
            await self.conn.execute(
                sa.insert(workgroup_members).values(workgroup_id=workgroup_id, user_id=user_id)
            )

    async def set_members(self, workgroup_id: int, user_ids: Iterable[int]) -> None:
        await self.conn.execute(
            sa.delete(workgroup_members).where(workgroup_members.c.workgroup_id == workgroup_id)
        )
        rows = [{"workgroup_id": workgroup_id, "user_id": u} for u in sorted(set(user_ids))]
        if rows:
            await self.conn.execute(sa.insert(workgroup_members), rows)

    async def workgroups_of(self, user_id: int) -> list[int]:
        rows = await self._all(
            sa.select(workgroup_members.c.workgroup_id).where(
                workgroup_members.c.user_id == user_id
            )
        )
        return [int(r.workgroup_id) for r in rows]

    # Conversations ----------------------------------------------------------------------------

    async def insert_conversation(self, conv: Conversation) -> None:
        await self.conn.execute(
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
        await self._save_participants(conv)

    async def save_conversation(self, conv: Conversation) -> None:
        await self.conn.execute(
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
        await self._save_participants(conv)

    async def _save_participants(self, conv: Conversation) -> None:
        await self.conn.execute(
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
            await self.conn.execute(sa.insert(participants), rows)

    async def conversation_ended_at(self, conversation_id: str) -> datetime | None:
        """When the conversation ended; ``None`` while it goes on, or if there is none."""
        if not _lookupable(conversation_id):
            return None
        row = await self._one(
            sa.select(conversations.c.ended_at).where(conversations.c.id == conversation_id)
        )
        return None if row is None else row.ended_at

    async def conversation(
        self, conversation_id: str, *, lock: bool = False
    ) -> Conversation | None:
        if not _lookupable(conversation_id):
            return None
        stmt = sa.select(conversations).where(conversations.c.id == conversation_id)
        row = await self._one(self._locked(stmt) if lock else stmt)
        if row is None:
            return None
        return (await self._conversations_from([row]))[0]

    async def _conversations_from(self, rows: Sequence[sa.Row[Any]]) -> list[Conversation]:
        ids = [r.id for r in rows]
        by_conv: dict[str, list[Participant]] = {i: [] for i in ids}
        if ids:
            prows = await self._all(
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
        return [
            Conversation(
                id=r.id,
                kind=Kind(r.kind),
                status=Status(r.status),
                created_at=r.created_at,
                workgroup_id=r.workgroup_id,
                participants=tuple(by_conv[r.id]),
                last_seq=r.last_seq,
                ended_at=r.ended_at,
                end_reason=r.end_reason,
                metadata=r.metadata,
                customer=None
                if r.customer_sub is None
                else Customer(r.customer_sub, r.customer_email or "", r.customer_name or ""),
                visitor_id=r.visitor_id,
            )
            for r in rows
        ]

    async def metadata_of(self, conversation_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The pre-chat metadata of several conversations, in one query."""
        if not conversation_ids:
            return {}
        rows = await self._all(
            sa.select(conversations.c.id, conversations.c.metadata).where(
                conversations.c.id.in_(list(conversation_ids))
            )
        )
        return {r.id: dict(r.metadata) for r in rows}

    async def set_last_seq(self, conversation_id: str, last_seq: int) -> None:
        await self.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(last_seq=last_seq)
        )

    async def queue_position(self, conversation_id: str) -> tuple[int, int] | None:
        """The queue of a waiting request and its 1-based position there (priority, then
        arrival)."""
        me = await self._one(
            sa.select(chat_requests).where(
                chat_requests.c.conversation_id == conversation_id,
                chat_requests.c.status == "waiting",
            )
        )
        if me is None:
            return None
        ahead = await self._one(
            sa.select(sa.func.count())
            .select_from(chat_requests)
            .where(
                chat_requests.c.queue_id == me.queue_id,
                chat_requests.c.status == "waiting",
                sa.or_(
                    chat_requests.c.priority > me.priority,
                    sa.and_(
                        chat_requests.c.priority == me.priority,
                        chat_requests.c.arrival < me.arrival,
                    ),
                ),
            )
        )
        return int(me.queue_id), 1 + (0 if ahead is None else int(ahead[0]))

    async def insert_entries(self, conversation_id: str, new: Iterable[Entry]) -> None:
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
            await self.conn.execute(sa.insert(entries), rows)

    async def entries_after(
        self, conversation_id: str, after: int, limit: int | None = None
    ) -> list[Entry]:
        stmt = (
            sa.select(entries)
            .where(entries.c.conversation_id == conversation_id, entries.c.seq > after)
            .order_by(entries.c.seq)
        )
        if limit is not None:
            stmt = stmt.limit(limit)
        return [_entry(r) for r in await self._all(stmt)]

    async def entry_by_client_id(
        self, conversation_id: str, author: str, client_id: str
    ) -> Entry | None:
        row = await self._one(
            sa.select(entries).where(
                entries.c.conversation_id == conversation_id,
                entries.c.author == author,
                entries.c.client_id == client_id,
            )
        )
        return None if row is None else _entry(row)

    async def conversations_of(
        self,
        user_id: int | None,
        *,
        active_only: bool = False,
        search: str | None = None,
        limit: int = 50,
        before: datetime | None = None,
    ) -> list[Conversation]:
        """Conversations a staff member took part in (every one when ``user_id`` is None),
        newest first. ``search`` matches the customer's name, email and message text."""
        stmt = sa.select(conversations)
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
        if search and not _lookupable(search):
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
        stmt = stmt.order_by(conversations.c.created_at.desc(), conversations.c.id).limit(limit)
        return await self._conversations_from(await self._all(stmt))

    # Routing ----------------------------------------------------------------------------------

    async def queues(self, workgroup_id: int) -> list[QueueRow]:
        rows = await self._all(
            sa.select(queues)
            .where(queues.c.workgroup_id == workgroup_id)
            .order_by(queues.c.position, queues.c.id)
        )
        return [_queue(r) for r in rows]

    async def queue(self, queue_id: int) -> QueueRow | None:
        row = await self._one(sa.select(queues).where(queues.c.id == queue_id))
        return None if row is None else _queue(row)

    async def insert_queue(self, workgroup_id: int, now: datetime, **values: Any) -> int:
        result = await self.conn.execute(
            sa.insert(queues)
            .values(workgroup_id=workgroup_id, created_at=now, **values)
            .returning(queues.c.id)
        )
        return int(result.scalar_one())

    async def update_queue(self, queue_id: int, **values: Any) -> None:
        await self.conn.execute(sa.update(queues).where(queues.c.id == queue_id).values(**values))

    async def delete_queue(self, queue_id: int, move_to: int) -> None:
        """Delete a queue; its waiting requests move to ``move_to``, ended ones keep no queue."""
        await self.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.queue_id == queue_id, chat_requests.c.status == "waiting")
            .values(queue_id=move_to)
        )
        await self.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.queue_id == queue_id)
            .values(queue_id=None)
        )
        await self.conn.execute(
            sa.update(queues)
            .where(queues.c.overflow_target == queue_id)
            .values(overflow_action=routing.OverflowAction.STAY.value, overflow_target=None)
        )
        await self.conn.execute(sa.delete(queues).where(queues.c.id == queue_id))

    async def rules(self, workgroup_id: int) -> list[RuleRow]:
        rows = await self._all(
            sa.select(routing_rules)
            .where(routing_rules.c.workgroup_id == workgroup_id)
            .order_by(routing_rules.c.position)
        )
        return [
            RuleRow(r.id, r.position, r.name, r.condition, r.queue_id, r.priority) for r in rows
        ]

    async def set_rules(
        self, workgroup_id: int, new: Sequence[tuple[str, dict[str, Any], int, int]]
    ) -> None:
        """Replace the workgroup's rules by ``(name, condition, queue id, priority)``, in order."""
        await self.conn.execute(
            sa.delete(routing_rules).where(routing_rules.c.workgroup_id == workgroup_id)
        )
        rows = [
            {
                "workgroup_id": workgroup_id,
                "position": i,
                "name": name,
                "condition": condition,
                "queue_id": queue_id,
                "priority": priority,
            }
            for i, (name, condition, queue_id, priority) in enumerate(new)
        ]
        if rows:
            await self.conn.execute(sa.insert(routing_rules), rows)

    async def insert_request(
        self, request: routing.Request, workgroup_id: int, entry_position: int
    ) -> None:
        await self.conn.execute(
            sa.insert(chat_requests).values(
                conversation_id=request.request_id,
                workgroup_id=workgroup_id,
                queue_id=request.queue_id,
                status="waiting",
                created_at=request.created_at,
                entered_at=request.since,
                entry_position=entry_position,
                priority=request.priority,
                preferred_agent_id=request.preferred_agent,
                declined_by={},
                offers_made=0,
            )
        )

    async def request_workgroup(self, conversation_id: str) -> tuple[int, str] | None:
        if not _lookupable(conversation_id):
            return None
        row = await self._one(
            sa.select(chat_requests.c.workgroup_id, chat_requests.c.status).where(
                chat_requests.c.conversation_id == conversation_id
            )
        )
        return None if row is None else (int(row.workgroup_id), str(row.status))

    async def next_arrival(self) -> int:
        """The arrival number the next request will get (for ordering it before insert)."""
        row = await self._one(sa.select(sa.func.max(chat_requests.c.arrival)))
        return 1 + (0 if row is None or row[0] is None else int(row[0]))

    async def load_router(self, wg: WorkgroupRow) -> routing.Router:
        """The workgroup's queues, waiting requests and members, for the routing core."""
        specs = await self.queues(wg.id)
        rows = await self._all(
            sa.select(chat_requests)
            .where(chat_requests.c.workgroup_id == wg.id, chat_requests.c.status == "waiting")
            .order_by(chat_requests.c.priority.desc(), chat_requests.c.arrival)
        )
        pending: dict[str, list[routing.Offer]] = {}
        for r in await self._all(
            sa.select(offers)
            .where(offers.c.workgroup_id == wg.id, offers.c.status == "pending")
            .order_by(offers.c.offer_id)
        ):
            pending.setdefault(r.request_id, []).append(_offer(r))
        default = next((q.id for q in specs if q.is_default), specs[0].id if specs else 0)
        requests = tuple(
            routing.Request(
                request_id=r.conversation_id,
                created_at=r.created_at,
                queue_id=default if r.queue_id is None else r.queue_id,
                arrival=r.arrival,
                priority=r.priority,
                entered_at=r.entered_at,
                moves=r.moves,
                declined=_declined(r.declined_by, r.created_at),
                offers_made=r.offers_made,
                offers=tuple(pending.get(r.conversation_id, ())),
                preferred_agent=r.preferred_agent_id,
                transfer=(
                    None
                    if r.transfer_from is None
                    else routing.Transfer(
                        r.transfer_from, r.transfer_to_agent, r.transfer_note or ""
                    )
                ),
            )
            for r in rows
        )
        return routing.Router(
            wg.policy(),
            {q.id: q.spec() for q in specs},
            requests,
            await self._agents(wg),
            {q.id: q.last_offered for q in specs if q.last_offered is not None},
        )

    async def _agents(self, wg: WorkgroupRow) -> dict[int, routing.Agent]:
        members = (
            sa.select(workgroup_members.c.user_id)
            .where(workgroup_members.c.workgroup_id == wg.id)
            .scalar_subquery()
        )
        active = (
            sa.select(sa.func.count())
            .select_from(participants.join(conversations))
            .where(
                participants.c.user_id == agent_state.c.user_id,
                participants.c.role == Role.AGENT.value,
                participants.c.left_at.is_(None),
                conversations.c.status != Status.ENDED.value,
            )
            .scalar_subquery()
        )
        elsewhere = (
            sa.select(sa.func.count())
            .select_from(offers)
            .where(
                offers.c.agent_id == agent_state.c.user_id,
                offers.c.status == "pending",
                offers.c.workgroup_id != wg.id,
            )
            .scalar_subquery()
        )
        rows = await self._all(
            sa.select(
                agent_state.c.user_id,
                agent_state.c.presence,
                agent_state.c.idle_since,
                agent_state.c.skills,
                agent_state.c.max_chats,
                agent_state.c.missed_offers,
                active.label("active"),
                elsewhere.label("elsewhere"),
            )
            .join(users, users.c.id == agent_state.c.user_id)
            .where(agent_state.c.user_id.in_(members), users.c.active.is_(True))
        )
        return {
            r.user_id: routing.Agent(
                r.user_id,
                r.presence == Presence.AVAILABLE.value,
                int(r.active),
                wg.max_chats if r.max_chats is None else r.max_chats,
                r.idle_since,
                int(r.elsewhere) > 0,
                {str(k): int(v) for k, v in r.skills.items()},
                r.missed_offers,
            )
            for r in rows
        }

    async def insert_offer(self, offer: routing.Offer, workgroup_id: int) -> None:
        await self.conn.execute(
            sa.insert(offers).values(
                offer_id=offer.offer_id,
                request_id=offer.request_id,
                workgroup_id=workgroup_id,
                agent_id=offer.agent_id,
                status="pending",
                offered_at=offer.offered_at,
                expires_at=offer.expires_at,
                broadcast=offer.broadcast,
                preferred=offer.preferred,
            )
        )

    async def set_last_offered(self, queue_id: int, agent_id: int) -> None:
        await self.update_queue(queue_id, last_offered=agent_id)

    async def wait_samples(self, queue_id: int, limit: int) -> list[tuple[timedelta, int]]:
        """``(waited, position at entry)`` of the queue's last ``limit`` answered requests."""
        rows = await self._all(
            sa.select(
                chat_requests.c.created_at,
                chat_requests.c.entered_at,
                chat_requests.c.ended_at,
                chat_requests.c.entry_position,
            )
            .where(chat_requests.c.queue_id == queue_id, chat_requests.c.status == "accepted")
            .order_by(chat_requests.c.ended_at.desc().nulls_last())
            .limit(limit)
        )
        return [(r.ended_at - (r.entered_at or r.created_at), int(r.entry_position)) for r in rows]

    async def last_agent_of(self, workgroup_id: int, link: Link | None) -> int | None:
        """The agent who last answered this customer in this workgroup: by verified identity,
        else by the same browser (``domain.identity``); never by a typed email."""
        if link is None:
            return None
        row = await self._one(
            sa.select(chat_requests.c.agent_id)
            .join(conversations, conversations.c.id == chat_requests.c.conversation_id)
            .where(
                chat_requests.c.workgroup_id == workgroup_id,
                chat_requests.c.status == "accepted",
                *_linked(link),
            )
            .order_by(chat_requests.c.ended_at.desc().nulls_last())
            .limit(1)
        )
        return None if row is None or row.agent_id is None else int(row.agent_id)

    async def set_agent_routing(
        self, user_id: int, skills: dict[str, int], max_chats: int | None
    ) -> None:
        await self.conn.execute(
            sa.update(agent_state)
            .where(agent_state.c.user_id == user_id)
            .values(skills=skills, max_chats=max_chats)
        )

    async def agent_routing(self, user_id: int) -> tuple[dict[str, int], int | None]:
        row = await self._one(
            sa.select(agent_state.c.skills, agent_state.c.max_chats).where(
                agent_state.c.user_id == user_id
            )
        )
        if row is None:
            return {}, None
        return {str(k): int(v) for k, v in row.skills.items()}, row.max_chats

    async def record_event(self, event: RoutingEventRow) -> None:
        await self.conn.execute(
            sa.insert(routing_events).values(
                conversation_id=event.conversation_id,
                kind=event.kind,
                at=event.at,
                actor_id=event.actor_id,
                agent_id=event.agent_id,
                from_workgroup_id=event.from_workgroup_id,
                to_workgroup_id=event.to_workgroup_id,
                to_queue_id=event.to_queue_id,
                note=event.note,
            )
        )

    async def events_of(self, conversation_id: str) -> list[RoutingEventRow]:
        rows = await self._all(
            sa.select(routing_events)
            .where(routing_events.c.conversation_id == conversation_id)
            .order_by(routing_events.c.id)
        )
        return [
            RoutingEventRow(
                r.conversation_id,
                r.kind,
                r.at,
                r.actor_id,
                r.agent_id,
                r.from_workgroup_id,
                r.to_workgroup_id,
                r.to_queue_id,
                r.note,
            )
            for r in rows
        ]

    async def set_missed_offers(self, user_id: int, missed: int) -> None:
        await self.conn.execute(
            sa.update(agent_state)
            .where(agent_state.c.user_id == user_id)
            .values(missed_offers=missed)
        )

    async def end_offer(self, offer_id: str, status: str, now: datetime) -> None:
        await self.conn.execute(
            sa.update(offers)
            .where(offers.c.offer_id == offer_id, offers.c.status == "pending")
            .values(status=status, ended_at=now)
        )

    async def save_request(
        self, request: routing.Request, entry_position: int | None = None
    ) -> None:
        values: dict[str, Any] = {
            "declined_by": {str(a): at.isoformat() for a, at in sorted(request.declined.items())},
            "offers_made": request.offers_made,
            "queue_id": request.queue_id,
            "entered_at": request.since,
            "moves": request.moves,
        }
        if entry_position is not None:
            values["entry_position"] = entry_position
        await self.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.conversation_id == request.request_id)
            .values(**values)
        )

    async def end_request(
        self, request_id: str, status: str, now: datetime, agent_id: int | None = None
    ) -> None:
        await self.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.conversation_id == request_id)
            .values(
                status=status,
                ended_at=now,
                agent_id=agent_id,
                transfer_from=None,
                transfer_to_agent=None,
                transfer_note=None,
            )
        )

    async def request_state(self, conversation_id: str) -> RequestState | None:
        if not _lookupable(conversation_id):
            return None
        row = await self._one(
            sa.select(chat_requests).where(chat_requests.c.conversation_id == conversation_id)
        )
        if row is None:
            return None
        return RequestState(
            row.workgroup_id,
            row.status,
            row.offers_made,
            row.agent_id,
            row.transfer_from,
            row.transfer_note or "",
            row.queue_id,
            row.arrival,
        )

    async def start_transfer(
        self, request: routing.Request, workgroup_id: int, entry_position: int
    ) -> None:
        """The conversation's request waits again, in ``workgroup_id``, as a transfer."""
        assert request.transfer is not None
        await self.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.conversation_id == request.request_id)
            .values(
                workgroup_id=workgroup_id,
                queue_id=request.queue_id,
                status="waiting",
                created_at=request.created_at,
                entered_at=request.since,
                entry_position=entry_position,
                priority=request.priority,
                moves=0,
                declined_by={},
                preferred_agent_id=None,
                transfer_from=request.transfer.from_agent,
                transfer_to_agent=request.transfer.to_agent,
                transfer_note=request.transfer.note,
            )
        )

    async def end_transfer(self, conversation_id: str, workgroup_id: int, agent_id: int) -> None:
        """A transfer nobody took: the request is the sender's again, in the chat's workgroup.
        It no longer counts in any queue's wait estimate."""
        await self.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.conversation_id == conversation_id)
            .values(
                workgroup_id=workgroup_id,
                queue_id=None,
                status="accepted",
                agent_id=agent_id,
                transfer_from=None,
                transfer_to_agent=None,
                transfer_note=None,
            )
        )

    async def set_conversation_workgroup(self, conversation_id: str, workgroup_id: int) -> None:
        await self.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(workgroup_id=workgroup_id, revision=conversations.c.revision + 1)
        )

    async def set_outcome(self, conversation_id: str, outcome: str) -> None:
        await self.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(outcome=outcome)
        )

    async def conversations_linked(
        self, link: Link | None, exclude: str, limit: int
    ) -> list[Conversation]:
        """The same customer's other conversations (``domain.identity.customer_link``), newest
        first, in every workgroup: the caller keeps those its reader may read."""
        if link is None:
            return []
        rows = await self._all(
            sa.select(conversations)
            .where(*_linked(link), conversations.c.id != exclude)
            .order_by(conversations.c.created_at.desc(), conversations.c.id)
            .limit(limit)
        )
        return await self._conversations_from(rows)

    # Identity keys ----------------------------------------------------------------------------

    async def list_identity_keys(self, workgroup_id: int) -> list[IdentityKeyRow]:
        rows = await self._all(
            sa.select(identity_keys.c.kid, identity_keys.c.created_at)
            .where(identity_keys.c.workgroup_id == workgroup_id)
            .order_by(identity_keys.c.created_at, identity_keys.c.id)
        )
        return [IdentityKeyRow(r.kid, r.created_at) for r in rows]

    async def identity_secret(self, workgroup_id: int, kid: str) -> str | None:
        if not _lookupable(kid):
            return None
        row = await self._one(
            sa.select(identity_keys.c.secret).where(
                identity_keys.c.workgroup_id == workgroup_id, identity_keys.c.kid == kid
            )
        )
        return None if row is None else str(row.secret)

    async def insert_identity_key(
        self, workgroup_id: int, kid: str, secret: str, now: datetime
    ) -> None:
        await self.conn.execute(
            sa.insert(identity_keys).values(
                workgroup_id=workgroup_id, kid=kid, secret=secret, created_at=now
            )
        )

    async def delete_identity_key(self, workgroup_id: int, kid: str) -> bool:
        if not _lookupable(kid):
            return False
        result = await self.conn.execute(
            sa.delete(identity_keys).where(
                identity_keys.c.workgroup_id == workgroup_id, identity_keys.c.kid == kid
            )
        )
        return bool(result.rowcount)

    async def offer_workgroup(self, offer_id: str) -> int | None:
        if not _lookupable(offer_id):
            return None
        row = await self._one(sa.select(offers.c.workgroup_id).where(offers.c.offer_id == offer_id))
        return None if row is None else int(row.workgroup_id)

    async def pending_offers_of(self, user_id: int) -> list[PendingOffer]:
        rows = await self._all(
            sa.select(offers).where(offers.c.agent_id == user_id, offers.c.status == "pending")
        )
        return [PendingOffer(_offer(r), r.workgroup_id) for r in rows]

    async def workgroups_with_work(self) -> list[int]:
        rows = await self._all(
            sa.select(chat_requests.c.workgroup_id)
            .where(chat_requests.c.status == "waiting")
            .distinct()
        )
        return [int(r.workgroup_id) for r in rows]

    async def available_agents(self, workgroup_id: int) -> int:
        """Members who are available, whatever their load: is anybody there to answer?"""
        row = await self._one(
            sa.select(sa.func.count())
            .select_from(
                workgroup_members.join(
                    agent_state, agent_state.c.user_id == workgroup_members.c.user_id
                ).join(users, users.c.id == workgroup_members.c.user_id)
            )
            .where(
                workgroup_members.c.workgroup_id == workgroup_id,
                agent_state.c.presence == Presence.AVAILABLE.value,
                users.c.active.is_(True),
            )
        )
        return 0 if row is None else int(row[0])

    # Agents, presence, connections ------------------------------------------------------------

    async def agent(self, user_id: int, *, lock: bool = False) -> AgentRow | None:
        stmt = sa.select(agent_state).where(agent_state.c.user_id == user_id)
        row = await self._one(self._locked(stmt) if lock else stmt)
        if row is None:
            return None
        presence = AgentPresence(
            row.user_id,
            Presence(row.presence),
            row.status_text,
            row.changed_at,
            row.disconnected_at,
        )
        return AgentRow(presence, row.idle_since)

    async def insert_agent(self, state: AgentPresence, idle_since: datetime) -> None:
        await self.conn.execute(
            sa.insert(agent_state).values(
                user_id=state.agent_id,
                presence=state.presence.value,
                status_text=state.status_text,
                changed_at=state.changed_at,
                disconnected_at=state.disconnected_at,
                idle_since=idle_since,
            )
        )

    async def save_agent(self, state: AgentPresence, idle_since: datetime | None = None) -> None:
        values: dict[str, Any] = {
            "presence": state.presence.value,
            "status_text": state.status_text,
            "changed_at": state.changed_at,
            "disconnected_at": state.disconnected_at,
        }
        if idle_since is not None:
            values["idle_since"] = idle_since
        await self.conn.execute(
            sa.update(agent_state).where(agent_state.c.user_id == state.agent_id).values(**values)
        )

    async def set_idle_since(self, user_id: int, when: datetime) -> None:
        await self.conn.execute(
            sa.update(agent_state).where(agent_state.c.user_id == user_id).values(idle_since=when)
        )

    async def agents_to_expire(self) -> list[int]:
        rows = await self._all(
            sa.select(agent_state.c.user_id).where(
                agent_state.c.disconnected_at.is_not(None),
                agent_state.c.presence != Presence.OFFLINE.value,
            )
        )
        return [int(r.user_id) for r in rows]

    async def agent_presences(self, user_ids: Iterable[int] | None = None) -> list[AgentPresence]:
        stmt = sa.select(agent_state)
        if user_ids is not None:
            stmt = stmt.where(agent_state.c.user_id.in_(list(user_ids)))
        return [
            AgentPresence(
                r.user_id, Presence(r.presence), r.status_text, r.changed_at, r.disconnected_at
            )
            for r in await self._all(stmt)
        ]

    async def insert_connection(
        self, connection_id: str, user_id: int, node_id: str, now: datetime
    ) -> None:
        await self.conn.execute(
            sa.insert(connections).values(
                id=connection_id, user_id=user_id, node_id=node_id, opened_at=now, seen_at=now
            )
        )

    async def delete_connection(self, connection_id: str) -> None:
        await self.conn.execute(sa.delete(connections).where(connections.c.id == connection_id))

    async def live_connections(self, user_id: int, seen_after: datetime) -> int:
        row = await self._one(
            sa.select(sa.func.count())
            .select_from(connections)
            .where(connections.c.user_id == user_id, connections.c.seen_at >= seen_after)
        )
        return 0 if row is None else int(row[0])

    async def touch_connections(self, node_id: str, now: datetime) -> None:
        await self.conn.execute(
            sa.update(connections).where(connections.c.node_id == node_id).values(seen_at=now)
        )

    async def stale_connection_users(self, seen_before: datetime) -> list[int]:
        """Users with connections whose node stopped its heartbeat; the rows are removed."""
        rows = await self._all(
            sa.select(connections.c.user_id).where(connections.c.seen_at < seen_before).distinct()
        )
        await self.conn.execute(sa.delete(connections).where(connections.c.seen_at < seen_before))
        return [int(r.user_id) for r in rows]

    async def delete_node_connections(self, node_id: str) -> list[int]:
        rows = await self._all(
            sa.select(connections.c.user_id).where(connections.c.node_id == node_id).distinct()
        )
        await self.conn.execute(sa.delete(connections).where(connections.c.node_id == node_id))
        return [int(r.user_id) for r in rows]

    # Left messages and business hours ----------------------------------------------------------

    async def workgroup_hours(self, workgroup_id: int) -> HoursRow | None:
        row = await self._one(
            sa.select(workgroup_hours).where(workgroup_hours.c.workgroup_id == workgroup_id)
        )
        if row is None:
            return None
        hours = parse_hours(row.timezone, row.weekly, row.holidays, row.closed_by_hand)
        return HoursRow(hours, row.queue_without_agents, row.email)

    async def save_workgroup_hours(self, workgroup_id: int, row: HoursRow) -> None:
        await self.conn.execute(
            sa.delete(workgroup_hours).where(workgroup_hours.c.workgroup_id == workgroup_id)
        )
        await self.conn.execute(
            sa.insert(workgroup_hours).values(
                workgroup_id=workgroup_id,
                timezone=row.hours.timezone,
                weekly=weekly_plain(row.hours),
                holidays=sorted(d.isoformat() for d in row.hours.holidays),
                closed_by_hand=row.hours.closed_by_hand,
                queue_without_agents=row.queue_without_agents,
                email=row.email,
            )
        )

    async def insert_left_message(self, msg: LeftMessage) -> int:
        values = _left_message_values(msg)
        result = await self.conn.execute(
            sa.insert(left_messages)
            .values(
                public_id=msg.public_id,
                workgroup_id=msg.workgroup_id,
                conversation_id=msg.conversation_id,
                name=msg.name,
                email=msg.email,
                message=msg.message,
                page=msg.page,
                created_at=msg.created_at,
                **values,
            )
            .returning(left_messages.c.id)
        )
        return int(result.scalar_one())

    def _left_messages_query(self) -> sa.Select[Any]:
        return sa.select(
            left_messages,
            workgroups.c.slug.label("workgroup_slug"),
            users.c.display_name.label("taken_by_name"),
        ).select_from(
            left_messages.join(workgroups, workgroups.c.id == left_messages.c.workgroup_id).join(
                users, users.c.id == left_messages.c.taken_by, isouter=True
            )
        )

    async def left_message(self, message_id: int, *, lock: bool = False) -> LeftMessageRow | None:
        if lock:
            # FOR UPDATE on the message's row only (an outer join cannot be locked).
            await self._one(
                self._locked(sa.select(left_messages.c.id).where(left_messages.c.id == message_id))
            )
        row = await self._one(self._left_messages_query().where(left_messages.c.id == message_id))
        return None if row is None else _left_message_row(row)

    async def left_message_by_public_id(
        self, public_id: str, *, lock: bool = False
    ) -> LeftMessageRow | None:
        found = await self._one(
            sa.select(left_messages.c.id).where(left_messages.c.public_id == public_id)
        )
        return None if found is None else await self.left_message(int(found.id), lock=lock)

    async def left_messages(
        self,
        workgroup_ids: Iterable[int],
        status: MessageStatus | None,
        *,
        limit: int,
        before_id: int | None = None,
    ) -> list[LeftMessageRow]:
        """Messages of these workgroups, newest first."""
        stmt = self._left_messages_query().where(
            left_messages.c.workgroup_id.in_(list(workgroup_ids))
        )
        if status is not None:
            stmt = stmt.where(left_messages.c.status == status.value)
        if before_id is not None:
            stmt = stmt.where(left_messages.c.id < before_id)
        stmt = stmt.order_by(left_messages.c.id.desc()).limit(limit)
        return [_left_message_row(r) for r in await self._all(stmt)]

    async def save_left_message(self, msg: LeftMessage) -> None:
        await self.conn.execute(
            sa.update(left_messages)
            .where(left_messages.c.id == msg.id)
            .values(**_left_message_values(msg))
        )

    async def claim_email(self, message_id: int, due: datetime, lease_until: datetime) -> bool:
        """Take the email attempt of a message whose attempt was due at ``due``: only one node
        (or loop) wins, the others see the lease moved and leave it."""
        result = await self.conn.execute(
            sa.update(left_messages)
            .where(left_messages.c.id == message_id, left_messages.c.next_email_at == due)
            .values(next_email_at=lease_until)
        )
        return bool(result.rowcount == 1)

    async def emails_due(self, now: datetime, limit: int) -> list[tuple[int, datetime]]:
        rows = await self._all(
            sa.select(left_messages.c.id, left_messages.c.next_email_at)
            .where(left_messages.c.next_email_at <= now)
            .order_by(left_messages.c.next_email_at)
            .limit(limit)
        )
        return [(int(r.id), r.next_email_at) for r in rows]

    async def next_email_due(self) -> datetime | None:
        # min() keeps the column's type, so the value comes back aware on every backend.
        row = await self._one(sa.select(sa.func.min(left_messages.c.next_email_at)))
        return None if row is None else row[0]

    # Invitations and the staff directory ------------------------------------------------------

    async def insert_invitation(self, invitation: Invitation) -> None:
        await self.conn.execute(
            sa.insert(invitations).values(
                id=invitation.invitation_id,
                conversation_id=invitation.conversation_id,
                from_user_id=invitation.from_agent,
                to_user_id=invitation.to_user,
                note=invitation.note,
                status=invitation.status.value,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
                ended_at=invitation.ended_at,
            )
        )

    async def invitation(self, invitation_id: str) -> Invitation | None:
        if not _lookupable(invitation_id):
            return None
        row = await self._one(sa.select(invitations).where(invitations.c.id == invitation_id))
        return None if row is None else _invitation(row)

    async def end_invitation(self, invitation: Invitation) -> bool:
        """Save how a pending invitation ended. False when it was not pending any more
        (another node timed it out, or its invitee answered, first): nothing is written."""
        result = await self.conn.execute(
            sa.update(invitations)
            .where(
                invitations.c.id == invitation.invitation_id,
                invitations.c.status == InvitationStatus.PENDING.value,
            )
            .values(status=invitation.status.value, ended_at=invitation.ended_at)
        )
        return bool(result.rowcount)

    async def pending_invitations(
        self, *, conversation_id: str | None = None, user_id: int | None = None
    ) -> list[Invitation]:
        """Pending invitations into a conversation, or sent to or by a user."""
        stmt = sa.select(invitations).where(invitations.c.status == InvitationStatus.PENDING.value)
        if conversation_id is not None:
            stmt = stmt.where(invitations.c.conversation_id == conversation_id)
        if user_id is not None:
            stmt = stmt.where(
                sa.or_(invitations.c.to_user_id == user_id, invitations.c.from_user_id == user_id)
            )
        rows = await self._all(stmt.order_by(invitations.c.created_at, invitations.c.id))
        return [_invitation(r) for r in rows]

    async def invitations_to_review(self, now: datetime) -> list[Invitation]:
        """Pending invitations that are due, or whose chat has ended: the sweep ends them."""
        ended = sa.select(conversations.c.id).where(conversations.c.status == Status.ENDED.value)
        rows = await self._all(
            sa.select(invitations)
            .where(
                invitations.c.status == InvitationStatus.PENDING.value,
                sa.or_(
                    invitations.c.expires_at <= now,
                    invitations.c.conversation_id.in_(ended),
                ),
            )
            .order_by(invitations.c.expires_at)
        )
        return [_invitation(r) for r in rows]

    async def next_invitation_expiry(self) -> datetime | None:
        row = await self._one(
            sa.select(sa.func.min(invitations.c.expires_at)).where(
                invitations.c.status == InvitationStatus.PENDING.value
            )
        )
        return None if row is None else row[0]

    async def staff_directory(self) -> list[tuple[UserRow, Presence, str]]:
        """Every active staff account with its presence and status text."""
        rows = await self._all(
            sa.select(users, agent_state.c.presence, agent_state.c.status_text)
            .join(agent_state, agent_state.c.user_id == users.c.id, isouter=True)
            .where(users.c.active.is_(True))
            .order_by(users.c.display_name, users.c.username)
        )
        return [
            (
                _user(r),
                Presence(r.presence) if r.presence is not None else Presence.OFFLINE,
                r.status_text or "",
            )
            for r in rows
        ]


@dataclass(frozen=True, slots=True)
class HoursRow:
    """A workgroup's business hours and its leave-a-message settings."""

    hours: BusinessHours
    queue_without_agents: bool = False
    email: str = ""


@dataclass(frozen=True, slots=True)
class LeftMessageRow:
    message: LeftMessage
    workgroup_slug: str
    taken_by_name: str | None


def _left_message_values(msg: LeftMessage) -> dict[str, Any]:
    return {
        "status": msg.status.value,
        "taken_by": msg.taken_by,
        "taken_at": msg.taken_at,
        "done_at": msg.done_at,
        "emailed_at": msg.emailed_at,
        "email_attempts": msg.email_attempts,
        "last_email_error": msg.last_email_error,
        "next_email_at": msg.next_email_at,
    }


def _left_message_row(row: sa.Row[Any]) -> LeftMessageRow:
    msg = LeftMessage(
        id=row.id,
        public_id=row.public_id,
        workgroup_id=row.workgroup_id,
        conversation_id=row.conversation_id,
        name=row.name,
        email=row.email,
        message=row.message,
        page=row.page,
        created_at=row.created_at,
        status=MessageStatus(row.status),
        taken_by=row.taken_by,
        taken_at=row.taken_at,
        done_at=row.done_at,
        emailed_at=row.emailed_at,
        email_attempts=row.email_attempts,
        last_email_error=row.last_email_error,
        next_email_at=row.next_email_at,
    )
    return LeftMessageRow(msg, row.workgroup_slug, row.taken_by_name)
