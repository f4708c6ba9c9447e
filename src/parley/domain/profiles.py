"""Customer profiles: one record per customer, and the staff-only notes kept about them. Pure
rules and limits.

A profile is keyed by what ties a customer's conversations together (``domain.identity.Link``):
the verified ``sub`` of a signed identity token, else the anonymous visitor id of the same
browser. What a visitor types (an email, a name) is never a key: two chats that typed the same
address are two customers until the company's site signs who they are, and staff editing a
profile's email never merges it with another.

What staff write (name, email, company, tags) is theirs; what the company's site sent (hidden
fields, the identity token's claims) is read from the customer's newest conversation and shown
beside it, never overwritten. Notes are for staff only: no visitor path reads them.

Limits: ``MAX_NAME_CHARS``, ``MAX_EMAIL_CHARS``, ``MAX_COMPANY_CHARS`` on one line each;
at most ``MAX_TAGS`` tags of 1 to ``MAX_TAG_CHARS`` characters (one line, no comma), compared
without case; notes of 1 to ``MAX_NOTE_CHARS`` characters, at most ``MAX_NOTES`` a profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from parley.domain.errors import Conflict, InvalidInput, TooLong
from parley.domain.identity import Link
from parley.domain.text import email_problem, multi_line_problem, one_line_problem

MAX_NAME_CHARS = 200
MAX_EMAIL_CHARS = 254
MAX_COMPANY_CHARS = 200
MAX_TAGS = 20
MAX_TAG_CHARS = 32
MAX_NOTE_CHARS = 2000
MAX_NOTES = 200


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    text: str
    created_at: datetime
    author_id: int | None
    author_name: str


@dataclass(frozen=True, slots=True)
class Profile:
    """What staff keep about one customer. ``id`` 0: not stored yet (nobody edited it)."""

    link: Link
    name: str = ""
    email: str = ""
    company: str = ""
    tags: tuple[str, ...] = ()
    updated_at: datetime | None = None
    updated_by: int | None = None
    id: int = 0
    notes: tuple[Note, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Changes:
    """A profile edit: None leaves a field as it is."""

    name: str | None = None
    email: str | None = None
    company: str | None = None
    tags: list[str] | None = None


def _line(what: str, value: str, limit: int) -> str:
    value = value.strip()
    if len(value) > limit:
        raise TooLong(f"{what} is limited to {limit} characters")
    problem = one_line_problem(value)
    if problem is not None:
        raise InvalidInput(f"{what} {problem}")
    return value


def check_email(value: str) -> str:
    value = _line("email", value, MAX_EMAIL_CHARS)
    problem = email_problem(value)
    if problem is not None:
        raise InvalidInput(f"email {problem}")
    if value and ("@" not in value or value.startswith("@") or value.endswith("@")):
        raise InvalidInput("email must look like name@example.com")
    return value


def check_tags(tags: list[str]) -> tuple[str, ...]:
    """The tags as stored: stripped, duplicates (without case) dropped, in the order given."""
    seen: set[str] = set()
    kept: list[str] = []
    for raw in tags:
        tag = _line("a tag", raw, MAX_TAG_CHARS)
        if not tag:
            raise InvalidInput("a tag needs some text")
        if "," in tag:
            raise InvalidInput("a tag may not contain a comma")
        if tag.casefold() in seen:
            continue
        seen.add(tag.casefold())
        kept.append(tag)
    if len(kept) > MAX_TAGS:
        raise TooLong(f"a customer has at most {MAX_TAGS} tags")
    return tuple(kept)


def edit(profile: Profile, changes: Changes, by: int, now: datetime) -> Profile:
    """``profile`` with ``changes`` applied (each checked first: a bad one changes nothing)."""
    name = profile.name if changes.name is None else _line("name", changes.name, MAX_NAME_CHARS)
    email = profile.email if changes.email is None else check_email(changes.email)
    company = (
        profile.company
        if changes.company is None
        else _line("company", changes.company, MAX_COMPANY_CHARS)
    )
    tags = profile.tags if changes.tags is None else check_tags(changes.tags)
    return Profile(
        link=profile.link,
        name=name,
        email=email,
        company=company,
        tags=tags,
        updated_at=now,
        updated_by=by,
        id=profile.id,
        notes=profile.notes,
    )


def check_note(text: str, count: int) -> str:
    """A new note's text, given how many the profile has already."""
    text = text.strip()
    if not text:
        raise InvalidInput("a note needs some text")
    if len(text) > MAX_NOTE_CHARS:
        raise TooLong(f"a note is limited to {MAX_NOTE_CHARS} characters")
    problem = multi_line_problem(text)
    if problem is not None:
        raise InvalidInput(f"a note {problem}")
    if count >= MAX_NOTES:
        raise Conflict(f"a customer has at most {MAX_NOTES} notes: delete an old one first")
    return text
