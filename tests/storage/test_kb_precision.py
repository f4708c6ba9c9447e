"""The knowledge base's suggestions on the labelled set of ``bench/kb_corpus.json`` (the
benchmark, ``bench/kb_precision.py``), on both backends: a regression check that the answer
stays among the three suggestions for most questions (docs/performance.md, "Knowledge base")."""

from __future__ import annotations

import json
from pathlib import Path

from bench.kb_precision import CORPUS, measure
from tests.support import migrated_postgres_database


async def test_suggestions_find_the_answer_in_three(backend: str, tmp_path: Path) -> None:
    data = json.loads(CORPUS.read_text(encoding="utf-8"))
    if backend == "sqlite":
        result = await measure(f"sqlite:///{tmp_path / 'kb.db'}", data, verbose=False)
    else:
        async with migrated_postgres_database() as url:
            result = await measure(url, data, verbose=False)
    assert result["questions"] == 41
    assert result["hit_rate_at_3"] >= 0.9
    assert result["mrr"] >= 0.8
