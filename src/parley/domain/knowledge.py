"""The knowledge base: a workgroup's articles, found by full-text search. Pure rules and limits.

An article has a ``title`` (one line, 1-200), a ``body`` in Markdown (1-50,000 characters;
rendered to HTML and sanitized by ``parley.markup`` when saved), a ``category`` (one line, up
to 40, may be empty) and a ``visibility``: ``internal`` (the workgroup's staff only) or
``public`` (also the widget's search, for anyone on the company's site).

What is searched for: the words of a query (``query_words``), case-folded, accents removed,
without the commonest English and German words (a question's "how do I" says nothing about
which article answers it), at most ``MAX_QUERY_WORDS``. Suggestions beside a chat take them
from the customer's opening question and latest messages, the newest first
(``suggestion_words``). The database ranks (SQLite FTS5's bm25, PostgreSQL's ts_rank):
``storage.knowledge``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from parley.domain.errors import InvalidInput

MAX_TITLE_CHARS = 200
MAX_BODY_CHARS = 50_000
MAX_CATEGORY_CHARS = 40
MAX_ARTICLES = 2000
MAX_QUERY_CHARS = 500
MAX_QUERY_WORDS = 16
#: Suggestions shown beside a chat, and search results per page at most.
SUGGESTIONS = 3
MAX_RESULTS = 20
#: How many of the customer's latest messages the suggestions read.
SUGGESTION_MESSAGES = 5
EXCERPT_CHARS = 240

_WORD = re.compile(r"\w+", re.UNICODE)

#: Words that say nothing about which article answers a question (English and German).
STOPWORDS = frozenset(
    """
    a about above after again against all am an and any are as at be because been before being
    below between both but by can could did do does doing don down during each few for from
    further get got had has have having he her here hers him his how i if in into is it its
    itself just me more most my myself no nor not now of off on once only or other our ours out
    over own please same she should so some such than thank thanks that the their theirs them
    then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours yourself hello hi hey help
    need want like know tell cant im ive dont doesnt didnt isnt also still yet one doesn
    didn isn wasn aren won wouldn couldn shouldn haven hasn ll re ve
    aber als am an auch auf aus bei bin bis bitte da dann das dass dem den der des die dies
    doch du ein eine einem einen einer es für hallo hat habe haben ich ihr im in ist ja kann
    kein keine man mein meine mich mir mit nach nicht noch nur oder sich sie sind so und uns
    von vor war was wie wir wo zu zum zur über
    """.split()  # noqa: SIM905 (a list of 190 words reads better as text)
)


class Visibility(StrEnum):
    INTERNAL = "internal"
    PUBLIC = "public"


@dataclass(frozen=True, slots=True)
class Article:
    workgroup_id: int
    title: str
    body: str
    category: str = ""
    visibility: Visibility = Visibility.INTERNAL
    id: int = 0


@dataclass(frozen=True, slots=True)
class Stored:
    """An article as kept: with its sanitized HTML, plain text (what is indexed and excerpted),
    counters and times."""

    article: Article
    html: str
    plain: str
    created_at: datetime
    updated_at: datetime
    #: Times a visitor said it answered their question (and left the queue, if in one).
    answered: int = 0


def _one_line(value: str, what: str, lo: int, hi: int) -> str:
    value = value.strip()
    if not lo <= len(value) <= hi:
        raise InvalidInput(f"an article's {what} is {lo} to {hi} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise InvalidInput(f"an article's {what} is one line, without control characters")
    return value


def article(
    workgroup_id: int,
    title: str,
    body: str,
    category: str = "",
    visibility: Visibility = Visibility.INTERNAL,
    id: int = 0,
) -> Article:
    """A checked article: ``InvalidInput`` naming what is wrong."""
    body = body.strip()
    if not 1 <= len(body) <= MAX_BODY_CHARS:
        raise InvalidInput(f"an article's body is 1 to {MAX_BODY_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t\r" for c in body):
        raise InvalidInput("an article's body has no control characters but line breaks and tabs")
    return Article(
        workgroup_id=workgroup_id,
        title=_one_line(title, "title", 1, MAX_TITLE_CHARS),
        body=body.replace("\r\n", "\n"),
        category=_one_line(category, "category", 0, MAX_CATEGORY_CHARS) if category else "",
        visibility=Visibility(visibility),
        id=id,
    )


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def query_words(text: str, limit: int = MAX_QUERY_WORDS) -> list[str]:
    """The words to search for in ``text``: folded, no stopwords, no one-letter words, each
    once, in order, at most ``limit``. Underscores split words (as both indexes split them)."""
    out: list[str] = []
    for w in _WORD.findall(fold(text[: MAX_QUERY_CHARS * 4]).replace("_", " ")):
        if len(w) < 2 or w in STOPWORDS or w in out:
            continue
        out.append(w)
        if len(out) >= limit:
            break
    return out


def suggestion_words(question: str, latest: Sequence[str]) -> list[str]:
    """What the suggestions beside a chat search for: the customer's latest messages (newest
    first), then the opening question, their words as ``query_words`` gives them."""
    text = "\n".join([*reversed(latest[-SUGGESTION_MESSAGES:]), question])
    return query_words(text)


def excerpt(plain: str, words: Sequence[str], limit: int = EXCERPT_CHARS) -> str:
    """Up to ``limit`` characters of ``plain`` around the first place one of ``words`` occurs
    (the start when none does), cut at word boundaries, with "…" where text was left out."""
    text = " ".join(plain.split())
    if len(text) <= limit:
        return text
    folded = fold(text)
    at = -1
    for w in words:
        m = re.search(r"\b" + re.escape(w), folded)
        if m is not None and (at < 0 or m.start() < at):
            at = m.start()
    # Folding can change lengths (ß → ss); positions are only a hint, so clamp them.
    start = 0 if at < 0 else max(0, min(at - limit // 4, len(text) - limit))
    if start > 0:
        space = text.find(" ", start)
        start = space + 1 if 0 <= space < start + 20 else start
    end = min(len(text), start + limit)
    if end < len(text):
        space = text.rfind(" ", start, end)
        end = space if space > start + limit // 2 else end
    return ("…" if start > 0 else "") + text[start:end].strip() + ("…" if end < len(text) else "")
