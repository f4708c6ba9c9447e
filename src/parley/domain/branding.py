"""A workgroup's branding of the chat widget: its colour, greeting, corner and logo. Pure rules.

- ``color``: ``#rrggbb`` (``#rgb`` is expanded; stored lower case) or None for Parley's own
  blue. The widget writes white text on it (its header, buttons, the visitor's own messages),
  and uses it for links on white, so the colour must reach WCAG 2's contrast ratio for normal
  text, 4.5:1, against white (``TEXT_ON_BRAND``): a lighter one is refused (``LowContrast``,
  with the ratio), never silently darkened.
- ``greeting``: the first line of the pre-chat form, plain text (the widget escapes it), at
  most ``MAX_GREETING_CHARS``; empty: the widget's own greeting in the visitor's language.
- ``position``: the corner of the page the launcher sits in, bottom right or bottom left.
- the logo is an uploaded image, re-encoded (``parley.photos.reencode_logo``); here only its
  version (``logo_etag``) is named.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from parley.domain.errors import InvalidInput, LowContrast
from parley.domain.text import has_control

#: The text colour the widget puts on the brand colour (and the background links sit on).
TEXT_ON_BRAND = "#ffffff"
#: WCAG 2.x, success criterion 1.4.3 (AA), normal text.
MIN_CONTRAST = 4.5
MAX_GREETING_CHARS = 300
#: Parley's own colour, used when a workgroup sets none (6.5:1 against white).
DEFAULT_COLOR = "#2251d1"

_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


class Position(StrEnum):
    RIGHT = "right"
    LEFT = "left"


@dataclass(frozen=True, slots=True)
class Branding:
    color: str | None = None
    greeting: str = ""
    position: Position = Position.RIGHT
    #: The logo's version (a hash of the re-encoded image), None without a logo.
    logo_etag: str | None = None


def normalise_color(value: str) -> str:
    """``#rrggbb`` in lower case, from ``#rgb`` or ``#rrggbb``; anything else is refused (the
    value ends up in a style: no names, no ``rgb()``, no ``url()``)."""
    text = value.strip()
    if not _HEX.fullmatch(text):
        raise InvalidInput(f"color {value[:20]!r}: write it as #rrggbb, e.g. #1f6b45")
    if len(text) == 4:
        text = "#" + "".join(c * 2 for c in text[1:])
    return text.lower()


def _channel(c: int) -> float:
    s = c / 255
    return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4


def luminance(color: str) -> float:
    """WCAG 2's relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2's contrast ratio of two ``#rrggbb`` colours, 1 to 21."""
    la, lb = luminance(a), luminance(b)
    light, dark = max(la, lb), min(la, lb)
    return (light + 0.05) / (dark + 0.05)


def check_color(value: str | None) -> str | None:
    """The colour as stored, or ``LowContrast`` when white text on it is hard to read."""
    if value is None or not value.strip():
        return None
    color = normalise_color(value)
    ratio = contrast_ratio(color, TEXT_ON_BRAND)
    if ratio < MIN_CONTRAST:
        shown = int(ratio * 100) / 100  # rounded down: never claims more than there is
        raise LowContrast(
            f"white text on {color} has a contrast ratio of {shown:.2f}:1; the widget needs "
            f"at least {MIN_CONTRAST}:1 (WCAG AA): choose a darker colour",
            ratio=shown,
            minimum=MIN_CONTRAST,
            against=TEXT_ON_BRAND,
        )
    return color


def check_greeting(value: str) -> str:
    text = value.strip()
    if len(text) > MAX_GREETING_CHARS:
        raise InvalidInput(f"the greeting is limited to {MAX_GREETING_CHARS} characters")
    if has_control(text, multiline=True):
        raise InvalidInput("the greeting may hold line breaks but no other control characters")
    return text


def branding(
    color: str | None, greeting: str, position: Position, logo_etag: str | None = None
) -> Branding:
    """Check a workgroup's branding as an admin saves it."""
    return Branding(check_color(color), check_greeting(greeting), Position(position), logo_etag)
