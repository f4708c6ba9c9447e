"""QA review and secret shoppers, the pure part: scorecards, the score of a review, the QA
report's averages, and a shopper link's life (issue 11, "After the fact").

- **A scorecard** is a list of categories, each with a ``weight`` (1 to ``MAX_WEIGHT``), a
  ``scale`` (scores 0 to ``scale``, ``scale`` 1 to ``MAX_SCALE``) and ``critical`` or not.
  ``purpose`` says whether supervisors fill it beside a transcript (``review``) or secret
  shoppers after their chat (``shopper``, a checklist: every item is scale 1, yes or no).
- **The score** of a filled review (``score``) is the weighted mean of each category's share of
  its scale, as a percentage: ``100 * sum(weight * s / scale) / sum(weight)``. One rule beats
  it: a critical category scored *below half its scale* (``2 * s < scale``) zeroes the whole
  review. Every category is scored, with a whole number from 0 to its scale; nothing else.
- **The report** (``report``) averages the reviews' scores per agent and per category (each
  category's mean share of its scale, as a percentage), the shoppers' apart from the
  supervisors'.
- **A shopper link** (``check_link``) opens one chat, before it expires.

No I/O: time comes in as ``now``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from parley.domain.errors import Conflict, InvalidInput, Unauthenticated

MAX_CATEGORIES = 30
MAX_WEIGHT = 100
MAX_SCALE = 10
MAX_NAME_CHARS = 80
MAX_KEY_CHARS = 32
MAX_COMMENT_CHARS = 2000
MAX_CATEGORY_COMMENT_CHARS = 500
MAX_SCORECARDS = 100
_KEY = re.compile(r"^[a-z][a-z0-9_]{0,31}$")

#: A shopper link lives this long unless asked otherwise, and never longer than the maximum.
DEFAULT_LINK_LIFETIME = timedelta(hours=24)
MAX_LINK_LIFETIME = timedelta(days=7)
MIN_LINK_LIFETIME = timedelta(minutes=5)


class Purpose(StrEnum):
    REVIEW = "review"
    SHOPPER = "shopper"


class ShopperLinkInvalid(Unauthenticated):
    """A shopper link this server did not sign, or that does not exist."""

    code = "shopper_link_invalid"


class ShopperLinkExpired(Unauthenticated):
    code = "shopper_link_expired"


class ShopperLinkUsed(Unauthenticated):
    """A shopper link opens one chat: the second use is refused."""

    code = "shopper_link_used"


@dataclass(frozen=True, slots=True)
class Category:
    key: str
    name: str
    weight: int = 1
    scale: int = 5
    critical: bool = False


@dataclass(frozen=True, slots=True)
class Scorecard:
    name: str
    purpose: Purpose
    categories: tuple[Category, ...]
    id: int | None = None
    active: bool = True

    def category(self, key: str) -> Category | None:
        return next((c for c in self.categories if c.key == key), None)


#: The shopper's checklist when an admin has not made one: five yes/no items, the greeting
#: and the closing as much as the rest.
BUILT_IN_CHECKLIST = Scorecard(
    "Secret shopper checklist",
    Purpose.SHOPPER,
    (
        Category("greeting", "Greeted me promptly and politely", 1, 1),
        Category("name", "Gave their name", 1, 1),
        Category("wait", "The wait was reasonable", 1, 1),
        Category("accuracy", "The answer was accurate", 1, 1),
        Category("closing", "Closed the chat properly", 1, 1),
    ),
)


def _name(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{what} is required")
    if len(text) > MAX_NAME_CHARS:
        raise InvalidInput(f"{what} is at most {MAX_NAME_CHARS} characters")
    return text


def new_scorecard(
    name: str, purpose: Purpose, categories: Sequence[Category], active: bool = True
) -> Scorecard:
    """A checked scorecard: a name, 1 to ``MAX_CATEGORIES`` categories with distinct keys
    (lower case, digits, ``_``), weights 1 to ``MAX_WEIGHT``, scales 1 to ``MAX_SCALE``; a
    shopper checklist has scale 1 everywhere (yes or no)."""
    if not 1 <= len(categories) <= MAX_CATEGORIES:
        raise InvalidInput(f"a scorecard has 1 to {MAX_CATEGORIES} categories")
    seen: set[str] = set()
    checked = []
    for c in categories:
        if not _KEY.match(c.key):
            raise InvalidInput(
                f"category key {c.key[:MAX_KEY_CHARS]!r}: a lower-case letter, then letters, "
                f"digits or _ (at most {MAX_KEY_CHARS})"
            )
        if c.key in seen:
            raise InvalidInput(f"category key {c.key!r} is used twice")
        seen.add(c.key)
        if not 1 <= c.weight <= MAX_WEIGHT:
            raise InvalidInput(f"category {c.key!r}: the weight is 1 to {MAX_WEIGHT}")
        if not 1 <= c.scale <= MAX_SCALE:
            raise InvalidInput(f"category {c.key!r}: the scale is 1 to {MAX_SCALE}")
        if purpose is Purpose.SHOPPER and c.scale != 1:
            raise InvalidInput(f"category {c.key!r}: a shopper checklist is yes or no (scale 1)")
        checked.append(
            Category(
                c.key, _name(c.name, f"category {c.key!r}'s name"), c.weight, c.scale, c.critical
            )
        )
    return Scorecard(_name(name, "the scorecard's name"), purpose, tuple(checked), active=active)


@dataclass(frozen=True, slots=True)
class Result:
    #: 0 to 100.
    score: float
    #: The critical categories scored below half their scale (the score is then 0).
    failed_critical: tuple[str, ...]
    #: The score without the critical rule.
    weighted: float


def critical_failed(category: Category, value: int) -> bool:
    """Below half its scale: ``value < scale / 2``, in integers."""
    return category.critical and 2 * value < category.scale


def score(card: Scorecard, scores: Mapping[str, int]) -> Result:
    """The review's score (see the module's docstring). Every category of ``card`` is scored,
    each with a whole number 0 to its scale, and nothing else is, else ``InvalidInput``."""
    unknown = sorted(set(scores) - {c.key for c in card.categories})
    if unknown:
        raise InvalidInput(f"no such category: {unknown[0][:MAX_KEY_CHARS]!r}")
    total = 0.0
    weights = 0
    failed = []
    for c in card.categories:
        if c.key not in scores:
            raise InvalidInput(f"category {c.key!r} is not scored")
        value = scores[c.key]
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= c.scale:
            raise InvalidInput(f"category {c.key!r} is scored 0 to {c.scale}")
        total += c.weight * value / c.scale
        weights += c.weight
        if critical_failed(c, value):
            failed.append(c.key)
    weighted = round(100 * total / weights, 2)
    return Result(0.0 if failed else weighted, tuple(failed), weighted)


def check_comments(
    card: Scorecard, comments: Mapping[str, str], comment: str
) -> tuple[dict[str, str], str]:
    """A comment per category (only the card's, at most ``MAX_CATEGORY_COMMENT_CHARS`` each) and
    one for the review (at most ``MAX_COMMENT_CHARS``); blank ones dropped."""
    out = {}
    for key, text in comments.items():
        if card.category(key) is None:
            raise InvalidInput(f"no such category: {key[:MAX_KEY_CHARS]!r}")
        if len(text) > MAX_CATEGORY_COMMENT_CHARS:
            raise InvalidInput(
                f"a category's comment is at most {MAX_CATEGORY_COMMENT_CHARS} characters"
            )
        if text.strip():
            out[key] = text.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise InvalidInput(f"the comment is at most {MAX_COMMENT_CHARS} characters")
    return out, comment.strip()


# The report ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reviewed:
    """One review as the report counts it."""

    agent_id: int | None
    agent_name: str
    shopper: bool
    score: float
    card: Scorecard
    scores: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class Average:
    reviews: int
    score: float


@dataclass(frozen=True, slots=True)
class AgentRow:
    agent_id: int | None
    agent_name: str
    reviews: Average
    shoppers: Average | None


@dataclass(frozen=True, slots=True)
class CategoryRow:
    key: str
    name: str
    shopper: bool
    #: Reviews that scored this category, and their mean share of its scale (0 to 100).
    reviews: int
    percent: float


@dataclass(frozen=True, slots=True)
class Report:
    agents: list[AgentRow]
    categories: list[CategoryRow]
    overall: Average | None = None
    shoppers: Average | None = None


def _mean(values: Sequence[float]) -> Average | None:
    if not values:
        return None
    return Average(len(values), round(sum(values) / len(values), 2))


def report(reviews: Iterable[Reviewed]) -> Report:
    """Per agent: the mean score of the supervisors' reviews and, apart, of the shoppers';
    per category (by key and whether shopper): the mean share of its scale. Agents by name,
    categories by key. The definition: ``QaStore.report`` computes the same in SQL (the API
    tests check both agree)."""
    by_agent: dict[int | None, tuple[str, list[float], list[float]]] = {}
    by_cat: dict[tuple[bool, str], tuple[str, list[float]]] = {}
    normal: list[float] = []
    shop: list[float] = []
    for r in reviews:
        name, mine, shopped = by_agent.setdefault(r.agent_id, (r.agent_name, [], []))
        (shopped if r.shopper else mine).append(r.score)
        (shop if r.shopper else normal).append(r.score)
        for c in r.card.categories:
            if c.key in r.scores:
                _, values = by_cat.setdefault((r.shopper, c.key), (c.name, []))
                values.append(100 * r.scores[c.key] / c.scale)
    agents = [
        AgentRow(agent_id, name, _mean(mine) or Average(0, 0.0), _mean(shopped))
        for agent_id, (name, mine, shopped) in sorted(
            by_agent.items(), key=lambda kv: (kv[1][0].casefold(), kv[0] or 0)
        )
    ]
    categories = []
    for (shopper, key), (name, values) in sorted(by_cat.items()):
        mean = _mean(values)
        assert mean is not None
        categories.append(CategoryRow(key, name, shopper, mean.reviews, mean.score))
    return Report(agents, categories, _mean(normal), _mean(shop))


# Shopper links ------------------------------------------------------------------------------


def link_lifetime(hours: float | None) -> timedelta:
    """``hours`` (None: the default), refused outside ``MIN_LINK_LIFETIME`` to
    ``MAX_LINK_LIFETIME``."""
    if hours is None:
        return DEFAULT_LINK_LIFETIME
    lifetime = timedelta(hours=hours)
    if not MIN_LINK_LIFETIME <= lifetime <= MAX_LINK_LIFETIME:
        raise InvalidInput("a shopper link lives 5 minutes to 7 days (168 hours)")
    return lifetime


@dataclass(frozen=True, slots=True)
class Link:
    id: str
    workgroup_id: int
    expires_at: datetime
    used_at: datetime | None
    conversation_id: str | None
    scored_at: datetime | None


def check_link(link: Link | None, now: datetime) -> Link:
    """A link that may open its chat now: it exists, is unused, and has not expired."""
    if link is None:
        raise ShopperLinkInvalid("invalid shopper link")
    if link.used_at is not None:
        raise ShopperLinkUsed("this shopper link was used already")
    if now >= link.expires_at:
        raise ShopperLinkExpired("this shopper link has expired")
    return link


def check_scorable(link: Link | None, chat_ended: bool) -> Link:
    """A link whose chat may be scored now: used for a chat that has ended, not scored yet.
    Scoring is allowed after the link expired (the chat may end late), never twice."""
    if link is None:
        raise ShopperLinkInvalid("invalid shopper link")
    if link.conversation_id is None:
        raise Conflict("this shopper link has not opened a chat yet")
    if link.scored_at is not None:
        raise ShopperLinkUsed("this shopper chat was scored already")
    if not chat_ended:
        raise Conflict("end the chat first, then score it")
    return link
