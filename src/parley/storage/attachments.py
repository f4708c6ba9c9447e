"""Attachments' rows (``domain.attachments``): each workgroup's policy, and each file sent in a
chat (its bytes are in the blob store, ``storage.blobs``, by ``sha256``).

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime

import sqlalchemy as sa

from parley.domain.attachments import Policy
from parley.storage.tables import attachment_policies, attachments
from parley.storage.tx import Tx

_p = attachment_policies
_a = attachments


@dataclass(frozen=True, slots=True)
class AttachmentRow:
    id: str
    conversation_id: str
    seq: int
    author: str
    private: bool
    name: str
    media_type: str
    size: int
    sha256: str
    thumb_sha256: str | None
    thumb_media_type: str | None
    width: int | None
    height: int | None
    created_at: datetime


class AttachmentStore:
    __slots__ = ()

    async def policy(self, tx: Tx, workgroup_id: int) -> Policy | None:
        row = await tx.one(
            sa.select(_p.c.max_bytes, _p.c.allowed_types, _p.c.max_per_chat).where(
                _p.c.workgroup_id == workgroup_id
            )
        )
        if row is None:
            return None
        return Policy(row.max_bytes, tuple(row.allowed_types.split()), row.max_per_chat)

    async def save_policy(self, tx: Tx, workgroup_id: int, policy: Policy, now: datetime) -> None:
        values = {
            "max_bytes": policy.max_bytes,
            "allowed_types": " ".join(policy.allowed_types),
            "max_per_chat": policy.max_per_chat,
            "updated_at": now,
        }
        found = await tx.one(sa.select(_p.c.workgroup_id).where(_p.c.workgroup_id == workgroup_id))
        if found is None:
            await tx.conn.execute(sa.insert(_p).values(workgroup_id=workgroup_id, **values))
        else:
            await tx.conn.execute(
                sa.update(_p).where(_p.c.workgroup_id == workgroup_id).values(**values)
            )

    async def count(self, tx: Tx, conversation_id: str) -> int:
        found = await tx.one(
            sa.select(sa.func.count())
            .select_from(_a)
            .where(_a.c.conversation_id == conversation_id)
        )
        return 0 if found is None else int(found[0])

    async def insert(self, tx: Tx, row: AttachmentRow) -> None:
        await tx.conn.execute(sa.insert(_a).values(**asdict(row)))

    async def attachment(
        self, tx: Tx, conversation_id: str, attachment_id: str
    ) -> AttachmentRow | None:
        row = await tx.one(
            sa.select(_a).where(_a.c.id == attachment_id, _a.c.conversation_id == conversation_id)
        )
        return None if row is None else AttachmentRow(**row._mapping)

    async def referenced(self, tx: Tx, key: str) -> bool:
        """Whether any attachment keeps the blob ``key`` (as its file or its thumbnail)."""
        found = await tx.one(
            sa.select(_a.c.id).where(sa.or_(_a.c.sha256 == key, _a.c.thumb_sha256 == key)).limit(1)
        )
        return found is not None

    async def referenced_among(self, tx: Tx, keys: list[str]) -> set[str]:
        """Those of ``keys`` some attachment keeps (as its file or its thumbnail)."""
        if not keys:
            return set()
        rows = await tx.all(
            sa.select(_a.c.sha256, _a.c.thumb_sha256).where(
                sa.or_(_a.c.sha256.in_(keys), _a.c.thumb_sha256.in_(keys))
            )
        )
        wanted = set(keys)
        return {k for row in rows for k in (row.sha256, row.thumb_sha256) if k in wanted}
