"""What services publish after a commit, and nodes pass to each other over the bus.

A notification is a wake-up hint, never the record: the database is. Entries carry their
``seq``; a connection that sees a gap fetches what it missed from the database.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from parley.protocol import EntryOut


class _Note(BaseModel):
    model_config = ConfigDict(frozen=True)


class Appended(_Note):
    """New entries in a conversation's log, committed."""

    kind: Literal["appended"] = "appended"
    conversation_id: str
    entries: list[EntryOut]


class ToConversation(_Note):
    """An ephemeral message (typing, queue position) for everyone following a conversation."""

    kind: Literal["to_conversation"] = "to_conversation"
    conversation_id: str
    message: dict[str, Any]
    #: Only connections of this audience: "visitor", "staff", or None for all.
    audience: Literal["visitor", "staff"] | None = None
    #: Not sent back to this participant (a typing indicator is not for its author).
    except_participant: str | None = None


class ToUser(_Note):
    """A message for every connection of one staff member (offers, for example)."""

    kind: Literal["to_user"] = "to_user"
    user_id: int
    message: dict[str, Any]


class ToStaff(_Note):
    """A message for every staff connection (presence changes)."""

    kind: Literal["to_staff"] = "to_staff"
    message: dict[str, Any]


class Follow(_Note):
    """A staff member now takes part in a conversation: their connections start following it."""

    kind: Literal["follow"] = "follow"
    user_id: int
    conversation_id: str
    #: Follow from after this ``seq`` (a room joined late starts at its ``joined`` entry;
    #: its history is read over REST).
    cursor: int = 0


class Unfollow(_Note):
    """A staff member left a staff conversation (a room, a back-channel): their connections
    stop following it, so that nothing more of it reaches them."""

    kind: Literal["unfollow"] = "unfollow"
    user_id: int
    conversation_id: str


class Revoke(_Note):
    """A staff member's credentials changed (deactivated, new password or role, logged out):
    close their connections, all of them or those opened with one token."""

    kind: Literal["revoke"] = "revoke"
    user_id: int
    token_hash: str | None = None


class Kick(_Note):
    """Something changed for a workgroup's routing: its dispatcher should run."""

    kind: Literal["kick"] = "kick"
    workgroup_id: int


class Rebalance(_Note):
    """A node joined, left, or let workgroups go: every node should look at the dispatcher
    locks now rather than at its next step (``services.runtime.Ownership``)."""

    kind: Literal["rebalance"] = "rebalance"
    node_id: str


Notification = Annotated[
    Appended | ToConversation | ToUser | ToStaff | Follow | Unfollow | Revoke | Kick | Rebalance,
    Field(discriminator="kind"),
]
notification_adapter = TypeAdapter[Notification](Notification)
