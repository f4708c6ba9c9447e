"""What a visitor typed, checked before it reaches a mail header or a one-line field.

A one-line field (a name, an email address, a page address, an answer of the pre-chat form)
holds no control characters and no line or paragraph separators, neither as typed nor once
RFC 2047 encoded words in it are decoded: ``=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?=`` reads as
printable text, but a mail header decodes it to a line break followed by a forged header. The
decoding is the standard library's mail header parser (``email.headerregistry``), the one that
writes the mails, applied until nothing changes, so an encoded word inside an encoded word is
caught too. Multi-line text (a question, a message) may hold tabs and line breaks, nothing else
of the kind.

Pure: no I/O.
"""

from __future__ import annotations

import unicodedata
from email import policy

#: Rounds of RFC 2047 decoding before a value that still changes is given up on.
MAX_DECODE_ROUNDS = 4
_MULTI_LINE_ALLOWED = frozenset("\t\n\r")


def _is_control(ch: str, *, multiline: bool) -> bool:
    if multiline and ch in _MULTI_LINE_ALLOWED:
        return False
    return unicodedata.category(ch) in {"Cc", "Cs", "Zl", "Zp"}


def has_control(text: str, *, multiline: bool = False) -> bool:
    """Control characters (C0, DEL, C1), line or paragraph separators (or lone surrogates) in
    ``text``; tabs and line breaks are allowed in ``multiline`` text."""
    return any(_is_control(ch, multiline=multiline) for ch in text)


def _decoded(text: str) -> str | None:
    """One round of RFC 2047 decoding, by the mail header parser; None when it cannot."""
    try:
        return str(policy.default.header_factory("subject", text))
    except Exception:  # whatever the parser raises on an encoded word it cannot read
        return None


def decode_words(text: str) -> str:
    """``text`` as a mail header shows it: RFC 2047 encoded words decoded, again until nothing
    changes (at most ``MAX_DECODE_ROUNDS`` times); as it is when it cannot be decoded."""
    for _ in range(MAX_DECODE_ROUNDS):
        decoded = _decoded(text) if "=?" in text else text
        if decoded is None or decoded == text:
            return text
        text = decoded
    return text


def one_line_problem(text: str) -> str | None:
    """Why ``text`` is not one line of printable text, as typed or as a mail header decodes
    it; None when it is."""
    if has_control(text):
        return "may not contain line breaks or control characters"
    rounds = text
    for _ in range(MAX_DECODE_ROUNDS):
        if "=?" not in rounds:
            return None
        decoded = _decoded(rounds)
        if decoded is None:
            return "may not contain an encoded word that cannot be decoded (RFC 2047)"
        if has_control(decoded):
            return "may not contain encoded line breaks or control characters (RFC 2047)"
        if decoded == rounds:
            return None
        rounds = decoded
    return "may not contain encoded words inside encoded words (RFC 2047)"


def multi_line_problem(text: str) -> str | None:
    """Why multi-line ``text`` (a question, a message) is refused; None when it is fine."""
    if has_control(text, multiline=True):
        return "may not contain control characters other than tabs and line breaks"
    return None


def one_line(text: str, limit: int) -> str:
    """Printable text on one line, for a mail header or a one-line field of a mail body,
    whatever was stored: encoded words decoded, control characters and line breaks as spaces,
    runs of spaces as one, at most ``limit`` characters."""
    text = decode_words(text)
    cleaned = "".join(" " if _is_control(ch, multiline=False) else ch for ch in text)
    return " ".join(cleaned.split())[:limit]


def email_problem(text: str) -> str | None:
    """Why ``text`` cannot be a visitor's email address in a mail: as ``one_line_problem``, and
    no RFC 2047 encoded word at all (a mail reader would show ``=?utf-8?q?eve=40evil?=@x`` as
    another address than the one typed); None when it is fine."""
    problem = one_line_problem(text)
    if problem is None and decode_words(text) != text:
        return "may not contain an encoded word (RFC 2047)"
    return problem
