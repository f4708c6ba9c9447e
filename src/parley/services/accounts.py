"""The account policy, two-factor enrolment, and guests.

- The policy (``domain.accounts.AccountPolicy``), for admins: a change is audited, and applied
  at once: a stricter ``require_2fa`` ends the console sessions of those who must now enrol
  (they sign in again, to enrol); ``internal_only`` switched on deletes pending guest
  invitations, ends every guest's sessions and removes each guest from their room (a ``left``
  entry, their connections stop following it).
- Two-factor enrolment (TOTP): ``enrol`` makes a secret (shown this once, with its
  ``otpauth://`` URI), ``confirm`` checks a first code and turns it on, making recovery codes
  (shown once, kept hashed); an admin may ``reset`` someone's.
- Guests: a room's owner ``invite_guest`` by email (a token, shown once to the inviter and
  emailed when mail is configured); ``accept_guest`` makes the guest account (role ``guest``,
  ``domain.access.can_read_as_guest``) and adds it to that room.

Every change writes an audit row (``storage.audit``) in its own transaction.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import quote

from sqlalchemy.exc import IntegrityError

from parley.clock import Clock
from parley.domain import access
from parley.domain import accounts as policy_rules
from parley.domain import im as im_policy
from parley.domain.access import NO_SUCH_CONVERSATION, Staff, StaffRole, require_role
from parley.domain.accounts import AccountPolicy
from parley.domain.conversation import Conversation, Participant, Role, staff_key
from parley.domain.errors import Conflict, InternalOnly, InvalidInput, NotFound, Unauthenticated
from parley.domain.names import shown_name
from parley.mail import Mailer, MailError
from parley.protocol import EntryOut
from parley.realtime.bus import Bus
from parley.realtime.notifications import Appended, Follow, Notification, Revoke, Unfollow
from parley.services.admin import MIN_PASSWORD_CHARS, check_name
from parley.services.auth import AuthService, hash_password, hash_token, recovery_hash
from parley.services.directory import DirectoryService
from parley.services.house_rules import actor_of
from parley.storage.accounts import AccountStore, GuestInvitationRow
from parley.storage.audit import AuditStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.rooms import RoomStore
from parley.storage.sealing import Sealer
from parley.storage.staff import StaffStore, UserRow
from parley.storage.tx import Tx

log = logging.getLogger(__name__)

#: The audit log's name for the command line (no signed-in actor).
OPERATOR = "operator"
NO_SUCH_INVITATION = "no such invitation, or it has expired or been used"


def actor_name(actor: Staff | None) -> str:
    return OPERATOR if actor is None else actor_of(actor)


def user_subject(user_id: int) -> str:
    return f"user:{user_id}"


@dataclass(frozen=True, slots=True)
class Enrolment:
    secret: str
    uri: str


@dataclass(frozen=True, slots=True)
class TwoFactorStatus:
    enabled: bool
    required: bool
    recovery_codes_left: int


@dataclass(frozen=True, slots=True)
class GuestInvitation:
    id: str
    conversation_id: str
    email: str
    expires_at: datetime
    token: str  # shown once, to the inviter
    emailed: bool


class AccountService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        auth: AuthService,
        mailer: Mailer,
        *,
        sender: str,
        guest_invitation_lifetime: timedelta,
        console_url: str | None = None,
        staff: StaffStore,
        accounts: AccountStore,
        audit: AuditStore,
        conversations: ConversationStore,
        rooms: RoomStore,
        sealer: Sealer,
        directory: DirectoryService,
    ) -> None:
        """``sealer``: the key ring ``accounts`` seals TOTP secrets with (``start`` loads it)."""
        self._sealer = sealer
        self._directory = directory
        self._db = db
        self._bus = bus
        self._clock = clock
        self._auth = auth
        self._mailer = mailer
        self._sender = sender
        self._guest_lifetime = guest_invitation_lifetime
        #: The console's address (``https://chat.example.com/console/``), for the link in a
        #: guest's invitation; None when the server does not know its public URL.
        self._console_url = console_url
        self._staff = staff
        self._accounts = accounts
        self._audit = audit
        self._conversations = conversations
        self._rooms = rooms

    async def start(self) -> None:
        """Load the secrets key (made on a first start, unless the database already holds
        secrets sealed with one: then a missing key file stops the start, ``SealingError``),
        then seal with its first key every TOTP secret that is not: those in the clear from
        before 0017 and those sealed with an older key after a rotation."""
        async with self._db.read() as tx:
            sealed = await self._accounts.any_sealed_secret(tx)
        await asyncio.to_thread(self._sealer.load, create=not sealed)
        async with self._db.write() as tx:
            done, unreadable = await self._accounts.reseal_secrets(tx)
        if done:
            log.info("sealed %d two-factor secret(s) with the first secrets key", done)
        if unreadable:
            log.error(
                "%d two-factor secret(s) are sealed with a key %s does not hold: those accounts "
                "cannot sign in with a code until the key is back (or an admin resets their "
                "two-factor sign-in)",
                unreadable,
                self._sealer.path,
            )

    # The policy -----------------------------------------------------------------------------

    async def policy(self, actor: Staff) -> AccountPolicy:
        require_role(actor, StaffRole.ADMIN)
        async with self._db.read() as tx:
            return await self._accounts.policy(tx)

    async def set_policy(
        self,
        actor: Staff | None,
        new: AccountPolicy | Callable[[AccountPolicy], AccountPolicy],
    ) -> AccountPolicy:
        """Set the account policy (``new``, or ``new(current)`` for a change of some of it).
        A new ``name_format`` renames every account as others see it (``display_name`` from
        the name as entered), in the same transaction; names already in conversations stay
        as they were when their people joined, as after a rename."""
        if actor is not None:
            require_role(actor, StaffRole.ADMIN)
        now = self._clock.now()
        notes: list[Notification] = []
        guests: list[UserRow] = []
        renamed: list[int] = []
        async with self._db.write() as tx:
            old = await self._accounts.policy(tx)
            new = (new if isinstance(new, AccountPolicy) else new(old)).validated()
            await self._accounts.set_policy(tx, new)
            if new.name_format is not old.name_format:
                for user in await self._staff.list_users(tx):
                    shown = shown_name(user.entered_name, new.name_format)
                    if shown != user.display_name:
                        await self._staff.update_user(
                            tx, user.id, display_name=shown, name_as_entered=user.entered_name
                        )
                        renamed.append(user.id)
            await self._audit.record(
                tx,
                now,
                actor_name(actor),
                "account_policy.updated",
                "account_policy",
                {"before": old.plain(), "after": new.plain()},
            )
            # Who must now enrol and has not: their sessions end (they sign in to enrol).
            must_enrol = [
                u.id
                for u in await self._staff.list_users(tx)
                if u.active
                and not u.two_factor
                and policy_rules.two_factor_required(new, u.role)
                and not policy_rules.two_factor_required(old, u.role)
            ]
            if new.internal_only:
                await self._accounts.delete_pending_guest_invitations(tx)
                guests = await self._staff.users_with_role(tx, StaffRole.GUEST)
            ended = await self._staff.delete_sessions_of(
                tx, sorted({*must_enrol, *(g.id for g in guests)})
            )
            notes += [Revoke(user_id=t.user_id, token_hash=t.token_hash) for t in ended]
        await self._bus.publish(notes)
        # Open consoles show the new names at once (``staff_profile``), not after a reload.
        await self._directory.announce(renamed)
        if new.internal_only:
            await self._remove_guests(guests)
        return new

    async def _remove_guests(self, guests: list[UserRow]) -> None:
        """Each guest leaves every room they are in (internal-only was switched on)."""
        now = self._clock.now()
        for guest in guests:
            async with self._db.write() as tx:
                ids = await self._rooms.conversations_of(tx, guest.id, 1000)
                notes: list[Notification] = []
                for conversation_id in ids:
                    conv = await self._conversations.conversation(tx, conversation_id, lock=True)
                    me = None if conv is None else conv.participant(staff_key(guest.id))
                    if conv is None or me is None or not me.present:
                        continue
                    conv, entry = im_policy.leave_room(conv, me.key, now)
                    await self._conversations.save_conversation(tx, conv)
                    await self._conversations.insert_entries(tx, conv.id, [entry])
                    notes += [
                        Appended(conversation_id=conv.id, entries=[EntryOut.of(entry)]),
                        Unfollow(user_id=guest.id, conversation_id=conv.id),
                    ]
                if notes:
                    await self._audit.record(
                        tx,
                        now,
                        OPERATOR,
                        "account.guest_removed",
                        user_subject(guest.id),
                        {"reason": "internal_only", "rooms": ids},
                    )
            await self._bus.publish(notes)

    # Two-factor -----------------------------------------------------------------------------

    async def two_factor(self, me: Staff) -> TwoFactorStatus:
        async with self._db.read() as tx:
            totp = await self._accounts.totp(tx, me.user_id)
            policy = await self._accounts.policy(tx)
            left = await self._accounts.recovery_codes_left(tx, me.user_id)
        return TwoFactorStatus(
            totp.enabled, policy_rules.two_factor_required(policy, me.role), left
        )

    async def enrol(self, me: Staff) -> Enrolment:
        """A new secret, to confirm with a first code. Enrolling again before confirming
        replaces it; once confirmed, an admin's reset is needed to enrol again."""
        secret = policy_rules.new_secret()
        async with self._db.write() as tx:
            totp = await self._accounts.totp(tx, me.user_id, lock=True)
            if totp.enabled:
                raise Conflict("two-factor sign-in is on already; an admin can reset it")
            await self._accounts.set_totp(
                tx, me.user_id, secret=secret, enabled=False, last_step=None
            )
        return Enrolment(secret, policy_rules.provisioning_uri(secret, me.username))

    async def confirm(self, me: Staff, code: str, token_hash: str) -> list[str]:
        """Turn two-factor sign-in on with a first right code; returns the recovery codes
        (shown this once). An enrol-only session becomes an ordinary one."""
        now = self._clock.now()
        codes = [_recovery_code() for _ in range(policy_rules.RECOVERY_CODES)]
        async with self._db.write() as tx:
            totp = await self._accounts.totp(tx, me.user_id, lock=True)
            if totp.enabled or totp.secret is None:
                raise Conflict("nothing to confirm: enrol first (POST /api/v1/me/2fa)")
            step = policy_rules.matching_step(totp.secret, code, now, totp.last_step)
            if step is None:
                raise InvalidInput("wrong code: enter the one your app shows now")
            await self._accounts.set_totp(
                tx, me.user_id, secret=totp.secret, enabled=True, last_step=step
            )
            await self._accounts.replace_recovery_codes(
                tx, me.user_id, [recovery_hash(c) for c in codes], now
            )
            await self._audit.record(
                tx, now, actor_of(me), "account.2fa_enrolled", user_subject(me.user_id), {}
            )
        if token_hash:
            await self._auth.finish_enrolment(token_hash)
        return codes

    async def reset_two_factor(self, actor: Staff, username: str) -> None:
        """An admin turns someone's two-factor sign-in off (a lost phone): their secret and
        recovery codes are gone and their sessions end."""
        require_role(actor, StaffRole.ADMIN)
        now = self._clock.now()
        async with self._db.write() as tx:
            user = await self._staff.user_by_username(tx, username)
            if user is None:
                raise NotFound(f"no user {username!r}")
            await self._accounts.set_totp(tx, user.id, secret=None, enabled=False, last_step=None)
            await self._accounts.replace_recovery_codes(tx, user.id, [], now)
            ended = await self._staff.delete_sessions_of(tx, [user.id])
            await self._audit.record(
                tx, now, actor_of(actor), "account.2fa_reset", user_subject(user.id), {}
            )
        await self._bus.publish([Revoke(user_id=t.user_id, token_hash=t.token_hash) for t in ended])

    # Guests ---------------------------------------------------------------------------------

    async def invite_guest(self, me: Staff, conversation_id: str, email: str) -> GuestInvitation:
        """A room's owner invites someone outside the company by email. Refused while the
        network is internal-only (``InternalOnly``)."""
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        row = GuestInvitationRow(
            hash_token(token),
            secrets.token_hex(12),
            conversation_id,
            email,
            me.user_id,
            now,
            now + self._guest_lifetime,
            None,
        )
        async with self._db.write() as tx:
            policy = await self._accounts.policy(tx)
            if policy.internal_only:
                raise InternalOnly("guests cannot be invited: this network is internal-only")
            conv = await self._room(tx, me, conversation_id)
            access.require_guest_inviter(me, conv)
            await self._accounts.insert_guest_invitation(tx, row)
            await self._audit.record(
                tx,
                now,
                actor_of(me),
                "account.guest_invited",
                conversation_id,
                {"email": email, "invitation": row.public_id},
            )
        emailed = await self._email_invitation(email, token, conv.room.name if conv.room else "")
        return GuestInvitation(
            row.public_id, conversation_id, email, row.expires_at, token, emailed
        )

    async def _room(self, tx: Tx, me: Staff, conversation_id: str) -> Conversation:
        conv = await self._conversations.conversation(tx, conversation_id)
        if conv is None or not access.can_read(me, conv):
            raise NotFound(NO_SUCH_CONVERSATION)
        return conv

    async def _email_invitation(self, email: str, token: str, room: str) -> bool:
        if not self._mailer.enabled:
            return False
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = email
        message["Subject"] = f"You are invited to the room {room!r} on Parley"[:200]
        # The console's acceptance page reads the token from the URL's fragment, which
        # browsers never send to a server (docs/protocol.md, "Accounts").
        page = f"#/guest?token={quote(token, safe='')}"
        where = (
            f"Accept it here, choosing a username and a password:\n{self._console_url}{page}\n\n"
            if self._console_url
            else "Accept it on the console of the server that invited you, at the address\n"
            f"/console/{page}\n(or with POST /api/v1/guests/accept).\n\n"
        )
        message.set_content(
            "You were invited into a room as a guest.\n\n"
            f"{where}"
            f"Your invitation code: {token}\n"
            "It is valid once and expires.\n"
        )
        try:
            await self._mailer.send(message)
        except MailError as exc:
            log.warning("a guest invitation was not emailed: %s", exc)
            return False
        return True

    async def accept_guest(
        self, token: str, username: str, password: str, display_name: str
    ) -> UserRow:
        """The guest account, made with a pending invitation, joined to its room."""
        check_name("a username", username)
        if len(password) < MIN_PASSWORD_CHARS:
            raise InvalidInput(f"a password needs at least {MIN_PASSWORD_CHARS} characters")
        display_name = display_name.strip() or username
        if len(display_name) > 128:
            raise InvalidInput("a display name is limited to 128 characters")
        password_hash = await hash_password(password)
        now = self._clock.now()
        try:
            async with self._db.write() as tx:
                policy = await self._accounts.policy(tx)
                if policy.internal_only:
                    raise InternalOnly("guests cannot sign up: this network is internal-only")
                invitation = await self._accounts.guest_invitation(tx, hash_token(token), lock=True)
                if (
                    invitation is None
                    or invitation.accepted_by is not None
                    or invitation.expires_at <= now
                ):
                    raise Unauthenticated(NO_SUCH_INVITATION)
                if await self._staff.user_by_username(tx, username) is not None:
                    raise Conflict(f"the username {username!r} is taken")
                entered, display_name = display_name, shown_name(display_name, policy.name_format)
                user_id = await self._staff.insert_user(
                    tx,
                    username,
                    display_name,
                    StaffRole.GUEST,
                    password_hash,
                    now,
                    email=invitation.email,
                    name_as_entered=entered,
                )
                if not await self._accounts.accept_guest_invitation(
                    tx, invitation.token_hash, user_id
                ):
                    raise Unauthenticated(NO_SUCH_INVITATION)
                conv = await self._conversations.conversation(
                    tx, invitation.conversation_id, lock=True
                )
                if conv is None:
                    raise Unauthenticated(NO_SUCH_INVITATION)
                member = Participant(staff_key(user_id), Role.MEMBER, display_name, now, user_id)
                conv, entry = im_policy.add_member(conv, member, now)
                notes: list[Notification] = []
                if entry is not None:
                    await self._conversations.save_conversation(tx, conv)
                    await self._conversations.insert_entries(tx, conv.id, [entry])
                    await self._rooms.set_read_marker(tx, conv.id, user_id, entry.seq, now)
                    notes = [
                        Appended(conversation_id=conv.id, entries=[EntryOut.of(entry)]),
                        Follow(user_id=user_id, conversation_id=conv.id, cursor=entry.seq - 1),
                    ]
                await self._audit.record(
                    tx,
                    now,
                    user_subject(user_id),
                    "account.guest_created",
                    user_subject(user_id),
                    {
                        "email": invitation.email,
                        "room": conv.id,
                        "invitation": invitation.public_id,
                    },
                )
                user = await self._staff.user(tx, user_id)
        except IntegrityError:
            raise Conflict(f"the username {username!r} is taken") from None
        assert user is not None
        await self._bus.publish(notes)
        return user


def _recovery_code() -> str:
    raw = secrets.token_hex(10)  # 80 bits, as xxxxx-xxxxx-xxxxx-xxxxx
    return f"{raw[:5]}-{raw[5:10]}-{raw[10:15]}-{raw[15:]}"
