"""The claims of a verified identity token, and what links one customer's conversations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from parley.domain.errors import IdentityRequired, InvalidIdentity
from parley.domain.identity import (
    LEEWAY,
    Customer,
    Link,
    Mode,
    customer_from_claims,
    customer_link,
    require_identity,
)

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def claims(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": "cust-1",
        "email": "zoe@example.com",
        "name": "Zoe",
        "exp": int((NOW + timedelta(minutes=5)).timestamp()),
    }
    return {k: v for k, v in {**base, **overrides}.items() if v is not None}


def test_a_valid_token_names_its_customer() -> None:
    assert customer_from_claims(claims(), NOW) == Customer("cust-1", "zoe@example.com", "Zoe")
    # email and name are optional.
    assert customer_from_claims(claims(email=None, name=None), NOW) == Customer("cust-1")


def test_expiry_is_required_and_checked_with_a_small_leeway() -> None:
    with pytest.raises(InvalidIdentity, match="no 'exp'"):
        customer_from_claims(claims(exp=None), NOW)
    exp = int(NOW.timestamp())
    customer_from_claims(claims(exp=exp), NOW + LEEWAY)
    with pytest.raises(InvalidIdentity, match="expired"):
        customer_from_claims(claims(exp=exp), NOW + LEEWAY + timedelta(seconds=1))


@pytest.mark.parametrize(
    "bad",
    [
        {"sub": None},
        {"sub": ""},
        {"sub": "   "},
        {"sub": 42},
        {"sub": "x" * 256},
        {"sub": "a\nb"},
        {"email": ["x"]},
        {"name": "n" * 129},
        {"exp": "tomorrow"},
        {"exp": True},
        {"exp": 10**20},
        {"nbf": int((NOW + timedelta(minutes=2)).timestamp())},
        {"iat": int((NOW + timedelta(minutes=2)).timestamp())},
    ],
)
def test_bad_claims_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidIdentity):
        customer_from_claims(
            {**claims(), **bad} if None not in bad.values() else claims(**bad), NOW
        )


def test_links_are_the_verified_sub_else_the_browser() -> None:
    zoe = Customer("cust-1", "zoe@example.com")
    assert customer_link(zoe, "b1") == Link("sub", "cust-1")
    assert customer_link(None, "b1") == Link("visitor", "b1")
    assert customer_link(None, None) is None


def test_required_identity() -> None:
    require_identity(Mode.OPTIONAL, None)
    require_identity(Mode.REQUIRED, Customer("c"))
    with pytest.raises(IdentityRequired):
        require_identity(Mode.REQUIRED, None)
