"""Hidden fields: context the company's page passes with a chat request (a plan, an order
number), through the launcher's script tag (``data-field-plan="pro"``) or
``Parley.setFields({...})``. Pure rules and limits.

They are what the page said, not what anyone verified: a visitor can change them in the
browser. Whatever must be trusted goes in the signed identity token instead
(``domain.identity``). The agent sees them labelled, apart from the pre-chat form's answers,
and routing rules match them as ``fields.<key>``.

Limits: at most ``MAX_FIELDS`` fields; keys of 1 to ``MAX_KEY_CHARS`` lowercase letters,
digits or ``_``, starting with a letter; values of at most ``MAX_VALUE_CHARS`` characters on
one line (no control characters, also not RFC 2047 encoded ones). A field that breaks one is
refused with ``InvalidHiddenField`` naming it; nothing is dropped quietly.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from parley.domain.errors import InvalidHiddenField
from parley.domain.text import one_line_problem

MAX_FIELDS = 20
MAX_KEY_CHARS = 32
MAX_VALUE_CHARS = 256
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
assert KEY_PATTERN.pattern.endswith(f"{{0,{MAX_KEY_CHARS - 1}}}$")


def check_hidden_fields(fields: Mapping[str, str]) -> dict[str, str]:
    """The fields as stored (values stripped of surrounding spaces), or the first one broken."""
    if len(fields) > MAX_FIELDS:
        raise InvalidHiddenField(
            f"at most {MAX_FIELDS} hidden fields are accepted ({len(fields)} were sent)",
            field="",
        )
    checked: dict[str, str] = {}
    for key, value in fields.items():
        shown = key[:40]
        if not KEY_PATTERN.fullmatch(key):
            raise InvalidHiddenField(
                f"hidden field {shown!r}: a key is 1 to {MAX_KEY_CHARS} lowercase letters, "
                "digits or '_', starting with a letter",
                field=shown,
            )
        if not isinstance(value, str):
            raise InvalidHiddenField(f"hidden field {key!r}: the value must be text", field=key)
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidHiddenField(
                f"hidden field {key!r}: a value is at most {MAX_VALUE_CHARS} characters",
                field=key,
            )
        problem = one_line_problem(value)
        if problem is not None:
            raise InvalidHiddenField(f"hidden field {key!r}: the value {problem}", field=key)
        checked[key] = value.strip()
    return checked
