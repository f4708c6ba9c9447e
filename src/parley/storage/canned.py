"""Canned responses and each workgroup's automatic greeting (``domain.canned``). A stateless
store: each method takes the ``Tx``."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.canned import Canned, Scope
from parley.storage.tables import canned_responses, workgroup_greetings
from parley.storage.tx import Tx


def _canned(row: sa.Row[Any]) -> Canned:
    return Canned(
        scope=Scope(row.scope),
        shortcut=row.shortcut,
        title=row.title,
        text=row.text,
        category=row.category,
        workgroup_id=row.workgroup_id,
        owner_id=row.owner_id,
        uses=int(row.uses),
        id=int(row.id),
    )


_ORDER = (canned_responses.c.category, canned_responses.c.shortcut, canned_responses.c.id)


class CannedStore:
    __slots__ = ()

    async def canned(self, tx: Tx, canned_id: int) -> Canned | None:
        row = await tx.one(sa.select(canned_responses).where(canned_responses.c.id == canned_id))
        return None if row is None else _canned(row)

    async def usable(
        self, tx: Tx, owner_id: int, workgroup_ids: Collection[int] | None
    ) -> list[Canned]:
        """``owner_id``'s personal responses and the shared ones of ``workgroup_ids`` (None:
        of every workgroup)."""
        shared = canned_responses.c.scope == Scope.WORKGROUP.value
        if workgroup_ids is not None:
            shared = sa.and_(shared, canned_responses.c.workgroup_id.in_(list(workgroup_ids)))
        rows = await tx.all(
            sa.select(canned_responses)
            .where(sa.or_(canned_responses.c.owner_id == owner_id, shared))
            .order_by(canned_responses.c.scope, *_ORDER)
        )
        return [_canned(r) for r in rows]

    async def count(self, tx: Tx, *, workgroup_id: int | None, owner_id: int | None) -> int:
        c = canned_responses.c
        where = (
            c.workgroup_id == workgroup_id if workgroup_id is not None else c.owner_id == owner_id
        )
        row = await tx.one(sa.select(sa.func.count()).select_from(canned_responses).where(where))
        return 0 if row is None else int(row[0])

    async def shortcut_taken(self, tx: Tx, item: Canned) -> bool:
        c = canned_responses.c
        where = (
            c.workgroup_id == item.workgroup_id
            if item.scope is Scope.WORKGROUP
            else c.owner_id == item.owner_id
        )
        row = await tx.one(
            sa.select(c.id).where(where, c.shortcut == item.shortcut, c.id != item.id)
        )
        return row is not None

    async def insert(self, tx: Tx, item: Canned, now: datetime) -> int:
        result = await tx.conn.execute(
            sa.insert(canned_responses)
            .values(
                scope=item.scope.value,
                workgroup_id=item.workgroup_id,
                owner_id=item.owner_id,
                shortcut=item.shortcut,
                title=item.title,
                text=item.text,
                category=item.category,
                created_at=now,
                updated_at=now,
            )
            .returning(canned_responses.c.id)
        )
        return int(result.scalar_one())

    async def update(self, tx: Tx, item: Canned, now: datetime) -> bool:
        result = await tx.conn.execute(
            sa.update(canned_responses)
            .where(canned_responses.c.id == item.id)
            .values(
                shortcut=item.shortcut,
                title=item.title,
                text=item.text,
                category=item.category,
                updated_at=now,
            )
        )
        return bool(result.rowcount)

    async def delete(self, tx: Tx, canned_id: int) -> bool:
        await tx.conn.execute(
            sa.delete(workgroup_greetings).where(workgroup_greetings.c.canned_id == canned_id)
        )
        result = await tx.conn.execute(
            sa.delete(canned_responses).where(canned_responses.c.id == canned_id)
        )
        return bool(result.rowcount)

    async def used(self, tx: Tx, canned_id: int, now: datetime) -> None:
        await tx.conn.execute(
            sa.update(canned_responses)
            .where(canned_responses.c.id == canned_id)
            .values(uses=canned_responses.c.uses + 1, last_used_at=now)
        )

    # The automatic greeting ------------------------------------------------------------------

    async def greeting(self, tx: Tx, workgroup_id: int) -> Canned | None:
        row = await tx.one(
            sa.select(canned_responses)
            .join(workgroup_greetings, workgroup_greetings.c.canned_id == canned_responses.c.id)
            .where(workgroup_greetings.c.workgroup_id == workgroup_id)
        )
        return None if row is None else _canned(row)

    async def set_greeting(
        self, tx: Tx, workgroup_id: int, canned_id: int | None, now: datetime
    ) -> None:
        await tx.conn.execute(
            sa.delete(workgroup_greetings).where(workgroup_greetings.c.workgroup_id == workgroup_id)
        )
        if canned_id is not None:
            await tx.conn.execute(
                sa.insert(workgroup_greetings).values(
                    workgroup_id=workgroup_id, canned_id=canned_id, updated_at=now
                )
            )
