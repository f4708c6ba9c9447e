"""Blocked words: the house rule that keeps "guarantee" out of what staff write to customers.

An admin writes rules. Each is a **term** (a word or a few words) or a **pattern** (a regular
expression, run by RE2 as routing rules are: linear time whatever it says), with an **action**
and the **scopes** it applies to:

- ``refuse``: the message is not sent and nothing is stored; the sender is told the rule's
  reason and the words that matched.
- ``mask``: the message is stored with each match replaced by ``***``.
- ``warn``: the sender is asked first; the same send with ``confirm`` goes through as written.
- ``notify``: the message goes through as written and a supervisor is told.

Scopes: ``staff_to_customer`` (what staff write in a customer chat), ``staff_im`` (staff direct
messages and rooms), ``status_text`` (a staff member's status line), ``customer`` (what
customers write).

**What a rule sees.** Text is folded before matching, the same way for the text and for the
rules (``fold``): compatibility decomposition (NFKD) with the combining marks dropped
(``guarantée`` reads ``guarantee``, fullwidth and mathematical letters read as ASCII), case
folded, invisible characters removed (zero-width spaces and joiners, soft hyphens, bidi marks,
variation selectors: every format character), every kind of space read as a space, and letters
that look like an ASCII letter or digit (Cyrillic a U+0430, Greek o U+03BF, ...) read as that
letter (``lookalikes.py``, generated from Unicode's confusables data; the lower case of such a
capital reads as the capital does, Cyrillic en U+043D as ``h`` like its capital U+041D, so that
case is ignored in every script: a side effect is that a few Cyrillic words read as Latin ones).
Three more readings of the text are matched too: one where spaced-out letters are closed up
(``g u a r a n t e e``, ``g.u.a.r.a.n.t.e.e``, ``g-u-a-r-a-n-t-e-e``: at least three single
letters, each pair separated by one to three of space ``.`` ``-`` ``_`` ``*`` ``,`` ``/``
``+`` ``~`` ``:``); for terms only, one where the pieces of a **split word** are closed up
(``split_up``); and, for patterns only, one where the usual digit and symbol stand-ins read as
letters (``0`` o, ``1`` i, ``3`` e, ``4`` a, ``5`` s, ``7`` t, ``8`` b, ``9`` g, ``@`` a, ``$``
s, ``!`` i, ``|`` l).

**Split words.** Pieces of letters and digits with one to three of those separators between
them are read as one word (``guar antee``, ``gua ran tee``, ``guar-antee``) when the term is
exactly two to ``MAX_SPLIT_PIECES`` whole pieces (it starts where a piece starts and ends where
one ends; with ``*`` it may end inside the last piece) and **at least one of those pieces is
not a common word** (``common_words.COMMON_WORDS``, about 1,000 everyday English words; a piece
of one character or without a letter counts as common). The rule, because next to each other
real words are nearly always common ones ("kick back", "lay off", "pass word", "pen is", "bit
coin": closing them up would read "kickback" into "kick back and relax"), while a word cut to
hide it leaves a piece that is no word ("guar", "antee"; "gua"). Measured on 4,631 lines of
innocent English (``docs/*.md`` and ``tests/domain/innocent_chat.txt``) with the 200 rules of
``bench/wordfilter.py --innocent``: no line matches by a split (4 did without the common-word
condition: "kick back", "pass word", "bit coin", "for 3 \u00d7").
A term of several words is not read from split pieces.

**Stretched letters.** A letter a term has once also matches that letter written three times
or more (``guaaaarantee``, ``guarrrantee``), a doubled one written more than twice
(``guaranteee``); never twice, so that ``loser`` does not match "looser", nor ``god`` "good".

**Across messages.** ``check`` takes the sender's previous message (``previous``; the service
passes the last one the same sender wrote in the same conversation within a minute): a term
that starts in its last words (``MAX_PREVIOUS_CHARS``) and ends in the new message ("guaran",
then "tee") matches, by the same readings and the same split rule as in one message (the
message boundary is one separator), and its span is the part in the new message. Patterns see
one message at a time.

**Terms match whole words.** A term matches where it is neither preceded nor followed by a
letter or digit: ``cunt`` does not match "Scunthorpe", ``ass`` not "class" nor "assess". A term
ending in ``*`` also matches the word with any ending: ``guarantee*`` matches "guaranteed" and
"guarantees", ``guarantee`` does not (the admin decides, rule by rule). A space in a term stands
for any run of spaces or punctuation (``money back`` matches "money-back"). Each letter of a
term also matches its usual stand-ins (``gu4r4nt33``, ``gu@rantee``; ``1`` for ``i`` and ``l``),
but a match must hold at least one real letter, so ``ass`` does not match "order 455".

**Patterns** are searched in the folded text (lower case, without accents), case-insensitively;
their non-ASCII letters are folded as the text is. They are checked as routing patterns are
(``rules.unrunnable_reason``: ``BadPattern`` for one RE2 cannot run or that is too complex), and
a match found only in the stand-ins reading must hold a real letter too.

**What is not seen through**: a letter doubled (``guaarantee``, see above), words spelt
phonetically, split into pieces that are all common words, or across more than two messages.

**Speed.** ``WordFilter`` compiles a rule set once: one RE2 ``Set`` per scope (one pass over the
text finds which rules match at all, in time linear in the text whatever the number of rules),
then only the rules that matched are searched again for their places. ``bench/wordfilter.py``
measures it.

Pure: no I/O, no clock.
"""

from __future__ import annotations

import bisect
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import re2

from parley.domain import rules as routing_rules
from parley.domain.common_words import COMMON_WORDS
from parley.domain.errors import BadPattern, InvalidInput
from parley.domain.lookalikes import LOOKALIKES

MASK = "***"
MAX_RULES = 1000
MAX_TERM_CHARS = 64
MAX_PATTERN_CHARS = routing_rules.MAX_PATTERN_CHARS
MAX_REASON_CHARS = 200
#: Memory RE2 may use for one scope's set of rules. A set whose DFA does not fit would fail to
#: match, so the budget is generous: 200 rules use a few hundred kilobytes.
MAX_SET_MEMORY = 64 << 20


class Action(StrEnum):
    REFUSE = "refuse"
    MASK = "mask"
    WARN = "warn"
    NOTIFY = "notify"


class Scope(StrEnum):
    STAFF_TO_CUSTOMER = "staff_to_customer"
    STAFF_IM = "staff_im"
    STATUS_TEXT = "status_text"
    CUSTOMER = "customer"


class Kind(StrEnum):
    TERM = "term"
    PATTERN = "pattern"


@dataclass(frozen=True, slots=True)
class Rule:
    kind: Kind
    #: The term (``guarantee``, ``guarantee*``, ``money back``) or the RE2 pattern.
    value: str
    action: Action
    scopes: frozenset[Scope]
    #: What the sender is told (refuse, warn) and the supervisor reads (notify).
    reason: str = ""
    #: The stored rule's id; 0 for one not saved.
    id: int = 0


# Folding ----------------------------------------------------------------------------------------


def _lookalike_table() -> dict[str, str]:
    """Character -> the ASCII letter or digit it looks like. A capital's lower case that looks
    like no ASCII letter of its own reads as the capital does (Cyrillic en U+043D as ``h``, like
    its capital U+041D), so that folding ignores case in other scripts too."""
    table = {ch: target for target, chars in LOOKALIKES.items() for ch in chars}
    for ch, target in list(table.items()):
        lower = ch.casefold()
        if len(lower) == 1 and lower != ch and lower not in table and target.isalpha():
            table[lower] = target
    return table


_LOOKALIKE = _lookalike_table()
#: Default-ignorable letters that category alone does not reveal (Hangul fillers).
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0")
_DROPPED_CATEGORIES = frozenset({"Cf", "Mn", "Me", "Cc"})
_SPACE_CATEGORIES = frozenset({"Zs", "Zl", "Zp"})
_KEEP_CONTROLS = frozenset("\t\n\r")


def _fold_once(ch: str) -> str:
    category = unicodedata.category(ch)
    if ch in _INVISIBLE_LETTERS or (category in _DROPPED_CATEGORIES and ch not in _KEEP_CONTROLS):
        return ""
    if category in _SPACE_CATEGORIES:
        return " "
    out: list[str] = []
    for c in unicodedata.normalize("NFKD", ch):
        if unicodedata.category(c) in _DROPPED_CATEGORIES and c not in _KEEP_CONTROLS:
            continue
        looks = _LOOKALIKE.get(c)
        if looks is not None:
            out.append(looks)
            continue
        for f in c.casefold():
            out.append(_LOOKALIKE.get(f, f))
    return "".join(out)


@functools.lru_cache(maxsize=16384)
def fold_char(ch: str) -> str:
    """What one character reads as: "" (invisible), one character, or a few (``ß`` -> ``ss``,
    ``ﬁ`` -> ``fi``). Folding what it reads as changes nothing (it is applied until it does not)."""
    folded = _fold_once(ch)
    for _ in range(4):
        again = "".join(_fold_once(c) for c in folded)
        if again == folded:
            break
        folded = again
    return folded


@dataclass(frozen=True, slots=True)
class Reading:
    """A reading of a text and, for each of its characters, where it came from in the original
    text (``None``: the reading's character ``i`` is the original's character ``i``)."""

    text: str
    origin: tuple[int, ...] | None = None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original text's span for the reading's ``[start, end)`` (``end > start``): from
        the first character's origin to just after the last one's, so everything between
        (invisible characters, spaces inside a spaced-out word) is inside it."""
        if self.origin is None:
            return start, end
        return self.origin[start], self.origin[end - 1] + 1


def fold(text: str) -> str:
    """The text as rules see it (see the module's docstring)."""
    return read(text).text


def read(text: str) -> Reading:
    # One character for one: lower case is all folding does to ASCII, minus controls.
    if text.isascii() and (text.isprintable() or not any(_is_dropped_ascii(c) for c in text)):
        return Reading(text.lower())
    pieces: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        folded = fold_char(ch)
        if folded:
            pieces.append(folded)
            origin.extend([i] * len(folded))
    return Reading("".join(pieces), tuple(origin))


def _is_dropped_ascii(c: str) -> bool:
    return not c.isprintable() and c not in _KEEP_CONTROLS


#: Digit and symbol stand-ins for letters, one for one (patterns' second reading).
_LEET_TABLE = str.maketrans("0134578@9$!|", "oieastbagsil")
_LEET_CHARS = frozenset("0134578@9$!|")


def leet(folded: str) -> str:
    """The folded text with digits and symbols read as the letters they stand in for."""
    return folded.translate(_LEET_TABLE)


#: What a term's letter also matches.
_STAND_INS = {
    "a": "4@",
    "b": "8",
    "e": "3",
    "g": "9",
    "i": "1!|",
    "l": "1|",
    "o": "0",
    "s": "5$",
    "t": "7+",
    "z": "2",
}
_SEPARATOR = r"[\s.\-_*,/+~:]"
_LETTERISH = r"[^\W_]|[@$]"
_SPACED_OUT = re.compile(
    rf"(?<![^\W_])(?<![@$])(?:{_LETTERISH})(?:{_SEPARATOR}{{1,3}}(?:{_LETTERISH})){{2,}}"
    rf"(?![^\W_])(?![@$])"
)
#: A necessary condition for a spaced-out run, checked first by RE2 (fast): three characters,
#: each alone between separators.
_SEPARATORS = r"\s.\-_*,/+~:"
_MAYBE_SPACED_OUT = re2.compile(
    rf"(?:^|[{_SEPARATORS}])[^{_SEPARATORS}][{_SEPARATORS}]{{1,3}}[^{_SEPARATORS}]"
    rf"[{_SEPARATORS}]{{1,3}}[^{_SEPARATORS}](?:[{_SEPARATORS}]|$)"
)


def closed_up(reading: Reading) -> Reading | None:
    """The reading with spaced-out letters closed up (``g u a r a n t e e`` -> ``guarantee``);
    None when it has none."""
    text = reading.text
    if _MAYBE_SPACED_OUT.search(text) is None:
        return None
    runs = list(_SPACED_OUT.finditer(text))
    if not runs:
        return None
    pieces: list[str] = []
    origin: list[int] = []
    position = 0

    def keep(start: int, end: int) -> None:
        pieces.append(text[start:end])
        for j in range(start, end):
            origin.append(reading.origin[j] if reading.origin is not None else j)

    for run in runs:
        keep(position, run.start())
        for j in range(run.start(), run.end()):
            if re.fullmatch(_LETTERISH, text[j]):
                keep(j, j + 1)
        position = run.end()
    keep(position, len(text))
    return Reading("".join(pieces), tuple(origin))


#: The most pieces a split word is read from (``gua ran tee`` is three).
MAX_SPLIT_PIECES = 5
#: How much of the sender's previous message is read before the next one (its last pieces).
MAX_PREVIOUS_CHARS = 64
_PIECE = re.compile(rf"(?:{_LETTERISH})+")
_GAP_CHARS = frozenset(" \t\n\r\f\v.-_*,/+~:")
_SQUASH = str.maketrans("", "", "".join(_GAP_CHARS))


@dataclass(frozen=True, slots=True)
class Split:
    """A reading with the pieces of split words closed up (``guar antee`` -> ``guarantee``),
    and where each piece is in it: a match counts only when it starts where a piece starts,
    ends where one ends, spans two pieces or more of one split word, and one of those pieces
    at least is not a common word (``Split.accepts``)."""

    reading: Reading
    #: Each piece's start and end in ``reading.text``.
    starts: tuple[int, ...]
    ends: tuple[int, ...]
    #: Each piece's split word (pieces closed up together share it).
    group: tuple[int, ...]
    #: Whether the piece is a common word (or holds no letter).
    common: tuple[bool, ...]

    def accepts(self, start: int, end: int, *, prefix: bool) -> int | None:
        """Where a term's match at ``[start, end)`` ends as read from pieces, or None."""
        first = bisect.bisect_left(self.starts, start)
        if first == len(self.starts) or self.starts[first] != start:
            return None
        last = bisect.bisect_left(self.ends, end)
        if last == len(self.ends) or (not prefix and self.ends[last] != end):
            return None
        if prefix and self.starts[last] >= end:
            return None
        if last == first or last - first >= MAX_SPLIT_PIECES:
            return None
        if self.group[first] != self.group[last]:
            return None
        if all(self.common[first : last + 1]):
            return None
        return self.ends[last]


def _is_common(piece: str) -> bool:
    """Whether a piece says nothing of a cut word: a common word, one character, or no letter
    ("for 3 \\u00d7" is no cut "forex")."""
    return len(piece) < 2 or piece in COMMON_WORDS or not any(c.isalpha() for c in piece)


def split_up(reading: Reading) -> Split | None:
    """The reading with the gaps (one to three spaces or ``.`` ``-`` ``_`` ``*`` ``,`` ``/``
    ``+`` ``~`` ``:``) between pieces of letters and digits closed up where a run of pieces
    holds one that is not a common word (``common_words``); None when there is none such.

    Why this rule: real words next to each other are common words most of the time ("kick
    back", "lay off", "pass word", "pen is"), and closing those up would read blocked terms
    into innocent text; a word cut to hide it leaves at least one piece that is no word
    ("guar antee", "gua ran tee"). Single letters are the closed-up reading's (``closed_up``)."""
    text = reading.text
    pieces = [(m.start(), m.end()) for m in _PIECE.finditer(text)]
    if len(pieces) < 2:
        return None
    # Split words: runs of pieces with a short gap of separators between each two.
    groups: list[list[int]] = [[0]]
    for i in range(1, len(pieces)):
        gap = text[pieces[i - 1][1] : pieces[i][0]]
        if len(gap) <= 3 and _GAP_CHARS.issuperset(gap):
            groups[-1].append(i)
        else:
            groups.append([i])
    common = [_is_common(text[a:b]) for a, b in pieces]
    glued = [len(g) > 1 and not all(common[i] for i in g) for g in groups]
    if not any(glued):
        return None
    out: list[str] = []
    origin: list[int] = []
    starts: list[int] = []
    ends: list[int] = []
    group_of: list[int] = []
    base = reading.origin
    position = 0
    length = 0

    def keep(start: int, end: int) -> None:
        nonlocal length
        out.append(text[start:end])
        origin.extend(range(start, end) if base is None else base[start:end])
        length += end - start

    for g, members in enumerate(groups):
        for i in members:
            start, end = pieces[i]
            if i == members[0] or not glued[g]:
                keep(position, start)  # the text before the piece, gap included
            starts.append(length)
            keep(start, end)
            ends.append(length)
            group_of.append(g if glued[g] else -1 - i)
            position = end
    keep(position, len(text))
    return Split(
        Reading("".join(out), tuple(origin)),
        tuple(starts),
        tuple(ends),
        tuple(group_of),
        tuple(common),
    )


def previous_tail(previous: str) -> str:
    """The end of the sender's previous message that the next one is read after: its last
    ``MAX_PREVIOUS_CHARS`` characters, from the start of a word."""
    tail = previous.rstrip()
    if len(tail) > MAX_PREVIOUS_CHARS:
        tail = tail[-MAX_PREVIOUS_CHARS:]
        cut = re.search(r"\s", tail)
        tail = "" if cut is None else tail[cut.end() :]
    return tail


# Rules as RE2 patterns --------------------------------------------------------------------------

#: What separates the words of a term: ASCII spaces and punctuation, dashes and quotes.
_BETWEEN_WORDS = r"[\s!-/:-@\[-`{-~\x{2010}-\x{2027}\x{00ab}\x{00bb}]+"
_TERM_CHARS = re.compile(r"[\w' -]+\*?")


def _escape(ch: str) -> str:
    return ch if ch.isalnum() else str(re2.escape(ch))


def term_pattern(term: str) -> str:
    """The RE2 pattern a term is searched with in the folded text (lower case): the term's
    letters with their stand-ins. Word edges are checked after (``_word_edges``): a class of
    every letter in Unicode costs RE2 half a millisecond to compile, per rule."""
    folded = fold(term.removesuffix("*")).strip()
    parts: list[str] = []
    for word_index, word in enumerate(folded.split()):
        if word_index:
            parts.append(_BETWEEN_WORDS)
        for run in _LETTER_RUNS.finditer(word):
            ch, times = run.group()[0], len(run.group())
            stand_ins = _STAND_INS.get(ch)
            if stand_ins is None:
                letter = _escape(ch)
            else:
                letter = "[" + ch + "".join(_escape(s) for s in stand_ins) + "]"
            # Stretched letters: a letter the term has once is also matched written three
            # times or more (never twice: "loser" must not match "looser", "god" "good");
            # one it has twice (or more), written as often or more.
            parts.append(
                f"{letter}(?:{letter}{letter}+)?" if times == 1 else f"{letter}{{{times},}}"
            )
    return "".join(parts)


_LETTER_RUNS = re.compile(r"(.)\1*", re.DOTALL)


def pattern_for_folded_text(pattern: str) -> str:
    """A rule's pattern with its non-ASCII letters folded as the text is (ASCII is left as
    written: folding it would turn ``\\D`` into ``\\d``)."""
    if pattern.isascii():
        return pattern
    return "".join(ch if ch.isascii() else fold_char(ch) for ch in pattern)


def _options(*, case_sensitive: bool = False, max_mem: int = 0) -> Any:
    options = re2.Options()
    options.case_sensitive = case_sensitive
    options.log_errors = False
    options.max_mem = max_mem or routing_rules.MAX_PATTERN_MEMORY
    return options


# Parsing rules ----------------------------------------------------------------------------------


def parse_rule(data: Any, *, rule_id: int = 0) -> Rule:
    """Check and build a rule from its JSON form (``kind``, ``value``, ``action``, ``scopes``,
    optional ``reason``); ``InvalidInput`` names what is wrong, ``BadPattern`` a pattern RE2
    cannot run."""
    if not isinstance(data, Mapping):
        raise InvalidInput("a rule is an object")
    unknown = set(data) - {"kind", "value", "action", "scopes", "reason"}
    if unknown:
        raise InvalidInput(f"a rule has no field {sorted(unknown)[0]!r}")
    try:
        kind = Kind(str(data.get("kind")))
    except ValueError:
        raise InvalidInput("kind: one of term, pattern") from None
    try:
        action = Action(str(data.get("action")))
    except ValueError:
        raise InvalidInput("action: one of refuse, mask, warn, notify") from None
    scopes_data = data.get("scopes")
    if not isinstance(scopes_data, list) or not scopes_data:
        raise InvalidInput("scopes: a non-empty list of " + ", ".join(s.value for s in Scope))
    try:
        scopes = frozenset(Scope(s) for s in scopes_data)
    except ValueError:
        raise InvalidInput("scopes: each one of " + ", ".join(s.value for s in Scope)) from None
    reason = data.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        raise InvalidInput(f"reason: a text of at most {MAX_REASON_CHARS} characters")
    value = data.get("value")
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("value: a non-empty text")
    if kind is Kind.TERM:
        value = " ".join(value.split())
        if len(value) > MAX_TERM_CHARS:
            raise InvalidInput(f"value: a term of at most {MAX_TERM_CHARS} characters")
        if not _TERM_CHARS.fullmatch(value) or sum(c.isalnum() for c in fold(value)) < 2:
            raise InvalidInput(
                "value: a term is letters and digits (at least two), spaces, ' and -,"
                " optionally ending in * for any ending"
            )
    else:
        if len(value) > MAX_PATTERN_CHARS:
            raise InvalidInput(f"value: a pattern of at most {MAX_PATTERN_CHARS} characters")
        problem = routing_rules.unrunnable_reason(pattern_for_folded_text(value))
        if problem is not None:
            raise BadPattern(f"value: {problem}", where="value", reason=problem)
        if re2.compile(pattern_for_folded_text(value), _options()).search("") is not None:
            raise InvalidInput("value: a pattern that matches an empty text would match anything")
    return Rule(kind, value, action, scopes, reason.strip(), rule_id)


def dump_rule(rule: Rule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "kind": rule.kind.value,
        "value": rule.value,
        "action": rule.action.value,
        "scopes": sorted(s.value for s in rule.scopes),
        "reason": rule.reason,
    }


# Decisions --------------------------------------------------------------------------------------


class Outcome(StrEnum):
    #: Nothing matched, or only notify rules (or warn rules the sender confirmed).
    ALLOWED = "allowed"
    #: Mask rules matched: ``Verdict.text`` is the text with their matches masked.
    MASKED = "masked"
    #: A refuse rule matched: nothing is to be stored.
    REFUSED = "refused"
    #: A warn rule matched and the sender has not confirmed.
    WARN = "warn"


@dataclass(frozen=True, slots=True)
class Hit:
    rule: Rule
    #: The span in the original text, and what it holds.
    start: int
    end: int
    matched: str


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    #: What may be stored: the text, masked where a mask rule matched; None when refused or
    #: waiting for confirmation.
    text: str | None
    #: Every match of every rule of the scope, by position.
    hits: tuple[Hit, ...] = ()
    #: The refuse or warn rule that decided (the first one by position).
    rule: Rule | None = None

    @property
    def notify(self) -> tuple[Rule, ...]:
        """Rules whose match a supervisor is to hear of: notify rules, and warn rules the
        sender confirmed."""
        seen: dict[Rule, None] = {}
        for hit in self.hits:
            if hit.rule.action is Action.NOTIFY or (
                hit.rule.action is Action.WARN and self.outcome in (Outcome.ALLOWED, Outcome.MASKED)
            ):
                seen.setdefault(hit.rule)
        return tuple(seen)

    @property
    def audited(self) -> bool:
        """Whether the message goes in the audit log: refused, masked, or someone notified."""
        return self.outcome in (Outcome.REFUSED, Outcome.MASKED) or bool(self.notify)

    @property
    def matched_words(self) -> tuple[str, ...]:
        """The words that matched the deciding rule (refuse, warn), as written, once each."""
        if self.rule is None:
            return ()
        words = (hit.matched for hit in self.hits if hit.rule is self.rule)
        return tuple(dict.fromkeys(words))


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: Rule
    #: Searched for the places of a match (a term's letters; a pattern as written).
    regex: Any
    term: bool
    #: A term ending in ``*``: the word may go on.
    prefix: bool = False


@dataclass(slots=True)
class _ScopeSet:
    rules: list[_Compiled]
    #: Every rule (terms and patterns) against the folded and closed-up readings.
    all_set: Any
    #: Patterns only, by their index in ``rules``, against the stand-ins reading.
    pattern_set: Any = None
    pattern_index: list[int] = field(default_factory=list)
    #: Each rule's place in ``rules``, to order hits.
    order: dict[int, int] = field(default_factory=dict)


class WordFilter:
    """A compiled rule set. Build it once per rule set (it compiles every rule); ``check`` is
    then a pure function of the text and scope."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        if len(self.rules) > MAX_RULES:
            raise InvalidInput(f"at most {MAX_RULES} blocked-word rules")
        compiled = [_compile(rule) for rule in self.rules]
        self._scopes: dict[Scope, _ScopeSet] = {}
        for scope in Scope:
            members = [c for c in compiled if scope in c.rule.scopes]
            if members:
                self._scopes[scope] = _build_set(members)

    def applies(self, scope: Scope) -> bool:
        return scope in self._scopes

    def hits(self, text: str, scope: Scope, *, previous: str = "") -> tuple[Hit, ...]:
        """Every match of the scope's rules in ``text``, by position (then by rule order).

        ``previous``: the sender's previous message in the same conversation, when it was
        sent just before (the service decides what "just before" is). A term that starts in
        its last words and ends in ``text`` ("guaran", then "tee") is a match too, its span
        the part in ``text``; patterns see one message at a time."""
        compiled = self._scopes.get(scope)
        if compiled is None or not text:
            return ()
        found: dict[tuple[int, int, int], Hit] = {}
        _search(compiled, text, found)
        tail = previous_tail(previous) if previous else ""
        if tail:
            joined = tail + "\n" + text
            offset = len(tail) + 1
            across: dict[tuple[int, int, int], Hit] = {}
            _search(compiled, joined, across, terms_only=True)
            for hit in across.values():
                # Only what starts before ``text`` and ends in it: the rest is ``text``'s own.
                if hit.start < offset - 1 and hit.end > offset:
                    end = hit.end - offset
                    found.setdefault((0, end, id(hit.rule)), Hit(hit.rule, 0, end, text[:end]))
        if not found:
            return ()
        order = compiled.order
        return tuple(sorted(found.values(), key=lambda h: (h.start, order[id(h.rule)], h.end)))

    def check(
        self, text: str, scope: Scope, *, confirmed: bool = False, previous: str = ""
    ) -> Verdict:
        """The decision for ``text`` written in ``scope``: refused if a refuse rule matches;
        else waiting for confirmation if a warn rule matches and the sender has not confirmed;
        else the text, masked where mask rules match (notify rules and confirmed warnings let
        it through as written, see ``Verdict.notify``). ``previous``: as for ``hits``."""
        hits = self.hits(text, scope, previous=previous)
        if not hits:
            return Verdict(Outcome.ALLOWED, text)
        for action in (Action.REFUSE, Action.WARN):
            if action is Action.WARN and confirmed:
                continue
            deciding = next((h.rule for h in hits if h.rule.action is action), None)
            if deciding is not None:
                outcome = Outcome.REFUSED if action is Action.REFUSE else Outcome.WARN
                return Verdict(outcome, None, hits, deciding)
        spans = [(h.start, h.end) for h in hits if h.rule.action is Action.MASK]
        if not spans:
            return Verdict(Outcome.ALLOWED, text, hits)
        return Verdict(Outcome.MASKED, mask(text, spans), hits)


def mask(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """``text`` with each span (overlapping ones merged) replaced by ``MASK``."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    pieces: list[str] = []
    position = 0
    for start, end in merged:
        pieces.append(text[position:start])
        pieces.append(MASK)
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def _compile(rule: Rule) -> _Compiled:
    if rule.kind is Kind.TERM:
        regex = re2.compile(term_pattern(rule.value), _options(case_sensitive=True))
        return _Compiled(rule, regex, term=True, prefix=rule.value.endswith("*"))
    pattern = pattern_for_folded_text(rule.value)
    try:
        regex = re2.compile(pattern, _options())
    except re2.error:
        problem = routing_rules.unrunnable_reason(pattern) or "not a valid pattern"
        raise BadPattern(f"rule {rule.id}: {problem}", where="value", reason=problem) from None
    return _Compiled(rule, regex, term=False)


def _set_pattern(member: _Compiled) -> str:
    # The set is case-sensitive (terms are searched in lower-case text); patterns ignore case.
    return member.regex.pattern if member.term else f"(?i:{member.regex.pattern})"


def _build_set(members: list[_Compiled]) -> _ScopeSet:
    options = _options(case_sensitive=True, max_mem=MAX_SET_MEMORY)
    all_set = re2.Set.SearchSet(options)
    for member in members:
        all_set.Add(_set_pattern(member))
    all_set.Compile()
    scope_set = _ScopeSet(members, all_set, order={id(m.rule): i for i, m in enumerate(members)})
    patterns = [i for i, m in enumerate(members) if not m.term]
    if patterns:
        pattern_set = re2.Set.SearchSet(options)
        for i in patterns:
            pattern_set.Add(_set_pattern(members[i]))
        pattern_set.Compile()
        scope_set.pattern_set = pattern_set
        scope_set.pattern_index = patterns
    return scope_set


def _search(
    compiled: _ScopeSet,
    text: str,
    found: dict[tuple[int, int, int], Hit],
    *,
    terms_only: bool = False,
) -> None:
    """Every reading of ``text`` against the scope's rules, matches into ``found``."""
    folded = read(text)
    matched = compiled.all_set.Match(folded.text)
    if matched:
        _collect(compiled, matched, folded, text, found, terms_only=terms_only)
    spaced = closed_up(folded)
    if spaced is not None:
        matched = compiled.all_set.Match(spaced.text)
        if matched:
            _collect(compiled, matched, spaced, text, found, terms_only=terms_only)
    # Pieces closed up: only when a term matches the text with every separator taken out (a
    # necessary condition, checked by RE2 in a few microseconds; building the reading is not).
    squashed_text = folded.text.translate(_SQUASH)
    squashed = None
    if len(squashed_text) != len(folded.text):  # one piece alone is no split
        squashed = compiled.all_set.Match(squashed_text)
    if squashed and any(compiled.rules[i].term for i in squashed):
        split = split_up(folded)
        if split is not None:
            _collect(compiled, squashed, split.reading, text, found, terms_only=True, split=split)
    if terms_only or compiled.pattern_set is None or _LEET_CHARS.isdisjoint(folded.text):
        return
    stand_in = Reading(leet(folded.text), folded.origin)
    matched = compiled.pattern_set.Match(stand_in.text)
    if matched:
        indexes = [compiled.pattern_index[i] for i in matched]
        _collect(compiled, indexes, stand_in, text, found, stand_ins_only=True)


def _has_letter(reading: Reading, original: str, start: int, end: int) -> bool:
    """Whether the reading's span stands for at least one real letter of the original."""
    first, last = reading.span(start, end)
    return any(fold_char(ch).isalpha() for ch in original[first:last])


def _word_end(text: str, start: int, end: int, *, prefix: bool) -> int | None:
    """Where a term's match at ``[start, end)`` ends as a whole word: ``end``, or further for a
    term with ``*``; None when a letter or digit touches it."""
    if start > 0 and text[start - 1].isalnum():
        return None
    if prefix:
        while end < len(text) and text[end].isalnum():
            end += 1
        return end
    if end < len(text) and text[end].isalnum():
        return None
    return end


def _collect(
    compiled: _ScopeSet,
    indexes: Iterable[int],
    reading: Reading,
    original: str,
    found: dict[tuple[int, int, int], Hit],
    *,
    stand_ins_only: bool = False,
    terms_only: bool = False,
    split: Split | None = None,
) -> None:
    text = reading.text
    for index in indexes:
        member = compiled.rules[index]
        if terms_only and not member.term:
            continue
        position = 0
        while position <= len(text):
            match = member.regex.search(text, position)
            if match is None:
                break
            start, end = match.span()
            if end == start:  # an empty match of a pattern: move on by one
                position = end + 1
                continue
            if split is not None:
                word_end = split.accepts(start, end, prefix=member.prefix)
                if word_end is None:
                    position = start + 1
                    continue
                end = word_end
            elif member.term:
                word_end = _word_end(text, start, end, prefix=member.prefix)
                if word_end is None:
                    # Not a whole word; the term may still start inside it, one further on.
                    position = start + 1
                    continue
                end = word_end
            position = end
            if (member.term or stand_ins_only) and not _has_letter(reading, original, start, end):
                continue
            first, last = reading.span(start, end)
            key = (first, last, id(member.rule))
            if key not in found:
                found[key] = Hit(member.rule, first, last, original[first:last])
