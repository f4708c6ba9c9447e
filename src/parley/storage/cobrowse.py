"""Co-browsing: a workgroup's allowed sites, and the entries that say whether its customer
follows an agent (``domain.cobrowse``). A stateless store: each method takes its ``Tx``."""

from __future__ import annotations

import sqlalchemy as sa

from parley.domain.conversation import Entry, EntryKind
from parley.storage.conversations import _entry
from parley.storage.tables import cobrowse_sites, entries
from parley.storage.tx import Tx

_t = cobrowse_sites
#: The entries ``domain.cobrowse.fold`` reads for the state.
_STATE_KINDS = (EntryKind.COBROWSE.value, EntryKind.LEFT.value, EntryKind.ENDED.value)


class CobrowseStore:
    __slots__ = ()

    async def sites(self, tx: Tx, workgroup_id: int) -> list[str]:
        rows = await tx.all(
            sa.select(_t.c.origin).where(_t.c.workgroup_id == workgroup_id).order_by(_t.c.position)
        )
        return [r.origin for r in rows]

    async def save_sites(self, tx: Tx, workgroup_id: int, sites: list[str]) -> None:
        await tx.conn.execute(sa.delete(_t).where(_t.c.workgroup_id == workgroup_id))
        if sites:
            await tx.conn.execute(
                sa.insert(_t),
                [
                    {"workgroup_id": workgroup_id, "origin": s, "position": i}
                    for i, s in enumerate(sites)
                ],
            )

    async def state_entries(self, tx: Tx, conversation_id: str) -> list[Entry]:
        """The entries the follow state is folded from, in order."""
        rows = await tx.all(
            sa.select(entries)
            .where(entries.c.conversation_id == conversation_id, entries.c.kind.in_(_STATE_KINDS))
            .order_by(entries.c.seq)
        )
        return [_entry(r) for r in rows]
