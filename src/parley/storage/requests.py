"""Routing state: chat requests, their offers, routing events, and the router loaded from them.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

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
    routing_events,
    users,
    workgroup_members,
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

    async def queue_position(self, tx: Tx, conversation_id: str) -> tuple[int, int] | None:
        """The queue of a waiting request and its 1-based position there (priority, then
        arrival)."""
        me = await tx.one(
            sa.select(chat_requests).where(
                chat_requests.c.conversation_id == conversation_id,
                chat_requests.c.status == "waiting",
            )
        )
        if me is None:
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
        """The workgroup's queues, waiting requests and members, for the routing core."""
        specs = await self._workgroups.queues(tx, wg.id)
        rows = await tx.all(
            sa.select(chat_requests)
            .where(chat_requests.c.workgroup_id == wg.id, chat_requests.c.status == "waiting")
            .order_by(chat_requests.c.priority.desc(), chat_requests.c.arrival)
        )
        pending: dict[str, list[routing.Offer]] = {}
        for r in await tx.all(
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
            await self._agents(tx, wg),
            {q.id: q.last_offered for q in specs if q.last_offered is not None},
        )

    async def _agents(self, tx: Tx, wg: WorkgroupRow) -> dict[int, routing.Agent]:
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
        rows = await tx.all(
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
        """The conversation's request waits again, in ``workgroup_id``, as a transfer."""
        assert request.transfer is not None
        await tx.conn.execute(
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
