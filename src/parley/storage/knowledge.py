"""Knowledge-base articles and their full-text search (``domain.knowledge``). A stateless
store: each method takes the ``Tx``.

The index (migration 0019): SQLite's FTS5 table ``kb_fts`` (title and plain body, the Porter
stemmer, accents removed; rowid = the article's id), ranked by ``bm25`` with the title weighing
``TITLE_WEIGHT`` times the body; PostgreSQL's ``kb_articles.search_tsv`` (the ``english``
configuration, title weight A, body B), ranked by ``ts_rank``. A search is an OR of its words
(the best match has most of them; bm25 and ts_rank both reward that), the last one a prefix
when the query is still being typed.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from parley.domain.knowledge import Article, Stored, Visibility
from parley.storage.tables import kb_articles
from parley.storage.tx import Tx

#: bm25's weight of the title against the body's 1.
TITLE_WEIGHT = 4.0


@dataclass(frozen=True, slots=True)
class Found:
    stored: Stored
    #: Higher is better (bm25 negated on SQLite, ts_rank on PostgreSQL): comparable only
    #: within one search.
    rank: float


def _stored(row: sa.Row[Any]) -> Stored:
    return Stored(
        Article(
            workgroup_id=int(row.workgroup_id),
            title=row.title,
            body=row.body,
            category=row.category,
            visibility=Visibility(row.visibility),
            id=int(row.id),
        ),
        html=row.html,
        plain=row.plain,
        created_at=row.created_at,
        updated_at=row.updated_at,
        answered=int(row.answered),
    )


def _scope(
    workgroup_ids: Collection[int] | None, visibility: Visibility | None
) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = []
    if workgroup_ids is not None:
        where.append(kb_articles.c.workgroup_id.in_(list(workgroup_ids)))
    if visibility is not None:
        where.append(kb_articles.c.visibility == visibility.value)
    return where


def fts5_match(words: Sequence[str], *, prefix_last: bool = False) -> str:
    """An FTS5 query: each word quoted (so nothing in it is FTS5 syntax), OR'ed."""
    terms = ['"' + w.replace('"', '""') + '"' for w in words]
    if prefix_last and terms:
        terms[-1] += "*"
    return " OR ".join(terms)


def tsquery(words: Sequence[str], *, prefix_last: bool = False) -> str:
    """A ``to_tsquery`` text: the words (letters and digits only, ``domain.knowledge``) OR'ed,
    quoted so that nothing in them is tsquery syntax."""
    terms = ["'" + w.replace("'", "''").replace("\\", "\\\\") + "'" for w in words]
    if prefix_last and terms:
        terms[-1] += ":*"
    return " | ".join(terms)


class KnowledgeStore:
    __slots__ = ()

    async def article(self, tx: Tx, article_id: int) -> Stored | None:
        row = await tx.one(sa.select(kb_articles).where(kb_articles.c.id == article_id))
        return None if row is None else _stored(row)

    async def articles(
        self,
        tx: Tx,
        workgroup_ids: Collection[int] | None,
        *,
        visibility: Visibility | None = None,
        category: str | None = None,
        offset: int = 0,
        limit: int = 100,
    ) -> list[Stored]:
        stmt = sa.select(kb_articles).where(*_scope(workgroup_ids, visibility))
        if category is not None:
            stmt = stmt.where(kb_articles.c.category == category)
        rows = await tx.all(
            stmt.order_by(kb_articles.c.category, kb_articles.c.title, kb_articles.c.id)
            .offset(offset)
            .limit(limit)
        )
        return [_stored(r) for r in rows]

    async def count(self, tx: Tx, workgroup_id: int) -> int:
        row = await tx.one(
            sa.select(sa.func.count())
            .select_from(kb_articles)
            .where(kb_articles.c.workgroup_id == workgroup_id)
        )
        return 0 if row is None else int(row[0])

    async def insert(self, tx: Tx, a: Article, html: str, plain: str, now: datetime) -> int:
        result = await tx.conn.execute(
            sa.insert(kb_articles)
            .values(
                workgroup_id=a.workgroup_id,
                title=a.title,
                body=a.body,
                html=html,
                plain=plain,
                category=a.category,
                visibility=a.visibility.value,
                created_at=now,
                updated_at=now,
            )
            .returning(kb_articles.c.id)
        )
        return int(result.scalar_one())

    async def update(self, tx: Tx, a: Article, html: str, plain: str, now: datetime) -> bool:
        result = await tx.conn.execute(
            sa.update(kb_articles)
            .where(kb_articles.c.id == a.id)
            .values(
                title=a.title,
                body=a.body,
                html=html,
                plain=plain,
                category=a.category,
                visibility=a.visibility.value,
                updated_at=now,
            )
        )
        return bool(result.rowcount)

    async def delete(self, tx: Tx, article_id: int) -> bool:
        result = await tx.conn.execute(sa.delete(kb_articles).where(kb_articles.c.id == article_id))
        return bool(result.rowcount)

    async def answered(self, tx: Tx, article_id: int) -> None:
        await tx.conn.execute(
            sa.update(kb_articles)
            .where(kb_articles.c.id == article_id)
            .values(answered=kb_articles.c.answered + 1)
        )

    async def search(
        self,
        tx: Tx,
        words: Sequence[str],
        workgroup_ids: Collection[int] | None,
        *,
        visibility: Visibility | None = None,
        prefix_last: bool = False,
        limit: int = 10,
    ) -> list[Found]:
        """The articles matching any of ``words`` (``domain.knowledge.query_words``), best
        first."""
        if not words or (workgroup_ids is not None and not workgroup_ids):
            return []
        if tx.postgres:
            query = sa.func.to_tsquery(
                sa.literal_column("'english'::regconfig"),
                sa.bindparam("tsq", tsquery(words, prefix_last=prefix_last)),
            )
            tsv: sa.ColumnElement[Any] = sa.literal_column("kb_articles.search_tsv")
            rank = sa.func.ts_rank(tsv, query).label("rank")
            stmt = (
                sa.select(kb_articles, rank)
                .where(tsv.op("@@")(query), *_scope(workgroup_ids, visibility))
                .order_by(rank.desc(), kb_articles.c.id)
                .limit(limit)
            )
        else:
            fts = sa.table("kb_fts", sa.column("rowid"))
            rank = (-sa.func.bm25(sa.literal_column("kb_fts"), TITLE_WEIGHT, 1.0)).label("rank")
            stmt = (
                sa.select(kb_articles, rank)
                .join(fts, fts.c.rowid == kb_articles.c.id)
                .where(
                    sa.text("kb_fts MATCH :match").bindparams(
                        match=fts5_match(words, prefix_last=prefix_last)
                    ),
                    *_scope(workgroup_ids, visibility),
                )
                .order_by(rank.desc(), kb_articles.c.id)
                .limit(limit)
            )
        rows = await tx.all(stmt)
        return [Found(_stored(r), float(r.rank)) for r in rows]
