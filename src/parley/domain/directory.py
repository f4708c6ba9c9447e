"""The staff directory and each member's buddy list: pure rules and limits.

- A **title** (job title) is one line of at most ``MAX_TITLE_CHARS``.
- A **search** is at most ``MAX_QUERY_CHARS``; it matches display name, username or title, as a
  case-insensitive substring (the store escapes ``%`` and ``_``: no pattern syntax).
- A **buddy list** belongs to one member and nobody else reads it: ``favourites`` (user ids, in
  the member's order) and named ``groups`` of user ids. At most ``MAX_GROUPS`` groups of
  ``MAX_GROUP_MEMBERS``, ``MAX_FAVOURITES`` favourites; a group name is one line of 1 to
  ``MAX_GROUP_NAME_CHARS`` characters, unique in the list whatever the case. Duplicated ids are
  kept once (first place wins). Which ids name real staff is the service's to check.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

from parley.domain.errors import InvalidInput

MAX_TITLE_CHARS = 80
MAX_QUERY_CHARS = 100
MAX_FAVOURITES = 200
MAX_GROUPS = 50
MAX_GROUP_MEMBERS = 200
MAX_GROUP_NAME_CHARS = 40


@dataclass(frozen=True, slots=True)
class BuddyGroup:
    name: str
    user_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class BuddyList:
    favourites: tuple[int, ...] = ()
    groups: tuple[BuddyGroup, ...] = ()

    def user_ids(self) -> set[int]:
        ids = set(self.favourites)
        for group in self.groups:
            ids.update(group.user_ids)
        return ids

    def keeping(self, known: Collection[int]) -> BuddyList:
        """The list without ids outside ``known`` (accounts deactivated or gone since)."""
        return BuddyList(
            tuple(i for i in self.favourites if i in known),
            tuple(
                BuddyGroup(g.name, tuple(i for i in g.user_ids if i in known)) for g in self.groups
            ),
        )


def _one_line(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def check_title(title: str) -> str:
    """The title as stored (trimmed); too long or not one line: ``InvalidInput``."""
    title = title.strip()
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"a title is limited to {MAX_TITLE_CHARS} characters")
    if not _one_line(title):
        raise InvalidInput("a title is one line, without control characters")
    return title


def check_query(query: str) -> str:
    query = query.strip()
    if len(query) > MAX_QUERY_CHARS:
        raise InvalidInput(f"a directory search is limited to {MAX_QUERY_CHARS} characters")
    return query


def _unique(ids: list[int]) -> tuple[int, ...]:
    return tuple(dict.fromkeys(ids))


def buddy_list(favourites: list[int], groups: list[tuple[str, list[int]]]) -> BuddyList:
    """A checked buddy list from what a member sent."""
    if len(favourites) > MAX_FAVOURITES:
        raise InvalidInput(f"at most {MAX_FAVOURITES} favourites")
    if len(groups) > MAX_GROUPS:
        raise InvalidInput(f"at most {MAX_GROUPS} groups")
    seen: set[str] = set()
    checked: list[BuddyGroup] = []
    for name, ids in groups:
        name = name.strip()
        if not name or len(name) > MAX_GROUP_NAME_CHARS or not _one_line(name):
            raise InvalidInput(
                f"a group name is one line of 1 to {MAX_GROUP_NAME_CHARS} characters"
            )
        folded = name.casefold()
        if folded in seen:
            raise InvalidInput(f"two groups are named {name!r}")
        seen.add(folded)
        if len(ids) > MAX_GROUP_MEMBERS:
            raise InvalidInput(f"at most {MAX_GROUP_MEMBERS} members in a group")
        checked.append(BuddyGroup(name, _unique(ids)))
    return BuddyList(_unique(favourites), tuple(checked))
