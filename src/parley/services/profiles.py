"""Customer profiles (``domain.profiles``): what staff keep about one customer across chats.

Every route reaches a profile through a chat the reader may read (``access.
require_profile_reader``): a chat not theirs reads exactly like one that does not exist. The
profile's conversations are the customer's (the same verified ``sub``, else the same browser)
that the reader may read anyway (``access.can_list_in_profile``). Every edit is audited
(``customer.updated``, ``customer.note_added``, ``customer.note_deleted``, subject
``customer:<id>``). Nothing here has a visitor path: notes never reach a customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from parley.clock import Clock
from parley.domain import access
from parley.domain import profiles as policy
from parley.domain.access import Principal, Staff
from parley.domain.conversation import Conversation
from parley.domain.errors import Forbidden, NotFound
from parley.domain.identity import Customer
from parley.domain.profiles import Changes, Note, Profile
from parley.services.conversations import readable
from parley.services.house_rules import actor_of
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.profiles import ProfileStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore

#: How many of the customer's conversations are looked at, and shown at most.
CONVERSATIONS_SCAN = 200
CONVERSATIONS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class ProfileView:
    profile: Profile
    #: What the company's site signed (the newest identity token of this customer), if any.
    verified: Customer | None
    #: What the company's page sent with the newest chat that sent any (hidden fields).
    fields: dict[str, str]
    #: What the visitor typed into the newest chat's form: shown, never a key.
    typed_name: str
    typed_email: str
    #: Newest first, only those the reader may read.
    conversations: list[Conversation]


class ProfileService:
    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        profiles: ProfileStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        audit: AuditStore,
    ) -> None:
        self._db = db
        self._clock = clock
        self._profiles = profiles
        self._workgroups = workgroups
        self._conversations = conversations
        self._audit = audit

    async def _chat(
        self, tx: Tx, principal: Principal, conversation_id: str
    ) -> tuple[Staff, Conversation, frozenset[int]]:
        conv = await readable(tx, self._workgroups, self._conversations, principal, conversation_id)
        mine = (
            frozenset(await self._workgroups.readable_by(tx, principal.user_id))
            if isinstance(principal, Staff)
            else frozenset()
        )
        return access.require_profile_reader(principal, conv, mine), conv, mine

    async def profile(self, principal: Principal, conversation_id: str) -> ProfileView:
        """The profile of the chat's customer (empty until someone edits it)."""
        async with self._db.read() as tx:
            staff, conv, mine = await self._chat(tx, principal, conversation_id)
            assert conv.link is not None
            found = await self._profiles.profile(tx, conv.link)
            linked = await self._conversations.conversations_linked(
                tx, conv.link, "", CONVERSATIONS_SCAN
            )
        shown = [c for c in linked if access.can_list_in_profile(staff, conv, c, mine)]
        newest = shown[0] if shown else conv
        verified = next((c.customer for c in shown if c.customer is not None), conv.customer)
        fields: dict[str, Any] = next(
            (c.metadata["fields"] for c in shown if c.metadata.get("fields")), {}
        )
        return ProfileView(
            profile=found or Profile(link=conv.link),
            verified=verified,
            fields={str(k): str(v) for k, v in fields.items()},
            typed_name=str(newest.metadata.get("name") or ""),
            typed_email=str(newest.metadata.get("email") or ""),
            conversations=shown[:CONVERSATIONS_SHOWN],
        )

    async def update(self, principal: Principal, conversation_id: str, changes: Changes) -> None:
        now = self._clock.now()
        async with self._db.write() as tx:
            staff, conv, _ = await self._chat(tx, principal, conversation_id)
            assert conv.link is not None
            current = await self._profiles.profile(tx, conv.link, lock=True)
            edited = policy.edit(current or Profile(link=conv.link), changes, staff.user_id, now)
            if current is None:
                current = await self._profiles.ensure(tx, conv.link, now)
                edited = policy.edit(current, changes, staff.user_id, now)
            await self._profiles.save(tx, edited)
            details = {
                k: v if not isinstance(v, list) else list(v)
                for k, v in {
                    "name": changes.name,
                    "email": changes.email,
                    "company": changes.company,
                    "tags": None if changes.tags is None else list(edited.tags),
                }.items()
                if v is not None
            }
            await self._audit.record(
                tx, now, actor_of(staff), "customer.updated", f"customer:{edited.id}", details
            )

    async def add_note(self, principal: Principal, conversation_id: str, text: str) -> Note:
        now = self._clock.now()
        async with self._db.write() as tx:
            staff, conv, _ = await self._chat(tx, principal, conversation_id)
            assert conv.link is not None
            current = await self._profiles.profile(tx, conv.link, lock=True)
            text = policy.check_note(text, 0 if current is None else len(current.notes))
            if current is None:
                current = await self._profiles.ensure(tx, conv.link, now)
            note_id = await self._profiles.add_note(tx, current.id, staff.user_id, text, now)
            await self._audit.record(
                tx,
                now,
                actor_of(staff),
                "customer.note_added",
                f"customer:{current.id}",
                {"note": note_id, "chars": len(text)},
            )
            name = await self._display_name(tx, current.id, note_id)
        return Note(note_id, text, now, staff.user_id, name)

    async def _display_name(self, tx: Tx, profile_id: int, note_id: int) -> str:
        for note in await self._profiles.notes(tx, profile_id):
            if note.id == note_id:
                return note.author_name
        return ""

    async def delete_note(self, principal: Principal, conversation_id: str, note_id: int) -> None:
        """A note of this chat's customer; any other id reads as missing."""
        now = self._clock.now()
        async with self._db.write() as tx:
            staff, conv, _ = await self._chat(tx, principal, conversation_id)
            assert conv.link is not None
            current = await self._profiles.profile(tx, conv.link, lock=True)
            note = next((n for n in (current.notes if current else ()) if n.id == note_id), None)
            if current is None or note is None:
                raise NotFound("no such note")
            if not access.can_delete_customer_note(staff, note.author_id):
                raise Forbidden("only its author, a supervisor or an admin deletes a note")
            await self._profiles.delete_note(tx, current.id, note_id)
            await self._audit.record(
                tx,
                now,
                actor_of(staff),
                "customer.note_deleted",
                f"customer:{current.id}",
                {"note": note_id},
            )
