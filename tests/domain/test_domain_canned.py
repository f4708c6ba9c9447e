"""Canned responses: the checks at save time, and the typo-tolerant ranking of the ``/`` search
(``domain.fuzzy``, ``domain.canned.search``)."""

from __future__ import annotations

import pytest

from parley.domain import fuzzy
from parley.domain.canned import Candidate, Scope, canned, search
from parley.domain.errors import InvalidInput


def test_a_checked_response() -> None:
    c = canned(
        Scope.WORKGROUP,
        " /Refund ",
        " Refund policy ",
        "Hi {customer.name|there}",
        "Billing",
        workgroup_id=1,
    )
    assert (c.shortcut, c.title, c.category) == ("refund", "Refund policy", "Billing")
    p = canned(Scope.PERSONAL, "bye", "Bye", "Cheers!\nAlice", owner_id=7)
    assert (p.workgroup_id, p.owner_id) == (None, 7)


@pytest.mark.parametrize(
    ("shortcut", "title", "text", "category"),
    [
        ("", "t", "x", ""),
        ("two words", "t", "x", ""),
        ("x" * 33, "t", "x", ""),
        ("ok", "", "x", ""),
        ("ok", "t" * 10_000, "x", ""),
        ("ok", "two\nlines", "x", ""),
        ("ok", "t", "", ""),
        ("ok", "t", "x" * 2001, ""),
        ("ok", "t", "bell\x07", ""),
        ("ok", "t", "Hi {customer.nmae}", ""),
        ("ok", "t", "Hi {customer.name", ""),
        ("ok", "t", "x", "c" * 41),
    ],
)
def test_bad_responses_are_refused(shortcut: str, title: str, text: str, category: str) -> None:
    with pytest.raises(InvalidInput):
        canned(Scope.WORKGROUP, shortcut, title, text, category, workgroup_id=1)


def test_scope_and_owner_go_together() -> None:
    with pytest.raises(InvalidInput):
        canned(Scope.WORKGROUP, "a", "t", "x", owner_id=1)
    with pytest.raises(InvalidInput):
        canned(Scope.PERSONAL, "a", "t", "x", workgroup_id=1)


def test_distance_counts_swaps_as_one_typo() -> None:
    assert fuzzy.distance("refund", "refund", 2) == 0
    assert fuzzy.distance("rfeund", "refund", 2) == 1
    assert fuzzy.distance("refnd", "refund", 2) == 1
    assert fuzzy.distance("rafunt", "refund", 2) == 2
    assert fuzzy.distance("abcdef", "uvwxyz", 2) == 3  # stopped early
    assert fuzzy.prefix_distance("rfe", "refund", 1) == 1
    assert fuzzy.prefix_distance("shiping", "shipping-times", 2) == 1


C = [
    Candidate("canned", 1, "refund", "Refund policy", "You can get a refund within 30 days."),
    Candidate("canned", 2, "ref-status", "Refund status", "Your refund is on its way."),
    Candidate("canned", 3, "shipping", "Shipping times", "Parcels arrive in 2-4 days."),
    Candidate("canned", 4, "hello", "Greeting", "Hi {customer.name|there}, how can I help?", 50),
    Candidate("template", 1, "welcome", "Welcome", "Hello, I am here to help."),
    Candidate("canned", 5, "password", "Reset your password", "Use the Forgot password link."),
]


def ids(query: str) -> list[tuple[str, int]]:
    return [(c.kind, c.id) for c in search(query, C)]


def test_the_shortcut_first_then_its_completions() -> None:
    assert ids("refund")[:2] == [("canned", 1), ("canned", 2)]
    assert ids("/ref")[:2] == [("canned", 1), ("canned", 2)]  # shorter completion first
    assert ids("ref-status")[0] == ("canned", 2)


def test_typos_are_tolerated() -> None:
    assert set(ids("rfe")[:2]) == {("canned", 1), ("canned", 2)}  # a swap
    assert ids("shiping")[0] == ("canned", 3)  # a letter missing
    assert ids("pasword")[0] == ("canned", 5)
    assert ids("welcmoe")[0] == ("template", 1)


def test_content_words_find_responses_whose_shortcut_does_not_match() -> None:
    assert ids("parcels")[0] == ("canned", 3)
    assert ids("forgot")[0] == ("canned", 5)
    assert ids("30 days refund")[0] == ("canned", 1)
    assert ("canned", 4) in ids("help")  # a word of its text


def test_nothing_found_for_nonsense_and_everything_for_nothing() -> None:
    assert ids("xyzzy") == []
    assert ids("q") == []  # one letter: no typos, and no shortcut starts with it
    everything = ids("")
    assert everything[0] == ("canned", 4)  # the most used first
    assert len(everything) == len(C)


def test_usage_breaks_ties_but_never_beats_a_better_match() -> None:
    often = [
        Candidate("canned", 1, "refund", "Refund", "x", uses=0),
        Candidate("canned", 2, "refund-eu", "Refund EU", "x", uses=10_000),
    ]
    assert [c.id for c in search("refund", often)] == [1, 2]
    same = [
        Candidate("canned", 1, "a-refund", "Refund", "x", uses=0),
        Candidate("canned", 2, "b-refund", "Refund", "x", uses=100),
    ]
    assert [c.id for c in search("refund", same)] == [2, 1]


def test_search_is_case_and_accent_insensitive_and_limited() -> None:
    accents = [Candidate("canned", 1, "resume", "Résumé", "Où est ma commande ?")]
    assert search("RÉSUMÉ", accents) and search("ou est", accents)
    many = [Candidate("canned", i, f"refund{i}", "R", "x") for i in range(1, 50)]
    assert len(search("refund", many)) == 20
    assert len(search("refund", many, limit=3)) == 3
