"""What the archive's full-text index costs on SQLite: entry inserts with and without the FTS5
triggers of migration 0015 (batches of 64, as the group commit writes them), a word search over
the index, and a retention trim (a prefix of entries deleted through the delete trigger).

    PYTHONPATH=src python bench/archive_fts.py [entries]
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import time
from importlib import import_module

migration = import_module("parley.storage.migrations.versions.0015_archive")
WORDS = ["order", "refund", "guarantee", "price", "delivery", "invoice", "hello", "thanks"]


def setup(triggers: bool) -> sqlite3.Connection:
    c = sqlite3.connect(":memory:")
    c.execute(
        "CREATE TABLE entries (conversation_id TEXT, seq INTEGER, kind TEXT, body JSON, "
        "created_at TEXT, PRIMARY KEY (conversation_id, seq))"
    )
    if triggers:
        for statement in migration._SQLITE_FTS:
            c.execute(statement)
    return c


def insert(c: sqlite3.Connection, n: int) -> float:
    rng = random.Random(1)
    rows = [
        (
            f"{i % 1000:032x}",
            i // 1000 + 1,
            "message",
            json.dumps({"text": " ".join(rng.choices(WORDS, k=12))}),
            f"2026-01-01 00:00:{i:09d}",
        )
        for i in range(n)
    ]
    start = time.perf_counter()
    for k in range(0, n, 64):
        c.executemany("INSERT INTO entries VALUES (?, ?, ?, ?, ?)", rows[k : k + 64])
        c.commit()
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    plain = insert(setup(False), n)
    c = setup(True)
    indexed = insert(c, n)
    print(
        f"{n} entries, batches of 64: {n / plain:,.0f}/s without the index, "
        f"{n / indexed:,.0f}/s with"
    )
    start = time.perf_counter()
    for _ in range(20):
        c.execute(
            "SELECT conversation_id, seq FROM entries_fts WHERE entries_fts MATCH "
            '\'text : "guarantee" AND text : "refund"\' LIMIT 50'
        ).fetchall()
    print(f"search of two words, 50 hits: {(time.perf_counter() - start) / 20 * 1000:.2f} ms")
    start = time.perf_counter()
    deleted = c.execute("DELETE FROM entries WHERE seq < 11").rowcount
    c.commit()
    took = time.perf_counter() - start
    print(f"trim of {deleted} entries through the delete trigger: {took * 1000:.0f} ms")


if __name__ == "__main__":
    main()
