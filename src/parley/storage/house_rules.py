"""House rules an admin sets: the blocked words (``domain.wordfilter``).

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain import wordfilter
from parley.storage.tables import blocked_words
from parley.storage.tx import Tx


def _rule(row: sa.Row[Any]) -> wordfilter.Rule:
    """A stored rule as the filter runs it. Rows are written only from checked rules
    (``wordfilter.parse_rule``), so they are read back as they are."""
    return wordfilter.Rule(
        wordfilter.Kind(row.kind),
        row.value,
        wordfilter.Action(row.action),
        frozenset(wordfilter.Scope(s) for s in row.scopes),
        row.reason,
        row.id,
    )


class HouseRuleStore:
    __slots__ = ()

    async def blocked_words(self, tx: Tx) -> list[wordfilter.Rule]:
        rows = await tx.all(sa.select(blocked_words).order_by(blocked_words.c.id))
        return [_rule(r) for r in rows]

    async def blocked_word(self, tx: Tx, rule_id: int) -> wordfilter.Rule | None:
        row = await tx.one(sa.select(blocked_words).where(blocked_words.c.id == rule_id))
        return None if row is None else _rule(row)

    async def count_blocked_words(self, tx: Tx) -> int:
        row = await tx.one(sa.select(sa.func.count()).select_from(blocked_words))
        return int(row[0]) if row is not None else 0

    async def blocked_words_version(self, tx: Tx) -> tuple[int, int, datetime | None]:
        """Changes whenever a rule is added, changed or removed: (count, highest id, latest
        change). A node compares it with the one its compiled filter was built from."""
        row = await tx.one(
            sa.select(
                sa.func.count(),
                sa.func.max(blocked_words.c.id),
                sa.func.max(blocked_words.c.updated_at),
            )
        )
        assert row is not None
        count, highest, latest = tuple(row)
        if isinstance(latest, str):  # SQLite's max() of a datetime column gives its text
            latest = datetime.fromisoformat(latest)
        return int(count), int(highest or 0), latest

    async def insert_blocked_word(self, tx: Tx, rule: wordfilter.Rule, now: datetime) -> int:
        result = await tx.conn.execute(
            sa.insert(blocked_words)
            .values(**_values(rule), created_at=now, updated_at=now)
            .returning(blocked_words.c.id)
        )
        return int(result.scalar_one())

    async def update_blocked_word(self, tx: Tx, rule: wordfilter.Rule, now: datetime) -> bool:
        result = await tx.conn.execute(
            sa.update(blocked_words)
            .where(blocked_words.c.id == rule.id)
            .values(**_values(rule), updated_at=now)
        )
        return bool(result.rowcount)

    async def delete_blocked_word(self, tx: Tx, rule_id: int) -> bool:
        result = await tx.conn.execute(
            sa.delete(blocked_words).where(blocked_words.c.id == rule_id)
        )
        return bool(result.rowcount)


def _values(rule: wordfilter.Rule) -> dict[str, Any]:
    return {
        "kind": rule.kind.value,
        "value": rule.value,
        "action": rule.action.value,
        "scopes": sorted(s.value for s in rule.scopes),
        "reason": rule.reason,
    }
