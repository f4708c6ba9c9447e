"""One-line fields: control characters refused as typed and once RFC 2047 words are decoded."""

from __future__ import annotations

import pytest

from parley.domain import text
from parley.domain.errors import InvalidInput
from parley.domain.messages import MessageForm, validate_form

EVE = "=?utf-8?q?Eve=0D=0ABcc:_x@evil.example?="


@pytest.mark.parametrize(
    "value",
    [
        "Eve\r\nBcc: x",
        "Eve\nBcc: x",
        "tab\there",
        "nul\x00",
        "del\x7f",
        "nel\x85",
        "line\u2028separator",
        "para\u2029separator",
        "esc\x1b[2J",
        "lone \ud800",
    ],
)
def test_control_characters_are_not_one_line(value: str) -> None:
    assert text.one_line_problem(value) == "may not contain line breaks or control characters"


@pytest.mark.parametrize(
    "value",
    [
        EVE,
        "=?utf-8?b?RXZlDQpCY2M6IHhAZXZpbC5leGFtcGxl?=",
        "Zoe =?iso-8859-1?q?=0A?= Smith",
        # An encoded word inside an encoded word: the second round decodes to CR LF.
        "=?utf-8?q?=3D=3Futf-8=3Fq=3FEve=3D0D=3D0ABcc:_x=3F=3D?=",
    ],
)
def test_encoded_control_characters_are_not_one_line(value: str) -> None:
    assert text.one_line_problem(value) == (
        "may not contain encoded line breaks or control characters (RFC 2047)"
    )


@pytest.mark.parametrize(
    "value", ["Zoe", "Zoë Ünal", "=?utf-8?q?Zo=C3=AB?=", "a =? b ?= c", "https://x.example/?a=1"]
)
def test_printable_text_is_one_line(value: str) -> None:
    assert text.one_line_problem(value) is None


def test_decoding_goes_on_until_nothing_changes() -> None:
    assert text.decode_words("=?utf-8?q?Zo=C3=AB?=") == "Zoë"
    assert text.decode_words("=?utf-8?q?=3D=3Futf-8=3Fq=3FZo=3DC3=3DAB=3F=3D?=") == "Zoë"
    assert text.decode_words("plain") == "plain"


def test_one_line_cleans_what_was_stored() -> None:
    assert text.one_line(EVE, 128) == "Eve Bcc: x@evil.example"
    assert text.one_line("a\r\n  b\u2028c", 128) == "a b c"
    assert text.one_line("x" * 300, 128) == "x" * 128


def test_multi_line_text_may_hold_line_breaks_and_tabs_only() -> None:
    assert text.multi_line_problem("one\ntwo\r\nthree\tfour") is None
    assert text.multi_line_problem("bell\x07") is not None
    assert text.multi_line_problem("sep\u2028") is not None


@pytest.mark.parametrize(
    ("form", "field"),
    [
        (MessageForm(EVE, "eve@example.com", "hi"), "name"),
        (MessageForm("Eve", "=?utf-8?q?x=0A?=@evil.example", "hi"), "email"),
        (MessageForm("Eve", "eve@example.com", "hi", "/x\nName: M"), "page"),
        (MessageForm("Eve", "eve@example.com", "hi\x1b"), "message"),
    ],
)
def test_the_message_form_names_the_field_it_refuses(form: MessageForm, field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        validate_form(form)
    assert refused.value.message.startswith(f"{field}: may not contain")


@pytest.mark.parametrize(
    "value", ["=?utf-8?q?eve=40evil.example?=@example.com", "=?utf-8?q?x?=@example.com"]
)
def test_an_email_address_holds_no_encoded_word(value: str) -> None:
    """A mail reader would show another address than the one typed."""
    assert text.one_line_problem(value) is None  # printable, one line...
    assert text.email_problem(value) == "may not contain an encoded word (RFC 2047)"


def test_a_plain_email_address_is_fine() -> None:
    assert text.email_problem("zoe+chat@example.com") is None
