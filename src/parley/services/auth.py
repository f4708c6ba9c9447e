"""Staff authentication (passwords, sessions, API tokens) and visitor tokens.

Session and API tokens are random; only their SHA-256 is stored. Cookie sessions carry a CSRF
token that cookie-authenticated writes must echo in ``X-CSRF-Token``. Visitor tokens are signed
with a key kept in the database (so that every node shares it) and name exactly one conversation.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeSerializer

from parley.clock import Clock
from parley.domain.access import Staff, Visitor
from parley.domain.errors import Unauthenticated
from parley.realtime.bus import Bus
from parley.realtime.notifications import Revoke
from parley.storage.db import Database
from parley.storage.store import TokenRow, UserRow

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


@dataclass(frozen=True, slots=True)
class Authenticated:
    staff: Staff
    kind: str  # session | api
    csrf_token: str


class AuthService:
    def __init__(self, db: Database, bus: Bus, clock: Clock, *, session_days: int) -> None:
        self._db = db
        self._bus = bus
        self._clock = clock
        self._session_lifetime = timedelta(days=session_days)
        self._visitor_signer: URLSafeSerializer | None = None

    async def start(self) -> None:
        async with self._db.write() as store:
            key = await store.server_key("visitor_token_key", secrets.token_urlsafe(32))
        self._visitor_signer = URLSafeSerializer(key, salt="parley.visitor")

    async def login(self, username: str, password: str) -> Login:
        async with self._db.read() as store:
            user = await store.user_by_username(username)
        ok = await _verify(user.password_hash if user else _DUMMY_HASH, password)
        if user is None or not ok or not user.active:
            raise Unauthenticated("wrong username or password")
        token, csrf = await self._issue(user, "session", "", self._session_lifetime)
        return Login(token, csrf, staff_of(user))

    async def create_api_token(self, staff: Staff, label: str) -> str:
        async with self._db.read() as store:
            user = await store.user(staff.user_id)
        if user is None:
            raise Unauthenticated("unknown user")
        token, _ = await self._issue(user, "api", label, None)
        return token

    async def _issue(
        self, user: UserRow, kind: str, label: str, lifetime: timedelta | None
    ) -> tuple[str, str]:
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
        )
        async with self._db.write() as store:
            await store.insert_token(row)
        return token, csrf

    async def authenticate(self, token: str) -> Authenticated:
        async with self._db.read() as store:
            found = await store.token(hash_token(token))
        if found is None:
            raise Unauthenticated("not logged in")
        row, user = found
        if not user.active or (row.expires_at is not None and row.expires_at <= self._clock.now()):
            raise Unauthenticated("this session has ended; log in again")
        return Authenticated(staff_of(user), row.kind, row.csrf_token)

    async def logout(self, token: str) -> None:
        token_hash = hash_token(token)
        async with self._db.write() as store:
            found = await store.token(token_hash)
            await store.delete_token(token_hash)
        if found is not None:
            # Sockets opened with this session close too, on every node.
            await self._bus.publish([Revoke(user_id=found[0].user_id, token_hash=token_hash)])

    def visitor_token(self, conversation_id: str) -> str:
        assert self._visitor_signer is not None, "AuthService.start() was not awaited"
        return str(self._visitor_signer.dumps({"c": conversation_id}))

    def visitor(self, token: str) -> Visitor:
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
