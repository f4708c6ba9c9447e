"""Standard display names, pure: how a staff member's name looks to everyone else.

An admin picks one format for the whole company (``AccountPolicy.name_format``); each account
keeps its name as entered, and what others are shown (the directory, presence, the names in
conversations, the agent's name a customer sees) is ``shown_name(entered, format)``:

- ``as_entered``: the name as typed (ends trimmed);
- ``first_last``: the first and the last word ("Mary Ann Smith" -> "Mary Smith");
- ``first_l``: the first word and the last one's initial ("Mary Smith" -> "Mary S.");
- ``f_last``: the first word's initial and the last word ("Mary Smith" -> "M. Smith").

Runs of spaces are one space; a name of one word stays as it is; a hyphenated word gives one
initial per part ("Jean-Luc" -> "J.-L."); an initial is the word's first letter with its
combining marks, upper-cased when that is one letter (not "ß" -> "SS"). Names written in
scripts whose names are not shortened to initials (Han, Hiragana, Katakana, Hangul) are kept
whole, in their own order.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum

#: The longest display name stored (``users.display_name``).
MAX_NAME_CHARS = 128
#: Scripts (by the start of their characters' Unicode names) kept whole.
_WHOLE = ("CJK ", "HIRAGANA ", "KATAKANA ", "HANGUL ")


class NameFormat(StrEnum):
    AS_ENTERED = "as_entered"
    FIRST_LAST = "first_last"
    FIRST_L = "first_l"
    F_LAST = "f_last"


def shown_name(entered: str, fmt: NameFormat) -> str:
    """What others are shown of a name entered as ``entered``, in the format ``fmt``."""
    if fmt is NameFormat.AS_ENTERED:
        return entered.strip()[:MAX_NAME_CHARS]
    words = unicodedata.normalize("NFC", entered).split()
    tidy = " ".join(words)
    if len(words) < 2 or _kept_whole(tidy):
        return tidy[:MAX_NAME_CHARS]
    first, last = words[0], words[-1]
    if fmt is NameFormat.FIRST_LAST:
        out = f"{first} {last}"
    elif fmt is NameFormat.FIRST_L:
        out = f"{first} {initials(last)}"
    else:
        out = f"{initials(first)} {last}"
    return out[:MAX_NAME_CHARS]


def initials(word: str) -> str:
    """The initial of each hyphen-separated part of ``word``, each followed by a dot."""
    parts = [_initial(part) for part in word.split("-") if part]
    return "-".join(p for p in parts if p) or word


def _initial(part: str) -> str:
    start = next((i for i, c in enumerate(part) if c.isalnum()), None)
    if start is None:
        return ""
    end = start + 1
    while end < len(part) and unicodedata.combining(part[end]):
        end += 1
    letter = part[start:end]
    upper = letter.upper()
    return (upper if len(upper) == len(letter) else letter) + "."


def _kept_whole(name: str) -> bool:
    return any(unicodedata.name(c, "").startswith(_WHOLE) for c in name if c.isalpha())
