"""After the fact: ratings, outcomes recorded at wrap-up, the admin's tags and the chats'
tags (tables ``ratings``, ``tags``, ``conversation_tags`` and ``conversations.outcome*``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from parley.domain.access import RatingScope
from parley.domain.conversation import EntryKind
from parley.domain.wrapup import Rating
from parley.storage.tables import (
    conversation_tags,
    conversations,
    entries,
    ratings,
    tags,
    users,
    workgroups,
)
from parley.storage.tx import Tx


@dataclass(frozen=True, slots=True)
class TagRow:
    id: int
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class WrapUp:
    """A chat's outcome (who recorded it, when) and its tags."""

    outcome: str | None
    outcome_by: int | None
    outcome_at: datetime | None
    tags: tuple[TagRow, ...]


@dataclass(frozen=True, slots=True)
class RatingRow:
    rating: Rating
    agent_name: str | None
    workgroup_slug: str | None
    customer_name: str
    shopper: bool


class WrapUpStore:
    # Ratings ----------------------------------------------------------------------------------

    async def last_staff_author(self, tx: Tx, conversation_id: str) -> str | None:
        """The author key of the chat's last public message by staff (``user:N``)."""
        row = await tx.one(
            sa.select(entries.c.author)
            .where(
                entries.c.conversation_id == conversation_id,
                entries.c.kind == EntryKind.MESSAGE.value,
                entries.c.author.like("user:%"),
            )
            .order_by(entries.c.seq.desc())
            .limit(1)
        )
        return None if row is None else str(row.author)

    async def rating(self, tx: Tx, conversation_id: str) -> Rating | None:
        row = await tx.one(sa.select(ratings).where(ratings.c.conversation_id == conversation_id))
        return None if row is None else _rating(row)

    async def insert_rating(self, tx: Tx, r: Rating) -> None:
        """Raises ``IntegrityError`` when the chat was rated already (its primary key)."""
        await tx.conn.execute(
            sa.insert(ratings).values(
                conversation_id=r.conversation_id,
                agent_id=r.agent_id,
                workgroup_id=r.workgroup_id,
                score=r.score,
                comment=r.comment,
                created_at=r.created_at,
            )
        )

    async def ratings(
        self,
        tx: Tx,
        scope: RatingScope,
        *,
        mine: bool,
        workgroup_id: int | None,
        agent_id: int | None,
        before: datetime | None,
        limit: int,
    ) -> list[RatingRow]:
        """The ratings ``scope`` reads, newest first, narrowed by the filters."""
        stmt = (
            sa.select(
                ratings,
                users.c.display_name.label("agent_name"),
                workgroups.c.slug.label("workgroup_slug"),
                conversations.c.metadata.label("conv_metadata"),
                conversations.c.customer_name.label("verified_name"),
                conversations.c.shopper,
            )
            .join(conversations, conversations.c.id == ratings.c.conversation_id)
            .outerjoin(users, users.c.id == ratings.c.agent_id)
            .outerjoin(workgroups, workgroups.c.id == ratings.c.workgroup_id)
        )
        if mine or not scope.everything:
            allowed = [ratings.c.agent_id == scope.agent_id]
            if not mine and scope.workgroups:
                allowed.append(ratings.c.workgroup_id.in_(sorted(scope.workgroups)))
            stmt = stmt.where(sa.or_(*allowed))
        if workgroup_id is not None:
            stmt = stmt.where(ratings.c.workgroup_id == workgroup_id)
        if agent_id is not None:
            stmt = stmt.where(ratings.c.agent_id == agent_id)
        if before is not None:
            stmt = stmt.where(ratings.c.created_at < before)
        stmt = stmt.order_by(ratings.c.created_at.desc(), ratings.c.conversation_id).limit(limit)
        out: list[RatingRow] = []
        for row in await tx.all(stmt):
            metadata = row.conv_metadata if isinstance(row.conv_metadata, dict) else {}
            name = row.verified_name or str(metadata.get("name") or "")
            out.append(
                RatingRow(_rating(row), row.agent_name, row.workgroup_slug, name, bool(row.shopper))
            )
        return out

    # Outcomes and tags on chats ----------------------------------------------------------------

    async def wrap_ups(self, tx: Tx, conversation_ids: Sequence[str]) -> dict[str, WrapUp]:
        """The outcome and tags of several chats, in two queries."""
        ids = list(conversation_ids)
        if not ids:
            return {}
        rows = await tx.all(
            sa.select(
                conversations.c.id,
                conversations.c.outcome,
                conversations.c.outcome_by,
                conversations.c.outcome_at,
            ).where(conversations.c.id.in_(ids))
        )
        by_conv: dict[str, list[TagRow]] = {i: [] for i in ids}
        for t in await tx.all(
            sa.select(conversation_tags.c.conversation_id, tags)
            .join(tags, tags.c.id == conversation_tags.c.tag_id)
            .where(conversation_tags.c.conversation_id.in_(ids))
            .order_by(tags.c.name)
        ):
            by_conv[t.conversation_id].append(TagRow(t.id, t.name, t.created_at))
        return {
            r.id: WrapUp(r.outcome, r.outcome_by, r.outcome_at, tuple(by_conv[r.id])) for r in rows
        }

    async def tag_count_of(self, tx: Tx, conversation_id: str) -> int:
        n = await tx.conn.scalar(
            sa.select(sa.func.count())
            .select_from(conversation_tags)
            .where(conversation_tags.c.conversation_id == conversation_id)
        )
        return int(n or 0)

    async def has_tag(self, tx: Tx, conversation_id: str, tag_id: int) -> bool:
        row = await tx.one(
            sa.select(conversation_tags.c.tag_id).where(
                conversation_tags.c.conversation_id == conversation_id,
                conversation_tags.c.tag_id == tag_id,
            )
        )
        return row is not None

    async def add_tag(
        self, tx: Tx, conversation_id: str, tag_id: int, by: int, now: datetime
    ) -> None:
        await tx.conn.execute(
            sa.insert(conversation_tags).values(
                conversation_id=conversation_id, tag_id=tag_id, added_by=by, added_at=now
            )
        )

    async def remove_tag(self, tx: Tx, conversation_id: str, tag_id: int) -> None:
        await tx.conn.execute(
            sa.delete(conversation_tags).where(
                conversation_tags.c.conversation_id == conversation_id,
                conversation_tags.c.tag_id == tag_id,
            )
        )

    # The admin's list of tags ------------------------------------------------------------------

    async def tags(self, tx: Tx) -> list[TagRow]:
        rows = await tx.all(sa.select(tags).order_by(tags.c.name))
        return [TagRow(r.id, r.name, r.created_at) for r in rows]

    async def tag(self, tx: Tx, tag_id: int) -> TagRow | None:
        r = await tx.one(sa.select(tags).where(tags.c.id == tag_id))
        return None if r is None else TagRow(r.id, r.name, r.created_at)

    async def tag_named(self, tx: Tx, name: str) -> TagRow | None:
        """A tag by its name, ignoring case."""
        r = await tx.one(sa.select(tags).where(sa.func.lower(tags.c.name) == name.lower()))
        return None if r is None else TagRow(r.id, r.name, r.created_at)

    async def tag_count(self, tx: Tx) -> int:
        return int(await tx.conn.scalar(sa.select(sa.func.count()).select_from(tags)) or 0)

    async def create_tag(self, tx: Tx, name: str, now: datetime) -> TagRow:
        """Raises ``IntegrityError`` for a name taken meanwhile."""
        result = await tx.conn.execute(
            sa.insert(tags).values(name=name, created_at=now).returning(tags.c.id)
        )
        return TagRow(int(result.scalar_one()), name, now)

    async def rename_tag(self, tx: Tx, tag_id: int, name: str) -> None:
        await tx.conn.execute(sa.update(tags).where(tags.c.id == tag_id).values(name=name))

    async def delete_tag(self, tx: Tx, tag_id: int) -> None:
        # conversation_tags go with it (ON DELETE CASCADE needs SQLite's foreign keys on,
        # which the engine turns on, but delete explicitly so that it holds either way).
        await tx.conn.execute(
            sa.delete(conversation_tags).where(conversation_tags.c.tag_id == tag_id)
        )
        await tx.conn.execute(sa.delete(tags).where(tags.c.id == tag_id))


def _rating(row: sa.Row[object]) -> Rating:
    return Rating(
        conversation_id=row.conversation_id,
        score=int(row.score),
        comment=row.comment or "",
        created_at=row.created_at,
        agent_id=row.agent_id,
        workgroup_id=row.workgroup_id,
    )
