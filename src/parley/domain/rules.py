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
standard fields (``name``, ``email``, ``question``, ``page``); a missing field is the empty
string. Comparisons ignore case. ``matches`` is a regular-expression search; patterns are
compiled when the rule is saved, so a bad pattern is refused then, not at routing time.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from parley.domain.errors import InvalidInput

MAX_PATTERN_CHARS = 200
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

    def holds(self, metadata: Mapping[str, Any]) -> bool:
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
                # The text as typed: IGNORECASE ignores case, while casefolding first would
                # turn "Straße" into "strasse", which the pattern "straße" does not match.
                return _compiled(self.value).search(raw) is not None


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
    extra = metadata.get("extra")
    if name.startswith("extra."):
        name = name.removeprefix("extra.")
        found = extra.get(name, "") if isinstance(extra, Mapping) else ""
        return found if isinstance(found, str) else ""
    in_extra = isinstance(extra, Mapping) and name in extra
    value = extra[name] if in_extra else metadata.get(name, "")  # type: ignore[index]
    return value if isinstance(value, str) else ""


# The JSON form --------------------------------------------------------------------------------


def parse(data: Any) -> Condition:
    """Check and build a condition from its JSON form; ``InvalidInput`` names what is wrong."""
    counter = [0]
    return _parse(data, "condition", 1, counter)


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


def _parse(data: Any, where: str, depth: int, counter: list[int]) -> Condition:
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
                    _parse(item, f"{where}.{combinator}[{i}]", depth + 1, counter)
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
        try:
            _compiled(value)
        except re.error as exc:
            raise InvalidInput(f"{where}.value: not a valid pattern ({exc})") from None
    return Test(field.strip(), op, value)


def _compiled(pattern: str) -> re.Pattern[str]:
    # ``re`` keeps its own cache of compiled patterns.
    return re.compile(pattern, re.IGNORECASE)
