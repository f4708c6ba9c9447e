"""Each workgroup's branding of the widget and its logo (``domain.branding``).

A stateless store: each method takes the transaction (``Tx``) it runs in. The logo's bytes are
read only by ``logo``; ``branding`` reads its version alone.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from parley.domain.branding import Branding, Position
from parley.photos import Photo
from parley.storage.tables import workgroup_branding
from parley.storage.tx import Tx

_t = workgroup_branding


class BrandingStore:
    __slots__ = ()

    async def branding(self, tx: Tx, workgroup_id: int) -> Branding:
        row = await tx.one(
            sa.select(_t.c.color, _t.c.greeting, _t.c.position, _t.c.logo_etag).where(
                _t.c.workgroup_id == workgroup_id
            )
        )
        if row is None:
            return Branding()
        return Branding(row.color, row.greeting, Position(row.position), row.logo_etag)

    async def _ensure(self, tx: Tx, workgroup_id: int, now: datetime) -> None:
        found = await tx.one(sa.select(_t.c.workgroup_id).where(_t.c.workgroup_id == workgroup_id))
        if found is None:
            await tx.conn.execute(sa.insert(_t).values(workgroup_id=workgroup_id, updated_at=now))

    async def save(self, tx: Tx, workgroup_id: int, branding: Branding, now: datetime) -> None:
        """The colour, greeting and corner (the logo stays as it is)."""
        await self._ensure(tx, workgroup_id, now)
        await tx.conn.execute(
            sa.update(_t)
            .where(_t.c.workgroup_id == workgroup_id)
            .values(
                color=branding.color,
                greeting=branding.greeting,
                position=branding.position.value,
                updated_at=now,
            )
        )

    async def save_logo(self, tx: Tx, workgroup_id: int, logo: Photo | None, now: datetime) -> None:
        """Store the re-encoded logo, or remove it (None)."""
        await self._ensure(tx, workgroup_id, now)
        await tx.conn.execute(
            sa.update(_t)
            .where(_t.c.workgroup_id == workgroup_id)
            .values(
                logo_media_type=None if logo is None else logo.media_type,
                logo_data=None if logo is None else logo.data,
                logo_etag=None if logo is None else logo.etag,
                updated_at=now,
            )
        )

    async def logo(self, tx: Tx, workgroup_id: int) -> Photo | None:
        row = await tx.one(
            sa.select(_t.c.logo_media_type, _t.c.logo_data, _t.c.logo_etag).where(
                _t.c.workgroup_id == workgroup_id, _t.c.logo_data.is_not(None)
            )
        )
        if row is None or row.logo_data is None:
            return None
        return Photo(row.logo_media_type, bytes(row.logo_data), row.logo_etag)
