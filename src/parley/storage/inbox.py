"""Left messages (the inbox) and the claims on their email attempts.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.messages import LeftMessage
from parley.domain.messages import Status as MessageStatus
from parley.storage.tables import (
    left_messages,
    users,
    workgroups,
)
from parley.storage.tx import Tx


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


class InboxStore:
    __slots__ = ()

    async def insert_left_message(self, tx: Tx, msg: LeftMessage) -> int:
        values = _left_message_values(msg)
        result = await tx.conn.execute(
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

    async def left_message(
        self, tx: Tx, message_id: int, *, lock: bool = False
    ) -> LeftMessageRow | None:
        if lock:
            # FOR UPDATE on the message's row only (an outer join cannot be locked).
            await tx.one(
                tx.locked(sa.select(left_messages.c.id).where(left_messages.c.id == message_id))
            )
        row = await tx.one(self._left_messages_query().where(left_messages.c.id == message_id))
        return None if row is None else _left_message_row(row)

    async def left_message_by_public_id(
        self, tx: Tx, public_id: str, *, lock: bool = False
    ) -> LeftMessageRow | None:
        found = await tx.one(
            sa.select(left_messages.c.id).where(left_messages.c.public_id == public_id)
        )
        return None if found is None else await self.left_message(tx, int(found.id), lock=lock)

    async def left_messages(
        self,
        tx: Tx,
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
        return [_left_message_row(r) for r in await tx.all(stmt)]

    async def save_left_message(self, tx: Tx, msg: LeftMessage) -> None:
        await tx.conn.execute(
            sa.update(left_messages)
            .where(left_messages.c.id == msg.id)
            .values(**_left_message_values(msg))
        )

    async def claim_email(
        self, tx: Tx, message_id: int, due: datetime, lease_until: datetime
    ) -> bool:
        """Take the email attempt of a message whose attempt was due at ``due``: only one node
        (or loop) wins, the others see the lease moved and leave it."""
        result = await tx.conn.execute(
            sa.update(left_messages)
            .where(left_messages.c.id == message_id, left_messages.c.next_email_at == due)
            .values(next_email_at=lease_until)
        )
        return bool(result.rowcount == 1)

    async def emails_due(self, tx: Tx, now: datetime, limit: int) -> list[tuple[int, datetime]]:
        rows = await tx.all(
            sa.select(left_messages.c.id, left_messages.c.next_email_at)
            .where(left_messages.c.next_email_at <= now)
            .order_by(left_messages.c.next_email_at)
            .limit(limit)
        )
        return [(int(r.id), r.next_email_at) for r in rows]

    async def next_email_due(self, tx: Tx) -> datetime | None:
        # min() keeps the column's type, so the value comes back aware on every backend.
        row = await tx.one(sa.select(sa.func.min(left_messages.c.next_email_at)))
        return None if row is None else row[0]
