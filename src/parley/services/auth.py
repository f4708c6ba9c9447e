"""Staff authentication (passwords, sessions, API tokens) and visitor tokens.

Session and API tokens are random; only their SHA-256 is stored, with a random public id to list
and revoke them by. API tokens have a name and always expire; the last use of every token is
recorded, at most once a minute. Cookie sessions carry a CSRF token that cookie-authenticated
writes must echo in ``X-CSRF-Token``. Visitor tokens are signed with a key kept in the database
(so that every node shares it), name exactly one conversation, and expire some time after it
ended.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer

from parley.clock import Clock
from parley.domain import access
from parley.domain import accounts as account_policy
from parley.domain.access import Staff, StaffRole, Visitor
from parley.domain.errors import (
    InternalOnly,
    InvalidInput,
    NotFound,
    TwoFactorEnrolmentRequired,
    TwoFactorFailed,
    Unauthenticated,
)
from parley.realtime.bus import Bus
from parley.realtime.notifications import Revoke
from parley.storage.accounts import AccountStore
from parley.storage.conversations import ConversationStore
from parley.storage.db import Database
from parley.storage.staff import StaffStore, TokenRow, UserRow

_hasher = PasswordHasher()
# Verified against when the username does not exist, so that timing does not reveal it.
_DUMMY_HASH = _hasher.hash("parley-dummy-password")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, password)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def staff_of(user: UserRow) -> Staff:
    return Staff(user.id, user.username, user.display_name, user.role)


@dataclass(frozen=True, slots=True)
class Login:
    token: str
    csrf_token: str
    staff: Staff
    #: The policy requires two-factor sign-in and the account has not enrolled: this session
    #: may only enrol (its token's kind is ``enrol``).
    must_enrol: bool = False


@dataclass(frozen=True, slots=True)
class TwoFactorPending:
    """The password was right and the account signs in with a code: step two takes
    ``token`` (signed, short-lived) and a TOTP or recovery code."""

    token: str
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class Authenticated:
    staff: Staff
    kind: str  # session | api | enrol
    csrf_token: str
    token_hash: str = ""


#: How long the second step of a sign-in may wait for its code.
TWO_FACTOR_PENDING = timedelta(minutes=5)
#: The kind of session an account that must enrol in two-factor sign-in gets: enrolling only.
ENROL = "enrol"


def recovery_hash(code: str) -> str:
    """Recovery codes are random (80 bits), so a plain SHA-256 keeps them as well as a slow
    hash would; spaces and dashes and case do not matter when one is typed."""
    return hash_token("recovery:" + code.replace("-", "").replace(" ", "").lower())


#: A token's last use is written at most this often (per token, across nodes).
TOUCH_INTERVAL = timedelta(minutes=1)
#: The lifetime of an API token created without one (capped by ``api_token_max_days``).
DEFAULT_API_TOKEN_DAYS = 90


@dataclass(frozen=True, slots=True)
class ApiToken:
    """What its owner and admins see of an API token: never the token, never its hash."""

    id: str
    user_id: int
    name: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: TokenRow) -> ApiToken:
        return cls(
            row.public_id, row.user_id, row.label, row.created_at, row.expires_at, row.last_used_at
        )


@dataclass(frozen=True, slots=True)
class NewApiToken:
    token: str  # shown once, at creation
    info: ApiToken


class AuthService:
    def __init__(
        self,
        db: Database,
        bus: Bus,
        clock: Clock,
        *,
        session_days: int,
        api_token_max_days: int = 365,
        visitor_token_lifetime: timedelta = timedelta(hours=24),
        staff: StaffStore,
        conversations: ConversationStore,
        accounts: AccountStore,
    ) -> None:
        self._staff = staff
        self._conversations = conversations
        self._accounts = accounts
        self._pending_signer: URLSafeSerializer | None = None
        self._db = db
        self._bus = bus
        self._clock = clock
        self._session_lifetime = timedelta(days=session_days)
        self._visitor_signer: URLSafeSerializer | None = None
        self._api_token_max_days = api_token_max_days
        self._visitor_lifetime = visitor_token_lifetime

    async def start(self) -> None:
        async with self._db.write() as tx:
            key = await self._staff.server_key(tx, "visitor_token_key", secrets.token_urlsafe(32))
        self._visitor_signer = URLSafeSerializer(key, salt="parley.visitor")
        async with self._db.write() as tx:
            key = await self._staff.server_key(tx, "two_factor_key", secrets.token_urlsafe(32))
        self._pending_signer = URLSafeSerializer(key, salt="parley.two-factor")

    async def login(self, username: str, password: str) -> Login | TwoFactorPending:
        """Step one: the password. An account enrolled in two-factor sign-in gets a
        ``TwoFactorPending`` (step two: ``second_step``); one that the policy requires to
        enrol but has not, a session that may only enrol; a guest, while the network is
        internal-only, ``InternalOnly``."""
        async with self._db.read() as tx:
            user = await self._staff.user_by_username(tx, username)
            policy = await self._accounts.policy(tx)
        ok = await _verify(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not ok or not user.active:
            raise Unauthenticated("wrong username or password")
        if user.role is StaffRole.GUEST and policy.internal_only:
            raise InternalOnly("guests cannot sign in: this network is internal-only")
        if user.two_factor:
            return self._pending(user)
        must_enrol = account_policy.two_factor_required(policy, user.role)
        kind = ENROL if must_enrol else "session"
        token, csrf = await self._issue(user, kind, "", self._session_lifetime)
        return Login(token, csrf, staff_of(user), must_enrol)

    def _pending(self, user: UserRow) -> TwoFactorPending:
        assert self._pending_signer is not None, "AuthService.start() was not awaited"
        expires_at = self._clock.now() + TWO_FACTOR_PENDING
        # The password hash's tail: a password changed since voids the pending sign-in.
        payload = {"u": user.id, "p": user.password_hash[-12:], "e": expires_at.timestamp()}
        return TwoFactorPending(str(self._pending_signer.dumps(payload)), expires_at)

    def pending_user(self, token: str) -> int:
        """The account a pending sign-in is for (forged or expired: ``Unauthenticated``)."""
        return self._pending_payload(token)[0]

    def _pending_payload(self, token: str) -> tuple[int, str]:
        assert self._pending_signer is not None, "AuthService.start() was not awaited"
        try:
            payload = self._pending_signer.loads(token)
        except BadSignature:
            raise Unauthenticated("this sign-in has expired; enter your password again") from None
        if (
            not isinstance(payload, dict)
            or not isinstance(payload.get("u"), int)
            or not isinstance(payload.get("e"), (int, float))
            or self._clock.now().timestamp() >= payload["e"]
        ):
            raise Unauthenticated("this sign-in has expired; enter your password again")
        return int(payload["u"]), str(payload.get("p"))

    async def second_step(
        self, token: str, code: str | None, recovery_code: str | None
    ) -> tuple[Login, bool]:
        """Step two: a TOTP code (accepted once: its time step is recorded) or a recovery code
        (deleted as it is used). Returns the session and whether a recovery code was used."""
        user_id, fingerprint = self._pending_payload(token)
        now = self._clock.now()
        async with self._db.write() as tx:
            user = await self._staff.user(tx, user_id)
            if user is None or not user.active or user.password_hash[-12:] != fingerprint:
                raise Unauthenticated("this sign-in has expired; enter your password again")
            totp = await self._accounts.totp(tx, user_id, lock=True)
            if not totp.enabled or totp.secret is None:
                raise Unauthenticated("this sign-in has expired; enter your password again")
            if code is not None:
                step = account_policy.matching_step(totp.secret, code, now, totp.last_step)
                if step is None or not await self._accounts.use_step(tx, user_id, step):
                    raise TwoFactorFailed("wrong or already used code")
            elif recovery_code is None or not await self._accounts.use_recovery_code(
                tx, user_id, recovery_hash(recovery_code)
            ):
                raise TwoFactorFailed("wrong or already used code")
            policy = await self._accounts.policy(tx)
        if user.role is StaffRole.GUEST and policy.internal_only:
            raise InternalOnly("guests cannot sign in: this network is internal-only")
        token_, csrf = await self._issue(user, "session", "", self._session_lifetime)
        return Login(token_, csrf, staff_of(user)), code is None

    async def finish_enrolment(self, token_hash: str) -> None:
        """An enrol-only session becomes an ordinary one once the first code was right."""
        async with self._db.write() as tx:
            await self._staff.set_token_kind(tx, token_hash, ENROL, "session")

    async def create_api_token(
        self, staff: Staff, name: str, expires_in_days: int | None = None
    ) -> NewApiToken:
        """A new API token of ``staff``, valid ``expires_in_days`` (default 90, at most
        ``api_token_max_days``). API tokens always expire."""
        days = expires_in_days
        if days is None:
            days = min(DEFAULT_API_TOKEN_DAYS, self._api_token_max_days)
        if not 1 <= days <= self._api_token_max_days:
            raise InvalidInput(f"expires_in_days must be between 1 and {self._api_token_max_days}")
        async with self._db.read() as tx:
            user = await self._staff.user(tx, staff.user_id)
        if user is None:
            raise Unauthenticated("unknown user")
        token, row = await self._issue_row(user, "api", name, timedelta(days=days))
        return NewApiToken(token, ApiToken.of(row))

    async def api_tokens(self, staff: Staff, username: str | None = None) -> list[ApiToken]:
        """The API tokens of ``staff`` (or, for an admin, of the user ``username``)."""
        async with self._db.read() as tx:
            if username is None:
                owner_id: int | None = staff.user_id
            else:
                user = await self._staff.user_by_username(tx, username)
                owner_id = None if user is None else user.id
            if owner_id is None or not access.can_manage_token(staff, owner_id):
                raise NotFound("no such user")
            rows = await self._staff.tokens_of(tx, owner_id, "api")
        return [ApiToken.of(r) for r in rows]

    async def revoke_api_token(
        self, staff: Staff, token_id: str, *, username: str | None = None
    ) -> None:
        """Delete the API token ``token_id`` and close the sockets opened with it. A token that
        ``staff`` may not manage (or, with ``username``, of another user) does not exist."""
        async with self._db.write() as tx:
            row = await self._staff.token_by_public_id(tx, token_id)
            owner = None
            if row is not None and username is not None:
                owner = await self._staff.user_by_username(tx, username)
            if (
                row is None
                or row.kind != "api"
                or not access.can_manage_token(staff, row.user_id)
                or (username is not None and (owner is None or owner.id != row.user_id))
            ):
                raise NotFound("no such token")
            await self._staff.delete_token(tx, row.token_hash)
        await self._bus.publish([Revoke(user_id=row.user_id, token_hash=row.token_hash)])

    async def _issue(
        self, user: UserRow, kind: str, label: str, lifetime: timedelta | None
    ) -> tuple[str, str]:
        token, row = await self._issue_row(user, kind, label, lifetime)
        return token, row.csrf_token

    async def _issue_row(
        self, user: UserRow, kind: str, label: str, lifetime: timedelta | None
    ) -> tuple[str, TokenRow]:
        now = self._clock.now()
        token = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24)
        row = TokenRow(
            hash_token(token),
            user.id,
            kind,
            csrf,
            label,
            now,
            None if lifetime is None else now + lifetime,
            secrets.token_hex(12),
            None,
        )
        async with self._db.write() as tx:
            await self._staff.insert_token(tx, row)
        return token, row

    async def authenticate(self, token: str, *, enrolling: bool = False) -> Authenticated:
        """The staff member a session or API token is for. A session that may only enrol in
        two-factor sign-in is refused (``TwoFactorEnrolmentRequired``) unless ``enrolling``
        (the enrolment routes, ``/auth/me``, logout)."""
        async with self._db.read() as tx:
            found = await self._staff.token(tx, hash_token(token))
        if found is None:
            raise Unauthenticated("not logged in")
        row, user = found
        now = self._clock.now()
        if not user.active or (row.expires_at is not None and row.expires_at <= now):
            raise Unauthenticated("this session has ended; log in again")
        if row.kind == ENROL and not enrolling:
            raise TwoFactorEnrolmentRequired(
                "this account must sign in with a second factor: enrol first (POST /api/v1/me/2fa)"
            )
        if row.last_used_at is None or row.last_used_at <= now - TOUCH_INTERVAL:
            # At most one write a minute per token, not one per request.
            async with self._db.write() as tx:
                await self._staff.touch_token(tx, row.token_hash, now, now - TOUCH_INTERVAL)
        return Authenticated(staff_of(user), row.kind, row.csrf_token, row.token_hash)

    async def logout(self, token: str) -> None:
        token_hash = hash_token(token)
        async with self._db.write() as tx:
            found = await self._staff.token(tx, token_hash)
            await self._staff.delete_token(tx, token_hash)
        if found is not None:
            # Sockets opened with this session close too, on every node.
            await self._bus.publish([Revoke(user_id=found[0].user_id, token_hash=token_hash)])

    def visitor_token(self, conversation_id: str) -> str:
        assert self._visitor_signer is not None, "AuthService.start() was not awaited"
        return str(self._visitor_signer.dumps({"c": conversation_id}))

    async def visitor(self, token: str) -> Visitor:
        """The visitor a token was issued to. It names one conversation and is refused
        (``Unauthenticated``, like a forged one) from ``visitor_token_hours`` after that
        conversation ended: the end time is read from the database on every use."""
        visitor = self._signed_visitor(token)
        if await self._expired(visitor):
            raise Unauthenticated("this visitor token has expired: its chat ended")
        return visitor

    async def follow_up_visitor(self, token: str) -> Visitor | None:
        """For a message left after a chat: the visitor, or None when the token has expired (the
        message is then kept, only not linked to the chat). A forged token is refused."""
        visitor = self._signed_visitor(token)
        return None if await self._expired(visitor) else visitor

    async def _expired(self, visitor: Visitor) -> bool:
        async with self._db.read() as tx:
            ended_at = await self._conversations.conversation_ended_at(tx, visitor.conversation_id)
        return self.visitor_expired(ended_at)

    def visitor_expired(self, ended_at: datetime | None) -> bool:
        """Whether a visitor token of a conversation that ended at ``ended_at`` is refused."""
        return ended_at is not None and self._clock.now() >= ended_at + self._visitor_lifetime

    def signed_visitor(self, token: str) -> Visitor:
        """The visitor a token names, checking only its signature: the caller checks
        ``visitor_expired`` on the conversation it reads (a WebSocket hello reads it anyway),
        else use ``visitor``."""
        return self._signed_visitor(token)

    def _signed_visitor(self, token: str) -> Visitor:
        assert self._visitor_signer is not None, "AuthService.start() was not awaited"
        try:
            payload = self._visitor_signer.loads(token)
        except BadSignature:
            raise Unauthenticated("invalid visitor token") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("c"), str):
            raise Unauthenticated("invalid visitor token")
        return Visitor(payload["c"])


def csrf_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected, given)
