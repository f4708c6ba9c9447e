from __future__ import annotations

import pytest

from parley.domain.errors import InvalidInput
from parley.domain.forms import FormField, check_answers, validate_fields


def test_valid_fields_pass() -> None:
    fields = (FormField("order_number", "Order number", True), FormField("lang", "Language"))
    assert validate_fields(fields) == fields


@pytest.mark.parametrize(
    "fields",
    [
        [FormField("Order", "x")],
        [FormField("email", "Email")],
        [FormField("a", "A"), FormField("a", "B")],
        [FormField("a", " ")],
        [FormField(f"f{i}", "F") for i in range(11)],
    ],
)
def test_invalid_fields_are_refused(fields: list[FormField]) -> None:
    with pytest.raises(InvalidInput):
        validate_fields(fields)


def test_required_answers() -> None:
    fields = [FormField("order_number", "Order number", True)]
    with pytest.raises(InvalidInput, match="Order number"):
        check_answers(fields, {"order_number": "  "})
    assert check_answers(fields, {"order_number": "7", "utm": "x"}) == {
        "order_number": "7",
        "utm": "x",
    }
    with pytest.raises(InvalidInput):
        check_answers([], {"note": "x" * 1025})
