"""Accounts beyond the basics: the account policy, two-factor secrets and recovery codes,
guest invitations.

A store without state of its own but the key ring that seals TOTP secrets at rest
(``storage.sealing``): ``totp`` opens what ``set_totp`` sealed. Each method takes the
transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from parley.domain.accounts import AccountPolicy, TwoFactorPolicy
from parley.domain.names import NameFormat
from parley.storage.sealing import Sealer, SealingError
from parley.storage.tables import account_policy, guest_invitations, recovery_codes, users
from parley.storage.tx import Tx, lookupable


@dataclass(frozen=True, slots=True)
class TotpRow:
    secret: str | None
    enabled: bool
    last_step: int | None


@dataclass(frozen=True, slots=True)
class GuestInvitationRow:
    token_hash: str
    public_id: str
    conversation_id: str
    email: str
    invited_by: int
    created_at: datetime
    expires_at: datetime
    accepted_by: int | None


def _name_format(value: object) -> NameFormat:
    try:
        return NameFormat(str(value)) if value is not None else NameFormat.AS_ENTERED
    except ValueError:  # a format a newer version wrote: the names as entered
        return NameFormat.AS_ENTERED


class AccountStore:
    __slots__ = ("_sealer",)

    def __init__(self, sealer: Sealer | None = None) -> None:
        """``sealer``: the node's key ring; without one (tools that never touch two-factor
        sign-in) a secret can be neither written nor read."""
        self._sealer = sealer

    # The policy ---------------------------------------------------------------------------

    async def policy(self, tx: Tx) -> AccountPolicy:
        rows = {r.name: r.value for r in await tx.all(sa.select(account_policy))}
        return AccountPolicy(
            TwoFactorPolicy(rows.get("require_2fa", TwoFactorPolicy.NONE.value)),
            bool(rows.get("internal_only", False)),
            tuple(rows.get("staff_email_domains", [])),
            _name_format(rows.get("name_format")),
        )

    async def set_policy(self, tx: Tx, policy: AccountPolicy) -> None:
        insert = postgresql_insert if tx.postgres else sqlite_insert
        for name, value in policy.plain().items():
            stmt = insert(account_policy).values(name=name, value=value)
            await tx.conn.execute(
                stmt.on_conflict_do_update(index_elements=["name"], set_={"value": value})
            )

    # Two-factor ---------------------------------------------------------------------------

    def _ring(self) -> Sealer:
        if self._sealer is None or not self._sealer.loaded:
            raise SealingError("no secrets key loaded (AccountService.start)")
        return self._sealer

    async def totp(self, tx: Tx, user_id: int, *, lock: bool = False) -> TotpRow:
        """The account's TOTP state, its secret opened (sealed in ``totp_secret_sealed``; one
        in the clear in ``totp_secret`` from before 0017 until the start seals it)."""
        stmt = sa.select(
            users.c.totp_secret,
            users.c.totp_secret_sealed,
            users.c.totp_enabled,
            users.c.totp_last_step,
        ).where(users.c.id == user_id)
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        if row is None:
            return TotpRow(None, False, None)
        stored = row.totp_secret_sealed or row.totp_secret
        secret = None if stored is None else self._ring().open(stored)
        return TotpRow(secret, bool(row.totp_enabled), row.totp_last_step)

    async def set_totp(
        self, tx: Tx, user_id: int, *, secret: str | None, enabled: bool, last_step: int | None
    ) -> None:
        """Store the account's TOTP state, the secret sealed (never in the clear)."""
        sealed = None if secret is None else self._ring().seal(secret)
        await tx.conn.execute(
            sa.update(users)
            .where(users.c.id == user_id)
            .values(
                totp_secret=None,
                totp_secret_sealed=sealed,
                totp_enabled=enabled,
                totp_last_step=last_step,
            )
        )

    async def any_sealed_secret(self, tx: Tx) -> bool:
        row = await tx.one(
            sa.select(users.c.id).where(users.c.totp_secret_sealed.is_not(None)).limit(1)
        )
        return row is not None

    async def reseal_secrets(self, tx: Tx) -> tuple[int, int]:
        """Seal with the first key every secret that is not: those in the clear from before
        0017, and those sealed with an older key (after a rotation). Returns (how many were
        sealed now, how many no key opens: left as they are)."""
        ring = self._ring()
        rows = await tx.all(
            sa.select(users.c.id, users.c.totp_secret, users.c.totp_secret_sealed).where(
                sa.or_(users.c.totp_secret.is_not(None), users.c.totp_secret_sealed.is_not(None))
            )
        )
        done = unreadable = 0
        for r in rows:
            try:
                sealed = ring.resealed(r.totp_secret_sealed or r.totp_secret)
            except SealingError:
                unreadable += 1
                continue
            if sealed is None and r.totp_secret is None:
                continue
            await tx.conn.execute(
                sa.update(users)
                .where(users.c.id == r.id)
                .values(
                    totp_secret=None,
                    totp_secret_sealed=sealed if sealed is not None else r.totp_secret_sealed,
                )
            )
            done += 1
        return done, unreadable

    async def use_step(self, tx: Tx, user_id: int, step: int) -> bool:
        """Record ``step`` as used, unless it (or a later one) was already: a compare-and-set,
        so that two nodes given the same code at once accept it once."""
        result = await tx.conn.execute(
            sa.update(users)
            .where(
                users.c.id == user_id,
                sa.or_(users.c.totp_last_step.is_(None), users.c.totp_last_step < step),
            )
            .values(totp_last_step=step)
        )
        return result.rowcount == 1

    async def replace_recovery_codes(
        self, tx: Tx, user_id: int, hashes: list[str], now: datetime
    ) -> None:
        await tx.conn.execute(sa.delete(recovery_codes).where(recovery_codes.c.user_id == user_id))
        if hashes:
            await tx.conn.execute(
                sa.insert(recovery_codes),
                [{"code_hash": h, "user_id": user_id, "created_at": now} for h in hashes],
            )

    async def use_recovery_code(self, tx: Tx, user_id: int, code_hash: str) -> bool:
        result = await tx.conn.execute(
            sa.delete(recovery_codes).where(
                recovery_codes.c.user_id == user_id, recovery_codes.c.code_hash == code_hash
            )
        )
        return result.rowcount == 1

    async def recovery_codes_left(self, tx: Tx, user_id: int) -> int:
        row = await tx.one(
            sa.select(sa.func.count())
            .select_from(recovery_codes)
            .where(recovery_codes.c.user_id == user_id)
        )
        return 0 if row is None else int(row[0])

    # Guest invitations --------------------------------------------------------------------

    async def insert_guest_invitation(self, tx: Tx, row: GuestInvitationRow) -> None:
        await tx.conn.execute(
            sa.insert(guest_invitations).values(
                token_hash=row.token_hash,
                public_id=row.public_id,
                conversation_id=row.conversation_id,
                email=row.email,
                invited_by=row.invited_by,
                created_at=row.created_at,
                expires_at=row.expires_at,
                accepted_by=row.accepted_by,
            )
        )

    async def guest_invitation(
        self, tx: Tx, token_hash: str, *, lock: bool = False
    ) -> GuestInvitationRow | None:
        if not lookupable(token_hash):
            return None
        stmt = sa.select(guest_invitations).where(guest_invitations.c.token_hash == token_hash)
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        if row is None:
            return None
        return GuestInvitationRow(
            row.token_hash,
            row.public_id,
            row.conversation_id,
            row.email,
            row.invited_by,
            row.created_at,
            row.expires_at,
            row.accepted_by,
        )

    async def accept_guest_invitation(self, tx: Tx, token_hash: str, user_id: int) -> bool:
        result = await tx.conn.execute(
            sa.update(guest_invitations)
            .where(
                guest_invitations.c.token_hash == token_hash,
                guest_invitations.c.accepted_by.is_(None),
            )
            .values(accepted_by=user_id)
        )
        return result.rowcount == 1

    async def delete_pending_guest_invitations(self, tx: Tx) -> int:
        result = await tx.conn.execute(
            sa.delete(guest_invitations).where(guest_invitations.c.accepted_by.is_(None))
        )
        return int(result.rowcount)
