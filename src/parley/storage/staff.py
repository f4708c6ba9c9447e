"""Staff accounts, their tokens, the server's keys and the staff directory.

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from parley.domain.access import StaffRole
from parley.domain.presence import Presence
from parley.storage.tables import (
    agent_state,
    auth_tokens,
    server_keys,
    users,
)
from parley.storage.tx import Tx, lookupable


@dataclass(frozen=True, slots=True)
class UserRow:
    id: int
    username: str
    display_name: str
    role: StaffRole
    password_hash: str
    active: bool
    created_at: datetime
    email: str | None = None
    #: Signs in with a TOTP code (enrolment confirmed). The secret is never in a row.
    two_factor: bool = False
    #: The name as entered (``display_name`` is what others are shown: ``domain.names``).
    name_as_entered: str | None = None

    @property
    def entered_name(self) -> str:
        return self.name_as_entered if self.name_as_entered is not None else self.display_name


@dataclass(frozen=True, slots=True)
class TokenRow:
    token_hash: str
    user_id: int
    kind: str
    csrf_token: str
    label: str
    created_at: datetime
    expires_at: datetime | None
    public_id: str
    last_used_at: datetime | None


def _token(row: sa.Row[Any]) -> TokenRow:
    return TokenRow(
        row.token_hash,
        row.user_id,
        row.kind,
        row.csrf_token,
        row.label,
        row.created_at,
        row.expires_at,
        row.public_id,
        row.last_used_at,
    )


def _user(row: sa.Row[Any]) -> UserRow:
    return UserRow(
        row.id,
        row.username,
        row.display_name,
        StaffRole(row.role),
        row.password_hash,
        row.active,
        row.created_at,
        row.email,
        bool(row.totp_enabled),
        row.name_as_entered,
    )


class StaffStore:
    __slots__ = ()

    async def server_key(self, tx: Tx, name: str, candidate: str) -> str:
        """The stored key called ``name``; stores ``candidate`` if there is none yet."""
        # Several nodes may start at once on a fresh database: the first insert wins.
        insert = postgresql_insert if tx.postgres else sqlite_insert
        await tx.conn.execute(
            insert(server_keys).values(name=name, value=candidate).on_conflict_do_nothing()
        )
        row = await tx.one(sa.select(server_keys.c.value).where(server_keys.c.name == name))
        assert row is not None
        return str(row.value)

    async def insert_user(
        self,
        tx: Tx,
        username: str,
        display_name: str,
        role: StaffRole,
        password_hash: str,
        now: datetime,
        email: str | None = None,
        name_as_entered: str | None = None,
    ) -> int:
        """``display_name``: what others are shown; ``name_as_entered``: as typed."""
        result = await tx.conn.execute(
            sa.insert(users)
            .values(
                username=username,
                display_name=display_name,
                name_as_entered=name_as_entered,
                role=role.value,
                password_hash=password_hash,
                active=True,
                created_at=now,
                email=email,
            )
            .returning(users.c.id)
        )
        return int(result.scalar_one())

    async def user_by_username(self, tx: Tx, username: str) -> UserRow | None:
        if not lookupable(username):
            return None
        row = await tx.one(sa.select(users).where(users.c.username == username))
        return None if row is None else _user(row)

    async def user(self, tx: Tx, user_id: int) -> UserRow | None:
        row = await tx.one(sa.select(users).where(users.c.id == user_id))
        return None if row is None else _user(row)

    async def users_with_role(self, tx: Tx, role: StaffRole) -> list[UserRow]:
        rows = await tx.all(sa.select(users).where(users.c.role == role.value))
        return [_user(r) for r in rows]

    async def list_users(self, tx: Tx) -> list[UserRow]:
        return [_user(r) for r in await tx.all(sa.select(users).order_by(users.c.username))]

    async def update_user(self, tx: Tx, user_id: int, **values: Any) -> None:
        await tx.conn.execute(sa.update(users).where(users.c.id == user_id).values(**values))

    async def insert_token(self, tx: Tx, token: TokenRow) -> None:
        await tx.conn.execute(
            sa.insert(auth_tokens).values(
                token_hash=token.token_hash,
                user_id=token.user_id,
                kind=token.kind,
                csrf_token=token.csrf_token,
                label=token.label,
                created_at=token.created_at,
                expires_at=token.expires_at,
                public_id=token.public_id,
                last_used_at=token.last_used_at,
            )
        )

    async def token(self, tx: Tx, token_hash: str) -> tuple[TokenRow, UserRow] | None:
        row = await tx.one(
            sa.select(auth_tokens, users)
            .join(users, users.c.id == auth_tokens.c.user_id)
            .where(auth_tokens.c.token_hash == token_hash)
        )
        if row is None:
            return None
        return _token(row), _user(row)

    async def token_by_public_id(self, tx: Tx, public_id: str) -> TokenRow | None:
        if not lookupable(public_id) or not public_id:
            return None
        row = await tx.one(sa.select(auth_tokens).where(auth_tokens.c.public_id == public_id))
        return None if row is None else _token(row)

    async def tokens_of(self, tx: Tx, user_id: int, kind: str) -> list[TokenRow]:
        rows = await tx.all(
            sa.select(auth_tokens)
            .where(auth_tokens.c.user_id == user_id, auth_tokens.c.kind == kind)
            .order_by(auth_tokens.c.created_at, auth_tokens.c.label, auth_tokens.c.public_id)
        )
        return [_token(r) for r in rows]

    async def touch_token(self, tx: Tx, token_hash: str, now: datetime, stale: datetime) -> None:
        """Record a use, unless the last one recorded (by any node) is later than ``stale``."""
        await tx.conn.execute(
            sa.update(auth_tokens)
            .where(
                auth_tokens.c.token_hash == token_hash,
                sa.or_(
                    auth_tokens.c.last_used_at.is_(None),
                    auth_tokens.c.last_used_at <= stale,
                ),
            )
            .values(last_used_at=now)
        )

    async def set_token_kind(self, tx: Tx, token_hash: str, old: str, new: str) -> None:
        await tx.conn.execute(
            sa.update(auth_tokens)
            .where(auth_tokens.c.token_hash == token_hash, auth_tokens.c.kind == old)
            .values(kind=new)
        )

    async def delete_sessions_of(self, tx: Tx, user_ids: list[int]) -> list[TokenRow]:
        """Delete the console sessions (not the API tokens) of ``user_ids``; returns them."""
        if not user_ids:
            return []
        rows = await tx.all(
            sa.select(auth_tokens).where(
                auth_tokens.c.user_id.in_(user_ids), auth_tokens.c.kind.in_(["session", "enrol"])
            )
        )
        await tx.conn.execute(
            sa.delete(auth_tokens).where(auth_tokens.c.token_hash.in_([r.token_hash for r in rows]))
        )
        return [_token(r) for r in rows]

    async def delete_token(self, tx: Tx, token_hash: str) -> None:
        await tx.conn.execute(sa.delete(auth_tokens).where(auth_tokens.c.token_hash == token_hash))

    async def delete_tokens_of(self, tx: Tx, user_id: int) -> None:
        await tx.conn.execute(sa.delete(auth_tokens).where(auth_tokens.c.user_id == user_id))

    async def staff_directory(self, tx: Tx) -> list[tuple[UserRow, Presence, str]]:
        """Every active staff account with its presence and status text."""
        rows = await tx.all(
            sa.select(users, agent_state.c.presence, agent_state.c.status_text)
            .join(agent_state, agent_state.c.user_id == users.c.id, isouter=True)
            .where(users.c.active.is_(True))
            .order_by(users.c.display_name, users.c.username)
        )
        return [
            (
                _user(r),
                Presence(r.presence) if r.presence is not None else Presence.OFFLINE,
                r.status_text or "",
            )
            for r in rows
        ]
