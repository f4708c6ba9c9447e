"""Message templates: the company's greetings and sign-offs that agents pick from in customer
chats. Pure rules and limits.

A template has a ``title`` (one line, 1 to ``MAX_TITLE_CHARS``), a ``text`` (1 to
``MAX_TEXT_CHARS``, line breaks allowed, no other control characters), a ``kind`` (greeting,
sign-off, other) and a ``tone`` (professional or personal). Admins keep at most
``MAX_TEMPLATES``. Picking one puts its text in the agent's composer: it is sent like anything
the agent writes (idempotent, under the blocked words of ``staff_to_customer``); the service
also refuses to save a template those blocked words would refuse. Its text may hold the
placeholders of canned responses (``domain.placeholders``) but the pre-chat form's fields
(templates are company-wide; forms are per workgroup); they are filled in when inserted.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from parley.domain import placeholders
from parley.domain.errors import InvalidInput

MAX_TEMPLATES = 200
MAX_TITLE_CHARS = 80
MAX_TEXT_CHARS = 1000


class TemplateKind(StrEnum):
    GREETING = "greeting"
    SIGN_OFF = "sign_off"
    OTHER = "other"


class Tone(StrEnum):
    PROFESSIONAL = "professional"
    PERSONAL = "personal"


@dataclass(frozen=True, slots=True)
class Template:
    title: str
    text: str
    kind: TemplateKind
    tone: Tone
    id: int = 0


def template(title: str, text: str, kind: TemplateKind, tone: Tone, id: int = 0) -> Template:
    """A checked template: ``InvalidInput`` naming what is wrong."""
    title = title.strip()
    if not title or len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"a template title is 1 to {MAX_TITLE_CHARS} characters")
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in title):
        raise InvalidInput("a template title is one line, without control characters")
    text = text.strip()
    if not text or len(text) > MAX_TEXT_CHARS:
        raise InvalidInput(f"a template text is 1 to {MAX_TEXT_CHARS} characters")
    if any(unicodedata.category(c) == "Cc" and c not in "\n\t" for c in text):
        raise InvalidInput("a template text has no control characters but line breaks and tabs")
    placeholders.check(text)
    return Template(title, text, kind, tone, id)
