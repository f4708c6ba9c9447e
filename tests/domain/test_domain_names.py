"""Standard display names: the formats an admin picks, on the names people really have."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parley.domain.names import MAX_NAME_CHARS, NameFormat, initials, shown_name

AS, FL, FIRST_L, F_LAST = (
    NameFormat.AS_ENTERED,
    NameFormat.FIRST_LAST,
    NameFormat.FIRST_L,
    NameFormat.F_LAST,
)


@pytest.mark.parametrize(
    ("entered", "fmt", "shown"),
    [
        ("Mary Ann Smith", AS, "Mary Ann Smith"),
        ("  Mary  Smith ", AS, "Mary  Smith"),  # as entered: only the ends trimmed
        ("Mary Ann Smith", FL, "Mary Smith"),
        ("Mary Ann Smith", FIRST_L, "Mary S."),
        ("Mary Ann Smith", F_LAST, "M. Smith"),
        # One word stays as it is, whatever the format.
        ("Cher", FIRST_L, "Cher"),
        ("Cher", F_LAST, "Cher"),
        ("  Cher  ", FL, "Cher"),
        # Extra spaces (and other white space) are one space.
        ("  Mary \t  Smith\u00a0 ", FL, "Mary Smith"),
        ("Mary   Smith", FIRST_L, "Mary S."),
        # Hyphens: an initial per part.
        ("Anna Smith-Jones", FIRST_L, "Anna S.-J."),
        ("Jean-Luc Picard", F_LAST, "J.-L. Picard"),
        ("Jean-Luc Picard", FL, "Jean-Luc Picard"),
        # Lower case typed: the initial is upper-cased.
        ("mary smith", FIRST_L, "mary S."),
        # Non-Latin scripts with initials: Cyrillic, Greek, accents, Arabic.
        ("Иван Петров", FIRST_L, "Иван П."),
        ("Иван Петров", F_LAST, "И. Петров"),
        ("Νίκος Παπαδόπουλος", FIRST_L, "Νίκος Π."),
        ("José Álvarez", FIRST_L, "José Á."),
        ("Jose\u0301 A\u0301lvarez", F_LAST, "J. Álvarez"),  # decomposed input, composed
        ("محمد علي", FIRST_L, "محمد ع."),
        # Scripts not shortened to initials are kept whole, in their order.
        ("山田 太郎", FIRST_L, "山田 太郎"),
        ("김 민준", F_LAST, "김 민준"),
        ("やまだ たろう", FL, "やまだ たろう"),
        # An initial that upper-cases to two letters stays as it is; punctuation is skipped.
        ("Anna ßmith", FIRST_L, "Anna ß."),
        ("Liam O'Brien", FIRST_L, "Liam O."),
        ("Ann (Annie) Lee", F_LAST, "A. Lee"),
        ("Ann 'Lee'", FIRST_L, "Ann L."),
    ],
)
def test_formats(entered: str, fmt: NameFormat, shown: str) -> None:
    assert shown_name(entered, fmt) == shown


def test_initials_of_a_word_without_letters() -> None:
    assert initials("--") == "--"
    assert initials("-") == "-"
    assert shown_name("Ann -", FIRST_L) == "Ann -"


@given(st.text(max_size=MAX_NAME_CHARS), st.sampled_from(list(NameFormat)))
def test_any_name_gives_a_bounded_one_line_name(entered: str, fmt: NameFormat) -> None:
    shown = shown_name(entered, fmt)
    assert len(shown) <= MAX_NAME_CHARS
    assert shown == shown.strip()
    if fmt is not NameFormat.AS_ENTERED:
        assert "  " not in shown and "\n" not in shown
        assert bool(shown) == bool(entered.split())  # a name never turns blank
