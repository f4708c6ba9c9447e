"""Invitations into chats, helpers leaving, and the staff directory the invite dialog lists.

The chat's agent invites another agent of the workgroup, or any supervisor or admin
(``parley.domain.invitations``); the invitee gets ``invitation`` on every connection, accepts
(and joins as a helper, following the chat from its first entry), declines, or lets it time out
after the workgroup's offer timeout. Every step is recorded in ``routing_events``. Each use case
loads under lock, calls the domain, commits, and only then publishes.

Timeouts: ``sweep`` ends pending invitations past their ``expires_at`` (``timed_out``) and those
whose chat has ended (``cancelled``); ``parley.services.runtime.Maintenance`` runs it on every
node at its next deadline. Two nodes sweeping at once is harmless: ``Store.end_invitation``
only ends a still pending invitation, so each ending is written, recorded and announced once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access
from parley.domain import conversation as conv_policy
from parley.domain import invitations as policy
from parley.domain.access import Principal, Staff, StaffRole, Visitor
from parley.domain.conversation import Conversation, EntryKind
from parley.domain.errors import Conflict, InvitationGone, NotFound
from parley.domain.invitations import Invitation, Invitee
from parley.domain.presence import Presence
from parley.protocol import (
    EntryOut,
    InvitationEndedMessage,
    InvitationMessage,
    InvitationOut,
)
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended, Follow, Notification, ToUser
from parley.services.conversations import readable
from parley.storage.db import Database
from parley.storage.store import RoutingEventRow, Store

#: How each ending is recorded in ``routing_events``.
EVENT_OF = {
    policy.Status.ACCEPTED: "invite_accepted",
    policy.Status.DECLINED: "invite_declined",
    policy.Status.TIMED_OUT: "invite_timed_out",
    policy.Status.CANCELLED: "invite_cancelled",
}


@dataclass(frozen=True, slots=True)
class StaffMember:
    """One line of the staff directory: whom an agent could invite."""

    user_id: int
    username: str
    display_name: str
    role: StaffRole
    presence: Presence
    status_text: str
    #: Member of these workgroups (ids).
    workgroups: tuple[int, ...]


class InvitationService:
    def __init__(
        self, db: Database, bus: Bus, clock: Clock, *, wake: Callable[[], None] = lambda: None
    ) -> None:
        """``wake``: tell the loop that runs ``sweep`` that a deadline may have moved."""
        self._db = db
        self._bus = bus
        self._clock = clock
        self._wake = wake

    async def invite(
        self, principal: Principal, conversation_id: str, user_id: int, note: str
    ) -> InvitationOut:
        now = self._clock.now()
        try:
            async with self._db.write() as store:
                conv = await _conversation(store, principal, conversation_id, lock=True)
                wg = None if conv.workgroup_id is None else await store.workgroup(conv.workgroup_id)
                user = await store.user(user_id)
                if user is None:
                    raise NotFound("no such staff member")
                member = conv.workgroup_id in await store.workgroups_of(user.id)
                invitation = policy.invite(
                    conv,
                    principal,
                    Invitee(user.id, user.display_name, user.role, user.active, member),
                    await store.pending_invitations(conversation_id=conv.id),
                    allowed=wg is not None and wg.invitations,
                    invitation_id=secrets.token_hex(16),
                    note=note,
                    timeout=timedelta(seconds=30 if wg is None else wg.offer_timeout_secs),
                    now=now,
                )
                await store.insert_invitation(invitation)
                await store.record_event(
                    RoutingEventRow(
                        conv.id,
                        "invited",
                        now,
                        actor_id=invitation.from_agent,
                        agent_id=invitation.to_user,
                        from_workgroup_id=conv.workgroup_id,
                        note=note or None,
                    )
                )
                out = await _out(store, invitation, conv)
        except IntegrityError:
            # A second pending invitation for the same invitee, committed concurrently.
            raise Conflict("this staff member has already been invited") from None
        message = InvitationMessage(invitation=out).model_dump(mode="json")
        await self._bus.publish([ToUser(user_id=u, message=message) for u in _both(invitation)])
        self._wake()
        return out

    async def accept(self, staff: Staff, invitation_id: str) -> str:
        """The invitee joins the chat as a helper. Returns the conversation's id."""
        now = self._clock.now()
        notes: list[Notification] = []
        async with self._db.write() as store:
            found = await store.invitation(invitation_id)
            if found is None or found.to_user != staff.user_id:
                raise InvitationGone("this invitation is no longer open")
            conv = await store.conversation(found.conversation_id, lock=True)
            if conv is None:
                raise InvitationGone("this invitation is no longer open")
            done, helper = policy.accept(found, staff, conv, now)
            if not await store.end_invitation(done):
                raise InvitationGone("this invitation is no longer open")
            if helper is not None:
                conv, joined = conv_policy.join(conv, helper, now)
                await store.save_conversation(conv)
                await store.insert_entries(conv.id, [joined])
                notes.append(Appended(conversation_id=conv.id, entries=[EntryOut.of(joined)]))
            await _record(store, done, conv, staff.user_id, now)
        notes.append(Follow(user_id=staff.user_id, conversation_id=conv.id))
        await self._bus.publish([*notes, *_ended(done)])
        return conv.id

    async def decline(self, staff: Staff, invitation_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as store:
            found = await store.invitation(invitation_id)
            if found is None:
                raise InvitationGone("this invitation is no longer open")
            done = policy.decline(found, staff, now)
            if not await store.end_invitation(done):
                raise InvitationGone("this invitation is no longer open")
            await _record(store, done, None, staff.user_id, now)
        await self._bus.publish(_ended(done))

    async def cancel(self, principal: Principal, invitation_id: str) -> None:
        """The inviter (or a supervisor or admin) calls an invitation off."""
        now = self._clock.now()
        async with self._db.write() as store:
            found = await store.invitation(invitation_id)
            if found is None or isinstance(principal, Visitor):
                raise InvitationGone("this invitation is no longer open")
            done = policy.cancel(found, principal, now)
            if not await store.end_invitation(done):
                raise InvitationGone("this invitation is no longer open")
            await _record(store, done, None, principal.user_id, now)
        await self._bus.publish(_ended(done))

    async def leave(self, principal: Principal, conversation_id: str) -> None:
        """An invited helper leaves; the chat goes on with its agent."""
        now = self._clock.now()
        async with self._db.write() as store:
            conv = await _conversation(store, principal, conversation_id, lock=True)
            staff = access.require_helper(principal, conv)
            conv, left = conv_policy.leave(conv, staff.key, "left", now)
            await store.save_conversation(conv)
            await store.insert_entries(conv.id, [left])
            await store.record_event(
                RoutingEventRow(
                    conv.id,
                    "invite_left",
                    now,
                    actor_id=staff.user_id,
                    agent_id=staff.user_id,
                    from_workgroup_id=conv.workgroup_id,
                )
            )
        await self._bus.publish([Appended(conversation_id=conv.id, entries=[EntryOut.of(left)])])

    async def pending(self, staff: Staff) -> list[InvitationOut]:
        """Open invitations sent to or by a staff member (the snapshot on connect)."""
        now = self._clock.now()
        async with self._db.read() as store:
            out = []
            for invitation in await store.pending_invitations(user_id=staff.user_id):
                conv = await store.conversation(invitation.conversation_id)
                if conv is not None and now < invitation.expires_at:
                    out.append(await _out(store, invitation, conv))
            return out

    async def directory(self, principal: Principal) -> list[StaffMember]:
        """Every active staff member with presence and workgroups: for any staff to read."""
        access.require_role(principal, StaffRole.AGENT)
        async with self._db.read() as store:
            return [
                StaffMember(
                    user.id,
                    user.username,
                    user.display_name,
                    user.role,
                    presence,
                    status_text,
                    tuple(await store.workgroups_of(user.id)),
                )
                for user, presence, status_text in await store.staff_directory()
            ]

    async def sweep(self) -> datetime | None:
        """End invitations that timed out or whose chat ended. Returns the next expiry."""
        now = self._clock.now()
        async with self._db.read() as store:
            due = await store.invitations_to_review(now)
        notes: list[Notification] = []
        if due:
            async with self._db.write() as store:
                for invitation in due:
                    conv = await store.conversation(invitation.conversation_id)
                    done = policy.expire(invitation, conv, now)
                    if done is not None and await store.end_invitation(done):
                        await _record(store, done, conv, None, now)
                        notes += _ended(done)
        await self._bus.publish(notes)
        async with self._db.read() as store:
            return await store.next_invitation_expiry()

    async def on_notification(self, note: Notification) -> None:
        """A chat ended: its pending invitations are cancelled at once, not at their expiry."""
        if isinstance(note, Appended) and any(
            e.kind == EntryKind.ENDED.value for e in note.entries
        ):
            self._wake()


def _both(invitation: Invitation) -> tuple[int, int]:
    return invitation.to_user, invitation.from_agent


def _ended(invitation: Invitation) -> list[Notification]:
    message = InvitationEndedMessage(
        invitation_id=invitation.invitation_id,
        conversation_id=invitation.conversation_id,
        reason=invitation.status.value,
    ).model_dump(mode="json")
    return [ToUser(user_id=u, message=message) for u in _both(invitation)]


async def _record(
    store: Store,
    invitation: Invitation,
    conv: Conversation | None,
    actor_id: int | None,
    now: datetime,
) -> None:
    if conv is None:
        conv = await store.conversation(invitation.conversation_id)
    await store.record_event(
        RoutingEventRow(
            invitation.conversation_id,
            EVENT_OF[invitation.status],
            now,
            actor_id=actor_id,
            agent_id=invitation.to_user,
            from_workgroup_id=None if conv is None else conv.workgroup_id,
        )
    )


async def _conversation(
    store: Store, principal: Principal, conversation_id: str, *, lock: bool = False
) -> Conversation:
    return await readable(store, principal, conversation_id, lock=lock)


async def _out(store: Store, invitation: Invitation, conv: Conversation) -> InvitationOut:
    sender = await store.user(invitation.from_agent)
    invitee = await store.user(invitation.to_user)
    return InvitationOut(
        invitation_id=invitation.invitation_id,
        conversation_id=invitation.conversation_id,
        workgroup_id=conv.workgroup_id,
        from_user_id=invitation.from_agent,
        from_name="" if sender is None else sender.display_name,
        to_user_id=invitation.to_user,
        to_name="" if invitee is None else invitee.display_name,
        note=invitation.note,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
        metadata=conv.metadata,
    )
