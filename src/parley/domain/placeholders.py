"""Placeholders in canned responses and message templates: ``{customer.name|there}``.

The syntax, checked when a text is saved (``check``) and applied when an agent picks it
(``render``):

- ``{name}`` is replaced by the value of ``name`` in the chat at hand;
- ``{name|fallback}`` by the fallback when the chat has no value for it (the fallback is plain
  text of up to ``MAX_FALLBACK_CHARS``, without ``{``, ``}``, ``|`` or a line break);
- ``{{`` and ``}}`` are a literal ``{`` and ``}``.

The names (``NAMES``): ``customer.name`` (the verified name, else the name typed in the pre-chat
form), ``customer.first_name`` (its first word), ``customer.email`` (verified, else typed),
``customer.id`` (the verified customer id), ``customer.question``, ``customer.page``,
``agent.name``, ``agent.first_name``, ``workgroup.name``, and ``field.<name>`` for an extra field
of the pre-chat form (a name the workgroup's form has: ``check`` is given them). Anything else,
a ``{`` that opens no placeholder or a stray ``}`` is refused at save time with an
``InvalidInput`` that names it, so a broken placeholder never reaches a customer.

A value missing without a fallback renders as nothing, and ``Rendered.missing`` names it: the
console shows the text for editing before anything is sent, never sends it blind.

Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from parley.domain.conversation import Conversation
from parley.domain.errors import InvalidInput

MAX_FALLBACK_CHARS = 60
MAX_PLACEHOLDERS = 20

#: Every name but the pre-chat form's fields (``field.<name>``).
NAMES = frozenset(
    {
        "customer.name",
        "customer.first_name",
        "customer.email",
        "customer.id",
        "customer.question",
        "customer.page",
        "agent.name",
        "agent.first_name",
        "workgroup.name",
    }
)
FIELD_PREFIX = "field."

_NAME = re.compile(r"[a-z][a-z_]*\.[A-Za-z0-9_.-]{1,64}")


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    fallback: str | None


#: A parsed text: literal strings and placeholders, in order.
Part = str | Placeholder


def parse(text: str) -> list[Part]:
    """The parts of ``text``; ``InvalidInput`` when a brace is not a placeholder or an escape."""
    parts: list[Part] = []
    literal: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "{" and text.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and text.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            raise InvalidInput(
                f"a '}}' at character {i + 1} closes no placeholder (write '}}}}' for a brace)"
            )
        elif ch == "{":
            end = text.find("}", i + 1)
            inner = text[i + 1 : end] if end >= 0 else ""
            if end < 0 or "{" in inner or "\n" in inner:
                raise InvalidInput(
                    f"a '{{' at character {i + 1} opens no placeholder: write {{customer.name}},"
                    " {customer.name|fallback}, or '{{' for a brace"
                )
            name, bar, fallback = inner.partition("|")
            name = name.strip()
            if not _NAME.fullmatch(name):
                raise InvalidInput(f"{{{inner}}} is not a placeholder (like {{customer.name}})")
            if bar and ("|" in fallback or len(fallback) > MAX_FALLBACK_CHARS):
                raise InvalidInput(
                    f"the fallback of {{{name}}} is up to {MAX_FALLBACK_CHARS} characters,"
                    " without '|'"
                )
            if literal:
                parts.append("".join(literal))
                literal = []
            parts.append(Placeholder(name, fallback if bar else None))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def check(text: str, fields: Collection[str] = ()) -> list[Placeholder]:
    """The placeholders of ``text``, every one known (``NAMES``, or ``field.<name>`` for a name
    in ``fields``); ``InvalidInput`` naming the first that is not."""
    found = [p for p in parse(text) if isinstance(p, Placeholder)]
    if len(found) > MAX_PLACEHOLDERS:
        raise InvalidInput(f"a text holds at most {MAX_PLACEHOLDERS} placeholders")
    for p in found:
        if p.name in NAMES:
            continue
        if p.name.startswith(FIELD_PREFIX):
            field = p.name[len(FIELD_PREFIX) :]
            if field in fields:
                continue
            known = ", ".join(sorted(fields)) or "none"
            raise InvalidInput(
                f"unknown placeholder {{{p.name}}}: the pre-chat form has no field {field!r}"
                f" (its fields: {known})"
            )
        raise InvalidInput(
            f"unknown placeholder {{{p.name}}}; known: "
            + ", ".join("{" + n + "}" for n in sorted(NAMES))
            + ", {field.<name>}"
        )
    return found


@dataclass(frozen=True, slots=True)
class Rendered:
    text: str
    #: The placeholders that had no value and no fallback (rendered as nothing).
    missing: tuple[str, ...] = ()


def render(text: str, values: Mapping[str, str], *, lenient: bool = False) -> Rendered:
    """``text`` with its placeholders replaced from ``values`` (a blank value is missing).
    ``lenient``: a text that does not parse (a message template saved before placeholders
    existed) is returned as it is, instead of raising."""
    try:
        parts = parse(text)
    except InvalidInput:
        if lenient:
            return Rendered(text)
        raise
    out: list[str] = []
    missing: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            continue
        value = values.get(part.name, "").strip()
        if value:
            out.append(value)
        elif part.fallback is not None:
            out.append(part.fallback)
        elif part.name not in missing:
            missing.append(part.name)
    return Rendered("".join(out), tuple(missing))


def _first(name: str) -> str:
    words = name.split()
    return words[0] if words else ""


def values_for(conv: Conversation, agent_name: str, workgroup_name: str) -> dict[str, str]:
    """The values of a customer chat: what the company's site verified first, then what the
    visitor typed into the pre-chat form."""
    meta = conv.metadata or {}

    def typed(key: str) -> str:
        value = meta.get(key)
        return value.strip() if isinstance(value, str) else ""

    customer = conv.customer
    name = (customer.name if customer is not None else "") or typed("name")
    email = (customer.email if customer is not None else "") or typed("email")
    values = {
        "customer.name": name,
        "customer.first_name": _first(name),
        "customer.email": email,
        "customer.id": customer.sub if customer is not None else "",
        "customer.question": typed("question"),
        "customer.page": typed("page"),
        "agent.name": agent_name.strip(),
        "agent.first_name": _first(agent_name),
        "workgroup.name": workgroup_name.strip(),
    }
    extra = meta.get("extra")
    if isinstance(extra, dict):
        for key, value in extra.items():
            if isinstance(key, str) and isinstance(value, str):
                values[FIELD_PREFIX + key] = value
    return values
