"""Whether a chat's customer is still there. Pure rules: time is an argument.

A customer is there while at least one socket of theirs is open (every tab, on every node).
When the last one closes (the tab closed, the network gone) the grace time starts
(``gone_at``): a reload or a short network loss reconnects within it, and nobody is told. Once
it ran out, the agents are told the customer left (an ``away`` entry, staff only;
``left_at``); after the workgroup's idle time (``customer_idle_secs``, 0: never) the chat ends
by itself (reason ``customer_left``) and the agent's slot is free. A customer who comes back
before then continues: the agents see a ``back`` entry, and nothing else changed.

Only an active chat is announced and ended; a queued one waits in the queue as before (its
wait timeout applies), and is announced once an agent took it if the customer is still gone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from parley.domain.conversation import Status

#: The end reason of a chat that ended because its customer left.
END_REASON = "customer_left"


@dataclass(frozen=True, slots=True)
class VisitorPresence:
    """``gone_at``: when the customer's last socket closed (None: there); ``left_at``: when
    the agents were told they left (None: not yet)."""

    gone_at: datetime | None = None
    left_at: datetime | None = None


THERE = VisitorPresence()


class Due(Enum):
    NOTHING = "nothing"
    #: Tell the agents the customer left.
    ANNOUNCE = "announce"
    #: End the chat.
    END = "end"


def disconnected(state: VisitorPresence, live: int, now: datetime) -> VisitorPresence:
    """A socket closed and ``live`` remain: with none, the grace time starts (once)."""
    if live > 0 or state.gone_at is not None:
        return state
    return VisitorPresence(gone_at=now)


def connected(state: VisitorPresence) -> tuple[VisitorPresence, bool]:
    """A socket opened: the customer is there; True when the agents had been told they left
    (they are told the customer is back)."""
    return THERE, state.left_at is not None


def due(
    state: VisitorPresence,
    status: Status,
    now: datetime,
    grace: timedelta,
    idle: timedelta,
) -> tuple[Due, datetime | None]:
    """What is due now for a chat in ``status`` and when to look again (None: never)."""
    if state.gone_at is None or status is not Status.ACTIVE:
        return Due.NOTHING, None
    if state.left_at is None:
        announce_at = state.gone_at + grace
        if now >= announce_at:
            return Due.ANNOUNCE, None if idle <= timedelta(0) else now + idle
        return Due.NOTHING, announce_at
    if idle <= timedelta(0):
        return Due.NOTHING, None
    end_at = state.left_at + idle
    if now >= end_at:
        return Due.END, None
    return Due.NOTHING, end_at
