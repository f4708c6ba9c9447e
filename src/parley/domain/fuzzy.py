"""A small typo-tolerant scorer for short queries: what the agent types after ``/`` in the reply
box against a canned response's shortcut, title and text.

No library: an optimal-string-alignment edit distance (Levenshtein plus swapping two neighbours,
the commonest typo) on prefixes, with an early exit, is all a few hundred candidates need.
The rules, strongest first:

1. the shortcut is the query (100), or starts with it (90, less for longer shortcuts), or
   starts with it give or take a typo (70 for one, 60 for two: ``rfe`` finds ``refund``);
   the query inside the shortcut scores 55;
2. otherwise every word of the query is looked for among the words of the title (worth 1) and
   of the text (worth 0.8): the same word, a word starting with it (0.9), or one starting with
   it give or take a typo (0.7 for one, 0.55 for two); the content's score is 45 times the
   average over the query's words, and 0 unless at least one of them was found.

Typos allowed: none for one or two letters, one for three to five, two beyond. Words and
shortcuts are compared case-folded with accents removed. Pure: no I/O.
"""

from __future__ import annotations

import math
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)
#: The most query words looked at (the rest are ignored).
MAX_QUERY_WORDS = 8


def fold(text: str) -> str:
    """Lower case, accents removed (``Récupérer`` → ``recuperer``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def allowed_typos(length: int) -> int:
    if length <= 2:
        return 0
    return 1 if length <= 5 else 2


def distance(a: str, b: str, limit: int) -> int:
    """The optimal string alignment distance of ``a`` and ``b`` (insertions, deletions,
    substitutions, swaps of two neighbours), or ``limit + 1`` once it is sure to exceed
    ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[len(b)]


def prefix_distance(query: str, word: str, limit: int) -> int:
    """How many typos make ``query`` a prefix of ``word``: the least distance between
    ``query`` and a prefix of ``word`` one letter shorter to one letter longer (or the whole
    word when it is shorter), ``limit + 1`` beyond ``limit``."""
    best = limit + 1
    for k in range(max(1, len(query) - limit), len(query) + limit + 1):
        if k > len(word):
            break
        best = min(best, distance(query, word[:k], limit))
        if best == 0:
            return 0
    if len(word) < len(query):
        best = min(best, distance(query, word, limit))
    return best


def shortcut_score(query: str, shortcut: str) -> float:
    q, s = fold(query), fold(shortcut)
    if not q or not s:
        return 0.0
    if s == q:
        return 100.0
    if s.startswith(q):
        return 90.0 - min(10.0, 0.5 * (len(s) - len(q)))
    limit = allowed_typos(len(q))
    if limit:
        d = prefix_distance(q, s, limit)
        if d <= limit:
            return 70.0 if d == 1 else 60.0
    if len(q) >= 2 and q in s:
        return 55.0
    return 0.0


def _word_score(query_word: str, candidates: list[str]) -> float:
    limit = allowed_typos(len(query_word))
    best = 0.0
    for w in candidates:
        if w == query_word:
            return 1.0
        if len(query_word) >= 2 and w.startswith(query_word):
            best = max(best, 0.9)
        elif limit and best < 0.7:
            d = prefix_distance(query_word, w, limit)
            if d <= limit:
                best = max(best, 0.7 if d == 1 else 0.55)
    return best


def content_score(query: str, title: str, text: str) -> float:
    query_words = words(query)[:MAX_QUERY_WORDS]
    if not query_words:
        return 0.0
    title_words = sorted(set(words(title)))
    text_words = sorted(set(words(text)) - set(title_words))
    total = 0.0
    found = False
    for qw in query_words:
        s = max(_word_score(qw, title_words), 0.8 * _word_score(qw, text_words))
        found = found or s > 0
        total += s
    return 45.0 * total / len(query_words) if found else 0.0


def score(query: str, shortcut: str, title: str, text: str, uses: int = 0) -> float:
    """How well ``query`` finds a response (0: not at all), plus up to 3 points for how often
    it was used, so that among equals the usual one comes first."""
    base = max(
        shortcut_score(query.strip().lstrip("/"), shortcut), content_score(query, title, text)
    )
    if base <= 0:
        return 0.0
    return base + min(3.0, math.log10(1 + max(0, uses)))
