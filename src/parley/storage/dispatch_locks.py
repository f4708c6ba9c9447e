"""The dispatcher locks on PostgreSQL: every statement they need, on one dedicated session.

Two kinds of session-level advisory locks, both in the two-``int4`` form, keyed per schema so
that installations sharing a server do not contend:

- ``(hashtext(schema || '/dispatch-nodes'), <node ident>)``: this node is live. Held for as long
  as the node runs; the set of holders is the set of live nodes.
- ``(hashtext(schema || '/dispatcher'), <workgroup id>)``: this node runs that workgroup's
  dispatcher.

Both are held on the same session, so they end together: when a node's process dies its
connection closes, and when a node stops talking (hung, cut off) PostgreSQL closes the session
itself after ``idle_session_timeout`` (PostgreSQL 14 and later), which is set on it here. Either
way PostgreSQL releases every lock of the node at once. ``pg_locks`` is readable by every role.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from parley.storage.tables import workgroups

log = logging.getLogger(__name__)

_KEYS = sa.text(
    "SELECT hashtext(current_schema() || '/dispatch-nodes') AS nodes, "
    "hashtext(current_schema() || '/dispatcher') AS workgroups, pg_backend_pid() AS pid"
)
_IDLE_TIMEOUT = sa.text("SELECT set_config('idle_session_timeout', :ms, false)")
# Granted advisory locks of the two kinds, in this database; classid and objid are oids
# (unsigned), hence the comparison as bigint with the keys masked to 32 bits.
_HELD = sa.text(
    """
    SELECT l.classid::bigint = :nodes AS is_node, l.objid::bigint AS key,
           l.pid = pg_backend_pid() AS mine
    FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND l.classid::bigint IN (:nodes, :workgroups)
    """
)
_JOIN = sa.text("SELECT pg_try_advisory_lock(:cls, :key)")
_TAKE = sa.text(
    "SELECT k FROM unnest(CAST(:keys AS integer[])) AS k WHERE pg_try_advisory_lock(:cls, k)"
)
_RELEASE = sa.text("SELECT pg_advisory_unlock(:cls, k) FROM unnest(CAST(:keys AS integer[])) AS k")
_RELEASE_ALL = sa.text("SELECT pg_advisory_unlock_all()")
#: How long a clean close waits for PostgreSQL to release the locks before it just hangs up.
RELEASE_TIMEOUT_SECS = 2.0

_U32 = 0xFFFFFFFF


def _signed(oid: int) -> int:
    """An ``int4`` key back from its oid in ``pg_locks``."""
    return oid - (1 << 32) if oid >= 1 << 31 else oid


@dataclass(frozen=True, slots=True)
class LockView:
    """What one look at the database shows."""

    #: Idents of the live nodes (holders of a node lock), this one included if it joined.
    nodes: frozenset[int]
    #: Whether this session holds its node lock.
    joined: bool
    #: Every workgroup id.
    workgroups: frozenset[int]
    #: Workgroups whose dispatcher lock this session holds.
    mine: frozenset[int]


class LockSession:
    """One node's dedicated connection for its dispatcher locks (autocommit)."""

    def __init__(self, conn: AsyncConnection, nodes_key: int, workgroups_key: int) -> None:
        self._conn = conn
        self._nodes = nodes_key
        self._workgroups = workgroups_key

    @classmethod
    async def open(cls, engine: AsyncEngine, *, idle_timeout_ms: int) -> LockSession:
        conn = await engine.connect()
        try:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            row = (await conn.execute(_KEYS)).one()
            try:
                await conn.execute(_IDLE_TIMEOUT, {"ms": str(idle_timeout_ms)})
            except sa.exc.DBAPIError:
                log.warning(
                    "PostgreSQL has no idle_session_timeout (version 14 and later have it): a "
                    "node that hangs keeps its workgroups until its connection dies"
                )
            return cls(conn, int(row.nodes), int(row.workgroups))
        except BaseException:
            await _discard(conn)
            raise

    async def join(self, ident: int) -> bool:
        """Take this node's lock: False if another live session holds it (the same node id,
        or one whose 32-bit ident collides)."""
        return bool(await self._conn.scalar(_JOIN, {"cls": self._nodes, "key": ident}))

    async def view(self) -> LockView:
        held = (
            await self._conn.execute(
                _HELD, {"nodes": self._nodes & _U32, "workgroups": self._workgroups & _U32}
            )
        ).all()
        ids = (await self._conn.scalars(sa.select(workgroups.c.id))).all()
        return LockView(
            nodes=frozenset(_signed(int(r.key)) for r in held if r.is_node),
            joined=any(r.is_node and r.mine for r in held),
            workgroups=frozenset(int(i) for i in ids),
            mine=frozenset(int(r.key) for r in held if not r.is_node and r.mine),
        )

    async def take(self, workgroup_ids: Collection[int]) -> frozenset[int]:
        """Try each workgroup's lock; the ones this session got (the others are held)."""
        if not workgroup_ids:
            return frozenset()
        got = await self._conn.scalars(
            _TAKE, {"cls": self._workgroups, "keys": sorted(workgroup_ids)}
        )
        return frozenset(int(k) for k in got.all())

    async def release(self, workgroup_ids: Collection[int]) -> None:
        if workgroup_ids:
            await self._conn.execute(
                _RELEASE, {"cls": self._workgroups, "keys": sorted(workgroup_ids)}
            )

    async def close(self, *, release: bool) -> None:
        """End the session. ``release``: first release every lock and wait for it, so that a
        node looking right after this sees them free (a closed connection's locks go only once
        its server process has noticed and exited). Without it (the session is suspect), just
        hang up: PostgreSQL releases them when the session ends."""
        if release:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.execute(_RELEASE_ALL), RELEASE_TIMEOUT_SECS)
        await _discard(self._conn)


async def _discard(conn: AsyncConnection) -> None:
    # Invalidate, not just close: back in the pool the connection would keep its session, and
    # with it the locks and idle_session_timeout.
    with contextlib.suppress(Exception):
        await conn.invalidate()
    with contextlib.suppress(Exception):
        await conn.close()
