"""The staff directory: titles, the directory search, photos and buddy lists.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.access import StaffRole
from parley.domain.directory import BuddyGroup, BuddyList
from parley.domain.presence import Presence
from parley.photos import Photo
from parley.storage.tables import agent_state, buddy_lists, staff_photos, users
from parley.storage.tx import Tx


@dataclass(frozen=True, slots=True)
class DirectoryRow:
    user_id: int
    username: str
    display_name: str
    role: StaffRole
    title: str
    presence: Presence
    status_text: str
    away_from_idle: bool
    #: The photo's hash, None without a photo.
    photo_etag: str | None


#: The directory is the company's staff: guests (outside people, one room each) are not in it.
_staff_only = users.c.role != StaffRole.GUEST.value


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class DirectoryStore:
    __slots__ = ()

    async def search(
        self, tx: Tx, query: str, *, limit: int, offset: int, user_ids: list[int] | None = None
    ) -> list[DirectoryRow]:
        """Active staff (no guests) whose display name, username or title contains ``query``
        (any case), by display name; ``user_ids`` keeps only those."""
        stmt = (
            sa.select(
                users.c.id,
                users.c.username,
                users.c.display_name,
                users.c.role,
                users.c.title,
                agent_state.c.presence,
                agent_state.c.status_text,
                agent_state.c.away_from_idle,
                staff_photos.c.etag,
            )
            .join(agent_state, agent_state.c.user_id == users.c.id, isouter=True)
            .join(staff_photos, staff_photos.c.user_id == users.c.id, isouter=True)
            .where(users.c.active.is_(True), _staff_only)
        )
        if query:
            pattern = _like(query.lower())
            stmt = stmt.where(
                sa.or_(
                    sa.func.lower(users.c.display_name).like(pattern, escape="\\"),
                    sa.func.lower(users.c.username).like(pattern, escape="\\"),
                    sa.func.lower(users.c.title).like(pattern, escape="\\"),
                )
            )
        if user_ids is not None:
            stmt = stmt.where(users.c.id.in_(user_ids))
        stmt = stmt.order_by(users.c.display_name, users.c.username, users.c.id)
        rows = await tx.all(stmt.limit(limit).offset(offset))
        return [
            DirectoryRow(
                r.id,
                r.username,
                r.display_name,
                StaffRole(r.role),
                r.title,
                Presence(r.presence) if r.presence is not None else Presence.OFFLINE,
                r.status_text or "",
                bool(r.away_from_idle),
                r.etag,
            )
            for r in rows
        ]

    async def active_staff_ids(self, tx: Tx, user_ids: list[int]) -> set[int]:
        if not user_ids:
            return set()
        rows = await tx.all(
            sa.select(users.c.id).where(
                users.c.id.in_(user_ids), users.c.active.is_(True), _staff_only
            )
        )
        return {int(r.id) for r in rows}

    async def set_title(self, tx: Tx, user_id: int, title: str) -> None:
        await tx.conn.execute(sa.update(users).where(users.c.id == user_id).values(title=title))

    # Photos ---------------------------------------------------------------------------------

    async def photo(self, tx: Tx, user_id: int) -> Photo | None:
        row = await tx.one(
            sa.select(staff_photos.c.media_type, staff_photos.c.data, staff_photos.c.etag)
            .join(users, users.c.id == staff_photos.c.user_id)
            .where(staff_photos.c.user_id == user_id, users.c.active.is_(True), _staff_only)
        )
        return None if row is None else Photo(row.media_type, bytes(row.data), row.etag)

    async def save_photo(self, tx: Tx, user_id: int, photo: Photo, now: datetime) -> None:
        await tx.conn.execute(sa.delete(staff_photos).where(staff_photos.c.user_id == user_id))
        await tx.conn.execute(
            sa.insert(staff_photos).values(
                user_id=user_id,
                media_type=photo.media_type,
                data=photo.data,
                etag=photo.etag,
                updated_at=now,
            )
        )

    async def delete_photo(self, tx: Tx, user_id: int) -> bool:
        result = await tx.conn.execute(
            sa.delete(staff_photos).where(staff_photos.c.user_id == user_id)
        )
        return bool(result.rowcount)

    # Buddy lists ----------------------------------------------------------------------------

    async def buddies(self, tx: Tx, user_id: int) -> BuddyList:
        row = await tx.one(sa.select(buddy_lists.c.data).where(buddy_lists.c.user_id == user_id))
        if row is None:
            return BuddyList()
        data: dict[str, Any] = row.data
        return BuddyList(
            tuple(int(i) for i in data.get("favourites", [])),
            tuple(
                BuddyGroup(str(g["name"]), tuple(int(i) for i in g["user_ids"]))
                for g in data.get("groups", [])
            ),
        )

    async def save_buddies(self, tx: Tx, user_id: int, buddies: BuddyList, now: datetime) -> None:
        data = {
            "favourites": list(buddies.favourites),
            "groups": [{"name": g.name, "user_ids": list(g.user_ids)} for g in buddies.groups],
        }
        await tx.conn.execute(sa.delete(buddy_lists).where(buddy_lists.c.user_id == user_id))
        await tx.conn.execute(
            sa.insert(buddy_lists).values(user_id=user_id, data=data, updated_at=now)
        )
