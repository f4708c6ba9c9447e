"""The widget's branding rules (colour contrast, greeting) and the hidden fields' limits."""

from __future__ import annotations

import pytest

from parley.domain import branding
from parley.domain.errors import InvalidHiddenField, InvalidInput, LowContrast
from parley.domain.hidden_fields import MAX_FIELDS, check_hidden_fields


def test_contrast_ratio_follows_wcag() -> None:
    assert branding.contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert branding.contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    # WCAG's own examples: #767676 is the lightest grey that passes on white, #777777 fails.
    assert branding.contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert branding.contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    # Symmetric: links in the brand colour on white read like white on the brand colour.
    assert branding.contrast_ratio("#ffffff", "#2251d1") == branding.contrast_ratio(
        "#2251d1", "#ffffff"
    )
    # Parley's own default passes.
    assert branding.check_color(branding.DEFAULT_COLOR) == branding.DEFAULT_COLOR


def test_colours_are_normalised_or_refused() -> None:
    assert branding.check_color(" #1F6B45 ") == "#1f6b45"
    assert branding.check_color("#036") == "#003366"
    assert branding.check_color(None) is None and branding.check_color(" ") is None
    for bad in ("navy", "#12", "#abcd", "#1234567", "0x123456", "#12345g", "rgb(1,2,3)"):
        with pytest.raises(InvalidInput) as refused:
            branding.check_color(bad)
        assert not isinstance(refused.value, LowContrast)
    with pytest.raises(LowContrast) as low:
        branding.check_color("#ffb020")
    assert low.value.ratio == 1.82 and low.value.minimum == 4.5
    assert low.value.against == branding.TEXT_ON_BRAND == "#ffffff"


def test_greeting_is_plain_text_with_a_limit() -> None:
    assert branding.check_greeting("  Hi!\nHow can we help?  ") == "Hi!\nHow can we help?"
    assert branding.check_greeting("x" * branding.MAX_GREETING_CHARS)
    with pytest.raises(InvalidInput):
        branding.check_greeting("x" * (branding.MAX_GREETING_CHARS + 1))
    with pytest.raises(InvalidInput):
        branding.check_greeting("bell\x07")
    assert branding.branding(None, "", branding.Position.LEFT).position is branding.Position.LEFT


def test_hidden_fields_limits() -> None:
    assert check_hidden_fields({"plan": " pro ", "order_no": "A-17"}) == {
        "plan": "pro",
        "order_no": "A-17",
    }
    assert check_hidden_fields({}) == {}
    ok = {f"f{i}": "v" * 256 for i in range(MAX_FIELDS)}
    assert check_hidden_fields(ok) == ok
    bad: list[tuple[dict[str, str], str]] = [
        ({f"f{i}": "v" for i in range(MAX_FIELDS + 1)}, ""),
        ({"": "x"}, ""),
        ({"Plan": "x"}, "Plan"),
        ({"_plan": "x"}, "_plan"),
        ({"a" * 33: "x"}, "a" * 33),
        ({"plan": "v" * 257}, "plan"),
        ({"plan": "a\tb"}, "plan"),
        ({"plan": "a\u2028b"}, "plan"),
    ]
    for fields, field in bad:
        with pytest.raises(InvalidHiddenField) as refused:
            check_hidden_fields(fields)
        assert refused.value.field == field[:40]
