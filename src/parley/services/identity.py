"""Verified customer identity and anonymous visitor ids.

- **Identity tokens.** A company's backend signs who its customer is: a JWT, HS256 only, whose
  ``kid`` header names one of the workgroup's keys (``identity_keys``; several at once, for
  rotation). ``verify`` checks the length, the header, the signature with that key, then the
  claims (``domain.identity.customer_from_claims``: ``sub`` and ``exp`` required, against
  Parley's clock with a small leeway). Anything wrong is ``InvalidIdentity``, never an anonymous
  chat. Admins list, create (the server makes the secret and shows it once) and delete keys.
- **Visitor ids.** A long-lived random id the server issues and signs (itsdangerous, with a key
  kept in the database like the visitor-token key, so every node shares it). The widget keeps
  it and sends it with its next chat: only ids this server signed are taken, and each one is
  signed afresh with every chat, so an id stays valid while its browser keeps coming back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from itsdangerous import BadSignature, URLSafeSerializer

from parley.clock import Clock
from parley.domain import identity as policy
from parley.domain.access import Principal, StaffRole, require_role
from parley.domain.errors import Conflict, InvalidIdentity, NotFound
from parley.domain.identity import Customer
from parley.storage.db import Database
from parley.storage.staff import StaffStore
from parley.storage.tx import Tx
from parley.storage.workgroups import IdentityKeyRow, WorkgroupRow, WorkgroupStore

ALGORITHM = "HS256"
#: A visitor id not seen again for this long is forgotten (a new one is issued).
VISITOR_ID_LIFETIME = timedelta(days=400)
MAX_VISITOR_ID_CHARS = 256
MAX_KEYS_PER_WORKGROUP = 10


@dataclass(frozen=True, slots=True)
class NewKey:
    """A key just created: the only time its secret is shown."""

    kid: str
    secret: str
    created_at: datetime


class IdentityService:
    def __init__(
        self, db: Database, clock: Clock, *, staff: StaffStore, workgroups: WorkgroupStore
    ) -> None:
        self._staff = staff
        self._workgroups = workgroups
        self._db = db
        self._clock = clock
        self._visitor_signer: URLSafeSerializer | None = None

    async def start(self) -> None:
        async with self._db.write() as tx:
            key = await self._staff.server_key(tx, "visitor_id_key", secrets.token_urlsafe(32))
        self._visitor_signer = URLSafeSerializer(key, salt="parley.visitor-id")

    # Visitor ids ------------------------------------------------------------------------------

    def visitor_id_of(self, signed: str | None) -> str | None:
        """The id inside a visitor id this server signed and that is not too old; None for
        anything else (a forged, altered or foreign one is ignored: a new one is issued)."""
        assert self._visitor_signer is not None, "IdentityService.start() was not awaited"
        if not signed or len(signed) > MAX_VISITOR_ID_CHARS:
            return None
        try:
            payload = self._visitor_signer.loads(signed)
        except BadSignature:
            return None
        if not isinstance(payload, dict):
            return None
        value, issued = payload.get("v"), payload.get("t")
        if not isinstance(value, str) or not isinstance(issued, int):
            return None
        if self._clock.now() - datetime.fromtimestamp(issued, tz=UTC) > VISITOR_ID_LIFETIME:
            return None
        return value

    def new_visitor_id(self) -> str:
        return secrets.token_hex(16)

    def sign_visitor_id(self, value: str) -> str:
        assert self._visitor_signer is not None, "IdentityService.start() was not awaited"
        issued = int(self._clock.now().timestamp())
        return str(self._visitor_signer.dumps({"v": value, "t": issued}))

    # Identity tokens --------------------------------------------------------------------------

    async def verify(self, tx: Tx, wg: WorkgroupRow, token: str, now: datetime) -> Customer:
        """The customer a token names, if it verifies with one of ``wg``'s keys."""
        if not token or len(token) > policy.MAX_TOKEN_CHARS:
            raise InvalidIdentity(
                f"an identity token is a JWT of at most {policy.MAX_TOKEN_CHARS} characters"
            )
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise InvalidIdentity("the identity token is not a JWT") from None
        if header.get("alg") != ALGORITHM:
            raise InvalidIdentity(f"identity tokens are signed with {ALGORITHM}, and only that")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > policy.MAX_KID_CHARS:
            raise InvalidIdentity("the identity token's header has no 'kid' naming its key")
        secret = await self._workgroups.identity_secret(tx, wg.id, kid)
        if secret is None:
            raise InvalidIdentity(f"no identity key {kid!r} in this workgroup")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                secret,
                algorithms=[ALGORITHM],
                # Times are checked against Parley's clock (domain.identity), not here.
                options={
                    "verify_signature": True,
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                    "verify_sub": False,
                    "verify_jti": False,
                    "require": [],
                },
            )
        except jwt.InvalidSignatureError:
            raise InvalidIdentity("the identity token's signature does not verify") from None
        except jwt.PyJWTError:
            raise InvalidIdentity("the identity token is malformed") from None
        return policy.customer_from_claims(claims, now)

    # Keys (admins) ----------------------------------------------------------------------------

    async def list_keys(self, actor: Principal, slug: str) -> list[IdentityKeyRow]:
        require_role(actor, StaffRole.ADMIN)
        async with self._db.read() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            return await self._workgroups.list_identity_keys(tx, wg.id)

    async def create_key(self, actor: Principal | None, slug: str) -> NewKey:
        """A new key with a server-made secret (256 bits); ``actor`` None is the operator."""
        if actor is not None:
            require_role(actor, StaffRole.ADMIN)
        now = self._clock.now()
        key = NewKey(
            kid=f"{now:%Y%m%d}-{secrets.token_hex(4)}",
            secret=secrets.token_urlsafe(32),
            created_at=now,
        )
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            if len(await self._workgroups.list_identity_keys(tx, wg.id)) >= MAX_KEYS_PER_WORKGROUP:
                raise Conflict(
                    f"a workgroup has at most {MAX_KEYS_PER_WORKGROUP} identity keys: "
                    "delete one first"
                )
            await self._workgroups.insert_identity_key(tx, wg.id, key.kid, key.secret, now)
        return key

    async def delete_key(self, actor: Principal, slug: str, kid: str) -> None:
        """Tokens signed with this key stop verifying at once, on every node."""
        require_role(actor, StaffRole.ADMIN)
        async with self._db.write() as tx:
            wg = await _workgroup(tx, self._workgroups, slug)
            if not await self._workgroups.delete_identity_key(tx, wg.id, kid):
                raise NotFound(f"no identity key {kid!r} in this workgroup")


async def _workgroup(tx: Tx, workgroups: WorkgroupStore, slug: str) -> WorkgroupRow:
    wg = await workgroups.workgroup_by_slug(tx, slug)
    if wg is None:
        raise NotFound(f"no workgroup {slug!r}")
    return wg
