"""The staff directory: search with presence, titles, photos, and each member's buddy list.

Every staff member reads the directory (every active account, with presence, status text,
title and photo); each reads and writes only their own buddy list and profile. Presence changes
reach every staff connection as ``presence`` (``services.presence``); a changed title or photo
as ``staff_profile``. Photos are re-encoded (``parley.photos``) in a worker thread, then stored
in the database so that every node serves them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from parley.clock import Clock
from parley.domain import directory as policy
from parley.domain.access import Staff, StaffRole, require_role
from parley.domain.directory import BuddyList
from parley.domain.errors import BadImage, InvalidInput, NotFound
from parley.photos import MAX_PHOTO_BYTES, Photo, reencode
from parley.protocol import StaffProfileMessage
from parley.realtime.bus import Bus
from parley.realtime.notifications import ToStaff
from parley.storage.db import Database
from parley.storage.directory import DirectoryRow, DirectoryStore

#: The most entries one directory page returns.
MAX_PAGE = 200
NO_SUCH_STAFF = "no such staff member"


@dataclass(frozen=True, slots=True)
class Buddies:
    buddies: BuddyList
    #: The directory entries of everyone on the list.
    members: list[DirectoryRow]


class DirectoryService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        directory: DirectoryStore,
        max_photo_bytes: int = MAX_PHOTO_BYTES,
    ) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._directory = directory
        self.max_photo_bytes = max_photo_bytes

    async def search(
        self, me: Staff, query: str = "", *, limit: int = 50, offset: int = 0
    ) -> list[DirectoryRow]:
        require_role(me, StaffRole.AGENT)
        query = policy.check_query(query)
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidInput(f"limit: 1 to {MAX_PAGE}")
        if not 0 <= offset <= 100_000:
            raise InvalidInput("offset: 0 to 100000")
        async with self._db.read() as tx:
            return await self._directory.search(tx, query, limit=limit, offset=offset)

    async def entry(self, me: Staff, user_id: int) -> DirectoryRow:
        require_role(me, StaffRole.AGENT)
        async with self._db.read() as tx:
            rows = await self._directory.search(tx, "", limit=1, offset=0, user_ids=[user_id])
        if not rows:
            raise NotFound(NO_SUCH_STAFF)
        return rows[0]

    async def set_title(self, me: Staff, title: str) -> DirectoryRow:
        require_role(me, StaffRole.AGENT)
        title = policy.check_title(title)
        async with self._db.write() as tx:
            await self._directory.set_title(tx, me.user_id, title)
        return await self._changed(me)

    # Photos ---------------------------------------------------------------------------------

    async def set_photo(self, me: Staff, data: bytes) -> DirectoryRow:
        require_role(me, StaffRole.AGENT)
        if len(data) > self.max_photo_bytes:
            raise BadImage(f"a photo is at most {self.max_photo_bytes} bytes")
        photo = await asyncio.to_thread(reencode, data)
        async with self._db.write() as tx:
            await self._directory.save_photo(tx, me.user_id, photo, self._clock.now())
        return await self._changed(me)

    async def delete_photo(self, me: Staff) -> None:
        require_role(me, StaffRole.AGENT)
        async with self._db.write() as tx:
            deleted = await self._directory.delete_photo(tx, me.user_id)
        if deleted:
            await self._changed(me)

    async def photo(self, me: Staff, user_id: int) -> Photo:
        require_role(me, StaffRole.AGENT)
        async with self._db.read() as tx:
            photo = await self._directory.photo(tx, user_id)
        if photo is None:
            raise NotFound("no photo for this staff member")
        return photo

    async def announce(self, user_ids: Collection[int]) -> None:
        """After a commit that renamed these members (a new ``name_format``): tell every staff
        connection their new profiles, a ``staff_profile`` each (the outbox keeps the latest
        per member, so a burst costs a slow socket at most one frame per member)."""
        ids = sorted(set(user_ids))
        if not ids:
            return
        async with self._db.read() as tx:
            rows = await self._directory.search(tx, "", limit=len(ids), offset=0, user_ids=ids)
        await self._bus.publish(
            [
                ToStaff(message=StaffProfileMessage(**profile(row)).model_dump(mode="json"))
                for row in rows
            ]
        )

    async def _changed(self, me: Staff) -> DirectoryRow:
        """After the commit: tell every staff connection the member's new profile."""
        row = await self.entry(me, me.user_id)
        await self._bus.publish(
            [ToStaff(message=StaffProfileMessage(**profile(row)).model_dump(mode="json"))]
        )
        return row

    # Buddy lists ----------------------------------------------------------------------------

    async def buddies(self, me: Staff) -> Buddies:
        require_role(me, StaffRole.AGENT)
        async with self._db.read() as tx:
            saved = await self._directory.buddies(tx, me.user_id)
            ids = sorted(saved.user_ids())
            members = await self._directory.search(
                tx, "", limit=max(1, len(ids)), offset=0, user_ids=ids
            )
        known = {m.user_id for m in members}
        return Buddies(saved.keeping(known), members)

    async def set_buddies(
        self, me: Staff, favourites: list[int], groups: list[tuple[str, list[int]]]
    ) -> Buddies:
        require_role(me, StaffRole.AGENT)
        buddies = policy.buddy_list(favourites, groups)
        wanted = sorted(buddies.user_ids())
        async with self._db.write() as tx:
            known = await self._directory.active_staff_ids(tx, wanted)
            missing = [i for i in wanted if i not in known]
            if missing:
                raise InvalidInput(f"{NO_SUCH_STAFF}: {missing[0]}")
            await self._directory.save_buddies(tx, me.user_id, buddies, self._clock.now())
        return await self.buddies(me)


def photo_url(row: DirectoryRow) -> str | None:
    """Where the photo is served, versioned by its hash (so caches never show an old one)."""
    if row.photo_etag is None:
        return None
    return f"/api/v1/staff/{row.user_id}/photo?v={row.photo_etag}"


def profile(row: DirectoryRow) -> dict[str, object]:
    return {
        "user_id": row.user_id,
        "display_name": row.display_name,
        "title": row.title,
        "photo_url": photo_url(row),
    }
