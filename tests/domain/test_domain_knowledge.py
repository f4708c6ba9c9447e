"""The knowledge base's pure rules: the checks of an article, the words searched for, the
words of the suggestions beside a chat, and excerpts."""

from __future__ import annotations

import pytest

from parley.domain.errors import InvalidInput
from parley.domain.knowledge import Visibility, article, excerpt, query_words, suggestion_words


def test_a_checked_article() -> None:
    a = article(1, " Refunds ", "# Refunds\r\n\r\nWithin 30 days.", " Billing ", Visibility.PUBLIC)
    assert (a.title, a.body, a.category, a.visibility) == (
        "Refunds",
        "# Refunds\n\nWithin 30 days.",
        "Billing",
        Visibility.PUBLIC,
    )


@pytest.mark.parametrize(
    ("title", "body", "category"),
    [
        ("", "x", ""),
        ("t" * 10_000, "x", ""),
        ("t" * 201, "x", ""),
        ("two\nlines", "x", ""),
        ("t", "", ""),
        ("t", "x" * 50_001, ""),
        ("t", "bell\x07", ""),
        ("t", "x", "c" * 41),
    ],
)
def test_bad_articles_are_refused(title: str, body: str, category: str) -> None:
    with pytest.raises(InvalidInput):
        article(1, title, body, category)


def test_query_words_drop_stopwords_fold_accents_and_repeat_nothing() -> None:
    assert query_words("How do I get a REFUND for my order? My order is late!") == [
        "refund",
        "order",
        "late",
    ]
    assert query_words("Wie kann ich meine Bestellung stornieren? Café") == [
        "bestellung",
        "stornieren",
        "cafe",
    ]
    assert query_words("") == []
    assert query_words("a b c") == []
    assert query_words('x" OR 1=1 -- NEAR(a b) *') == ["near"]  # quoted later anyway
    assert len(query_words(" ".join(f"word{i}" for i in range(100)))) == 16


def test_suggestions_read_the_latest_messages_first_then_the_question() -> None:
    words = suggestion_words("Where is my invoice?", ["hello", "also my password", "reset it"])
    assert words == ["reset", "password", "invoice"]
    # Only the last five messages.
    many = [f"topic{i}" for i in range(10)]
    assert suggestion_words("", many) == ["topic9", "topic8", "topic7", "topic6", "topic5"]


def test_excerpt_shows_the_text_around_the_first_word_found() -> None:
    short = "Refunds are paid within 30 days."
    assert excerpt(short, ["refund"]) == short
    text = (
        " ".join(["filler"] * 100)
        + " To reset your password open Settings. "
        + " ".join(["more"] * 100)
    )
    cut = excerpt(text, ["password"], 120)
    assert "password" in cut and cut.startswith("…") and cut.endswith("…")
    assert len(cut) <= 122
    assert excerpt(text, ["nowhere"], 50).startswith("filler")
