"""Supervisors, the live part: who supervises which workgroup, its wallboard settings, who is
watching which chat, and what a workgroup's wallboard is computed from (``domain.wallboard``).

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from parley.domain import wallboard
from parley.domain.conversation import EntryKind, Kind, Role, Status
from parley.domain.presence import Presence
from parley.storage.requests import KEEP_FIRST_WAIT
from parley.storage.tables import (
    agent_state,
    chat_requests,
    conversations,
    entries,
    monitors,
    participants,
    users,
    workgroup_members,
    workgroup_supervision,
    workgroup_supervisors,
    workgroups,
)
from parley.storage.tx import Tx, lookupable

#: How a request's stored status reads on the wallboard.
_ENDINGS = {
    "accepted": wallboard.Ending.ANSWERED,
    "cancelled": wallboard.Ending.ABANDONED,
    "expired": wallboard.Ending.EXPIRED,
}


@dataclass(frozen=True, slots=True)
class Watcher:
    user_id: int
    name: str


class SupervisionStore:
    __slots__ = ()

    # Who supervises what ---------------------------------------------------------------------

    async def supervisors(self, tx: Tx, workgroup_id: int) -> list[int]:
        rows = await tx.all(
            sa.select(workgroup_supervisors.c.user_id)
            .where(workgroup_supervisors.c.workgroup_id == workgroup_id)
            .order_by(workgroup_supervisors.c.user_id)
        )
        return [int(r.user_id) for r in rows]

    async def supervised_by(self, tx: Tx, user_id: int) -> list[int]:
        rows = await tx.all(
            sa.select(workgroup_supervisors.c.workgroup_id)
            .where(workgroup_supervisors.c.user_id == user_id)
            .order_by(workgroup_supervisors.c.workgroup_id)
        )
        return [int(r.workgroup_id) for r in rows]

    async def set_supervisors(self, tx: Tx, workgroup_id: int, user_ids: Iterable[int]) -> None:
        await tx.conn.execute(
            sa.delete(workgroup_supervisors).where(
                workgroup_supervisors.c.workgroup_id == workgroup_id
            )
        )
        rows = [{"workgroup_id": workgroup_id, "user_id": u} for u in sorted(set(user_ids))]
        if rows:
            await tx.conn.execute(sa.insert(workgroup_supervisors), rows)

    # Settings --------------------------------------------------------------------------------

    async def settings(self, tx: Tx, workgroup_id: int) -> wallboard.Settings:
        row = await tx.one(
            sa.select(workgroup_supervision).where(
                workgroup_supervision.c.workgroup_id == workgroup_id
            )
        )
        if row is None:
            return wallboard.Settings()
        return wallboard.Settings(
            sl_target_secs=row.sl_target_secs,
            sl_goal_percent=row.sl_goal_percent,
            alert_waiting=row.alert_waiting,
            alert_longest_wait_secs=row.alert_longest_wait_secs,
            alert_asa_secs=row.alert_asa_secs,
            alert_abandoned=row.alert_abandoned,
            stalled_secs=row.stalled_secs,
            sound=bool(row.sound),
            show_monitoring=bool(row.show_monitoring),
            ratings=bool(row.ratings),
        )

    async def save_settings(
        self, tx: Tx, workgroup_id: int, settings: wallboard.Settings, now: datetime
    ) -> None:
        values = {
            "sl_target_secs": settings.sl_target_secs,
            "sl_goal_percent": settings.sl_goal_percent,
            "alert_waiting": settings.alert_waiting,
            "alert_longest_wait_secs": settings.alert_longest_wait_secs,
            "alert_asa_secs": settings.alert_asa_secs,
            "alert_abandoned": settings.alert_abandoned,
            "stalled_secs": settings.stalled_secs,
            "sound": settings.sound,
            "show_monitoring": settings.show_monitoring,
            "ratings": settings.ratings,
            "updated_at": now,
        }
        updated = await tx.conn.execute(
            sa.update(workgroup_supervision)
            .where(workgroup_supervision.c.workgroup_id == workgroup_id)
            .values(**values)
        )
        if not updated.rowcount:
            await tx.conn.execute(
                sa.insert(workgroup_supervision).values(workgroup_id=workgroup_id, **values)
            )

    # Who is watching -------------------------------------------------------------------------

    async def start_monitor(
        self, tx: Tx, conversation_id: str, user_id: int, connection_id: str, now: datetime
    ) -> bool:
        """Record that this socket watches the chat; False if it already did."""
        found = await tx.one(
            sa.select(monitors.c.id).where(
                monitors.c.connection_id == connection_id,
                monitors.c.conversation_id == conversation_id,
            )
        )
        if found is not None:
            return False
        await tx.conn.execute(
            sa.insert(monitors).values(
                conversation_id=conversation_id,
                user_id=user_id,
                connection_id=connection_id,
                started_at=now,
            )
        )
        return True

    async def stop_monitor(self, tx: Tx, connection_id: str, conversation_id: str) -> bool:
        result = await tx.conn.execute(
            sa.delete(monitors).where(
                monitors.c.connection_id == connection_id,
                monitors.c.conversation_id == conversation_id,
            )
        )
        return bool(result.rowcount)

    async def stop_monitors_of(self, tx: Tx, connection_id: str) -> list[str]:
        """End every watch of one socket; returns the chats it watched."""
        rows = await tx.all(
            sa.select(monitors.c.conversation_id).where(monitors.c.connection_id == connection_id)
        )
        await tx.conn.execute(sa.delete(monitors).where(monitors.c.connection_id == connection_id))
        return sorted({str(r.conversation_id) for r in rows})

    async def is_monitoring(self, tx: Tx, user_id: int, conversation_id: str) -> bool:
        if not lookupable(conversation_id):
            return False
        row = await tx.one(
            sa.select(monitors.c.id)
            .where(monitors.c.user_id == user_id, monitors.c.conversation_id == conversation_id)
            .limit(1)
        )
        return row is not None

    async def watchers(self, tx: Tx, conversation_id: str) -> list[Watcher]:
        """Who watches the chat now, each once, by name."""
        rows = await tx.all(
            sa.select(users.c.id, users.c.display_name)
            .where(
                users.c.id.in_(
                    sa.select(monitors.c.user_id).where(
                        monitors.c.conversation_id == conversation_id
                    )
                )
            )
            .order_by(users.c.display_name, users.c.id)
        )
        return [Watcher(int(r.id), r.display_name) for r in rows]

    async def watched_chats_of(self, tx: Tx, user_id: int) -> list[str]:
        """The live chats this staff member is in (present) that someone watches, in
        workgroups that show it to their agents (``show_monitoring``)."""
        mine = sa.select(participants.c.conversation_id).where(
            participants.c.user_id == user_id, participants.c.left_at.is_(None)
        )
        rows = await tx.all(
            sa.select(conversations.c.id)
            .join(
                workgroup_supervision,
                workgroup_supervision.c.workgroup_id == conversations.c.workgroup_id,
            )
            .where(
                conversations.c.id.in_(mine),
                conversations.c.status != Status.ENDED.value,
                workgroup_supervision.c.show_monitoring.is_(True),
                conversations.c.id.in_(sa.select(monitors.c.conversation_id)),
            )
        )
        return sorted(str(r.id) for r in rows)

    async def set_request_agent(self, tx: Tx, conversation_id: str, agent_id: int) -> None:
        """The answered request names a new agent (a supervisor took the chat over); who
        answered it first is kept for the reports (``KEEP_FIRST_WAIT``)."""
        await tx.conn.execute(
            sa.update(chat_requests)
            .where(
                chat_requests.c.conversation_id == conversation_id,
                chat_requests.c.status == "accepted",
            )
            .values(**KEEP_FIRST_WAIT, agent_id=agent_id)
        )

    # What a wallboard is computed from -------------------------------------------------------

    async def waiting(self, tx: Tx, workgroup_id: int) -> list[wallboard.Waiting]:
        """The workgroup's waiting requests, secret shoppers' left out (as in ``finished``:
        no customer metric counts them)."""
        rows = await tx.all(
            sa.select(
                chat_requests.c.conversation_id,
                chat_requests.c.queue_id,
                chat_requests.c.created_at,
                chat_requests.c.transfer_from,
            )
            .join(conversations, conversations.c.id == chat_requests.c.conversation_id)
            .where(
                chat_requests.c.workgroup_id == workgroup_id,
                chat_requests.c.status == "waiting",
                # A secret shopper's chat is no customer's: kept out of waits and SL.
                conversations.c.shopper.is_(False),
            )
        )
        return [
            wallboard.Waiting(
                r.conversation_id, r.queue_id, r.created_at, r.transfer_from is not None
            )
            for r in rows
        ]

    async def finished(
        self, tx: Tx, workgroup_id: int, queue_ids: Collection[int], since: datetime
    ) -> list[wallboard.Finished]:
        """The workgroup's requests whose **first** wait ended at or after ``since``, as the
        reports count them (``docs/metrics.md``): a transfer rewrites the row (its later wait,
        in the queue that took it), so a transferred request is read from its ``first_*``
        columns, in the workgroup where it first waited, answered; the workgroup that took it
        does not count it again. Index ``ix_chat_requests_queue_id_status_ended_at`` per queue
        for the others, ``ix_chat_requests_first_workgroup_id_first_ended_at`` for those."""
        if not queue_ids:
            return []
        r = chat_requests.c
        moved = r.first_created_at.is_not(None)
        rows = await tx.all(
            sa.select(
                r.conversation_id,
                sa.case((moved, r.first_queue_id), else_=r.queue_id).label("queue_id"),
                sa.case((moved, sa.literal("accepted")), else_=r.status).label("status"),
                sa.case((moved, r.first_created_at), else_=r.created_at).label("created_at"),
                sa.case((moved, r.first_ended_at), else_=r.ended_at).label("ended_at"),
            )
            .join(conversations, conversations.c.id == r.conversation_id)
            .where(
                sa.or_(
                    sa.and_(
                        r.queue_id.in_(sorted(queue_ids)),
                        r.status.in_(sorted(_ENDINGS)),
                        r.ended_at >= since,
                        r.workgroup_id == workgroup_id,
                        r.first_created_at.is_(None),
                    ),
                    sa.and_(r.first_workgroup_id == workgroup_id, r.first_ended_at >= since),
                ),
                conversations.c.shopper.is_(False),
            )
        )
        out = []
        for row in rows:
            created, ended = _aware(row.created_at), _aware(row.ended_at)
            if created is not None and ended is not None and row.status in _ENDINGS:
                out.append(
                    wallboard.Finished(
                        row.conversation_id, row.queue_id, created, ended, _ENDINGS[row.status]
                    )
                )
        return out

    async def agents(self, tx: Tx, workgroup_id: int, max_chats: int) -> list[wallboard.Agent]:
        """The workgroup's active members: presence, since when, chats held, capacity."""
        members = (
            sa.select(workgroup_members.c.user_id)
            .where(workgroup_members.c.workgroup_id == workgroup_id)
            .scalar_subquery()
        )
        rows = await tx.all(
            sa.select(
                users.c.id,
                users.c.display_name,
                agent_state.c.presence,
                agent_state.c.changed_at,
                agent_state.c.max_chats,
            )
            .join(agent_state, agent_state.c.user_id == users.c.id)
            .where(users.c.id.in_(members), users.c.active.is_(True))
        )
        chats = {
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
        return [
            wallboard.Agent(
                int(r.id),
                r.display_name,
                Presence(r.presence),
                r.changed_at,
                chats.get(int(r.id), 0),
                max_chats if r.max_chats is None else int(r.max_chats),
            )
            for r in rows
        ]

    async def live_chats(self, tx: Tx, workgroup_id: int, limit: int) -> list[wallboard.LiveChat]:
        """The workgroup's active customer chats (at most ``limit``, the oldest first)."""
        convs = await tx.all(
            sa.select(conversations.c.id, conversations.c.created_at, conversations.c.metadata)
            .where(
                conversations.c.status == Status.ACTIVE.value,
                conversations.c.workgroup_id == workgroup_id,
                conversations.c.kind == Kind.CUSTOMER_CHAT.value,
            )
            .order_by(conversations.c.created_at, conversations.c.id)
            .limit(limit)
        )
        ids = [str(c.id) for c in convs]
        if not ids:
            return []
        agents: dict[str, list[tuple[int, str]]] = {}
        for r in await tx.all(
            sa.select(
                participants.c.conversation_id, participants.c.user_id, participants.c.display_name
            )
            .where(
                participants.c.conversation_id.in_(ids),
                participants.c.role == Role.AGENT.value,
                participants.c.left_at.is_(None),
                participants.c.user_id.is_not(None),
            )
            .order_by(participants.c.joined_at)
        ):
            agents.setdefault(str(r.conversation_id), []).append((int(r.user_id), r.display_name))
        requests = {
            str(r.conversation_id): r
            for r in await tx.all(
                sa.select(
                    chat_requests.c.conversation_id,
                    chat_requests.c.queue_id,
                    chat_requests.c.status,
                    chat_requests.c.ended_at,
                ).where(chat_requests.c.conversation_id.in_(ids))
            )
        }
        last = {
            str(r.conversation_id): r.at
            for r in await tx.all(
                sa.select(entries.c.conversation_id, sa.func.max(entries.c.created_at).label("at"))
                .where(
                    entries.c.conversation_id.in_(ids),
                    entries.c.kind == EntryKind.MESSAGE.value,
                )
                .group_by(entries.c.conversation_id)
            )
        }
        out = []
        for c in convs:
            cid = str(c.id)
            request = requests.get(cid)
            answered = (
                request.ended_at if request is not None and request.status == "accepted" else None
            )
            name = (c.metadata or {}).get("name") if isinstance(c.metadata, dict) else None
            out.append(
                wallboard.LiveChat(
                    cid,
                    name if isinstance(name, str) else "",
                    None if request is None else request.queue_id,
                    tuple(agents.get(cid, ())),
                    c.created_at,
                    answered,
                    _aware(last.get(cid)),
                )
            )
        return out

    async def workgroup_ids(self, tx: Tx) -> list[int]:
        rows = await tx.all(sa.select(workgroups.c.id).order_by(workgroups.c.id))
        return [int(r.id) for r in rows]


def _aware(value: object) -> datetime | None:
    """A ``max()`` over a timestamp column comes back without the column's type (SQLite: a
    string); read it as the column would."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, str):
        parsed = datetime.fromisoformat(value)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None
