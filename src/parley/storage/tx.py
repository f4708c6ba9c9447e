"""One transaction, as the stores see it: ``Database.read()`` and ``Database.write()`` yield a
``Tx``, and every store method takes it as its first argument.

A ``Tx`` is the transaction's connection plus what the queries share: whether the database is
PostgreSQL (row locks) and the helpers ``one``, ``all`` and ``locked``, and what to do once it
committed (``on_commit``: an in-memory cache kept only for what the database holds).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection


class Tx:
    __slots__ = ("_on_commit", "conn", "postgres")

    def __init__(self, conn: AsyncConnection, *, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres
        self._on_commit: list[Callable[[], None]] = []

    def on_commit(self, action: Callable[[], None]) -> None:
        """Run ``action`` once this transaction has committed (in the order given); never if it
        rolls back. For memory that must hold only committed state (``KeptQueues``): it must
        not fail and must not do I/O."""
        self._on_commit.append(action)

    def committed(self) -> None:
        """Called by ``Database`` after the commit: runs the ``on_commit`` actions."""
        actions, self._on_commit = self._on_commit, []
        for action in actions:
            action()

    async def one(self, stmt: sa.Executable) -> sa.Row[Any] | None:
        return (await self.conn.execute(stmt)).first()

    async def all(self, stmt: sa.Executable) -> Sequence[sa.Row[Any]]:
        return (await self.conn.execute(stmt)).all()

    def locked(self, stmt: sa.Select[Any]) -> sa.Select[Any]:
        # SQLite has one writer at a time (BEGIN IMMEDIATE): the lock is the transaction.
        # FOR NO KEY UPDATE: it does not conflict with the KEY SHARE locks that inserting rows
        # referring to this one takes (a chat opening in a locked workgroup).
        return stmt.with_for_update(key_share=True) if self.postgres else stmt


def lookupable(key: str) -> bool:
    """A key that came from a URL or a message may hold what PostgreSQL refuses to compare
    (NUL) or what no row could have: such a lookup simply finds nothing."""
    return "\x00" not in key and key.isprintable()
