"""How good the knowledge base's suggestions are: a labelled set (``bench/kb_corpus.json``: 26
help-centre articles of a made-up bicycle shop, 41 customer questions, each with the one article
that answers it), searched the way the console's suggestions search (the question as a chat's
opening question: ``domain.knowledge.suggestion_words``, then ``KnowledgeStore.search`` with
its ranking, three results), through a real migrated database.

It reports, over the questions:

- **hit rate at 3**: the answering article is among the three suggestions (what the agent sees);
- **precision at 3**: relevant suggestions / 3, with one relevant article per question (so at
  most 0.33), the textbook measure;
- **MRR**: the mean of 1 / the answer's rank (0 when not in the three);
- and the questions whose answer was not suggested, with what was.

    PYTHONPATH=src python bench/kb_precision.py              # SQLite (FTS5, bm25)
    PYTHONPATH=src python bench/kb_precision.py --postgres   # PostgreSQL (tsvector, ts_rank)

``--postgres`` makes a database of its own on ``PARLEY_TEST_DATABASE_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``'s server) and drops it afterwards.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from parley import markup
from parley.domain.knowledge import Visibility, article, suggestion_words
from parley.storage.db import Database
from parley.storage.knowledge import KnowledgeStore
from parley.storage.workgroups import WorkgroupStore

CORPUS = Path(__file__).with_name("kb_corpus.json")
K = 3
PG_URL = os.environ.get("PARLEY_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def measure(url: str, data: dict[str, Any], verbose: bool) -> dict[str, float]:
    db = Database(url)
    await db.migrate()
    kb, workgroups = KnowledgeStore(), WorkgroupStore()
    now = datetime(2026, 12, 4, tzinfo=UTC)
    keys: dict[int, str] = {}
    try:
        async with db.write() as tx:
            wg = await workgroups.insert_workgroup(tx, "help", "Help", "", 30, 300, 3, now)
            for a in data["articles"]:
                checked = article(wg, a["title"], a["body"], a["category"], Visibility.PUBLIC)
                body = checked.body
                aid = await kb.insert(tx, checked, markup.render(body), markup.plain(body), now)
                keys[aid] = a["key"]
        hits = relevant = 0
        reciprocal = 0.0
        misses: list[str] = []
        async with db.read() as tx:
            for item in data["questions"]:
                words = suggestion_words(item["q"], [])
                found = [
                    keys[f.stored.article.id] for f in await kb.search(tx, words, [wg], limit=K)
                ]
                if item["answer"] in found:
                    hits += 1
                    relevant += 1
                    reciprocal += 1 / (found.index(item["answer"]) + 1)
                else:
                    misses.append(
                        f"  {item['q']!r} -> {found} (answer: {item['answer']}; words {words})"
                    )
    finally:
        await db.dispose()
    n = len(data["questions"])
    if verbose and misses:
        print("not suggested:")
        print("\n".join(misses))
    return {
        "questions": n,
        "hit_rate_at_3": hits / n,
        "precision_at_3": relevant / (K * n),
        "mrr": reciprocal / n,
    }


async def on_postgres(data: dict[str, Any], verbose: bool) -> dict[str, float]:
    import psycopg

    plain = PG_URL.replace("postgresql+psycopg://", "postgresql://")
    name = "kb_bench_" + secrets.token_hex(4)
    admin = await psycopg.AsyncConnection.connect(plain, autocommit=True)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        try:
            url = make_url(plain).set(database=name).render_as_string(hide_password=False)
            return await measure(url, data, verbose)
        finally:
            await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await admin.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--postgres", action="store_true", help="on PostgreSQL, not SQLite")
    parser.add_argument("--quiet", action="store_true", help="no list of misses")
    args = parser.parse_args()
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    if args.postgres:
        result = asyncio.run(on_postgres(data, not args.quiet))
        backend = "PostgreSQL (tsvector, ts_rank)"
    else:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'kb.db'}"
            result = asyncio.run(measure(url, data, not args.quiet))
        backend = "SQLite (FTS5, bm25)"
    print(
        f"{backend}: {len(data['articles'])} articles, {result['questions']:.0f} questions: "
        f"hit rate at 3 {result['hit_rate_at_3']:.2f}, precision at 3 "
        f"{result['precision_at_3']:.2f} (at most 0.33: one relevant article each), "
        f"MRR {result['mrr']:.2f}"
    )


if __name__ == "__main__":
    main()
