"""The audit log: who did what, when. Append-only; admins search it.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.storage.tables import audit_log
from parley.storage.tx import Tx


@dataclass(frozen=True, slots=True)
class AuditRow:
    id: int
    at: datetime
    #: ``staff:<user id>`` or ``visitor:<conversation id>``.
    actor: str
    action: str
    subject: str
    details: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """What to look for; every field narrows the search. Newest first, ``before`` an id to
    page back from."""

    action: str | None = None
    actor: str | None = None
    subject: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before: int | None = None
    limit: int = 100


class AuditStore:
    __slots__ = ()

    async def record(
        self,
        tx: Tx,
        at: datetime,
        actor: str,
        action: str,
        subject: str,
        details: dict[str, Any],
    ) -> int:
        result = await tx.conn.execute(
            sa.insert(audit_log)
            .values(at=at, actor=actor, action=action, subject=subject, details=details)
            .returning(audit_log.c.id)
        )
        return int(result.scalar_one())

    async def search(self, tx: Tx, query: AuditQuery) -> list[AuditRow]:
        stmt = sa.select(audit_log)
        if query.action is not None:
            # "blocked_word" finds every blocked_word.* action.
            stmt = stmt.where(
                sa.or_(
                    audit_log.c.action == query.action,
                    audit_log.c.action.startswith(query.action + ".", autoescape=True),
                )
            )
        if query.actor is not None:
            stmt = stmt.where(audit_log.c.actor == query.actor)
        if query.subject is not None:
            stmt = stmt.where(audit_log.c.subject == query.subject)
        if query.since is not None:
            stmt = stmt.where(audit_log.c.at >= query.since)
        if query.until is not None:
            stmt = stmt.where(audit_log.c.at < query.until)
        if query.before is not None:
            stmt = stmt.where(audit_log.c.id < query.before)
        rows = await tx.all(stmt.order_by(audit_log.c.id.desc()).limit(query.limit))
        return [
            AuditRow(r.id, r.at, r.actor, r.action, r.subject, dict(r.details or {})) for r in rows
        ]
