"""Routing rules: which queue of a workgroup a chat request goes to, and at what priority.

A rule is a condition over the request's metadata (what the pre-chat form and the page said),
a target queue and a priority. Rules are tried in order; the first whose condition holds wins;
a request no rule matches goes to the workgroup's default queue at priority 0.

A condition is a tree of tests combined with ``all`` (and) and ``any`` (or). Its JSON form, as
admins write it and as it is stored::

    {"all": [{"field": "product", "op": "equals", "value": "billing"},
             {"any": [{"field": "language", "op": "one_of", "value": ["de", "at"]},
                      {"field": "page", "op": "matches", "value": "/de/"}]}]}

A field is looked up among the form's extra answers first (``extra.product``), then among the
standard fields (``name``, ``email``, ``question``, ``page``, ``referrer``); the hidden fields
the company's page passed are ``fields.<key>`` (``fields.plan``); a missing field is the empty
string. Comparisons ignore case. ``matches`` is a regular-expression search run by RE2
(``google-re2``), in time linear in the field's length whatever the pattern: a visitor cannot
make routing slow. Patterns are compiled when the rule is saved, so a pattern RE2 cannot run
(a backreference, lookaround, ...) is refused then (``BadPattern``), not at routing time. A rule
only ever looks at the first ``MAX_FIELD_CHARS`` characters of a field.

A rule stored before patterns were checked against RE2 may still hold one it cannot run:
``parse_stored`` reads such a rule as one whose pattern never matches (``problems`` says why)
instead of failing, so routing goes on.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import re2

from parley.domain.errors import BadPattern, InvalidInput

MAX_PATTERN_CHARS = 200
#: A rule looks at no more than this many characters of a field (the first ones).
MAX_FIELD_CHARS = 1024
#: Memory RE2 may use for one compiled pattern (its DFA cache); a pattern that does not fit is
#: refused as too large. RE2's search stays linear in the text either way.
MAX_PATTERN_MEMORY = 1 << 20
#: The most instructions RE2 may compile a pattern to. Linear time is ``text * program`` at
#: worst (when RE2 gives up on its DFA, as nested counted repetitions like ``(.{1,5}){1,20}``
#: make it do), so this bounds the time of one search on a 1 KB field to well under a
#: millisecond (``bench/rules_worst.py``). Typical patterns compile to 10-150.
MAX_PROGRAM_SIZE = 500
MAX_DEPTH = 5
MAX_TESTS = 50
MAX_VALUE_CHARS = 256
MAX_ONE_OF = 100


class Op(StrEnum):
    EQUALS = "equals"
    CONTAINS = "contains"
    ONE_OF = "one_of"
    MATCHES = "matches"


@dataclass(frozen=True, slots=True)
class Test:
    field: str
    op: Op
    #: A string for equals / contains / matches, a tuple of strings for one_of.
    value: str | tuple[str, ...]
    #: Why RE2 cannot run this (stored) ``matches`` pattern; such a test never holds.
    unrunnable: str | None = None

    def holds(self, metadata: Mapping[str, Any]) -> bool:
        if self.unrunnable is not None:
            return False
        raw = field_value(metadata, self.field)
        actual = raw.casefold()
        match self.op:
            case Op.EQUALS:
                assert isinstance(self.value, str)
                return actual == self.value.casefold()
            case Op.CONTAINS:
                assert isinstance(self.value, str)
                return self.value.casefold() in actual
            case Op.ONE_OF:
                return actual in {v.casefold() for v in self.value}
            case Op.MATCHES:
                assert isinstance(self.value, str)
                # The text as typed: RE2 ignores case itself, while casefolding first would
                # turn "Straße" into "strasse", which the pattern "straße" does not match.
                return _compiled(self.value).search(raw.encode("utf-8")) is not None


@dataclass(frozen=True, slots=True)
class All:
    tests: tuple[Condition, ...]

    def holds(self, metadata: Mapping[str, Any]) -> bool:
        return all(t.holds(metadata) for t in self.tests)


@dataclass(frozen=True, slots=True)
class AnyOf:
    tests: tuple[Condition, ...]

    def holds(self, metadata: Mapping[str, Any]) -> bool:
        return any(t.holds(metadata) for t in self.tests)


Condition = Test | All | AnyOf


@dataclass(frozen=True, slots=True)
class Rule:
    condition: Condition
    queue_id: int
    priority: int = 0
    name: str = ""


@dataclass(frozen=True, slots=True)
class Decision:
    queue_id: int
    priority: int
    #: Index of the rule that matched, None for the default queue.
    rule: int | None


def route(rules: Sequence[Rule], metadata: Mapping[str, Any], default_queue: int) -> Decision:
    """The first rule whose condition holds picks the queue; else the default queue."""
    for i, rule in enumerate(rules):
        if rule.condition.holds(metadata):
            return Decision(rule.queue_id, rule.priority, i)
    return Decision(default_queue, 0, None)


def field_value(metadata: Mapping[str, Any], name: str) -> str:
    """The field's text as a rule sees it: at most its first ``MAX_FIELD_CHARS`` characters."""
    extra = metadata.get("extra")
    if name.startswith("fields."):  # the page's hidden fields (domain.hidden_fields)
        fields = metadata.get("fields")
        found = fields.get(name.removeprefix("fields."), "") if isinstance(fields, Mapping) else ""
        return found[:MAX_FIELD_CHARS] if isinstance(found, str) else ""
    if name.startswith("extra."):
        name = name.removeprefix("extra.")
        found = extra.get(name, "") if isinstance(extra, Mapping) else ""
        return found[:MAX_FIELD_CHARS] if isinstance(found, str) else ""
    in_extra = isinstance(extra, Mapping) and name in extra
    value = extra[name] if in_extra else metadata.get(name, "")  # type: ignore[index]
    return value[:MAX_FIELD_CHARS] if isinstance(value, str) else ""


# The JSON form --------------------------------------------------------------------------------


def parse(data: Any) -> Condition:
    """Check and build a condition from its JSON form; ``InvalidInput`` names what is wrong
    (``BadPattern`` for a pattern RE2 cannot run)."""
    counter = [0]
    return _parse(data, "condition", 1, counter, stored=False)


def parse_stored(data: Any) -> Condition:
    """A condition read back from the database. Like ``parse``, except that a ``matches``
    pattern RE2 cannot run (saved before patterns were checked against RE2) becomes a test
    that never holds, with the reason in ``Test.unrunnable``, instead of an error."""
    counter = [0]
    return _parse(data, "condition", 1, counter, stored=True)


def problems(condition: Condition) -> list[str]:
    """Why parts of a stored condition never hold: one line per unrunnable pattern."""
    return [
        f"{where}: {test.unrunnable}"
        for where, test in _tests(condition, "condition")
        if test.unrunnable is not None
    ]


def _tests(condition: Condition, where: str) -> Iterator[tuple[str, Test]]:
    match condition:
        case Test():
            yield f"{where}.value", condition
        case All(tests=tests):
            for i, t in enumerate(tests):
                yield from _tests(t, f"{where}.all[{i}]")
        case AnyOf(tests=tests):
            for i, t in enumerate(tests):
                yield from _tests(t, f"{where}.any[{i}]")


def dump(condition: Condition) -> dict[str, Any]:
    match condition:
        case Test(field=field, op=op, value=value):
            return {
                "field": field,
                "op": op.value,
                "value": list(value) if isinstance(value, tuple) else value,
            }
        case All(tests=tests):
            return {"all": [dump(t) for t in tests]}
        case AnyOf(tests=tests):
            return {"any": [dump(t) for t in tests]}


def _parse(data: Any, where: str, depth: int, counter: list[int], *, stored: bool) -> Condition:
    if depth > MAX_DEPTH:
        raise InvalidInput(f"{where}: conditions nest at most {MAX_DEPTH} deep")
    if not isinstance(data, dict):
        raise InvalidInput(f"{where}: expected an object")
    for combinator, cls in (("all", All), ("any", AnyOf)):
        if combinator in data:
            if set(data) != {combinator}:
                raise InvalidInput(f"{where}: {combinator!r} takes no other keys")
            items = data[combinator]
            if not isinstance(items, list) or not items:
                raise InvalidInput(f"{where}.{combinator}: expected a non-empty list")
            return cls(
                tuple(
                    _parse(item, f"{where}.{combinator}[{i}]", depth + 1, counter, stored=stored)
                    for i, item in enumerate(items)
                )
            )
    counter[0] += 1
    if counter[0] > MAX_TESTS:
        raise InvalidInput(f"a condition has at most {MAX_TESTS} tests")
    if set(data) != {"field", "op", "value"}:
        raise InvalidInput(f"{where}: expected 'all', 'any', or 'field', 'op' and 'value'")
    field, op, value = data["field"], data["op"], data["value"]
    if not isinstance(field, str) or not field.strip() or len(field) > 64:
        raise InvalidInput(f"{where}.field: a field name of 1 to 64 characters")
    try:
        op = Op(op)
    except ValueError:
        ops = ", ".join(o.value for o in Op)
        raise InvalidInput(f"{where}.op: one of {ops}") from None
    if op is Op.ONE_OF:
        if (
            not isinstance(value, list)
            or not value
            or len(value) > MAX_ONE_OF
            or not all(isinstance(v, str) and len(v) <= MAX_VALUE_CHARS for v in value)
        ):
            raise InvalidInput(f"{where}.value: a list of 1 to {MAX_ONE_OF} strings")
        return Test(field.strip(), op, tuple(value))
    if not isinstance(value, str) or len(value) > MAX_VALUE_CHARS:
        raise InvalidInput(f"{where}.value: a string of at most {MAX_VALUE_CHARS} characters")
    if op is Op.MATCHES:
        if len(value) > MAX_PATTERN_CHARS:
            raise InvalidInput(
                f"{where}.value: a pattern of at most {MAX_PATTERN_CHARS} characters"
            )
        reason = unrunnable_reason(value)
        if reason is not None:
            if stored:
                return Test(field.strip(), op, value, unrunnable=reason)
            raise BadPattern(f"{where}.value: {reason}", where=f"{where}.value", reason=reason)
    return Test(field.strip(), op, value)


# Patterns -------------------------------------------------------------------------------------

#: What RE2's error messages mean for someone who wrote a Python or PCRE pattern.
_HINTS = (
    ("invalid perl operator: (?=", "lookahead (?=...) is not supported"),
    ("invalid perl operator: (?!", "negative lookahead (?!...) is not supported"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...) is not supported"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...) is not supported"),
    ("invalid perl operator: (?>", "atomic groups (?>...) are not supported"),
    ("invalid perl operator: (?#", "comments (?#...) are not supported"),
    ("invalid perl operator: (?(", "conditionals (?(...)...) are not supported"),
    ("bad repetition operator: ++", "possessive quantifiers (++, *+, ?+) are not supported"),
    ("bad repetition operator: *+", "possessive quantifiers (++, *+, ?+) are not supported"),
    ("bad repetition operator: ?+", "possessive quantifiers (++, *+, ?+) are not supported"),
    ("invalid escape sequence: \\Z", "\\Z is not supported (\\z is the end of the text)"),
    ("invalid repetition size", "repetition counts are at most 1000 (nested ones multiplied)"),
    ("pattern too large", "the pattern is too large"),
)


@functools.lru_cache(maxsize=1024)
def unrunnable_reason(pattern: str) -> str | None:
    """Why RE2 cannot run ``pattern`` (a sentence for the rule editor), None when it can."""
    try:
        compiled = _compiled(pattern)
    except re2.error as exc:
        detail = exc.args[0] if exc.args else ""
        if isinstance(detail, bytes):
            detail = detail.decode("utf-8", "replace")
        detail = str(detail)
        if detail.startswith("invalid perl operator: (?P") and "(?P=" in pattern:
            return "RE2 cannot run this pattern: backreferences (?P=name) are not supported"
        if detail.startswith("invalid escape sequence: \\") and detail[-1:].isdigit():
            hint = f"backreferences ({detail.rpartition(' ')[2]}) are not supported"
            return f"RE2 cannot run this pattern: {hint}"
        for prefix, hint in _HINTS:
            if detail.startswith(prefix):
                return f"RE2 cannot run this pattern: {hint}"
        return f"not a valid pattern ({detail})"
    size = _program_size(compiled)
    if size > MAX_PROGRAM_SIZE:
        return (
            f"RE2 cannot run this pattern: it is too complex ({size} instructions, at most"
            f" {MAX_PROGRAM_SIZE}): use fewer or smaller counted repetitions ({{n,m}}) and"
            " Unicode classes (\\p{...})"
        )
    return None


def _program_size(compiled: Any) -> int:
    """The size of RE2's compiled program, forwards or backwards (the larger)."""
    inner = compiled._regexp
    return max(int(inner.ProgramSize()), int(inner.ReverseProgramSize()))


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Any:
    """The pattern compiled by RE2: case-insensitive, no capture groups (a rule only asks
    whether it matches), errors raised rather than logged."""
    options = re2.Options()
    options.case_sensitive = False
    options.never_capture = True
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    return re2.compile(pattern, options)
