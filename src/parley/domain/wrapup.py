"""After the fact (issue 11): the customer's rating of an ended chat, its outcome recorded at
wrap-up, and the tags an admin keeps and agents put on chats. Pure: no I/O; permissions are in
``parley.domain.access``.

A rating is 1 to 5 with an optional comment, one per chat (the first stands), by the chat's
own visitor once it ended (their token works ``visitor_token_hours`` after the end, so that is
the window), and it goes to the last staff member who wrote a public message in the chat.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from parley.domain.errors import InvalidInput, TooLong

MIN_SCORE = 1
MAX_SCORE = 5
#: A rating's comment, at most.
MAX_COMMENT_CHARS = 1000
#: A tag's name, at most (``tags.name``).
MAX_TAG_CHARS = 64
#: How many tags the admin keeps at most.
MAX_TAGS = 500
#: How many tags one chat carries at most.
MAX_TAGS_PER_CHAT = 20

Outcome = Literal["resolved", "escalated", "follow_up"]
OUTCOMES: tuple[str, ...] = get_args(Outcome)
FOLLOW_UP = "follow_up"


@dataclass(frozen=True, slots=True)
class Rating:
    conversation_id: str
    score: int
    comment: str
    created_at: datetime
    #: The last staff member who wrote a public message (None: nobody wrote, or deleted).
    agent_id: int | None
    workgroup_id: int | None


def rating(
    conversation_id: str,
    score: int,
    comment: str,
    agent_id: int | None,
    workgroup_id: int | None,
    now: datetime,
) -> Rating:
    """A checked rating: ``InvalidInput`` for a score outside 1 to 5, ``TooLong`` for a
    comment over ``MAX_COMMENT_CHARS`` (after trimming its ends)."""
    if isinstance(score, bool) or not MIN_SCORE <= score <= MAX_SCORE:
        raise InvalidInput(f"a rating is {MIN_SCORE} to {MAX_SCORE}")
    comment = comment.strip()
    if len(comment) > MAX_COMMENT_CHARS:
        raise TooLong(f"a rating's comment is at most {MAX_COMMENT_CHARS} characters")
    return Rating(conversation_id, score, comment, now, agent_id, workgroup_id)


def rated_agent(author: str | None) -> int | None:
    """The user id in the author key (``user:7``) of the chat's last public staff message."""
    if author is None or not author.startswith("user:"):
        return None
    digits = author.removeprefix("user:")
    return int(digits) if digits.isdigit() else None


def tag_name(name: str) -> str:
    """A tag's name as kept: trimmed, 1 to ``MAX_TAG_CHARS`` characters, one line."""
    name = " ".join(name.split())
    if not name:
        raise InvalidInput("a tag needs a name")
    if len(name) > MAX_TAG_CHARS:
        raise TooLong(f"a tag's name is at most {MAX_TAG_CHARS} characters")
    return name


def outcome(value: str) -> str:
    if value not in OUTCOMES:
        raise InvalidInput(f"an outcome is one of {', '.join(OUTCOMES)}")
    return value
