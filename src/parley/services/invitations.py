"""Invitations into chats, helpers leaving, and the staff directory the invite dialog lists.

The chat's agent invites another agent of the workgroup, or any supervisor or admin
(``parley.domain.invitations``); the invitee gets ``invitation`` on every connection, accepts
(and joins as a helper, following the chat from its first entry), declines, or lets it time out
after the workgroup's offer timeout. Every step is recorded in ``routing_events``. Each use case
loads under lock, calls the domain, commits, and only then publishes.

Timeouts: ``sweep`` ends pending invitations past their ``expires_at`` (``timed_out``) and those
whose chat has ended (``cancelled``); ``parley.services.runtime.Maintenance`` runs it on every
node at its next deadline. Two nodes sweeping at once is harmless:
``InvitationStore.end_invitation`` only ends a still pending invitation, so each ending is
written, recorded and announced once.
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
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.invitations import InvitationStore
from parley.storage.requests import RequestStore, RoutingEventRow
from parley.storage.staff import StaffStore
from parley.storage.tx import Tx
from parley.storage.workgroups import WorkgroupStore

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
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        wake: Callable[[], None] = lambda: None,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        requests: RequestStore,
        invitations: InvitationStore,
    ) -> None:
        """``wake``: tell the loop that runs ``sweep`` that a deadline may have moved."""
        self._staff = staff
        self._workgroups = workgroups
        self._conversations = conversations
        self._requests = requests
        self._invitations = invitations
        self._db = db
        self._bus = bus
        self._clock = clock
        self._wake = wake

    async def invite(
        self, principal: Principal, conversation_id: str, user_id: int, note: str
    ) -> InvitationOut:
        now = self._clock.now()
        try:
            async with self._db.write() as tx:
                conv = await _conversation(
                    tx, self._workgroups, self._conversations, principal, conversation_id, lock=True
                )
                wg = (
                    None
                    if conv.workgroup_id is None
                    else await self._workgroups.workgroup(tx, conv.workgroup_id)
                )
                user = await self._staff.user(tx, user_id)
                if user is None:
                    raise NotFound("no such staff member")
                member = conv.workgroup_id in await self._workgroups.workgroups_of(tx, user.id)
                invitation = policy.invite(
                    conv,
                    principal,
                    Invitee(user.id, user.display_name, user.role, user.active, member),
                    await self._invitations.pending_invitations(tx, conversation_id=conv.id),
                    allowed=wg is not None and wg.invitations,
                    invitation_id=secrets.token_hex(16),
                    note=note,
                    timeout=timedelta(seconds=30 if wg is None else wg.offer_timeout_secs),
                    now=now,
                )
                await self._invitations.insert_invitation(tx, invitation)
                await self._requests.record_event(
                    tx,
                    RoutingEventRow(
                        conv.id,
                        "invited",
                        now,
                        actor_id=invitation.from_agent,
                        agent_id=invitation.to_user,
                        from_workgroup_id=conv.workgroup_id,
                        note=note or None,
                    ),
                )
                out = await _out(tx, self._staff, invitation, conv)
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
        async with self._db.write() as tx:
            found = await self._invitations.invitation(tx, invitation_id)
            if found is None or found.to_user != staff.user_id:
                raise InvitationGone("this invitation is no longer open")
            conv = await self._conversations.conversation(tx, found.conversation_id, lock=True)
            if conv is None:
                raise InvitationGone("this invitation is no longer open")
            done, helper = policy.accept(found, staff, conv, now)
            if not await self._invitations.end_invitation(tx, done):
                raise InvitationGone("this invitation is no longer open")
            if helper is not None:
                conv, joined = conv_policy.join(conv, helper, now)
                await self._conversations.save_conversation(tx, conv)
                await self._conversations.insert_entries(tx, conv.id, [joined])
                notes.append(Appended(conversation_id=conv.id, entries=[EntryOut.of(joined)]))
            await _record(tx, self._conversations, self._requests, done, conv, staff.user_id, now)
        notes.append(Follow(user_id=staff.user_id, conversation_id=conv.id))
        await self._bus.publish([*notes, *_ended(done)])
        return conv.id

    async def decline(self, staff: Staff, invitation_id: str) -> None:
        now = self._clock.now()
        async with self._db.write() as tx:
            found = await self._invitations.invitation(tx, invitation_id)
            if found is None:
                raise InvitationGone("this invitation is no longer open")
            done = policy.decline(found, staff, now)
            if not await self._invitations.end_invitation(tx, done):
                raise InvitationGone("this invitation is no longer open")
            await _record(tx, self._conversations, self._requests, done, None, staff.user_id, now)
        await self._bus.publish(_ended(done))

    async def cancel(self, principal: Principal, invitation_id: str) -> None:
        """The inviter (or a supervisor or admin) calls an invitation off."""
        now = self._clock.now()
        async with self._db.write() as tx:
            found = await self._invitations.invitation(tx, invitation_id)
            if found is None or isinstance(principal, Visitor):
                raise InvitationGone("this invitation is no longer open")
            done = policy.cancel(found, principal, now)
            if not await self._invitations.end_invitation(tx, done):
                raise InvitationGone("this invitation is no longer open")
            await _record(
                tx, self._conversations, self._requests, done, None, principal.user_id, now
            )
        await self._bus.publish(_ended(done))

    async def leave(self, principal: Principal, conversation_id: str) -> None:
        """An invited helper leaves; the chat goes on with its agent."""
        now = self._clock.now()
        async with self._db.write() as tx:
            conv = await _conversation(
                tx, self._workgroups, self._conversations, principal, conversation_id, lock=True
            )
            staff = access.require_helper(principal, conv)
            conv, left = conv_policy.leave(conv, staff.key, "left", now)
            await self._conversations.save_conversation(tx, conv)
            await self._conversations.insert_entries(tx, conv.id, [left])
            await self._requests.record_event(
                tx,
                RoutingEventRow(
                    conv.id,
                    "invite_left",
                    now,
                    actor_id=staff.user_id,
                    agent_id=staff.user_id,
                    from_workgroup_id=conv.workgroup_id,
                ),
            )
        await self._bus.publish([Appended(conversation_id=conv.id, entries=[EntryOut.of(left)])])

    async def pending(self, staff: Staff) -> list[InvitationOut]:
        """Open invitations sent to or by a staff member (the snapshot on connect)."""
        now = self._clock.now()
        async with self._db.read() as tx:
            out = []
            for invitation in await self._invitations.pending_invitations(
                tx, user_id=staff.user_id
            ):
                conv = await self._conversations.conversation(tx, invitation.conversation_id)
                if conv is not None and now < invitation.expires_at:
                    out.append(await _out(tx, self._staff, invitation, conv))
            return out

    async def directory(self, principal: Principal) -> list[StaffMember]:
        """Every active staff member with presence and workgroups: for any staff to read."""
        access.require_role(principal, StaffRole.AGENT)
        async with self._db.read() as tx:
            return [
                StaffMember(
                    user.id,
                    user.username,
                    user.display_name,
                    user.role,
                    presence,
                    status_text,
                    tuple(await self._workgroups.workgroups_of(tx, user.id)),
                )
                for user, presence, status_text in await self._staff.staff_directory(tx)
            ]

    async def sweep(self) -> datetime | None:
        """End invitations that timed out or whose chat ended. Returns the next expiry."""
        now = self._clock.now()
        async with self._db.read() as tx:
            due = await self._invitations.invitations_to_review(tx, now)
        notes: list[Notification] = []
        if due:
            async with self._db.write() as tx:
                for invitation in due:
                    conv = await self._conversations.conversation(tx, invitation.conversation_id)
                    done = policy.expire(invitation, conv, now)
                    if done is not None and await self._invitations.end_invitation(tx, done):
                        await _record(
                            tx, self._conversations, self._requests, done, conv, None, now
                        )
                        notes += _ended(done)
        await self._bus.publish(notes)
        async with self._db.read() as tx:
            return await self._invitations.next_invitation_expiry(tx)

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
    tx: Tx,
    conversations: ConversationStore,
    requests: RequestStore,
    invitation: Invitation,
    conv: Conversation | None,
    actor_id: int | None,
    now: datetime,
) -> None:
    if conv is None:
        conv = await conversations.conversation(tx, invitation.conversation_id)
    await requests.record_event(
        tx,
        RoutingEventRow(
            invitation.conversation_id,
            EVENT_OF[invitation.status],
            now,
            actor_id=actor_id,
            agent_id=invitation.to_user,
            from_workgroup_id=None if conv is None else conv.workgroup_id,
        ),
    )


async def _conversation(
    tx: Tx,
    workgroups: WorkgroupStore,
    conversations: ConversationStore,
    principal: Principal,
    conversation_id: str,
    *,
    lock: bool = False,
) -> Conversation:
    return await readable(tx, workgroups, conversations, principal, conversation_id, lock=lock)


async def _out(
    tx: Tx, staff: StaffStore, invitation: Invitation, conv: Conversation
) -> InvitationOut:
    sender = await staff.user(tx, invitation.from_agent)
    invitee = await staff.user(tx, invitation.to_user)
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
        verified=conv.customer is not None,
    )
