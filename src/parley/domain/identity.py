"""Who the customer is, and which conversations are the same customer's.

What a visitor types into the pre-chat form (a name, an email) is never an identity. A customer
is known only through:

- a **verified identity**: the company's backend signs a token (a JWT, HS256, with a ``kid``
  naming one of the workgroup's keys) carrying ``sub`` (the customer's id in the company's
  system), ``email`` and ``name``; the services check its signature, this module its claims;
- the **same browser**: a long-lived anonymous visitor id that the server issued, signed, and
  the widget keeps.

``customer_link`` is the only thing that ties two conversations together as one customer's: the
verified ``sub`` when there is one, else the visitor id. A verified chat and an anonymous one of
the same browser are not linked (a shared computer must not show one person's history as
another's).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from parley.domain.errors import IdentityRequired, InvalidIdentity

#: Clock skew allowed between the company's backend and Parley when checking ``exp``/``nbf``.
LEEWAY = timedelta(seconds=30)
MAX_TOKEN_CHARS = 4096
MAX_SUB_CHARS = 255
MAX_EMAIL_CHARS = 254
MAX_NAME_CHARS = 128
MAX_KID_CHARS = 64


class Mode(StrEnum):
    """A workgroup's ``identity`` setting."""

    #: Anonymous chats are accepted; they link to history only through the same browser.
    OPTIONAL = "optional"
    #: A chat needs a valid identity token; without one it is refused (``identity_required``).
    REQUIRED = "required"


@dataclass(frozen=True, slots=True)
class Customer:
    """A verified customer: what the company's backend signed."""

    sub: str
    email: str = ""
    name: str = ""


@dataclass(frozen=True, slots=True)
class Link:
    """What makes two conversations one customer's: ``kind`` ``sub`` (verified) or ``visitor``
    (the same browser), and its value."""

    kind: str
    value: str


def customer_link(customer: Customer | None, visitor_id: str | None) -> Link | None:
    if customer is not None:
        return Link("sub", customer.sub)
    if visitor_id:
        return Link("visitor", visitor_id)
    return None


def _text(claims: Mapping[str, Any], name: str, limit: int, *, required: bool = False) -> str:
    value = claims.get(name)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise InvalidIdentity(f"the identity token's {name!r} claim must be a non-empty string")
    if len(value) > limit or not value.isprintable():
        raise InvalidIdentity(
            f"the identity token's {name!r} claim must be at most {limit} printable characters"
        )
    return value.strip()


def _instant(claims: Mapping[str, Any], name: str) -> datetime | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidIdentity(f"the identity token's {name!r} claim must be a number (seconds)")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidIdentity(f"the identity token's {name!r} claim is out of range") from None


def customer_from_claims(
    claims: Mapping[str, Any], now: datetime, leeway: timedelta = LEEWAY
) -> Customer:
    """The customer named by a token whose signature was checked: ``sub`` and ``exp`` are
    required, ``email`` and ``name`` optional; expired (or not yet valid) tokens are refused."""
    expires = _instant(claims, "exp")
    if expires is None:
        raise InvalidIdentity("the identity token has no 'exp' claim")
    if now > expires + leeway:
        raise InvalidIdentity("the identity token has expired")
    not_before = _instant(claims, "nbf")
    if not_before is not None and now < not_before - leeway:
        raise InvalidIdentity("the identity token is not valid yet")
    issued = _instant(claims, "iat")
    if issued is not None and now < issued - leeway:
        raise InvalidIdentity("the identity token was issued in the future")
    return Customer(
        sub=_text(claims, "sub", MAX_SUB_CHARS, required=True),
        email=_text(claims, "email", MAX_EMAIL_CHARS),
        name=_text(claims, "name", MAX_NAME_CHARS),
    )


def require_identity(mode: Mode, customer: Customer | None) -> None:
    """A workgroup that requires identity refuses a chat without a verified customer."""
    if mode is Mode.REQUIRED and customer is None:
        raise IdentityRequired(
            "this chat needs you to be signed in: the page must pass a signed identity token"
        )
