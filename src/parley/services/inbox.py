"""Leave a message: visitors' messages for a workgroup that could not chat, the console's inbox
of them, their email to the workgroup's address, and the workgroup's business hours.

A left message is committed before anything else happens, so nothing is lost whatever the mail
server does. Sending is the ``MailLoop``'s job: ``leave_message`` wakes it at once, and a failed
attempt is retried with a growing delay (``parley.domain.messages.retry_delay``). Every attempt
first claims the message (``InboxStore.claim_email`` moves its due time ahead, a lease): with
several nodes only one sends it, and a node that dies mid-attempt leaves it to be retried when
the lease runs out. A crash between the server's "250 OK" and the record of it can send a mail
twice; never zero times.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from parley.clock import Clock
from parley.domain import access
from parley.domain import messages as policy
from parley.domain.access import Principal, Staff, StaffRole, Visitor
from parley.domain.errors import Forbidden, InvalidInput, NotFound
from parley.domain.hours import BusinessHours, check_timezone
from parley.domain.messages import LeftMessage, MessageForm, Status
from parley.mail import Mailer, MailError, compose_left_message
from parley.protocol import InboxMessage, LeftMessageOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Kick, Notification, ToUser
from parley.services.limits import Limiter, Rule
from parley.services.runtime import wait_first
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.inbox import InboxStore, LeftMessageRow
from parley.storage.staff import StaffStore
from parley.storage.tx import Tx
from parley.storage.workgroups import HoursRow, WorkgroupRow, WorkgroupStore

log = logging.getLogger(__name__)

#: The most messages one inbox listing returns.
MAX_LIST = 200
#: Attempts per run of the mail loop, so that one run cannot hold the loop for long.
MAX_SENDS_PER_RUN = 50
#: The mail status of a message not emailed because its sender's previous one was, recently.
EMAIL_SKIPPED = (
    "not emailed: another message from this address was emailed to this workgroup a few minutes ago"
)


def new_public_id() -> str:
    """A left message's public id: 128 random bits, 32 hex digits."""
    return secrets.token_hex(16)


def message_out(row: LeftMessageRow) -> LeftMessageOut:
    m = row.message
    return LeftMessageOut(
        id=m.public_id,
        workgroup=row.workgroup_slug,
        conversation_id=m.conversation_id,
        name=m.name,
        email=m.email,
        message=m.message,
        page=m.page,
        created_at=m.created_at,
        status=m.status.value,
        taken_by=m.taken_by,
        taken_by_name=row.taken_by_name,
        taken_at=m.taken_at,
        done_at=m.done_at,
        emailed_at=m.emailed_at,
        email_attempts=m.email_attempts,
        last_email_error=m.last_email_error,
    )


@dataclass(frozen=True, slots=True)
class HoursSettings:
    """A workgroup's leave-a-message settings, as an admin sets them."""

    hours: BusinessHours | None
    email: str = ""
    queue_without_agents: bool = False


class InboxService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        mailer: Mailer,
        *,
        sender: str,
        lease: timedelta,
        limiter: Limiter | None = None,
        email_rule: Rule | None = None,
        staff: StaffStore,
        workgroups: WorkgroupStore,
        conversations: ConversationStore,
        inbox: InboxStore,
    ) -> None:
        self._staff = staff
        self._workgroups = workgroups
        self._conversations = conversations
        self._inbox = inbox
        self._db = db
        self._bus = bus
        self._clock = clock
        self._mailer = mailer
        self._sender = sender
        self._lease = lease
        #: At most ``email_rule`` emails per workgroup and sender address; the others are stored
        #: and shown in the inbox like any message, with ``EMAIL_SKIPPED`` as their mail status.
        self._limiter = limiter
        self._email_rule = email_rule
        #: Set when a message waits to be emailed; the ``MailLoop`` wakes on it.
        self.mail_waiting = asyncio.Event()

    # Visitors ---------------------------------------------------------------------------------

    async def leave_message(
        self, slug: str, form: MessageForm, visitor: Visitor | None = None
    ) -> LeftMessageOut:
        """Store a visitor's message (linked to the chat ``visitor`` holds a token for, if any),
        tell the workgroup's consoles, and have it emailed."""
        form = policy.validate_form(form)
        now = self._clock.now()
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            conversation_id = None
            if visitor is not None:
                conv = await self._conversations.conversation(tx, visitor.conversation_id)
                if conv is None or conv.workgroup_id != wg.id:
                    raise Forbidden("this visitor token is for another workgroup's chat")
                conversation_id = conv.id
            settings = await self._workgroups.workgroup_hours(tx, wg.id)
            emailed = self._mailer.enabled and settings is not None and bool(settings.email)
            skipped = emailed and not await self._email_allowed(wg.id, form.email)
            emailed = emailed and not skipped
            draft = LeftMessage(
                id=0,
                public_id=new_public_id(),
                workgroup_id=wg.id,
                conversation_id=conversation_id,
                name=form.name,
                email=form.email,
                message=form.message,
                page=form.page,
                created_at=now,
                next_email_at=now if emailed else None,
                last_email_error=EMAIL_SKIPPED if skipped else None,
            )
            message_id = await self._inbox.insert_left_message(tx, draft)
            row = await self._inbox.left_message(tx, message_id)
            notes = await self._notes(tx, wg.id, row)
        await self._bus.publish(notes)
        if emailed:
            self.mail_waiting.set()
        assert row is not None
        return message_out(row)

    async def _email_allowed(self, workgroup_id: int, sender: str) -> bool:
        if self._limiter is None or self._email_rule is None:
            return True
        return await self._limiter.allow(self._email_rule, str(workgroup_id), sender.lower())

    # Staff ------------------------------------------------------------------------------------

    async def list_messages(
        self, staff: Staff, slug: str | None, status: Status | None, *, limit: int = MAX_LIST
    ) -> list[LeftMessageOut]:
        """Newest first: one workgroup's messages, or (``slug`` None) those of every workgroup
        the staff member works in (every workgroup for supervisors and admins)."""
        async with self._db.read() as tx:
            member_of = await self._workgroups.workgroups_of(tx, staff.user_id)
            if slug is not None:
                wg = await _workgroup(tx, self._workgroups, slug)
                access.require_work_in(staff, wg.id, member_of)
                ids = [wg.id]
            elif access.can_override(staff):
                ids = [wg.id for wg in await self._workgroups.list_workgroups(tx)]
            else:
                ids = member_of
            rows = await self._inbox.left_messages(tx, ids, status, limit=min(limit, MAX_LIST))
        return [message_out(r) for r in rows]

    async def take(self, staff: Staff, public_id: str) -> LeftMessageOut:
        now = self._clock.now()
        async with self._db.write() as tx:
            msg = await self._message(tx, staff, public_id)
            out, notes = await self._save(tx, msg, policy.take(msg, staff.user_id, now))
        await self._bus.publish(notes)
        return out

    async def done(self, staff: Staff, public_id: str) -> LeftMessageOut:
        now = self._clock.now()
        override = access.can_override(staff)
        async with self._db.write() as tx:
            msg = await self._message(tx, staff, public_id)
            finished = policy.done(msg, staff.user_id, now, may_override=override)
            out, notes = await self._save(tx, msg, finished)
        await self._bus.publish(notes)
        return out

    async def _message(self, tx: Tx, staff: Staff, public_id: str) -> LeftMessage:
        """The message by its public id, locked; another workgroup's message reads exactly like
        one that does not exist (``access.require_message_of``)."""
        row = await self._inbox.left_message_by_public_id(tx, public_id)
        member_of = await self._workgroups.workgroups_of(tx, staff.user_id)
        workgroup_id = None if row is None else row.message.workgroup_id
        access.require_message_of(staff, workgroup_id, member_of)
        assert row is not None
        locked = await self._inbox.left_message(tx, row.message.id, lock=True)
        assert locked is not None
        return locked.message

    async def _save(
        self, tx: Tx, before: LeftMessage, after: LeftMessage
    ) -> tuple[LeftMessageOut, list[Notification]]:
        """Inside the caller's transaction: the caller publishes the notes after its commit."""
        if after != before:
            await self._inbox.save_left_message(tx, after)
        row = await self._inbox.left_message(tx, after.id)
        assert row is not None
        notes = await self._notes(tx, after.workgroup_id, row) if after != before else []
        return message_out(row), notes

    # Admins: hours and the workgroup's address ------------------------------------------------

    async def hours(self, actor: Principal, slug: str) -> HoursSettings:
        access.require_role(actor, StaffRole.ADMIN)
        async with self._db.read() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            row = await self._workgroups.workgroup_hours(tx, wg.id)
        if row is None:
            return HoursSettings(None)
        return HoursSettings(row.hours, row.email, row.queue_without_agents)

    async def set_hours(
        self, actor: Principal | None, slug: str, settings: HoursSettings
    ) -> HoursSettings:
        """``actor`` None: the command line. Hours None: always open."""
        if actor is not None:
            access.require_role(actor, StaffRole.ADMIN)
        if settings.email and not policy.looks_like_email(settings.email):
            raise InvalidInput("the workgroup's email address is not valid")
        hours = settings.hours or BusinessHours("UTC")
        check_timezone(hours.timezone)
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            await self._workgroups.save_workgroup_hours(
                tx, wg.id, HoursRow(hours, settings.queue_without_agents, settings.email)
            )
        # Opening, closing and the queueing policy matter to the workgroup's routing.
        await self._bus.publish([Kick(workgroup_id=wg.id)])
        return replace(settings, hours=None if settings.hours is None else hours)

    # Mail -------------------------------------------------------------------------------------

    async def send_due(self) -> datetime | None:
        """Make every email attempt that is due; returns when the next one is."""
        for _ in range(MAX_SENDS_PER_RUN):
            now = self._clock.now()
            async with self._db.write() as tx:
                due = await self._inbox.emails_due(tx, now, limit=1)
                claimed = bool(due) and await self._inbox.claim_email(
                    tx, due[0][0], due[0][1], now + self._lease
                )
            if not due:
                break
            if claimed:
                await self._attempt(due[0][0])
        async with self._db.read() as tx:
            return await self._inbox.next_email_due(tx)

    async def _attempt(self, message_id: int) -> None:
        async with self._db.read() as tx:
            row = await self._inbox.left_message(tx, message_id)
            if row is None:
                return
            wg = await self._workgroups.workgroup(tx, row.message.workgroup_id)
            settings = await self._workgroups.workgroup_hours(tx, row.message.workgroup_id)
        to = settings.email if settings is not None else ""
        error: str | None = None
        if wg is None or not to or not self._mailer.enabled:
            error = "the workgroup has no email address any more"
        else:
            try:
                mail = compose_left_message(
                    row.message, workgroup_name=wg.name, to=to, sender=self._sender
                )
                await self._mailer.send(mail)
            except MailError as exc:
                error = str(exc)
                log.warning("left message %s: email failed: %s", message_id, error)
        now = self._clock.now()
        async with self._db.write() as tx:
            current = await self._inbox.left_message(tx, message_id, lock=True)
            if current is None:
                return
            msg = current.message
            if error is None:
                after = policy.email_sent(msg, now)
            elif not to:
                after = replace(msg, last_email_error=error, next_email_at=None)
            else:
                after = policy.email_failed(msg, error, now)
            await self._inbox.save_left_message(tx, after)
            updated = await self._inbox.left_message(tx, message_id)
            notes = await self._notes(tx, after.workgroup_id, updated)
        await self._bus.publish(notes)

    # Notifications ----------------------------------------------------------------------------

    async def _notes(
        self, tx: Tx, workgroup_id: int, row: LeftMessageRow | None
    ) -> list[Notification]:
        """``left_message`` for the workgroup's members and every supervisor and admin."""
        if row is None:
            return []
        members = set(await self._workgroups.members(tx, workgroup_id))
        recipients = sorted(
            u.id
            for u in await self._staff.list_users(tx)
            if u.active and (u.id in members or u.role is not StaffRole.AGENT)
        )
        message = InboxMessage(message=message_out(row)).model_dump(mode="json")
        return [ToUser(user_id=user_id, message=message) for user_id in recipients]


class MailLoop:
    """Sends left messages' emails: at once when woken, and each retry when it falls due."""

    def __init__(self, inbox: InboxService, clock: Clock, *, interval: timedelta) -> None:
        self._inbox = inbox
        self._clock = clock
        self._interval = interval

    async def run(self) -> None:
        while True:
            self._inbox.mail_waiting.clear()
            try:
                due = await self._inbox.send_due()
            except Exception:
                # The messages are in the database: the next run tries again.
                log.exception("sending left messages failed")
                due = None
            wake_at = self._clock.now() + self._interval
            if due is not None:
                wake_at = min(wake_at, due)
            await wait_first(self._inbox.mail_waiting, self._clock.sleep_until(wake_at))


async def _workgroup(tx: Tx, workgroups: WorkgroupStore, slug: str) -> WorkgroupRow:
    wg = await workgroups.workgroup_by_slug(tx, slug)
    if wg is None:
        raise NotFound(f"no workgroup {slug!r}")
    return wg
