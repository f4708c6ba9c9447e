"""QA review and secret shoppers: scorecards, filled reviews (supervisors' and shoppers'),
shopper links, and the rows the QA report averages (``domain.qa``).

A stateless store: each method takes the transaction (``Tx``) it runs in.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain import qa
from parley.domain.conversation import EntryKind, Role
from parley.storage.tables import (
    conversations,
    entries,
    participants,
    qa_review_scores,
    qa_reviews,
    qa_scorecards,
    shopper_links,
    users,
)
from parley.storage.tx import Tx, lookupable


def card_json(card: qa.Scorecard) -> dict[str, Any]:
    return {
        "name": card.name,
        "purpose": card.purpose.value,
        "categories": [
            {
                "key": c.key,
                "name": c.name,
                "weight": c.weight,
                "scale": c.scale,
                "critical": c.critical,
            }
            for c in card.categories
        ],
    }


def card_of(data: dict[str, Any], card_id: int | None = None, active: bool = True) -> qa.Scorecard:
    return qa.Scorecard(
        str(data["name"]),
        qa.Purpose(data["purpose"]),
        tuple(
            qa.Category(
                str(c["key"]),
                str(c["name"]),
                int(c["weight"]),
                int(c["scale"]),
                bool(c["critical"]),
            )
            for c in data["categories"]
        ),
        card_id,
        active,
    )


@dataclass(frozen=True, slots=True)
class ReviewRow:
    id: int
    conversation_id: str
    workgroup_id: int
    agent_id: int | None
    agent_name: str
    reviewer_id: int | None
    reviewer_name: str
    scorecard_id: int | None
    card: qa.Scorecard
    scores: dict[str, int]
    comments: dict[str, str]
    comment: str
    score: float
    failed_critical: tuple[str, ...]
    shopper: bool
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class LinkRow:
    link: qa.Link
    created_by: int | None
    note: str
    created_at: datetime


_agent = users.alias("agent")
_reviewer = users.alias("reviewer")


def _review_select() -> sa.Select[Any]:
    return (
        sa.select(
            qa_reviews,
            _agent.c.display_name.label("agent_name"),
            _reviewer.c.display_name.label("reviewer_name"),
        )
        .outerjoin(_agent, _agent.c.id == qa_reviews.c.agent_id)
        .outerjoin(_reviewer, _reviewer.c.id == qa_reviews.c.reviewer_id)
    )


def _review(r: Any) -> ReviewRow:
    card = card_of(r.card, r.scorecard_id)
    scores = {str(k): int(v) for k, v in dict(r.scores).items()}
    failed = tuple(
        c.key for c in card.categories if c.key in scores and qa.critical_failed(c, scores[c.key])
    )
    return ReviewRow(
        int(r.id),
        str(r.conversation_id),
        int(r.workgroup_id),
        None if r.agent_id is None else int(r.agent_id),
        r.agent_name or "",
        None if r.reviewer_id is None else int(r.reviewer_id),
        r.reviewer_name or "",
        None if r.scorecard_id is None else int(r.scorecard_id),
        card,
        scores,
        {str(k): str(v) for k, v in dict(r.comments).items()},
        r.comment,
        float(r.score),
        failed,
        bool(r.shopper),
        r.created_at,
        r.updated_at,
    )


def _link(r: Any) -> LinkRow:
    return LinkRow(
        qa.Link(r.id, int(r.workgroup_id), r.expires_at, r.used_at, r.conversation_id, r.scored_at),
        r.created_by,
        r.note,
        r.created_at,
    )


class QaStore:
    __slots__ = ()

    # Scorecards ------------------------------------------------------------------------------

    async def scorecards(self, tx: Tx, purpose: qa.Purpose | None = None) -> list[qa.Scorecard]:
        stmt = sa.select(qa_scorecards).order_by(qa_scorecards.c.id)
        if purpose is not None:
            stmt = stmt.where(qa_scorecards.c.purpose == purpose.value)
        return [
            card_of(
                {"name": r.name, "purpose": r.purpose, "categories": r.categories},
                int(r.id),
                bool(r.active),
            )
            for r in await tx.all(stmt)
        ]

    async def scorecard(self, tx: Tx, scorecard_id: int) -> qa.Scorecard | None:
        r = await tx.one(sa.select(qa_scorecards).where(qa_scorecards.c.id == scorecard_id))
        if r is None:
            return None
        return card_of(
            {"name": r.name, "purpose": r.purpose, "categories": r.categories},
            int(r.id),
            bool(r.active),
        )

    async def count_scorecards(self, tx: Tx) -> int:
        return int(
            (
                await tx.conn.execute(sa.select(sa.func.count()).select_from(qa_scorecards))
            ).scalar_one()
        )

    async def insert_scorecard(self, tx: Tx, card: qa.Scorecard, now: datetime) -> int:
        data = card_json(card)
        result = await tx.conn.execute(
            sa.insert(qa_scorecards)
            .values(
                name=card.name,
                purpose=card.purpose.value,
                categories=data["categories"],
                active=card.active,
                created_at=now,
                updated_at=now,
            )
            .returning(qa_scorecards.c.id)
        )
        return int(result.scalar_one())

    async def update_scorecard(
        self, tx: Tx, scorecard_id: int, card: qa.Scorecard, now: datetime
    ) -> bool:
        result = await tx.conn.execute(
            sa.update(qa_scorecards)
            .where(qa_scorecards.c.id == scorecard_id)
            .values(
                name=card.name,
                purpose=card.purpose.value,
                categories=card_json(card)["categories"],
                active=card.active,
                updated_at=now,
            )
        )
        return bool(result.rowcount)

    async def delete_scorecard(self, tx: Tx, scorecard_id: int) -> bool:
        """Reviews keep their copy of it (``card``); their ``scorecard_id`` is left dangling."""
        result = await tx.conn.execute(
            sa.delete(qa_scorecards).where(qa_scorecards.c.id == scorecard_id)
        )
        return bool(result.rowcount)

    # Reviews ---------------------------------------------------------------------------------

    async def insert_review(
        self,
        tx: Tx,
        *,
        conversation_id: str,
        workgroup_id: int,
        agent_id: int | None,
        reviewer_id: int | None,
        card: qa.Scorecard,
        scores: dict[str, int],
        comments: dict[str, str],
        comment: str,
        result: qa.Result,
        shopper: bool,
        now: datetime,
    ) -> int:
        inserted = await tx.conn.execute(
            sa.insert(qa_reviews)
            .values(
                conversation_id=conversation_id,
                workgroup_id=workgroup_id,
                agent_id=agent_id,
                reviewer_id=reviewer_id,
                scorecard_id=card.id,
                card=card_json(card),
                scores=scores,
                comments=comments,
                comment=comment,
                score=result.score,
                critical_failed=bool(result.failed_critical),
                shopper=shopper,
                created_at=now,
                updated_at=now,
            )
            .returning(qa_reviews.c.id)
        )
        review_id = int(inserted.scalar_one())
        await self._write_scores(tx, review_id, card, scores, workgroup_id, agent_id, shopper, now)
        return review_id

    async def _write_scores(
        self,
        tx: Tx,
        review_id: int,
        card: qa.Scorecard,
        scores: dict[str, int],
        workgroup_id: int,
        agent_id: int | None,
        shopper: bool,
        created_at: datetime,
    ) -> None:
        await tx.conn.execute(
            sa.delete(qa_review_scores).where(qa_review_scores.c.review_id == review_id)
        )
        await tx.conn.execute(
            sa.insert(qa_review_scores),
            [
                {
                    "review_id": review_id,
                    "key": c.key,
                    "name": c.name,
                    "scale": c.scale,
                    "score": scores[c.key],
                    "workgroup_id": workgroup_id,
                    "agent_id": agent_id,
                    "shopper": shopper,
                    "created_at": created_at,
                }
                for c in card.categories
                if c.key in scores
            ],
        )

    async def update_review(
        self,
        tx: Tx,
        row: ReviewRow,
        *,
        scores: dict[str, int],
        comments: dict[str, str],
        comment: str,
        result: qa.Result,
        now: datetime,
    ) -> None:
        await tx.conn.execute(
            sa.update(qa_reviews)
            .where(qa_reviews.c.id == row.id)
            .values(
                scores=scores,
                comments=comments,
                comment=comment,
                score=result.score,
                critical_failed=bool(result.failed_critical),
                updated_at=now,
            )
        )
        await self._write_scores(
            tx,
            row.id,
            row.card,
            scores,
            row.workgroup_id,
            row.agent_id,
            row.shopper,
            row.created_at,
        )

    async def delete_review(self, tx: Tx, review_id: int) -> bool:
        await tx.conn.execute(
            sa.delete(qa_review_scores).where(qa_review_scores.c.review_id == review_id)
        )
        result = await tx.conn.execute(sa.delete(qa_reviews).where(qa_reviews.c.id == review_id))
        return bool(result.rowcount)

    async def review(self, tx: Tx, review_id: int) -> ReviewRow | None:
        r = await tx.one(_review_select().where(qa_reviews.c.id == review_id))
        return None if r is None else _review(r)

    async def reviews_of_conversation(self, tx: Tx, conversation_id: str) -> list[ReviewRow]:
        rows = await tx.all(
            _review_select()
            .where(qa_reviews.c.conversation_id == conversation_id)
            .order_by(qa_reviews.c.id)
            .limit(100)
        )
        return [_review(r) for r in rows]

    async def reviews(
        self,
        tx: Tx,
        *,
        workgroup_ids: Collection[int] | None,
        agent_id: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        shopper: bool | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[ReviewRow]:
        """Newest first; ``workgroup_ids`` None: every workgroup's."""
        stmt = _review_select()
        if workgroup_ids is not None:
            stmt = stmt.where(qa_reviews.c.workgroup_id.in_(sorted(workgroup_ids)))
        if agent_id is not None:
            stmt = stmt.where(qa_reviews.c.agent_id == agent_id)
        if since is not None:
            stmt = stmt.where(qa_reviews.c.created_at >= since)
        if until is not None:
            stmt = stmt.where(qa_reviews.c.created_at < until)
        if shopper is not None:
            stmt = stmt.where(qa_reviews.c.shopper.is_(shopper))
        rows = await tx.all(
            stmt.order_by(qa_reviews.c.created_at.desc(), qa_reviews.c.id.desc())
            .offset(offset)
            .limit(limit)
        )
        return [_review(r) for r in rows]

    # The QA report: averages in SQL ------------------------------------------------------------

    async def report(
        self,
        tx: Tx,
        *,
        workgroup_ids: Collection[int] | None,
        agent_id: int | None,
        since: datetime,
        until: datetime,
    ) -> qa.Report:
        """``domain.qa.report``'s numbers, computed by the database: per agent and shopper or
        not, the count and mean score of the reviews; per category key and shopper or not,
        the count and mean share of the scale (``qa_review_scores``). Agents by name."""

        def scoped(table: sa.Table) -> list[sa.ColumnElement[bool]]:
            where = [table.c.created_at >= since, table.c.created_at < until]
            if workgroup_ids is not None:
                where.append(table.c.workgroup_id.in_(sorted(workgroup_ids)))
            if agent_id is not None:
                where.append(table.c.agent_id == agent_id)
            return where

        per_agent = await tx.all(
            sa.select(
                qa_reviews.c.agent_id,
                qa_reviews.c.shopper,
                sa.func.count().label("n"),
                sa.func.avg(qa_reviews.c.score).label("mean"),
            )
            .where(*scoped(qa_reviews))
            .group_by(qa_reviews.c.agent_id, qa_reviews.c.shopper)
        )
        ids = sorted({int(r.agent_id) for r in per_agent if r.agent_id is not None})
        names = {
            int(r.id): r.display_name
            for r in (
                await tx.all(sa.select(users.c.id, users.c.display_name).where(users.c.id.in_(ids)))
                if ids
                else []
            )
        }
        agents: dict[int | None, dict[bool, qa.Average]] = {}
        totals: dict[bool, tuple[int, float]] = {}
        for r in per_agent:
            n, mean = int(r.n), float(r.mean)
            aid = None if r.agent_id is None else int(r.agent_id)
            agents.setdefault(aid, {})[bool(r.shopper)] = qa.Average(n, round(mean, 2))
            count, total = totals.get(bool(r.shopper), (0, 0.0))
            totals[bool(r.shopper)] = (count + n, total + n * mean)
        rows = [
            qa.AgentRow(
                aid,
                names.get(aid, "") if aid is not None else "",
                by.get(False, qa.Average(0, 0.0)),
                by.get(True),
            )
            for aid, by in agents.items()
        ]
        rows.sort(key=lambda a: (a.agent_name.casefold(), a.agent_id or 0))
        share = 100.0 * qa_review_scores.c.score / qa_review_scores.c.scale
        per_category = await tx.all(
            sa.select(
                qa_review_scores.c.shopper,
                qa_review_scores.c.key,
                sa.func.max(qa_review_scores.c.name).label("name"),
                sa.func.count().label("n"),
                sa.func.avg(share).label("mean"),
            )
            .where(*scoped(qa_review_scores))
            .group_by(qa_review_scores.c.shopper, qa_review_scores.c.key)
            .order_by(qa_review_scores.c.shopper, qa_review_scores.c.key)
        )

        def overall(shopper: bool) -> qa.Average | None:
            if shopper not in totals:
                return None
            count, total = totals[shopper]
            return qa.Average(count, round(total / count, 2))

        return qa.Report(
            rows,
            [
                qa.CategoryRow(r.key, r.name, bool(r.shopper), int(r.n), round(float(r.mean), 2))
                for r in per_category
            ],
            overall(False),
            overall(True),
        )

    # What a review needs of its chat -----------------------------------------------------------

    async def last_agent_writer(self, tx: Tx, conversation_id: str) -> int | None:
        """The user id of the last agent who wrote a message in the chat."""
        row = await tx.one(
            sa.select(participants.c.user_id)
            .select_from(
                entries.join(
                    participants,
                    sa.and_(
                        participants.c.conversation_id == entries.c.conversation_id,
                        participants.c.key == entries.c.author,
                    ),
                )
            )
            .where(
                entries.c.conversation_id == conversation_id,
                entries.c.kind == EntryKind.MESSAGE.value,
                participants.c.role == Role.AGENT.value,
                participants.c.user_id.is_not(None),
            )
            .order_by(entries.c.seq.desc())
            .limit(1)
        )
        return None if row is None else int(row.user_id)

    async def is_shopper(self, tx: Tx, conversation_id: str) -> bool:
        row = await tx.one(
            sa.select(conversations.c.shopper).where(conversations.c.id == conversation_id)
        )
        return row is not None and bool(row.shopper)

    async def mark_shopper(self, tx: Tx, conversation_id: str) -> None:
        """Only the flag: the conversation's ``revision`` (and so every snapshot and frame of
        it) stays as it is."""
        await tx.conn.execute(
            sa.update(conversations)
            .where(conversations.c.id == conversation_id)
            .values(shopper=True)
        )

    # Shopper links -----------------------------------------------------------------------------

    async def insert_link(
        self,
        tx: Tx,
        link_id: str,
        workgroup_id: int,
        created_by: int,
        note: str,
        now: datetime,
        expires_at: datetime,
    ) -> None:
        await tx.conn.execute(
            sa.insert(shopper_links).values(
                id=link_id,
                workgroup_id=workgroup_id,
                created_by=created_by,
                note=note,
                created_at=now,
                expires_at=expires_at,
            )
        )

    async def link(self, tx: Tx, link_id: str, *, lock: bool = False) -> LinkRow | None:
        stmt = sa.select(shopper_links).where(shopper_links.c.id == link_id)
        if not lookupable(link_id):
            return None
        r = await tx.one(tx.locked(stmt) if lock else stmt)
        return None if r is None else _link(r)

    async def link_of_conversation(self, tx: Tx, conversation_id: str) -> LinkRow | None:
        r = await tx.one(
            sa.select(shopper_links).where(shopper_links.c.conversation_id == conversation_id)
        )
        return None if r is None else _link(r)

    async def use_link(self, tx: Tx, link_id: str, conversation_id: str, now: datetime) -> bool:
        """Marks it used, if nobody did first (the one-time check, race-free)."""
        result = await tx.conn.execute(
            sa.update(shopper_links)
            .where(shopper_links.c.id == link_id, shopper_links.c.used_at.is_(None))
            .values(used_at=now, conversation_id=conversation_id)
        )
        return bool(result.rowcount)

    async def mark_scored(self, tx: Tx, link_id: str, now: datetime) -> bool:
        result = await tx.conn.execute(
            sa.update(shopper_links)
            .where(shopper_links.c.id == link_id, shopper_links.c.scored_at.is_(None))
            .values(scored_at=now)
        )
        return bool(result.rowcount)

    async def links(
        self, tx: Tx, workgroup_ids: Collection[int] | None, limit: int
    ) -> list[LinkRow]:
        stmt = sa.select(shopper_links)
        if workgroup_ids is not None:
            stmt = stmt.where(shopper_links.c.workgroup_id.in_(sorted(workgroup_ids)))
        rows = await tx.all(
            stmt.order_by(shopper_links.c.created_at.desc(), shopper_links.c.id).limit(limit)
        )
        return [_link(r) for r in rows]
