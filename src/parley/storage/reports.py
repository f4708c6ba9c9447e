"""What the reports are computed from (``parley.domain.reports``): one workgroup's facts over
a range, read in one transaction. Secret-shopper chats are left out here, in every query.

A request is the workgroup's if its first wait was there: ``first_workgroup_id`` when a
transfer rewrote the row (migration 0025), else ``workgroup_id``; likewise its queue, its
wait and who took it. A chat (answered, ended) follows its request.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from parley.domain import reports
from parley.domain.conversation import Kind, Role
from parley.domain.presence import Presence
from parley.domain.wallboard import Ending
from parley.storage.tables import (
    chat_requests,
    conversations,
    entries,
    left_messages,
    offers,
    participants,
    presence_periods,
    ratings,
    routing_events,
    users,
    workgroup_members,
    workgroup_supervision,
)
from parley.storage.tx import Tx

_ENDINGS = {
    "accepted": Ending.ANSWERED,
    "cancelled": Ending.ABANDONED,
    "expired": Ending.EXPIRED,
}

r_ = chat_requests.c
c_ = conversations.c
#: The request's first wait, whether or not a transfer rewrote the row.
_TRANSFERRED = r_.first_created_at.is_not(None)
_WG = sa.case((_TRANSFERRED, r_.first_workgroup_id), else_=r_.workgroup_id)
_QUEUE = sa.case((_TRANSFERRED, r_.first_queue_id), else_=r_.queue_id)
_SINCE = sa.case((_TRANSFERRED, r_.first_created_at), else_=r_.created_at)
_ENDED = sa.case((_TRANSFERRED, r_.first_ended_at), else_=r_.ended_at)
_AGENT = sa.case((_TRANSFERRED, r_.first_agent_id), else_=r_.agent_id)
_STATUS = sa.case((_TRANSFERRED, sa.literal("accepted")), else_=r_.status)
#: How long a report's read transaction may sit idle between its queries, on PostgreSQL.
REPORT_IDLE_SECS = 120
#: Time per concurrent slot counts the chats an agent held at the same time among those that
#: ended within this much of the range (a chat longer than that, across the range's edge,
#: is not seen as concurrent).
STRETCH_MARGIN = timedelta(days=1)
#: The customer's email: the verified identity's, else the one typed in the pre-chat form
#: (``metadata.email``, as typed).
_EMAIL = sa.func.coalesce(c_.customer_email, c_.metadata["email"].as_string())
_CUSTOMER = sa.and_(c_.kind == Kind.CUSTOMER_CHAT.value, c_.shopper.is_(False))


def _of(workgroup_id: int) -> sa.ColumnElement[bool]:
    """The workgroup's requests: first waited there (each branch has its index)."""
    return sa.or_(
        sa.and_(r_.first_created_at.is_(None), r_.workgroup_id == workgroup_id),
        sa.and_(_TRANSFERRED, r_.first_workgroup_id == workgroup_id),
    )


def _raw(column: sa.ColumnElement[Any], name: str) -> sa.Label[Any]:
    """A timestamp read as the driver gives it (SQLite: the stored text; PostgreSQL: an aware
    datetime), for ``_aware`` to read in one step: the column type's two result processors
    (SQLAlchemy's text to datetime, then ``UTCDateTime``'s zone) were a third of a long
    report's CPU (``docs/performance.md``, "Reports")."""
    return sa.type_coerce(column, sa.String()).label(name)


def _aware(value: Any) -> datetime:
    if type(value) is str:
        at = datetime.fromisoformat(value)
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    assert isinstance(value, datetime)
    if value.tzinfo is UTC:
        return value
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _ended_where(workgroup_id: int, start: datetime, end: datetime) -> list[Any]:
    """Of conversations joined to their requests: the workgroup's answered customer chats that
    ended in the range."""
    return [
        c_.ended_at >= start,
        c_.ended_at < end,
        _CUSTOMER,
        _of(workgroup_id),
        sa.or_(_TRANSFERRED, r_.status == "accepted"),
    ]


class ReportStore:
    __slots__ = ()

    async def facts(
        self,
        tx: Tx,
        workgroup_id: int,
        start: datetime,
        end: datetime,
        fcr_window_hours: int,
    ) -> reports.Facts:
        """Everything a report of the workgroup over ``[start, end)`` counts.

        On PostgreSQL the transaction may sit idle longer than a node's usual limit (which is
        there so that a hung node's row locks do not stall the others) while the rows of a
        long range are turned into facts between queries: this read takes no row lock, so it
        gets ``REPORT_IDLE_SECS`` instead."""
        if tx.postgres:
            await tx.conn.execute(
                sa.text(
                    f"SET LOCAL idle_in_transaction_session_timeout = {REPORT_IDLE_SECS * 1000}"
                )
            )
        requests = await self._requests(tx, workgroup_id, start, end)
        chats = await self._chats(tx, workgroup_id, start, end)
        first = min((c.created_at for c in chats), default=start)
        return reports.Facts(
            requests=requests,
            chats=chats,
            stretches=await self._stretches(
                tx, workgroup_id, start - STRETCH_MARGIN, end + STRETCH_MARGIN
            ),
            missed_offers=await self._missed(tx, workgroup_id, start, end),
            left_messages=await self._left(tx, workgroup_id, start, end),
            transfers=await self._transfers(tx, workgroup_id, start, end),
            ratings=await self._ratings(tx, workgroup_id, start, end),
            interventions=await self._interventions(tx, workgroup_id, start, end),
            periods=await self.periods(tx, workgroup_id, start, end),
            contacts=await self._contacts(
                tx, min(first, start), end + timedelta(hours=fcr_window_hours), bool(chats)
            ),
        )

    async def _requests(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.Request]:
        rows = await tx.all(
            sa.select(
                r_.conversation_id,
                _QUEUE.label("queue_id"),
                _raw(_SINCE, "since"),
                _raw(_ENDED, "ended"),
                _STATUS.label("status"),
                _AGENT.label("agent_id"),
            )
            .join(conversations, c_.id == r_.conversation_id)
            .where(
                _CUSTOMER,
                sa.or_(
                    sa.and_(
                        r_.first_created_at.is_(None),
                        r_.workgroup_id == workgroup_id,
                        r_.ended_at >= start,
                        r_.ended_at < end,
                        r_.status.in_(sorted(_ENDINGS)),
                    ),
                    sa.and_(
                        r_.first_workgroup_id == workgroup_id,
                        r_.first_ended_at >= start,
                        r_.first_ended_at < end,
                    ),
                ),
            )
        )
        return [
            reports.Request(
                str(r.conversation_id),
                r.queue_id,
                _aware(r.since),
                _aware(r.ended),
                _ENDINGS[r.status],
                None if r.status != "accepted" or r.agent_id is None else int(r.agent_id),
            )
            for r in rows
            if r.status in _ENDINGS and r.ended is not None
        ]

    def _ended_chats(self, workgroup_id: int, start: datetime, end: datetime) -> sa.Select[Any]:
        """The workgroup's answered chats that ended in the range (their ids)."""
        return (
            sa.select(c_.id)
            .join(chat_requests, r_.conversation_id == c_.id)
            .where(*_ended_where(workgroup_id, start, end))
        )

    async def _chats(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.Chat]:
        ended = self._ended_chats(workgroup_id, start, end).subquery()
        rows = await tx.all(
            sa.select(
                c_.id,
                _raw(c_.created_at, "created_at"),
                _raw(c_.ended_at, "ended_at"),
                c_.outcome,
                c_.customer_sub,
                _EMAIL.label("customer_email"),
                _QUEUE.label("queue_id"),
                _raw(_ENDED, "answered_at"),
            )
            .join(chat_requests, r_.conversation_id == c_.id)
            .where(c_.id.in_(sa.select(ended.c.id)))
        )
        ids = sa.select(ended.c.id)
        last: dict[str, int] = {}
        for p in await tx.all(
            sa.select(participants.c.conversation_id, participants.c.user_id)
            .where(
                participants.c.conversation_id.in_(ids),
                participants.c.role == Role.AGENT.value,
                participants.c.user_id.is_not(None),
            )
            .order_by(participants.c.joined_at)
        ):
            last[str(p.conversation_id)] = int(p.user_id)
        first_response = {
            str(e.conversation_id): _aware(e.at)
            for e in await tx.all(
                sa.select(entries.c.conversation_id, sa.func.min(entries.c.created_at).label("at"))
                .where(
                    entries.c.conversation_id.in_(ids),
                    entries.c.kind == "message",
                    entries.c.author.like("user:%"),
                )
                .group_by(entries.c.conversation_id)
            )
        }
        out_of = {
            str(e.conversation_id)
            for e in await tx.all(
                sa.select(routing_events.c.conversation_id).where(
                    routing_events.c.conversation_id.in_(ids),
                    routing_events.c.kind == "transfer_accepted",
                    routing_events.c.from_workgroup_id != routing_events.c.to_workgroup_id,
                )
            )
        }
        chats: list[reports.Chat] = []
        for r in rows:
            cid = str(r.id)
            answered = _aware(r.answered_at)
            response = first_response.get(cid)
            chats.append(
                reports.Chat(
                    cid,
                    r.queue_id,
                    _aware(r.created_at),
                    answered,
                    _aware(r.ended_at),
                    last.get(cid),
                    r.outcome,
                    r.customer_sub,
                    r.customer_email,
                    cid in out_of,
                    None if response is None or response < answered else response,
                )
            )
        return chats

    async def _stretches(
        self,
        tx: Tx,
        workgroup_id: int,
        start: datetime,
        end: datetime,
    ) -> list[reports.Stretch]:
        """The agents' stretches in the workgroup's chats that ended in the range (the caller
        widens it by ``STRETCH_MARGIN``: the chats held at the same time count)."""
        ids = self._ended_chats(workgroup_id, start, end)
        rows = await tx.all(
            sa.select(
                participants.c.conversation_id,
                participants.c.user_id,
                _raw(participants.c.joined_at, "joined_at"),
                _raw(sa.func.coalesce(participants.c.left_at, c_.ended_at), "end"),
                _QUEUE.label("queue_id"),
            )
            .join(conversations, c_.id == participants.c.conversation_id)
            .join(chat_requests, r_.conversation_id == participants.c.conversation_id)
            .where(
                participants.c.conversation_id.in_(ids),
                participants.c.role == Role.AGENT.value,
                participants.c.user_id.is_not(None),
            )
        )
        return [
            reports.Stretch(
                int(r.user_id),
                str(r.conversation_id),
                _aware(r.joined_at),
                _aware(r.end),
                r.queue_id,
            )
            for r in rows
        ]

    async def _missed(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.MissedOffer]:
        rows = await tx.all(
            sa.select(
                offers.c.agent_id, _raw(offers.c.ended_at, "ended_at"), _QUEUE.label("queue_id")
            )
            .join(chat_requests, r_.conversation_id == offers.c.request_id)
            .join(conversations, c_.id == offers.c.request_id)
            .where(
                offers.c.workgroup_id == workgroup_id,
                offers.c.ended_at >= start,
                offers.c.ended_at < end,
                offers.c.status == "timed_out",
                c_.shopper.is_(False),
            )
        )
        return [reports.MissedOffer(int(r.agent_id), r.queue_id, _aware(r.ended_at)) for r in rows]

    async def _left(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.LeftMessage]:
        rows = await tx.all(
            sa.select(
                _raw(left_messages.c.created_at, "created_at"),
                left_messages.c.conversation_id,
                _QUEUE.label("queue_id"),
                r_.conversation_id.label("request_id"),
                c_.shopper,
            )
            .outerjoin(conversations, c_.id == left_messages.c.conversation_id)
            .outerjoin(chat_requests, r_.conversation_id == left_messages.c.conversation_id)
            .where(
                left_messages.c.workgroup_id == workgroup_id,
                left_messages.c.created_at >= start,
                left_messages.c.created_at < end,
            )
        )
        return [
            reports.LeftMessage(
                _aware(r.created_at),
                None if r.request_id is None else str(r.request_id),
                r.queue_id,
            )
            for r in rows
            if not r.shopper
        ]

    async def _transfers(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.Transfer]:
        e = routing_events.c
        rows = await tx.all(
            sa.select(e.conversation_id, _raw(e.at, "at"), e.agent_id, _QUEUE.label("queue_id"))
            .join(conversations, c_.id == e.conversation_id)
            .join(chat_requests, r_.conversation_id == e.conversation_id)
            .where(
                e.from_workgroup_id == workgroup_id,
                e.at >= start,
                e.at < end,
                e.kind == "transfer_accepted",
                c_.shopper.is_(False),
            )
        )
        return [
            reports.Transfer(
                str(r.conversation_id),
                _aware(r.at),
                None if r.agent_id is None else int(r.agent_id),
                r.queue_id,
            )
            for r in rows
        ]

    async def _interventions(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.Intervention]:
        """Supervisors barging into or taking over the workgroup's chats (few: no index of
        their own, read by the chats' requests)."""
        e = routing_events.c
        rows = await tx.all(
            sa.select(e.conversation_id, _raw(e.at, "at"), e.kind, _QUEUE.label("queue_id"))
            .join(chat_requests, r_.conversation_id == e.conversation_id)
            .join(conversations, c_.id == e.conversation_id)
            .where(
                e.kind.in_(("barged_in", "taken_over")),
                e.at >= start,
                e.at < end,
                _of(workgroup_id),
                c_.shopper.is_(False),
            )
        )
        return [
            reports.Intervention(str(r.conversation_id), _aware(r.at), r.kind, r.queue_id)
            for r in rows
        ]

    async def _ratings(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.Rating]:
        g = ratings.c
        rows = await tx.all(
            sa.select(
                g.conversation_id,
                g.agent_id,
                _raw(g.created_at, "created_at"),
                g.score,
                _QUEUE.label("queue_id"),
            )
            .join(conversations, c_.id == g.conversation_id)
            .outerjoin(chat_requests, r_.conversation_id == g.conversation_id)
            .where(
                g.workgroup_id == workgroup_id,
                g.created_at >= start,
                g.created_at < end,
                c_.shopper.is_(False),
            )
        )
        return [
            reports.Rating(
                str(r.conversation_id),
                None if r.agent_id is None else int(r.agent_id),
                r.queue_id,
                _aware(r.created_at),
                int(r.score),
            )
            for r in rows
        ]

    async def periods(
        self, tx: Tx, workgroup_id: int, start: datetime, end: datetime
    ) -> list[reports.Period]:
        """The presence periods of the workgroup's members that overlap the range."""
        p = presence_periods.c
        members = sa.select(workgroup_members.c.user_id).where(
            workgroup_members.c.workgroup_id == workgroup_id
        )
        rows = await tx.all(
            sa.select(
                p.user_id,
                p.presence,
                _raw(p.started_at, "started_at"),
                _raw(p.ended_at, "ended_at"),
            ).where(
                p.user_id.in_(members),
                p.started_at < end,
                sa.or_(p.ended_at.is_(None), p.ended_at > start),
            )
        )
        return [
            reports.Period(
                int(r.user_id),
                Presence(r.presence),
                _aware(r.started_at),
                None if r.ended_at is None else _aware(r.ended_at),
            )
            for r in rows
        ]

    async def _contacts(
        self, tx: Tx, start: datetime, until: datetime, needed: bool
    ) -> dict[tuple[str, str], list[datetime]]:
        """Customer chats (any workgroup, no shoppers) opened in ``[start, until]`` by who
        opened them: ("sub", identity) and ("email", typed email, case-folded)."""
        if not needed:
            return {}
        out: dict[tuple[str, str], list[datetime]] = {}
        rows = await tx.all(
            sa.select(
                c_.customer_sub, _EMAIL.label("customer_email"), _raw(c_.created_at, "created_at")
            ).where(
                c_.created_at >= start,
                c_.created_at <= until,
                _CUSTOMER,
                sa.or_(c_.customer_sub.is_not(None), _EMAIL.is_not(None)),
            )
        )
        for r in rows:
            at = _aware(r.created_at)
            if r.customer_sub:
                out.setdefault(("sub", r.customer_sub), []).append(at)
            email = r.customer_email.strip().casefold() if r.customer_email else ""
            if email:
                out.setdefault(("email", email), []).append(at)
        for times in out.values():
            times.sort()
        return out

    async def fcr_window_hours(self, tx: Tx, workgroup_id: int) -> int:
        found = await tx.one(
            sa.select(workgroup_supervision.c.fcr_window_hours).where(
                workgroup_supervision.c.workgroup_id == workgroup_id
            )
        )
        return reports.DEFAULT_FCR_WINDOW_HOURS if found is None else int(found.fcr_window_hours)

    async def names(self, tx: Tx, user_ids: Collection[int]) -> dict[int, str]:
        if not user_ids:
            return {}
        rows = await tx.all(
            sa.select(users.c.id, users.c.display_name).where(users.c.id.in_(sorted(user_ids)))
        )
        return {int(r.id): r.display_name for r in rows}

    async def members(self, tx: Tx, workgroup_id: int) -> list[int]:
        rows = await tx.all(
            sa.select(workgroup_members.c.user_id).where(
                workgroup_members.c.workgroup_id == workgroup_id
            )
        )
        return sorted(int(r.user_id) for r in rows)
