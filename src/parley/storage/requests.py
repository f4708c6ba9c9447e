"""Routing state: chat requests, their offers, routing events, and the router loaded from them.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parley.domain import routing
from parley.domain.conversation import (
    Role,
    Status,
)
from parley.domain.identity import Link
from parley.domain.presence import Presence
from parley.storage.conversations import linked
from parley.storage.tables import (
    agent_state,
    chat_requests,
    conversations,
    offers,
    participants,
    routing_changes,
    routing_events,
    users,
    workgroup_members,
    workgroups,
)
from parley.storage.tx import Tx, lookupable
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore


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
class PendingOffer:
    offer: routing.Offer
    workgroup_id: int


def _declined(raw: Any, created_at: datetime) -> dict[int, datetime]:
    """``declined_by`` as stored: ``{"7": iso time}`` (a plain list from before 0004)."""
    if isinstance(raw, list):
        return {int(a): created_at for a in raw}
    return {int(a): datetime.fromisoformat(at) for a, at in raw.items()}


@dataclass(frozen=True, slots=True)
class KeptQueue:
    """A workgroup's waiting requests as a node keeps them between runs (``refresh``): at
    ``revision`` of the workgroup, loaded with these queues and this default queue."""

    revision: int
    default_queue: int
    queue_ids: frozenset[int]
    waiting: routing.Waiting


#: A kept queue this many revisions behind is loaded whole rather than caught up.
MAX_REVISIONS_BEHIND = 1_000
#: Ids per ``IN (...)`` when reading changed requests.
_IN_CHUNK = 500


def _offer_id(offer: routing.Offer) -> str:
    return offer.offer_id


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


class RequestStore:
    """Loads a router with the workgroup's queues, read through ``workgroups``."""

    __slots__ = ("_workgroups",)

    def __init__(self, workgroups: WorkgroupStore) -> None:
        self._workgroups = workgroups

    async def queue_position(
        self, tx: Tx, conversation_id: str, *, transfers: bool = True
    ) -> tuple[int, int] | None:
        """The queue of a waiting request and its 1-based position there (priority, then
        arrival); None if it is not waiting (or, without ``transfers``, is a transfer). One
        look-up by key, then a count over the queue's waiting rows (index
        ``ix_chat_requests_queue_id_status_ended_at``)."""
        if not lookupable(conversation_id):
            return None
        me = await tx.one(
            sa.select(
                chat_requests.c.queue_id,
                chat_requests.c.priority,
                chat_requests.c.arrival,
                chat_requests.c.transfer_from,
            ).where(
                chat_requests.c.conversation_id == conversation_id,
                chat_requests.c.status == "waiting",
            )
        )
        if me is None or (not transfers and me.transfer_from is not None):
            return None
        ahead = await tx.one(
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

    async def insert_request(
        self, tx: Tx, request: routing.Request, workgroup_id: int, entry_position: int
    ) -> None:
        await tx.conn.execute(
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

    async def request_workgroup(self, tx: Tx, conversation_id: str) -> tuple[int, str] | None:
        if not lookupable(conversation_id):
            return None
        row = await tx.one(
            sa.select(chat_requests.c.workgroup_id, chat_requests.c.status).where(
                chat_requests.c.conversation_id == conversation_id
            )
        )
        return None if row is None else (int(row.workgroup_id), str(row.status))

    async def next_arrival(self, tx: Tx) -> int:
        """The arrival number the next request will get (for ordering it before insert)."""
        row = await tx.one(sa.select(sa.func.max(chat_requests.c.arrival)))
        return 1 + (0 if row is None or row[0] is None else int(row[0]))

    async def load_router(self, tx: Tx, wg: WorkgroupRow) -> routing.Router:
        """The workgroup's queues, waiting requests and members, for the routing core, all
        read from the database (``refresh`` reads only what changed since a kept queue)."""
        router, _, _ = await self.refresh(tx, wg, None)
        return router

    async def refresh(
        self, tx: Tx, wg: WorkgroupRow, kept: KeptQueue | None
    ) -> tuple[routing.Router, KeptQueue, str]:
        """The workgroup's router, its waiting requests taken from ``kept`` plus what changed
        since (``routing_changes``), or loaded whole when that cannot be trusted. Returns the
        router, the queue to keep for next time and how it was loaded: ``"full"``,
        ``"changes"`` or ``"unchanged"``.

        Call it with the workgroup's row locked and read (``wg``) in this transaction: every
        writer of the changes holds that lock, so ``wg.routing_revision`` is exactly what the
        requests read here reflect. Keep the returned queue only once the transaction has
        committed (what it read might otherwise include this transaction's own writes).

        The kept queue is loaded whole instead when there is none, when the workgroup's queues
        or its default queue changed (deleting a queue moves its requests in bulk, unlogged),
        when the revision went back (a restored database), when it is more than
        ``MAX_REVISIONS_BEHIND`` behind, or when a revision after it is missing from the feed
        (pruned: a gap). The queues, the policy and the members are read every time."""
        specs = await self._workgroups.queues(tx, wg.id)
        default = next((q.id for q in specs if q.is_default), specs[0].id if specs else 0)
        queue_ids = frozenset(q.id for q in specs)
        revision = wg.routing_revision
        waiting: Sequence[routing.Request] | None = None
        how = "full"
        if (
            kept is not None
            and kept.default_queue == default
            and kept.queue_ids == queue_ids
            and kept.revision <= revision <= kept.revision + MAX_REVISIONS_BEHIND
        ):
            if kept.revision == revision:
                waiting, how = kept.waiting, "unchanged"
            else:
                applied = await self._apply_changes(tx, wg, kept, default)
                if applied is not None:
                    waiting, how = applied, "changes"
        if waiting is None:
            waiting = await self._waiting(tx, wg, default)
        router = routing.Router(
            wg.policy(),
            {q.id: q.spec() for q in specs},
            waiting,
            await self._agents(tx, wg),
            {q.id: q.last_offered for q in specs if q.last_offered is not None},
        )
        return router, KeptQueue(revision, default, queue_ids, router.waiting), how

    async def _waiting(
        self, tx: Tx, wg: WorkgroupRow, default: int, ids: Collection[str] | None = None
    ) -> tuple[routing.Request, ...]:
        """The workgroup's waiting requests in service order (only those of ``ids`` if
        given), with their live offers."""
        where = [chat_requests.c.workgroup_id == wg.id, chat_requests.c.status == "waiting"]
        offer_where = [offers.c.workgroup_id == wg.id, offers.c.status == "pending"]
        chunks: list[list[str] | None] = [None]
        if ids is not None:
            few = sorted(ids)
            chunks = [few[i : i + _IN_CHUNK] for i in range(0, len(few), _IN_CHUNK)]
        rows: list[sa.Row[Any]] = []
        pending: dict[str, list[routing.Offer]] = {}
        for chunk in chunks:
            rows += await tx.all(
                sa.select(chat_requests).where(
                    *where,
                    *([] if chunk is None else [chat_requests.c.conversation_id.in_(chunk)]),
                )
            )
            for r in await tx.all(
                sa.select(offers)
                .where(*offer_where, *([] if chunk is None else [offers.c.request_id.in_(chunk)]))
                .order_by(offers.c.offer_id)
            ):
                pending.setdefault(r.request_id, []).append(_offer(r))
        # Service order; ``arrival`` is the primary key, so there are no ties to break.
        rows.sort(key=lambda r: (-r.priority, r.arrival))
        return tuple(
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
                offers=tuple(sorted(pending.get(r.conversation_id, ()), key=_offer_id)),
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

    async def _apply_changes(
        self, tx: Tx, wg: WorkgroupRow, kept: KeptQueue, default: int
    ) -> routing.Waiting | None:
        """``kept`` with the requests changed after its revision read again; None on a gap."""
        rows = await tx.all(
            sa.select(routing_changes.c.revision, routing_changes.c.request_id).where(
                routing_changes.c.workgroup_id == wg.id,
                routing_changes.c.revision > kept.revision,
                routing_changes.c.revision <= wg.routing_revision,
            )
        )
        # Every revision writes at least one row: a missing one was pruned.
        if len({r.revision for r in rows}) != wg.routing_revision - kept.revision:
            return None
        ids = {str(r.request_id) for r in rows}
        found = {r.request_id: r for r in await self._waiting(tx, wg, default, ids)}
        return kept.waiting.refreshed({i: found.get(i) for i in ids})

    async def log_changes(self, tx: Tx, workgroup_id: int, request_ids: Collection[str]) -> None:
        """Record that this transaction changed these waiting requests of the workgroup (or
        their offers; a request inserted, ended or moved away included): the workgroup's
        ``routing_revision`` goes one up and the feed gets a row per request. Call it with the
        workgroup's row locked, at most once per transaction and workgroup, for every such
        change (``RoutingService._persist`` does): a change not logged is one a node keeping
        the queue (``refresh``) never sees."""
        if not request_ids:
            return
        result = await tx.conn.execute(
            sa.update(workgroups)
            .where(workgroups.c.id == workgroup_id)
            .values(routing_revision=workgroups.c.routing_revision + 1)
            .returning(workgroups.c.routing_revision)
        )
        revision = int(result.scalar_one())
        await tx.conn.execute(
            sa.insert(routing_changes),
            [
                {"workgroup_id": workgroup_id, "revision": revision, "request_id": r}
                for r in sorted(request_ids)
            ],
        )

    async def prune_changes(self, tx: Tx, workgroup_id: int, upto: int) -> None:
        """Forget the workgroup's changes up to revision ``upto`` (a queue kept at an older
        revision then sees a gap and is loaded whole)."""
        await tx.conn.execute(
            sa.delete(routing_changes).where(
                routing_changes.c.workgroup_id == workgroup_id,
                routing_changes.c.revision <= upto,
            )
        )

    async def _agents(self, tx: Tx, wg: WorkgroupRow) -> dict[int, routing.Agent]:
        """The workgroup's active members as the core sees them. Three queries, each one pass
        (the chats and offers counted per agent with GROUP BY rather than a subquery per
        agent: 1,000 members took 70-350 ms that way)."""
        members = (
            sa.select(workgroup_members.c.user_id)
            .where(workgroup_members.c.workgroup_id == wg.id)
            .scalar_subquery()
        )
        rows = await tx.all(
            sa.select(
                agent_state.c.user_id,
                agent_state.c.presence,
                agent_state.c.idle_since,
                agent_state.c.skills,
                agent_state.c.max_chats,
                agent_state.c.missed_offers,
            )
            .join(users, users.c.id == agent_state.c.user_id)
            .where(agent_state.c.user_id.in_(members), users.c.active.is_(True))
        )
        active = {
            int(r.user_id): int(r.n)
            for r in await tx.all(
                sa.select(participants.c.user_id, sa.func.count().label("n"))
                .select_from(participants.join(conversations))
                .where(
                    participants.c.user_id.in_(members),
                    participants.c.role == Role.AGENT.value,
                    participants.c.left_at.is_(None),
                    conversations.c.status != Status.ENDED.value,
                )
                .group_by(participants.c.user_id)
            )
        }
        elsewhere = {
            int(r.agent_id)
            for r in await tx.all(
                sa.select(offers.c.agent_id)
                .where(
                    offers.c.agent_id.in_(members),
                    offers.c.status == "pending",
                    offers.c.workgroup_id != wg.id,
                )
                .distinct()
            )
        }
        return {
            r.user_id: routing.Agent(
                r.user_id,
                r.presence == Presence.AVAILABLE.value,
                active.get(r.user_id, 0),
                wg.max_chats if r.max_chats is None else r.max_chats,
                r.idle_since,
                r.user_id in elsewhere,
                {str(k): int(v) for k, v in r.skills.items()},
                r.missed_offers,
            )
            for r in rows
        }

    async def insert_offer(self, tx: Tx, offer: routing.Offer, workgroup_id: int) -> None:
        await tx.conn.execute(
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

    async def wait_samples(self, tx: Tx, queue_id: int, limit: int) -> list[tuple[timedelta, int]]:
        """``(waited, position at entry)`` of the queue's last ``limit`` answered requests."""
        rows = await tx.all(
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

    async def last_agent_of(self, tx: Tx, workgroup_id: int, link: Link | None) -> int | None:
        """The agent who last answered this customer in this workgroup: by verified identity,
        else by the same browser (``domain.identity``); never by a typed email."""
        if link is None:
            return None
        row = await tx.one(
            sa.select(chat_requests.c.agent_id)
            .join(conversations, conversations.c.id == chat_requests.c.conversation_id)
            .where(
                chat_requests.c.workgroup_id == workgroup_id,
                chat_requests.c.status == "accepted",
                *linked(link),
            )
            .order_by(chat_requests.c.ended_at.desc().nulls_last())
            .limit(1)
        )
        return None if row is None or row.agent_id is None else int(row.agent_id)

    async def record_event(self, tx: Tx, event: RoutingEventRow) -> None:
        await tx.conn.execute(
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

    async def events_of(self, tx: Tx, conversation_id: str) -> list[RoutingEventRow]:
        rows = await tx.all(
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

    async def end_offer(self, tx: Tx, offer_id: str, status: str, now: datetime) -> None:
        await tx.conn.execute(
            sa.update(offers)
            .where(offers.c.offer_id == offer_id, offers.c.status == "pending")
            .values(status=status, ended_at=now)
        )

    async def save_request(
        self, tx: Tx, request: routing.Request, entry_position: int | None = None
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
        await tx.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.conversation_id == request.request_id)
            .values(**values)
        )

    async def end_request(
        self, tx: Tx, request_id: str, status: str, now: datetime, agent_id: int | None = None
    ) -> None:
        await tx.conn.execute(
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

    async def request_state(self, tx: Tx, conversation_id: str) -> RequestState | None:
        if not lookupable(conversation_id):
            return None
        row = await tx.one(
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
        self, tx: Tx, request: routing.Request, workgroup_id: int, entry_position: int
    ) -> None:
        """The conversation's request waits again, in ``workgroup_id``, as a transfer. The
        first wait (where, since and until when, who took it) is kept in the ``first_*``
        columns the first time (the reports count it; a SET reads the row as it was)."""
        assert request.transfer is not None
        await tx.conn.execute(
            sa.update(chat_requests)
            .where(chat_requests.c.conversation_id == request.request_id)
            .values(
                **KEEP_FIRST_WAIT,
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

    async def end_transfer(
        self, tx: Tx, conversation_id: str, workgroup_id: int, agent_id: int
    ) -> None:
        """A transfer nobody took: the request is the sender's again, in the chat's workgroup.
        It no longer counts in any queue's wait estimate."""
        await tx.conn.execute(
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

    async def offer_workgroup(self, tx: Tx, offer_id: str) -> int | None:
        if not lookupable(offer_id):
            return None
        row = await tx.one(sa.select(offers.c.workgroup_id).where(offers.c.offer_id == offer_id))
        return None if row is None else int(row.workgroup_id)

    async def pending_offers_of(self, tx: Tx, user_id: int) -> list[PendingOffer]:
        rows = await tx.all(
            sa.select(offers).where(offers.c.agent_id == user_id, offers.c.status == "pending")
        )
        return [PendingOffer(_offer(r), r.workgroup_id) for r in rows]

    async def workgroups_with_work(self, tx: Tx) -> list[int]:
        rows = await tx.all(
            sa.select(chat_requests.c.workgroup_id)
            .where(chat_requests.c.status == "waiting")
            .distinct()
        )
        return [int(r.workgroup_id) for r in rows]


_c = chat_requests.c
#: An UPDATE's values that keep a request's first wait (where, since and until when, who took
#: it) in its ``first_*`` columns before the row is rewritten, the first time only (a SET reads
#: the row as it was): a transfer, a supervisor taking the chat over. The reports read them.
KEEP_FIRST_WAIT = {
    "first_workgroup_id": sa.func.coalesce(_c.first_workgroup_id, _c.workgroup_id),
    "first_queue_id": sa.case(
        (_c.first_created_at.is_(None), _c.queue_id), else_=_c.first_queue_id
    ),
    "first_created_at": sa.func.coalesce(_c.first_created_at, _c.created_at),
    "first_ended_at": sa.func.coalesce(_c.first_ended_at, _c.ended_at),
    "first_agent_id": sa.func.coalesce(_c.first_agent_id, _c.agent_id),
}
