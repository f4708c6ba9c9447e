"""Customer profiles and their staff notes (``domain.profiles``). A stateless store: each
method takes the ``Tx``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from parley.domain.identity import Link
from parley.domain.profiles import Note, Profile
from parley.storage.tables import conversations, customer_notes, customer_profiles, users
from parley.storage.tx import Tx


def _profile(row: sa.Row[Any], notes: tuple[Note, ...] = ()) -> Profile:
    return Profile(
        link=Link(row.link_kind, row.link_value),
        name=row.name,
        email=row.email,
        company=row.company,
        tags=tuple(str(t) for t in row.tags or ()),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
        id=int(row.id),
        notes=notes,
    )


class ProfileStore:
    __slots__ = ()

    async def profile(self, tx: Tx, link: Link, *, lock: bool = False) -> Profile | None:
        """The stored profile of ``link``'s customer, with its notes (newest first)."""
        p = customer_profiles.c
        stmt = sa.select(customer_profiles).where(
            p.link_kind == link.kind, p.link_value == link.value
        )
        row = await tx.one(tx.locked(stmt) if lock else stmt)
        if row is None:
            return None
        return _profile(row, await self.notes(tx, int(row.id)))

    async def notes(self, tx: Tx, profile_id: int) -> tuple[Note, ...]:
        n = customer_notes.c
        rows = await tx.all(
            sa.select(customer_notes, users.c.display_name)
            .select_from(customer_notes.outerjoin(users, users.c.id == n.author_id))
            .where(n.profile_id == profile_id)
            .order_by(n.created_at.desc(), n.id.desc())
        )
        return tuple(
            Note(int(r.id), r.text, r.created_at, r.author_id, r.display_name or "") for r in rows
        )

    async def ensure(self, tx: Tx, link: Link, now: datetime) -> Profile:
        """The profile of ``link``'s customer, locked, made empty if there was none (two
        staff members saving the first edit at once make one row: the second finds it)."""
        insert = postgresql.insert if tx.postgres else sqlite.insert
        await tx.conn.execute(
            insert(customer_profiles)
            .values(
                link_kind=link.kind,
                link_value=link.value,
                tags=[],
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=["link_kind", "link_value"])
        )
        found = await self.profile(tx, link, lock=True)
        assert found is not None
        return found

    async def save(self, tx: Tx, profile: Profile) -> None:
        await tx.conn.execute(
            sa.update(customer_profiles)
            .where(customer_profiles.c.id == profile.id)
            .values(
                name=profile.name,
                email=profile.email,
                company=profile.company,
                tags=list(profile.tags),
                updated_at=profile.updated_at,
                updated_by=profile.updated_by,
            )
        )

    async def add_note(
        self, tx: Tx, profile_id: int, author_id: int, text: str, now: datetime
    ) -> int:
        result = await tx.conn.execute(
            sa.insert(customer_notes)
            .values(profile_id=profile_id, author_id=author_id, text=text, created_at=now)
            .returning(customer_notes.c.id)
        )
        return int(result.scalar_one())

    async def delete_note(self, tx: Tx, profile_id: int, note_id: int) -> None:
        await tx.conn.execute(
            sa.delete(customer_notes).where(
                customer_notes.c.id == note_id, customer_notes.c.profile_id == profile_id
            )
        )

    async def delete_orphans(self, tx: Tx, limit: int) -> int:
        """Delete at most ``limit`` profiles keyed by an anonymous browser (``visitor``) that no
        conversation names any more (the retention job removed the last one), with their
        notes; how many. A verified customer's (``sub``) goes only with ``delete``."""
        p = customer_profiles.c
        orphans = (
            sa.select(p.id)
            .where(
                p.link_kind == "visitor",
                ~sa.exists().where(conversations.c.visitor_id == p.link_value),
            )
            .limit(limit)
        )
        ids = [int(r.id) for r in await tx.all(orphans)]
        if not ids:
            return 0
        await tx.conn.execute(sa.delete(customer_notes).where(customer_notes.c.profile_id.in_(ids)))
        await tx.conn.execute(sa.delete(customer_profiles).where(p.id.in_(ids)))
        return len(ids)

    async def delete(self, tx: Tx, link: Link) -> bool:
        """Delete the profile of ``link``'s customer with its notes; whether there was one."""
        p = customer_profiles.c
        done = await tx.conn.execute(
            sa.delete(customer_profiles).where(p.link_kind == link.kind, p.link_value == link.value)
        )
        return bool(done.rowcount)
