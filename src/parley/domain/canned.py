"""Canned responses: the answers a workgroup (or one agent) keeps ready, found in the reply box
by typing ``/`` and a few letters. Pure rules and limits.

A canned response is **shared** (a workgroup's, in a category; its supervisors and admins keep
them, its agents use them) or **personal** (one staff member's own, seen by nobody else). It has
a ``shortcut`` (what ``/`` finds first: 1-32 lowercase letters, digits, ``-`` or ``_``, unique
within its workgroup's shared responses or its owner's personal ones), a ``title`` (one line,
1-80), a ``text`` (1-2000, line breaks allowed) with placeholders (``domain.placeholders``),
and a ``category`` (one line, up to 40; may be empty). Usage is counted each time an agent
inserts one.

The company's message templates (``domain.templates``) are the third source the picker
searches: company-wide greetings and sign-offs, read-only there, kept by admins.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from parley.domain import fuzzy, placeholders
from parley.domain.errors import InvalidInput

MAX_SHORTCUT_CHARS = 32
MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 2000
MAX_CATEGORY_CHARS = 40
#: Shared responses per workgroup, personal ones per staff member.
MAX_SHARED = 500
MAX_PERSONAL = 200
#: Results of one search at most.
MAX_RESULTS = 20

_SHORTCUT = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


class Scope(StrEnum):
    WORKGROUP = "workgroup"
    PERSONAL = "personal"


@dataclass(frozen=True, slots=True)
class Canned:
    scope: Scope
    shortcut: str
    title: str
    text: str
    category: str = ""
    #: The workgroup of a shared response; None for a personal one.
    workgroup_id: int | None = None
    #: The owner of a personal response; None for a shared one.
    owner_id: int | None = None
    uses: int = 0
    id: int = 0


def _one_line(value: str, what: str, lo: int, hi: int) -> str:
    value = value.strip()
    if not lo <= len(value) <= hi:
        raise InvalidInput(f"a canned response's {what} is {lo} to {hi} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") for c in value):
        raise InvalidInput(f"a canned response's {what} is one line, without control characters")
    return value


def shortcut_of(value: str) -> str:
    s = value.strip().lstrip("/").casefold()
    if not _SHORTCUT.fullmatch(s):
        raise InvalidInput(
            f"a shortcut is 1 to {MAX_SHORTCUT_CHARS} lowercase letters, digits, '-' or '_',"
            " starting with a letter or digit"
        )
    return s


def text_of(value: str, fields: Collection[str] = ()) -> str:
    """A checked text: its limits, no control characters but line breaks and tabs, and only
    known placeholders (``fields``: the pre-chat form's field names that ``{field.<name>}``
    may use)."""
    text = value.strip()
    if not 1 <= len(text) <= MAX_TEXT_CHARS:
        raise InvalidInput(f"a canned response's text is 1 to {MAX_TEXT_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidInput("a canned response's text has no control characters but line breaks")
    placeholders.check(text, fields)
    return text


def canned(
    scope: Scope,
    shortcut: str,
    title: str,
    text: str,
    category: str = "",
    *,
    workgroup_id: int | None = None,
    owner_id: int | None = None,
    fields: Collection[str] = (),
    id: int = 0,
) -> Canned:
    """A checked canned response: ``InvalidInput`` naming what is wrong."""
    if (scope is Scope.WORKGROUP) != (workgroup_id is not None) or (scope is Scope.PERSONAL) != (
        owner_id is not None
    ):
        raise InvalidInput("a shared response belongs to a workgroup, a personal one to its owner")
    return Canned(
        scope=scope,
        shortcut=shortcut_of(shortcut),
        title=_one_line(title, "title", 1, MAX_TITLE_CHARS),
        text=text_of(text, fields),
        category=_one_line(category, "category", 0, MAX_CATEGORY_CHARS) if category else "",
        workgroup_id=workgroup_id,
        owner_id=owner_id,
        id=id,
    )


@dataclass(frozen=True, slots=True)
class Candidate:
    """What the picker searches: a canned response or a message template (``kind``)."""

    kind: str  # "canned" or "template"
    id: int
    shortcut: str
    title: str
    text: str
    uses: int = 0


C = TypeVar("C", bound=Candidate)


def search(query: str, candidates: Sequence[C], limit: int = MAX_RESULTS) -> list[C]:
    """The candidates ``query`` finds, best first (``fuzzy.score``); ties by shortcut then id.
    An empty query lists them all, the most used first."""
    limit = max(1, min(limit, MAX_RESULTS))
    q = query.strip().lstrip("/")
    if not q:
        ordered = sorted(candidates, key=lambda c: (-c.uses, c.shortcut, c.kind, c.id))
        return ordered[:limit]
    scored = [(fuzzy.score(q, c.shortcut, c.title, c.text, c.uses), c) for c in candidates]
    found = [(s, c) for s, c in scored if s > 0]
    found.sort(key=lambda sc: (-sc[0], sc[1].shortcut, sc[1].kind, sc[1].id))
    return [c for _, c in found[:limit]]
