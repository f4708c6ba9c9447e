"""The widget's branding per workgroup (colour, greeting, corner, logo), and the staff photos
the widget shows beside agents' messages.

Admins set the branding (``access.require_branding_editor``); everyone reads it through the
workgroup's public status (``ChatService.workgroup_status``) and its logo from
``GET /api/v1/workgroups/{slug}/logo``. A logo is re-encoded (``parley.photos.reencode_logo``,
in a worker thread) so that only pixels are ever served. A staff photo in a chat is served to
whoever reads the chat, for staff who are or were in it (``access.can_see_participant_photo``).
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

from parley.clock import Clock
from parley.domain import access
from parley.domain import branding as policy
from parley.domain.access import Principal
from parley.domain.branding import Branding, Position
from parley.domain.errors import BadImage, NotFound
from parley.photos import MAX_PHOTO_BYTES, Photo, reencode_logo
from parley.services.conversations import member_of
from parley.storage.branding import BrandingStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.directory import DirectoryStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

NO_LOGO = "this workgroup has no logo"
NO_PHOTO = "no photo for this staff member"


class BrandingService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        workgroups: WorkgroupStore,
        branding: BrandingStore,
        conversations: ConversationStore,
        directory: DirectoryStore,
        max_logo_bytes: int = MAX_PHOTO_BYTES,
    ) -> None:
        self._db = db
        self._clock = clock
        self._workgroups = workgroups
        self._branding = branding
        self._conversations = conversations
        self._directory = directory
        self.max_logo_bytes = max_logo_bytes

    async def _workgroup(self, tx: Tx, slug: str) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None:
            raise NotFound(f"no workgroup {slug!r}")
        return wg

    # Admins ---------------------------------------------------------------------------------

    async def get(self, principal: Principal, slug: str) -> Branding:
        access.require_branding_editor(principal)
        async with self._db.read() as tx:
            wg = await self._workgroup(tx, slug)
            return await self._branding.branding(tx, wg.id)

    async def set(
        self,
        principal: Principal,
        slug: str,
        color: str | None,
        greeting: str,
        position: Position,
    ) -> Branding:
        """Refuses a colour white text is hard to read on (``LowContrast``): nothing is saved."""
        access.require_branding_editor(principal)
        checked = policy.branding(color, greeting, position)
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._branding.save(tx, wg.id, checked, self._clock.now())
            return await self._branding.branding(tx, wg.id)

    async def set_logo(self, principal: Principal, slug: str, data: bytes) -> Branding:
        access.require_branding_editor(principal)
        async with self._db.read() as tx:
            await self._workgroup(tx, slug)  # a missing workgroup before a decode
        if len(data) > self.max_logo_bytes:
            raise BadImage(f"a logo is at most {self.max_logo_bytes} bytes")
        logo = await asyncio.to_thread(reencode_logo, data)
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._branding.save_logo(tx, wg.id, logo, self._clock.now())
            return await self._branding.branding(tx, wg.id)

    async def delete_logo(self, principal: Principal, slug: str) -> Branding:
        access.require_branding_editor(principal)
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._branding.save_logo(tx, wg.id, None, self._clock.now())
            return await self._branding.branding(tx, wg.id)

    # Everyone -------------------------------------------------------------------------------

    async def logo(self, slug: str) -> Photo:
        """Public, like the rest of the workgroup's status."""
        async with self._db.read() as tx:
            wg = await self._workgroup(tx, slug)
            found = await self._branding.logo(tx, wg.id)
        if found is None:
            raise NotFound(NO_LOGO)
        return found

    async def participant_photo(
        self, principal: Principal, conversation_id: str, user_id: int
    ) -> Photo:
        """The photo of a staff member who is or was in the conversation, for whoever reads it
        (a visitor their own chat). Not theirs, not in it, no photo: the same ``NotFound``."""
        async with self._db.read() as tx:
            conv = await self._conversations.conversation(tx, conversation_id)
            photo = None
            if conv is not None:
                groups = await member_of(tx, self._workgroups, principal, conv)
                if access.can_see_participant_photo(principal, conv, user_id, groups):
                    photo = await self._directory.photo(tx, user_id)
        if photo is None:
            raise NotFound(NO_PHOTO)
        return photo


def logo_url(slug: str, branding: Branding) -> str | None:
    """Where the logo is served, versioned by its hash (so caches never show an old one)."""
    if branding.logo_etag is None:
        return None
    return f"/api/v1/workgroups/{quote(slug, safe='')}/logo?v={branding.logo_etag}"
