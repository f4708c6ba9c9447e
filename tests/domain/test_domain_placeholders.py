"""Placeholders in canned responses and templates: the syntax checked at save time, the values
of a chat, the fallbacks, and what is reported missing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from parley.domain.conversation import Conversation, Kind, Status
from parley.domain.errors import InvalidInput
from parley.domain.identity import Customer
from parley.domain.placeholders import Placeholder, Rendered, check, parse, render, values_for

NOW = datetime(2026, 12, 4, 9, tzinfo=UTC)


def chat(metadata: dict[str, object], customer: Customer | None = None) -> Conversation:
    return Conversation(
        "c1", Kind.CUSTOMER_CHAT, Status.ACTIVE, NOW, 1, metadata=metadata, customer=customer
    )


def test_parse_splits_literals_placeholders_and_escapes() -> None:
    assert parse("Hi {customer.name|there}, {{literally}} {agent.name}!") == [
        "Hi ",
        Placeholder("customer.name", "there"),
        ", {literally} ",
        Placeholder("agent.name", None),
        "!",
    ]
    assert parse("") == []
    assert parse("{customer.name|}") == [Placeholder("customer.name", "")]


@pytest.mark.parametrize(
    "text",
    [
        "Hi {customer.name",  # never closed
        "Hi customer.name}",  # stray closing brace
        "Hi {}",
        "Hi {name}",  # no dot: not a placeholder
        "Hi {customer.name|a|b}",
        "Hi {customer.name|" + "x" * 61 + "}",
        "Hi {customer\n.name}",
        "{ {customer.name} }",
    ],
)
def test_malformed_placeholders_are_refused(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse(text)


def test_check_knows_the_names_and_the_workgroups_fields() -> None:
    assert [
        p.name for p in check("{customer.first_name} {workgroup.name} {field.order}", {"order"})
    ] == [
        "customer.first_name",
        "workgroup.name",
        "field.order",
    ]
    with pytest.raises(InvalidInput, match=r"unknown placeholder \{customer.nmae\}"):
        check("Hi {customer.nmae}")
    with pytest.raises(InvalidInput, match="no field 'plan'"):
        check("{field.plan}", {"order"})
    with pytest.raises(InvalidInput, match="at most 20"):
        check("{agent.name}" * 21)


def test_render_fills_in_uses_fallbacks_and_reports_what_is_missing() -> None:
    values = {"customer.name": "Dana Scully", "agent.name": "  ", "workgroup.name": "Sales"}
    assert render("Hi {customer.name|there}, {agent.name|we} at {workgroup.name}", values) == (
        Rendered("Hi Dana Scully, we at Sales")
    )
    assert render("Order {field.order}: {customer.email}.", values) == Rendered(
        "Order : .", ("field.order", "customer.email")
    )
    assert render("{{ok}}", {}) == Rendered("{ok}")


def test_render_of_an_old_template_that_does_not_parse_is_lenient_only_if_asked() -> None:
    assert render("Price: {5 EUR", {}, lenient=True) == Rendered("Price: {5 EUR")
    with pytest.raises(InvalidInput):
        render("Price: {5 EUR", {})


def test_values_prefer_the_verified_identity_over_what_was_typed() -> None:
    typed = chat(
        {
            "name": "dana",
            "email": "typed@example.com",
            "question": "Refund?",
            "extra": {"order": "A-1"},
        }
    )
    v = values_for(typed, "Alice Smith", "Sales")
    assert v["customer.name"] == "dana"
    assert v["customer.first_name"] == "dana"
    assert v["customer.email"] == "typed@example.com"
    assert v["customer.id"] == ""
    assert v["customer.question"] == "Refund?"
    assert v["agent.first_name"] == "Alice"
    assert v["workgroup.name"] == "Sales"
    assert v["field.order"] == "A-1"
    verified = chat({"name": "dana"}, Customer("u-42", "dana@corp.example", "Dana Scully"))
    v = values_for(verified, "Alice", "Sales")
    assert (v["customer.name"], v["customer.email"], v["customer.id"]) == (
        "Dana Scully",
        "dana@corp.example",
        "u-42",
    )
    # Nothing known at all: blank values, so the fallbacks apply.
    assert render("Hi {customer.first_name|there}", values_for(chat({}), "", "")).text == "Hi there"


def test_templates_use_the_same_placeholders_but_no_form_fields() -> None:
    from parley.domain.templates import TemplateKind, Tone, template

    t = template("Hi", "Hello {customer.first_name|there}", TemplateKind.GREETING, Tone.PERSONAL)
    assert t.text == "Hello {customer.first_name|there}"
    for text in ("Hello {customer.nmae}", "Order {field.order}", "Price: {5"):
        with pytest.raises(InvalidInput):
            template("Hi", text, TemplateKind.GREETING, Tone.PERSONAL)
