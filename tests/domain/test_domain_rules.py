"""Routing rules: conditions over a request's metadata, their JSON form, and the first match."""

from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from parley.domain import rules
from parley.domain.errors import BadPattern, InvalidInput
from parley.domain.rules import All, AnyOf, Decision, Op, Rule, route

META: dict[str, Any] = {
    "name": "Anna Müller",
    "email": "anna@example.de",
    "question": "My INVOICE is wrong",
    "page": "https://shop.example/de/billing?x=1",
    "extra": {"product": "Billing", "language": "DE", "city": "Straße"},
}


def check(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


def holds(data: dict[str, Any], metadata: dict[str, Any] = META) -> bool:
    return rules.parse(data).holds(metadata)


# Ops --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [("billing", True), ("BILLING", True), ("Billing", True), ("bill", False), ("", False)],
)
def test_equals_ignores_case_and_matches_whole_values(value: str, expected: bool) -> None:
    assert holds(check("product", "equals", value)) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [("invoice", True), ("Is Wrong", True), ("", True), ("refund", False)],
)
def test_contains_ignores_case(value: str, expected: bool) -> None:
    assert holds(check("question", "contains", value)) is expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(["de", "at"], True), (["AT", "De"], True), (["en"], False), (["d"], False)],
)
def test_one_of_ignores_case(value: list[str], expected: bool) -> None:
    assert holds(check("language", "one_of", value)) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("/de/", True),
        ("/DE/", True),
        (r"^https://shop\.example/", True),
        ("billing$", False),  # a search, with the query string after it
        (r"billing\?", True),
        ("/fr/", False),
    ],
)
def test_matches_is_a_case_insensitive_regex_search(pattern: str, expected: bool) -> None:
    assert holds(check("page", "matches", pattern)) is expected


def test_comparisons_ignore_case_beyond_ascii() -> None:
    # equals and contains compare casefolded text; matches searches the text as typed.
    assert holds(check("city", "equals", "STRASSE"))
    assert holds(check("city", "contains", "ss"))
    assert holds(check("city", "matches", "straße"))
    assert holds(check("city", "matches", "^STRAßE$"))
    assert holds(check("name", "matches", "müller"))
    assert holds(check("name", "equals", "ANNA MÜLLER"))


# Fields -----------------------------------------------------------------------------------------


def test_standard_fields_are_found() -> None:
    for name in ("name", "email", "question", "page"):
        value = META[name]
        assert holds(check(name, "equals", value))


def test_extra_fields_come_first_then_standard_fields() -> None:
    metadata = {"name": "standard", "extra": {"name": "extra"}}
    assert rules.field_value(metadata, "name") == "extra"
    assert rules.field_value({"name": "standard", "extra": {}}, "name") == "standard"
    assert rules.field_value({"name": "standard"}, "name") == "standard"
    assert holds(check("product", "equals", "billing"))
    assert not holds(check("product", "equals", "billing"), {"product": "x", "extra": {}})


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"extra": {}},
        {"extra": None},
        {"extra": "not a mapping"},
        {"extra": {"product": 5}},
        {"extra": {"product": None}},
        {"product": ["billing"]},
    ],
)
def test_a_missing_or_non_text_field_is_the_empty_string(metadata: dict[str, Any]) -> None:
    assert rules.field_value(metadata, "product") == ""
    assert not holds(check("product", "equals", "billing"), metadata)
    assert holds(check("product", "equals", ""), metadata)
    assert holds(check("product", "matches", "^$"), metadata)
    assert not holds(check("product", "contains", "b"), metadata)
    assert holds(check("product", "one_of", ["", "x"]), metadata)


# Combinators ------------------------------------------------------------------------------------

YES = check("product", "equals", "billing")
NO = check("product", "equals", "tech")


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"all": [YES]}, True),
        ({"all": [YES, YES]}, True),
        ({"all": [YES, NO]}, False),
        ({"any": [NO]}, False),
        ({"any": [NO, YES]}, True),
        ({"any": [NO, NO]}, False),
        ({"all": [YES, {"any": [NO, {"all": [YES, YES]}]}]}, True),
        ({"all": [YES, {"any": [NO, {"all": [YES, NO]}]}]}, False),
        ({"any": [{"all": [NO, YES]}, {"all": [YES]}]}, True),
    ],
)
def test_all_and_any_nest(data: dict[str, Any], expected: bool) -> None:
    assert holds(data) is expected


def test_the_documented_example() -> None:
    data = {
        "all": [
            check("product", "equals", "billing"),
            {"any": [check("language", "one_of", ["de", "at"]), check("page", "matches", "/de/")]},
        ]
    }
    condition = rules.parse(data)
    assert condition == All(
        (
            rules.Test("product", Op.EQUALS, "billing"),
            AnyOf(
                (
                    rules.Test("language", Op.ONE_OF, ("de", "at")),
                    rules.Test("page", Op.MATCHES, "/de/"),
                )
            ),
        )
    )
    assert condition.holds(META)
    assert condition.holds({"extra": {"product": "billing"}, "page": "/de/start"})
    assert not condition.holds({"extra": {"product": "billing", "language": "en"}})


# route ------------------------------------------------------------------------------------------


def test_first_matching_rule_wins_else_the_default_queue() -> None:
    billing = rules.parse(check("product", "equals", "billing"))
    german = rules.parse(check("language", "equals", "de"))
    never = rules.parse(check("product", "equals", "none"))
    chain = [
        Rule(never, queue_id=9, priority=9, name="never"),
        Rule(german, queue_id=2, priority=1, name="german"),
        Rule(billing, queue_id=3, priority=5, name="billing"),
    ]
    assert route(chain, META, default_queue=1) == Decision(2, 1, 1)
    assert route(chain, {"extra": {"product": "billing"}}, default_queue=1) == Decision(3, 5, 2)
    assert route(chain, {}, default_queue=1) == Decision(1, 0, None)
    assert route([], META, default_queue=7) == Decision(7, 0, None)


# parse: malformed input names where -------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (None, "condition: expected an object"),
        ([], "condition: expected an object"),
        ("x", "condition: expected an object"),
        ({}, "condition: expected 'all', 'any', or 'field', 'op' and 'value'"),
        ({"field": "a", "op": "equals"}, "condition: expected 'all', 'any'"),
        ({**YES, "extra": 1}, "condition: expected 'all', 'any'"),
        ({"all": [YES], "any": [YES]}, "condition: 'all' takes no other keys"),
        ({"any": [YES], "field": "a"}, "condition: 'any' takes no other keys"),
        ({"all": []}, "condition.all: expected a non-empty list"),
        ({"any": YES}, "condition.any: expected a non-empty list"),
        ({"all": [YES, "x"]}, "condition.all[1]: expected an object"),
        ({"all": [YES, {"any": [YES, {}]}]}, "condition.all[1].any[1]: expected 'all'"),
        (check(5, "equals", "x"), "condition.field: a field name of 1 to 64 characters"),
        (check("", "equals", "x"), "condition.field: a field name"),
        (check("   ", "equals", "x"), "condition.field: a field name"),
        (check("f" * 65, "equals", "x"), "condition.field: a field name"),
        (check("a", "like", "x"), "condition.op: one of equals, contains, one_of, matches"),
        (check("a", None, "x"), "condition.op: one of"),
        (check("a", ["equals"], "x"), "condition.op: one of"),
        (check("a", "EQUALS", "x"), "condition.op: one of"),
        (check("a", "equals", 5), "condition.value: a string of at most 256 characters"),
        (check("a", "equals", ["x"]), "condition.value: a string"),
        (check("a", "contains", None), "condition.value: a string"),
        (check("a", "equals", "x" * 257), "condition.value: a string"),
        (check("a", "one_of", "x"), "condition.value: a list of 1 to 100 strings"),
        (check("a", "one_of", []), "condition.value: a list of 1 to 100 strings"),
        (check("a", "one_of", ["x", 1]), "condition.value: a list"),
        (check("a", "one_of", ["x"] * 101), "condition.value: a list"),
        (check("a", "one_of", ["x" * 257]), "condition.value: a list"),
        (check("a", "matches", "x" * 201), "condition.value: a pattern of at most 200 characters"),
        (check("a", "matches", "("), "condition.value: not a valid pattern"),
        (check("a", "matches", "[a-"), "condition.value: not a valid pattern"),
        (check("a", "matches", "(?P<x"), "condition.value: not a valid pattern"),
        ({"any": [YES, check("a", "matches", "*x")]}, "condition.any[1].value: not a valid"),
    ],
)
def test_parse_refuses_malformed_input_and_names_the_path(data: Any, message: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        rules.parse(data)
    assert refused.value.message.startswith(message), refused.value.message
    pattern = "not a valid" in message
    assert refused.value.code == ("bad_pattern" if pattern else "invalid_input")


def test_parse_accepts_values_at_their_limits() -> None:
    assert rules.parse(check("f" * 64, "equals", "x" * 256)) == rules.Test(
        "f" * 64, Op.EQUALS, "x" * 256
    )
    assert rules.parse(check("a", "one_of", ["x"] * 100)) == rules.Test(
        "a", Op.ONE_OF, ("x",) * 100
    )
    assert rules.parse(check("a", "matches", "x" * 200)).holds({"a": "x" * 200})
    assert rules.parse(check(" padded ", "equals", "")) == rules.Test("padded", Op.EQUALS, "")


def nested(depth: int) -> dict[str, Any]:
    """A test under ``depth - 1`` combinators: the test itself is at ``depth``."""
    data: dict[str, Any] = YES
    for n in range(depth - 1):
        data = {("all", "any")[n % 2]: [data]}
    return data


def test_conditions_nest_at_most_max_depth() -> None:
    assert rules.parse(nested(rules.MAX_DEPTH)).holds(META)
    with pytest.raises(InvalidInput) as refused:
        rules.parse(nested(rules.MAX_DEPTH + 1))
    assert refused.value.message == (
        "condition.all[0].any[0].all[0].any[0].all[0]: conditions nest at most 5 deep"
    )


def test_a_condition_has_at_most_max_tests() -> None:
    assert rules.parse({"any": [NO] * (rules.MAX_TESTS - 1) + [YES]}).holds(META)
    # Counted over the whole tree, not per list.
    half = rules.MAX_TESTS // 2 + 1
    with pytest.raises(InvalidInput, match="at most 50 tests"):
        rules.parse({"all": [{"any": [YES] * half}, {"any": [YES] * half}]})
    with pytest.raises(InvalidInput, match="at most 50 tests"):
        rules.parse({"any": [YES] * (rules.MAX_TESTS + 1)})


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", r"backreferences (\1) are not supported"),
        (r"(?P<x>a)(?P=x)", "backreferences (?P=name) are not supported"),
        ("foo(?=bar)", "lookahead (?=...) is not supported"),
        ("foo(?!bar)", "negative lookahead (?!...) is not supported"),
        ("(?<=x)y", "lookbehind (?<=...) is not supported"),
        ("(?<!x)y", "negative lookbehind (?<!...) is not supported"),
        ("(?>a+)b", "atomic groups (?>...) are not supported"),
        ("a++b", "possessive quantifiers (++, *+, ?+) are not supported"),
        ("(?#note)a", "comments (?#...) are not supported"),
        (r"end\Z", r"\Z is not supported (\z is the end of the text)"),
        ("a{1001}", "repetition counts are at most 1000 (nested ones multiplied)"),
        (
            "(.{1,5}){1,20}z",
            "it is too complex (904 instructions, at most 500): use fewer or smaller counted"
            " repetitions ({n,m}) and Unicode classes (\\p{...})",
        ),
    ],
)
def test_patterns_re2_cannot_run_are_refused_saying_why(pattern: str, reason: str) -> None:
    with pytest.raises(BadPattern) as refused:
        rules.parse({"any": [YES, check("page", "matches", pattern)]})
    assert refused.value.reason == f"RE2 cannot run this pattern: {reason}"
    assert refused.value.where == "condition.any[1].value"
    assert refused.value.message == f"condition.any[1].value: {refused.value.reason}"
    assert refused.value.code == "bad_pattern"
    assert rules.unrunnable_reason(pattern) == refused.value.reason


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        (".*.*.*=", "a" * 1024),
        (r"^(\w+\s?)+$", ("word " * 205)[:1023] + "!"),
        ("(a+)+$", "a" * 1023 + "!"),
        ("(x+x+)+y", "x" * 1024),
        (r"\bde\b", "xy " * 340 + "de"),
        (r"\p{Greek}+\d", "\u03b1" * 1024),
        (r"\z", ""),
    ],
)
def test_patterns_that_backtrack_in_python_run_on_re2(pattern: str, text: str) -> None:
    """On these 1 KB fields Python's ``re`` takes from seconds to forever; RE2 is linear."""
    assert rules.unrunnable_reason(pattern) is None
    condition = rules.parse(check("question", "matches", pattern))
    assert condition.holds({"question": text}) is (pattern in {r"\bde\b", r"\z"})


def test_a_stored_unrunnable_pattern_never_matches_and_says_why() -> None:
    data = {"any": [NO, check("page", "matches", "^(?=x)")]}
    with pytest.raises(BadPattern):
        rules.parse(data)
    condition = rules.parse_stored(data)
    assert not condition.holds({"page": "x", "extra": {"product": "billing"}})
    assert rules.problems(condition) == [
        "condition.any[1].value: RE2 cannot run this pattern: lookahead (?=...) is not supported"
    ]
    assert rules.dump(condition) == data
    # The rest of a stored rule still works; a healthy one has no problems.
    mixed = rules.parse_stored({"any": [YES, check("page", "matches", "(?<!a)b")]})
    assert mixed.holds(META)
    assert rules.problems(rules.parse_stored(YES)) == []
    # Anything else wrong with a stored condition still raises.
    with pytest.raises(InvalidInput):
        rules.parse_stored({"all": []})


def test_rules_look_at_most_at_the_first_max_field_chars_of_a_field() -> None:
    limit = rules.MAX_FIELD_CHARS
    long = "a" * limit + "TAIL"
    metadata = {"question": long, "extra": {"order": long}}
    assert rules.field_value(metadata, "question") == "a" * limit
    assert rules.field_value(metadata, "order") == "a" * limit
    assert rules.field_value(metadata, "extra.order") == "a" * limit
    for field in ("question", "order"):
        assert not holds(check(field, "contains", "tail"), metadata)
        assert not holds(check(field, "matches", "tail$"), metadata)
        assert holds(check(field, "matches", "^a+$"), metadata)


def test_a_bad_pattern_is_refused_at_parse_time_not_at_routing_time() -> None:
    with pytest.raises(InvalidInput):
        rules.parse(check("page", "matches", "(unclosed"))
    # A valid one is compiled and cached: routing never raises.
    condition = rules.parse(check("page", "matches", r"(?i)\d+"))
    assert condition.holds({"page": "/item/42"})
    assert not condition.holds({})


# dump(parse(x)) round trip ----------------------------------------------------------------------

FIELDS = st.sampled_from(["product", "language", "page", "name", "a_b", "x" * 64])
TEXT = st.text(max_size=20)
PATTERNS = st.sampled_from(["^a", "b$", r"\d+", "[a-z]{2}", "x|y", "", "(?:de|at)/"])


def leaf() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(check, FIELDS, st.sampled_from(["equals", "contains"]), TEXT),
        st.builds(check, FIELDS, st.just("one_of"), st.lists(TEXT, min_size=1, max_size=5)),
        st.builds(check, FIELDS, st.just("matches"), PATTERNS),
    )


CONDITIONS = st.recursive(
    leaf(),
    lambda children: st.one_of(
        st.builds(lambda xs: {"all": xs}, st.lists(children, min_size=1, max_size=3)),
        st.builds(lambda xs: {"any": xs}, st.lists(children, min_size=1, max_size=3)),
    ),
    max_leaves=12,
)


def depth_and_tests(data: dict[str, Any]) -> tuple[int, int]:
    for key in ("all", "any"):
        if key in data:
            inner = [depth_and_tests(d) for d in data[key]]
            return 1 + max(d for d, _ in inner), sum(n for _, n in inner)
    return 1, 1


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(CONDITIONS, st.dictionaries(FIELDS, TEXT, max_size=4))
def test_dump_of_parse_is_the_input(data: dict[str, Any], answers: dict[str, str]) -> None:
    depth, count = depth_and_tests(data)
    if depth > rules.MAX_DEPTH or count > rules.MAX_TESTS:
        with pytest.raises(InvalidInput):
            rules.parse(data)
        return
    condition = rules.parse(data)
    assert rules.dump(condition) == data
    assert rules.parse(rules.dump(condition)) == condition
    # Whether it holds is the same as evaluating the JSON form directly.
    metadata = {"extra": answers}
    assert condition.holds(metadata) is evaluate(data, metadata)


def evaluate(data: dict[str, Any], metadata: dict[str, Any]) -> bool:
    """A second, naive reading of the documented semantics."""
    if "all" in data:
        return all(evaluate(d, metadata) for d in data["all"])
    if "any" in data:
        return any(evaluate(d, metadata) for d in data["any"])
    extra = metadata.get("extra") or {}
    actual = extra.get(data["field"], metadata.get(data["field"], ""))
    value = data["value"]
    if data["op"] == "equals":
        return bool(actual.casefold() == value.casefold())
    if data["op"] == "contains":
        return value.casefold() in actual.casefold()
    if data["op"] == "one_of":
        return actual.casefold() in [v.casefold() for v in value]
    return re.search(value, actual, re.IGNORECASE) is not None


def test_a_field_may_name_the_extra_answers_explicitly() -> None:
    meta = {"name": "Zoe", "extra": {"product": "Billing", "name": "ignored"}}
    assert rules.parse({"field": "extra.product", "op": "equals", "value": "billing"}).holds(meta)
    assert rules.parse({"field": "extra.name", "op": "equals", "value": "ignored"}).holds(meta)
    # Only the extra answers: the standard field of that name does not count.
    assert rules.parse({"field": "extra.page", "op": "equals", "value": ""}).holds({"page": "x"})
