"""Message templates (``domain.templates``). A stateless store: each method takes the ``Tx``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.templates import Template, TemplateKind, Tone
from parley.storage.tables import message_templates
from parley.storage.tx import Tx


def _template(row: sa.Row[Any]) -> Template:
    return Template(row.title, row.text, TemplateKind(row.kind), Tone(row.tone), row.id)


class TemplateStore:
    __slots__ = ()

    async def templates(self, tx: Tx) -> list[Template]:
        rows = await tx.all(
            sa.select(message_templates).order_by(
                message_templates.c.kind, message_templates.c.title, message_templates.c.id
            )
        )
        return [_template(r) for r in rows]

    async def template(self, tx: Tx, template_id: int) -> Template | None:
        row = await tx.one(
            sa.select(message_templates).where(message_templates.c.id == template_id)
        )
        return None if row is None else _template(row)

    async def count(self, tx: Tx) -> int:
        row = await tx.one(sa.select(sa.func.count()).select_from(message_templates))
        return 0 if row is None else int(row[0])

    async def insert(self, tx: Tx, t: Template, now: datetime) -> int:
        result = await tx.conn.execute(
            sa.insert(message_templates)
            .values(
                title=t.title,
                text=t.text,
                kind=t.kind.value,
                tone=t.tone.value,
                created_at=now,
                updated_at=now,
            )
            .returning(message_templates.c.id)
        )
        return int(result.scalar_one())

    async def update(self, tx: Tx, t: Template, now: datetime) -> bool:
        result = await tx.conn.execute(
            sa.update(message_templates)
            .where(message_templates.c.id == t.id)
            .values(
                title=t.title, text=t.text, kind=t.kind.value, tone=t.tone.value, updated_at=now
            )
        )
        return bool(result.rowcount)

    async def delete(self, tx: Tx, template_id: int) -> bool:
        result = await tx.conn.execute(
            sa.delete(message_templates).where(message_templates.c.id == template_id)
        )
        return bool(result.rowcount)
