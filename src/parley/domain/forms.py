"""The pre-chat form: the extra fields a workgroup asks for besides name, email and question.

Routing rules (issue 4) match on these answers, so their names are stable identifiers and their
labels are what the visitor reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parley.domain.errors import InvalidInput

MAX_FIELDS = 10
MAX_ANSWER_CHARS = 1024
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_RESERVED = frozenset({"name", "email", "question", "page"})


@dataclass(frozen=True, slots=True)
class FormField:
    name: str
    label: str
    required: bool = False


def validate_fields(fields: Iterable[FormField]) -> tuple[FormField, ...]:
    checked = tuple(fields)
    if len(checked) > MAX_FIELDS:
        raise InvalidInput(f"a form has at most {MAX_FIELDS} extra fields")
    seen: set[str] = set()
    for field in checked:
        if not _NAME.fullmatch(field.name) or field.name in _RESERVED:
            raise InvalidInput(
                f"field name {field.name!r}: 1-64 lowercase letters, digits or '_', starting "
                "with a letter, and not name, email, question or page"
            )
        if field.name in seen:
            raise InvalidInput(f"field name {field.name!r} is used twice")
        if not field.label.strip() or len(field.label) > 128:
            raise InvalidInput(f"field {field.name!r} needs a label of 1 to 128 characters")
        seen.add(field.name)
    return checked


def check_answers(fields: Iterable[FormField], answers: Mapping[str, str]) -> dict[str, str]:
    """The visitor's answers, with every required field filled in. Answers to fields the form
    does not ask for are kept too (a page may pass context, such as a product id)."""
    for field in fields:
        if field.required and not answers.get(field.name, "").strip():
            raise InvalidInput(f"please fill in {field.label!r}")
    for value in answers.values():
        if len(value) > MAX_ANSWER_CHARS:
            raise InvalidInput(f"an answer is limited to {MAX_ANSWER_CHARS} characters")
    return dict(answers)
