"""The directory's pure rules: titles, searches and buddy lists with their limits."""

from __future__ import annotations

import pytest

from parley.domain import directory
from parley.domain.directory import BuddyGroup, BuddyList
from parley.domain.errors import InvalidInput


def test_title_is_trimmed_and_limited() -> None:
    assert directory.check_title("  Head of support ") == "Head of support"
    assert directory.check_title("x" * 80) == "x" * 80
    with pytest.raises(InvalidInput, match="80"):
        directory.check_title("x" * 81)
    with pytest.raises(InvalidInput):
        directory.check_title("two\nlines")


def test_query_is_limited() -> None:
    assert directory.check_query(" ann ") == "ann"
    with pytest.raises(InvalidInput):
        directory.check_query("q" * 101)


def test_buddy_list_keeps_first_places_and_checks_names() -> None:
    made = directory.buddy_list([3, 2, 3], [(" Team ", [5, 5, 6]), ("Night", [])])
    assert made == BuddyList((3, 2), (BuddyGroup("Team", (5, 6)), BuddyGroup("Night", ())))
    assert made.user_ids() == {2, 3, 5, 6}
    assert made.keeping({2, 6}) == BuddyList(
        (2,), (BuddyGroup("Team", (6,)), BuddyGroup("Night", ()))
    )


@pytest.mark.parametrize(
    ("favourites", "groups"),
    [
        (list(range(201)), []),
        ([], [(f"g{i}", []) for i in range(51)]),
        ([], [("", [])]),
        ([], [("n" * 41, [])]),
        ([], [("a\tb", [])]),
        ([], [("Team", []), ("team", [])]),
        ([], [("Team", list(range(201)))]),
    ],
)
def test_buddy_list_limits(favourites: list[int], groups: list[tuple[str, list[int]]]) -> None:
    with pytest.raises(InvalidInput):
        directory.buddy_list(favourites, groups)
