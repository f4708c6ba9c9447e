"""The QA scoring rule (``domain.qa``): weights, scales, and a critical category below half its
scale zeroing the review; checked against a plain second computation with Hypothesis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.domain import qa
from parley.domain.errors import Conflict, Forbidden, InvalidInput, NotFound
from parley.domain.qa import Category, Purpose

NOW = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


@st.composite
def filled(draw: st.DrawFn) -> tuple[qa.Scorecard, dict[str, int]]:
    n = draw(st.integers(1, 8))
    cats = []
    scores = {}
    for i in range(n):
        scale = draw(st.integers(1, qa.MAX_SCALE))
        cats.append(
            Category(
                f"c{i}",
                f"Category {i}",
                draw(st.integers(1, qa.MAX_WEIGHT)),
                scale,
                draw(st.booleans()),
            )
        )
        scores[f"c{i}"] = draw(st.integers(0, scale))
    return qa.new_scorecard("Card", Purpose.REVIEW, cats), scores


def reference(card: qa.Scorecard, scores: dict[str, int]) -> Fraction:
    """The rule as written in docs/metrics.md, in exact arithmetic."""
    for c in card.categories:
        if c.critical and Fraction(scores[c.key]) < Fraction(c.scale, 2):
            return Fraction(0)
    total = sum(Fraction(c.weight * scores[c.key], c.scale) for c in card.categories)
    return 100 * total / sum(c.weight for c in card.categories)


@given(filled())
def test_score_matches_the_rule(case: tuple[qa.Scorecard, dict[str, int]]) -> None:
    card, scores = case
    result = qa.score(card, scores)
    assert abs(Fraction(result.score) - reference(card, scores)) <= Fraction(1, 100)
    assert 0 <= result.score <= 100
    zeroed = any(c.critical and 2 * scores[c.key] < c.scale for c in card.categories)
    assert (result.score == 0 and bool(result.failed_critical)) or not zeroed
    assert bool(result.failed_critical) == zeroed


@given(filled(), st.integers(1, 5))
def test_scaling_every_weight_changes_nothing(
    case: tuple[qa.Scorecard, dict[str, int]], k: int
) -> None:
    card, scores = case
    heavier = qa.Scorecard(
        card.name,
        card.purpose,
        tuple(
            Category(c.key, c.name, min(c.weight * k, qa.MAX_WEIGHT * k), c.scale, c.critical)
            for c in card.categories
        ),
    )
    assert abs(qa.score(heavier, scores).score - qa.score(card, scores).score) <= 0.011


@given(filled())
def test_raising_a_score_never_lowers_the_review(case: tuple[qa.Scorecard, dict[str, int]]) -> None:
    card, scores = case
    before = qa.score(card, scores).score
    for c in card.categories:
        if scores[c.key] < c.scale:
            assert qa.score(card, {**scores, c.key: scores[c.key] + 1}).score >= before


def test_weights_and_the_critical_rule() -> None:
    card = qa.new_scorecard(
        "Chat QA",
        Purpose.REVIEW,
        [
            Category("greeting", "Greeting", weight=1, scale=5),
            Category("accuracy", "Accuracy", weight=3, scale=5),
            Category("privacy", "Privacy", weight=1, scale=4, critical=True),
        ],
    )
    # (1*5/5 + 3*2/5 + 1*4/4) / 5 = 0.64
    assert qa.score(card, {"greeting": 5, "accuracy": 2, "privacy": 4}).score == 64.0
    # Exactly half of the scale is not below half.
    assert qa.score(card, {"greeting": 5, "accuracy": 5, "privacy": 2}).score == 90.0
    zero = qa.score(card, {"greeting": 5, "accuracy": 5, "privacy": 1})
    assert (zero.score, zero.failed_critical, zero.weighted) == (0.0, ("privacy",), 85.0)
    odd = qa.new_scorecard("Odd", Purpose.REVIEW, [Category("x", "X", scale=5, critical=True)])
    assert qa.score(odd, {"x": 2}).score == 0.0  # 2 < 2.5
    assert qa.score(odd, {"x": 3}).score == 60.0


@pytest.mark.parametrize(
    "scores",
    [{}, {"a": 6}, {"a": -1}, {"a": 2, "b": 1}, {"a": True}, {"a": 1.5}],
)
def test_bad_scores_are_refused(scores: dict[str, object]) -> None:
    card = qa.new_scorecard("C", Purpose.REVIEW, [Category("a", "A", scale=5)])
    with pytest.raises(InvalidInput):
        qa.score(card, scores)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "categories",
    [
        [],
        [Category("A", "x")],
        [Category("a", "x"), Category("a", "y")],
        [Category("a", "x", weight=0)],
        [Category("a", "x", scale=11)],
        [Category("a", " ")],
    ],
)
def test_bad_scorecards_are_refused(categories: list[Category]) -> None:
    with pytest.raises(InvalidInput):
        qa.new_scorecard("C", Purpose.REVIEW, categories)


def test_a_shopper_checklist_is_yes_or_no() -> None:
    with pytest.raises(InvalidInput):
        qa.new_scorecard("S", Purpose.SHOPPER, [Category("a", "A", scale=5)])
    assert (
        qa.score(
            qa.BUILT_IN_CHECKLIST,
            dict.fromkeys(["greeting", "name", "wait", "accuracy", "closing"], 1),
        ).score
        == 100.0
    )


def test_report_averages_per_agent_and_category() -> None:
    card = qa.new_scorecard(
        "C", Purpose.REVIEW, [Category("a", "A", scale=4), Category("b", "B", scale=2)]
    )
    rows = [
        qa.Reviewed(
            1, "Alice", False, qa.score(card, {"a": 4, "b": 2}).score, card, {"a": 4, "b": 2}
        ),
        qa.Reviewed(
            1, "Alice", False, qa.score(card, {"a": 2, "b": 0}).score, card, {"a": 2, "b": 0}
        ),
        qa.Reviewed(
            2, "Bob", False, qa.score(card, {"a": 0, "b": 1}).score, card, {"a": 0, "b": 1}
        ),
        qa.Reviewed(
            2,
            "Bob",
            True,
            60.0,
            qa.BUILT_IN_CHECKLIST,
            {"greeting": 1, "name": 0, "wait": 1, "accuracy": 1, "closing": 0},
        ),
    ]
    r = qa.report(rows)
    alice, bob = r.agents
    assert (alice.agent_name, alice.reviews, alice.shoppers) == ("Alice", qa.Average(2, 62.5), None)
    assert (bob.reviews, bob.shoppers) == (qa.Average(1, 25.0), qa.Average(1, 60.0))
    cats = {(c.shopper, c.key): (c.reviews, c.percent) for c in r.categories}
    assert cats[(False, "a")] == (3, 50.0)
    assert cats[(False, "b")] == (3, 50.0)
    assert cats[(True, "name")] == (1, 0.0)
    assert r.overall == qa.Average(3, 50.0)
    assert r.shoppers == qa.Average(1, 60.0)


def test_shopper_links() -> None:
    link = qa.Link("l1", 1, NOW + timedelta(hours=1), None, None, None)
    assert qa.check_link(link, NOW) == link
    with pytest.raises(qa.ShopperLinkInvalid):
        qa.check_link(None, NOW)
    with pytest.raises(qa.ShopperLinkExpired):
        qa.check_link(link, NOW + timedelta(hours=1))
    used = qa.Link("l1", 1, NOW + timedelta(hours=1), NOW, "c1", None)
    with pytest.raises(qa.ShopperLinkUsed):
        qa.check_link(used, NOW)
    with pytest.raises(Conflict):
        qa.check_scorable(link, True)
    with pytest.raises(Conflict):
        qa.check_scorable(used, False)
    assert qa.check_scorable(used, True) == used
    with pytest.raises(qa.ShopperLinkUsed):
        qa.check_scorable(qa.Link("l1", 1, NOW, NOW, "c1", NOW), True)
    assert qa.link_lifetime(None) == timedelta(hours=24)
    assert qa.link_lifetime(168) == timedelta(days=7)
    for bad in (0, 169, 0.01):
        with pytest.raises(InvalidInput):
            qa.link_lifetime(bad)


def test_who_reads_and_changes_a_review() -> None:
    from parley.domain import access
    from parley.domain.access import Staff, StaffRole, Visitor

    alice = Staff(1, "alice", "Alice", StaffRole.AGENT)
    sam = Staff(3, "sam", "Sam", StaffRole.SUPERVISOR)
    tess = Staff(4, "tess", "Tess", StaffRole.SUPERVISOR)
    root = Staff(9, "root", "Root", StaffRole.ADMIN)
    sales = 10
    # The agent reads her own, never a shopper's; a supervisor their workgroups'; an admin all.
    assert access.can_read_review(alice, 1, sales, False, ())
    assert not access.can_read_review(alice, 1, sales, True, ())
    assert not access.can_read_review(alice, 2, sales, False, ())
    assert access.can_read_review(sam, 1, sales, True, {sales})
    assert not access.can_read_review(tess, 1, sales, False, {11})
    assert access.can_read_review(root, 1, sales, True, ())
    assert not access.can_read_review(Visitor("c1"), 1, sales, False, ())
    assert access.require_review_editor(sam, sales, False, {sales}) == sam
    with pytest.raises(NotFound):
        access.require_review_editor(tess, sales, False, {11})
    with pytest.raises(NotFound):
        access.require_review_editor(sam, None, False, {sales})
    with pytest.raises(Conflict):
        access.require_review_editor(sam, sales, True, {sales})
    with pytest.raises(Forbidden):
        access.require_review_editor(alice, sales, False, {sales})
