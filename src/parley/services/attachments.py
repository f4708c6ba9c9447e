"""Attachments: files sent in customer chats (``domain.attachments``), their workgroup's policy,
and serving them to whoever may read the chat.

An upload is checked whole before anything is stored: the sender may write in the chat
(``access.require_participant``, the chat not ended), the name, the size and the type
(``domain.attachments``), the files the chat holds already; an image is then re-encoded in a
worker thread (``parley.photos.reencode_attachment``, at most ``REENCODES_AT_ONCE`` at a time),
so that only its decoded pixels are stored, with a thumbnail. Only then are the bytes put in
the blob store (by their hash) and the entry and the attachment's row committed together; a
commit that fails (the chat ended meanwhile, the same ``client_id`` committed by another node)
removes the blobs again unless another attachment keeps the same bytes. The entry is announced
after the commit, like any message.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access
from parley.domain import attachments as policy
from parley.domain import conversation as conv_policy
from parley.domain.access import Principal, Staff
from parley.domain.attachments import Policy
from parley.domain.conversation import Entry, Status
from parley.domain.errors import Conflict, Forbidden, NotFound
from parley.photos import ReencodedImage, reencode_attachment
from parley.protocol import EntryOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended
from parley.services.conversations import readable, require_participant
from parley.services.limits import Rule
from parley.storage.attachments import AttachmentRow, AttachmentStore
from parley.storage.blobs import BlobStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.supervision import SupervisionStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupRow, WorkgroupStore

log = logging.getLogger(__name__)

#: How often a node looks for files no attachment keeps any more (their chat was removed by the
#: archiving policy or a customer's deletion), and how old such a file must be: an upload in
#: flight writes its files a moment before it commits their row.
ORPHAN_SWEEP = timedelta(hours=1)
ORPHAN_GRACE_SECS = 3600.0
#: Keys looked up in one query.
ORPHAN_BATCH = 500
#: Images decoded at once on a node: each may hold up to 64 MiB of pixels, several copies.
REENCODES_AT_ONCE = 2


@dataclass(frozen=True, slots=True)
class Upload:
    """What a sender says about a file."""

    client_id: str
    name: str
    media_type: str
    data: bytes
    private: bool = False


@dataclass(frozen=True, slots=True)
class Served:
    name: str
    media_type: str
    data: bytes


class AttachmentService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        blobs: BlobStore,
        *,
        attachments: AttachmentStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        supervision: SupervisionStore | None = None,
        ceiling: int = policy.DEFAULT_MAX_BYTES,
        rule: Rule | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """``ceiling``: the node's largest attachment (``max_attachment_bytes``); no policy
        allows more."""
        self._db = db
        self._bus = bus
        self._clock = clock
        self._blobs = blobs
        self._attachments = attachments
        self._workgroups = workgroups
        self._conversations = conversations
        self._supervision = supervision
        self.ceiling = ceiling
        #: The rate of uploads per chat and client address (``attachment_limit``).
        self.rule = rule or Rule.of("attachment", "20 per minute")
        self._reencoding = asyncio.Semaphore(REENCODES_AT_ONCE)
        #: The files' own clock (their modification times are the machine's, not ``clock``'s).
        self._wall = wall
        self._sweep_due: datetime | None = None

    # Admins ---------------------------------------------------------------------------------

    async def policy(self, principal: Principal, slug: str) -> Policy:
        access.require_attachment_policy_editor(principal)
        async with self._db.read() as tx:
            wg = await self._workgroup(tx, slug)
            return await self._policy(tx, wg.id)

    async def set_policy(
        self,
        principal: Principal,
        slug: str,
        max_bytes: int,
        allowed_types: list[str],
        max_per_chat: int,
    ) -> Policy:
        access.require_attachment_policy_editor(principal)
        checked = policy.check_policy(max_bytes, allowed_types, max_per_chat, self.ceiling)
        async with self._db.write() as tx:
            wg = await self._workgroup(tx, slug)
            await self._attachments.save_policy(tx, wg.id, checked, self._clock.now())
        return checked

    # Participants ---------------------------------------------------------------------------

    async def chat_policy(self, principal: Principal, conversation_id: str) -> Policy:
        """The policy of a chat ``principal`` may read (the widget's and console's limits)."""
        async with self._db.read() as tx:
            conv = await readable(
                tx, self._workgroups, self._conversations, principal, conversation_id
            )
            policy.require_attachable(conv)
            assert conv.workgroup_id is not None
            return await self._policy(tx, conv.workgroup_id)

    async def upload_limit(self, principal: Principal, conversation_id: str) -> int:
        """The largest file ``principal`` may send in the chat now, checked before the body is
        read: whoever may not write there is refused first (``NotFound`` for a stranger)."""
        async with self._db.read() as tx:
            conv = await readable(
                tx, self._workgroups, self._conversations, principal, conversation_id
            )
            policy.require_attachable(conv)
            if conv.status is Status.ENDED:
                raise Conflict("this conversation has ended")
            await require_participant(tx, self._workgroups, principal, conv, self._supervision)
            assert conv.workgroup_id is not None
            return (await self._policy(tx, conv.workgroup_id)).max_bytes

    async def upload(self, principal: Principal, conversation_id: str, up: Upload) -> EntryOut:
        """Store a file as the next entry of the chat; a repeated ``client_id`` answers with
        the entry it stored before (and stores nothing)."""
        conv_policy.validate_client_id(up.client_id)
        name = policy.check_name(up.name)
        async with self._db.read() as tx:
            existing, chat = await self._check(tx, principal, conversation_id, up)
        if existing is not None:
            return EntryOut.of(existing)
        media_type = policy.check_type(up.media_type, up.data, chat)
        image: ReencodedImage | None = None
        data = up.data
        if media_type in policy.IMAGE_TYPES:
            async with self._reencoding:
                image = await asyncio.to_thread(reencode_attachment, up.data, media_type)
            data = image.image.data
            media_type = image.image.media_type
            name = _renamed(name, media_type)
        keys = [await self._blobs.put(data)]
        if image is not None:
            keys.append(await self._blobs.put(image.thumbnail.data))
        try:
            entry, fresh = await self._store(
                principal, conversation_id, up, name, media_type, data, image, keys
            )
        except BaseException:
            await self._forget(keys)
            raise
        out = EntryOut.of(entry)
        if not fresh:
            await self._forget(keys)
            return out
        await self._bus.publish([Appended(conversation_id=conversation_id, entries=[out])])
        return out

    async def _check(
        self, tx: Tx, principal: Principal, conversation_id: str, up: Upload
    ) -> tuple[Entry | None, Policy]:
        """The entry stored before with this client id, or the chat's policy once the sender
        may send this file there (its size, the files held)."""
        conv = await readable(tx, self._workgroups, self._conversations, principal, conversation_id)
        existing = await self._conversations.entry_by_client_id(
            tx, conv.id, principal.key, up.client_id
        )
        if existing is not None:
            return existing, Policy()
        policy.require_attachable(conv)
        if conv.status is Status.ENDED:
            raise Conflict("this conversation has ended")
        await require_participant(tx, self._workgroups, principal, conv, self._supervision)
        if up.private and not isinstance(principal, Staff):
            raise Forbidden("private notes are for staff")
        assert conv.workgroup_id is not None
        chat = await self._policy(tx, conv.workgroup_id)
        policy.check_size(len(up.data), chat)
        policy.check_count(await self._attachments.count(tx, conv.id), chat)
        return None, chat

    async def _store(
        self,
        principal: Principal,
        conversation_id: str,
        up: Upload,
        name: str,
        media_type: str,
        data: bytes,
        image: ReencodedImage | None,
        keys: list[str],
    ) -> tuple[Entry, bool]:
        now = self._clock.now()
        attachment_id = secrets.token_hex(16)
        body: dict[str, Any] = {
            "id": attachment_id,
            "name": name,
            "media_type": media_type,
            "size": len(data),
            "image": image is not None,
        }
        if image is not None:
            body |= {"width": image.width, "height": image.height}
        try:
            async with self._db.write() as tx:
                conv = await readable(
                    tx, self._workgroups, self._conversations, principal, conversation_id, lock=True
                )
                existing = await self._conversations.entry_by_client_id(
                    tx, conv.id, principal.key, up.client_id
                )
                if existing is not None:
                    return existing, False
                if conv.status is Status.ENDED:
                    raise Conflict("this conversation has ended")
                await require_participant(tx, self._workgroups, principal, conv, self._supervision)
                assert conv.workgroup_id is not None
                chat = await self._policy(tx, conv.workgroup_id)
                policy.check_count(await self._attachments.count(tx, conv.id), chat)
                conv, entry = policy.post_attachment(
                    conv, principal.key, body, up.client_id, now, private=up.private
                )
                await self._conversations.set_last_seq(tx, conv.id, conv.last_seq)
                await self._conversations.insert_entries(tx, conv.id, [entry])
                await self._attachments.insert(
                    tx,
                    AttachmentRow(
                        id=attachment_id,
                        conversation_id=conv.id,
                        seq=entry.seq,
                        author=principal.key,
                        private=up.private,
                        name=name,
                        media_type=media_type,
                        size=len(data),
                        sha256=keys[0],
                        thumb_sha256=keys[1] if image is not None else None,
                        thumb_media_type=None if image is None else image.thumbnail.media_type,
                        width=None if image is None else image.width,
                        height=None if image is None else image.height,
                        created_at=now,
                    ),
                )
        except IntegrityError:
            # The same client id committed concurrently (on another node): answer with it.
            async with self._db.read() as tx:
                found = await self._conversations.entry_by_client_id(
                    tx, conversation_id, principal.key, up.client_id
                )
            if found is None:
                raise
            return found, False
        return entry, True

    async def _forget(self, keys: list[str]) -> None:
        """Remove blobs no attachment keeps (an upload that was not stored after all)."""
        async with self._db.read() as tx:
            unused = [k for k in keys if not await self._attachments.referenced(tx, k)]
        for key in unused:
            await self._blobs.delete(key)

    # Files no chat keeps -----------------------------------------------------------------

    async def sweep(self) -> datetime | None:
        """A maintenance sweep (``Maintenance.sweeps``): at most once per ``ORPHAN_SWEEP``,
        delete the files older than ``ORPHAN_GRACE_SECS`` that no attachment keeps (their
        conversation was removed). Returns when to come back."""
        now = self._clock.now()
        if self._sweep_due is not None and now < self._sweep_due:
            return self._sweep_due
        self._sweep_due = now + ORPHAN_SWEEP
        await self.remove_orphans()
        return self._sweep_due

    async def remove_orphans(self) -> int:
        """Delete the files no attachment keeps, written more than ``ORPHAN_GRACE_SECS`` ago;
        returns how many."""
        cutoff = self._wall() - ORPHAN_GRACE_SECS
        old = [key for key, written in await self._blobs.listing() if written < cutoff]
        removed = 0
        for start in range(0, len(old), ORPHAN_BATCH):
            batch = old[start : start + ORPHAN_BATCH]
            async with self._db.read() as tx:
                kept = await self._attachments.referenced_among(tx, batch)
            for key in batch:
                if key not in kept:
                    await self._blobs.delete(key)
                    removed += 1
        if removed:
            log.info("removed %d attachment files no chat keeps any more", removed)
        return removed

    # Readers --------------------------------------------------------------------------------

    async def file(
        self, principal: Principal, conversation_id: str, attachment_id: str, *, thumbnail: bool
    ) -> Served:
        """The file (or an image's thumbnail), for whoever reads the chat and may see the entry
        that carries it. Not theirs, a note's for a visitor, none, no thumbnail: the same
        ``NotFound``."""
        async with self._db.read() as tx:
            conv = await readable(
                tx, self._workgroups, self._conversations, principal, conversation_id
            )
            row = await self._attachments.attachment(tx, conv.id, attachment_id)
        if row is None:
            raise NotFound(access.NO_SUCH_ATTACHMENT)
        access.require_attachment_reader(principal, row.private)
        key, media_type = row.sha256, row.media_type
        if thumbnail:
            if row.thumb_sha256 is None or row.thumb_media_type is None:
                raise NotFound(access.NO_SUCH_ATTACHMENT)
            key, media_type = row.thumb_sha256, row.thumb_media_type
        data = await self._blobs.get(key)
        if data is None:
            raise NotFound(access.NO_SUCH_ATTACHMENT)
        return Served(row.name, media_type, data)

    async def _policy(self, tx: Tx, workgroup_id: int) -> Policy:
        found = await self._attachments.policy(tx, workgroup_id)
        return policy.default_policy(self.ceiling) if found is None else found

    async def _workgroup(self, tx: Tx, slug: str) -> WorkgroupRow:
        wg = await self._workgroups.workgroup_by_slug(tx, slug)
        if wg is None:
            raise NotFound(f"no workgroup {slug!r}")
        return wg


_EXTENSIONS = {"image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}


def _renamed(name: str, media_type: str) -> str:
    """A re-encoded image's name with the extension of what it is now (``cat.gif`` served as
    PNG is ``cat.png``)."""
    extensions = _EXTENSIONS.get(media_type, ())
    if not extensions or name.lower().endswith(extensions):
        return name
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return stem + extensions[0]
