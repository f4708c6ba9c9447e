"""A chat's transcript by email, as the customer asks for it at the end. Pure rules and limits.

The typed address is only where to send: it identifies nobody and links nothing
(``domain.identity``). The transcript holds the opening question and the public messages
(``EntryKind.MESSAGE``), never a private note or a whisper (``NOTE``); back-channels are other
conversations and never read here.

Limits: at most ``MAX_PER_CHAT`` requests per chat, and ``MAX_PER_ADDRESS`` to one address
(compared without case) in ``ADDRESS_WINDOW``, across chats; each request counts, sent or not.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from parley.domain.conversation import Entry, EntryKind, Status
from parley.domain.errors import Conflict, InvalidInput, RateLimited, TooLong
from parley.domain.text import email_problem

MAX_PER_CHAT = 3
MAX_PER_ADDRESS = 5
ADDRESS_WINDOW = timedelta(hours=24)
MAX_ADDRESS_CHARS = 254


def check_address(address: str) -> str:
    """The address as given (spaces around it dropped), or why it cannot be one."""
    address = address.strip()
    if not address:
        raise InvalidInput("an email address is needed")
    if len(address) > MAX_ADDRESS_CHARS:
        raise TooLong(f"an email address is limited to {MAX_ADDRESS_CHARS} characters")
    problem = email_problem(address)
    if problem is not None:
        raise InvalidInput(f"the email address {problem}")
    local, at, domain = address.rpartition("@")
    if not at or not local or "." not in domain or " " in address or "," in address:
        raise InvalidInput("the email address must look like name@example.com")
    return address


def require_ended(status: Status) -> None:
    if status is not Status.ENDED:
        raise Conflict("the transcript can be emailed once the chat has ended")


def check_limits(
    for_chat: int, to_address: int, oldest_to_address: datetime | None, now: datetime
) -> None:
    """``for_chat``: requests already made for this chat; ``to_address``: to this address
    within the window, the oldest of them at ``oldest_to_address``."""
    if for_chat >= MAX_PER_CHAT:
        raise RateLimited(
            f"this chat's transcript was asked for {MAX_PER_CHAT} times already",
            int(ADDRESS_WINDOW.total_seconds()),
        )
    if to_address >= MAX_PER_ADDRESS:
        until = (oldest_to_address or now) + ADDRESS_WINDOW
        raise RateLimited(
            "too many transcripts to this address; try again later",
            int((until - now).total_seconds()) + 1,
        )


def public_messages(entries: Iterable[Entry]) -> list[Entry]:
    """The entries a transcript shows: messages, in order; never a note."""
    return [e for e in entries if e.kind is EntryKind.MESSAGE]
