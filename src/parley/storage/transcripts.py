"""Transcripts asked for by email (``domain.transcripts``): the rows the limits count. A
stateless store: each method takes the ``Tx``."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from parley.storage.tables import transcript_emails
from parley.storage.tx import Tx


class TranscriptStore:
    __slots__ = ()

    async def count_for_chat(self, tx: Tx, conversation_id: str) -> int:
        t = transcript_emails.c
        found = await tx.one(sa.select(sa.func.count()).where(t.conversation_id == conversation_id))
        return 0 if found is None else int(found[0])

    async def to_address_since(
        self, tx: Tx, address: str, since: datetime
    ) -> tuple[int, datetime | None]:
        """How many went to ``address`` (lower case) since ``since``, and the oldest's time."""
        t = transcript_emails.c
        found = await tx.one(
            sa.select(sa.func.count().label("n"), sa.func.min(t.created_at).label("oldest")).where(
                t.address == address, t.created_at >= since
            )
        )
        if found is None or not found.n:
            return 0, None
        # MIN() keeps the column's type (``UTCDateTime``): an aware datetime on both backends.
        return int(found.n), found.oldest

    async def insert(self, tx: Tx, conversation_id: str, address: str, now: datetime) -> int:
        result = await tx.conn.execute(
            sa.insert(transcript_emails)
            .values(conversation_id=conversation_id, address=address, created_at=now)
            .returning(transcript_emails.c.id)
        )
        return int(result.scalar_one())

    async def record(
        self, tx: Tx, row_id: int, sent_at: datetime | None, error: str | None
    ) -> None:
        await tx.conn.execute(
            sa.update(transcript_emails)
            .where(transcript_emails.c.id == row_id)
            .values(sent_at=sent_at, error=None if error is None else error[:300])
        )
