"""Limits on abuse: the shared rate limiter, the login lockout, and the per-connection limits.

``Limiter`` is an adapter over the ``limits`` library (moving windows): its memory storage on one
node, its Redis storage (through redis-py, ``redis.asyncio``) when ``redis_url`` is set, so that
every node counts against the same limit. The rules are settings (``Rules.of``), documented in
``docs/security.md``. A storage failure (Redis down) is logged and the request let through: the
limits protect against abuse, they must not take the service down with Redis.

Per-connection limits (WebSocket frames) need nothing shared: ``ConnectionLimits`` keeps them in
memory with the node's clock (``parley.domain.limits``), and ``ConnectionCap`` counts a node's
open sockets per client address.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from limits import RateLimitItem, RateLimitItemPerSecond, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.errors import StorageError

from parley.domain.access import Principal, StaffRole, require_role
from parley.domain.errors import NotFound, RateLimited, Unauthenticated
from parley.domain.limits import SendGate, TokenBucket, whole_seconds
from parley.metrics import Metrics
from parley.services.auth import AuthService, Login, TwoFactorPending
from parley.settings import Settings
from parley.storage.db import Database
from parley.storage.staff import StaffStore

log = logging.getLogger(__name__)

#: Longest wait for Redis per limits call; past it the call fails open.
REDIS_TIMEOUT_SECS = 2.0
#: Longest key part kept (usernames, slugs and addresses are shorter; anything longer is cut).
MAX_KEY_CHARS = 256


@dataclass(frozen=True, slots=True)
class Rule:
    """One limit: a name (in keys and logs) and a rate, "N per T"."""

    name: str
    item: RateLimitItem

    @classmethod
    def of(cls, name: str, rate: str) -> Rule:
        return cls(name, parse(rate))

    @classmethod
    def once_per(cls, name: str, seconds: int) -> Rule:
        return cls(name, RateLimitItemPerSecond(1, seconds))

    @property
    def amount(self) -> int:
        return int(self.item.amount)

    @property
    def period_secs(self) -> int:
        return int(self.item.get_expiry())


@dataclass(frozen=True, slots=True)
class Rules:
    """Every shared limit, from the settings."""

    login_ip: Rule
    login_failures: Rule
    login_lock: Rule
    chat_ip: Rule
    chat_workgroup: Rule
    message_ip: Rule
    message_workgroup: Rule
    message_email: Rule
    send: Rule
    photo: Rule
    kb_ip: Rule
    kb_workgroup: Rule
    ws_message: Rule
    shopper_ip: Rule
    ws_typing: Rule
    two_factor: Rule

    @classmethod
    def of(cls, settings: Settings) -> Rules:
        return cls(
            login_ip=Rule.of("login_ip", settings.login_ip_limit),
            login_failures=Rule.of("login_failures", settings.login_failure_limit),
            login_lock=Rule.once_per("login_lock", settings.login_lockout_secs),
            chat_ip=Rule.of("chat_ip", settings.chat_ip_limit),
            chat_workgroup=Rule.of("chat_workgroup", settings.chat_workgroup_limit),
            message_ip=Rule.of("message_ip", settings.message_ip_limit),
            message_workgroup=Rule.of("message_workgroup", settings.message_workgroup_limit),
            message_email=Rule.of("message_email", settings.message_email_limit),
            send=Rule.of("send", settings.send_limit),
            photo=Rule.of("photo", settings.photo_limit),
            kb_ip=Rule.of("kb_ip", settings.kb_ip_limit),
            kb_workgroup=Rule.of("kb_workgroup", settings.kb_workgroup_limit),
            ws_message=Rule.of("ws_message", settings.ws_message_limit),
            ws_typing=Rule.of("ws_typing", settings.ws_typing_limit),
            two_factor=Rule.of("two_factor", settings.two_factor_limit),
            shopper_ip=Rule.of("shopper_ip", settings.shopper_ip_limit),
        )


def _key(parts: tuple[str, ...]) -> tuple[str, ...]:
    # "/" separates the parts of a limits key: keep it out of what a client chose.
    return tuple(p.replace("/", "%2F")[:MAX_KEY_CHARS] for p in parts)


class Limiter:
    """Counts hits per rule and key in a ``limits`` storage, with moving windows."""

    def __init__(
        self,
        storage: Storage,
        *,
        close: Callable[[], Awaitable[None]] | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._storage = storage
        self._strategy = MovingWindowRateLimiter(storage)
        self._close = close
        self._metrics = metrics
        #: Refusals per rule name since start (a cheap counter for tests; see ``refused``).
        self.refusals: Counter[str] = Counter()

    def refused(self, name: str) -> None:
        """Count a refusal by the limit ``name`` (also in ``parley_limit_hits_total``)."""
        self.refusals[name] += 1
        if self._metrics is not None:
            self._metrics.limit_hit(name)

    @classmethod
    def in_memory(cls, metrics: Metrics | None = None) -> Limiter:
        return cls(MemoryStorage(wrap_exceptions=True), metrics=metrics)

    @classmethod
    def on_redis(cls, url: str, *, key_prefix: str, metrics: Metrics | None = None) -> Limiter:
        from redis.asyncio import ConnectionPool

        pool = ConnectionPool.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECS, socket_connect_timeout=REDIS_TIMEOUT_SECS
        )
        options: dict[str, Any] = {"connection_pool": pool}
        storage = RedisStorage(
            _limits_uri(url),
            wrap_exceptions=True,
            implementation="redispy",
            key_prefix=key_prefix,
            **options,
        )
        return cls(storage, close=pool.disconnect, metrics=metrics)

    @classmethod
    def for_settings(cls, settings: Settings, metrics: Metrics | None = None) -> Limiter:
        if settings.redis_url:
            # The channel names the installation on a shared Redis; so do the limits' keys.
            prefix = f"{settings.redis_channel}:limits"
            return cls.on_redis(settings.redis_url, key_prefix=prefix, metrics=metrics)
        return cls.in_memory(metrics)

    @property
    def storage(self) -> Storage:
        return self._storage

    async def close(self) -> None:
        if self._close is not None:
            await self._close()

    async def hit(self, rule: Rule, *key: str, message: str) -> None:
        """Count one hit; raise ``RateLimited`` (and count nothing) when over the limit."""
        if not await self.allow(rule, *key):
            raise RateLimited(message, await self.retry_after(rule, *key))

    async def allow(self, rule: Rule, *key: str) -> bool:
        """Count one hit and say whether it was within the limit (a refusal counts nothing)."""
        try:
            ok = await self._strategy.hit(rule.item, rule.name, *_key(key))
        except StorageError as exc:
            log.warning("limit %s not checked (storage failed: %s); allowed", rule.name, exc)
            return True
        if not ok:
            self.refused(rule.name)
            log.info("limit %s reached", rule.name)
        return ok

    async def remaining(self, rule: Rule, *key: str) -> int:
        try:
            stats = await self._strategy.get_window_stats(rule.item, rule.name, *_key(key))
        except StorageError as exc:
            log.warning("limit %s not read (storage failed: %s)", rule.name, exc)
            return rule.amount
        return int(stats.remaining)

    async def retry_after(self, rule: Rule, *key: str) -> int:
        """Whole seconds until one more hit fits (at least 1)."""
        try:
            stats = await self._strategy.get_window_stats(rule.item, rule.name, *_key(key))
        except StorageError:
            return rule.period_secs
        # The library's windows run on the wall clock (Redis entries carry the writer's time).
        return whole_seconds(stats.reset_time - time.time())

    async def clear(self, rule: Rule, *key: str) -> None:
        try:
            await self._strategy.clear(rule.item, rule.name, *_key(key))
        except StorageError as exc:
            log.warning("limit %s not cleared (storage failed: %s)", rule.name, exc)


def _limits_uri(redis_url: str) -> str:
    """The ``limits`` storage URI for a redis-py URL (the connection itself is our pool)."""
    if redis_url.startswith("unix://"):
        return "async+redis+unix://" + redis_url.removeprefix("unix://")
    return "async+" + redis_url


# Logins --------------------------------------------------------------------------------------

LOCKED = (
    "too many failed logins for this account; try again later, or ask an administrator to unlock it"
)
TOO_MANY_LOGINS = "too many login attempts from your address; try again later"


def account_key(username: str) -> str:
    """Failures of "Alice" and "alice " count for the same account (usernames are lowercase)."""
    return username.strip().lower()


class LoginGuard:
    """Logins with limits: per client address, and a lockout per account.

    Every attempt counts against the address (``login_ip``). Each failure counts against the
    account as typed, whether it exists or not (``login_failures``); reaching the limit locks it
    for ``login_lockout_secs`` (``login_lock``). A locked account is refused with
    ``RateLimited`` before the password is looked at: the same answer for a right or a wrong
    password and for an account that does not exist, so nothing is revealed. A successful login
    forgets the account's failures. An administrator can unlock an account.
    """

    def __init__(
        self, auth: AuthService, limiter: Limiter, db: Database, rules: Rules, *, staff: StaffStore
    ) -> None:
        self._staff = staff
        self._auth = auth
        self._limiter = limiter
        self._db = db
        self._rules = rules

    async def login(self, username: str, password: str, client_ip: str) -> Login | TwoFactorPending:
        rules = self._rules
        await self._limiter.hit(rules.login_ip, client_ip, message=TOO_MANY_LOGINS)
        account = account_key(username)
        if await self._limiter.remaining(rules.login_lock, account) < 1:
            self._limiter.refused(rules.login_lock.name)
            log.info("limit %s: refused a login to a locked account", rules.login_lock.name)
            raise RateLimited(LOCKED, await self._limiter.retry_after(rules.login_lock, account))
        try:
            done = await self._auth.login(username, password)
        except Unauthenticated:
            await self._limiter.allow(rules.login_failures, account)
            if await self._limiter.remaining(rules.login_failures, account) < 1:
                await self._limiter.allow(rules.login_lock, account)
                await self._limiter.clear(rules.login_failures, account)
                log.info("limit %s reached: an account is locked", rules.login_failures.name)
            raise
        await self._limiter.clear(rules.login_failures, account)
        return done

    async def second_step(
        self, token: str, code: str | None, recovery_code: str | None, client_ip: str
    ) -> tuple[Login, bool]:
        """Step two of a sign-in, limited per client address (``login_ip``) and per account
        (``two_factor``: every code tried counts, right or wrong, so that six digits cannot be
        guessed; a success forgets them)."""
        await self._limiter.hit(self._rules.login_ip, client_ip, message=TOO_MANY_LOGINS)
        user_id = self._auth.pending_user(token)
        await self._limiter.hit(
            self._rules.two_factor,
            f"user:{user_id}",
            message="too many codes tried for this account; try again later",
        )
        done = await self._auth.second_step(token, code, recovery_code)
        await self._limiter.clear(self._rules.two_factor, f"user:{user_id}")
        return done

    async def unlock(self, actor: Principal, username: str) -> bool:
        """Lift a lockout and forget the failures; returns whether the account was locked."""
        require_role(actor, StaffRole.ADMIN)
        async with self._db.read() as tx:
            user = await self._staff.user_by_username(tx, username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        account = account_key(username)
        locked = await self._limiter.remaining(self._rules.login_lock, account) < 1
        await self._limiter.clear(self._rules.login_lock, account)
        await self._limiter.clear(self._rules.login_failures, account)
        return locked


# Per connection ------------------------------------------------------------------------------


class ConnectionCap:
    """Open connections per key (the client address) on this node, at most ``per_key``."""

    def __init__(self, per_key: int) -> None:
        self.per_key = per_key
        self._open: Counter[str] = Counter()

    def acquire(self, key: str) -> bool:
        if self._open[key] >= self.per_key:
            return False
        self._open[key] += 1
        return True

    def release(self, key: str) -> None:
        self._open[key] -= 1
        if self._open[key] <= 0:
            del self._open[key]

    def open(self, key: str) -> int:
        return self._open.get(key, 0)


class InFlightCap:
    """Work of one kind being done at once on this node (hellos), at most ``limit``: past it,
    the caller refuses at once instead of queueing (admission control)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_flight = 0

    def acquire(self) -> bool:
        if self.in_flight >= self.limit:
            return False
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight = max(0, self.in_flight - 1)


class ConnectionLimits:
    """One WebSocket's limits: its messages (in order, see ``SendGate``) and its typing."""

    def __init__(self, rules: Rules, now: datetime) -> None:
        messages, typing = rules.ws_message, rules.ws_typing
        self._gate = SendGate(TokenBucket.full(messages.amount, messages.period_secs, now))
        self._typing = TokenBucket.full(typing.amount, typing.period_secs, now)

    def message(self, now: datetime) -> int:
        """0 when a message may be handled now; else the whole seconds to wait."""
        self._gate, wait = self._gate.admit(now)
        return wait

    def typing(self, now: datetime) -> bool:
        """Whether a typing message goes through (else it is dropped: coalesced)."""
        self._typing, wait = self._typing.take(now)
        return wait == 0
